//! `/approvals`: the inbox of pending promotion requests, each with what a
//! reviewer needs (lineage, metrics against production, the justification),
//! and the reader's own requests with their state.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    actions::workflow::{get_inbox, CancelRequest, ReviewRequest},
    charts::{bar_chart, Bar, ChartSpec},
    components::{
        chart::BarChartView,
        forms::FormError,
        guard::RequirePermission,
        workflow::{Digest, RequestState as StateBadge, RequestSubject, Reviews},
    },
    domain::Permission,
    dto::{format_metric, format_time, MetricsOf, RequestView, ReviewCard},
};

#[derive(Clone, Copy)]
struct Actions {
    review: ServerAction<ReviewRequest>,
    cancel: ServerAction<CancelRequest>,
}

type InboxResource = Resource<Result<crate::dto::Inbox, crate::error::AppError>>;

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let actions = Actions {
        review: ServerAction::new(),
        cancel: ServerAction::new(),
    };
    let inbox: InboxResource = Resource::new(
        move || {
            (
                actions.review.version().get(),
                actions.cancel.version().get(),
            )
        },
        |_| get_inbox(),
    );
    view! {
        <Title text="Approvals · Model Registry"/>
        <RequirePermission permission=Permission::Read>
            <Inbox inbox actions/>
        </RequirePermission>
    }
}

#[component]
fn Inbox(inbox: InboxResource, actions: Actions) -> impl IntoView {
    view! {
        <h1>"Approvals"</h1>
        <FormError result=actions.review.value().into()/>
        <FormError result=actions.cancel.value().into()/>
        <Transition fallback=|| view! { <p class="muted">"Loading requests…"</p> }>
            {move || Suspend::new(async move {
                match inbox.await {
                    Ok(inbox) => Either::Left(view! {
                        <section aria-labelledby="pending-heading">
                            <h2 id="pending-heading">"Pending ("{inbox.pending.len()}")"</h2>
                            {if inbox.pending.is_empty() {
                                Either::Left(view! { <p class="panel empty">"No requests are pending."</p> })
                            } else {
                                Either::Right(inbox.pending.into_iter().map(|card| view! { <Card card actions/> }).collect_view())
                            }}
                        </section>
                        <section class="panel" aria-labelledby="mine-heading">
                            <h2 id="mine-heading">"Your requests"</h2>
                            <MyRequests requests=inbox.mine actions/>
                        </section>
                    }),
                    Err(e) => Either::Right(view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }),
                }
            })}
        </Transition>
    }
}

fn version_href(r: &RequestView) -> String {
    format!("/models/{}/versions/{}", r.model, r.version)
}

#[component]
fn Card(card: ReviewCard, actions: Actions) -> impl IntoView {
    let r = card.request.clone();
    let l = card.lineage.clone();
    let row = |label: &'static str, value: Option<String>| {
        value.map(|value| view! { <dt>{label}</dt><dd><code>{value}</code></dd> })
    };
    let parent = l.parent.as_ref().map(|p| {
        let href = format!("/models/{}/versions/{}", p.model, p.version);
        view! { <dt>"Parent"</dt><dd><A href=href>{format!("{} {}", p.model, p.version)}</A></dd> }
    });
    let (model, id) = (r.model.clone(), r.id.to_string());
    view! {
        <article class="panel review-card" data-request=r.id>
            <header class="page-head">
                <h3><A href=version_href(&r)>{format!("{} {}", r.model, r.version)}</A></h3>
                <RequestSubject r=r.clone()/>
                <span class="muted">{format!("#{} · {} of {} approvals", r.id, r.approvals, r.required)}</span>
            </header>
            <p class="muted">"Requested by "<strong>{r.requested_by.clone()}</strong>" on "{format_time(r.created_at)}" · expires "{format_time(r.expires_at)}</p>
            <p class="muted">"You sign off exactly this content: "<Digest digest=r.content_digest.clone()/></p>
            <blockquote class="justification">{r.justification.clone()}</blockquote>
            <div class="grid-2">
                <div>
                    <h4>"Lineage"</h4>
                    <dl class="kv">
                        {row("Commit", l.commit_sha.clone())}
                        {row("Source", l.source_repo.clone())}
                        {row("Dataset", l.dataset_name.clone().map(|d| format!("{d} {}", l.dataset_version.clone().unwrap_or_default())))}
                        {row("Dataset hash", l.dataset_hash.clone())}
                        {row("Framework", l.framework.clone())}
                        {parent}
                    </dl>
                </div>
                <div>
                    <h4>"Metrics against production"</h4>
                    <MetricsComparison candidate=card.candidate.clone() production=card.production.clone()/>
                </div>
            </div>
            <Reviews reviews=r.reviews.clone()/>
            {r.can_review.then({
                let (model, id) = (model.clone(), id.clone());
                let digest = r.content_digest.clone().unwrap_or_default();
                move || view! {
                <ActionForm action=actions.review attr:class="review-form">
                    <input type="hidden" name="model" value=model/>
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="content_digest" value=digest/>
                    <label>"Comment "<span class="muted">"(required to reject)"</span>
                        <textarea name="comment" rows="2" maxlength="2000"></textarea>
                    </label>
                    <div class="actions">
                        <button type="submit" name="decision" value="approve" class="btn btn-primary">"Approve"</button>
                        <button type="submit" name="decision" value="reject" class="btn btn-danger">"Reject"</button>
                    </div>
                </ActionForm>
            }})}
            {r.can_cancel.then(move || view! { <CancelForm model id action=actions.cancel/> })}
        </article>
    }
}

#[component]
fn CancelForm(model: String, id: String, action: ServerAction<CancelRequest>) -> impl IntoView {
    view! {
        <ActionForm action attr:class="inline-form">
            <input type="hidden" name="model" value=model/>
            <input type="hidden" name="id" value=id/>
            <input type="text" name="reason" maxlength="2000" placeholder="reason (optional)" aria-label="Reason for cancelling"/>
            <button type="submit" class="btn btn-small">"Cancel request"</button>
        </ActionForm>
    }
}

/// The candidate's metrics beside production's, as a table and a chart.
#[component]
fn MetricsComparison(candidate: MetricsOf, production: Option<MetricsOf>) -> impl IntoView {
    if candidate.metrics.is_empty() {
        return Either::Left(view! { <p class="empty">"This version recorded no metrics."</p> });
    }
    let prod_label = production
        .as_ref()
        .map(|p| p.version.clone())
        .unwrap_or_else(|| "none in production".into());
    let mut bars = Vec::new();
    for (key, value) in &candidate.metrics {
        bars.push(Bar {
            label: format!("{key} {}", candidate.version),
            value: *value,
        });
        if let Some(p) = production.as_ref().and_then(|p| p.metrics.get(key)) {
            bars.push(Bar {
                label: format!("{key} {prod_label}"),
                value: *p,
            });
        }
    }
    let spec = ChartSpec {
        width: 480.0,
        height: 220.0,
        x_label: String::new(),
        y_label: String::new(),
    };
    let rows = candidate
        .metrics
        .iter()
        .map(|(key, value)| {
            let prod = production.as_ref().and_then(|p| p.metrics.get(key)).copied();
            let delta = prod.map(|p| value - p);
            view! {
                <tr>
                    <th scope="row">{key.clone()}</th>
                    <td class="num">{format_metric(*value)}</td>
                    <td class="num">{prod.map(format_metric).unwrap_or_else(|| "—".into())}</td>
                    <td class="num" class:up=delta.is_some_and(|d| d > 0.0) class:down=delta.is_some_and(|d| d < 0.0)>
                        {delta.map(|d| format!("{}{}", if d > 0.0 { "+" } else { "" }, format_metric(d))).unwrap_or_default()}
                    </td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <table class="table">
            <thead><tr><th>"Metric"</th><th class="num">{candidate.version.clone()}</th><th class="num">{prod_label.clone()}</th><th class="num">"Δ"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <BarChartView chart=bar_chart(&spec, &bars) title=format!("{} vs production", candidate.version)/>
    })
}

#[component]
fn MyRequests(requests: Vec<RequestView>, actions: Actions) -> impl IntoView {
    if requests.is_empty() {
        return Either::Left(
            view! { <p class="empty">"You have not asked for any promotion yet."</p> },
        );
    }
    Either::Right(view! {
        <table class="table">
            <thead><tr><th>"#"</th><th>"Version"</th><th>"Move"</th><th>"State"</th><th>"Approvals"</th><th>"Opened"</th><th>"Outcome"</th><th></th></tr></thead>
            <tbody>
                {requests.into_iter().map(|r| {
                    let outcome = match (&r.closed_by, &r.close_note) {
                        (Some(by), Some(note)) if !note.is_empty() => format!("{by}: {note}"),
                        (Some(by), _) => by.clone(),
                        _ => String::new(),
                    };
                    view! {
                        <tr data-request=r.id>
                            <td>{r.id}</td>
                            <td><A href=version_href(&r)>{format!("{} {}", r.model, r.version)}</A></td>
                            <td><RequestSubject r=r.clone()/></td>
                            <td><StateBadge state=r.state/></td>
                            <td>{format!("{} / {}", r.approvals, r.required)}</td>
                            <td>{format_time(r.created_at)}</td>
                            <td>{outcome}</td>
                            <td>{r.can_cancel.then(|| view! { <CancelForm model=r.model.clone() id=r.id.to_string() action=actions.cancel/> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    })
}
