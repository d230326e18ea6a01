//! The promotion workflow: opening, reviewing and cancelling transition
//! requests, and applying a stage change once the policy is met.
//!
//! Every write locks the model row first (`lookup::lock_model`: `FOR UPDATE`
//! on Postgres, the single writer on SQLite). Approvals of one request and
//! promotions of two versions of one model therefore run one after another,
//! and each sees what the previous one committed: a request is applied once,
//! and one version ends in production. Unique indexes (one open request per
//! version, one sign-off per reviewer, one production version per model)
//! back that up in the database.

use serde_json::{json, Value};

use super::{
    alias_moves::{self, AliasMove},
    audit, begin, commit, content, lookup, stored, Ctx,
};
use crate::{
    domain::{
        can_cancel, can_open, decide, AliasName, ApprovalPolicy, ContentDigest, Decision, Lapse,
        ModelName, Outcome, Permission, PolicyOverride, RequestKind, RequestSnapshot, RequestState,
        SemVer, Stage, WebhookEvent, WorkflowError,
    },
    dto::{RequestView, ReviewView},
    error::{AppError, Missing},
    server::{
        auth::Principal,
        db::{now_ms, OnUnique, Tx},
        repo::{
            audit::{Actor, Origin},
            models::ModelRow,
            versions::VersionRow,
            workflow::{
                self as repo, NewRequest, NewReview, NewStageChange, RequestRow, ReviewRow,
            },
        },
        state::AppState,
    },
};

pub const JUSTIFICATION_MAX_CHARS: usize = 4000;
pub const COMMENT_MAX_CHARS: usize = 2000;

/// Why a version should move, as typed by the requester.
pub struct Justification(String);

impl Justification {
    /// The text an edge records when its protocol cannot carry one (an
    /// MLflow client, say): fixed, so it is never mistaken for a person's words.
    pub fn stated_by_edge(text: &'static str) -> Self {
        Self(text.to_owned())
    }

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(AppError::invalid(
                "justification",
                "is required: say why this version should move",
            ));
        }
        if text.chars().count() > JUSTIFICATION_MAX_CHARS {
            return Err(AppError::invalid(
                "justification",
                format!("must be at most {JUSTIFICATION_MAX_CHARS} characters"),
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

/// A reviewer's comment: optional on approval, required on rejection, so
/// the requester always learns why.
pub fn parse_comment(raw: &str, decision: Decision) -> Result<String, AppError> {
    let text = raw.trim();
    if text.chars().count() > COMMENT_MAX_CHARS {
        return Err(AppError::invalid(
            "comment",
            format!("must be at most {COMMENT_MAX_CHARS} characters"),
        ));
    }
    if text.is_empty() && decision == Decision::Reject {
        return Err(AppError::invalid(
            "comment",
            "is required when rejecting: tell the requester why",
        ));
    }
    Ok(text.to_owned())
}

/// Maps a refused workflow step to the error the caller sees.
pub fn workflow_error(e: WorkflowError) -> AppError {
    match e {
        WorkflowError::Transition(t) => AppError::invalid("to", t.to_string()),
        WorkflowError::SelfApproval | WorkflowError::NotAllowedToCancel => {
            AppError::NotAllowed(e.to_string())
        }
        WorkflowError::NotOpen(_)
        | WorkflowError::Expired
        | WorkflowError::Moot { .. }
        | WorkflowError::ContentChanged { .. }
        | WorkflowError::VersionDeleted
        | WorkflowError::AlreadySignedOff => AppError::Conflict(e.to_string()),
    }
}

fn stored_digest(raw: Option<&str>) -> Result<Option<ContentDigest>, AppError> {
    raw.map(|d| stored("content digest", d)).transpose()
}

/// The model's effective policy: the registry's, with the model's override.
pub async fn effective_policy(
    conn: &mut sqlx::AnyConnection,
    model_id: i64,
) -> Result<ApprovalPolicy, AppError> {
    let base = match repo::policy_json(conn, repo::REGISTRY_SCOPE).await? {
        Some(json) => decode::<ApprovalPolicy>(&json)?,
        None => ApprovalPolicy::default(),
    };
    let pinned = match repo::policy_json(conn, model_id).await? {
        Some(json) => decode::<PolicyOverride>(&json)?,
        None => PolicyOverride::default(),
    };
    Ok(pinned.apply(&base))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, AppError> {
    serde_json::from_str(json).map_err(|e| {
        tracing::error!(error = %e, "stored policy does not parse");
        AppError::Internal
    })
}

/// What `decide` needs. `digest_now` is the version's content digest as the
/// caller knows it: recomputed from the rows when acting, the stored
/// column when only showing.
pub(crate) fn snapshot(
    row: &RequestRow,
    reviews: &[ReviewRow],
    digest_now: Option<ContentDigest>,
) -> Result<RequestSnapshot, AppError> {
    Ok(RequestSnapshot {
        state: row.state,
        requested_by: row.requested_by,
        from: row.from_stage,
        to: row.to_stage,
        created_at: row.created_at,
        expires_at: row.expires_at,
        approvals: reviews
            .iter()
            .filter(|r| r.request_id == row.id && r.decision == Decision::Approve)
            .map(|r| r.reviewer_id)
            .collect(),
        required: u8::try_from(row.required).unwrap_or(u8::MAX),
        version_stage_now: row.version_stage,
        digest_at_open: stored_digest(row.content_digest.as_deref())?,
        digest_now,
        version_live: row.version_deleted_at.is_none(),
    })
}

/// A request as `reader` sees it at `now`: a lapsed but not yet swept
/// request already shows its final state and offers no buttons.
pub(crate) fn view(
    row: &RequestRow,
    reviews: &[ReviewRow],
    reader: &Principal,
    now: i64,
) -> Result<RequestView, AppError> {
    let snap = snapshot(row, reviews, stored_digest(row.version_digest.as_deref())?)?;
    let state = snap.lapsed(now).unwrap_or(snap.state);
    let mine: Vec<&ReviewRow> = reviews.iter().filter(|r| r.request_id == row.id).collect();
    let live = state.is_open();
    let reviewed = mine.iter().any(|r| r.reviewer_id == reader.user_id);
    Ok(RequestView {
        id: row.id,
        kind: row.kind,
        model: row.model_name.clone(),
        version: row.version.clone(),
        from: snap.from,
        to: snap.to,
        alias: row.alias.clone(),
        alias_previous: row.alias_previous.clone(),
        content_digest: row.content_digest.clone(),
        state,
        justification: row.justification.clone(),
        requested_by: row.requested_by_name.clone(),
        created_at: row.created_at,
        expires_at: row.expires_at,
        required: snap.required,
        approvals: u8::try_from(snap.approvals.len()).unwrap_or(u8::MAX),
        reviews: mine
            .iter()
            .map(|r| {
                Ok(ReviewView {
                    reviewer: r.reviewer_name.clone(),
                    decision: r.decision,
                    comment: r.comment.clone(),
                    at: r.created_at,
                    content_digest: r.content_digest.clone(),
                })
            })
            .collect::<Result<_, AppError>>()?,
        closed_at: row.closed_at,
        closed_by: row.closed_by_name.clone(),
        close_note: row.close_note.clone(),
        can_review: live
            && reader.can(Permission::Approve)
            && reader.user_id != row.requested_by
            && !reviewed,
        can_cancel: live
            && (reader.user_id == row.requested_by || reader.can(Permission::Administer)),
    })
}

/// Reads a request back after a write, as the caller sees it.
pub(crate) async fn reload(cx: &Ctx, id: i64) -> Result<RequestView, AppError> {
    let mut conn = cx.state.db.pool().acquire().await?;
    let row = repo::find_request(&mut conn, id)
        .await?
        .ok_or(AppError::Internal)?;
    let reviews = repo::reviews_of(&mut conn, &[id]).await?;
    view(&row, &reviews, &cx.by, now_ms())
}

/// A webhook event, queued in the same transaction as the change it reports.
async fn emit(tx: &mut Tx, event: WebhookEvent, data: Value, now: i64) -> Result<(), AppError> {
    crate::server::events::emit(tx, event, data, now)
        .await
        .map_err(AppError::from)
}

// ------------------------------------------------------------ opening

pub async fn open_request(
    cx: &Ctx,
    model_name: &ModelName,
    version: &SemVer,
    to: Stage,
    justification: Justification,
) -> Result<RequestView, AppError> {
    cx.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, cx.db(), model_name, version).await?;
    let current: Stage = row.stage;
    can_open(current, to).map_err(workflow_error)?;
    if let Some(open) = repo::open_request_for_version(&mut tx, row.id).await? {
        if !close_if_lapsed(&cx.state, &mut tx, &cx.origin, &open, now).await? {
            return Err(AppError::Conflict(format!(
                "{model_name} {} already has an open request (#{}) to move to {}; \
                 it must be decided or cancelled first",
                row.version, open.id, open.to_stage
            )));
        }
    }
    let policy = effective_policy(&mut tx, model.id).await?;
    let id = insert(
        &cx.state,
        &mut tx,
        &cx.by,
        &cx.origin,
        Opening {
            model: &model,
            row: &row,
            kind: RequestKind::Stage,
            from: current,
            to,
            alias: None,
            alias_previous: None,
            required: policy.required_approvals(to),
            justification: &justification,
        },
        &policy,
        now,
    )
    .await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    reload(cx, id).await
}

/// Opens a request to point a protected alias at `row` (`AliasSet`) or to
/// remove it from `row` (`AliasRemove`), inside the caller's transaction
/// (which has locked the model). Where the rule needs no sign-off it
/// applies at once. Returns the request's id.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn open_alias_request(
    state: &AppState,
    tx: &mut Tx,
    by: &Principal,
    origin: &Origin,
    model: &ModelRow,
    row: &VersionRow,
    kind: RequestKind,
    alias: &AliasName,
    alias_previous: Option<&str>,
    required: u8,
    justification: &Justification,
    policy: &ApprovalPolicy,
    now: i64,
) -> Result<i64, AppError> {
    if let Some(open) = repo::open_alias_request(tx, model.id, alias.as_str()).await? {
        if !close_if_lapsed(state, tx, origin, &open, now).await? {
            return Err(AppError::Conflict(format!(
                "alias {alias} of {} already has an open request (#{}, pointing it at {}); \
                 it must be decided or cancelled first",
                model.name, open.id, open.version
            )));
        }
    }
    let stage: Stage = row.stage;
    insert(
        state,
        tx,
        by,
        origin,
        Opening {
            model,
            row,
            kind,
            from: stage,
            to: stage,
            alias: Some(alias),
            alias_previous,
            required,
            justification,
        },
        policy,
        now,
    )
    .await
}

/// A request about to be opened.
struct Opening<'a> {
    model: &'a ModelRow,
    row: &'a VersionRow,
    kind: RequestKind,
    from: Stage,
    to: Stage,
    alias: Option<&'a AliasName>,
    alias_previous: Option<&'a str>,
    required: u8,
    justification: &'a Justification,
}

/// Records a new request (with the content digest recomputed from the
/// version's rows), audits and announces it, and applies it at once when it
/// needs no sign-off.
async fn insert(
    state: &AppState,
    tx: &mut Tx,
    by: &Principal,
    origin: &Origin,
    o: Opening<'_>,
    policy: &ApprovalPolicy,
    now: i64,
) -> Result<i64, AppError> {
    let digest = content::compute(tx, o.row.id).await?;
    let digest_text = digest.to_string();
    if o.row.content_digest.as_deref() != Some(digest_text.as_str()) {
        // Services keep the column current; a mismatch means rows were
        // changed behind their back. The request records what is there.
        tracing::error!(
            version_id = o.row.id, stored = ?o.row.content_digest, computed = %digest,
            "a version's stored content digest does not match its rows"
        );
        content::refresh(tx, o.row.id).await?;
    }
    let inserted = repo::insert_request(
        tx,
        NewRequest {
            model_id: o.model.id,
            version_id: o.row.id,
            from: o.from.as_str(),
            to: o.to.as_str(),
            justification: &o.justification.0,
            required: i64::from(o.required),
            requested_by: by.user_id,
            requested_by_name: &by.username,
            now,
            expires_at: policy.expires_at(now),
            kind: o.kind.as_str(),
            alias: o.alias.map(AliasName::as_str),
            alias_previous: o.alias_previous,
            content_digest: Some(&digest_text),
        },
    )
    .await;
    let id = inserted.on_unique(|| {
        AppError::Conflict(format!(
            "{} {} already has an open request",
            o.model.name, o.row.version
        ))
    })?;
    let alias = o.alias.map(AliasName::as_str);
    let target = format!("{}@{}", o.model.name, o.row.version);
    let details = json!({
        "request_id": id, "kind": o.kind, "from": o.from, "to": o.to, "alias": alias,
        "alias_previous": o.alias_previous, "required": o.required,
        "justification": o.justification.0, "content_digest": digest_text,
    });
    audit(
        state,
        tx,
        Some(&by.actor()),
        origin,
        "transition.request",
        ("version", &target),
        details,
    )
    .await?;
    let event = json!({
        "request_id": id, "kind": o.kind, "model": o.model.name, "version": o.row.version,
        "from": o.from, "to": o.to, "alias": alias, "required_approvals": o.required,
        "requested_by": by.username, "justification": o.justification.0,
        "content_digest": digest_text,
    });
    emit(tx, WebhookEvent::TransitionRequested, event, now).await?;
    if o.required == 0 {
        let note = match o.kind {
            RequestKind::Stage => format!(
                "applied at once: the policy needs no sign-off to move to {}",
                o.to
            ),
            _ => "applied at once: the policy needs no sign-off for this alias".to_owned(),
        };
        let req = repo::find_request(tx, id)
            .await?
            .ok_or(AppError::Internal)?;
        apply(
            state,
            tx,
            origin,
            Applying {
                model: o.model,
                req: &req,
                by: &by.username,
                actor: Some(&by.actor()),
                note: &note,
            },
            policy,
            now,
        )
        .await?;
    }
    Ok(id)
}

// ------------------------------------------------------------ reviewing

/// Approves or rejects request `id`, which must belong to `model_name`.
/// `seen_digest`, when given, is the content digest the approver checked:
/// a sign-off on anything else is refused.
#[allow(clippy::too_many_arguments)]
pub async fn review(
    cx: &Ctx,
    model_name: &ModelName,
    id: i64,
    decision: Decision,
    comment: &str,
    seen_digest: Option<&ContentDigest>,
) -> Result<RequestView, AppError> {
    cx.require(Permission::Approve)?;
    let comment = parse_comment(comment, decision)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, req) = lock_request(&cx.state, &mut tx, model_name, id).await?;
    let reviews = repo::reviews_of(&mut tx, &[id]).await?;
    // Judge the content as it is in the rows now, not as the column says.
    let digest_now = content::compute(&mut tx, req.version_id).await?;
    let snap = snapshot(&req, &reviews, Some(digest_now.clone()))?;
    let outcome = match decide(&snap, cx.by.user_id, decision, now) {
        Ok(outcome) => outcome,
        Err(e) => {
            if e.closes_request().is_some() {
                // Record what we learnt, so the next visitor sees the truth.
                if let Some(lapse) = snap.lapse(now) {
                    close_lapsed(&cx.state, &mut tx, &cx.origin, &req, &lapse, now).await?;
                    commit(tx).await?;
                }
            }
            return Err(workflow_error(e));
        }
    };
    if let Some(seen) = seen_digest {
        if *seen != digest_now {
            return Err(AppError::Conflict(format!(
                "you reviewed content digest {seen}, but request #{id} is for {digest_now}; \
                 reload the request and review what it would ship"
            )));
        }
    }
    let digest_text = digest_now.to_string();
    let inserted = repo::insert_review(
        &mut tx,
        NewReview {
            request_id: id,
            reviewer_id: cx.by.user_id,
            reviewer_name: &cx.by.username,
            decision: decision.as_str(),
            comment: &comment,
            now,
            content_digest: Some(&digest_text),
        },
    )
    .await;
    inserted.on_unique(|| workflow_error(WorkflowError::AlreadySignedOff))?;
    let target = format!("{}@{}", model.name, req.version);
    let action = match decision {
        Decision::Approve => "transition.approve",
        Decision::Reject => "transition.reject",
    };
    let details = json!({
        "request_id": id, "kind": req.kind, "from": snap.from, "to": snap.to,
        "alias": req.alias, "comment": comment,
        "approvals": snap.approvals.len() + usize::from(decision == Decision::Approve),
        "required": snap.required, "content_digest": digest_text,
    });
    cx.audit(&mut tx, action, ("version", &target), details)
        .await?;
    let event = json!({
        "request_id": id, "kind": req.kind, "model": model.name, "version": req.version,
        "from": snap.from, "to": snap.to, "alias": req.alias, "reviewer": cx.by.username,
        "comment": comment, "content_digest": digest_text,
    });
    match outcome {
        Outcome::Recorded { .. } => {
            emit(&mut tx, WebhookEvent::TransitionApproved, event, now).await?;
        }
        Outcome::Apply => {
            emit(&mut tx, WebhookEvent::TransitionApproved, event, now).await?;
            let policy = effective_policy(&mut tx, model.id).await?;
            // Name who signed, not a count that always equals `required`.
            let mut approvers: Vec<&str> = reviews
                .iter()
                .filter(|r| r.decision == Decision::Approve)
                .map(|r| r.reviewer_name.as_str())
                .collect();
            approvers.push(&cx.by.username);
            let note = format!("approved by {}", approvers.join(", "));
            apply(
                &cx.state,
                &mut tx,
                &cx.origin,
                Applying {
                    model: &model,
                    req: &req,
                    by: &cx.by.username,
                    actor: Some(&cx.by.actor()),
                    note: &note,
                },
                &policy,
                now,
            )
            .await?;
        }
        Outcome::Rejected => {
            close(
                &mut tx,
                id,
                RequestState::Rejected,
                &cx.by.username,
                &comment,
                now,
            )
            .await?;
            emit(&mut tx, WebhookEvent::TransitionRejected, event, now).await?;
        }
    }
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    reload(cx, id).await
}

/// Withdraws request `id` (its requester, or an admin).
pub async fn cancel(
    cx: &Ctx,
    model_name: &ModelName,
    id: i64,
    reason: &str,
) -> Result<RequestView, AppError> {
    cx.require(Permission::Contribute)?;
    let reason = parse_comment(reason, Decision::Approve)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, req) = lock_request(&cx.state, &mut tx, model_name, id).await?;
    let snap = snapshot(&req, &[], None)?;
    can_cancel(&snap, cx.by.user_id, cx.by.can(Permission::Administer)).map_err(workflow_error)?;
    close(
        &mut tx,
        id,
        RequestState::Cancelled,
        &cx.by.username,
        &reason,
        now,
    )
    .await?;
    let target = format!("{}@{}", model.name, req.version);
    cx.audit(
        &mut tx,
        "transition.cancel",
        ("version", &target),
        json!({ "request_id": id, "kind": req.kind, "to": snap.to, "alias": req.alias,
                "reason": reason }),
    )
    .await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    reload(cx, id).await
}

/// Closes requests whose deadline passed; run periodically. Returns how many.
pub async fn sweep_lapsed(state: &AppState) -> Result<usize, AppError> {
    let now = now_ms();
    let lapsed = repo::lapsed_ids(state.db.pool(), now).await?;
    let origin = Origin {
        client_addr: None,
        request_id: None,
    };
    let mut closed = 0;
    for id in lapsed {
        let mut tx = begin(state).await?;
        let Some(req) = repo::find_request(&mut tx, id).await? else {
            continue;
        };
        // Lock in the order every other workflow write does (model row,
        // then the request, then the audit chain): taking the request row
        // first could deadlock against an approval of the same request.
        crate::server::repo::models::lock_by_name(&mut tx, state.db.backend(), &req.model_name)
            .await?;
        let Some(req) = repo::find_request(&mut tx, id).await? else {
            continue;
        };
        if req.state == RequestState::Pending {
            close_lapsed(state, &mut tx, &origin, &req, &Lapse::Expired, now).await?;
            closed += 1;
        }
        commit(tx).await?;
    }
    Ok(closed)
}

/// A version is being deleted (inside the caller's transaction, model
/// locked): every open request about it is cancelled, audited, so none can
/// ever apply to it.
pub(crate) async fn cancel_for_deleted_version(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    version_id: i64,
    now: i64,
) -> Result<usize, AppError> {
    let open = repo::open_requests_about_version(tx, version_id).await?;
    for req in &open {
        close_lapsed(state, tx, origin, req, &Lapse::VersionDeleted, now).await?;
    }
    Ok(open.len())
}

// ------------------------------------------------------------ helpers

/// Locks the model, then loads the request, which must be that model's:
/// an id from another model is "not found", never acted on.
async fn lock_request(
    state: &AppState,
    tx: &mut Tx,
    model_name: &ModelName,
    id: i64,
) -> Result<(ModelRow, RequestRow), AppError> {
    let model = lookup::lock_model(tx, &state.db, model_name).await?;
    let req = repo::find_request(tx, id)
        .await?
        .filter(|r| r.model_id == model.id)
        .ok_or_else(|| {
            AppError::NotFound(Missing::Request {
                model: model_name.to_string(),
                id,
            })
        })?;
    Ok((model, req))
}

/// Closes a pending request, refusing if someone else closed it first.
async fn close(
    tx: &mut Tx,
    id: i64,
    final_state: RequestState,
    by: &str,
    note: &str,
    now: i64,
) -> Result<(), AppError> {
    if repo::close_request(tx, id, final_state.as_str(), by, note, now).await? {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "request {id} was closed meanwhile; reload to see its outcome"
        )))
    }
}

/// An open request found where a new one is about to be opened: closes it
/// if it has lapsed (returning true), so the new one may take its place.
/// The stored digest is enough here: a live request blocks either way.
async fn close_if_lapsed(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    open: &RequestRow,
    now: i64,
) -> Result<bool, AppError> {
    let reviews = repo::reviews_of(tx, &[open.id]).await?;
    let snap = snapshot(
        open,
        &reviews,
        stored_digest(open.version_digest.as_deref())?,
    )?;
    match snap.lapse(now) {
        Some(lapse) => {
            close_lapsed(state, tx, origin, open, &lapse, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

async fn close_lapsed(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    req: &RequestRow,
    lapse: &Lapse,
    now: i64,
) -> Result<(), AppError> {
    let note = lapse.note();
    close(tx, req.id, lapse.state(), "registry", &note, now).await?;
    let action = match lapse {
        Lapse::Expired => "transition.expire",
        Lapse::VersionDeleted => "transition.cancel",
        Lapse::Moved { .. } | Lapse::ContentChanged { .. } => "transition.supersede",
    };
    let target = format!("{}@{}", req.model_name, req.version);
    audit(
        state,
        tx,
        None,
        origin,
        action,
        ("version", &target),
        json!({ "request_id": req.id, "kind": req.kind, "to": req.to_stage,
                "alias": req.alias, "note": note }),
    )
    .await
}

/// A request whose sign-offs are complete, about to be applied.
struct Applying<'a> {
    model: &'a ModelRow,
    req: &'a RequestRow,
    by: &'a str,
    actor: Option<&'a Actor>,
    note: &'a str,
}

/// Closes the request as approved and makes the change it asked for, in the
/// caller's transaction.
async fn apply(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    a: Applying<'_>,
    policy: &ApprovalPolicy,
    now: i64,
) -> Result<(), AppError> {
    let req = a.req;
    close(tx, req.id, RequestState::Approved, a.by, a.note, now).await?;
    let kind: RequestKind = req.kind;
    match kind {
        RequestKind::Stage => {
            let to: Stage = req.to_stage;
            finish_stage(state, tx, origin, &a, to, policy, now).await
        }
        RequestKind::AliasSet | RequestKind::AliasRemove => {
            let alias: AliasName = stored("alias", req.alias.as_deref().unwrap_or(""))?;
            let to =
                (kind == RequestKind::AliasSet).then_some((req.version_id, req.version.as_str()));
            alias_moves::write(
                state,
                tx,
                origin,
                AliasMove {
                    model: a.model,
                    alias: &alias,
                    to,
                    actor: a.actor,
                    by: a.by,
                    request_id: Some(req.id),
                    reason: Some(a.note),
                },
                now,
            )
            .await
            .map(drop)
        }
    }
}

/// Moves the version. A version entering production first moves the one
/// already there out (to Archived, or to Staging if the policy keeps it warm).
async fn finish_stage(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    a: &Applying<'_>,
    to: Stage,
    policy: &ApprovalPolicy,
    now: i64,
) -> Result<(), AppError> {
    let req = a.req;
    if to == Stage::Production {
        let previous = repo::production_version(tx, a.model.id)
            .await?
            .filter(|(id, _)| *id != req.version_id);
        if let Some((previous_id, previous_version)) = previous {
            let dest = if policy.archive_previous_production {
                Stage::Archived
            } else {
                Stage::Staging
            };
            let reason = format!("replaced in production by {}", req.version);
            move_stage(
                state,
                tx,
                origin,
                Move {
                    model: a.model,
                    version_id: previous_id,
                    version: &previous_version,
                    from: Stage::Production,
                    to: dest,
                    request_id: Some(req.id),
                    by: a.by,
                    actor: a.actor,
                    reason: &reason,
                },
                now,
            )
            .await?;
            supersede_open_request(state, tx, origin, previous_id, now).await?;
        }
    }
    move_stage(
        state,
        tx,
        origin,
        Move {
            model: a.model,
            version_id: req.version_id,
            version: &req.version,
            from: req.from_stage,
            to,
            request_id: Some(req.id),
            by: a.by,
            actor: a.actor,
            reason: a.note,
        },
        now,
    )
    .await
}

struct Move<'a> {
    model: &'a ModelRow,
    version_id: i64,
    version: &'a str,
    from: Stage,
    to: Stage,
    request_id: Option<i64>,
    by: &'a str,
    actor: Option<&'a Actor>,
    reason: &'a str,
}

async fn move_stage(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    m: Move<'_>,
    now: i64,
) -> Result<(), AppError> {
    // The database's own guard: one production version per model.
    repo::set_stage(tx, m.version_id, m.to.as_str(), now)
        .await
        .on_unique(|| {
            AppError::Conflict(format!(
                "{} already has a version in production",
                m.model.name
            ))
        })?;
    repo::insert_history(
        tx,
        NewStageChange {
            version_id: m.version_id,
            from: Some(m.from.as_str()),
            to: m.to.as_str(),
            request_id: m.request_id,
            changed_by: m.by,
            reason: m.reason,
            now,
        },
    )
    .await?;
    crate::server::repo::models::touch(tx, m.model.id, now).await?;
    let target = format!("{}@{}", m.model.name, m.version);
    audit(
        state,
        tx,
        m.actor,
        origin,
        "stage.change",
        ("version", &target),
        json!({ "from": m.from, "to": m.to, "request_id": m.request_id, "reason": m.reason }),
    )
    .await?;
    let event = json!({
        "model": m.model.name, "version": m.version, "from": m.from, "to": m.to,
        "request_id": m.request_id, "changed_by": m.by,
    });
    emit(tx, WebhookEvent::StageChanged, event, now).await
}

/// A version pushed out of production may have had its own request open
/// (say, to archive it): that request no longer describes a possible move.
async fn supersede_open_request(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    version_id: i64,
    now: i64,
) -> Result<(), AppError> {
    if let Some(open) = repo::open_request_for_version(tx, version_id).await? {
        // Read after the move, so `version_stage` is where it went.
        let lapse = Lapse::Moved {
            from: open.from_stage,
            now: open.version_stage,
        };
        close_lapsed(state, tx, origin, &open, &lapse, now).await?;
    }
    Ok(())
}
