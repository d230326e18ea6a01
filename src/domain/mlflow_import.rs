//! The rules of `model-registry import-mlflow`: which models a `--models`
//! pattern selects, the semver an imported version gets, and where an
//! MLflow server keeps a version's files.

use crate::domain::{FieldError, SemVer};

/// `--models`: a glob over model names (`*` any run, `?` one character);
/// `None` selects every model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern(Option<Vec<char>>);

impl NamePattern {
    pub fn parse(raw: Option<&str>) -> Result<Self, FieldError> {
        match raw.map(str::trim) {
            None | Some("") | Some("*") => Ok(Self(None)),
            Some(p) if p.chars().count() > 256 || p.chars().any(char::is_control) => {
                Err(FieldError::new(
                    "--models",
                    "must be a name pattern of at most 256 characters",
                ))
            }
            Some(p) => Ok(Self(Some(p.chars().collect()))),
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        let Some(pattern) = &self.0 else { return true };
        let name: Vec<char> = name.chars().collect();
        // Iterative glob matching with one backtrack point: linear in
        // practice, no recursion for hostile patterns.
        let (mut p, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, n));
                    p += 1;
                }
                Some(c) if *c == '?' || *c == name[n] => {
                    p += 1;
                    n += 1;
                }
                _ => match star {
                    Some((sp, sn)) => {
                        p = sp + 1;
                        n = sn + 1;
                        star = Some((sp, sn + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|c| *c == '*')
    }
}

/// An imported version's semver: its `mlflow.semver` tag when it has a
/// valid one (it came from this registry's MLflow API), else `0.0.N`, what
/// this registry's MLflow API gives version N of a model made through it.
pub fn imported_semver(tag: Option<&str>, number: i64) -> Result<SemVer, FieldError> {
    match tag.and_then(|t| SemVer::parse(t).ok()) {
        Some(v) => Ok(v),
        None => SemVer::parse(&format!("0.0.{number}")),
    }
}

/// Where an MLflow server's `get-download-uri` says a version's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFiles {
    /// Served by the MLflow server itself (`mlflow-artifacts:/<path>`):
    /// copied through its artifact API.
    Served(String),
    /// Anywhere else (`s3://…`, a local path on the MLflow host): not copied;
    /// the version keeps the URI as its source.
    Elsewhere(String),
}

impl SourceFiles {
    pub fn of(uri: &str) -> Self {
        let Some(rest) = uri.strip_prefix("mlflow-artifacts:") else {
            return Self::Elsewhere(uri.to_owned());
        };
        // `mlflow-artifacts://host:port/path` names the server; the path follows.
        let path = match rest.strip_prefix("//") {
            Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
            None => rest,
        };
        Self::Served(path.trim_matches('/').to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_select_models_by_glob() {
        let all = NamePattern::parse(None).unwrap();
        assert!(all.matches("anything"));
        let fraud = NamePattern::parse(Some("fraud-*")).unwrap();
        assert!(fraud.matches("fraud-eu") && fraud.matches("fraud-"));
        assert!(!fraud.matches("churn") && !fraud.matches("xfraud-eu"));
        let one = NamePattern::parse(Some("m?")).unwrap();
        assert!(one.matches("m1") && !one.matches("m12") && !one.matches("m"));
        let inner = NamePattern::parse(Some("*-eu-*")).unwrap();
        assert!(inner.matches("fraud-eu-v2") && !inner.matches("fraud-us-v2"));
        let exact = NamePattern::parse(Some("fraud")).unwrap();
        assert!(exact.matches("fraud") && !exact.matches("fraud2"));
        // A pathological pattern stays quick.
        let hostile = NamePattern::parse(Some(&"*a".repeat(100))).unwrap();
        assert!(!hostile.matches(&"a".repeat(99)));
        assert!(NamePattern::parse(Some(&"x".repeat(257))).is_err());
        assert!(NamePattern::parse(Some("a\u{0}")).is_err());
    }

    #[test]
    fn imported_versions_keep_a_semver_tag_or_take_their_number() {
        let v = |tag, n| imported_semver(tag, n).unwrap().to_string();
        assert_eq!(v(Some("2.1.0"), 3), "2.1.0");
        assert_eq!(v(Some("not semver"), 3), "0.0.3");
        assert_eq!(v(None, 12), "0.0.12");
    }

    #[test]
    fn served_files_are_copied_and_others_are_left_where_they_are() {
        assert_eq!(
            SourceFiles::of("mlflow-artifacts:/0/models/m-1/artifacts"),
            SourceFiles::Served("0/models/m-1/artifacts".into())
        );
        assert_eq!(
            SourceFiles::of("mlflow-artifacts://mlflow:5000/1/abc/artifacts/model"),
            SourceFiles::Served("1/abc/artifacts/model".into())
        );
        assert_eq!(
            SourceFiles::of("s3://bucket/k"),
            SourceFiles::Elsewhere("s3://bucket/k".into())
        );
    }
}
