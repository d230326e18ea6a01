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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_relative_paths() {
        for p in [
            "model.safetensors",
            "config/params.yaml",
            "a/b/c/d.txt",
            "weights-00001-of-00002.bin",
            "ünïcode/файл.txt",
            "a b.txt",
        ] {
            assert_eq!(ArtifactPath::parse(p).unwrap().as_str(), p);
        }
        assert_eq!(
            ArtifactPath::parse("config/params.yaml")
                .unwrap()
                .file_name(),
            "params.yaml"
        );
    }

    #[test]
    fn refuses_traversal_and_ambiguous_paths() {
        let long = "a".repeat(1025);
        let long_segment = format!("{}/x", "b".repeat(256));
        for p in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "..",
            ".",
            "a//b",
            "a/",
            "a\\b",
            "..\\x",
            "a\0b",
            "a\nb",
            "C:",
            "c:/x",
            &long,
            &long_segment,
            " a/b",
            "a/b ",
        ] {
            assert_eq!(ArtifactPath::parse(p).unwrap_err().field, "path", "{p:?}");
        }
    }

    #[test]
    fn detects_formats_by_magic_then_extension() {
        let p = |s: &str| ArtifactPath::parse(s).unwrap();
        let mut st = 64u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{\"__metadata__\":{}}");
        assert_eq!(
            ArtifactFormat::detect(&p("weights"), &st, None),
            ArtifactFormat::Safetensors
        );
        assert_eq!(
            ArtifactFormat::detect(&p("m.gguf"), b"GGUF\x03\0\0\0", None),
            ArtifactFormat::Gguf
        );
        assert_eq!(
            ArtifactFormat::detect(&p("x"), b"GGUF", None),
            ArtifactFormat::Gguf
        );
        assert_eq!(
            ArtifactFormat::detect(&p("model.pkl"), b"anything", None),
            ArtifactFormat::Pickle
        );
        assert_eq!(
            ArtifactFormat::detect(&p("data"), &[0x80, 0x04, 0x95], None),
            ArtifactFormat::Pickle
        );
        assert_eq!(
            ArtifactFormat::detect(&p("model.joblib"), b"", None),
            ArtifactFormat::Pickle
        );
        assert_eq!(
            ArtifactFormat::detect(&p("model.pt"), b"PK\x03\x04", None),
            ArtifactFormat::Pytorch
        );
        assert_eq!(
            ArtifactFormat::detect(&p("pytorch_model.bin"), b"PK\x03\x04", None),
            ArtifactFormat::Pytorch
        );
        assert_eq!(
            ArtifactFormat::detect(&p("model.onnx"), b"\x08\x07", None),
            ArtifactFormat::Onnx
        );
        assert_eq!(
            ArtifactFormat::detect(&p("train.py"), b"import torch", None),
            ArtifactFormat::Other
        );
        assert!(
            ArtifactFormat::Pickle.unsafe_to_load() && ArtifactFormat::Pytorch.unsafe_to_load()
        );
    }

    #[test]
    fn a_crafted_pickle_is_never_labelled_safe() {
        let p = |s: &str| ArtifactPath::parse(s).unwrap();
        // Pickle protocol 2 opcodes whose first 8 bytes also read as a small
        // little-endian length, followed by `{"`: a safetensors look-alike.
        let mut crafted = vec![0x80, 0x02, 0x7d, 0x00, 0x00, 0x00, 0x00, 0x00, b'{', b'"'];
        crafted.extend_from_slice(b"x\": 1}");
        assert!(
            looks_like_safetensors(&crafted, Some(10_000_000)),
            "a real look-alike"
        );
        for name in ["model.safetensors", "weights", "model.onnx"] {
            let f = ArtifactFormat::detect(&p(name), &crafted, Some(10_000_000));
            assert_eq!(f, ArtifactFormat::Pickle, "{name}");
            assert!(f.unsafe_to_load());
        }
        // A .safetensors name on bytes without the format's header is not safetensors.
        assert_eq!(
            ArtifactFormat::detect(
                &p("model.safetensors"),
                b"definitely not a header",
                Some(23)
            ),
            ArtifactFormat::Other
        );
        // A header longer than the file is not one either.
        let mut st = 64u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{\"a\":1}");
        assert_eq!(
            ArtifactFormat::detect(&p("model.safetensors"), &st, Some(20)),
            ArtifactFormat::Other
        );
        assert_eq!(
            ArtifactFormat::detect(&p("model.safetensors"), &st, Some(72)),
            ArtifactFormat::Safetensors
        );
        // A link's extension is all there is to go on.
        assert_eq!(
            ArtifactFormat::detect(&p("model.safetensors"), b"", None),
            ArtifactFormat::Safetensors
        );
        assert!(
            !ArtifactFormat::Safetensors.unsafe_to_load() && !ArtifactFormat::Gguf.unsafe_to_load()
        );
        for f in [
            ArtifactFormat::Safetensors,
            ArtifactFormat::Onnx,
            ArtifactFormat::Pickle,
            ArtifactFormat::Pytorch,
            ArtifactFormat::Gguf,
            ArtifactFormat::Other,
        ] {
            assert_eq!(ArtifactFormat::parse(f.as_str()), f);
        }
    }

    #[test]
    fn media_types_and_checksums() {
        assert_eq!(
            media_type(&ArtifactPath::parse("c/params.yaml").unwrap()),
            "application/yaml"
        );
        assert_eq!(
            media_type(&ArtifactPath::parse("model.safetensors").unwrap()),
            "application/octet-stream"
        );
        let h = "a".repeat(64);
        assert_eq!(
            parse_sha256("x", &format!("sha256:{}", h.to_uppercase())).unwrap(),
            h
        );
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63)] {
            assert!(parse_sha256("x", bad).is_err());
        }
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
mod range_tests {
    use super::{parse_range, Unsatisfiable};

    #[test]
    fn resolves_single_ranges() {
        assert_eq!(parse_range(None, 100), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Ok(Some((0, 9))));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(Some("bytes=-500"), 100), Ok(Some((0, 99))));
        assert_eq!(parse_range(Some("bytes=50-1000"), 100), Ok(Some((50, 99))));
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(parse_range(Some("items=0-1"), 100), Ok(None));
        for bad in [
            "bytes=100-",
            "bytes=5-4",
            "bytes=-0",
            "bytes=x-1",
            "bytes=1",
            "bytes=-",
        ] {
            assert_eq!(parse_range(Some(bad), 100), Err(Unsatisfiable), "{bad}");
        }
        assert_eq!(parse_range(Some("bytes=0-0"), 0), Err(Unsatisfiable));
    }
}
