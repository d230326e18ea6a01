use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    dto::{AuditPage, ChainStatus},
    error::AppError,
};

/// The audit page's filters, as they travel in its query string. Empty
/// strings mean "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub model: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<u32>,
}

/// One page of the audit trail, newest first.
#[server(prefix = "/fn", endpoint = "audit/list")]
pub async fn list_audit_events(
    #[server(default)] query: AuditQuery,
) -> Result<AuditPage, AppError> {
    use crate::{
        actions::reports::optional_instant,
        dto::AuditEventView,
        server::{context, repo::audit::EventFilter, services::audit_log},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let clean = |s: Option<String>, field: &str| -> Result<Option<String>, AppError> {
                match s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
                    Some(s) if s.len() > 128 => {
                        Err(AppError::invalid(field, "must be at most 128 characters"))
                    }
                    other => Ok(other),
                }
            };
            let filter = EventFilter {
                actor: clean(query.actor, "actor")?,
                action_prefix: clean(query.action, "action")?,
                model: clean(query.model, "model")?,
                from: optional_instant(query.from, "from")?,
                to: optional_instant(query.to, "to")?,
                ..EventFilter::default()
            };
            let page = query.page.unwrap_or(1).clamp(1, 100_000);
            let mut rows = audit_log::list(&cx, &filter, page).await?;
            let has_next = rows.len() > audit_log::PAGE_SIZE as usize;
            rows.truncate(audit_log::PAGE_SIZE as usize);
            Ok(AuditPage {
                events: rows
                    .into_iter()
                    .map(|r| AuditEventView {
                        id: r.id,
                        at: r.at,
                        actor: r.actor_username,
                        via_token: r.actor_token_id.is_some(),
                        action: r.action,
                        target_type: r.target_type,
                        target_id: r.target_id,
                        details: r.details,
                        client_addr: r.client_addr,
                    })
                    .collect(),
                page,
                has_next,
            })
        }
        .await,
    )
}

/// Recomputes the hash chain of the whole trail.
#[server(prefix = "/fn", endpoint = "audit/verify")]
pub async fn verify_audit_chain() -> Result<ChainStatus, AppError> {
    use crate::server::{
        context,
        services::{anchors, audit_log},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let report = audit_log::verify(&cx).await?;
            let anchored = anchors::verify(&cx).await?;
            Ok(ChainStatus {
                intact: report.first_broken_id.is_none() && anchored.intact,
                events_checked: report.checked,
                first_broken_id: report.first_broken_id,
                newest_checkpoint: anchored
                    .newest
                    .map(|c| format!("{} events, head #{}, signed {}", c.events, c.head_id, c.at)),
                checkpoint_problems: anchored.problems,
            })
        }
        .await,
    )
}
