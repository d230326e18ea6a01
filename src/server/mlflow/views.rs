//! Our models and versions as MLflow's `RegisteredModel` and `ModelVersion`
//! objects (pure: the service has loaded everything).

use serde_json::{json, Value};

use crate::{
    domain::{catalog::VersionStatus, mlflow_artifacts::ArtifactAddress, Stage},
    server::services::mlflow::{MlflowModel, MlflowVersion},
};

/// The version tag that carries our semver.
pub const SEMVER_TAG: &str = "mlflow.semver";

pub fn mlflow_stage(stage: Stage) -> &'static str {
    match stage {
        Stage::Experimental => "None",
        Stage::Staging => "Staging",
        Stage::Production => "Production",
        Stage::Archived => "Archived",
    }
}

/// MLflow's stage names (any case) to ours.
pub fn our_stage(raw: &str) -> Option<Stage> {
    match raw.to_ascii_lowercase().as_str() {
        "none" => Some(Stage::Experimental),
        "staging" => Some(Stage::Staging),
        "production" => Some(Stage::Production),
        "archived" => Some(Stage::Archived),
        _ => None,
    }
}

fn status(ours: VersionStatus) -> &'static str {
    match ours {
        VersionStatus::Registering => "PENDING_REGISTRATION",
        VersionStatus::Failed => "FAILED_REGISTRATION",
        VersionStatus::Ready => "READY",
    }
}

fn tag_list<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Array(tags.map(|(k, v)| json!({ "key": k, "value": v })).collect())
}

pub fn version(v: &MlflowVersion) -> Value {
    let r = &v.record;
    // Our semver is always the `mlflow.semver` tag, whatever is stored.
    let tags = v
        .tags
        .iter()
        .filter(|(k, _)| k != SEMVER_TAG)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([(SEMVER_TAG, r.version.as_str())]);
    json!({
        "name": r.model_name,
        "version": r.seq.to_string(),
        "creation_timestamp": r.created_at,
        "last_updated_timestamp": r.updated_at,
        "user_id": r.created_by,
        "current_stage": mlflow_stage(r.stage),
        "description": r.description,
        // Versions registered through our UI or REST API have no source:
        // their files are here, under MLflow's artifact protocol.
        "source": r.source_uri.clone().filter(|s| !s.is_empty())
            .unwrap_or_else(|| ArtifactAddress::uri(&r.model_name, &r.version)),
        "run_id": r.run_id.clone().unwrap_or_default(),
        "run_link": r.run_link.clone().unwrap_or_default(),
        "status": status(r.status),
        "status_message": "",
        "tags": tag_list(tags),
        "aliases": v.aliases,
    })
}

pub fn versions(all: &[MlflowVersion]) -> Vec<Value> {
    all.iter().map(version).collect()
}

pub fn model(m: &MlflowModel) -> Value {
    let r = &m.record;
    // `production` and `staging` are the stages (see `handlers::stage_alias`):
    // the newest version in each, as `get-by-alias` answers them.
    let stage_aliases = m.latest.iter().filter_map(|v| {
        let alias = match v.record.stage {
            Stage::Production => "production",
            Stage::Staging => "staging",
            _ => return None,
        };
        Some((alias, v.record.seq))
    });
    let aliases: Vec<Value> = m
        .aliases
        .iter()
        .map(|(alias, seq)| (alias.as_str(), *seq))
        .chain(stage_aliases)
        .map(|(alias, seq)| json!({ "alias": alias, "version": seq.to_string() }))
        .collect();
    json!({
        "name": r.name,
        "creation_timestamp": r.created_at,
        "last_updated_timestamp": r.updated_at,
        "user_id": r.created_by,
        "description": r.description,
        "latest_versions": versions(&m.latest),
        "tags": tag_list(m.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        "aliases": aliases,
    })
}

pub fn models(all: &[MlflowModel]) -> Vec<Value> {
    all.iter().map(model).collect()
}
