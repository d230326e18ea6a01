//! Streaming a request body into the artifact store: SHA-256 on the way,
//! the size limit, a minimum pace, the multipart journal, and a guard that
//! removes an object that never got recorded. Shared by version artifacts
//! and the files of MLflow runs and logged models.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::{begin, commit};
use crate::{
    error::AppError,
    server::{
        db::now_ms,
        repo::pending_uploads,
        state::AppState,
        storage::{Store, StoreError},
    },
};

pub(crate) fn store_error(e: StoreError) -> AppError {
    tracing::error!(error = %e, "artifact store error");
    AppError::Internal
}

/// What streaming an upload's body produced.
pub(super) struct Streamed {
    pub(super) sha256: String,
    pub(super) size: u64,
    /// The first bytes, for format detection.
    pub(super) head: Vec<u8>,
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
        state.metrics.uploaded(chunk.len());
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

/// Streams `body` into a new object at `key`: within `max` bytes, matching
/// `expected` SHA-256 when given. Nothing stays stored unless every byte
/// arrived and the object completed; the caller records it (or removes it
/// with an [`ObjectGuard`]).
pub(super) async fn store_body<S, E>(
    state: &AppState,
    key: &str,
    body: S,
    (max, expected): (u64, Option<&str>),
    path: &str,
) -> Result<Streamed, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut upload = state.store.begin(key).await.map_err(store_error)?;
    let mut journal = Journal::new(key);
    let streamed = stream_body(state, &mut upload, body, max, &mut journal, path).await;
    let streamed = match streamed.and_then(|s| s.check(expected)) {
        Ok(streamed) => streamed,
        Err(e) => {
            upload.abort().await;
            journal.close(state).await;
            return Err(e);
        }
    };
    let completed = upload.complete().await;
    journal.close(state).await;
    completed.map_err(store_error)?;
    Ok(streamed)
}

#[cfg(test)]
mod tests {
    use super::Pace;
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
}
