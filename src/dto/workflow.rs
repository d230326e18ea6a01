//! Promotion workflow views: requests, reviews, stage history, aliases,
//! policies and the CI/CD lookup answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ArtifactView, LineageView};
use crate::domain::{
    catalog::VersionStatus, ApprovalPolicy, Decision, PolicyOverride, RequestKind, RequestState,
    Stage,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReviewView {
    pub reviewer: String,
    pub decision: Decision,
    pub comment: String,
    pub at: i64,
    /// The version's content digest the sign-off was given on.
    pub content_digest: Option<String>,
}

/// A request as its reader may act on it: a stage change, or a move or
/// removal of a protected alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestView {
    pub id: i64,
    pub kind: RequestKind,
    pub model: String,
    /// The version moved (a stage request), pointed at (`alias.set`) or
    /// un-pointed (`alias.remove`).
    pub version: String,
    /// For a stage request the stages; for an alias request both are the
    /// version's stage when it was opened.
    pub from: Stage,
    pub to: Stage,
    /// The protected alias an alias request moves or removes.
    pub alias: Option<String>,
    /// The version the alias named when the request was opened.
    pub alias_previous: Option<String>,
    /// The version's content digest when the request was opened: what the
    /// approvers sign off.
    pub content_digest: Option<String>,
    pub state: RequestState,
    pub justification: String,
    pub requested_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Sign-offs needed, frozen when the request was opened.
    pub required: u8,
    pub approvals: u8,
    pub reviews: Vec<ReviewView>,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    pub close_note: Option<String>,
    /// Whether the reader may approve or reject it now.
    pub can_review: bool,
    /// Whether the reader may cancel it now.
    pub can_cancel: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestPage {
    pub requests: Vec<RequestView>,
    /// Pass as `before` to get the next (older) page; absent on the last.
    pub next_before: Option<i64>,
}

/// The metrics of one version, for side-by-side review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsOf {
    pub version: String,
    pub metrics: BTreeMap<String, f64>,
}

/// An inbox entry: the request with what a reviewer needs to judge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewCard {
    pub request: RequestView,
    pub lineage: LineageView,
    pub candidate: MetricsOf,
    /// The version in production now, if any and if it is another one.
    pub production: Option<MetricsOf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    /// Pending requests the reader could act on or watch, oldest first.
    pub pending: Vec<ReviewCard>,
    /// The reader's own requests, newest first.
    pub mine: Vec<RequestView>,
    pub can_approve: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StageEventView {
    /// Absent for the registration.
    pub from: Option<Stage>,
    pub to: Stage,
    pub by: String,
    pub reason: String,
    pub at: i64,
    pub request_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AliasView {
    pub alias: String,
    pub version: String,
    pub updated_by: String,
    pub updated_at: i64,
    /// Whether the policy protects it (moving it needs sign-off).
    pub protected: bool,
}

/// What asking to point (or remove) an alias did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AliasOutcome {
    /// An unprotected alias (or a protected one needing no sign-off): done.
    Moved { alias: Option<AliasView> },
    /// A protected alias: a request is open and waits for sign-off.
    Requested { request: RequestView },
}

/// Everything about a version's stage: history, open request, aliases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionWorkflow {
    pub history: Vec<StageEventView>,
    /// Every request, oldest first, with its reviews.
    pub requests: Vec<RequestView>,
    pub aliases: Vec<String>,
    /// The aliases of this version the policy protects.
    pub protected_aliases: Vec<String>,
    /// Sign-offs each target stage needs under the model's policy.
    pub required: Vec<(Stage, u8)>,
    pub can_request: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyView {
    pub registry: ApprovalPolicy,
    /// Per-model overrides, by model name.
    pub overrides: BTreeMap<String, PolicyOverride>,
}

/// The CI/CD answer: one version and its files, ready to download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResolvedVersion {
    pub model: String,
    pub version: String,
    pub seq: i64,
    pub stage: Stage,
    pub status: VersionStatus,
    pub commit_sha: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    /// What a pipeline should check it deploys: `sha256:…` over the
    /// version's files, lineage, parameters and training metrics.
    pub content_digest: Option<String>,
    pub artifacts: Vec<ArtifactView>,
}
