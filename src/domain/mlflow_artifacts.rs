//! Where a version's files live in MLflow's artifact protocol
//! (`/api/2.0/mlflow-artifacts/artifacts/<path>`), and how a listing of
//! them looks. Every registered version is the directory
//! `models/<model>/<semver>`; the MLflow client reaches it through the
//! URI `mlflow-artifacts:/models/<model>/<semver>` that `get-download-uri`
//! answers, and everything under it is the version's artifact paths.

use crate::domain::{ArtifactPath, FieldError, ModelName, SemVer};

/// The first segment of every path this registry serves.
pub const ROOT: &str = "models";

/// A path in MLflow's artifact space: a version, and optionally a file or
/// directory inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactAddress {
    pub model: ModelName,
    pub version: SemVer,
    /// `None`: the version's root.
    pub inner: Option<ArtifactPath>,
}

impl ArtifactAddress {
    /// Parses `models/<model>/<semver>[/<path>]`. Leading and trailing `/`
    /// are ignored (clients join paths loosely); `..`, `.`, empty segments,
    /// backslashes and control characters are refused, as everywhere.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim_matches('/');
        let shape = || {
            FieldError::new(
                "path",
                format!("must name a model version: {ROOT}/<model>/<version>[/<file>]"),
            )
        };
        let mut parts = trimmed.splitn(4, '/');
        if parts.next() != Some(ROOT) {
            return Err(shape());
        }
        let model = ModelName::parse(parts.next().ok_or_else(shape)?)
            .map_err(|e| FieldError::new("path", format!("model name: {}", e.message)))?;
        let version = SemVer::parse(parts.next().ok_or_else(shape)?)
            .map_err(|e| FieldError::new("path", format!("version: {}", e.message)))?;
        let inner = parts.next().map(ArtifactPath::parse).transpose()?;
        Ok(Self {
            model,
            version,
            inner,
        })
    }

    /// The URI an MLflow client resolves against its tracking server.
    pub fn uri(model: &str, version: &str) -> String {
        format!("mlflow-artifacts:/{ROOT}/{model}/{version}")
    }
}

/// Whether an MLflow client fetches files from `source` itself: object
/// stores and web URLs. A version registered with such a source and no files
/// uploaded here is downloaded from there, as from MLflow's own registry;
/// `runs:/`, `models:/` and `mlflow-artifacts:` sources are not (their files,
/// if any, are the ones uploaded here).
pub fn fetched_elsewhere(source: &str) -> bool {
    const SCHEMES: [&str; 8] = [
        "s3://", "gs://", "wasbs://", "abfss://", "hdfs://", "dbfs:/", "https://", "http://",
    ];
    SCHEMES.iter().any(|s| source.starts_with(s)) && !source.chars().any(char::is_control)
}

/// One entry of a listing, as MLflow's `FileInfo`: `path` relative to the
/// listed directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub is_dir: bool,
    pub file_size: Option<i64>,
}

/// The direct children of `under` (the version's root when `None`) among a
/// version's files: files at that level, and each subdirectory once. When
/// `under` is itself a file, that file alone (MLflow's convention, which the
/// client reads as "a file, not a directory"). Sorted by path.
pub fn children<'a>(
    files: impl IntoIterator<Item = (&'a str, Option<i64>)>,
    under: Option<&ArtifactPath>,
) -> Vec<Entry> {
    let prefix = under.map(|p| format!("{}/", p.as_str()));
    let mut out: Vec<Entry> = Vec::new();
    for (path, size) in files {
        if let Some(dir) = under {
            if path == dir.as_str() {
                let name = dir.file_name().to_owned();
                return vec![Entry {
                    path: name,
                    is_dir: false,
                    file_size: size,
                }];
            }
        }
        let rest = match &prefix {
            Some(p) => match path.strip_prefix(p.as_str()) {
                Some(rest) => rest,
                None => continue,
            },
            None => path,
        };
        let entry = match rest.split_once('/') {
            Some((dir, _)) => Entry {
                path: dir.to_owned(),
                is_dir: true,
                file_size: None,
            },
            None => Entry {
                path: rest.to_owned(),
                is_dir: false,
                file_size: size,
            },
        };
        if !out.iter().any(|e| e.path == entry.path) {
            out.push(entry);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_and_files() {
        let a = ArtifactAddress::parse("models/fraud/1.2.0").unwrap();
        assert_eq!(a.model.as_str(), "fraud");
        assert_eq!(a.version.to_string(), "1.2.0");
        assert_eq!(a.inner, None);
        let a = ArtifactAddress::parse("/models/fraud/1.2.0/model/MLmodel/").unwrap();
        assert_eq!(a.inner.unwrap().as_str(), "model/MLmodel");
        assert_eq!(
            ArtifactAddress::uri("fraud", "1.2.0"),
            "mlflow-artifacts:/models/fraud/1.2.0"
        );
    }

    #[test]
    fn refuses_escapes_and_other_shapes_naming_the_field() {
        for bad in [
            "",
            "models",
            "models/fraud",
            "runs/abc/artifacts",
            "models/Fraud/1.0.0",
            "models/fraud/latest",
            "models/fraud/1.0.0/../../etc/passwd",
            "models/fraud/1.0.0/a//b",
            "models/fraud/1.0.0/./a",
            "models/fraud/1.0.0/a\\b",
            "models/fraud/1.0.0/a\u{0}b",
            "../models/fraud/1.0.0",
        ] {
            let err = ArtifactAddress::parse(bad).unwrap_err();
            assert_eq!(err.field, "path", "{bad:?}");
        }
    }

    #[test]
    fn object_store_sources_are_fetched_where_they_are() {
        assert!(fetched_elsewhere("s3://bucket/models/fraud/1"));
        assert!(fetched_elsewhere("gs://b/m"));
        assert!(fetched_elsewhere("https://example.com/m.tar"));
        for ours in [
            "",
            "runs:/abc/model",
            "models:/m/1",
            "mlflow-artifacts:/1/abc",
            "/tmp/x",
            "s3:/x",
        ] {
            assert!(!fetched_elsewhere(ours), "{ours}");
        }
    }

    fn files() -> Vec<(&'static str, Option<i64>)> {
        vec![
            ("MLmodel", Some(10)),
            ("python_model.pkl", Some(200)),
            ("code/a.py", Some(3)),
            ("code/lib/b.py", Some(4)),
            ("data/x.csv", Some(5)),
        ]
    }

    #[test]
    fn lists_one_level_with_directories_once() {
        let root = children(files(), None);
        let names: Vec<_> = root.iter().map(|e| (e.path.as_str(), e.is_dir)).collect();
        assert_eq!(
            names,
            [
                ("MLmodel", false),
                ("code", true),
                ("data", true),
                ("python_model.pkl", false)
            ]
        );
        assert_eq!(root[0].file_size, Some(10));
        let code = ArtifactPath::parse("code").unwrap();
        let sub: Vec<_> = children(files(), Some(&code))
            .into_iter()
            .map(|e| (e.path, e.is_dir))
            .collect();
        assert_eq!(sub, [("a.py".to_owned(), false), ("lib".to_owned(), true)]);
    }

    #[test]
    fn a_file_lists_as_itself_and_a_missing_directory_as_nothing() {
        let file = ArtifactPath::parse("code/lib/b.py").unwrap();
        assert_eq!(
            children(files(), Some(&file)),
            [Entry {
                path: "b.py".into(),
                is_dir: false,
                file_size: Some(4)
            }]
        );
        let none = ArtifactPath::parse("nope").unwrap();
        assert!(children(files(), Some(&none)).is_empty());
        // A prefix of a name is not a directory.
        let partial = ArtifactPath::parse("cod").unwrap();
        assert!(children(files(), Some(&partial)).is_empty());
    }
}
