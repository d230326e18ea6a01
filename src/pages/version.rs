//! `/models/{name}/versions/{semver}`: lineage, parameters, metrics, curves.

use std::collections::BTreeMap;

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    actions::{catalog::get_version, workflow::get_version_workflow},
    charts::{line_chart, ChartSpec, Series},
    components::{
        artifacts::ArtifactTable,
        badges::{StageBadge, Tags},
        chart::LineChartView,
        forms::FormError,
        guard::RequirePermission,
        upload::{ArtifactUpload, UploadQueue},
        workflow::{StageActions, VersionStages},
    },
    domain::Permission,
    dto::{format_metric, format_time, SeriesPoint, VersionDetail, VersionRef, VersionWorkflow},
    error::AppError,
};

type Detail = Resource<Result<(VersionDetail, VersionWorkflow), AppError>>;

#[component]
pub fn VersionPage() -> impl IntoView {
    // The page's state is made outside the permission guard: the guard can
    // render its children twice on the server, and a resource made inside
    // it would be made twice, its first data then disagreeing with the page.
    let params = use_params_map();
    // Bumped when an upload finishes, to reload the artifact list.
    let uploads = RwSignal::new(0u32);
    let queue = UploadQueue::new();
    let actions = StageActions::new();
    // One resource for the whole page: the version and its stage story.
    let detail: Detail = Resource::new(
        move || {
            let name = params.with(|p| p.get("name").unwrap_or_default());
            let version = params.with(|p| p.get("version").unwrap_or_default());
            (name, version, uploads.get(), actions.generation())
        },
        |(name, version, ..)| async move {
            let detail = get_version(name.clone(), version.clone()).await?;
            let workflow = get_version_workflow(name, version).await?;
            Ok::<_, AppError>((detail, workflow))
        },
    );
    view! {
        <RequirePermission permission=Permission::Read>
            <VersionView detail uploads queue actions/>
        </RequirePermission>
    }
}

#[component]
fn VersionView(
    detail: Detail,
    uploads: RwSignal<u32>,
    queue: UploadQueue,
    actions: StageActions,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok((v, w)) => Either::Left(view! { <VersionBody v w uploads queue actions/> }),
                    Err(e) => Either::Right(view! {
                        <section class="panel"><h1>"Version"</h1><p class="alert alert-error" role="alert">{e.to_string()}</p></section>
                    }),
                }
            })}
        </Transition>
    }
}

/// `train_loss` and `val_loss` are one family (`loss`), drawn on one chart.
pub fn family(key: &str) -> &str {
    for prefix in [
        "train_",
        "training_",
        "val_",
        "valid_",
        "validation_",
        "test_",
        "eval_",
    ] {
        if let Some(rest) = key.strip_prefix(prefix) {
            return rest;
        }
    }
    for suffix in ["_train", "_val", "_validation", "_test", "_eval"] {
        if let Some(rest) = key.strip_suffix(suffix) {
            return rest;
        }
    }
    key
}

/// Series grouped by family: family → [(label, points)].
pub fn families<'a>(
    series: impl IntoIterator<Item = (String, &'a [SeriesPoint])>,
) -> BTreeMap<String, Vec<Series>> {
    let mut out: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for (label, points) in series {
        let fam = family(label.rsplit(" · ").next().unwrap_or(&label)).to_owned();
        out.entry(fam).or_default().push(Series {
            label,
            points: points.iter().map(|p| (p.step as f64, p.value)).collect(),
        });
    }
    out
}

fn version_link(r: &VersionRef) -> impl IntoView {
    let href = format!("/models/{}/versions/{}", r.model, r.version);
    view! { <A href=href>{format!("{} {}", r.model, r.version)}</A> }
}

#[component]
fn VersionBody(
    v: VersionDetail,
    w: VersionWorkflow,
    uploads: RwSignal<u32>,
    queue: UploadQueue,
    actions: StageActions,
) -> impl IntoView {
    let l = v.lineage.clone();
    let charts = families(v.series.iter().map(|(k, pts)| (k.clone(), pts.as_slice())));
    let model_href = format!("/models/{}", v.model);
    let (title, crumb_model, crumb_version, heading_model, heading_version) = (
        format!("{} {} · Model Registry", v.model, v.version),
        v.model.clone(),
        v.version.clone(),
        v.model.clone(),
        v.version.clone(),
    );
    let can_edit = v.can_edit;
    let no_lineage = l == crate::dto::LineageView::default() && v.children.is_empty();
    let (upload_model, upload_version) = (v.model.clone(), v.version.clone());
    let (stage_model, stage_version) = (v.model.clone(), v.version.clone());
    let row = |label: &'static str, value: Option<String>| {
        value.map(|value| view! { <dt>{label}</dt><dd><code>{value}</code></dd> })
    };
    view! {
        <Title text=title/>
        <nav class="crumbs"><A href="/models">"Catalog"</A>" / "<A href=model_href>{crumb_model}</A>" / "<span>{crumb_version}</span></nav>
        <div class="page-head">
            <h1>{heading_model}" "<span class="version">{heading_version}</span></h1>
            <StageBadge stage=v.stage/>
            <span class="muted">"#"{v.seq}" · "{v.status.clone()}</span>
        </div>
        <p class="muted">"Registered by "{v.created_by.clone()}" on "{format_time(v.created_at)}</p>
        <Tags tags=v.tags.clone()/>
        <section class="panel description" inner_html=v.description_html.clone()></section>
        <div class="grid-2">
            <section class="panel">
                <h2>"Lineage"</h2>
                <Show when=move || no_lineage>
                    <p class="empty">"No lineage was recorded for this version."</p>
                </Show>
                <dl class="kv">
                    {row("Source repository", l.source_repo.clone())}
                    {row("Commit", l.commit_sha.clone())}
                    {row("Training script", l.training_script.clone())}
                    {row("Dataset", l.dataset_name.clone())}
                    {row("Dataset version", l.dataset_version.clone())}
                    {row("Dataset URI", l.dataset_uri.clone())}
                    {row("Dataset hash", l.dataset_hash.clone())}
                    {row("Framework", l.framework.clone().map(|f| format!("{f} {}", l.framework_version.clone().unwrap_or_default())))}
                    {l.parent.as_ref().map(|p| view! { <dt>"Parent"</dt><dd>{version_link(p)}</dd> })}
                    {(!v.children.is_empty()).then(|| view! {
                        <dt>"Derived versions"</dt>
                        <dd><ul class="plain">{v.children.iter().map(|c| view! { <li>{version_link(c)}</li> }).collect_view()}</ul></dd>
                    })}
                </dl>
                {l.dependencies.clone().map(|d| view! { <details><summary>"Dependencies"</summary><pre>{d}</pre></details> })}
            </section>
            <section class="panel">
                <h2>"Metrics"</h2>
                {if v.metrics.is_empty() {
                    Either::Left(view! { <p class="empty">"No scalar metrics."</p> })
                } else {
                    Either::Right(view! {
                        <table class="table"><tbody>
                            {v.metrics.iter().map(|(k, val)| view! { <tr><th scope="row">{k.clone()}</th><td class="num">{format_metric(*val)}</td></tr> }).collect_view()}
                        </tbody></table>
                    })
                }}
                <h2>"Hyperparameters"</h2>
                {if v.params.is_empty() {
                    Either::Left(view! { <p class="empty">"No hyperparameters."</p> })
                } else {
                    Either::Right(view! {
                        <table class="table"><tbody>
                            {v.params.iter().map(|(k, val)| view! { <tr><th scope="row">{k.clone()}</th><td><code>{val.clone()}</code></td></tr> }).collect_view()}
                        </tbody></table>
                    })
                }}
            </section>
        </div>
        {(!charts.is_empty()).then(|| view! {
            <section class="panel">
                <h2>"Training curves"</h2>
                <div class="charts">
                    {charts.into_iter().map(|(fam, series)| {
                        let spec = ChartSpec { width: 560.0, height: 280.0, x_label: "step".into(), y_label: fam.clone() };
                        view! { <LineChartView chart=line_chart(&spec, &series) title=fam/> }
                    }).collect_view()}
                </div>
            </section>
        })}
        <section class="panel" id="artifacts">
            <h2>"Artifacts"</h2>
            <FormError result=Signal::derive(|| None::<Result<(), crate::error::AppError>>)/>
            <ArtifactTable artifacts=v.artifacts.clone()/>
            {can_edit.then(|| view! {
                <ArtifactUpload model=upload_model version=upload_version queue on_uploaded=move |_| uploads.update(|n| *n += 1)/>
            })}
        </section>
        <section class="panel" id="stages">
            <h2>"Stage"</h2>
            <VersionStages w model=stage_model version=stage_version actions/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn train_and_validation_series_share_a_family() {
        for (key, fam) in [
            ("train_loss", "loss"),
            ("val_loss", "loss"),
            ("loss", "loss"),
            ("accuracy_val", "accuracy"),
            ("lr", "lr"),
        ] {
            assert_eq!(family(key), fam);
        }
    }
}
