//! Environments, what they served, and the answers built on that: "what
//! served E at T", attribution, and dataset impact.

use serde::{Deserialize, Serialize};

use super::VersionRef;
use crate::domain::{DeploymentState, ServingSpan, Stage};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EnvironmentView {
    pub name: String,
    /// The stage a version must be in to run here.
    pub required_stage: Stage,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
}

/// One deployment report as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeploymentView {
    pub id: i64,
    pub environment: String,
    pub model: String,
    pub version: String,
    pub state: DeploymentState,
    /// When the environment started (or stopped) serving it.
    pub at: i64,
    /// The version's stage at `at`.
    pub stage: Stage,
    /// Why the version should not have run there; `None` when it could.
    pub violation: Option<String>,
    pub content_digest: Option<String>,
    pub receipt_id: Option<String>,
    pub reported_by: String,
    pub reported_at: i64,
}

/// An environment's timeline: the spans each version served, and the
/// reports they come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EnvironmentTimeline {
    pub environment: EnvironmentView,
    pub spans: Vec<ServingSpan>,
    pub reports: Vec<DeploymentView>,
}

/// What served in an environment at one instant: one span per model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServingAt {
    pub environment: String,
    pub at: i64,
    pub serving: Vec<ServingSpan>,
}

/// A stay in an environment of a version trained on the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImpactedSpan {
    pub environment: String,
    pub span: ServingSpan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DatasetImpact {
    pub dataset_hash: String,
    /// Every live version trained on it, directly or through parents.
    pub trained: Vec<VersionRef>,
    /// Every stay of one of them in an environment, by environment and model.
    pub served: Vec<ImpactedSpan>,
}

/// A model's deployments, per environment it ever ran in (the model page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelEnvironment {
    pub environment: EnvironmentView,
    pub spans: Vec<ServingSpan>,
    /// The reports flagged as violations.
    pub violations: Vec<DeploymentView>,
}

/// Where a timeline drawn without a clock ends: a little past the last
/// instant any span names, so open spans show as running on. The same on
/// the server and in the browser (hydration must match).
pub fn timeline_end(environments: &[ModelEnvironment]) -> i64 {
    let instants = environments
        .iter()
        .flat_map(|e| e.spans.iter())
        .flat_map(|s| [Some(s.from), s.until].into_iter().flatten());
    let (min, max) = instants.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if max < min {
        return 0;
    }
    const MINUTE: i64 = 60_000;
    max.saturating_add(((max - min) / 5).max(MINUTE))
}
