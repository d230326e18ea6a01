//! What the MLflow API reads: registered models and model versions as
//! MLflow addresses them (exact names, per-model sequence numbers), with
//! their tags, aliases and latest versions, a whole page in one statement.
//! Writes from the MLflow API go through the catalog, tags, aliases and
//! workflow services like every other edge's.

use super::Ctx;
use crate::{
    domain::{
        mlflow_artifacts::{fetched_elsewhere, ArtifactAddress},
        mlflow_search::{Clause, Field, Op, Operand, Order},
        ModelName, Permission, SemVer, Stage,
    },
    error::{AppError, Missing},
    server::repo::{
        artifacts,
        mlflow::{self as repo, ModelRecord, VersionRecord},
    },
};

/// A version with its tags and the aliases naming it.
pub type MlflowVersion = repo::VersionWith;

/// A model with its tags, aliases (`(alias, seq)`) and the newest version in
/// each stage.
pub type MlflowModel = repo::ModelWith;

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
    let (items, more) = window.page(found);
    Ok(Page { items, more })
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
    let (items, more) = window.page(found);
    Ok(Page { items, more })
}

/// A live model by its exact name: MLflow does not follow renames.
pub async fn model(cx: &Ctx, name: &str) -> Result<MlflowModel, AppError> {
    cx.require(Permission::Read)?;
    model_with(cx, name).await
}

/// The live model named exactly `name`, with its parts.
async fn model_with(cx: &Ctx, name: &str) -> Result<MlflowModel, AppError> {
    let db = cx.db();
    let named = [Clause {
        field: Field::Name,
        op: Op::Eq,
        value: Operand::Text(name.to_owned()),
    }];
    let found = repo::search_models(db.pool(), db.backend(), &named, &[], 1, 0).await?;
    found
        .into_iter()
        .next()
        .ok_or_else(|| AppError::NotFound(Missing::Model(name.to_owned())))
}

async fn model_record(cx: &Ctx, name: &str) -> Result<ModelRecord, AppError> {
    repo::model(cx.db().pool(), name)
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Model(name.to_owned())))
}

pub async fn version(cx: &Ctx, name: &str, seq: i64) -> Result<MlflowVersion, AppError> {
    cx.require(Permission::Read)?;
    let db = cx.db();
    let addressed = [
        Clause {
            field: Field::Name,
            op: Op::Eq,
            value: Operand::Text(name.to_owned()),
        },
        Clause {
            field: Field::VersionNumber,
            op: Op::Eq,
            value: Operand::Number(seq),
        },
    ];
    let found = repo::search_versions(db.pool(), db.backend(), &addressed, &[], 1, 0).await?;
    found.into_iter().next().ok_or_else(|| {
        AppError::NotFound(Missing::VersionNumber {
            model: name.to_owned(),
            seq,
        })
    })
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
    let db = cx.db();
    if let Some(found) = repo::version_by_alias(db.pool(), db.backend(), name, alias).await? {
        return Ok(found);
    }
    model_record(cx, name).await?;
    Err(AppError::NotFound(Missing::Alias {
        model: name.to_owned(),
        alias: alias.to_owned(),
    }))
}

/// The newest version of the model in each stage (or in those given).
pub async fn latest_versions(
    cx: &Ctx,
    name: &str,
    stages: &[Stage],
) -> Result<Vec<MlflowVersion>, AppError> {
    cx.require(Permission::Read)?;
    let model = model_with(cx, name).await?;
    Ok(model
        .latest
        .into_iter()
        .filter(|v| stages.is_empty() || stages.contains(&v.record.stage))
        .collect())
}
