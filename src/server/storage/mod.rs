//! The artifact store: the local filesystem (default) or S3. Uploads stream
//! through: the server holds at most one part in memory (S3) or writes
//! straight into a temporary file beside its final place (local), hashing as
//! it goes. An upload that does not finish — client gone, checksum wrong,
//! disk full, S3 error, or the request future dropped — leaves nothing
//! behind: `Upload` cleans up on drop unless it was completed.

mod local;
mod s3;

use std::{path::PathBuf, pin::Pin};

use bytes::Bytes;
use futures_util::Stream;

pub use local::LocalStore;
pub use s3::{S3Location, S3Store};

pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Whether `key` is one this registry writes: relative, `/`-separated,
/// with no empty, `.` or `..` segment and no backslash, so it can never
/// name a file outside the store's root (or a backup's folder).
pub fn is_safe_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("artifact store I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("S3 error: {0}")]
    S3(String),
    #[error("object not found")]
    NotFound,
}

/// Where artifacts live, chosen by `REGISTRY_ARTIFACTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    Local(PathBuf),
    S3 {
        location: S3Location,
        path_style: bool,
    },
}

impl StoreConfig {
    /// `s3://bucket/optional/prefix`, a filesystem path, or nothing (`<data dir>/artifacts`).
    pub fn parse(
        raw: Option<&str>,
        data_dir: &std::path::Path,
        path_style: bool,
    ) -> Result<Self, String> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Self::Local(data_dir.join("artifacts"))),
            Some(s) if s.starts_with("s3://") => Ok(Self::S3 {
                location: S3Location::parse(s)?,
                path_style,
            }),
            Some(s) if s.contains("://") => Err(format!(
                "REGISTRY_ARTIFACTS: unsupported scheme in {s:?} (use s3:// or a directory)"
            )),
            Some(s) => Ok(Self::Local(PathBuf::from(s))),
        }
    }
}

#[derive(Clone)]
pub enum Store {
    Local(LocalStore),
    S3(S3Store),
}

impl Store {
    pub async fn open(config: &StoreConfig) -> Result<Self, String> {
        match config {
            StoreConfig::Local(dir) => LocalStore::open(dir.clone()).await.map(Store::Local),
            StoreConfig::S3 {
                location,
                path_style,
            } => S3Store::open(location.clone(), *path_style)
                .await
                .map(Store::S3),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Store::Local(l) => format!("local directory {}", l.root().display()),
            Store::S3(s) => format!("S3 {}", s.location()),
        }
    }

    /// Starts an upload that becomes the object `key` on `complete`.
    pub async fn begin(&self, key: &str) -> Result<Upload, StoreError> {
        let inner = match self {
            Store::Local(l) => UploadInner::Local(l.begin(key).await?),
            Store::S3(s) => UploadInner::S3(s.begin(key).await?),
        };
        Ok(Upload { inner: Some(inner) })
    }

    /// Bytes `range` (inclusive) of an object, or all of it.
    pub async fn read(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ByteStream, StoreError> {
        match self {
            Store::Local(l) => l.read(key, range).await,
            Store::S3(s) => s.read(key, range).await,
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Store::Local(l) => l.delete(key).await,
            Store::S3(s) => s.delete(key).await,
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self {
            Store::Local(l) => l.exists(key).await,
            Store::S3(s) => s.exists(key).await,
        }
    }

    /// Writes a small object that must never change (signed checkpoints):
    /// `false`, and nothing written, when `key` already exists.
    pub async fn put_once(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        match self {
            Store::Local(l) => l.put_once(key, bytes).await,
            Store::S3(s) => s.put_once(key, bytes).await,
        }
    }

    /// The keys of the objects under `dir` (a prefix ending in `/`).
    pub async fn list(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Local(l) => l.list(dir).await,
            Store::S3(s) => s.list(dir).await,
        }
    }

    /// Reads a small object whole; `None` when it is absent or larger than `limit`.
    pub async fn read_small(&self, key: &str, limit: usize) -> Result<Option<Vec<u8>>, StoreError> {
        use futures_util::StreamExt;
        let mut stream = match self.read(key, None).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
            if out.len() > limit {
                return Ok(None);
            }
        }
        Ok(Some(out))
    }

    /// Removes what interrupted uploads left behind (a crash, a kill -9):
    /// temporary files, incomplete S3 multipart uploads, when older than
    /// `older_than`. Returns how many were removed.
    pub async fn sweep_orphans(&self, older_than: std::time::Duration) -> Result<u64, StoreError> {
        match self {
            Store::Local(l) => l.sweep_orphans(older_than).await,
            Store::S3(s) => s.sweep_orphans(older_than).await,
        }
    }

    /// Aborts a multipart upload by id (the journal's leftovers). An upload
    /// that no longer exists counts as aborted.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        match self {
            Store::Local(_) => Ok(()),
            Store::S3(s) => s.abort_multipart(key, upload_id).await,
        }
    }

    /// Presigned part URLs for a client-side multipart upload of `key`
    /// (S3 only; `None` for a local directory, as MLflow's own server
    /// answers for local storage).
    pub async fn presign_parts(
        &self,
        key: &str,
        parts: i32,
    ) -> Option<Result<(String, Vec<String>), StoreError>> {
        match self {
            Store::Local(_) => None,
            Store::S3(s) => Some(s.presign_parts(key, parts).await),
        }
    }

    pub async fn complete_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> Result<(), StoreError> {
        match self {
            Store::Local(_) => Err(StoreError::NotFound),
            Store::S3(s) => s.complete_parts(key, upload_id, parts).await,
        }
    }

    /// A short-lived URL the client can download from directly (S3 only).
    pub async fn presigned_get(&self, key: &str, file_name: &str) -> Option<String> {
        match self {
            Store::Local(_) => None,
            Store::S3(s) => s.presigned_get(key, file_name).await,
        }
    }
}

enum UploadInner {
    Local(local::LocalUpload),
    S3(s3::S3Upload),
}

/// An upload in progress. Dropped without `complete`, it removes what it wrote.
pub struct Upload {
    inner: Option<UploadInner>,
}

impl Upload {
    /// The store's id for a multipart upload once one has started (S3).
    pub fn multipart_id(&self) -> Option<&str> {
        match self.inner.as_ref() {
            Some(UploadInner::S3(u)) => u.upload_id(),
            _ => None,
        }
    }

    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        match self.inner.as_mut() {
            Some(UploadInner::Local(u)) => u.write(&chunk).await,
            Some(UploadInner::S3(u)) => u.write(chunk).await,
            None => Ok(()),
        }
    }

    /// Makes the object visible under its key.
    pub async fn complete(mut self) -> Result<(), StoreError> {
        match self.inner.take() {
            Some(UploadInner::Local(u)) => u.complete().await,
            Some(UploadInner::S3(u)) => u.complete().await,
            None => Ok(()),
        }
    }

    /// Removes what was written, now.
    pub async fn abort(mut self) {
        match self.inner.take() {
            Some(UploadInner::Local(u)) => u.abort().await,
            Some(UploadInner::S3(u)) => u.abort().await,
            None => {}
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        match self.inner.take() {
            Some(UploadInner::Local(u)) => u.abort_now(),
            Some(UploadInner::S3(u)) => {
                // The request future was dropped mid-upload (client gone).
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(u.abort());
                }
            }
            None => {}
        }
    }
}
