//! Artifacts: streaming uploads with a SHA-256 computed on the way, links to
//! external files, listing, ranged downloads, soft deletion.

use bytes::Bytes;
use futures_util::Stream;
use serde_json::json;

pub use super::artifact_stream::sweep_orphans;
pub(super) use super::artifact_stream::{store_error, ObjectGuard};
use super::{
    artifact_stream::{store_body, Streamed},
    commit, content, lookup, Ctx,
};
use crate::{
    domain::{media_type, ArtifactFormat, ArtifactPath, ModelName, Permission, SemVer},
    dto::ArtifactView,
    error::{AppError, Missing},
    server::{
        db::{now_ms, OnUnique},
        repo::{
            artifacts::{self, ArtifactRow, NewArtifact},
            versions::VersionRow,
        },
        state::AppState,
        storage::{ByteStream, StoreError},
    },
};

pub fn view(model: &str, version: &str, row: ArtifactRow) -> ArtifactView {
    let format = ArtifactFormat::parse(&row.format);
    ArtifactView {
        download_url: format!(
            "/api/v1/models/{model}/versions/{version}/artifacts/{}",
            encode_path(&row.path)
        ),
        path: row.path,
        size: row.size,
        sha256: row.sha256,
        media_type: row.media_type,
        format: format.as_str().to_owned(),
        unsafe_to_load: format.unsafe_to_load(),
        external_uri: row.external_uri,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

/// Percent-encodes each segment of a path, keeping the `/` separators.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub struct UploadRequest {
    pub path: ArtifactPath,
    pub expected_sha256: Option<String>,
    pub declared_length: Option<u64>,
}

/// Streams `body` into the store and records the artifact. Nothing is
/// recorded, and nothing stays stored, unless every byte arrived, the size
/// limit held and the checksum (when given) matched.
pub async fn upload<S, E>(
    cx: &Ctx,
    model: &ModelName,
    version: &SemVer,
    request: UploadRequest,
    body: S,
) -> Result<ArtifactView, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    cx.require(Permission::Contribute)?;
    let (model_row, version_row) = lookup::find_version(cx, model.as_str(), version).await?;
    // Refuse a frozen version before streaming gigabytes; `record` checks
    // again under the lock, which is what guarantees it.
    {
        let mut conn = cx.state.db.pool().acquire().await?;
        content::ensure_thawed(&mut conn, &model_row.name, &version_row).await?;
    }
    let max = cx.state.config.max_artifact_bytes;
    if request.declared_length.is_some_and(|n| n > max) {
        return Err(AppError::PayloadTooLarge);
    }
    let path = request.path.as_str();
    if artifacts::path_taken(cx.state.db.pool(), version_row.id, path).await? {
        return Err(AppError::Conflict(format!(
            "{path} already exists in this version; artifacts are immutable"
        )));
    }
    let key = format!("v/{}/{}", version_row.id, uuid::Uuid::new_v4());
    let expected = request.expected_sha256.as_deref();
    let Streamed { sha256, size, head } =
        store_body(&cx.state, &key, body, (max, expected), path).await?;
    let guard = ObjectGuard {
        store: cx.state.store.clone(),
        key: Some(key.clone()),
    };
    let format = ArtifactFormat::detect(&request.path, &head, Some(size));
    let row = record(
        cx,
        (model, version),
        NewArtifact {
            version_id: version_row.id,
            path,
            size: Some(i64::try_from(size).unwrap_or(i64::MAX)),
            sha256: Some(&sha256),
            media_type: media_type(&request.path),
            format: format.as_str(),
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

/// Records a stored (or linked) file, in one transaction with its audit
/// event and the version's new content digest. The version is locked and
/// checked for a freeze here: an upload that began before a request was
/// opened, or before a promotion, is refused at the finish line.
pub(super) async fn record(
    cx: &Ctx,
    (model_name, version): (&ModelName, &SemVer),
    new: NewArtifact<'_>,
) -> Result<ArtifactRow, AppError> {
    let mut tx = cx.begin().await?;
    let (model, version) = lookup::lock_version(&mut tx, cx.db(), model_name, version).await?;
    content::ensure_thawed(&mut tx, &model.name, &version).await?;
    let new = NewArtifact {
        version_id: version.id,
        ..new
    };
    let row = artifacts::insert(&mut tx, new).await.on_unique(|| {
        AppError::Conflict(
            "this path already exists in this version; artifacts are immutable".into(),
        )
    })?;
    let action = if row.external_uri.is_some() {
        "artifact.link"
    } else {
        "artifact.upload"
    };
    let digest = content::refresh(&mut tx, version.id).await?;
    let target = format!("{}@{}/{}", model.name, version.version, row.path);
    let details = json!({
        "size": row.size, "sha256": row.sha256, "format": row.format,
        "external_uri": row.external_uri, "content_digest": digest,
    });
    cx.audit(&mut tx, action, ("artifact", &target), details)
        .await?;
    commit(tx).await?;
    Ok(row)
}

/// A file that lives elsewhere (`s3://…`, `https://…`), with an optional checksum.
#[allow(clippy::too_many_arguments)]
pub async fn link(
    cx: &Ctx,
    model: &ModelName,
    version: &SemVer,
    path: ArtifactPath,
    uri: String,
    sha256: Option<String>,
    size: Option<i64>,
) -> Result<ArtifactView, AppError> {
    cx.require(Permission::Contribute)?;
    let valid_uri = (uri.starts_with("s3://")
        || uri.starts_with("https://")
        || uri.starts_with("http://")
        || uri.starts_with("gs://"))
        && uri.len() <= 2048
        && !uri.chars().any(|c| c.is_control() || c.is_whitespace());
    if !valid_uri {
        return Err(AppError::invalid("uri", "must be an s3://, gs://, https:// or http:// URI without spaces, at most 2048 characters"));
    }
    if size.is_some_and(|s| s < 0) {
        return Err(AppError::invalid("size", "must not be negative"));
    }
    let (model_row, version_row) = lookup::find_version(cx, model.as_str(), version).await?;
    let row = record(
        cx,
        (model, version),
        NewArtifact {
            version_id: version_row.id,
            path: path.as_str(),
            size,
            sha256: sha256.as_deref(),
            media_type: media_type(&path),
            format: ArtifactFormat::detect(&path, &[], None).as_str(),
            storage_key: None,
            external_uri: Some(&uri),
            created_by: &cx.by.username,
            now: now_ms(),
        },
    )
    .await?;
    Ok(view(&model_row.name, &version_row.version, row))
}

pub async fn list(cx: &Ctx, model: &str, version: &SemVer) -> Result<Vec<ArtifactView>, AppError> {
    let (model_row, version_row) = lookup::find_version(cx, model, version).await?;
    list_for(&cx.state, &model_row.name, &version_row).await
}

pub async fn list_for(
    state: &AppState,
    model: &str,
    version: &VersionRow,
) -> Result<Vec<ArtifactView>, AppError> {
    let rows = artifacts::list(state.db.pool(), version.id).await?;
    Ok(rows
        .into_iter()
        .map(|r| view(model, &version.version, r))
        .collect())
}

pub enum Download {
    /// Bytes from our store; `range` is inclusive, `None` for the whole file.
    Stream {
        artifact: Box<ArtifactRow>,
        range: Option<(u64, u64)>,
        body: ByteStream,
    },
    /// Go elsewhere: an external link, or a presigned S3 URL.
    Redirect(String),
}

pub async fn download(
    cx: &Ctx,
    model: &str,
    version: &SemVer,
    path: &ArtifactPath,
    range: Option<&str>,
    presigned: bool,
) -> Result<Download, AppError> {
    cx.require(Permission::Read)?;
    let (_, version_row) = lookup::find_version(cx, model, version).await?;
    let artifact = artifacts::find(cx.state.db.pool(), version_row.id, path.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Artifact(path.to_string())))?;
    let key = match (&artifact.storage_key, &artifact.external_uri) {
        (Some(key), _) => key.clone(),
        (None, Some(uri)) => return Ok(Download::Redirect(uri.clone())),
        (None, None) => return Err(AppError::Internal),
    };
    if presigned {
        if let Some(url) = cx.state.store.presigned_get(&key, path.file_name()).await {
            return Ok(Download::Redirect(url));
        }
    }
    let size = u64::try_from(artifact.size.unwrap_or(0)).unwrap_or(0);
    let range =
        crate::domain::parse_range(range, size).map_err(|_| AppError::RangeNotSatisfiable(size))?;
    let body = match cx.state.store.read(&key, range).await {
        Ok(body) => body,
        Err(StoreError::NotFound) => {
            tracing::error!(%key, "an artifact's object is missing from the store");
            return Err(AppError::Internal);
        }
        Err(e) => return Err(store_error(e)),
    };
    Ok(Download::Stream {
        artifact: Box::new(artifact),
        range,
        body,
    })
}

/// Admins delete an artifact: the record is kept (soft) so the path is never
/// reused; the stored bytes are removed.
pub async fn delete(
    cx: &Ctx,
    model: &ModelName,
    version: &SemVer,
    path: &ArtifactPath,
) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    let mut tx = cx.begin().await?;
    let (model_row, version_row) = lookup::lock_version(&mut tx, cx.db(), model, version).await?;
    let artifact = artifacts::find(&mut *tx, version_row.id, path.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Artifact(path.to_string())))?;
    // Admins too: a released file is evidence, retired with its version.
    content::ensure_thawed(&mut tx, &model_row.name, &version_row).await?;
    artifacts::soft_delete(&mut tx, artifact.id, now_ms()).await?;
    let digest = content::refresh(&mut tx, version_row.id).await?;
    let target = format!(
        "{}@{}/{}",
        model_row.name, version_row.version, artifact.path
    );
    let details =
        json!({ "sha256": artifact.sha256, "size": artifact.size, "content_digest": digest });
    cx.audit(&mut tx, "artifact.delete", ("artifact", &target), details)
        .await?;
    commit(tx).await?;
    if let Some(key) = artifact.storage_key {
        remove_unused_object(&cx.state, &key).await;
    }
    Ok(())
}

/// Removes a stored object once no record refers to it: a version
/// registered from an MLflow run or logged model shares its objects.
pub(super) async fn remove_unused_object(state: &AppState, key: &str) {
    let in_use = async {
        let mut conn = state.db.pool().acquire().await?;
        crate::server::repo::tracking_files::object_in_use(&mut conn, key).await
    };
    match in_use.await {
        Ok(false) => {}
        Ok(true) => return,
        Err(e) => {
            tracing::warn!(%key, error = %e, "could not check whether an object is still used; kept");
            return;
        }
    }
    if let Err(e) = state.store.delete(key).await {
        tracing::warn!(%key, error = %e, "a record was deleted but its object could not be removed");
    }
}

#[cfg(test)]
mod tests {
    use super::encode_path;

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(
            encode_path("config/params v1.yaml"),
            "config/params%20v1.yaml"
        );
        assert_eq!(encode_path("a#b/c?d"), "a%23b/c%3Fd");
    }
}
