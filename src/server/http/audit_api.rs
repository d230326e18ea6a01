//! REST API for auditors: the audit trail (list, verify, streaming export),
//! point-in-time stage answers, and the compliance report.

use axum::{
    body::Body,
    extract::{Path, RawQuery},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{desc, errors::ErrorBody, params::Query};
use crate::server::services::Ctx;
use crate::{
    domain::SemVer,
    dto::{ComplianceReport, ReportScope, StagesAt},
    error::AppError,
    server::{
        export::{self, ExportFormat},
        repo::audit::EventFilter,
        services::{audit_log, reports},
        state::AppState,
    },
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list_events))
        .route("/audit/verify", get(verify))
        .route(
            "/audit/verify/full",
            axum::routing::post(start_full_verification),
        )
        .route("/audit/verify/jobs/{id}", get(verification_job))
        .route("/audit/export", get(export_events))
        .route("/models/{name}/stages", get(stages_at))
        .route("/models/{name}/report", get(report))
}

impl Query {
    fn filter(&self) -> Result<EventFilter, AppError> {
        let filter = EventFilter {
            actor: self.text("actor")?,
            action_prefix: self.text("action")?,
            model: self.text("model")?,
            from: self.instant("from")?,
            to: self.instant("to")?,
            ..EventFilter::default()
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from >= to {
                return Err(AppError::invalid("to", "must be later than `from`"));
            }
        }
        Ok(filter)
    }
}

const FILTER_KEYS: [&str; 5] = ["actor", "action", "model", "from", "to"];

#[derive(Serialize, ToSchema)]
struct EventPage {
    /// Events, newest first; see the export for the fields.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Value>,
    page: u32,
    has_next: bool,
}

/// Audit events, newest first, 50 per page
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(
        ("actor" = Option<String>, Query, description = "Username"),
        ("action" = Option<String>, Query, description = "Action prefix, e.g. `stage.` or `user.`"),
        ("model" = Option<String>, Query, description = "Events about this model, its versions and files"),
        ("from" = Option<String>, Query, description = "Inclusive start: RFC 3339, `YYYY-MM-DD` (UTC) or Unix ms"),
        ("to" = Option<String>, Query, description = "Exclusive end, same forms"),
        ("page" = Option<u32>, Query, description = "1-based"),
    ),
    responses(
        (status = 200, description = "One page of events", body = EventPage),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_events(cx: Ctx, RawQuery(raw): RawQuery) -> Result<Json<EventPage>, AppError> {
    let mut keys = FILTER_KEYS.to_vec();
    keys.push("page");
    let q = Query::parse(raw.as_deref(), &keys)?;
    let page = match q.text("page")? {
        None => 1,
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| AppError::invalid("page", "must be a page number from 1"))?,
    };
    let mut rows = audit_log::list(&cx, &q.filter()?, page).await?;
    let has_next = rows.len() > audit_log::PAGE_SIZE as usize;
    rows.truncate(audit_log::PAGE_SIZE as usize);
    Ok(Json(EventPage {
        events: rows.iter().map(export::audit_json).collect(),
        page,
        has_next,
    }))
}

#[derive(Serialize, ToSchema)]
struct VerifyReport {
    intact: bool,
    events_checked: u64,
    /// The first event whose hash or link to its predecessor does not match.
    first_broken_id: Option<i64>,
}

/// Verifies the audit trail's hash chain since the last checkpoint
///
/// Resumes from the newest verified checkpoint (and checks that the event
/// it ended on still carries the hash it had), so the cost is the number of
/// events since. `events_checked` counts the whole chain. `?full=true`
/// recomputes every event from genesis instead (what catches an edit behind
/// the checkpoint); for long chains start that in the background with
/// `POST /audit/verify/full`.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    params(("full" = Option<bool>, Query, description = "Verify from genesis rather than from the last checkpoint")),
    responses(
        (status = 400, description = "An unknown parameter, or `full` not true/false", body = ErrorBody),
        (status = 200, description = "The verdict; `intact: false` names the first broken event", body = VerifyReport),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn verify(cx: Ctx, RawQuery(raw): RawQuery) -> Result<Json<VerifyReport>, AppError> {
    let q = Query::parse(raw.as_deref(), &["full"])?;
    let full = match q.text("full")?.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::invalid("full", "must be true or false")),
    };
    let report = if full {
        audit_log::verify_full(&cx).await?
    } else {
        audit_log::verify(&cx).await?
    };
    Ok(Json(VerifyReport {
        intact: report.first_broken_id.is_none(),
        events_checked: report.checked,
        first_broken_id: report.first_broken_id,
    }))
}

/// A full re-verification's progress.
#[derive(Serialize, ToSchema)]
struct VerifyJob {
    id: i64,
    started_by: String,
    started_at: i64,
    state: crate::domain::VerificationState,
    /// Events in the chain when the job started.
    total: i64,
    checked: i64,
    first_broken_id: Option<i64>,
    finished_at: Option<i64>,
}

impl From<crate::server::repo::audit::VerifyJobRow> for VerifyJob {
    fn from(r: crate::server::repo::audit::VerifyJobRow) -> Self {
        Self {
            id: r.id,
            started_by: r.started_by,
            started_at: r.started_at,
            state: r.state,
            total: r.total,
            checked: r.checked,
            first_broken_id: r.first_broken_id,
            finished_at: r.finished_at,
        }
    }
}

/// Starts a full re-verification of the chain from genesis, in the background
#[utoipa::path(
    post,
    path = "/api/v1/audit/verify/full",
    tag = "audit",
    responses(
        (status = 202, description = "Started; follow its progress at `/audit/verify/jobs/{id}`", body = VerifyJob),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn start_full_verification(cx: Ctx) -> Result<impl IntoResponse, AppError> {
    let job = audit_log::start_full_verification(&cx).await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(VerifyJob::from(job))))
}

/// A full re-verification's progress and verdict
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify/jobs/{id}",
    tag = "audit",
    params(("id" = i64, Path, description = "The job")),
    responses(
        (status = 200, description = "Its state", body = VerifyJob),
        (status = 400, description = "`id` is not a number", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn verification_job(
    cx: Ctx,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<VerifyJob>, AppError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| AppError::invalid("id", "must be a job number"))?;
    Ok(Json(audit_log::job(&cx, id).await?.into()))
}

fn format_param(q: &Query, allowed: &[&'static str]) -> Result<&'static str, AppError> {
    match q.text("format")? {
        None => Ok(allowed[0]),
        Some(f) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&f))
            .copied()
            .ok_or_else(|| {
                AppError::invalid("format", format!("must be one of {}", allowed.join(", ")))
            }),
    }
}

fn attachment(content_type: &str, filename: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Streams the audit trail, oldest first, as CSV or a JSON array
///
/// Constant memory on the server whatever the range: rows are read and
/// sent in pages. Each event carries its `prev_hash` and `hash`, so the
/// chain can be checked independently.
#[utoipa::path(
    get,
    path = "/api/v1/audit/export",
    tag = "audit",
    params(
        ("format" = Option<String>, Query, description = "`csv` (default) or `json`"),
        ("actor" = Option<String>, Query, description = "Username"),
        ("action" = Option<String>, Query, description = "Action prefix"),
        ("model" = Option<String>, Query, description = "Events about this model"),
        ("from" = Option<String>, Query, description = "Inclusive start"),
        ("to" = Option<String>, Query, description = "Exclusive end"),
    ),
    responses(
        (status = 200, description = "The events, streamed", content_type = "text/csv"),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn export_events(cx: Ctx, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    let mut keys = FILTER_KEYS.to_vec();
    keys.push("format");
    let q = Query::parse(raw.as_deref(), &keys)?;
    let format = format_param(&q, &["csv", "json"])?;
    let filter = q.filter()?;
    let (format, content_type) = match format {
        "json" => (ExportFormat::Json, "application/json"),
        _ => (ExportFormat::Csv, "text/csv; charset=utf-8"),
    };
    let stream = audit_log::export(&cx, filter, format)?;
    let filename = format!(
        "audit-events.{}",
        if format == ExportFormat::Json {
            "json"
        } else {
            "csv"
        }
    );
    Ok(attachment(
        content_type,
        &filename,
        Body::from_stream(stream),
    ))
}

/// Which version was in each stage at an instant
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/stages",
    tag = "lookups",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("at" = Option<String>, Query, description = "RFC 3339, `YYYY-MM-DD` (UTC) or Unix ms; now when absent. A change is in effect from its own millisecond."),
    ),
    responses(
        (status = 200, description = "Every stage with the versions in it then", body = StagesAt),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn stages_at(
    cx: Ctx,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<StagesAt>, AppError> {
    let q = Query::parse(raw.as_deref(), &["at"])?;
    let at = q.instant("at")?.unwrap_or_else(crate::server::db::now_ms);
    Ok(Json(reports::stages_at(&cx, &name, at).await?))
}

/// The compliance report of a model (auditors and admins)
///
/// Identity, Production timeline, lineage, hyperparameters, metrics and
/// artifact checksums of every version that reached Staging or Production,
/// the approval trail, and the audit chain's verification. The JSON form
/// follows the schema `model-registry/compliance-report/v1`.
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/report",
    tag = "audit",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("format" = Option<String>, Query, description = "`json` (default), `csv` or `html` (a printable page)"),
        ("version" = Option<String>, Query, description = "Only this version"),
        ("from" = Option<String>, Query, description = "Inclusive start of the period"),
        ("to" = Option<String>, Query, description = "Exclusive end of the period"),
    ),
    responses(
        (status = 200, description = "The report", body = ComplianceReport),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn report(
    cx: Ctx,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let q = Query::parse(raw.as_deref(), &["format", "version", "from", "to"])?;
    let format = format_param(&q, &["json", "csv", "html"])?;
    let scope = ReportScope {
        version: q
            .text("version")?
            .map(|v| SemVer::parse(&v))
            .transpose()?
            .map(|v| v.to_string()),
        from: q.instant("from")?,
        to: q.instant("to")?,
    };
    let report = reports::compliance_report(&cx, &name, scope).await?;
    let stem = format!("report-{}", report.model.name);
    Ok(match format {
        "csv" => attachment(
            "text/csv; charset=utf-8",
            &format!("{stem}.csv"),
            Body::from(export::report_csv(&report)),
        ),
        "html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            super::report_html::render(&cx.state, report),
        )
            .into_response(),
        _ => Json(report).into_response(),
    })
}
