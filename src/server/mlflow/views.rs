//! Our models and versions as MLflow's `RegisteredModel` and `ModelVersion`
//! objects (pure: the service has loaded everything).

use std::borrow::Cow;

use serde::Serialize;

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

/// MLflow's `{key, value}` tag.
#[derive(Serialize)]
pub struct TagView<'a> {
    key: &'a str,
    value: &'a str,
}

fn tag_list<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<TagView<'a>> {
    tags.map(|(key, value)| TagView { key, value }).collect()
}

/// MLflow's `ModelVersion`, borrowing from what the service loaded (typed,
/// so a page of them is written out without building a JSON tree first).
#[derive(Serialize)]
pub struct VersionView<'a> {
    name: &'a str,
    version: String,
    creation_timestamp: i64,
    last_updated_timestamp: i64,
    user_id: &'a str,
    current_stage: &'static str,
    description: &'a str,
    source: Cow<'a, str>,
    run_id: &'a str,
    run_link: &'a str,
    status: &'static str,
    status_message: &'static str,
    tags: Vec<TagView<'a>>,
    aliases: &'a [String],
}

pub fn version(v: &MlflowVersion) -> VersionView<'_> {
    let r = &v.record;
    // Our semver is always the `mlflow.semver` tag, whatever is stored.
    let tags = v
        .tags
        .iter()
        .filter(|(k, _)| k != SEMVER_TAG)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([(SEMVER_TAG, r.version.as_str())]);
    VersionView {
        name: &r.model_name,
        version: r.seq.to_string(),
        creation_timestamp: r.created_at,
        last_updated_timestamp: r.updated_at,
        user_id: &r.created_by,
        current_stage: mlflow_stage(r.stage),
        description: &r.description,
        // Versions registered through our UI or REST API have no source:
        // their files are here, under MLflow's artifact protocol.
        source: match r.source_uri.as_deref().filter(|s| !s.is_empty()) {
            Some(source) => Cow::Borrowed(source),
            None => Cow::Owned(ArtifactAddress::uri(&r.model_name, &r.version)),
        },
        run_id: r.run_id.as_deref().unwrap_or_default(),
        run_link: r.run_link.as_deref().unwrap_or_default(),
        status: status(r.status),
        status_message: "",
        tags: tag_list(tags),
        aliases: &v.aliases,
    }
}

pub fn versions(all: &[MlflowVersion]) -> Vec<VersionView<'_>> {
    all.iter().map(version).collect()
}

/// MLflow's `{alias, version}`.
#[derive(Serialize)]
pub struct AliasView<'a> {
    alias: &'a str,
    version: String,
}

/// MLflow's `RegisteredModel`.
#[derive(Serialize)]
pub struct ModelView<'a> {
    name: &'a str,
    creation_timestamp: i64,
    last_updated_timestamp: i64,
    user_id: &'a str,
    description: &'a str,
    latest_versions: Vec<VersionView<'a>>,
    tags: Vec<TagView<'a>>,
    aliases: Vec<AliasView<'a>>,
}

pub fn model(m: &MlflowModel) -> ModelView<'_> {
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
    let aliases = m
        .aliases
        .iter()
        .map(|(alias, seq)| (alias.as_str(), *seq))
        .chain(stage_aliases)
        .map(|(alias, seq)| AliasView {
            alias,
            version: seq.to_string(),
        })
        .collect();
    ModelView {
        name: &r.name,
        creation_timestamp: r.created_at,
        last_updated_timestamp: r.updated_at,
        user_id: &r.created_by,
        description: &r.description,
        latest_versions: versions(&m.latest),
        tags: tag_list(m.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        aliases,
    }
}

pub fn models(all: &[MlflowModel]) -> Vec<ModelView<'_>> {
    all.iter().map(model).collect()
}

/// A page of a search: `items` under `key`, and `next_page_token` when
/// more follow (MLflow omits it on the last page).
pub struct Listing<'k, T> {
    pub key: &'k str,
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

impl<T: Serialize> Serialize for Listing<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(self.key, &self.items)?;
        if let Some(token) = &self.next_page_token {
            map.serialize_entry("next_page_token", token)?;
        }
        map.end()
    }
}
