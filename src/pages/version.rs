//! `/models/{name}/versions/{semver}`: lineage, parameters, metrics, curves.

use std::collections::BTreeMap;

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    actions::{
        catalog::{get_version, RecordEvaluation},
        workflow::get_version_workflow,
    },
    charts::{line_chart, ChartSpec, Series},
    components::{
        artifacts::ArtifactTable,
        badges::{StageBadge, Tags},
        chart::LineChartView,
        forms::FormError,
        guard::RequirePermission,
        upload::{ArtifactUpload, UploadQueue},
        workflow::{Digest, StageActions, VersionStages},
    },
    domain::{Freeze, Permission},
    dto::{
        format_metric, format_time, EvaluationView, SeriesPoint, VersionDetail, VersionRef,
        VersionWorkflow,
    },
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
    let evaluate = ServerAction::<RecordEvaluation>::new();
    // One resource for the whole page: the version and its stage story.
    let detail: Detail = Resource::new(
        move || {
            let name = params.with(|p| p.get("name").unwrap_or_default());
            let version = params.with(|p| p.get("version").unwrap_or_default());
            (
                name,
                version,
                uploads.get(),
                actions.generation() + evaluate.version().get(),
            )
        },
        |(name, version, ..)| async move {
            let detail = get_version(name.clone(), version.clone()).await?;
            let workflow = get_version_workflow(name, version).await?;
            Ok::<_, AppError>((detail, workflow))
        },
    );
    view! {
        <RequirePermission permission=Permission::Read>
            <VersionView detail uploads queue actions evaluate/>
        </RequirePermission>
    }
}

#[component]
fn VersionView(
    detail: Detail,
    uploads: RwSignal<u32>,
    queue: UploadQueue,
    actions: StageActions,
    evaluate: ServerAction<RecordEvaluation>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok((v, w)) => Either::Left(view! { <VersionBody v w uploads queue actions evaluate/> }),
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
    evaluate: ServerAction<RecordEvaluation>,
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
    // Uploads are offered only while the content may still change.
    let can_upload = can_edit && v.frozen.is_none();
    let frozen = v.frozen;
    let (eval_model, eval_version) = (v.model.clone(), v.version.clone());
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
            <span class="muted">"#"{v.seq}" · "{v.status.as_str()}</span>
        </div>
        <p class="muted">"Registered by "{v.created_by.clone()}" on "{format_time(v.created_at)}</p>
        <p class="release" data-testid="release">
            "Content "<Digest digest=v.content_digest.clone()/>
            {frozen.map(|f| view! { <FrozenBadge freeze=f/> })}
        </p>
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
            {can_upload.then(|| view! {
                <ArtifactUpload model=upload_model version=upload_version queue on_uploaded=move |_| uploads.update(|n| *n += 1)/>
            })}
            {frozen.map(|f| view! {
                <p class="muted">{format!("Files can no longer be added or removed: {}. Register a new version to change them.", f)}</p>
            })}
        </section>
        <section class="panel" id="evaluations">
            <h2>"Evaluations"</h2>
            <p class="muted small">"Results measured after registration. They are kept apart from the training metrics and never change the content digest; each names the digest it was measured on."</p>
            <Evaluations evaluations=v.evaluations.clone()/>
            {can_edit.then(|| view! { <EvaluationForm model=eval_model version=eval_version action=evaluate/> })}
        </section>
        <section class="panel" id="stages">
            <h2>"Stage"</h2>
            <VersionStages w model=stage_model version=stage_version actions/>
        </section>
    }
}

/// Why the version's content is frozen, as a badge.
#[component]
fn FrozenBadge(freeze: Freeze) -> impl IntoView {
    let why = freeze.to_string();
    view! {
        <span class="badge frozen" data-testid="frozen" title=format!("Its files, lineage, parameters and training metrics can no longer change: {why}")>
            {format!("Frozen: {why}")}
        </span>
    }
}

#[component]
fn Evaluations(evaluations: Vec<EvaluationView>) -> impl IntoView {
    if evaluations.is_empty() {
        return Either::Left(view! { <p class="empty">"No evaluation has been recorded."</p> });
    }
    Either::Right(view! {
        <table class="table" data-testid="evaluations">
            <thead><tr><th>"Name"</th><th>"Metrics"</th><th>"Dataset"</th><th>"Measured on"</th><th>"Recorded"</th></tr></thead>
            <tbody>
                {evaluations.into_iter().map(|e| view! {
                    <tr>
                        <td>{e.name.clone()}{(!e.notes.is_empty()).then(|| view! { <div class="muted small">{e.notes.clone()}</div> })}</td>
                        <td>{e.metrics.iter().map(|(k, v)| view! { <div><span class="muted">{k.clone()}" "</span><span class="num">{format_metric(*v)}</span></div> }).collect_view()}</td>
                        <td>{e.dataset.clone().unwrap_or_else(|| "—".into())}</td>
                        <td><Digest digest=Some(e.content_digest.clone())/></td>
                        <td class="nowrap">{format_time(e.created_at)}" · "{e.created_by.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    })
}

#[component]
fn EvaluationForm(
    model: String,
    version: String,
    action: ServerAction<RecordEvaluation>,
) -> impl IntoView {
    view! {
        <FormError result=action.value().into()/>
        <details>
            <summary>"Record an evaluation"</summary>
            <ActionForm action attr:class="stack-form">
                <input type="hidden" name="model" value=model/>
                <input type="hidden" name="version" value=version/>
                <label>"Name"<input type="text" name="name" required maxlength="128" placeholder="staging-eval-2026-12"/></label>
                <label>"Dataset"<input type="text" name="dataset" maxlength="2048" placeholder="s3://data/holdout (optional)"/></label>
                <label>"Metrics, one per line"<textarea name="metrics" rows="3" required placeholder="auc = 0.91"></textarea></label>
                <label>"Notes"<textarea name="notes" rows="2" maxlength="8192"></textarea></label>
                <button type="submit" class="btn">"Record"</button>
            </ActionForm>
        </details>
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
