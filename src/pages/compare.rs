//! `/models/{name}/compare?v=1.0.0&v=1.1.0`: 2–5 versions side by side.

use std::collections::BTreeSet;

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

use super::version::families;
use crate::{
    actions::catalog::compare_versions,
    charts::{line_chart, ChartSpec},
    components::{badges::StageBadge, chart::LineChartView, guard::RequirePermission},
    domain::Permission,
    dto::{format_metric, CompareView},
};

type CompareResource = Resource<Result<CompareView, crate::error::AppError>>;

#[component]
pub fn ComparePage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let params = use_params_map();
    let query = use_query_map();
    let data: CompareResource = Resource::new(
        move || {
            (
                params.with(|p| p.get("name").unwrap_or_default()),
                query.with(|q| q.get_all("v").unwrap_or_default().join(",")),
            )
        },
        |(name, versions)| compare_versions(name, versions),
    );
    view! {
        <RequirePermission permission=Permission::Read>
            <Compare data/>
        </RequirePermission>
    }
}

#[component]
fn Compare(data: CompareResource) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(c) => Either::Left(view! { <CompareBody c/> }),
                    Err(e) => Either::Right(view! {
                        <section class="panel"><h1>"Compare versions"</h1><p class="alert alert-error" role="alert">{e.to_string()}</p></section>
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CompareBody(c: CompareView) -> impl IntoView {
    let param_keys: BTreeSet<String> = c
        .versions
        .iter()
        .flat_map(|v| v.params.keys().cloned())
        .collect();
    let metric_keys: BTreeSet<String> = c
        .versions
        .iter()
        .flat_map(|v| v.metrics.keys().cloned())
        .collect();
    let curves = families(c.versions.iter().flat_map(|v| {
        v.series
            .iter()
            .map(move |(k, pts)| (format!("{} · {k}", v.version), pts.as_slice()))
    }));
    let model = c.model.clone();
    let model_href = format!("/models/{model}");
    let versions = c.versions;
    let headers = versions
        .iter()
        .map(|v| {
            let href = format!("/models/{model}/versions/{}", v.version);
            let label = v.version.clone();
            let stage = v.stage;
            view! { <th><A href=href>{label}</A>" "<StageBadge stage/></th> }
        })
        .collect_view();
    let (crumb, heading) = (model.clone(), model.clone());
    view! {
        <Title text=format!("Compare {model} · Model Registry")/>
        <nav class="crumbs"><A href="/models">"Catalog"</A>" / "<A href=model_href>{crumb}</A>" / compare"</nav>
        <h1>"Compare versions of "{heading}</h1>
        <section class="panel">
            <table class="table compare-table">
                <thead><tr><th></th>{headers}</tr></thead>
                <tbody>
                    <tr class="section-row"><th colspan="6">"Metrics"</th></tr>
                    {metric_keys.iter().map(|k| {
                        let values: Vec<Option<f64>> = versions.iter().map(|v| v.metrics.get(k).copied()).collect();
                        view! {
                            <tr>
                                <th scope="row">{k.clone()}</th>
                                {values.into_iter().map(|val| view! { <td class="num">{val.map(format_metric).unwrap_or_else(|| "—".into())}</td> }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                    <tr class="section-row"><th colspan="6">"Hyperparameters (differences highlighted)"</th></tr>
                    {param_keys.iter().map(|k| {
                        let values: Vec<Option<String>> = versions.iter().map(|v| v.params.get(k).cloned()).collect();
                        let differs = values.windows(2).any(|w| w[0] != w[1]);
                        view! {
                            <tr class:differs=differs>
                                <th scope="row">{k.clone()}</th>
                                {values.into_iter().map(|val| view! { <td><code>{val.unwrap_or_else(|| "—".into())}</code></td> }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        {(!curves.is_empty()).then(|| view! {
            <section class="panel">
                <h2>"Curves"</h2>
                <div class="charts">
                    {curves.into_iter().map(|(fam, series)| {
                        let spec = ChartSpec { width: 560.0, height: 300.0, x_label: "step".into(), y_label: fam.clone() };
                        view! { <LineChartView chart=line_chart(&spec, &series) title=fam/> }
                    }).collect_view()}
                </div>
            </section>
        })}
    }
}
