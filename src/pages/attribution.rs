//! `/attribution?environment=E&at=T`: which version made a decision in E at
//! T, with the evidence — its deployment, lineage, parameters, metrics,
//! artifact digests, approval trail and release receipt. Printable.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use crate::{
    actions::deployments::get_attribution,
    components::{
        guard::RequirePermission,
        report::{precise, ReportVersionSection},
    },
    domain::Permission,
    dto::{format_time, Attribution},
    error::AppError,
};

type AttributionResource = Resource<Option<Result<Attribution, AppError>>>;

#[component]
pub fn AttributionPage() -> impl IntoView {
    let query = use_query_map();
    let field = move |k: &str| query.with(|q| q.get(k).filter(|s| !s.trim().is_empty()));
    let asked = move || (field("environment"), field("at"), field("model"));
    let answer: AttributionResource = Resource::new(asked, |(env, at, model)| async move {
        match (env, at) {
            (Some(env), Some(at)) => Some(get_attribution(env, at, model).await),
            _ => None,
        }
    });
    view! {
        <Title text="Attribution · Model Registry"/>
        <RequirePermission permission=Permission::ReadAudit>
            <section class="panel no-print">
                <h1>"Which version decided?"</h1>
                <p class="muted">"The version an environment served at an instant, and the evidence for it."</p>
                <Form method="GET" action="" attr:class="row-form">
                    <label>"Environment" <input type="text" name="environment" required value=move || field("environment").unwrap_or_default()/></label>
                    <label>"At (RFC 3339, date-time UTC or ms)" <input type="text" name="at" required value=move || field("at").unwrap_or_default()/></label>
                    <label>"Model (optional)" <input type="text" name="model" value=move || field("model").unwrap_or_default()/></label>
                    <button type="submit" class="btn btn-primary">"Attribute"</button>
                </Form>
            </section>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match answer.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(a)) => view! { <AttributionView a/> }.into_any(),
                    }
                })}
            </Suspense>
        </RequirePermission>
    }
}

#[component]
fn AttributionView(a: Attribution) -> impl IntoView {
    let head = format!(
        "{} at {} (requires {})",
        a.environment.name,
        precise(a.at),
        a.environment.required_stage.title()
    );
    let generated = format!(
        "Generated {} by {}",
        format_time(a.generated_at),
        a.generated_by
    );
    let body = if a.answers.is_empty() {
        view! { <p class="alert" data-testid="attribution-none">"Nothing served in this environment at that instant."</p> }.into_any()
    } else {
        a.answers
            .into_iter()
            .map(|ans| {
                let version_href = format!("/models/{}/versions/{}", ans.model, ans.span.version);
                let d = ans.deployment.clone();
                view! {
                    <section class="report-section" data-testid="attribution-answer" data-model=ans.model.clone() data-version=ans.span.version.clone()>
                        <h2>{format!("{}: version {}", ans.model, ans.span.version)}</h2>
                        <dl class="kv">
                            <dt>"Served"</dt><dd>{format!("from {} until {}", precise(ans.span.from), ans.span.until.map(precise).unwrap_or_else(|| "now".into()))}</dd>
                            <dt>"Reported by"</dt><dd>{format!("{} at {} (deployment #{})", d.reported_by, precise(d.reported_at), d.id)}</dd>
                            <dt>"Stage then"</dt><dd>{d.stage.title()}</dd>
                            <dt>"Content digest deployed"</dt><dd><code class="digest">{d.content_digest.clone().unwrap_or_default()}</code></dd>
                            <dt>"Receipt"</dt><dd><code>{d.receipt_id.clone().unwrap_or_else(|| "none reported".into())}</code></dd>
                        </dl>
                        {d.violation.clone().map(|v| view! { <p class="alert alert-error">{format!("VIOLATION: {v}")}</p> })}
                        <p class="no-print"><A href=version_href>"Version page →"</A></p>
                        {ans.receipt.clone().map(|r| view! {
                            <details><summary>"Signed release receipt (DSSE envelope)"</summary><pre class="receipt">{r}</pre></details>
                        })}
                    </section>
                    <ReportVersionSection v=ans.version.clone()/>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <article class="report" data-testid="attribution">
            <header class="report-head">
                <h1>{head}</h1>
                <p class="muted">{generated}</p>
            </header>
            {body}
        </article>
    }
}
