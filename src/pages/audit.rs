//! `/audit`: the audit trail for auditors and admins. Filters by actor,
//! action, model and time range; links each target to its page; verifies
//! the hash chain; exports the filtered events as CSV or JSON.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use crate::{
    actions::audit::{list_audit_events, AuditQuery, VerifyAuditChain},
    components::guard::{encode_component, RequirePermission},
    domain::Permission,
    dto::{format_time, AuditEventView, AuditPage as Page, ChainStatus},
};

type EventsResource = Resource<Result<Page, crate::error::AppError>>;

#[component]
pub fn AuditPage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let query = use_query_map();
    let events: EventsResource = Resource::new(move || query.with(filters_of), list_audit_events);
    view! {
        <Title text="Audit trail · Model Registry"/>
        <RequirePermission permission=Permission::ReadAudit>
            <AuditTrail events/>
        </RequirePermission>
    }
}

/// The page's filters from its query string.
fn filters_of(q: &leptos_router::params::ParamsMap) -> AuditQuery {
    let field = |k: &str| q.get(k).filter(|s| !s.trim().is_empty());
    AuditQuery {
        actor: field("actor"),
        action: field("action"),
        model: field("model"),
        from: field("from"),
        to: field("to"),
        page: q.get("page").and_then(|p| p.parse::<u32>().ok()),
    }
}

impl AuditQuery {
    /// The filters (without the page) as a query string.
    fn filters_query(&self) -> String {
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("model", &self.model),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode_component(v))))
        .collect::<Vec<_>>()
        .join("&")
    }
}

#[component]
fn AuditTrail(events: EventsResource) -> impl IntoView {
    let query = use_query_map();
    let filters = move || query.with(filters_of);
    let value = move |f: fn(AuditQuery) -> Option<String>| move || f(filters()).unwrap_or_default();
    view! {
        <div class="page-head">
            <h1>"Audit trail"</h1>
            <ChainCheck/>
        </div>
        <section class="panel">
            <Form method="GET" action="/audit" attr:class="row-form">
                <label>"Actor" <input type="text" name="actor" maxlength="128" value=value(|q| q.actor)/></label>
                <label>"Action starts with" <input type="text" name="action" maxlength="128" placeholder="stage." value=value(|q| q.action)/></label>
                <label>"Model" <input type="text" name="model" maxlength="128" value=value(|q| q.model)/></label>
                <label>"From (UTC)" <input type="text" name="from" maxlength="40" placeholder="2026-03-14" value=value(|q| q.from)/></label>
                <label>"Until (UTC)" <input type="text" name="to" maxlength="40" placeholder="2026-03-15T12:00" value=value(|q| q.to)/></label>
                <button type="submit" class="btn">"Filter"</button>
            </Form>
            <p class="muted">
                "Export these events: "
                <a href=move || format!("/api/v1/audit/export?format=csv&{}", filters().filters_query()) download="">"CSV"</a>" · "
                <a href=move || format!("/api/v1/audit/export?format=json&{}", filters().filters_query()) download="">"JSON"</a>
            </p>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading events…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(page) => view! { <EventTable page filters=filters()/> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Runs the chain verification on demand and shows the verdict.
#[component]
fn ChainCheck() -> impl IntoView {
    let verify = ServerAction::<VerifyAuditChain>::new();
    let verdict = move || {
        verify.value().get().map(|result| match result {
            Ok(ChainStatus { intact: true, events_checked, newest_checkpoint, .. }) => view! {
                <span class="badge request-approved" data-testid="chain-verdict">{format!("Chain intact · {events_checked} events")}</span>
                <span class="muted">{newest_checkpoint.map(|c| format!(" · matches the newest signed checkpoint: {c}")).unwrap_or_else(|| " · no signed checkpoint published yet".into())}</span>
            }.into_any(),
            Ok(ChainStatus { first_broken_id: Some(id), .. }) => view! {
                <span class="badge request-rejected" data-testid="chain-verdict">{format!("Chain broken at event #{id}")}</span>
            }.into_any(),
            Ok(ChainStatus { checkpoint_problems, .. }) => view! {
                <span class="badge request-rejected" data-testid="chain-verdict">"Chain contradicts its signed checkpoints"</span>
                <ul class="plain">{checkpoint_problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            }.into_any(),
            Err(e) => view! { <span class="alert alert-error">{e.to_string()}</span> }.into_any(),
        })
    };
    view! {
        <ActionForm action=verify attr:class="inline-form">
            <button type="submit" class="btn btn-small">"Verify the hash chain"</button>
        </ActionForm>
        {verdict}
    }
}

/// Where an event's target lives in the UI, when it has a page.
fn target_href(e: &AuditEventView) -> Option<String> {
    let version_page = |id: &str| {
        id.split_once('@').map(|(model, rest)| {
            let version = rest.split('/').next().unwrap_or(rest);
            format!(
                "/models/{}/versions/{}",
                encode_component(model),
                encode_component(version)
            )
        })
    };
    match e.target_type.as_str() {
        "model" => Some(format!("/models/{}", encode_component(&e.target_id))),
        "version" => version_page(&e.target_id),
        "artifact" => version_page(&e.target_id).map(|p| p + "#artifacts"),
        "user" => Some("/admin/users".to_owned()),
        "webhook" => Some(format!(
            "/admin/webhooks/{}",
            encode_component(&e.target_id)
        )),
        "policy" => Some("/admin/policy".to_owned()),
        _ => None,
    }
}

#[component]
fn EventTable(page: Page, filters: AuditQuery) -> impl IntoView {
    let base = filters.filters_query();
    let link = move |n: u32| {
        if base.is_empty() {
            format!("/audit?page={n}")
        } else {
            format!("/audit?{base}&page={n}")
        }
    };
    let prev = (page.page > 1).then(|| link(page.page - 1));
    let next = page.has_next.then(|| link(page.page + 1));
    let empty = page.events.is_empty();
    view! {
        <table class="table audit-table">
            <thead><tr><th>"#"</th><th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Target"</th><th>"Details"</th><th>"Client"</th></tr></thead>
            <tbody>
                {page.events.into_iter().map(|e| {
                    let href = target_href(&e);
                    let target = format!("{} {}", e.target_type, e.target_id);
                    view! {
                        <tr>
                            <td>{e.id}</td>
                            <td class="nowrap">{format_time(e.at)}</td>
                            <td>{e.actor.unwrap_or_else(|| "—".into())}{e.via_token.then_some(" (token)")}</td>
                            <td><code>{e.action}</code></td>
                            <td>{match href {
                                Some(href) => view! { <a href=href>{target}</a> }.into_any(),
                                None => view! { <span>{target}</span> }.into_any(),
                            }}</td>
                            <td><code class="details">{e.details}</code></td>
                            <td>{e.client_addr.unwrap_or_default()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <Show when=move || empty><p class="empty">"No events match."</p></Show>
        <nav class="pager" aria-label="Pages">
            {prev.map(|href| view! { <A href=href>"← Newer"</A> })}
            <span>{format!("Page {}", page.page)}</span>
            {next.map(|href| view! { <A href=href>"Older →"</A> })}
        </nav>
    }
}
