//! Pieces of the promotion workflow shared by the approvals inbox and the
//! version page: state badges, review lists, and the version's stage panel.

use leptos::{either::Either, prelude::*};

use super::{badges::StageBadge, forms::FormError};
use crate::{
    actions::workflow::{CancelRequest, OpenTransition, RemoveAlias, ReviewRequest, SetAlias},
    domain::{self, Decision, RequestKind},
    dto::{format_time, RequestView, ReviewView, VersionWorkflow},
};

/// What a request asks for, in a line: a stage move, or an alias move.
#[component]
pub fn RequestSubject(r: RequestView) -> impl IntoView {
    let alias = r.alias.clone().unwrap_or_default();
    match r.kind {
        RequestKind::Stage => Either::Left(view! {
            <StageBadge stage=r.from/>" → "<StageBadge stage=r.to/>
        }),
        RequestKind::AliasSet => Either::Right(view! {
            <span class="request-subject">
                "alias "<code class="alias">{alias}</code>" → "<strong>{r.version.clone()}</strong>
                {r.alias_previous.clone().map(|p| view! { <span class="muted">" (now "{p}")"</span> })}
            </span>
        }.into_any()),
        RequestKind::AliasRemove => Either::Right(view! {
            <span class="request-subject">
                "remove alias "<code class="alias">{alias}</code>" from "<strong>{r.version.clone()}</strong>
            </span>
        }.into_any()),
    }
}

/// A content digest, short, with the whole value on hover and for tests.
#[component]
pub fn Digest(digest: Option<String>) -> impl IntoView {
    digest.map(|d| {
        let short = format!("{}…", d.chars().take(19).collect::<String>());
        view! { <code class="digest" title=d.clone() data-digest=d>{short}</code> }
    })
}

#[component]
pub fn RequestState(state: domain::RequestState) -> impl IntoView {
    view! { <span class=format!("badge request-{}", state.as_str())>{state.as_str()}</span> }
}

#[component]
pub fn Reviews(reviews: Vec<ReviewView>) -> impl IntoView {
    (!reviews.is_empty()).then(|| {
        view! {
            <ul class="reviews">
                {reviews.into_iter().map(|r| {
                    let verdict = match r.decision {
                        Decision::Approve => "approved",
                        Decision::Reject => "rejected",
                    };
                    view! {
                        <li class=format!("review review-{}", r.decision.as_str())>
                            <strong>{r.reviewer}</strong>" "{verdict}" on "{format_time(r.at)}
                            {r.content_digest.is_some().then_some(" · content ")}<Digest digest=r.content_digest/>
                            {(!r.comment.is_empty()).then(|| view! { <q>{r.comment}</q> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    })
}

/// The stage panel's actions. The version page owns them, so that its one
/// resource reloads after each of them (a second resource nested inside the
/// page's suspense would not hydrate).
#[derive(Clone, Copy)]
pub struct StageActions {
    open: ServerAction<OpenTransition>,
    review: ServerAction<ReviewRequest>,
    cancel: ServerAction<CancelRequest>,
    set_alias: ServerAction<SetAlias>,
    remove_alias: ServerAction<RemoveAlias>,
}

impl StageActions {
    pub fn new() -> Self {
        Self {
            open: ServerAction::new(),
            review: ServerAction::new(),
            cancel: ServerAction::new(),
            set_alias: ServerAction::new(),
            remove_alias: ServerAction::new(),
        }
    }

    /// Changes whenever one of the actions completes.
    pub fn generation(&self) -> usize {
        self.open.version().get()
            + self.review.version().get()
            + self.cancel.version().get()
            + self.set_alias.version().get()
            + self.remove_alias.version().get()
    }
}

impl Default for StageActions {
    fn default() -> Self {
        Self::new()
    }
}

/// The version page's stage panel: history, requests with their reviews,
/// the request form, and aliases.
#[component]
pub fn VersionStages(
    w: VersionWorkflow,
    model: String,
    version: String,
    actions: StageActions,
) -> impl IntoView {
    view! {
        <FormError result=actions.open.value().into()/>
        <FormError result=actions.review.value().into()/>
        <FormError result=actions.cancel.value().into()/>
        <FormError result=actions.set_alias.value().into()/>
        <FormError result=actions.remove_alias.value().into()/>
        <StagesBody w model version actions/>
    }
}

#[component]
fn StagesBody(
    w: VersionWorkflow,
    model: String,
    version: String,
    actions: StageActions,
) -> impl IntoView {
    let has_open = w.requests.iter().any(|r| r.state.is_open());
    let can_ask = w.can_request && !has_open && !w.required.is_empty();
    let requests: Vec<RequestView> = w.requests.iter().rev().cloned().collect();
    view! {
        <div class="grid-2">
            <div>
                <h3>"History"</h3>
                <ol class="timeline" data-testid="stage-history">
                    {w.history.into_iter().map(|h| view! {
                        <li>
                            {format_time(h.at)}" — "
                            {h.from.map(|f| view! { <StageBadge stage=f/>" → " })}
                            <StageBadge stage=h.to/>" by "<strong>{h.by}</strong>
                            {h.request_id.map(|id| format!(" (request #{id})"))}
                            <span class="muted">" · "{h.reason}</span>
                        </li>
                    }).collect_view()}
                </ol>
                <h3>"Aliases"</h3>
                <AliasPanel aliases=w.aliases protected=w.protected_aliases can_edit=w.can_request model=model.clone() version=version.clone() actions/>
            </div>
            <div>
                {can_ask.then({
                    let (model, version) = (model.clone(), version.clone());
                    move || view! {
                    <h3>"Request a stage change"</h3>
                    <ActionForm action=actions.open attr:class="stack-form">
                        <input type="hidden" name="model" value=model/>
                        <input type="hidden" name="version" value=version/>
                        <label>"Move to "
                            <select name="to">
                                {w.required.iter().map(|(stage, n)| {
                                    let note = match n { 0 => " (no sign-off needed)".to_owned(), 1 => " (1 approval)".to_owned(), n => format!(" ({n} approvals)") };
                                    view! { <option value=stage.as_str()>{format!("{}{note}", stage.title())}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        <label>"Justification"
                            <textarea name="justification" rows="3" required maxlength="4000" placeholder="Why should this version move? Evidence, tickets, dashboards…"></textarea>
                        </label>
                        <button type="submit" class="btn btn-primary">"Request"</button>
                    </ActionForm>
                }})}
                <h3>"Requests"</h3>
                {if requests.is_empty() {
                    Either::Left(view! { <p class="empty">"No stage change has been requested."</p> })
                } else {
                    Either::Right(requests.into_iter().map(|r| view! { <RequestItem r model=model.clone() actions/> }).collect_view())
                }}
            </div>
        </div>
    }
}

#[component]
fn RequestItem(r: RequestView, model: String, actions: StageActions) -> impl IntoView {
    let id = r.id.to_string();
    view! {
        <div class="request" data-request=r.id>
            <p>
                <strong>{format!("#{}", r.id)}</strong>" "
                <RequestSubject r=r.clone()/>" "
                <RequestState state=r.state/>
                <span class="muted">{format!(" · {} of {} approvals · asked by {} on {}", r.approvals, r.required, r.requested_by, format_time(r.created_at))}</span>
            </p>
            {r.content_digest.clone().map(|d| view! { <p class="muted small">"Signed off on content "<Digest digest=Some(d)/></p> })}
            <blockquote class="justification">{r.justification.clone()}</blockquote>
            <Reviews reviews=r.reviews.clone()/>
            {r.close_note.clone().filter(|n| !n.is_empty()).map(|n| view! { <p class="muted">{format!("Closed by {}: {n}", r.closed_by.clone().unwrap_or_default())}</p> })}
            {r.can_review.then({
                let (model, id) = (model.clone(), id.clone());
                let digest = r.content_digest.clone().unwrap_or_default();
                move || view! {
                <ActionForm action=actions.review attr:class="review-form">
                    <input type="hidden" name="model" value=model/>
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="content_digest" value=digest/>
                    <label>"Comment" <textarea name="comment" rows="2" maxlength="2000"></textarea></label>
                    <div class="actions">
                        <button type="submit" name="decision" value="approve" class="btn btn-primary">"Approve"</button>
                        <button type="submit" name="decision" value="reject" class="btn btn-danger">"Reject"</button>
                    </div>
                </ActionForm>
            }})}
            {r.can_cancel.then(move || view! {
                <ActionForm action=actions.cancel attr:class="inline-form">
                    <input type="hidden" name="model" value=model/>
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="reason" value=""/>
                    <button type="submit" class="btn btn-small">"Cancel request"</button>
                </ActionForm>
            })}
        </div>
    }
}

#[component]
fn AliasPanel(
    aliases: Vec<String>,
    protected: Vec<String>,
    can_edit: bool,
    model: String,
    version: String,
    actions: StageActions,
) -> impl IntoView {
    view! {
        {if aliases.is_empty() {
            Either::Left(view! { <p class="empty">"No alias points here."</p> })
        } else {
            Either::Right(view! {
                <ul class="tags" aria-label="Aliases">
                    {aliases.into_iter().map(|a| {
                        let model = model.clone();
                        let locked = protected.contains(&a);
                        let data_alias = a.clone();
                        view! {
                            <li class="tag alias" class:protected=locked data-alias=data_alias>
                                <span>{a.clone()}</span>
                                {locked.then(|| view! { <span class="lock" title="Protected: moving or removing it needs sign-off">"protected"</span> })}
                                {can_edit.then(|| view! {
                                    <ActionForm action=actions.remove_alias attr:class="inline-form">
                                        <input type="hidden" name="model" value=model/>
                                        <input type="hidden" name="alias" value=a.clone()/>
                                        <button type="submit" class="btn-link" aria-label=format!("Remove alias {a}")>"×"</button>
                                    </ActionForm>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
        {can_edit.then(|| view! {
            <ActionForm action=actions.set_alias attr:class="inline-form">
                <input type="hidden" name="model" value=model.clone()/>
                <input type="hidden" name="version" value=version.clone()/>
                <input type="text" name="alias" required maxlength="64" pattern="[A-Za-z0-9_\\-]+" placeholder="champion" aria-label="Alias"/>
                <input type="text" name="justification" maxlength="4000" placeholder="why (for a protected alias)" aria-label="Why move the alias"/>
                <button type="submit" class="btn btn-small">"Point alias here"</button>
            </ActionForm>
            <p class="muted small">"A protected alias (such as champion) moves only after sign-off: pointing it here opens a request."</p>
        })}
    }
}
