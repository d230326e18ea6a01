//! The files of runs and logged models: streamed into the store like a
//! version's artifacts, audited, replaced when logged again at a path.

use bytes::Bytes;
use futures_util::Stream;
use serde_json::json;

use super::{logged_models::model_row, missing_model, missing_run, run_row};
use crate::{
    domain::{
        media_type,
        mlflow_tracking::{FileOwner, TrackingAddress},
        ArtifactFormat, ArtifactPath, Permission,
    },
    error::{AppError, Missing},
    server::{
        db::now_ms,
        repo::{
            artifacts::ArtifactRow,
            tracking_files::{self as repo, FileRow},
        },
        services::{
            artifact_stream::{store_body, store_error, ObjectGuard, Streamed},
            artifacts::{remove_unused_object, Download},
            commit, Ctx,
        },
        storage::StoreError,
    },
};
/// The run or logged model exists in the experiment the path names (and
/// the caller may read it): `7/<run>/artifacts` is not another name for a
/// run of experiment 1.
async fn ensure_owner(cx: &Ctx, address: &TrackingAddress) -> Result<(), AppError> {
    let (experiment, missing) = match &address.owner {
        FileOwner::Run(id) => (
            run_row(cx, id.as_str()).await?.experiment_id,
            missing_run(id.as_str()),
        ),
        FileOwner::LoggedModel(id) => (
            model_row(cx, id.as_str()).await?.experiment_id,
            missing_model(id.as_str()),
        ),
    };
    if experiment != address.experiment {
        return Err(missing);
    }
    Ok(())
}

fn owner_target(owner: &FileOwner, path: &str) -> String {
    let (kind, id) = owner.stored();
    format!("{kind}:{id}/{path}")
}

/// Streams one file into a run's or logged model's artifacts; a file
/// logged again at the same path replaces the earlier one.
pub async fn upload_file<S, E>(
    cx: &Ctx,
    address: &TrackingAddress,
    declared_length: Option<u64>,
    body: S,
) -> Result<(), AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    cx.require(Permission::Contribute)?;
    let path = address
        .inner
        .as_ref()
        .ok_or_else(|| AppError::invalid("path", "names a directory, not a file"))?;
    ensure_owner(cx, address).await?;
    let max = cx.state.config.max_artifact_bytes;
    if declared_length.is_some_and(|n| n > max) {
        return Err(AppError::PayloadTooLarge);
    }
    let (kind, id) = address.owner.stored();
    let key = format!("t/{kind}/{id}/{}", uuid::Uuid::new_v4());
    let Streamed { sha256, size, .. } =
        store_body(&cx.state, &key, body, (max, None), path.as_str()).await?;
    let guard = ObjectGuard {
        store: cx.state.store.clone(),
        key: Some(key.clone()),
    };
    let mut tx = cx.begin().await?;
    let replaced = repo::file(&mut *tx, &address.owner, path.as_str()).await?;
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    repo::put_file(
        &mut tx,
        repo::NewFile {
            owner: &address.owner,
            path: path.as_str(),
            size,
            sha256: &sha256,
            storage_key: &key,
            created_by: &cx.by.username,
            now: now_ms(),
        },
    )
    .await?;
    let target = owner_target(&address.owner, path.as_str());
    let details = json!({ "size": size, "sha256": sha256, "replaced": replaced.is_some() });
    cx.audit(
        &mut tx,
        "tracking_file.upload",
        ("tracking_file", &target),
        details,
    )
    .await?;
    commit(tx).await?;
    guard.disarm();
    if let Some(old) = replaced {
        remove_unused_object(&cx.state, &old.storage_key).await;
    }
    Ok(())
}

pub async fn files(cx: &Ctx, address: &TrackingAddress) -> Result<Vec<FileRow>, AppError> {
    ensure_owner(cx, address).await?;
    Ok(repo::files(cx.db().pool(), &address.owner).await?)
}

pub async fn download_file(
    cx: &Ctx,
    address: &TrackingAddress,
    path: &ArtifactPath,
    range: Option<&str>,
) -> Result<Download, AppError> {
    ensure_owner(cx, address).await?;
    let owner = &address.owner;
    let file = repo::file(cx.db().pool(), owner, path.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Artifact(path.to_string())))?;
    let size = u64::try_from(file.size).unwrap_or(0);
    let range =
        crate::domain::parse_range(range, size).map_err(|_| AppError::RangeNotSatisfiable(size))?;
    let body = match cx.state.store.read(&file.storage_key, range).await {
        Ok(body) => body,
        Err(StoreError::NotFound) => {
            tracing::error!(key = %file.storage_key, "a tracking file's object is missing");
            return Err(AppError::Internal);
        }
        Err(e) => return Err(store_error(e)),
    };
    // Downloads answer with the same headers as a version's artifacts.
    let artifact = ArtifactRow {
        id: 0,
        version_id: 0,
        media_type: media_type(path).to_owned(),
        format: ArtifactFormat::detect(path, &[], Some(size))
            .as_str()
            .to_owned(),
        path: file.path,
        size: Some(file.size),
        sha256: Some(file.sha256),
        storage_key: Some(file.storage_key),
        external_uri: None,
        created_by: String::new(),
        created_at: file.created_at,
    };
    Ok(Download::Stream {
        artifact: Box::new(artifact),
        range,
        body,
    })
}

pub async fn delete_file(
    cx: &Ctx,
    address: &TrackingAddress,
    path: &ArtifactPath,
) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    ensure_owner(cx, address).await?;
    let owner = &address.owner;
    let mut tx = cx.begin().await?;
    let file = repo::file(&mut *tx, owner, path.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Artifact(path.to_string())))?;
    repo::delete_file(&mut tx, owner, path.as_str()).await?;
    let target = owner_target(owner, path.as_str());
    cx.audit(
        &mut tx,
        "tracking_file.delete",
        ("tracking_file", &target),
        json!({ "sha256": file.sha256 }),
    )
    .await?;
    commit(tx).await?;
    remove_unused_object(&cx.state, &file.storage_key).await;
    Ok(())
}
