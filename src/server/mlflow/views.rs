//! Our rows as MLflow's `RegisteredModel` and `ModelVersion` objects. Tags,
//! aliases and latest versions are loaded for a whole page at once.

use std::collections::HashMap;

use serde_json::{json, Value};
use sqlx::AnyPool;

use super::store::{self, ModelRecord, VersionRecord};
use crate::domain::Stage;

/// The version tag that carries our semver.
pub const SEMVER_TAG: &str = "mlflow.semver";

pub fn mlflow_stage(stage: &str) -> &'static str {
    match stage.parse::<Stage>() {
        Ok(Stage::Staging) => "Staging",
        Ok(Stage::Production) => "Production",
        Ok(Stage::Archived) => "Archived",
        _ => "None",
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

fn status(ours: &str) -> &'static str {
    match ours {
        "registering" => "PENDING_REGISTRATION",
        "failed" => "FAILED_REGISTRATION",
        _ => "READY",
    }
}

fn tag_list(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect(),
    )
}

type Aliases = HashMap<i64, Vec<(String, i64, i64)>>;

/// Model versions with their tags and aliases (two queries for the page).
pub async fn versions(
    pool: &AnyPool,
    records: &[VersionRecord],
) -> Result<Vec<Value>, sqlx::Error> {
    let mut model_ids: Vec<i64> = records.iter().map(|r| r.model_id).collect();
    model_ids.sort_unstable();
    model_ids.dedup();
    let aliases = store::aliases_of(pool, &model_ids).await?;
    versions_with(pool, records, &aliases).await
}

/// `versions` with the models' aliases already loaded.
async fn versions_with(
    pool: &AnyPool,
    records: &[VersionRecord],
    aliases: &Aliases,
) -> Result<Vec<Value>, sqlx::Error> {
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let tags = store::tags_of(pool, "version_tags", "version_id", &ids).await?;
    Ok(records
        .iter()
        .map(|r| {
            let mut version_tags: Vec<(String, String)> = tags
                .get(&r.id)
                .map(|t| t.iter().filter(|(k, _)| k != SEMVER_TAG).cloned().collect())
                .unwrap_or_default();
            version_tags.push((SEMVER_TAG.to_owned(), r.version.clone()));
            let version_aliases: Vec<&str> = aliases
                .get(&r.model_id)
                .map(|a| {
                    a.iter()
                        .filter(|(_, vid, _)| *vid == r.id)
                        .map(|(name, ..)| name.as_str())
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "name": r.model_name,
                "version": r.seq.to_string(),
                "creation_timestamp": r.created_at,
                "last_updated_timestamp": r.updated_at,
                "user_id": r.created_by,
                "current_stage": mlflow_stage(&r.stage),
                "description": r.description,
                "source": r.source_uri.clone().unwrap_or_default(),
                "run_id": r.run_id.clone().unwrap_or_default(),
                "run_link": r.run_link.clone().unwrap_or_default(),
                "status": status(&r.status),
                "status_message": "",
                "tags": tag_list(&version_tags),
                "aliases": version_aliases,
            })
        })
        .collect())
}

pub async fn version(pool: &AnyPool, record: &VersionRecord) -> Result<Value, sqlx::Error> {
    Ok(versions(pool, std::slice::from_ref(record))
        .await?
        .pop()
        .unwrap_or(Value::Null))
}

/// Registered models with tags, aliases and latest version per stage.
pub async fn models(pool: &AnyPool, records: &[ModelRecord]) -> Result<Vec<Value>, sqlx::Error> {
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let tags = store::tags_of(pool, "model_tags", "model_id", &ids).await?;
    let aliases = store::aliases_of(pool, &ids).await?;
    let latest = store::latest_versions(pool, &ids).await?;
    // The latest versions belong to these models: their aliases are loaded.
    let latest_json = versions_with(pool, &latest, &aliases).await?;
    Ok(records
        .iter()
        .map(|m| {
            let latest_versions: Vec<&Value> = latest
                .iter()
                .zip(&latest_json)
                .filter(|(r, _)| r.model_id == m.id)
                .map(|(_, v)| v)
                .collect();
            let model_aliases: Vec<Value> = aliases
                .get(&m.id)
                .map(|a| {
                    a.iter()
                        .map(
                            |(alias, _, seq)| json!({ "alias": alias, "version": seq.to_string() }),
                        )
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "name": m.name,
                "creation_timestamp": m.created_at,
                "last_updated_timestamp": m.updated_at,
                "user_id": m.created_by,
                "description": m.description,
                "latest_versions": latest_versions,
                "tags": tag_list(tags.get(&m.id).map(Vec::as_slice).unwrap_or(&[])),
                "aliases": model_aliases,
            })
        })
        .collect())
}

pub async fn model(pool: &AnyPool, record: &ModelRecord) -> Result<Value, sqlx::Error> {
    Ok(models(pool, std::slice::from_ref(record))
        .await?
        .pop()
        .unwrap_or(Value::Null))
}
