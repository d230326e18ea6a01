//! The printable compliance report. Pure: it reads no context, so the
//! server can also render it alone (`GET …/report?format=html`).

use leptos::prelude::*;

use super::chart::BarChartView;
use crate::{
    charts::{bar_chart, Bar, ChartSpec},
    domain::{Decision, StageSpan},
    dto::{format_metric, format_time, ComplianceReport, ModelEnvironment, ReportVersion},
};

#[component]
pub fn ReportDocument(report: ComplianceReport) -> impl IntoView {
    let r = report;
    let scope = match (&r.scope.version, r.scope.from, r.scope.to) {
        (None, None, None) => "the whole history".to_owned(),
        (v, from, to) => {
            let mut parts = Vec::new();
            if let Some(v) = v {
                parts.push(format!("version {v}"));
            }
            if let Some(f) = from {
                parts.push(format!("from {}", format_time(f)));
            }
            if let Some(t) = to {
                parts.push(format!("until {}", format_time(t)));
            }
            parts.join(", ")
        }
    };
    let chain_ok = r.audit_chain.intact;
    let chain_text = if chain_ok {
        format!(
            "Intact: {} events checked, every hash and link matches{}.",
            r.audit_chain.events_checked,
            r.audit_chain
                .newest_checkpoint
                .as_ref()
                .map(|c| format!("; agrees with the newest signed checkpoint ({c})"))
                .unwrap_or_else(|| "; no signed checkpoint was published yet".into())
        )
    } else if r.audit_chain.first_broken_id.is_none() {
        format!(
            "CONTRADICTS its signed checkpoints: {}",
            r.audit_chain.checkpoint_problems.join("; ")
        )
    } else {
        format!(
            "BROKEN at event #{}: the trail was altered after it was written.",
            r.audit_chain.first_broken_id.unwrap_or_default()
        )
    };
    let end = r.generated_at;
    let head = view! {
        <header class="report-head">
            <h1>"Compliance report: "{r.model.name.clone()}</h1>
            <p class="muted">{format!("Generated {} by {} · scope: {scope} · schema {}", format_time(r.generated_at), r.generated_by, r.schema)}</p>
        </header>
        <section class="report-section">
            <h2>"Model"</h2>
            <dl class="kv">
                <dt>"Name"</dt><dd>{r.model.name.clone()}</dd>
                <dt>"Team"</dt><dd>{r.model.team.clone()}</dd>
                <dt>"Registered"</dt><dd>{format!("{} by {}", format_time(r.model.created_at), r.model.created_by)}</dd>
                <dt>"Description"</dt><dd class="prewrap">{r.model.description.clone()}</dd>
            </dl>
        </section>
    }
    .into_any();
    let changes = if r.stage_changes.is_empty() {
        view! { <p class="empty">"No stage change in scope."</p> }.into_any()
    } else {
        view! {
            <table class="table">
                <thead><tr><th>"When"</th><th>"Version"</th><th>"Change"</th><th>"By"</th><th>"Request"</th><th>"Reason"</th></tr></thead>
                <tbody>
                    {r.stage_changes.iter().map(|c| view! {
                        <tr>
                            <td>{format_time(c.at)}</td>
                            <td>{c.version.clone()}</td>
                            <td>{format!("{} → {}", c.from.map(|s| s.title()).unwrap_or("—"), c.to.title())}</td>
                            <td>{c.by.clone()}</td>
                            <td>{c.request_id.map(|id| format!("#{id}")).unwrap_or_default()}</td>
                            <td>{c.reason.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    let versions = r
        .versions
        .iter()
        .cloned()
        .map(|v| view! { <ReportVersionSection v/> })
        .collect_view()
        .into_any();
    view! {
        <article class="report">
            {head}
            <section class="report-section">
                <h2>"Production timeline"</h2>
                <ProductionTimeline spans=r.production_timeline.clone() end/>
            </section>
            <section class="report-section">
                <h2>"Stage changes"</h2>
                {changes}
            </section>
            <section class="report-section" data-testid="report-deployments">
                <h2>"Deployments"</h2>
                <DeploymentTimelines environments=r.deployments.clone() end/>
            </section>
            <MetricsChart versions=r.versions.clone()/>
            {versions}
            <section class="report-section">
                <h2>"Audit trail"</h2>
                <p class=if chain_ok { "alert alert-ok" } else { "alert alert-error" } data-testid="chain-status">{chain_text}</p>
            </section>
        </article>
    }
    .into_any()
}

/// Production spans as horizontal bars on one time axis.
#[component]
fn ProductionTimeline(spans: Vec<StageSpan>, end: i64) -> impl IntoView {
    if spans.is_empty() {
        return view! { <p class="empty">"No version was in Production in scope."</p> }.into_any();
    }
    view! { <SpanChart spans caption="Versions in Production over time".to_owned() end/> }
        .into_any()
}

/// Spans as horizontal bars on one time axis, with a list below.
#[component]
fn SpanChart(spans: Vec<StageSpan>, caption: String, end: i64) -> impl IntoView {
    if spans.is_empty() {
        return view! { <p class="empty">"Nothing served in scope."</p> }.into_any();
    }
    let start = spans.iter().map(|s| s.from).min().unwrap_or(0);
    let stop = spans
        .iter()
        .map(|s| s.until.unwrap_or(end))
        .max()
        .unwrap_or(end)
        .max(start + 1);
    let (width, row, label_w) = (720.0_f64, 26.0_f64, 120.0_f64);
    let x = move |t: i64| {
        label_w + (t - start) as f64 / (stop - start) as f64 * (width - label_w - 10.0)
    };
    let height = row * spans.len() as f64 + 24.0;
    view! {
        <figure class="chart">
            <figcaption>{caption.clone()}</figcaption>
            <svg viewBox=format!("0 0 {width} {height}") role="img" aria-label=caption class="chart-svg">
                {spans.iter().enumerate().map(|(i, s)| {
                    let y = i as f64 * row + 4.0;
                    let (x0, x1) = (x(s.from), x(s.until.unwrap_or(end)));
                    view! {
                        <text x="4" y=format!("{:.1}", y + 15.0) font-size="12" class="chart-label">{s.version.clone()}</text>
                        <rect x=format!("{x0:.1}") y=format!("{y:.1}") width=format!("{:.1}", (x1 - x0).max(2.0)) height="18" class="timeline-bar"/>
                    }
                }).collect_view()}
                <text x=format!("{label_w}") y=format!("{:.1}", height - 4.0) font-size="11" class="chart-label">{format_time(start)}</text>
                <text x=format!("{:.1}", width - 10.0) y=format!("{:.1}", height - 4.0) text-anchor="end" font-size="11" class="chart-label">{format_time(stop)}</text>
            </svg>
            <ul class="plain">
                {spans.into_iter().map(|s| view! {
                    <li>{format!("{}: {} → {}", s.version, format_time(s.from), s.until.map(format_time).unwrap_or_else(|| "now".into()))}</li>
                }).collect_view()}
            </ul>
        </figure>
    }
    .into_any()
}

/// Per environment, what served when (one bar per stay) and the
/// violations; shared with the model page.
#[component]
pub fn DeploymentTimelines(environments: Vec<ModelEnvironment>, end: i64) -> impl IntoView {
    if environments.is_empty() {
        return view! { <p class="empty">"No deployment was reported in scope."</p> }.into_any();
    }
    environments
        .into_iter()
        .map(|env| {
            let name = env.environment.name.clone();
            let title = format!(
                "{} (requires {})",
                env.environment.name,
                env.environment.required_stage.title()
            );
            let spans: Vec<StageSpan> = env
                .spans
                .iter()
                .map(|s| StageSpan {
                    version: s.version.clone(),
                    stage: env.environment.required_stage,
                    from: s.from,
                    until: s.until,
                })
                .collect();
            let rows = env.spans.clone();
            let violations = env.violations.clone();
            view! {
                <div class="environment-timeline" data-environment=name>
                    <h3>{title}</h3>
                    <SpanChart spans caption="Versions serving over time".to_owned() end/>
                    <table class="table">
                        <thead><tr><th>"Version"</th><th>"From"</th><th>"Until"</th><th>"Receipt"</th><th>"Flag"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|s| view! {
                                <tr class:violation=s.violation.is_some()>
                                    <td>{s.version.clone()}</td>
                                    <td class="nowrap">{precise(s.from)}</td>
                                    <td class="nowrap">{s.until.map(precise).unwrap_or_else(|| "now".into())}</td>
                                    <td><code>{s.receipt_id.clone().unwrap_or_default()}</code></td>
                                    <td>{s.violation.clone().map(|v| format!("VIOLATION: {v}")).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {(!violations.is_empty()).then(|| view! {
                        <p class="alert alert-error" data-testid="violations">
                            {format!("{} violation(s): ", violations.len())}
                            {violations.iter().map(|d| format!("{} at {} by {} ({})", d.version, precise(d.at), d.reported_by, d.violation.clone().unwrap_or_default())).collect::<Vec<_>>().join("; ")}
                        </p>
                    })}
                </div>
            }
        })
        .collect_view()
        .into_any()
}

/// An instant to the millisecond: what attribution is about.
pub fn precise(ms: i64) -> String {
    crate::domain::Instant(ms).to_rfc3339()
}

/// Each metric the reported versions share, compared across them.
#[component]
fn MetricsChart(versions: Vec<ReportVersion>) -> impl IntoView {
    let mut keys: Vec<&String> = versions.iter().flat_map(|v| v.metrics.keys()).collect();
    keys.sort();
    keys.dedup();
    let bars: Vec<Bar> = keys
        .iter()
        .take(4)
        .flat_map(|k| {
            versions.iter().filter_map(move |v| {
                v.metrics.get(*k).map(|value| Bar {
                    label: format!("{k} {}", v.version),
                    value: *value,
                })
            })
        })
        .collect();
    (!bars.is_empty()).then(|| {
        let spec = ChartSpec {
            width: 720.0,
            height: 260.0,
            x_label: "metric and version".into(),
            y_label: "value".into(),
        };
        view! {
            <section class="report-section">
                <h2>"Metrics of the reported versions"</h2>
                <BarChartView chart=bar_chart(&spec, &bars) title="Metrics by version".to_owned()/>
            </section>
        }
        .into_any()
    })
}

#[component]
pub fn ReportVersionSection(v: ReportVersion) -> impl IntoView {
    let l = v.lineage.clone();
    let lineage: Vec<(&'static str, Option<String>)> = vec![
        ("Source repository", l.source_repo),
        ("Commit", l.commit_sha),
        ("Training script", l.training_script),
        ("Dataset", l.dataset_name),
        ("Dataset version", l.dataset_version),
        ("Dataset URI", l.dataset_uri),
        ("Dataset hash", l.dataset_hash),
        (
            "Parent",
            l.parent.map(|p| format!("{} {}", p.model, p.version)),
        ),
        (
            "Framework",
            l.framework
                .map(|f| format!("{f} {}", l.framework_version.unwrap_or_default())),
        ),
    ];
    view! {
        <section class="report-section report-version" data-version=v.version.clone()>
            <h2>{format!("Version {} (#{}, now {})", v.version, v.seq, v.stage.title())}</h2>
            <p class="muted">{format!("Registered {} by {}", format_time(v.created_at), v.created_by)}</p>
            <p>"Content digest now: "<code class="digest">{v.content_digest.clone().unwrap_or_else(|| "not recorded".into())}</code></p>
            <h3>"Lineage"</h3>
            <dl class="kv">
                {lineage.into_iter().filter_map(|(k, val)| val.map(|val| view! { <dt>{k}</dt><dd><code>{val}</code></dd> })).collect_view()}
            </dl>
            <div class="grid-2">
                <div>
                    <h3>"Hyperparameters"</h3>
                    <table class="table"><tbody>
                        {v.params.iter().map(|(k, val)| view! { <tr><th scope="row">{k.clone()}</th><td><code>{val.clone()}</code></td></tr> }).collect_view()}
                    </tbody></table>
                </div>
                <div>
                    <h3>"Metrics"</h3>
                    <table class="table"><tbody>
                        {v.metrics.iter().map(|(k, val)| view! { <tr><th scope="row">{k.clone()}</th><td class="num">{format_metric(*val)}</td></tr> }).collect_view()}
                    </tbody></table>
                </div>
            </div>
            <h3>"Artifacts"</h3>
            <table class="table">
                <thead><tr><th>"Path"</th><th>"SHA-256"</th><th>"Added"</th></tr></thead>
                <tbody>
                    {v.artifacts.iter().map(|a| view! {
                        <tr>
                            <td>{a.path.clone()}</td>
                            <td><code class="sha">{a.sha256.clone().unwrap_or_else(|| "not recorded".into())}</code></td>
                            <td class="nowrap">{format!("{} by {}", format_time(a.created_at), a.created_by)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>"Approval trail"</h3>
            <ul class="plain approval-trail">
                {v.requests.iter().map(|req| view! {
                    <li>
                        <strong>{format!("Request #{}: {}, {}", req.id, request_subject(req), req.state.as_str())}</strong>
                        <span class="muted">{format!(" · asked by {} on {}", req.requested_by, format_time(req.created_at))}</span>
                        {req.content_digest.clone().map(|d| view! { <div class="muted">"Opened on content "<code class="digest">{d}</code></div> })}
                        <blockquote class="justification">{req.justification.clone()}</blockquote>
                        <ul class="reviews">
                            {req.reviews.iter().map(|rv| view! {
                                <li>{format!("{} {} on {}{}{}", rv.reviewer, match rv.decision { Decision::Approve => "approved", Decision::Reject => "rejected" }, format_time(rv.at), rv.content_digest.as_deref().map(|d| format!(", content {d}")).unwrap_or_default(), if rv.comment.is_empty() { String::new() } else { format!(": “{}”", rv.comment) })}</li>
                            }).collect_view()}
                        </ul>
                    </li>
                }).collect_view()}
            </ul>
            {(!v.evaluations.is_empty()).then(|| view! {
                <h3>"Evaluations"</h3>
                <ul class="plain">
                    {v.evaluations.iter().map(|e| view! {
                        <li>{format!("{} on {} by {} (content {}): {}", e.name, format_time(e.created_at), e.created_by, e.content_digest,
                            e.metrics.iter().map(|(k, val)| format!("{k} {}", format_metric(*val))).collect::<Vec<_>>().join(", "))}</li>
                    }).collect_view()}
                </ul>
            })}
        </section>
    }
    .into_any()
}

/// `Staging → Production`, or `alias champion → 2.1.0`.
fn request_subject(req: &crate::dto::RequestView) -> String {
    let alias = req.alias.as_deref().unwrap_or("");
    match req.kind {
        crate::domain::RequestKind::Stage => format!("{} → {}", req.from.title(), req.to.title()),
        crate::domain::RequestKind::AliasSet => format!("alias {alias} → {}", req.version),
        crate::domain::RequestKind::AliasRemove => format!("remove alias {alias}"),
    }
}
