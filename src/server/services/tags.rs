//! Setting and removing one tag of a model or a version (the MLflow API's
//! set-tag/delete-tag; the REST API replaces whole tag maps instead).

use serde_json::json;

use super::{commit, lookup, Ctx};
use crate::{
    domain::{catalog as limits, ModelName, Permission, SemVer},
    error::{AppError, Missing},
    server::{
        db::now_ms,
        repo::{
            models,
            tags::{self, Owner},
            versions,
        },
    },
};

/// What a tag call is about: a model, or one of its versions.
pub enum Subject<'a> {
    Model(&'a ModelName),
    Version(&'a ModelName, &'a SemVer),
}

/// Sets one tag: a key by the key rule, a value of at most 5000 characters.
pub async fn set(cx: &Ctx, subject: Subject<'_>, key: &str, value: &str) -> Result<(), AppError> {
    change(cx, subject, key, Some(value)).await
}

/// Removing a tag that is not there is `NotFound`.
pub async fn delete(cx: &Ctx, subject: Subject<'_>, key: &str) -> Result<(), AppError> {
    change(cx, subject, key, None).await
}

async fn change(
    cx: &Ctx,
    subject: Subject<'_>,
    key: &str,
    value: Option<&str>,
) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let key = &limits::key("key", key)?;
    let value = value
        .map(|v| limits::text("value", v, limits::TAG_VALUE_MAX_LEN))
        .transpose()?;
    let value = value.as_deref();
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (owner, model_id, action, target) = match subject {
        Subject::Model(name) => {
            let model = lookup::lock_model(&mut tx, cx.db(), name).await?;
            let action = if value.is_some() {
                "model.tag_set"
            } else {
                "model.tag_delete"
            };
            (
                Owner::Model(model.id),
                model.id,
                action,
                ("model", model.name),
            )
        }
        Subject::Version(name, version) => {
            let (model, row) = lookup::lock_version(&mut tx, cx.db(), name, version).await?;
            let action = if value.is_some() {
                "version.tag_set"
            } else {
                "version.tag_delete"
            };
            let target = format!("{}@{}", model.name, row.version);
            versions::touch(&mut tx, row.id, now).await?;
            (
                Owner::Version(row.id),
                model.id,
                action,
                ("version", target),
            )
        }
    };
    let before = match value {
        Some(v) => {
            let before = tags::set(&mut tx, owner, key, v).await?;
            // The same limit as a whole tag map: one tag at a time must not
            // grow an owner past it.
            if before.is_none() && tags::count(&mut tx, owner).await? > limits::MAX_TAGS as i64 {
                return Err(AppError::invalid(
                    "tags",
                    format!("at most {} tags; remove one first", limits::MAX_TAGS),
                ));
            }
            before
        }
        None => tags::delete(&mut tx, owner, key)
            .await?
            .map(Some)
            .ok_or_else(|| AppError::NotFound(Missing::Tag(key.to_string())))?,
    };
    if matches!(owner, Owner::Model(_)) {
        models::reindex(&mut tx, cx.state.db.backend(), model_id).await?;
    }
    models::touch(&mut tx, model_id, now).await?;
    let details = json!({ "key": key, "before": before, "after": value });
    cx.audit(&mut tx, action, (target.0, &target.1), details)
        .await?;
    commit(tx).await
}
