use leptos::prelude::*;

use crate::{dto::AuditPage, error::AppError};

/// One page of the audit trail, newest first. Filters are optional; empty
/// strings mean "any".
#[server(prefix = "/fn", endpoint = "audit/list")]
pub async fn list_audit_events(
    actor: Option<String>,
    action: Option<String>,
    page: Option<u32>,
) -> Result<AuditPage, AppError> {
    use crate::{
        dto::AuditEventView,
        server::{context, repo::audit::EventFilter, services::audit_log},
    };
    context::respond(
        async move {
            let principal = context::require_principal().await?;
            let clean = |s: Option<String>, field: &str| -> Result<Option<String>, AppError> {
                match s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
                    Some(s) if s.len() > 128 => {
                        Err(AppError::invalid(field, "must be at most 128 characters"))
                    }
                    other => Ok(other),
                }
            };
            let filter = EventFilter {
                actor: clean(actor, "actor")?,
                action_prefix: clean(action, "action")?,
                ..EventFilter::default()
            };
            let page = page.unwrap_or(1).clamp(1, 100_000);
            let mut rows = audit_log::list(&context::state()?, &principal, &filter, page).await?;
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
