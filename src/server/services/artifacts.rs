//! Artifacts: streaming uploads with a SHA-256 computed on the way, links to
//! external files, listing, ranged downloads, soft deletion.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{begin, commit, content, lookup, Ctx};
use crate::{
    domain::{media_type, ArtifactFormat, ArtifactPath, ModelName, Permission, SemVer},
    dto::ArtifactView,
    error::{AppError, Missing},
    server::{
        db::{now_ms, OnUnique},
        repo::{
            artifacts::{self, ArtifactRow, NewArtifact},
            pending_uploads,
            versions::VersionRow,
        },
        state::AppState,
        storage::{ByteStream, Store, StoreError},
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

pub(super) fn store_error(e: StoreError) -> AppError {
    tracing::error!(error = %e, "artifact store error");
    AppError::Internal
}

pub struct UploadRequest {
    pub path: ArtifactPath,
    pub expected_sha256: Option<String>,
    pub declared_length: Option<u64>,
}

/// What streaming an upload's body produced.
struct Streamed {
    sha256: String,
    size: u64,
    /// The first bytes, for format detection.
    head: Vec<u8>,
}

impl Streamed {
    fn check(self, expected: Option<&str>) -> Result<Self, AppError> {
        match expected {
            Some(expected) if expected != self.sha256 => Err(AppError::invalid(
                "X-Checksum-Sha256",
                format!(
                    "does not match the uploaded content (its SHA-256 is {})",
                    self.sha256
                ),
            )),
            _ => Ok(self),
        }
    }
}

/// Streams `body` into `upload`, hashing on the way, within the size limit
/// and the minimum pace. The caller aborts the upload on any error.
async fn stream_body<S, E>(
    state: &AppState,
    upload: &mut crate::server::storage::Upload,
    mut body: S,
    max: u64,
    journal: &mut Journal,
    path: &str,
) -> Result<Streamed, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(64);
    let mut size: u64 = 0;
    let timeouts = state.config.timeouts;
    let mut pace = Pace::new(
        timeouts.min_upload_rate,
        timeouts.idle,
        std::time::Instant::now(),
    );
    loop {
        // A client that stops sending, or trickles, must not hold a
        // connection, a temporary file and an upload slot forever.
        let next = tokio::time::timeout(timeouts.idle, body.next())
            .await
            .map_err(|_| {
                tracing::warn!(%path, "upload stalled");
                AppError::TimedOut(format!(
                    "the upload stalled: nothing arrived for {} s",
                    timeouts.idle.as_secs()
                ))
            })?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| {
            tracing::warn!(error = %e, %path, "upload interrupted");
            AppError::BadRequest("the upload was interrupted".into())
        })?;
        size += chunk.len() as u64;
        if size > max {
            return Err(AppError::PayloadTooLarge);
        }
        if !pace.record(chunk.len() as u64, std::time::Instant::now()) {
            tracing::warn!(%path, "upload too slow");
            return Err(AppError::TimedOut(format!(
                "the upload was slower than {} bytes per second",
                timeouts.min_upload_rate
            )));
        }
        hasher.update(&chunk);
        if head.len() < 64 {
            let take = (64 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        upload.write(chunk).await.map_err(store_error)?;
        journal.note(state, upload).await?;
    }
    Ok(Streamed {
        sha256: hex::encode(hasher.finalize()),
        size,
        head,
    })
}

/// Records a multipart upload in `pending_uploads` once the store has
/// started one, and removes the record once it is completed or aborted. A
/// record left behind by a crash tells the sweeper what to abort.
struct Journal {
    key: String,
    upload_id: Option<String>,
}

impl Journal {
    fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            upload_id: None,
        }
    }

    async fn note(
        &mut self,
        state: &AppState,
        upload: &crate::server::storage::Upload,
    ) -> Result<(), AppError> {
        if self.upload_id.is_some() {
            return Ok(());
        }
        let Some(id) = upload.multipart_id() else {
            return Ok(());
        };
        let mut tx = begin(state).await?;
        pending_uploads::insert(&mut tx, &self.key, id, now_ms()).await?;
        commit(tx).await?;
        self.upload_id = Some(id.to_owned());
        Ok(())
    }

    async fn close(self, state: &AppState) {
        let Some(id) = self.upload_id else { return };
        let closed = async {
            let mut tx = begin(state).await?;
            pending_uploads::delete(&mut tx, &self.key, &id).await?;
            commit(tx).await
        };
        if let Err(e) = closed.await {
            // The sweeper will find it and abort an upload that is gone.
            tracing::warn!(key = %self.key, error = %e, "could not clear a pending upload");
        }
    }
}

/// Removes what interrupted uploads left behind: temporary files and
/// incomplete multipart uploads older than `older_than` (those the store
/// lists, and those the journal remembers). Run at start-up and periodically.
pub async fn sweep_orphans(
    state: &AppState,
    older_than: std::time::Duration,
) -> Result<u64, AppError> {
    let mut removed = state
        .store
        .sweep_orphans(older_than)
        .await
        .map_err(store_error)?;
    let cutoff = now_ms() - i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    loop {
        let mut conn = state.db.pool().acquire().await?;
        let stale = pending_uploads::started_before(&mut conn, cutoff).await?;
        drop(conn);
        if stale.is_empty() {
            break;
        }
        for (key, id) in stale {
            state
                .store
                .abort_multipart(&key, &id)
                .await
                .map_err(store_error)?;
            let mut tx = begin(state).await?;
            pending_uploads::delete(&mut tx, &key, &id).await?;
            commit(tx).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The minimum-rate rule for uploads: over each window of `window`, at
/// least `rate × window` bytes must arrive.
struct Pace {
    rate: u64,
    window: std::time::Duration,
    started: std::time::Instant,
    bytes: u64,
}

impl Pace {
    fn new(rate: u64, window: std::time::Duration, now: std::time::Instant) -> Self {
        Self {
            rate,
            window,
            started: now,
            bytes: 0,
        }
    }

    /// Counts `bytes`; false once a whole window passed below the rate.
    fn record(&mut self, bytes: u64, now: std::time::Instant) -> bool {
        self.bytes += bytes;
        let elapsed = now.duration_since(self.started);
        if elapsed < self.window {
            return true;
        }
        let needed = (self.rate as f64 * elapsed.as_secs_f64()) as u64;
        let fast_enough = self.bytes >= needed;
        self.started = now;
        self.bytes = 0;
        fast_enough
    }
}

/// Removes a stored object if the upload does not end up recorded — also
/// when the request future is dropped between storing and recording.
pub(super) struct ObjectGuard {
    pub(super) store: Store,
    pub(super) key: Option<String>,
}

impl ObjectGuard {
    pub(super) fn disarm(mut self) {
        self.key = None;
    }
}

impl Drop for ObjectGuard {
    fn drop(&mut self) {
        if let (Some(key), Ok(handle)) = (self.key.take(), tokio::runtime::Handle::try_current()) {
            let store = self.store.clone();
            handle.spawn(async move {
                if let Err(e) = store.delete(&key).await {
                    tracing::warn!(%key, error = %e, "could not remove an unrecorded object");
                }
            });
        }
    }
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
    let mut upload = cx.state.store.begin(&key).await.map_err(store_error)?;
    let mut journal = Journal::new(&key);
    let streamed = stream_body(&cx.state, &mut upload, body, max, &mut journal, path).await;
    let streamed = match streamed.and_then(|s| s.check(request.expected_sha256.as_deref())) {
        Ok(streamed) => streamed,
        Err(e) => {
            upload.abort().await;
            journal.close(&cx.state).await;
            return Err(e);
        }
    };
    let completed = upload.complete().await;
    journal.close(&cx.state).await;
    completed.map_err(store_error)?;
    let Streamed { sha256, size, head } = streamed;
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
        if let Err(e) = cx.state.store.delete(&key).await {
            tracing::warn!(%key, error = %e, "artifact record deleted but its object could not be removed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{encode_path, Pace};
    use std::time::{Duration, Instant};

    #[test]
    fn uploads_must_keep_a_minimum_pace_per_window() {
        let t0 = Instant::now();
        let window = Duration::from_secs(10);
        let mut pace = Pace::new(1000, window, t0);
        // Within a window anything goes (a slow start, a pause).
        assert!(pace.record(1, t0 + Duration::from_secs(9)));
        // A whole window at 1 byte per ~10 s: too slow.
        assert!(!pace.record(1, t0 + Duration::from_secs(10)));
        // A fresh window at full speed passes.
        let mut pace = Pace::new(1000, window, t0);
        assert!(pace.record(6000, t0 + Duration::from_secs(5)));
        assert!(pace.record(6000, t0 + Duration::from_secs(11)));
        // A rate of 0 never cuts anyone off.
        let mut lax = Pace::new(0, window, t0);
        assert!(lax.record(0, t0 + Duration::from_secs(100)));
    }

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(
            encode_path("config/params v1.yaml"),
            "config/params%20v1.yaml"
        );
        assert_eq!(encode_path("a#b/c?d"), "a%23b/c%3Fd");
    }
}
