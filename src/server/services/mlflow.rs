//! What the MLflow API reads: registered models and model versions as
//! MLflow addresses them (exact names, per-model sequence numbers), with
//! their tags, aliases and latest versions loaded for a whole page at once.
//! Writes from the MLflow API go through the catalog, tags, aliases and
//! workflow services like every other edge's.

use std::collections::HashMap;

use super::Ctx;
use crate::{
    domain::{
        mlflow_artifacts::{fetched_elsewhere, ArtifactAddress},
        mlflow_search::{Clause, Order},
        ModelName, Permission, SemVer, Stage,
    },
    error::{AppError, Missing},
    server::repo::{
        artifacts,
        mlflow::{self as repo, ModelRecord, VersionRecord},
    },
};

/// A version with its tags and the aliases naming it.
#[derive(Debug, Clone)]
pub struct MlflowVersion {
    pub record: VersionRecord,
    pub tags: Vec<(String, String)>,
    pub aliases: Vec<String>,
}

/// A model with its tags, aliases (`(alias, seq)`) and the newest version in
/// each stage.
#[derive(Debug, Clone)]
pub struct MlflowModel {
    pub record: ModelRecord,
    pub tags: Vec<(String, String)>,
    pub aliases: Vec<(String, i64)>,
    pub latest: Vec<MlflowVersion>,
}

/// One page of a search, and whether another follows.
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

/// A search's bounds: at most `limit` results from `offset` on.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub limit: i64,
    pub offset: i64,
}

impl Window {
    /// Rows to fetch: one more than the page, to learn whether more follow.
    fn fetch(self) -> i64 {
        self.limit + 1
    }

    /// The page out of what `fetch` asked for, and whether another follows.
    fn page<T>(self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(usize::try_from(self.limit).unwrap_or(0));
        (rows, more)
    }
}

type Aliases = HashMap<i64, Vec<(String, i64, i64)>>;

pub async fn search_models(
    cx: &Ctx,
    clauses: &[Clause],
    orders: &[Order],
    window: Window,
) -> Result<Page<MlflowModel>, AppError> {
    cx.require(Permission::Read)?;
    let db = cx.db();
    let found = repo::search_models(
        db.pool(),
        db.backend(),
        clauses,
        orders,
        window.fetch(),
        window.offset,
    )
    .await?;
    let (records, more) = window.page(found);
    Ok(Page {
        items: models(cx, records).await?,
        more,
    })
}

pub async fn search_versions(
    cx: &Ctx,
    clauses: &[Clause],
    orders: &[Order],
    window: Window,
) -> Result<Page<MlflowVersion>, AppError> {
    cx.require(Permission::Read)?;
    let db = cx.db();
    let found = repo::search_versions(
        db.pool(),
        db.backend(),
        clauses,
        orders,
        window.fetch(),
        window.offset,
    )
    .await?;
    let (records, more) = window.page(found);
    Ok(Page {
        items: versions(cx, records).await?,
        more,
    })
}

/// A live model by its exact name: MLflow does not follow renames.
pub async fn model(cx: &Ctx, name: &str) -> Result<MlflowModel, AppError> {
    cx.require(Permission::Read)?;
    let record = model_record(cx, name).await?;
    let mut all = models(cx, vec![record]).await?;
    all.pop().ok_or(AppError::Internal)
}

async fn model_record(cx: &Ctx, name: &str) -> Result<ModelRecord, AppError> {
    repo::model(cx.db().pool(), name)
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Model(name.to_owned())))
}

pub async fn version(cx: &Ctx, name: &str, seq: i64) -> Result<MlflowVersion, AppError> {
    cx.require(Permission::Read)?;
    let record = version_record(cx, name, seq).await?;
    let mut all = versions(cx, vec![record]).await?;
    all.pop().ok_or(AppError::Internal)
}

async fn version_record(cx: &Ctx, name: &str, seq: i64) -> Result<VersionRecord, AppError> {
    repo::version(cx.db().pool(), name, seq)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(Missing::VersionNumber {
                model: name.to_owned(),
                seq,
            })
        })
}

/// The model and semver of version `seq`, as the other services address
/// them (for a write that MLflow addresses by number).
pub async fn address(cx: &Ctx, name: &str, seq: i64) -> Result<(ModelName, SemVer), AppError> {
    cx.require(Permission::Read)?;
    let record = version_record(cx, name, seq).await?;
    let model = ModelName::parse(&record.model_name).map_err(|_| AppError::Internal)?;
    let version = SemVer::parse(&record.version).map_err(|_| AppError::Internal)?;
    Ok((model, version))
}

/// Where an MLflow client fetches version `seq`'s files: this registry's
/// artifact protocol, unless the version was registered with a source in an
/// object store and has no files here; then that source, as MLflow answers.
pub async fn download_uri(cx: &Ctx, name: &str, seq: i64) -> Result<String, AppError> {
    cx.require(Permission::Read)?;
    let record = version_record(cx, name, seq).await?;
    let here = ArtifactAddress::uri(&record.model_name, &record.version);
    let Some(source) = record.source_uri.filter(|s| fetched_elsewhere(s)) else {
        return Ok(here);
    };
    let files = artifacts::list(cx.db().pool(), record.id).await?;
    Ok(if files.is_empty() { source } else { here })
}

/// The version an alias names; `Missing::Alias` when the model exists but
/// the alias does not.
pub async fn version_by_alias(
    cx: &Ctx,
    name: &str,
    alias: &str,
) -> Result<MlflowVersion, AppError> {
    cx.require(Permission::Read)?;
    let Some(record) = repo::version_by_alias(cx.db().pool(), name, alias).await? else {
        model_record(cx, name).await?;
        return Err(AppError::NotFound(Missing::Alias {
            model: name.to_owned(),
            alias: alias.to_owned(),
        }));
    };
    let mut all = versions(cx, vec![record]).await?;
    all.pop().ok_or(AppError::Internal)
}

/// The newest version of the model in each stage (or in those given).
pub async fn latest_versions(
    cx: &Ctx,
    name: &str,
    stages: &[Stage],
) -> Result<Vec<MlflowVersion>, AppError> {
    cx.require(Permission::Read)?;
    let model = model_record(cx, name).await?;
    let latest: Vec<VersionRecord> = repo::latest_versions(cx.db().pool(), &[model.id])
        .await?
        .into_iter()
        .filter(|v| stages.is_empty() || stages.contains(&v.stage))
        .collect();
    versions(cx, latest).await
}

/// Versions with their tags and aliases: two queries for the page.
async fn versions(cx: &Ctx, records: Vec<VersionRecord>) -> Result<Vec<MlflowVersion>, AppError> {
    let mut model_ids: Vec<i64> = records.iter().map(|r| r.model_id).collect();
    model_ids.sort_unstable();
    model_ids.dedup();
    let aliases = repo::aliases_of(cx.db().pool(), &model_ids).await?;
    versions_with(cx, records, &aliases).await
}

/// `versions` with the models' aliases already loaded.
async fn versions_with(
    cx: &Ctx,
    records: Vec<VersionRecord>,
    aliases: &Aliases,
) -> Result<Vec<MlflowVersion>, AppError> {
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let mut tags = repo::tags_of(cx.db().pool(), "version_tags", "version_id", &ids).await?;
    Ok(records
        .into_iter()
        .map(|record| {
            let naming: Vec<String> = aliases
                .get(&record.model_id)
                .map(|a| {
                    a.iter()
                        .filter(|(_, vid, _)| *vid == record.id)
                        .map(|(name, ..)| name.clone())
                        .collect()
                })
                .unwrap_or_default();
            MlflowVersion {
                tags: tags.remove(&record.id).unwrap_or_default(),
                aliases: naming,
                record,
            }
        })
        .collect())
}

/// Models with tags, aliases and latest versions: four queries for the page.
async fn models(cx: &Ctx, records: Vec<ModelRecord>) -> Result<Vec<MlflowModel>, AppError> {
    let pool = cx.db().pool();
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let mut tags = repo::tags_of(pool, "model_tags", "model_id", &ids).await?;
    let aliases = repo::aliases_of(pool, &ids).await?;
    let latest = repo::latest_versions(pool, &ids).await?;
    // The latest versions belong to these models: their aliases are loaded.
    let mut latest = versions_with(cx, latest, &aliases).await?;
    Ok(records
        .into_iter()
        .map(|record| {
            let (mine, rest): (Vec<_>, Vec<_>) = latest
                .drain(..)
                .partition(|v| v.record.model_id == record.id);
            latest = rest;
            MlflowModel {
                tags: tags.remove(&record.id).unwrap_or_default(),
                aliases: aliases
                    .get(&record.id)
                    .map(|a| {
                        a.iter()
                            .map(|(alias, _, seq)| (alias.clone(), *seq))
                            .collect()
                    })
                    .unwrap_or_default(),
                latest: mine,
                record,
            }
        })
        .collect())
}
