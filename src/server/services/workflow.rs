//! The promotion workflow: opening, reviewing and cancelling transition
//! requests, and applying a stage change once the policy is met.
//!
//! Every write locks the model row first (`catalog::lock_model`: `FOR UPDATE`
//! on Postgres, the single writer on SQLite). Approvals of one request and
//! promotions of two versions of one model therefore run one after another,
//! and each sees what the previous one committed: a request is applied once,
//! and one version ends in production. Unique indexes (one open request per
//! version, one sign-off per reviewer, one production version per model)
//! back that up in the database.

use serde_json::{json, Value};

use crate::domain::WebhookEvent;

use super::{audit, begin, catalog, commit};
use crate::{
    domain::{
        can_cancel, can_open, decide, ApprovalPolicy, Decision, ModelName, Outcome, Permission,
        PolicyOverride, RequestSnapshot, RequestState, SemVer, Stage, WorkflowError,
    },
    dto::{RequestView, ReviewView},
    error::AppError,
    server::{
        auth::{principal::db_error, Principal},
        db::{now_ms, Tx},
        repo::{
            audit::{Actor, Origin},
            is_unique_violation,
            models::ModelRow,
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
        | WorkflowError::AlreadySignedOff => AppError::Conflict(e.to_string()),
    }
}

fn stored<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| {
        tracing::error!(what, raw, "unparseable value in the database");
        AppError::Internal
    })
}

/// The model's effective policy: the registry's, with the model's override.
pub async fn effective_policy(
    conn: &mut sqlx::AnyConnection,
    model_id: i64,
) -> Result<ApprovalPolicy, AppError> {
    let base = match repo::policy_json(conn, repo::REGISTRY_SCOPE)
        .await
        .map_err(db_error)?
    {
        Some(json) => decode::<ApprovalPolicy>(&json)?,
        None => ApprovalPolicy::default(),
    };
    let pinned = match repo::policy_json(conn, model_id).await.map_err(db_error)? {
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

pub(crate) fn snapshot(
    row: &RequestRow,
    reviews: &[ReviewRow],
) -> Result<RequestSnapshot, AppError> {
    Ok(RequestSnapshot {
        state: stored("request state", &row.state)?,
        requested_by: row.requested_by,
        from: stored("stage", &row.from_stage)?,
        to: stored("stage", &row.to_stage)?,
        created_at: row.created_at,
        expires_at: row.expires_at,
        approvals: reviews
            .iter()
            .filter(|r| r.request_id == row.id && r.decision == Decision::Approve.as_str())
            .map(|r| r.reviewer_id)
            .collect(),
        required: u8::try_from(row.required).unwrap_or(u8::MAX),
        version_stage_now: stored("stage", &row.version_stage)?,
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
    let snap = snapshot(row, reviews)?;
    let state = snap.lapsed(now).unwrap_or(snap.state);
    let mine: Vec<&ReviewRow> = reviews.iter().filter(|r| r.request_id == row.id).collect();
    let live = state.is_open();
    let reviewed = mine.iter().any(|r| r.reviewer_id == reader.user_id);
    Ok(RequestView {
        id: row.id,
        model: row.model_name.clone(),
        version: row.version.clone(),
        from: snap.from,
        to: snap.to,
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
                    decision: stored("decision", &r.decision)?,
                    comment: r.comment.clone(),
                    at: r.created_at,
                })
            })
            .collect::<Result<_, AppError>>()?,
        closed_at: row.closed_at,
        closed_by: row.closed_by_name.clone(),
        close_note: row.close_note.clone(),
        can_review: live
            && reader.role.allows(Permission::Approve)
            && reader.user_id != row.requested_by
            && !reviewed,
        can_cancel: live
            && (reader.user_id == row.requested_by || reader.role.allows(Permission::Administer)),
    })
}

/// Reads a request back after a write, as `reader` sees it.
async fn reload(state: &AppState, reader: &Principal, id: i64) -> Result<RequestView, AppError> {
    let mut conn = state.db.pool().acquire().await.map_err(db_error)?;
    let row = repo::find_request(&mut conn, id)
        .await
        .map_err(db_error)?
        .ok_or(AppError::Internal)?;
    let reviews = repo::reviews_of(&mut conn, &[id]).await.map_err(db_error)?;
    view(&row, &reviews, reader, now_ms())
}

/// A webhook event, queued in the same transaction as the change it reports.
async fn emit(tx: &mut Tx, event: WebhookEvent, data: Value, now: i64) -> Result<(), AppError> {
    crate::server::events::emit(tx, event, data, now)
        .await
        .map_err(db_error)
}

// ------------------------------------------------------------ opening

pub async fn open_request(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    model_name: &ModelName,
    version: &SemVer,
    to: Stage,
    justification: Justification,
) -> Result<RequestView, AppError> {
    by.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = begin(state).await?;
    let (model, row) = catalog::lock_version(&mut tx, state, model_name, version).await?;
    let current: Stage = stored("stage", &row.stage)?;
    can_open(current, to).map_err(workflow_error)?;
    if let Some(open) = repo::open_request_for_version(&mut tx, row.id)
        .await
        .map_err(db_error)?
    {
        let reviews = repo::reviews_of(&mut tx, &[open.id])
            .await
            .map_err(db_error)?;
        match snapshot(&open, &reviews)?.lapsed(now) {
            // The old request lapsed unnoticed: close it, then open the new one.
            Some(lapsed) => close_lapsed(state, &mut tx, origin, &open, lapsed, now).await?,
            None => {
                return Err(AppError::Conflict(format!(
                    "{model_name} {} already has an open request (#{}) to move to {}; \
                     it must be decided or cancelled first",
                    row.version, open.id, open.to_stage
                )))
            }
        }
    }
    let policy = effective_policy(&mut tx, model.id).await?;
    let required = policy.required_approvals(to);
    let inserted = repo::insert_request(
        &mut tx,
        NewRequest {
            model_id: model.id,
            version_id: row.id,
            from: current.as_str(),
            to: to.as_str(),
            justification: &justification.0,
            required: i64::from(required),
            requested_by: by.user_id,
            requested_by_name: &by.username,
            now,
            expires_at: policy.expires_at(now),
        },
    )
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict(format!(
                "{model_name} {} already has an open request",
                row.version
            )))
        }
        Err(e) => return Err(db_error(e)),
    };
    let target = format!("{model_name}@{}", row.version);
    let details = json!({
        "request_id": id, "from": current, "to": to, "required": required,
        "justification": justification.0,
    });
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "transition.request",
        ("version", &target),
        details,
    )
    .await?;
    let event = json!({
        "request_id": id, "model": model.name, "version": row.version,
        "from": current, "to": to, "required_approvals": required,
        "requested_by": by.username, "justification": justification.0,
    });
    emit(&mut tx, WebhookEvent::TransitionRequested, event, now).await?;
    if required == 0 {
        let note = format!("applied at once: the policy needs no sign-off to move to {to}");
        finish(
            state,
            &mut tx,
            origin,
            Applied {
                model: &model,
                version_id: row.id,
                version: &row.version,
                from: current,
                to,
                request_id: id,
                by: &by.username,
                actor: Some(&by.actor()),
                note: &note,
            },
            &policy,
            now,
        )
        .await?;
    }
    commit(tx).await?;
    state.webhook_wake.notify_one();
    reload(state, by, id).await
}

// ------------------------------------------------------------ reviewing

/// Approves or rejects request `id`, which must belong to `model_name`.
pub async fn review(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    model_name: &ModelName,
    id: i64,
    decision: Decision,
    comment: &str,
) -> Result<RequestView, AppError> {
    by.require(Permission::Approve)?;
    let comment = parse_comment(comment, decision)?;
    let now = now_ms();
    let mut tx = begin(state).await?;
    let (model, req) = lock_request(state, &mut tx, model_name, id).await?;
    let reviews = repo::reviews_of(&mut tx, &[id]).await.map_err(db_error)?;
    let snap = snapshot(&req, &reviews)?;
    let outcome = match decide(&snap, by.user_id, decision, now) {
        Ok(outcome) => outcome,
        Err(e) => {
            if let Some(lapsed) = e.closes_request() {
                // Record what we learnt, so the next visitor sees the truth.
                close_lapsed(state, &mut tx, origin, &req, lapsed, now).await?;
                commit(tx).await?;
            }
            return Err(workflow_error(e));
        }
    };
    let inserted = repo::insert_review(
        &mut tx,
        NewReview {
            request_id: id,
            reviewer_id: by.user_id,
            reviewer_name: &by.username,
            decision: decision.as_str(),
            comment: &comment,
            now,
        },
    )
    .await;
    match inserted {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(workflow_error(WorkflowError::AlreadySignedOff))
        }
        Err(e) => return Err(db_error(e)),
    }
    let target = format!("{}@{}", model.name, req.version);
    let action = match decision {
        Decision::Approve => "transition.approve",
        Decision::Reject => "transition.reject",
    };
    let details = json!({
        "request_id": id, "from": snap.from, "to": snap.to, "comment": comment,
        "approvals": snap.approvals.len() + usize::from(decision == Decision::Approve),
        "required": snap.required,
    });
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        action,
        ("version", &target),
        details,
    )
    .await?;
    let event = json!({
        "request_id": id, "model": model.name, "version": req.version,
        "from": snap.from, "to": snap.to, "reviewer": by.username, "comment": comment,
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
                .filter(|r| r.decision == Decision::Approve.as_str())
                .map(|r| r.reviewer_name.as_str())
                .collect();
            approvers.push(&by.username);
            let note = format!("approved by {}", approvers.join(", "));
            finish(
                state,
                &mut tx,
                origin,
                Applied {
                    model: &model,
                    version_id: req.version_id,
                    version: &req.version,
                    from: snap.from,
                    to: snap.to,
                    request_id: id,
                    by: &by.username,
                    actor: Some(&by.actor()),
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
                &by.username,
                &comment,
                now,
            )
            .await?;
            emit(&mut tx, WebhookEvent::TransitionRejected, event, now).await?;
        }
    }
    commit(tx).await?;
    state.webhook_wake.notify_one();
    reload(state, by, id).await
}

/// Withdraws request `id` (its requester, or an admin).
pub async fn cancel(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    model_name: &ModelName,
    id: i64,
    reason: &str,
) -> Result<RequestView, AppError> {
    by.require(Permission::Contribute)?;
    let reason = parse_comment(reason, Decision::Approve)?;
    let now = now_ms();
    let mut tx = begin(state).await?;
    let (model, req) = lock_request(state, &mut tx, model_name, id).await?;
    let snap = snapshot(&req, &[])?;
    can_cancel(&snap, by.user_id, by.role.allows(Permission::Administer))
        .map_err(workflow_error)?;
    close(
        &mut tx,
        id,
        RequestState::Cancelled,
        &by.username,
        &reason,
        now,
    )
    .await?;
    let target = format!("{}@{}", model.name, req.version);
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "transition.cancel",
        ("version", &target),
        json!({ "request_id": id, "to": snap.to, "reason": reason }),
    )
    .await?;
    commit(tx).await?;
    state.webhook_wake.notify_one();
    reload(state, by, id).await
}

/// Closes requests whose deadline passed; run periodically. Returns how many.
pub async fn sweep_lapsed(state: &AppState) -> Result<usize, AppError> {
    let now = now_ms();
    let lapsed = repo::lapsed_ids(state.db.pool(), now)
        .await
        .map_err(db_error)?;
    let origin = Origin {
        client_addr: None,
        request_id: None,
    };
    let mut closed = 0;
    for id in lapsed {
        let mut tx = begin(state).await?;
        let Some(req) = repo::find_request(&mut tx, id).await.map_err(db_error)? else {
            continue;
        };
        if req.state == RequestState::Pending.as_str() {
            close_lapsed(state, &mut tx, &origin, &req, RequestState::Expired, now).await?;
            closed += 1;
        }
        commit(tx).await?;
    }
    Ok(closed)
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
    let model = catalog::lock_model(tx, state, model_name).await?;
    let req = repo::find_request(tx, id)
        .await
        .map_err(db_error)?
        .filter(|r| r.model_id == model.id)
        .ok_or_else(|| AppError::NotFound(format!("request {id} of model {model_name}")))?;
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
    if repo::close_request(tx, id, final_state.as_str(), by, note, now)
        .await
        .map_err(db_error)?
    {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "request {id} was closed meanwhile; reload to see its outcome"
        )))
    }
}

async fn close_lapsed(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    req: &RequestRow,
    lapsed: RequestState,
    now: i64,
) -> Result<(), AppError> {
    let note = match lapsed {
        RequestState::Expired => "its deadline passed before enough sign-offs arrived".to_owned(),
        _ => format!(
            "the version moved from {} to {} by another route",
            req.from_stage, req.version_stage
        ),
    };
    close(tx, req.id, lapsed, "registry", &note, now).await?;
    let action = match lapsed {
        RequestState::Expired => "transition.expire",
        _ => "transition.supersede",
    };
    let target = format!("{}@{}", req.model_name, req.version);
    audit(
        state,
        tx,
        None,
        origin,
        action,
        ("version", &target),
        json!({ "request_id": req.id, "to": req.to_stage, "note": note }),
    )
    .await
}

/// A stage change about to be applied.
struct Applied<'a> {
    model: &'a ModelRow,
    version_id: i64,
    version: &'a str,
    from: Stage,
    to: Stage,
    request_id: i64,
    by: &'a str,
    actor: Option<&'a Actor>,
    note: &'a str,
}

/// Closes the request as approved and moves the version, in the caller's
/// transaction. A version entering production first moves the one already
/// there out (to Archived, or to Staging if the policy keeps it warm).
async fn finish(
    state: &AppState,
    tx: &mut Tx,
    origin: &Origin,
    change: Applied<'_>,
    policy: &ApprovalPolicy,
    now: i64,
) -> Result<(), AppError> {
    close(
        tx,
        change.request_id,
        RequestState::Approved,
        change.by,
        change.note,
        now,
    )
    .await?;
    if change.to == Stage::Production {
        let previous = repo::production_version(tx, change.model.id)
            .await
            .map_err(db_error)?
            .filter(|(id, _)| *id != change.version_id);
        if let Some((previous_id, previous_version)) = previous {
            let dest = if policy.archive_previous_production {
                Stage::Archived
            } else {
                Stage::Staging
            };
            let reason = format!("replaced in production by {}", change.version);
            move_stage(
                state,
                tx,
                origin,
                Move {
                    model: change.model,
                    version_id: previous_id,
                    version: &previous_version,
                    from: Stage::Production,
                    to: dest,
                    request_id: Some(change.request_id),
                    by: change.by,
                    actor: change.actor,
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
            model: change.model,
            version_id: change.version_id,
            version: change.version,
            from: change.from,
            to: change.to,
            request_id: Some(change.request_id),
            by: change.by,
            actor: change.actor,
            reason: change.note,
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
    let moved = repo::set_stage(tx, m.version_id, m.to.as_str(), now).await;
    match moved {
        Ok(()) => {}
        // The database's own guard: one production version per model.
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict(format!(
                "{} already has a version in production",
                m.model.name
            )))
        }
        Err(e) => return Err(db_error(e)),
    }
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
    .await
    .map_err(db_error)?;
    crate::server::repo::models::touch(tx, m.model.id, now)
        .await
        .map_err(db_error)?;
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
    if let Some(open) = repo::open_request_for_version(tx, version_id)
        .await
        .map_err(db_error)?
    {
        close_lapsed(state, tx, origin, &open, RequestState::Superseded, now).await?;
    }
    Ok(())
}
