//! The promotion workflow, pure: which stage moves exist, how many sign-offs
//! each needs, and how a sign-off changes a pending request.
//!
//! Nothing here reads a clock or a database. The caller loads a
//! [`RequestSnapshot`] inside its transaction, passes `now` in milliseconds,
//! and acts on the returned [`Outcome`] or [`WorkflowError`]; that keeps every
//! rule testable here and identical on the server and in the wasm client.
//!
//! - `transition`: the stage state machine;
//! - `policy`: how many sign-offs each stage and protected alias needs;
//! - `request`: requests, their states and the decision rules.

mod policy;
mod request;
mod text;
mod transition;

pub use policy::{
    needs_approval, ApprovalPolicy, PolicyOverride, MAX_REQUEST_TTL_HOURS, MIN_REQUEST_TTL_HOURS,
};
pub use request::{
    can_cancel, can_open, decide, Decision, Lapse, Outcome, RequestKind, RequestSnapshot,
    RequestState, WorkflowError,
};
pub use text::{parse_comment, Justification, COMMENT_MAX_CHARS, JUSTIFICATION_MAX_CHARS};
pub use transition::{
    allowed_targets, step_towards, transition_allowed, Transition, TransitionError,
};
