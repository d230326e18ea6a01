//! The pure domain: types and rules with no I/O. Everything here is parsed from
//! untrusted input at the edge and unit-tested exhaustively.

mod alias;
mod approvals;
mod artifact;
pub mod catalog;
mod content;
mod deployment;
mod evaluation;
mod instant;
// Server-only rules (the MLflow protocols, the sign-in throttle): pure like the
// rest, but nothing in the browser needs them, so they stay out of the wasm.
#[cfg(feature = "ssr")]
pub mod mlflow_artifacts;
#[cfg(feature = "ssr")]
pub mod mlflow_import;
#[cfg(feature = "ssr")]
pub mod mlflow_search;
#[cfg(feature = "ssr")]
pub mod mlflow_tracking;
mod model_name;
#[cfg(feature = "ssr")]
mod model_ref;
mod password;
#[cfg(feature = "ssr")]
pub mod receipt;
mod role;
mod search;
mod stage;
mod stored_enum;
#[cfg(feature = "ssr")]
mod throttle;
mod timeline;
mod user;
mod username;
mod version;
mod webhook;
mod workflow;

pub use alias::{
    check_rules, AliasName, AliasPattern, AliasRule, ALIAS_NAME_MAX_LEN, FIELD_PROTECTED_ALIASES,
    MAX_ALIAS_RULES,
};
pub use approvals::MAX_REQUIRED_APPROVALS;
pub use artifact::{media_type, parse_range, parse_sha256, ArtifactFormat, ArtifactPath};
pub use content::{
    ContentArtifact, ContentDigest, Freeze, LineageValue, ReleaseContent, CONTENT_SCHEMA,
};
pub use deployment::{
    serving_at, serving_spans, violation, DeploymentEvent, DeploymentReport, DeploymentReportForm,
    DeploymentState, EnvironmentForm, EnvironmentName, NewEnvironment, ReceiptId, ServingSpan,
    ENVIRONMENT_NAME_MAX_LEN,
};
pub use evaluation::{
    parse_metric_lines, NewEvaluation, EVALUATION_NAME_MAX_LEN, EVALUATION_NOTES_MAX_BYTES,
};
pub use instant::Instant;
pub use model_name::{ModelName, MODEL_NAME_MAX_LEN};
#[cfg(feature = "ssr")]
pub use model_ref::{ModelRef, VersionTarget};
pub use password::{Password, PASSWORD_MAX_LEN, PASSWORD_MIN_LEN};
pub use role::{Permission, Role, TokenScope};
pub use search::{CatalogQuery, Sort};
pub use stage::Stage;
pub use stored_enum::{DeliveryState, VerificationState};
#[cfg(feature = "ssr")]
pub use throttle::{
    account_delay, record_outcome, release, reserve, Counter, Limit, ThrottleLimits, Verdict,
};
pub use timeline::{spans_in, StageChange, StageSpan};
pub use user::{NewUser, UserChanges, UserEdit, UserForm};
pub use username::{Username, USERNAME_MAX_LEN};
pub use version::{next_version, Bump, SemVer, VersionRequirement};
pub use webhook::{
    address_allowed, parse_secret, NewWebhook, WebhookChanges, WebhookEdit, WebhookEvent,
    WebhookForm, WebhookUrl, SECRET_MAX_LEN, SECRET_MIN_LEN, WEBHOOK_DESCRIPTION_MAX_LEN,
    WEBHOOK_URL_MAX_LEN,
};
pub use workflow::{
    allowed_targets, can_cancel, can_open, decide, needs_approval, parse_comment, step_towards,
    transition_allowed, ApprovalPolicy, Decision, Justification, Lapse, Outcome, PolicyOverride,
    RequestKind, RequestSnapshot, RequestState, Transition, TransitionError, WorkflowError,
    COMMENT_MAX_CHARS, JUSTIFICATION_MAX_CHARS, MAX_REQUEST_TTL_HOURS, MIN_REQUEST_TTL_HOURS,
};

/// A validation failure that names the offending field, so the edge can
/// answer with a 4xx that tells the user what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
