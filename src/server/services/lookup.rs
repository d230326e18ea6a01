//! Finding what a request names: a model by name (following renames for
//! reads), a version of it, and the same under a row lock for writes. Every
//! other service addresses models and versions through these, so "not
//! found" reads the same everywhere.

use super::Ctx;
use crate::{
    domain::{ModelName, Permission, SemVer},
    error::{AppError, Missing},
    server::{
        db::{Db, Tx},
        repo::{
            models::{self, ModelRow},
            versions::{self, VersionRow},
        },
    },
};

/// A model by name; `Moved` when the name is an old name of a renamed model.
pub enum Lookup {
    Found(ModelRow),
    Moved(String),
}

pub async fn lookup(cx: &Ctx, name: &str) -> Result<Lookup, AppError> {
    cx.require(Permission::Read)?;
    let pool = cx.state.db.pool();
    if let Some(model) = models::find_by_name(pool, name).await? {
        return Ok(Lookup::Found(model));
    }
    match models::renamed_to(pool, name).await? {
        Some(new_name) => Ok(Lookup::Moved(new_name)),
        None => Err(AppError::NotFound(Missing::Model(name.to_string()))),
    }
}

/// Like `lookup`, but an old name resolves to the model it now names.
pub async fn find_model(cx: &Ctx, name: &str) -> Result<ModelRow, AppError> {
    match lookup(cx, name).await? {
        Lookup::Found(m) => Ok(m),
        Lookup::Moved(new_name) => models::find_by_name(cx.state.db.pool(), &new_name)
            .await?
            .ok_or_else(|| AppError::NotFound(Missing::Model(name.to_string()))),
    }
}

/// A model (locked, see `lock_model`) and one of its live versions, inside a write transaction.
pub(crate) async fn lock_version(
    tx: &mut Tx,
    db: &Db,
    model_name: &ModelName,
    version: &SemVer,
) -> Result<(ModelRow, VersionRow), AppError> {
    let model = lock_model(tx, db, model_name).await?;
    let row = versions::find_in_tx(tx, model.id, &version.identity_key())
        .await?
        .ok_or_else(|| {
            AppError::NotFound(Missing::Version {
                model: model_name.to_string(),
                version: version.to_string(),
            })
        })?;
    Ok((model, row))
}

pub(crate) async fn lock_model(
    tx: &mut Tx,
    db: &Db,
    name: &ModelName,
) -> Result<ModelRow, AppError> {
    models::lock_by_name(tx, db.backend(), name.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Model(name.to_string())))
}

pub async fn find_version(
    cx: &Ctx,
    model_name: &str,
    version: &SemVer,
) -> Result<(ModelRow, VersionRow), AppError> {
    let model = find_model(cx, model_name).await?;
    let row = versions::find(cx.state.db.pool(), model.id, &version.identity_key())
        .await?
        .ok_or_else(|| {
            AppError::NotFound(Missing::Version {
                model: model.name.clone(),
                version: version.to_string(),
            })
        })?;
    Ok((model, row))
}
