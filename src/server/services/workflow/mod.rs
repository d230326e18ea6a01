//! The promotion workflow: opening, reviewing and cancelling transition
//! requests, and applying a stage change once the policy is met.
//!
//! Every write locks the model row first (`lookup::lock_model`: `FOR UPDATE`
//! on Postgres, the single writer on SQLite). Approvals of one request and
//! promotions of two versions of one model therefore run one after another,
//! and each sees what the previous one committed: a request is applied once,
//! and one version ends in production. Unique indexes (one open request per
//! version, one sign-off per reviewer, one production version per model)
//! back that up in the database.

mod apply;
mod common;
mod open;
mod review;

// The request texts parse in the domain; re-exported where the edges import them.
pub use crate::domain::{parse_comment, Justification, COMMENT_MAX_CHARS, JUSTIFICATION_MAX_CHARS};
pub(crate) use common::{decode, reload, view};
pub use common::{effective_policy, workflow_error};
pub(crate) use open::*;
pub(crate) use review::*;
