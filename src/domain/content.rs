//! A version's *release content* and its digest: what an approver signs off
//! and what must never change afterwards.
//!
//! Content is the version's files (path, size, SHA-256, external URI), its
//! lineage, its hyperparameters and its training metrics (scalars and
//! series). Description, tags, stage and aliases are not content: they
//! describe the release, they are not the release.
//!
//! The digest is `sha256:` + the hex SHA-256 of the *canonical document*, a
//! JSON object serialised with
//! - keys in byte order at every level, no insignificant whitespace;
//! - `artifacts` sorted by path (byte order), each with `path` and, when
//!   known, `sha256`, `size` and `uri` (a linked file's external URI);
//! - `lineage` holding only the recorded fields (`commit_sha`, `dataset_hash`,
//!   `parent_version_id`, …), `params` and `metrics` as objects, `series` as
//!   `{"loss": [[step, value], …]}` sorted by step;
//! - numbers as serde_json prints them: integers plainly, floats in their
//!   shortest round-trip form (`0.5`, `1.0`, `1e-7`);
//! - `"schema": "model-registry/content/v1"`.
//!
//! `GET /api/v1/models/{m}/versions/{v}/content` serves that document, so
//! anyone can recompute the digest with `sha256sum`.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::{FieldError, Stage};

pub const CONTENT_SCHEMA: &str = "model-registry/content/v1";
const DIGEST_PREFIX: &str = "sha256:";

/// One file as it takes part in the digest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentArtifact {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// Everything the digest covers. Build it, then call [`ReleaseContent::canonical`].
///
/// Field order here is the byte order of the keys, which is what makes the
/// serialisation canonical (serde writes struct fields in declaration order,
/// and `BTreeMap` in key order).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReleaseContent {
    artifacts: Vec<ContentArtifact>,
    lineage: BTreeMap<String, LineageValue>,
    metrics: BTreeMap<String, f64>,
    params: BTreeMap<String, String>,
    schema: &'static str,
    series: BTreeMap<String, Vec<(i64, f64)>>,
}

/// Lineage values are text, except the parent's id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LineageValue {
    Text(String),
    Id(i64),
}

impl ReleaseContent {
    pub fn new() -> Self {
        Self {
            schema: CONTENT_SCHEMA,
            ..Self::default()
        }
    }

    pub fn artifact(&mut self, artifact: ContentArtifact) -> &mut Self {
        self.artifacts.push(artifact);
        self
    }

    /// Records a lineage field; absent and empty values are left out, so
    /// "not recorded" has one spelling.
    pub fn lineage_text(&mut self, field: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.lineage
                .insert(field.to_owned(), LineageValue::Text(value.to_owned()));
        }
        self
    }

    pub fn lineage_id(&mut self, field: &str, value: Option<i64>) -> &mut Self {
        if let Some(value) = value {
            self.lineage
                .insert(field.to_owned(), LineageValue::Id(value));
        }
        self
    }

    pub fn param(&mut self, key: &str, value: &str) -> &mut Self {
        self.params.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn metric(&mut self, key: &str, value: f64) -> &mut Self {
        self.metrics.insert(key.to_owned(), value);
        self
    }

    pub fn point(&mut self, key: &str, step: i64, value: f64) -> &mut Self {
        self.series
            .entry(key.to_owned())
            .or_default()
            .push((step, value));
        self
    }

    /// The canonical document (see the module docs).
    pub fn canonical(&self) -> String {
        let mut sorted = self.clone();
        sorted
            .artifacts
            .sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        for points in sorted.series.values_mut() {
            points.sort_by_key(|(step, _)| *step);
        }
        // Serialising plain data with string keys cannot fail; non-finite
        // floats (which serde_json writes as null) are refused at the edge.
        serde_json::to_string(&sorted).unwrap_or_default()
    }

    /// The digest of the canonical document.
    #[cfg(feature = "ssr")]
    pub fn digest(&self) -> ContentDigest {
        use sha2::{Digest, Sha256};
        ContentDigest(hex::encode(Sha256::digest(self.canonical().as_bytes())))
    }
}

/// `sha256:` followed by 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentDigest(String);

impl ContentDigest {
    /// Parses untrusted input (field `content_digest`). Hex digits may be in
    /// either case; the prefix is required so the algorithm is never guessed.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let error = || {
            FieldError::new(
                "content_digest",
                "must be sha256: followed by 64 hex digits",
            )
        };
        let hex = raw.trim().strip_prefix(DIGEST_PREFIX).ok_or_else(error)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(error());
        }
        Ok(Self(hex.to_ascii_lowercase()))
    }

    /// The 64 hex digits without the prefix.
    pub fn hex(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for people scanning a page.
    pub fn short(&self) -> String {
        format!("{DIGEST_PREFIX}{}", &self.0[..12])
    }
}

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DIGEST_PREFIX}{}", self.0)
    }
}

impl FromStr for ContentDigest {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ContentDigest {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ContentDigest> for String {
    fn from(value: ContentDigest) -> Self {
        value.to_string()
    }
}

// ---------------------------------------------------------------------------
// Freezing
// ---------------------------------------------------------------------------

/// Why a version's content may no longer change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Freeze {
    /// It is (or was) released: in Staging, Production or Archived.
    InStage { stage: Stage },
    /// A request to move it into Staging or Production is open: reviewers
    /// are judging exactly this content.
    UnderReview { request_id: i64, to: Stage },
}

impl Freeze {
    /// Whether content is frozen for a version in `stage`, given the target
    /// of its open stage request, if any. Archived stays frozen: a retired
    /// version is evidence, and it may come back through Staging.
    pub fn of(stage: Stage, open_request: Option<(i64, Stage)>) -> Option<Freeze> {
        match stage {
            Stage::Staging | Stage::Production | Stage::Archived => Some(Freeze::InStage { stage }),
            Stage::Experimental => match open_request {
                Some((request_id, to @ (Stage::Staging | Stage::Production))) => {
                    Some(Freeze::UnderReview { request_id, to })
                }
                _ => None,
            },
        }
    }
}

impl fmt::Display for Freeze {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Freeze::InStage { stage } => write!(f, "it is in {}", stage.title()),
            Freeze::UnderReview { request_id, to } => write!(
                f,
                "request #{request_id} to move it to {} is open",
                to.title()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReleaseContent {
        let mut c = ReleaseContent::new();
        c.artifact(ContentArtifact {
            path: "weights/model.safetensors".into(),
            sha256: Some("ab".repeat(32)),
            size: Some(1000),
            uri: None,
        })
        .artifact(ContentArtifact {
            path: "README.md".into(),
            sha256: None,
            size: None,
            uri: Some("s3://bucket/readme".into()),
        })
        .lineage_text("commit_sha", Some("abc123"))
        .lineage_text("dataset_hash", None)
        .lineage_text("framework", Some(""))
        .lineage_id("parent_version_id", Some(7))
        .param("lr", "0.01")
        .metric("auc", 0.5)
        .metric("acc", 1.0)
        .point("loss", 2, 0.25)
        .point("loss", 1, 0.5);
        c
    }

    #[test]
    fn the_canonical_document_is_sorted_and_compact() {
        assert_eq!(
            sample().canonical(),
            concat!(
                r#"{"artifacts":[{"path":"README.md","uri":"s3://bucket/readme"},"#,
                r#"{"path":"weights/model.safetensors","sha256":"abababababababababababababababababababababababababababababababab","size":1000}],"#,
                r#""lineage":{"commit_sha":"abc123","parent_version_id":7},"#,
                r#""metrics":{"acc":1.0,"auc":0.5},"params":{"lr":"0.01"},"#,
                r#""schema":"model-registry/content/v1","series":{"loss":[[1,0.5],[2,0.25]]}}"#
            )
        );
    }

    #[test]
    fn insertion_order_does_not_matter() {
        let mut other = ReleaseContent::new();
        other
            .point("loss", 1, 0.5)
            .point("loss", 2, 0.25)
            .metric("acc", 1.0)
            .metric("auc", 0.5)
            .param("lr", "0.01")
            .lineage_id("parent_version_id", Some(7))
            .lineage_text("commit_sha", Some("abc123"))
            .artifact(ContentArtifact {
                path: "README.md".into(),
                sha256: None,
                size: None,
                uri: Some("s3://bucket/readme".into()),
            })
            .artifact(ContentArtifact {
                path: "weights/model.safetensors".into(),
                sha256: Some("ab".repeat(32)),
                size: Some(1000),
                uri: None,
            });
        assert_eq!(other.canonical(), sample().canonical());
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn every_part_of_the_content_changes_the_digest() {
        let base = sample().digest();
        let changes: [fn(&mut ReleaseContent); 6] = [
            |c| {
                c.artifact(ContentArtifact {
                    path: "extra.bin".into(),
                    sha256: None,
                    size: Some(1),
                    uri: None,
                });
            },
            |c| {
                c.lineage_text("dataset_hash", Some("h"));
            },
            |c| {
                c.param("lr", "0.02");
            },
            |c| {
                c.metric("auc", 0.51);
            },
            |c| {
                c.point("loss", 3, 0.1);
            },
            |c| {
                c.lineage_id("parent_version_id", Some(8));
            },
        ];
        for change in changes {
            let mut c = sample();
            change(&mut c);
            assert_ne!(c.digest(), base);
        }
        assert_eq!(sample().digest(), base);
        // An empty version has a digest too, and it is stable.
        assert_eq!(
            ReleaseContent::new().digest(),
            ReleaseContent::new().digest()
        );
    }

    #[test]
    fn digests_parse_strictly() {
        let hex = "0123456789abcdef".repeat(4);
        let d = ContentDigest::parse(&format!("sha256:{hex}")).unwrap();
        assert_eq!(d.to_string(), format!("sha256:{hex}"));
        assert_eq!(d.short(), "sha256:0123456789ab");
        let upper = ContentDigest::parse(&format!(" sha256:{} ", hex.to_uppercase())).unwrap();
        assert_eq!(upper, d);
        for bad in [
            hex.clone(),
            format!("sha1:{hex}"),
            format!("sha256:{}", &hex[1..]),
            format!("sha256:{hex}0"),
            format!("sha256:{}g", &hex[1..]),
            String::new(),
        ] {
            assert_eq!(
                ContentDigest::parse(&bad).unwrap_err().field,
                "content_digest",
                "{bad}"
            );
        }
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<ContentDigest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<ContentDigest>("\"sha256:xyz\"").is_err());
    }

    #[test]
    fn released_and_reviewed_versions_are_frozen() {
        use Stage::*;
        for stage in [Staging, Production, Archived] {
            assert_eq!(
                Freeze::of(stage, None),
                Some(Freeze::InStage { stage }),
                "{stage}"
            );
        }
        assert_eq!(Freeze::of(Experimental, None), None);
        assert_eq!(Freeze::of(Experimental, Some((3, Archived))), None);
        assert_eq!(
            Freeze::of(Experimental, Some((3, Staging))),
            Some(Freeze::UnderReview {
                request_id: 3,
                to: Staging
            })
        );
        assert_eq!(
            Freeze::of(Experimental, Some((4, Production))).map(|f| f.to_string()),
            Some("request #4 to move it to Production is open".into())
        );
        assert_eq!(
            Freeze::of(Production, None).map(|f| f.to_string()),
            Some("it is in Production".into())
        );
    }
}
