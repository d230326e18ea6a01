//! Writing an alias move: the row, its audit event and its webhook, in the
//! caller's transaction. The one place an alias changes, whether directly
//! (an unprotected alias), by an approved request, or because its version
//! was deleted; callers decide *whether* it may move, this records *that* it did.

use serde_json::json;

use super::audit;
use crate::{
    domain::{AliasName, WebhookEvent},
    error::AppError,
    server::{
        db::Tx,
        repo::{
            aliases,
            audit::{Actor, Origin},
            models::ModelRow,
            workflow as workflow_repo,
        },
    },
};

/// One alias change about to be written.
pub(crate) struct AliasMove<'a> {
    pub model: &'a ModelRow,
    pub alias: &'a AliasName,
    /// The version to point at (id, version string); `None` removes it.
    pub to: Option<(i64, &'a str)>,
    pub actor: Option<&'a Actor>,
    pub by: &'a str,
    /// The approved request that moved it, if any.
    pub request_id: Option<i64>,
    /// Why, when the registry itself moved it (a deleted version).
    pub reason: Option<&'a str>,
}

/// Writes the move; returns whether anything changed (pointing an alias
/// where it already points, or removing an absent one, records nothing).
pub(crate) async fn write(
    tx: &mut Tx,
    origin: &Origin,
    m: AliasMove<'_>,
    now: i64,
) -> Result<bool, AppError> {
    let before = match m.to {
        Some((version_id, _)) => {
            let before =
                aliases::set(tx, m.model.id, m.alias.as_str(), version_id, m.by, now).await?;
            if before == Some(version_id) {
                return Ok(false);
            }
            before
        }
        None => match aliases::delete(tx, m.model.id, m.alias.as_str()).await? {
            Some(id) => Some(id),
            None => return Ok(false),
        },
    };
    let previous = match before {
        Some(id) => workflow_repo::version_string(tx, id).await?,
        None => None,
    };
    let to = m.to.map(|(_, version)| version);
    let (action, details) = match to {
        Some(to) => (
            "alias.set",
            json!({ "alias": m.alias.as_str(), "from": previous, "to": to,
                    "request_id": m.request_id, "reason": m.reason }),
        ),
        None => (
            "alias.delete",
            json!({ "alias": m.alias.as_str(), "from": previous,
                    "request_id": m.request_id, "reason": m.reason }),
        ),
    };
    audit(
        tx,
        m.actor,
        origin,
        action,
        ("model", &m.model.name),
        details,
    )
    .await?;
    let event = json!({
        "model": m.model.name, "alias": m.alias.as_str(), "from": previous, "to": to,
        "moved_by": m.by, "request_id": m.request_id,
    });
    crate::server::events::emit(tx, WebhookEvent::AliasMoved, event, now).await?;
    Ok(true)
}
