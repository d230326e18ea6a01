//! The compliance report and point-in-time answers. The report's JSON form
//! is a documented, stable schema (`schema` names its version): fields are
//! only ever added, never renamed or removed, within one schema version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{EvaluationView, LineageView, RequestView};
use crate::domain::{Stage, StageSpan};

pub const REPORT_SCHEMA: &str = "model-registry/compliance-report/v1";

/// Which version was in each stage at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StagesAt {
    pub model: String,
    /// The instant asked about (milliseconds since the Unix epoch, UTC).
    pub at: i64,
    /// Stage → the versions in it then, with when each entered it. Every
    /// stage is present; Production holds at most one version.
    pub stages: BTreeMap<Stage, Vec<VersionInStage>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VersionInStage {
    pub version: String,
    pub since: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ComplianceReport {
    /// `model-registry/compliance-report/v1`.
    pub schema: String,
    pub generated_at: i64,
    pub generated_by: String,
    pub scope: ReportScope,
    pub model: ReportModel,
    /// Every stay of a version in Production that overlaps the scope, oldest first.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Object>))]
    pub production_timeline: Vec<StageSpan>,
    /// Every stage change in scope, oldest first.
    pub stage_changes: Vec<ReportStageChange>,
    /// The versions in scope that reached Staging or Production.
    pub versions: Vec<ReportVersion>,
    pub audit_chain: ChainStatus,
    /// Per environment the model ran in: what served when (spans that
    /// overlap the scope) and the reports flagged as violations.
    #[serde(default)]
    pub deployments: Vec<super::ModelEnvironment>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportScope {
    pub version: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportModel {
    pub name: String,
    pub description: String,
    pub team: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportStageChange {
    pub version: String,
    pub from: Option<Stage>,
    pub to: Stage,
    pub by: String,
    pub at: i64,
    pub reason: String,
    pub request_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportVersion {
    pub version: String,
    pub seq: i64,
    /// The stage now (not at the end of the scope).
    pub stage: Stage,
    pub created_by: String,
    pub created_at: i64,
    pub lineage: LineageView,
    pub params: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub artifacts: Vec<ReportArtifact>,
    /// Every request about the version with its reviews (each naming the
    /// content digest it was given on): the approval trail.
    pub requests: Vec<RequestView>,
    /// The digest of the version's content now; compare it with the
    /// digest each approval was given on.
    pub content_digest: Option<String>,
    /// Results measured after registration.
    pub evaluations: Vec<EvaluationView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportArtifact {
    pub path: String,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub external_uri: Option<String>,
    /// Who added the file, and when.
    pub created_by: String,
    pub created_at: i64,
}

/// The audit trail's hash chain, checked when the report was generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChainStatus {
    pub intact: bool,
    pub events_checked: u64,
    /// The id of the first event whose hash or link does not match.
    pub first_broken_id: Option<i64>,
    /// The chain compared with the newest signed checkpoints published
    /// outside the database: what was found deleted or rewritten.
    #[serde(default)]
    pub checkpoint_problems: Vec<String>,
    /// The newest checkpoint: "N events, head #id, signed at T".
    #[serde(default)]
    pub newest_checkpoint: Option<String>,
}

/// The evidence for one version that served at the instant asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttributedVersion {
    pub model: String,
    pub span: crate::domain::ServingSpan,
    /// The report that opened the span.
    pub deployment: super::DeploymentView,
    /// Lineage, parameters, metrics, artifact digests and the approval trail.
    pub version: ReportVersion,
    /// The release receipt the deployment named, as issued (a DSSE
    /// envelope, JSON text), when it named one.
    pub receipt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Attribution {
    pub environment: super::EnvironmentView,
    pub at: i64,
    /// Empty when nothing served then.
    pub answers: Vec<AttributedVersion>,
    pub generated_at: i64,
    pub generated_by: String,
}
