//! Services: one function per use case. Each authorizes, validates, and
//! commits its change together with its audit event in one transaction.

pub mod alias_moves;
pub mod aliases;
pub mod anchors;
pub mod artifact_parts;
mod artifact_stream;
pub mod artifacts;
pub mod audit_log;
pub mod catalog;
pub mod content;
mod ctx;
pub mod deployments;
pub mod evaluations;
pub mod lookup;
pub mod mlflow;
pub mod ops;
pub mod receipts;
pub mod reports;
pub mod sessions;
pub mod tags;
pub mod tokens;
pub mod tracking;
pub mod users;
pub mod version_evidence;
pub mod webhooks;
pub mod workflow;
pub mod workflow_views;

pub use ctx::Ctx;

use serde_json::Value;

use crate::{
    error::AppError,
    server::{
        db::{now_ms, Tx},
        repo::audit::{self, Actor, NewEvent, Origin},
        state::AppState,
    },
};

/// Appends an audit event inside `tx`.
pub async fn audit(
    tx: &mut Tx,
    actor: Option<&Actor>,
    origin: &Origin,
    action: &str,
    target: (&str, &str),
    details: Value,
) -> Result<(), AppError> {
    let event = NewEvent {
        actor,
        origin,
        action,
        target_type: target.0,
        target_id: target.1,
        details,
    };
    audit::record(tx, event, now_ms())
        .await
        .map_err(AppError::from)
}

pub async fn begin(state: &AppState) -> Result<Tx, AppError> {
    state.db.begin().await.map_err(AppError::from)
}

pub async fn commit(tx: Tx) -> Result<(), AppError> {
    tx.commit().await.map_err(AppError::from)
}

/// Decodes a stored enum (stage, state, kind). A value the code does not
/// know is an error naming what it is, never read as some default: in an
/// audit product a corrupt row must be noticed.
pub(crate) fn stored<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| {
        tracing::error!(what, raw, "unparseable value in the database");
        AppError::Internal
    })
}
