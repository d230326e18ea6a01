//! Client-side multipart uploads (MLflow's `mpu/create|complete|abort`).
//! On S3 the client sends the parts straight to the bucket, each to a
//! presigned URL; the registry starts the upload, and on completion reads
//! the object back once to hash it and records it like any other upload
//! (permission, freeze, immutable path, size limit, audit) or removes it.
//! A local artifact directory has no such URLs: `begin` answers `None`, as
//! MLflow's own server does for local storage, and the client sends one
//! streamed PUT instead.
//!
//! The upload id the client holds is `<object>.<S3 upload id>`; the object
//! key is derived from the version and `<object>`, and completion is
//! accepted only for an upload the journal (`pending_uploads`) knows, so a
//! client cannot complete into another version's objects.

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::{
    artifacts::{record, store_error, view, ObjectGuard},
    begin as begin_tx, commit, content, lookup, Ctx,
};
use crate::{
    domain::{media_type, ArtifactFormat, ArtifactPath, ModelName, Permission, SemVer},
    dto::ArtifactView,
    error::{AppError, Missing},
    server::{
        db::now_ms,
        repo::{artifacts, artifacts::NewArtifact, pending_uploads, versions::VersionRow},
    },
};

/// S3 allows at most 10 000 parts.
pub const MAX_PARTS: i64 = 10_000;

pub struct PartsUpload {
    pub upload_id: String,
    /// The presigned URL of part 1, 2, …
    pub urls: Vec<String>,
}

fn object_key(version: &VersionRow, object: &str) -> String {
    format!("v/{}/{}", version.id, object)
}

/// Splits the client's upload id into our object name and the store's id.
fn parse_upload_id(raw: &str) -> Result<(&str, &str), AppError> {
    let bad = || AppError::invalid("upload_id", "is not an upload id this registry issued");
    let (object, store_id) = raw.split_once('.').ok_or_else(bad)?;
    let object_ok = object.len() == 32 && object.bytes().all(|b| b.is_ascii_hexdigit());
    let id_ok = !store_id.is_empty()
        && store_id.len() <= 1024
        && store_id.bytes().all(|b| b.is_ascii_graphic());
    if object_ok && id_ok {
        Ok((object, store_id))
    } else {
        Err(bad())
    }
}

/// Starts an upload of `path` in `parts` parts; `None` where the store
/// cannot take parts from the client directly.
pub async fn begin(
    cx: &Ctx,
    model: &ModelName,
    version: &SemVer,
    path: &ArtifactPath,
    parts: i64,
) -> Result<Option<PartsUpload>, AppError> {
    cx.require(Permission::Contribute)?;
    if !(1..=MAX_PARTS).contains(&parts) {
        return Err(AppError::invalid(
            "num_parts",
            format!("must be between 1 and {MAX_PARTS}"),
        ));
    }
    let (model_row, version_row) = lookup::find_version(cx, model.as_str(), version).await?;
    {
        let mut conn = cx.state.db.pool().acquire().await?;
        content::ensure_thawed(&mut conn, &model_row.name, &version_row).await?;
    }
    if artifacts::path_taken(cx.state.db.pool(), version_row.id, path.as_str()).await? {
        return Err(AppError::Conflict(format!(
            "{path} already exists in this version; artifacts are immutable"
        )));
    }
    let object = uuid::Uuid::new_v4().simple().to_string();
    let key = object_key(&version_row, &object);
    let parts = i32::try_from(parts).map_err(|_| AppError::Internal)?;
    let Some(started) = cx.state.store.presign_parts(&key, parts).await else {
        return Ok(None);
    };
    let (store_id, urls) = started.map_err(store_error)?;
    // Journaled before the client has a URL: an upload never completed is
    // aborted by the sweeper.
    let mut tx = begin_tx(&cx.state).await?;
    pending_uploads::insert(&mut tx, &key, &store_id, now_ms()).await?;
    commit(tx).await?;
    Ok(Some(PartsUpload {
        upload_id: format!("{object}.{store_id}"),
        urls,
    }))
}

/// Completes the upload from the parts' ETags, hashes the object and
/// records it; on any refusal the object is removed.
pub async fn complete(
    cx: &Ctx,
    model: &ModelName,
    version: &SemVer,
    path: &ArtifactPath,
    upload_id: &str,
    parts: &[(i32, String)],
) -> Result<ArtifactView, AppError> {
    cx.require(Permission::Contribute)?;
    let (object, store_id) = parse_upload_id(upload_id)?;
    if parts.is_empty() {
        return Err(AppError::invalid("parts", "must list the uploaded parts"));
    }
    let (model_row, version_row) = lookup::find_version(cx, model.as_str(), version).await?;
    let key = object_key(&version_row, object);
    known_upload(cx, &key, store_id).await?;
    let completed = cx.state.store.complete_parts(&key, store_id, parts).await;
    forget(cx, &key, store_id).await;
    if let Err(e) = completed {
        let _ = cx.state.store.abort_multipart(&key, store_id).await;
        tracing::warn!(error = %e, %key, "could not complete a client multipart upload");
        return Err(AppError::invalid(
            "parts",
            "do not complete the upload (missing or mismatched parts)",
        ));
    }
    let guard = ObjectGuard {
        store: cx.state.store.clone(),
        key: Some(key.clone()),
    };
    let (sha256, size, head) = hash_object(cx, &key).await?;
    if size > cx.state.config.max_artifact_bytes {
        return Err(AppError::PayloadTooLarge);
    }
    let row = record(
        cx,
        (model, version),
        NewArtifact {
            version_id: version_row.id,
            path: path.as_str(),
            size: Some(i64::try_from(size).unwrap_or(i64::MAX)),
            sha256: Some(&sha256),
            media_type: media_type(path),
            format: ArtifactFormat::detect(path, &head, Some(size)).as_str(),
            storage_key: Some(&key),
            external_uri: None,
            created_by: &cx.by.username,
            now: now_ms(),
        },
    )
    .await?;
    guard.disarm();
    Ok(view(&model_row.name, &version_row.version, row))
}

/// Abandons the upload: the store drops its parts.
pub async fn abort(
    cx: &Ctx,
    model: &ModelName,
    version: &SemVer,
    upload_id: &str,
) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let (object, store_id) = parse_upload_id(upload_id)?;
    let (_, version_row) = lookup::find_version(cx, model.as_str(), version).await?;
    let key = object_key(&version_row, object);
    known_upload(cx, &key, store_id).await?;
    cx.state
        .store
        .abort_multipart(&key, store_id)
        .await
        .map_err(store_error)?;
    forget(cx, &key, store_id).await;
    Ok(())
}

async fn known_upload(cx: &Ctx, key: &str, store_id: &str) -> Result<(), AppError> {
    let mut conn = cx.state.db.pool().acquire().await?;
    if pending_uploads::exists(&mut conn, key, store_id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(Missing::Upload))
    }
}

async fn forget(cx: &Ctx, key: &str, store_id: &str) {
    let cleared = async {
        let mut tx = begin_tx(&cx.state).await?;
        pending_uploads::delete(&mut tx, key, store_id).await?;
        commit(tx).await
    };
    if let Err(e) = cleared.await {
        // The sweeper will find it and abort an upload that is gone.
        tracing::warn!(%key, error = %e, "could not clear a pending upload");
    }
}

/// SHA-256, size and first bytes of a stored object, read once, streaming.
async fn hash_object(cx: &Ctx, key: &str) -> Result<(String, u64, Vec<u8>), AppError> {
    let mut body = cx.state.store.read(key, None).await.map_err(store_error)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(64);
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| store_error(e.into()))?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
        if head.len() < 64 {
            let take = (64 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
    }
    Ok((hex::encode(hasher.finalize()), size, head))
}

#[cfg(test)]
mod tests {
    use super::parse_upload_id;

    #[test]
    fn upload_ids_are_ours_or_refused() {
        let id = format!("{}.abc-DEF_1.2", "0123456789abcdef0123456789abcdef");
        assert_eq!(
            parse_upload_id(&id).unwrap(),
            ("0123456789abcdef0123456789abcdef", "abc-DEF_1.2")
        );
        for bad in [
            "",
            "nodot",
            "short.abc",
            "0123456789abcdef0123456789abcdef.",
            "0123456789abcdef0123456789abcdeg.x",
            "0123456789abcdef0123456789abcdef.a b",
            "../../v/1/x.y",
        ] {
            assert!(parse_upload_id(bad).is_err(), "{bad:?}");
        }
    }
}
