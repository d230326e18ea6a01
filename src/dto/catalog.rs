//! Catalog views sent to pages (and the JSON API).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{
    catalog::{ModelAbout, VersionStatus},
    CatalogQuery, Freeze, Stage,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelSummary {
    pub name: String,
    /// The first paragraph of the description as plain text, shortened.
    pub summary: String,
    pub team: String,
    pub tags: BTreeMap<String, String>,
    pub stages: Vec<Stage>,
    pub latest_version: Option<String>,
    pub version_count: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchPage {
    pub query: CatalogQuery,
    pub models: Vec<ModelSummary>,
    pub has_next: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VersionSummary {
    pub version: String,
    pub seq: i64,
    pub stage: Stage,
    pub status: VersionStatus,
    pub created_at: i64,
    pub created_by: String,
    pub headline: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelDetail {
    pub name: String,
    #[serde(flatten)]
    pub about: ModelAbout,
    /// Sanitized HTML rendered from `description` on the server.
    pub description_html: String,
    pub tags: BTreeMap<String, String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub headline_metric: Option<String>,
    pub metric_keys: Vec<String>,
    pub versions: Vec<VersionSummary>,
    pub can_edit: bool,
    /// Whether the reader may open the compliance report.
    pub can_audit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VersionRef {
    pub model: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LineageView {
    pub source_repo: Option<String>,
    pub commit_sha: Option<String>,
    pub training_script: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_version: Option<String>,
    pub dataset_uri: Option<String>,
    pub dataset_hash: Option<String>,
    pub parent: Option<VersionRef>,
    pub framework: Option<String>,
    pub framework_version: Option<String>,
    pub dependencies: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SeriesPoint {
    pub step: i64,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VersionDetail {
    pub model: String,
    pub version: String,
    pub seq: i64,
    pub stage: Stage,
    pub status: VersionStatus,
    pub description: String,
    pub description_html: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub lineage: LineageView,
    pub children: Vec<VersionRef>,
    pub params: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub series: BTreeMap<String, Vec<SeriesPoint>>,
    pub tags: BTreeMap<String, String>,
    /// The version's files, by path.
    pub artifacts: Vec<ArtifactView>,
    /// `sha256:…` over the version's release content (see the README).
    pub content_digest: Option<String>,
    /// Why its content can no longer change, when it cannot.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub frozen: Option<Freeze>,
    /// Results measured after registration, oldest first.
    pub evaluations: Vec<EvaluationView>,
    pub can_edit: bool,
}

/// A result measured after registration, on the content digest named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EvaluationView {
    pub id: i64,
    pub name: String,
    pub dataset: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    pub notes: String,
    pub content_digest: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareView {
    pub model: String,
    pub versions: Vec<VersionDetail>,
}

/// Formats a metric value compactly and identically on server and client.
pub fn format_metric(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs();
    if (1e-3..1e6).contains(&magnitude) {
        let s = format!("{value:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_owned()
    } else {
        format!("{value:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::format_metric;

    #[test]
    fn metrics_format_compactly() {
        assert_eq!(format_metric(0.0), "0");
        assert_eq!(format_metric(0.93120), "0.9312");
        assert_eq!(format_metric(12.5), "12.5");
        assert_eq!(format_metric(3.0), "3");
        assert_eq!(format_metric(-0.25), "-0.25");
        assert_eq!(format_metric(1.5e-5), "1.500e-5");
        assert_eq!(format_metric(2.5e7), "2.500e7");
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ArtifactView {
    /// Relative path inside the version.
    pub path: String,
    /// Bytes; absent for a link whose size was not given.
    pub size: Option<i64>,
    /// Hex SHA-256 of the content; absent for a link without a checksum.
    pub sha256: Option<String>,
    pub media_type: String,
    /// safetensors, onnx, pickle, pytorch, gguf or other.
    pub format: String,
    /// Pickle-based formats execute code when loaded.
    pub unsafe_to_load: bool,
    /// Set when the file lives elsewhere (a link, not an upload).
    pub external_uri: Option<String>,
    /// Where to download it from (our artifact endpoint).
    pub download_url: String,
    pub created_by: String,
    pub created_at: i64,
}

/// `1.5 GiB`, `312 KiB`, `12 B`.
pub fn format_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
