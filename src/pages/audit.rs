use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use crate::{
    actions::audit::list_audit_events,
    components::guard::{encode_component, RequirePermission},
    domain::Permission,
    dto::{format_time, AuditPage as Page},
};

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Title text="Audit trail · Model Registry"/>
        <RequirePermission permission=Permission::ReadAudit>
            <AuditTrail/>
        </RequirePermission>
    }
}

#[component]
fn AuditTrail() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        query.with(|q| {
            (
                q.get("actor").filter(|s| !s.is_empty()),
                q.get("action").filter(|s| !s.is_empty()),
                q.get("page").and_then(|p| p.parse::<u32>().ok()),
            )
        })
    };
    let events = Resource::new(params, |(actor, action, page)| {
        list_audit_events(actor, action, page)
    });
    view! {
        <h1>"Audit trail"</h1>
        <section class="panel">
            <Form method="GET" action="/audit" attr:class="row-form">
                <label>"Actor" <input type="text" name="actor" maxlength="128" value=move || params().0.unwrap_or_default()/></label>
                <label>"Action starts with" <input type="text" name="action" maxlength="128" placeholder="user." value=move || params().1.unwrap_or_default()/></label>
                <button type="submit" class="btn">"Filter"</button>
            </Form>
        </section>
        <Suspense fallback=|| view! { <p class="muted">"Loading events…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(page) => Either::Left(view! { <EventTable page params=params()/> }),
                    Err(e) => Either::Right(view! { <p class="alert alert-error">{e.to_string()}</p> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EventTable(page: Page, params: (Option<String>, Option<String>, Option<u32>)) -> impl IntoView {
    let (actor, action, _) = params;
    let link = move |n: u32| {
        let mut url = format!("/audit?page={n}");
        if let Some(a) = &actor {
            url += &format!("&actor={}", encode_component(a));
        }
        if let Some(a) = &action {
            url += &format!("&action={}", encode_component(a));
        }
        url
    };
    let prev = (page.page > 1).then(|| link(page.page - 1));
    let next = page.has_next.then(|| link(page.page + 1));
    let empty = page.events.is_empty();
    view! {
        <table class="table audit-table">
            <thead><tr><th>"#"</th><th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Target"</th><th>"Details"</th><th>"Client"</th></tr></thead>
            <tbody>
                {page.events.into_iter().map(|e| view! {
                    <tr>
                        <td>{e.id}</td>
                        <td class="nowrap">{format_time(e.at)}</td>
                        <td>{e.actor.unwrap_or_else(|| "—".into())}{e.via_token.then_some(" (token)")}</td>
                        <td><code>{e.action}</code></td>
                        <td>{format!("{} {}", e.target_type, e.target_id)}</td>
                        <td><code class="details">{e.details}</code></td>
                        <td>{e.client_addr.unwrap_or_default()}</td>
                    </tr>
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
