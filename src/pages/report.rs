//! `/models/{name}/report`: the compliance report of a model, narrowed by
//! version and time range, printable (PDF through the browser) and
//! downloadable as CSV, JSON or a standalone HTML page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};

use crate::{
    actions::reports::get_compliance_report,
    components::{
        guard::{encode_component, RequirePermission},
        report::ReportDocument,
    },
    domain::Permission,
};

type ReportResource = Resource<Result<crate::dto::ComplianceReport, crate::error::AppError>>;

#[component]
pub fn ReportPage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let scope = scope_signal();
    let report: ReportResource = Resource::new(scope, |s| {
        get_compliance_report(s.name, s.version, s.from, s.to)
    });
    view! {
        <RequirePermission permission=Permission::ReadAudit>
            <ReportView report/>
        </RequirePermission>
    }
}

/// The report's scope from the route and its query string.
fn scope_signal() -> impl Fn() -> Scope + Copy + 'static {
    let params = use_params_map();
    let query = use_query_map();
    move || {
        let field = |k: &str| query.with(|q| q.get(k).filter(|s| !s.trim().is_empty()));
        Scope {
            name: params.with(|p| p.get("name").unwrap_or_default()),
            version: field("version"),
            from: field("from"),
            to: field("to"),
        }
    }
}

#[derive(Clone, PartialEq)]
struct Scope {
    name: String,
    version: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl Scope {
    /// The same scope as an API query string.
    fn query(&self, format: &str) -> String {
        let mut q = format!("format={format}");
        for (key, value) in [
            ("version", &self.version),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = value {
                q += &format!("&{key}={}", encode_component(v));
            }
        }
        q
    }
}

#[component]
fn ReportView(report: ReportResource) -> impl IntoView {
    let scope = scope_signal();
    let print = move |_| {
        let _ = window().print();
    };
    view! {
        <Title text=move || format!("Report: {} · Model Registry", scope().name)/>
        <nav class="crumbs no-print">
            <A href="/models">"Catalog"</A>" / "
            <A href=move || format!("/models/{}", scope().name)>{move || scope().name}</A>" / "<span>"Report"</span>
        </nav>
        <section class="panel no-print">
            <Form method="GET" action="" attr:class="row-form">
                <label>"Version" <input type="text" name="version" maxlength="64" placeholder="all" value=move || scope().version.unwrap_or_default()/></label>
                <label>"From (UTC)" <input type="text" name="from" maxlength="40" placeholder="2026-01-01" value=move || scope().from.unwrap_or_default()/></label>
                <label>"Until (UTC)" <input type="text" name="to" maxlength="40" placeholder="2026-04-01" value=move || scope().to.unwrap_or_default()/></label>
                <button type="submit" class="btn">"Apply"</button>
            </Form>
            <p class="actions">
                <button type="button" class="btn btn-primary js-only" on:click=print>"Print or save as PDF"</button>
                {move || {
                    let s = scope();
                    let base = format!("/api/v1/models/{}/report", encode_component(&s.name));
                    view! {
                        <a class="btn" href=format!("{base}?{}", s.query("csv")) download="">"CSV"</a>
                        <a class="btn" href=format!("{base}?{}", s.query("json")) download="">"JSON"</a>
                        <a class="btn" href=format!("{base}?{}", s.query("html")) target="_blank">"Standalone page"</a>
                    }
                }}
            </p>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Building the report…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(r) => view! { <ReportDocument report=r/> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
