//! `/admin/policy`: how many sign-offs each stage and each protected alias
//! needs, registry-wide, and the per-model overrides (set through the API).

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

use crate::{
    actions::workflow::{get_policy, SavePolicy},
    components::{
        forms::{FormError, FormSuccess},
        guard::RequirePermission,
    },
    domain::{
        AliasRule, ApprovalPolicy, Permission, MAX_REQUEST_TTL_HOURS, MAX_REQUIRED_APPROVALS,
    },
    dto::PolicyView,
};

type PolicyResource = Resource<Result<PolicyView, crate::error::AppError>>;

#[component]
pub fn PolicyPage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let save = ServerAction::<SavePolicy>::new();
    let policy: PolicyResource = Resource::new(move || save.version().get(), |_| get_policy());
    view! {
        <Title text="Approval policy · Model Registry"/>
        <RequirePermission permission=Permission::Administer>
            <PolicyAdmin policy save/>
        </RequirePermission>
    }
}

#[component]
fn PolicyAdmin(policy: PolicyResource, save: ServerAction<SavePolicy>) -> impl IntoView {
    view! {
        <h1>"Approval policy"</h1>
        <FormError result=save.value().into()/>
        <FormSuccess result=save.value().into() text="Policy saved. Open requests keep the rules they were opened with."/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match policy.await {
                    Ok(view) => Either::Left(view! { <PolicyForm view save/> }),
                    Err(e) => Either::Right(view! { <p class="alert alert-error">{e.to_string()}</p> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PolicyForm(view: PolicyView, save: ServerAction<SavePolicy>) -> impl IntoView {
    let p: ApprovalPolicy = view.registry.clone();
    let max = MAX_REQUIRED_APPROVALS.to_string();
    let count = move |name: &'static str, label: &'static str, value: u8| {
        let max = max.clone();
        view! { <label>{label}<input type="number" name=name min="0" max=max required value=value.to_string()/></label> }
    };
    view! {
        <section class="panel">
            <h2>"Registry-wide"</h2>
            <p class="muted">"Approvals required to move a version into each stage. The requester never counts; each approver signs once; any rejection closes the request."</p>
            <ActionForm action=save attr:class="row-form">
                {count("staging", "Staging", p.staging)}
                {count("production", "Production", p.production)}
                {count("archived", "Archived", p.archived)}
                {count("experimental", "Experimental", p.experimental)}
                <label>"Requests expire after (hours)"
                    <input type="number" name="request_ttl_hours" min="1" max=MAX_REQUEST_TTL_HOURS.to_string() required value=p.request_ttl_hours.to_string()/>
                </label>
                <label class="check">
                    <input type="checkbox" name="archive_previous_production" value="true" checked=p.archive_previous_production/>
                    "Archive the previous production version (otherwise it returns to Staging)"
                </label>
                <label class="wide">"Protected aliases: one rule per line, "<code>"PATTERN APPROVALS [STAGE]"</code>
                    <textarea name="protected_aliases" rows="4" spellcheck="false" placeholder="champion 2 production">{AliasRule::to_lines(&p.protected_aliases)}</textarea>
                    <span class="muted small">"Moving or removing a matching alias needs that many sign-offs (a request, like a stage change). "
                        "A pattern is a name or uses * (prod-*). With a stage, the alias may only point at a version in it. The first matching rule applies."</span>
                </label>
                <button type="submit" class="btn btn-primary">"Save"</button>
            </ActionForm>
        </section>
        <section class="panel">
            <h2>"Per-model overrides"</h2>
            {if view.overrides.is_empty() {
                Either::Left(view! { <p class="empty">"No model overrides the registry policy. Set one with PUT /api/v1/models/{name}/policy."</p> })
            } else {
                Either::Right(view! {
                    <table class="table">
                        <thead><tr><th>"Model"</th><th>"Staging"</th><th>"Production"</th><th>"Archived"</th><th>"Experimental"</th><th>"Archive previous"</th><th>"TTL (h)"</th><th>"Protected aliases (checked first)"</th></tr></thead>
                        <tbody>
                            {view.overrides.into_iter().map(|(name, o)| {
                                let cell = |v: Option<String>| v.unwrap_or_else(|| "inherit".into());
                                view! {
                                    <tr>
                                        <td><a href=format!("/models/{name}")>{name.clone()}</a></td>
                                        <td>{cell(o.staging.map(|v| v.to_string()))}</td>
                                        <td>{cell(o.production.map(|v| v.to_string()))}</td>
                                        <td>{cell(o.archived.map(|v| v.to_string()))}</td>
                                        <td>{cell(o.experimental.map(|v| v.to_string()))}</td>
                                        <td>{cell(o.archive_previous_production.map(|v| v.to_string()))}</td>
                                        <td>{cell(o.request_ttl_hours.map(|v| v.to_string()))}</td>
                                        <td><pre class="rules">{AliasRule::to_lines(&o.protected_aliases)}</pre></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                })
            }}
        </section>
    }
}
