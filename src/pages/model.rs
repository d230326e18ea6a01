//! `/models/{name}`: a model, its versions and a metric across versions.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};

use crate::{
    actions::{
        catalog::{get_model, UpdateModel},
        deployments::{get_model_deployments, get_serving_at},
        reports::get_stages_at,
    },
    charts::{bar_chart, Bar, ChartSpec},
    components::{
        badges::{StageBadge, Tags},
        chart::BarChartView,
        forms::FormError,
        guard::RequirePermission,
        report::DeploymentTimelines,
        textarea_text,
    },
    domain::Permission,
    dto::{format_metric, format_time, ModelDetail, ModelEnvironment, ServingAt, StagesAt},
    error::AppError,
};

/// Everything the model page shows, loaded as one resource.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct ModelData {
    model: ModelDetail,
    stages: Option<Result<StagesAt, AppError>>,
    deployments: Vec<ModelEnvironment>,
    serving: Option<Result<ServingAt, AppError>>,
}

type ModelResource = Resource<Result<ModelData, AppError>>;

#[component]
pub fn ModelPage() -> impl IntoView {
    // The page's state is made outside the permission guard: the guard can
    // render its children twice on the server, and a resource made inside
    // it would be made twice, its first data then disagreeing with the page.
    let params = use_params_map();
    let query = use_query_map();
    let update = ServerAction::<UpdateModel>::new();
    // One resource for the page (a second one nested in its suspense would
    // not hydrate): the model, and its stages at `as_of` when one is asked.
    let model: ModelResource = Resource::new(
        move || {
            (
                params.with(|p| p.get("name").unwrap_or_default()),
                query.with(|q| q.get("metric")),
                query.with(|q| q.get("as_of").filter(|s| !s.trim().is_empty())),
                query.with(|q| q.get("env").filter(|s| !s.trim().is_empty())),
                query.with(|q| q.get("served_at")),
                update.version().get(),
            )
        },
        |(name, metric, as_of, env, served_at, _)| async move {
            let model = get_model(name.clone(), metric).await?;
            let stages = match as_of {
                Some(at) => Some(get_stages_at(name.clone(), Some(at)).await),
                None => None,
            };
            let deployments = get_model_deployments(name.clone()).await?;
            let serving = match env {
                Some(env) => Some(get_serving_at(env, served_at, Some(name)).await),
                None => None,
            };
            Ok::<_, AppError>(ModelData {
                model,
                stages,
                deployments,
                serving,
            })
        },
    );
    view! {
        <RequirePermission permission=Permission::Read>
            <ModelView model update/>
        </RequirePermission>
    }
}

#[component]
fn ModelView(model: ModelResource, update: ServerAction<UpdateModel>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match model.await {
                    Ok(data) => Either::Left(view! { <ModelBody data update/> }),
                    Err(e) => Either::Right(view! {
                        <section class="panel"><h1>"Model"</h1><p class="alert alert-error" role="alert">{e.to_string()}</p></section>
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ModelBody(data: ModelData, update: ServerAction<UpdateModel>) -> impl IntoView {
    let ModelData {
        model: m,
        stages,
        deployments,
        serving,
    } = data;
    let name = m.name.clone();
    let metric = m.headline_metric.clone();
    let bars: Vec<Bar> = m
        .versions
        .iter()
        .rev()
        .filter_map(|v| {
            v.headline.map(|value| Bar {
                label: v.version.clone(),
                value,
            })
        })
        .collect();
    let chart = metric.clone().filter(|_| !bars.is_empty()).map(|metric| {
        let spec = ChartSpec {
            width: 720.0,
            height: 280.0,
            x_label: "version".into(),
            y_label: metric.clone(),
        };
        let chart = bar_chart(&spec, &bars);
        let title = format!("{metric} across versions");
        let keys = m.metric_keys.clone();
        view! {
            <section class="panel">
                <MetricPicker keys selected=metric/>
                <BarChartView chart title/>
            </section>
        }
    });
    let metric_header = metric.unwrap_or_else(|| "metric".into());
    let rows = m
        .versions
        .iter()
        .map(|v| {
            let href = format!("/models/{name}/versions/{}", v.version);
            let (value, label, aria) = (v.version.clone(), v.version.clone(), format!("compare {}", v.version));
            let stage = v.stage;
            view! {
                <tr>
                    <td><input type="checkbox" name="v" value=value aria-label=aria/></td>
                    <td><A href=href>{label}</A></td>
                    <td>{v.seq}</td>
                    <td><StageBadge stage/></td>
                    <td>{v.status.as_str()}</td>
                    <td class="nowrap">{format_time(v.created_at)}</td>
                    <td>{v.created_by.clone()}</td>
                    <td class="num">{v.headline.map(format_metric).unwrap_or_else(|| "—".into())}</td>
                </tr>
            }
        })
        .collect_view();
    let versions = if m.versions.is_empty() {
        Either::Left(
            view! { <p class="empty">"No versions yet. Register one with POST /api/v1/models/"{name.clone()}"/versions."</p> },
        )
    } else {
        let compare_action = format!("/models/{name}/compare");
        Either::Right(view! {
            <Form method="GET" action=compare_action>
                <table class="table versions-table">
                    <thead><tr>
                        <th><span class="sr-only">"Compare"</span></th><th>"Version"</th><th>"#"</th><th>"Stage"</th><th>"Status"</th>
                        <th>"Registered"</th><th>"By"</th><th>{metric_header}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <button type="submit" class="btn">"Compare selected (2–5)"</button>
            </Form>
        })
    };
    let edit = m
        .can_edit
        .then(|| view! { <EditModel m=m.clone() update/> });
    let team = (!m.about.team.is_empty()).then(
        || view! { <span class="team">"team "<strong>{m.about.team.clone()}</strong></span> },
    );
    let (title, crumb, heading) = (
        format!("{name} · Model Registry"),
        name.clone(),
        name.clone(),
    );
    view! {
        <Title text=title/>
        <nav class="crumbs"><A href="/models">"Catalog"</A>" / "<span>{crumb}</span></nav>
        <div class="page-head">
            <h1 class="model-title">{heading}</h1>
            {team}
        </div>
        <p class="muted">"Registered by "{m.created_by.clone()}" on "{format_time(m.created_at)}" · updated "{format_time(m.updated_at)}</p>
        <Tags tags=m.tags.clone()/>
        <section class="panel description" inner_html=m.description_html.clone()></section>
        {edit}
        <section class="panel">
            <h2>"Versions"</h2>
            {versions}
        </section>
        {chart}
        <Deployments deployments serving can_audit=m.can_audit/>
        <AsOf name=name.clone() stages can_audit=m.can_audit/>
    }
}

/// Where the model ran: each environment's timeline with its violations,
/// and "what served in E at T".
#[component]
fn Deployments(
    deployments: Vec<ModelEnvironment>,
    serving: Option<Result<ServingAt, AppError>>,
    can_audit: bool,
) -> impl IntoView {
    if deployments.is_empty() && serving.is_none() {
        return view! {
            <section class="panel" id="deployments">
                <h2>"Deployments"</h2>
                <p class="empty">"No environment has reported serving this model."</p>
            </section>
        }
        .into_any();
    }
    let envs: Vec<String> = deployments
        .iter()
        .map(|e| e.environment.name.clone())
        .collect();
    let asked_env = serving
        .as_ref()
        .and_then(|s| s.as_ref().ok())
        .map(|s| s.environment.clone());
    let asked_at = serving.as_ref().and_then(|s| s.as_ref().ok()).map(|s| s.at);
    let answer = serving.map(|result| match result {
        Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
        Ok(s) if s.serving.is_empty() => view! {
            <p class="alert" data-testid="serving-answer">{format!("Nothing of this model served in {} at {}.", s.environment, format_time(s.at))}</p>
        }.into_any(),
        Ok(s) => {
            let attribution = format!("/attribution?environment={}&at={}", s.environment, s.at);
            view! {
                <div data-testid="serving-answer">
                    {s.serving.iter().map(|span| view! {
                        <p class="alert alert-ok">
                            {format!("At {}, {} served version {} (since {}{}).", crate::domain::Instant(s.at).to_rfc3339(), s.environment, span.version, crate::domain::Instant(span.from).to_rfc3339(), span.receipt_id.as_ref().map(|r| format!(", receipt {r}")).unwrap_or_default())}
                        </p>
                    }).collect_view()}
                    {can_audit.then(|| view! { <p><A href=attribution>"Full attribution (lineage, approvals, receipt) →"</A></p> })}
                </div>
            }.into_any()
        }
    });
    let end = crate::dto::timeline_end(&deployments);
    view! {
        <section class="panel" id="deployments">
            <h2>"Deployments"</h2>
            <DeploymentTimelines environments=deployments end/>
            <h3>"What served at a point in time"</h3>
            <Form method="GET" action="" attr:class="row-form">
                <label>"Environment"
                    <select name="env">
                        {envs.into_iter().map(|e| {
                            let selected = asked_env.as_deref() == Some(e.as_str());
                            let value = e.clone();
                            view! { <option value=value selected=selected>{e}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"At (UTC)" <input type="datetime-local" name="served_at" step="1" value=asked_at.map(as_of_value).unwrap_or_default()/></label>
                <button type="submit" class="btn">"Show what served"</button>
            </Form>
            {answer}
        </section>
    }
    .into_any()
}

/// "Which version was where at…": a point-in-time answer, and the way to
/// the compliance report for those who may read it.
#[component]
fn AsOf(
    name: String,
    stages: Option<Result<StagesAt, AppError>>,
    can_audit: bool,
) -> impl IntoView {
    let asked = stages.as_ref().and_then(|s| s.as_ref().ok()).map(|s| s.at);
    let answer = match stages {
        None => None,
        Some(Err(e)) => Some(view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any()),
        Some(Ok(s)) => Some(view! {
            <table class="table as-of-table" data-testid="stages-as-of">
                <thead><tr><th>"Stage"</th><th>"Version"</th><th>"Since"</th></tr></thead>
                <tbody>
                    {s.stages.into_iter().filter(|(_, v)| !v.is_empty()).flat_map(|(stage, versions)| {
                        versions.into_iter().map(move |v| view! {
                            <tr><td><StageBadge stage/></td><td>{v.version}</td><td class="nowrap">{format_time(v.since)}</td></tr>
                        })
                    }).collect_view()}
                </tbody>
            </table>
        }.into_any()),
    };
    let report_href = format!("/models/{name}/report");
    view! {
        <section class="panel" id="as-of">
            <h2>"Stages at a point in time"</h2>
            <Form method="GET" action="" attr:class="row-form">
                <label>"As of (UTC)" <input type="datetime-local" name="as_of" step="1" value=asked.map(as_of_value).unwrap_or_default()/></label>
                <button type="submit" class="btn">"Show stages"</button>
            </Form>
            {answer}
            {can_audit.then(|| view! { <p><A href=report_href>"Compliance report for this model →"</A></p> })}
        </section>
    }
}

/// A `datetime-local` value (UTC) for a time in milliseconds.
fn as_of_value(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[component]
fn MetricPicker(keys: Vec<String>, selected: String) -> impl IntoView {
    view! {
        <Form method="GET" action="" attr:class="row-form">
            <label>"Metric"
                <select name="metric">
                    {keys.into_iter().map(|k| {
                        let is = k == selected;
                        let value = k.clone();
                        view! { <option value=value selected=is>{k}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="btn">"Show"</button>
        </Form>
    }
}

#[component]
fn EditModel(m: ModelDetail, update: ServerAction<UpdateModel>) -> impl IntoView {
    let tags_text = m
        .tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    view! {
        <details class="panel">
            <summary>"Edit model"</summary>
            <FormError result=update.value().into()/>
            <ActionForm action=update attr:class="stack">
                <input type="hidden" name="model" value=m.name.clone()/>
                <label>"Name (renaming keeps old links working)" <input type="text" name="name" required maxlength="128" value=m.name.clone()/></label>
                <label>"Team" <input type="text" name="team" maxlength="64" value=m.about.team.clone()/></label>
                <label>"Description (Markdown)" <textarea name="description" rows="8">{textarea_text(&m.about.description)}</textarea></label>
                <label>"Tags (one key=value per line)" <textarea name="tags" rows="4">{textarea_text(&tags_text)}</textarea></label>
                <button type="submit" class="btn btn-primary">"Save"</button>
            </ActionForm>
        </details>
    }
}
