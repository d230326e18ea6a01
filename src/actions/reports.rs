//! Server functions for point-in-time answers and the compliance report.

use leptos::prelude::*;

use crate::{
    dto::{ComplianceReport, StagesAt},
    error::AppError,
};

/// Parses an optional instant from a form or query field; blank means none.
#[cfg(feature = "ssr")]
pub fn optional_instant(raw: Option<String>, field: &'static str) -> Result<Option<i64>, AppError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<crate::domain::Instant>()
            .map(|i| Some(i.millis()))
            .map_err(|message| AppError::invalid(field, message)),
    }
}

/// Which version was in each stage at `at` (now when blank).
#[server(prefix = "/fn", endpoint = "reports/stages_at")]
pub async fn get_stages_at(name: String, at: Option<String>) -> Result<StagesAt, AppError> {
    use crate::server::{context, db::now_ms, services::reports};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let at = optional_instant(at, "at")?.unwrap_or_else(now_ms);
            reports::stages_at(&cx, &name, at).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "reports/compliance")]
pub async fn get_compliance_report(
    name: String,
    version: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<ComplianceReport, AppError> {
    use crate::{
        domain::SemVer,
        dto::ReportScope,
        server::{context, services::reports},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let scope = ReportScope {
                version: match version.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                    Some(v) => Some(SemVer::parse(v)?.to_string()),
                    None => None,
                },
                from: optional_instant(from, "from")?,
                to: optional_instant(to, "to")?,
            };
            reports::compliance_report(&cx, &name, scope).await
        }
        .await,
    )
}
