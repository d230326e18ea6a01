//! Artifacts in S3 (or an S3-compatible server). Large uploads use multipart
//! upload: parts of 8 MiB are sent as they arrive, at most a few in flight,
//! so memory stays flat whatever the file size. Small files are one PUT.

use std::{fmt, time::Duration};

use aws_sdk_s3::{
    config::{Region, RequestChecksumCalculation, ResponseChecksumValidation},
    presigning::PresigningConfig,
    primitives::ByteStream as S3Body,
    types::{CompletedMultipartUpload, CompletedPart},
    Client,
};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::task::JoinSet;
use tokio_util::io::ReaderStream;

use super::{ByteStream, StoreError};

/// S3 requires parts of at least 5 MiB (but the last).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// `s3://bucket` or `s3://bucket/some/prefix`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rest = raw
            .strip_prefix("s3://")
            .ok_or("REGISTRY_ARTIFACTS must start with s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(format!(
                "REGISTRY_ARTIFACTS: {bucket:?} is not a valid S3 bucket name"
            ));
        }
        let prefix = prefix.trim_matches('/');
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

#[derive(Clone)]
pub struct S3Store {
    client: Client,
    location: S3Location,
}

fn s3_error(e: impl std::error::Error) -> StoreError {
    // The SDK's Display is terse; the source chain says what went wrong.
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    StoreError::S3(message)
}

impl S3Store {
    /// Credentials, region and endpoint come from the standard AWS chain
    /// (`AWS_ACCESS_KEY_ID`, profiles, instance roles, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL` for S3-compatible servers).
    pub async fn open(location: S3Location, path_style: bool) -> Result<Self, String> {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(path_style)
            // Plain SigV4 payloads: the widest compatibility with S3-compatible servers.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if shared.region().is_none() {
            config = config.region(Region::new("us-east-1"));
        }
        let store = Self {
            client: Client::from_conf(config.build()),
            location,
        };
        store
            .client
            .head_bucket()
            .bucket(&store.location.bucket)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot reach S3 bucket {}: {}",
                    store.location.bucket,
                    s3_error(e)
                )
            })?;
        Ok(store)
    }

    pub fn location(&self) -> &S3Location {
        &self.location
    }

    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_upload()) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }

    /// Aborts multipart uploads under our prefix started more than
    /// `older_than` ago: a server killed mid-upload never aborts its own.
    pub async fn sweep_orphans(&self, older_than: std::time::Duration) -> Result<u64, StoreError> {
        let cutoff = std::time::SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(std::time::UNIX_EPOCH);
        let mut removed = 0;
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = match self
                .client
                .list_multipart_uploads()
                .bucket(&self.location.bucket)
                .prefix(&self.location.prefix)
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(id_marker.clone())
                .send()
                .await
            {
                Ok(page) => page,
                // Some S3-compatible servers cannot list uploads; the
                // registry's own journal (`pending_uploads`) still covers ours.
                Err(e) => {
                    tracing::debug!(error = %s3_error(e), "cannot list multipart uploads");
                    return Ok(removed);
                }
            };
            for upload in page.uploads() {
                let started = upload
                    .initiated()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok());
                let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else {
                    continue;
                };
                if started.is_some_and(|t| t <= cutoff) {
                    self.client
                        .abort_multipart_upload()
                        .bucket(&self.location.bucket)
                        .key(key)
                        .upload_id(id)
                        .send()
                        .await
                        .map_err(s3_error)?;
                    removed += 1;
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            id_marker = page.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() && id_marker.is_none() {
                break;
            }
        }
        Ok(removed)
    }

    /// Writes a small object that must never change: `false` when `key`
    /// exists. On a bucket with Object Lock and a default retention, S3
    /// itself then refuses to delete or overwrite it until retention ends.
    pub async fn put_once(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        if self.exists(key).await? {
            return Ok(false);
        }
        self.client
            .put_object()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .body(aws_sdk_s3::primitives::ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(true)
    }

    /// The keys under `dir` (a key prefix ending in `/`), paged through.
    pub async fn list(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.location.bucket)
                .prefix(self.full_key(dir))
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(s3_error)?;
            for object in page.contents() {
                if let Some(key) = object
                    .key()
                    .and_then(|k| k.strip_prefix(&self.location.prefix))
                {
                    keys.push(key.to_owned());
                }
            }
            token = page.next_continuation_token().map(str::to_owned);
            if page.is_truncated() != Some(true) || token.is_none() {
                break;
            }
        }
        Ok(keys)
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.location.prefix)
    }

    pub async fn begin(&self, key: &str) -> Result<S3Upload, StoreError> {
        Ok(S3Upload {
            client: self.client.clone(),
            bucket: self.location.bucket.clone(),
            key: self.full_key(key),
            buffer: Vec::with_capacity(PART_SIZE),
            upload_id: None,
            in_flight: JoinSet::new(),
            done: Vec::new(),
            next_part: 1,
        })
    }

    pub async fn read(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ByteStream, StoreError> {
        let mut request = self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(self.full_key(key));
        if let Some((start, end)) = range {
            request = request.range(format!("bytes={start}-{end}"));
        }
        let output = request.send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                StoreError::NotFound
            } else {
                s3_error(e)
            }
        })?;
        Ok(ReaderStream::with_capacity(output.body.into_async_read(), 256 * 1024).boxed())
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map(drop)
            .map_err(s3_error)
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(s3_error(e)),
        }
    }

    /// Starts a multipart upload of `key` whose `parts` the client sends
    /// straight to S3, each to its presigned URL (valid for an hour).
    pub async fn presign_parts(
        &self,
        key: &str,
        parts: i32,
    ) -> Result<(String, Vec<String>), StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(s3_error)?;
        let id = created
            .upload_id()
            .ok_or_else(|| StoreError::S3("no upload id in CreateMultipartUpload's answer".into()))?
            .to_owned();
        let config = PresigningConfig::expires_in(Duration::from_secs(3600)).map_err(s3_error)?;
        let mut urls = Vec::with_capacity(usize::try_from(parts).unwrap_or(0));
        for part in 1..=parts {
            let presigned = self
                .client
                .upload_part()
                .bucket(&self.location.bucket)
                .key(self.full_key(key))
                .upload_id(&id)
                .part_number(part)
                .presigned(config.clone())
                .await
                .map_err(s3_error)?;
            urls.push(presigned.uri().to_owned());
        }
        Ok((id, urls))
    }

    /// Completes a presigned multipart upload from the parts' ETags.
    pub async fn complete_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> Result<(), StoreError> {
        let parts = parts
            .iter()
            .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(s3_error)
    }

    pub async fn presigned_get(&self, key: &str, file_name: &str) -> Option<String> {
        let config = PresigningConfig::expires_in(Duration::from_secs(300)).ok()?;
        let disposition = format!(
            "attachment; filename=\"{}\"",
            file_name.replace(['"', '\\'], "_")
        );
        self.client
            .get_object()
            .bucket(&self.location.bucket)
            .key(self.full_key(key))
            .response_content_disposition(disposition)
            .presigned(config)
            .await
            .ok()
            .map(|p| p.uri().to_owned())
    }
}

pub struct S3Upload {
    client: Client,
    bucket: String,
    key: String,
    /// The part being filled. A fresh allocation per part (not a growing,
    /// split buffer) keeps memory at (parts in flight + 1) × PART_SIZE.
    buffer: Vec<u8>,
    upload_id: Option<String>,
    in_flight: JoinSet<Result<CompletedPart, StoreError>>,
    done: Vec<CompletedPart>,
    next_part: i32,
}

impl S3Upload {
    pub fn upload_id(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            let take = (PART_SIZE - self.buffer.len()).min(rest.len());
            self.buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buffer.len() == PART_SIZE {
                let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
                self.send_part(Bytes::from(full)).await?;
            }
        }
        Ok(())
    }

    async fn send_part(&mut self, body: Bytes) -> Result<(), StoreError> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(s3_error)?;
                let id = created
                    .upload_id()
                    .ok_or_else(|| StoreError::S3("no upload id".into()))?
                    .to_owned();
                self.upload_id = Some(id.clone());
                id
            }
        };
        // Bounded pipelining: wait for a slot before sending another part.
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.collect_one().await?;
        }
        let number = self.next_part;
        self.next_part += 1;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(S3Body::from(body));
        self.in_flight.spawn(async move {
            let out = request.send().await.map_err(s3_error)?;
            Ok(CompletedPart::builder()
                .set_e_tag(out.e_tag().map(str::to_owned))
                .part_number(number)
                .build())
        });
        Ok(())
    }

    async fn collect_one(&mut self) -> Result<(), StoreError> {
        if let Some(joined) = self.in_flight.join_next().await {
            let part =
                joined.map_err(|e| StoreError::S3(format!("part upload task failed: {e}")))??;
            self.done.push(part);
        }
        Ok(())
    }

    pub async fn complete(mut self) -> Result<(), StoreError> {
        let result = self.finish().await;
        if result.is_err() {
            self.abort_inner().await;
        }
        result
    }

    async fn finish(&mut self) -> Result<(), StoreError> {
        if self.upload_id.is_none() {
            // Smaller than one part: a single PUT.
            let body = Bytes::from(std::mem::take(&mut self.buffer));
            return self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(S3Body::from(body))
                .send()
                .await
                .map(drop)
                .map_err(s3_error);
        }
        if !self.buffer.is_empty() {
            let last = Bytes::from(std::mem::take(&mut self.buffer));
            self.send_part(last).await?;
        }
        while !self.in_flight.is_empty() {
            self.collect_one().await?;
        }
        let mut parts = std::mem::take(&mut self.done);
        parts.sort_by_key(|p| p.part_number());
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_upload_id(self.upload_id.clone())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(s3_error)?;
        self.upload_id = None;
        Ok(())
    }

    pub async fn abort(mut self) {
        self.abort_inner().await;
    }

    async fn abort_inner(&mut self) {
        self.in_flight.abort_all();
        while self.in_flight.join_next().await.is_some() {}
        if let Some(id) = self.upload_id.take() {
            if let Err(e) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await
            {
                tracing::warn!(key = %self.key, error = %s3_error(e), "could not abort a multipart upload");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::S3Location;

    #[test]
    fn parses_bucket_and_prefix() {
        assert_eq!(
            S3Location::parse("s3://models").unwrap(),
            S3Location {
                bucket: "models".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            S3Location::parse("s3://models/reg/prod/").unwrap().prefix,
            "reg/prod/"
        );
        for bad in [
            "models",
            "s3://",
            "s3://UPPER",
            "s3://a",
            "s3://under_score/x",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }
}
