//! CSV and JSON renderings of the audit trail and the compliance report.
//! The audit export streams in keyset pages, so a year of events leaves the
//! server in constant memory.

use bytes::Bytes;
use futures_util::{stream, Stream};
use serde_json::{json, Value};
use sqlx::AnyPool;

use crate::{
    domain::Instant,
    domain::Stage,
    dto::ComplianceReport,
    server::repo::audit::{self, EventFilter, EventRow},
};

/// Rows read per database round trip while exporting.
pub const EXPORT_BATCH: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// A spreadsheet must never run a cell: text that starts like a formula is
/// prefixed with an apostrophe (OWASP's CSV-injection advice).
fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

fn csv_line(fields: &[String]) -> Bytes {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing to a Vec cannot fail; an empty line is the harmless fallback.
    if writer.write_record(fields).is_err() {
        return Bytes::new();
    }
    Bytes::from(writer.into_inner().unwrap_or_default())
}

const AUDIT_COLUMNS: [&str; 13] = [
    "id",
    "at",
    "actor",
    "actor_token_id",
    "action",
    "target_type",
    "target_id",
    "details",
    "client_addr",
    "request_id",
    "prev_hash",
    "hash",
    "at_ms",
];

fn audit_csv(row: &EventRow) -> Bytes {
    let opt = |v: &Option<String>| cell(v.as_deref().unwrap_or(""));
    csv_line(&[
        row.id.to_string(),
        Instant(row.at).to_rfc3339(),
        opt(&row.actor_username),
        row.actor_token_id
            .map(|t| t.to_string())
            .unwrap_or_default(),
        cell(&row.action),
        cell(&row.target_type),
        cell(&row.target_id),
        cell(&row.details),
        opt(&row.client_addr),
        opt(&row.request_id),
        row.prev_hash.clone(),
        row.hash.clone(),
        row.at.to_string(),
    ])
}

/// One audit event as the JSON export (and the API) shows it.
pub fn audit_json(row: &EventRow) -> Value {
    json!({
        "id": row.id,
        "at": Instant(row.at).to_rfc3339(),
        "at_ms": row.at,
        "actor": row.actor_username,
        "actor_token_id": row.actor_token_id,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "details": serde_json::from_str::<Value>(&row.details).unwrap_or(Value::String(row.details.clone())),
        "client_addr": row.client_addr,
        "request_id": row.request_id,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    })
}

enum Phase {
    Start,
    Rows { after: i64, first: bool },
    Done,
}

/// The audit events matching `filter`, oldest first: a CSV with a header
/// line, or one JSON array. Reads `EXPORT_BATCH` rows at a time.
pub fn audit_stream(
    pool: AnyPool,
    filter: EventFilter,
    format: ExportFormat,
) -> impl Stream<Item = Result<Bytes, sqlx::Error>> + Send + 'static {
    stream::try_unfold(Phase::Start, move |phase| {
        let (pool, filter) = (pool.clone(), filter.clone());
        async move {
            match phase {
                Phase::Start => {
                    let head = match format {
                        ExportFormat::Csv => csv_line(&AUDIT_COLUMNS.map(String::from)),
                        ExportFormat::Json => Bytes::from_static(b"["),
                    };
                    Ok(Some((
                        head,
                        Phase::Rows {
                            after: 0,
                            first: true,
                        },
                    )))
                }
                Phase::Rows { after, first } => {
                    let rows = audit::page_after(&pool, &filter, after, EXPORT_BATCH).await?;
                    let Some(last) = rows.last().map(|r| r.id) else {
                        let tail = match format {
                            ExportFormat::Csv => Bytes::new(),
                            ExportFormat::Json => Bytes::from_static(b"\n]\n"),
                        };
                        return Ok(Some((tail, Phase::Done)));
                    };
                    let mut chunk = Vec::with_capacity(rows.len() * 300);
                    for (i, row) in rows.iter().enumerate() {
                        match format {
                            ExportFormat::Csv => chunk.extend_from_slice(&audit_csv(row)),
                            ExportFormat::Json => {
                                chunk.extend_from_slice(if first && i == 0 {
                                    b"\n"
                                } else {
                                    b",\n"
                                });
                                chunk.extend_from_slice(audit_json(row).to_string().as_bytes());
                            }
                        }
                    }
                    Ok(Some((
                        Bytes::from(chunk),
                        Phase::Rows {
                            after: last,
                            first: false,
                        },
                    )))
                }
                Phase::Done => Ok(None),
            }
        }
    })
}

/// The report as one CSV table: `section, version, field, value, at, by`.
pub fn report_csv(r: &ComplianceReport) -> String {
    let mut out: Vec<u8> = Vec::new();
    let t = |ms: i64| Instant(ms).to_rfc3339();
    let mut line = |fields: [&str; 6]| out.extend_from_slice(&csv_line(&fields.map(cell)));
    line(["section", "version", "field", "value", "at", "by"]);
    line([
        "report",
        "",
        "schema",
        &r.schema,
        &t(r.generated_at),
        &r.generated_by,
    ]);
    let scope = [
        ("version", r.scope.version.clone()),
        ("from", r.scope.from.map(t)),
        ("to", r.scope.to.map(t)),
    ];
    for (field, value) in scope {
        line(["scope", "", field, value.as_deref().unwrap_or(""), "", ""]);
    }
    line([
        "model",
        "",
        "name",
        &r.model.name,
        &t(r.model.created_at),
        &r.model.created_by,
    ]);
    line(["model", "", "team", &r.model.team, "", ""]);
    line(["model", "", "description", &r.model.description, "", ""]);
    for span in &r.production_timeline {
        let until = span.until.map(t).unwrap_or_default();
        line([
            "production",
            &span.version,
            "from",
            &t(span.from),
            &t(span.from),
            "",
        ]);
        line(["production", &span.version, "until", &until, &until, ""]);
    }
    for c in &r.stage_changes {
        let from = c.from.map(Stage::as_str).unwrap_or("");
        let value = format!("{from} -> {}", c.to.as_str());
        line(["stage_change", &c.version, "stage", &value, &t(c.at), &c.by]);
    }
    for v in &r.versions {
        let ver = v.version.as_str();
        line([
            "version",
            ver,
            "registered",
            "",
            &t(v.created_at),
            &v.created_by,
        ]);
        line(["version", ver, "stage_now", v.stage.as_str(), "", ""]);
        if let Some(digest) = &v.content_digest {
            line(["version", ver, "content_digest", digest, "", ""]);
        }
        let l = &v.lineage;
        let lineage = [
            ("source_repo", &l.source_repo),
            ("commit_sha", &l.commit_sha),
            ("training_script", &l.training_script),
            ("dataset_name", &l.dataset_name),
            ("dataset_version", &l.dataset_version),
            ("dataset_uri", &l.dataset_uri),
            ("dataset_hash", &l.dataset_hash),
            ("framework", &l.framework),
            ("framework_version", &l.framework_version),
        ];
        for (field, value) in lineage {
            if let Some(value) = value {
                line(["lineage", ver, field, value, "", ""]);
            }
        }
        if let Some(p) = &l.parent {
            line([
                "lineage",
                ver,
                "parent",
                &format!("{}@{}", p.model, p.version),
                "",
                "",
            ]);
        }
        for (k, val) in &v.params {
            line(["param", ver, k, val, "", ""]);
        }
        for (k, val) in &v.metrics {
            line(["metric", ver, k, &val.to_string(), "", ""]);
        }
        for a in &v.artifacts {
            let sha = a.sha256.as_deref().unwrap_or("");
            line([
                "artifact_sha256",
                ver,
                &a.path,
                sha,
                &t(a.created_at),
                &a.created_by,
            ]);
        }
        for e in &v.evaluations {
            for (k, val) in &e.metrics {
                let field = format!("{} {k}", e.name);
                line([
                    "evaluation",
                    ver,
                    &field,
                    &val.to_string(),
                    &t(e.created_at),
                    &e.created_by,
                ]);
            }
            line([
                "evaluation_digest",
                ver,
                &e.name,
                &e.content_digest,
                &t(e.created_at),
                &e.created_by,
            ]);
        }
        for req in &v.requests {
            let what = match (&req.kind, &req.alias) {
                (crate::domain::RequestKind::Stage, _) | (_, None) => format!(
                    "#{} {} -> {}: {}",
                    req.id,
                    req.from.as_str(),
                    req.to.as_str(),
                    req.state.as_str()
                ),
                (kind, Some(alias)) => {
                    format!("#{} {kind} {alias}: {}", req.id, req.state.as_str())
                }
            };
            line([
                "request",
                ver,
                &what,
                &req.justification,
                &t(req.created_at),
                &req.requested_by,
            ]);
            for review in &req.reviews {
                let field = format!("#{} {}", req.id, review.decision.as_str());
                line([
                    "review",
                    ver,
                    &field,
                    &review.comment,
                    &t(review.at),
                    &review.reviewer,
                ]);
                if let Some(digest) = &review.content_digest {
                    line([
                        "review_digest",
                        ver,
                        &field,
                        digest,
                        &t(review.at),
                        &review.reviewer,
                    ]);
                }
            }
        }
    }
    let chain = &r.audit_chain;
    let verdict = if chain.intact {
        "intact".to_owned()
    } else {
        format!(
            "broken at event {}",
            chain.first_broken_id.unwrap_or_default()
        )
    };
    line([
        "audit_chain",
        "",
        &format!("{} events checked", chain.events_checked),
        &verdict,
        &t(r.generated_at),
        "",
    ]);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formula_like_text_is_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
    }
}
