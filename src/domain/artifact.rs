//! Artifact paths and file formats: pure rules for the artifact store.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::FieldError;

pub const ARTIFACT_PATH_MAX_LEN: usize = 1024;
const SEGMENT_MAX_LEN: usize = 255;

/// A relative path inside a version (`model.safetensors`, `config/params.yaml`).
/// Never absolute, never escaping (`..`), no empty or dot segments, no
/// backslashes, NUL or control characters: it is safe as a storage key suffix
/// and as a URL path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArtifactPath(String);

impl ArtifactPath {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new("path", m));
        if raw.is_empty() {
            return err("is required");
        }
        if raw.len() > ARTIFACT_PATH_MAX_LEN {
            return err("must be at most 1024 bytes");
        }
        if raw.starts_with('/') {
            return err("must be relative (no leading '/')");
        }
        if raw.contains('\\') {
            return err("must use '/' as separator (no backslashes)");
        }
        if raw.chars().any(char::is_control) {
            return err("must not contain control characters or NUL");
        }
        for segment in raw.split('/') {
            match segment {
                "" => return err("must not contain empty segments ('//' or a trailing '/')"),
                "." | ".." => return err("must not contain '.' or '..' segments"),
                s if s.len() > SEGMENT_MAX_LEN => return err("segments must be at most 255 bytes"),
                s if s.trim() != s => return err("segments must not start or end with spaces"),
                _ => {}
            }
        }
        if raw
            .split('/')
            .next()
            .is_some_and(|s| s.len() == 2 && s.ends_with(':'))
        {
            return err("must not look like a drive letter");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    fn extension(&self) -> String {
        self.file_name()
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

impl TryFrom<String> for ArtifactPath {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ArtifactPath> for String {
    fn from(p: ArtifactPath) -> Self {
        p.0
    }
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactFormat {
    Safetensors,
    Onnx,
    Pickle,
    Pytorch,
    Gguf,
    Other,
}

impl ArtifactFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::Onnx => "onnx",
            Self::Pickle => "pickle",
            Self::Pytorch => "pytorch",
            Self::Gguf => "gguf",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "safetensors" => Self::Safetensors,
            "onnx" => Self::Onnx,
            "pickle" => Self::Pickle,
            "pytorch" => Self::Pytorch,
            "gguf" => Self::Gguf,
            _ => Self::Other,
        }
    }

    /// Pickle-based formats run code when loaded: unsafe from untrusted sources.
    pub fn unsafe_to_load(self) -> bool {
        matches!(self, Self::Pickle | Self::Pytorch)
    }

    /// Detects the format from the file's first bytes (`head`), its size and
    /// its extension. Anything that could be a pickle is labelled one, even
    /// when it could also be read as something safe: a crafted file must
    /// never be shown as safe to load. `safetensors` is claimed for uploaded
    /// bytes only when their header has the format's shape; a link (no bytes
    /// seen) is taken at its extension's word.
    pub fn detect(path: &ArtifactPath, head: &[u8], size: Option<u64>) -> Self {
        let ext = path.extension();
        let pickle_magic = head.len() >= 2 && head[0] == 0x80 && (2..=5).contains(&head[1]);
        if pickle_magic || matches!(ext.as_str(), "pkl" | "pickle" | "joblib") {
            return Self::Pickle;
        }
        // PyTorch's format is a zip holding a pickle.
        let zip_magic = head.starts_with(b"PK\x03\x04");
        if matches!(ext.as_str(), "pt" | "pth" | "ckpt") || (zip_magic && ext == "bin") {
            return Self::Pytorch;
        }
        if head.starts_with(b"GGUF") {
            return Self::Gguf;
        }
        if looks_like_safetensors(head, size) {
            return Self::Safetensors;
        }
        match ext.as_str() {
            "safetensors" if head.is_empty() => Self::Safetensors,
            "onnx" => Self::Onnx,
            "gguf" if head.is_empty() => Self::Gguf,
            _ => Self::Other,
        }
    }
}

/// safetensors: a little-endian u64 header length N, then N bytes of JSON
/// that open an object (`{"` or `{}`), and at least that much file.
fn looks_like_safetensors(head: &[u8], size: Option<u64>) -> bool {
    if head.len() < 10 || head[8] != b'{' {
        return false;
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&head[..8]);
    let len = u64::from_le_bytes(len);
    if !(2..=100_000_000).contains(&len) {
        return false;
    }
    if size.is_some_and(|size| size < 8 + len) {
        return false;
    }
    matches!(
        head[9..].iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'"') | Some(b'}')
    )
}

/// A media type from the extension (the client's Content-Type is not trusted).
pub fn media_type(path: &ArtifactPath) -> &'static str {
    match path.extension().as_str() {
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "txt" | "md" | "cfg" | "ini" | "toml" => "text/plain; charset=utf-8",
        "py" => "text/x-python; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "onnx" => "application/onnx",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// A SHA-256 given by a client: 64 hex digits (an optional `sha256:` prefix).
pub fn parse_sha256(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let hex = raw
        .trim()
        .strip_prefix("sha256:")
        .unwrap_or(raw.trim())
        .to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(FieldError::new(
            field,
            "must be a SHA-256: 64 hexadecimal digits",
        ))
    }
}

/// A `Range` header that no byte of the file satisfies (answer 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// A single byte range from a `Range` header, resolved against `size`:
/// `Ok(None)` means "the whole file" (no header, or one we ignore, as RFC
/// 9110 allows for multiple ranges).
pub fn parse_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        // Suffix: the last N bytes.
        let n: u64 = end.parse().map_err(|_| Unsatisfiable)?;
        if n == 0 || size == 0 {
            return Err(Unsatisfiable);
        }
        (size.saturating_sub(n), size - 1)
    } else {
        let start: u64 = start.parse().map_err(|_| Unsatisfiable)?;
        let end: u64 = if end.is_empty() {
            size.saturating_sub(1)
        } else {
            end.parse().map_err(|_| Unsatisfiable)?
        };
        if start >= size || end < start {
            return Err(Unsatisfiable);
        }
        (start, end.min(size - 1))
    };
    Ok(Some(range))
}

#[cfg(test)]
#[path = "artifact_tests.rs"]
mod tests;
