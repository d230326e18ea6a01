//! What opening, reviewing and applying share: the justification and comment
//! fields, error mapping, the request snapshot and its view, webhook emission.

use serde_json::{json, Value};

use super::super::{audit, lookup, stored, Ctx};
use crate::{
    domain::{
        ApprovalPolicy, ContentDigest, Decision, Lapse, ModelName, Permission, PolicyOverride,
        RequestSnapshot, RequestState, WebhookEvent, WorkflowError,
    },
    dto::{RequestView, ReviewView},
    error::{AppError, Missing},
    server::{
        auth::Principal,
        db::{now_ms, Tx},
        repo::{
            audit::Origin,
            models::ModelRow,
            workflow::{self as repo, RequestRow, ReviewRow},
        },
        state::AppState,
    },
};

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

pub(super) fn stored_digest(raw: Option<&str>) -> Result<Option<ContentDigest>, AppError> {
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
pub(super) async fn emit(
    tx: &mut Tx,
    event: WebhookEvent,
    data: Value,
    now: i64,
) -> Result<(), AppError> {
    crate::server::events::emit(tx, event, data, now)
        .await
        .map_err(AppError::from)
}

/// Locks the model, then loads the request, which must be that model's:
/// an id from another model is "not found", never acted on.
pub(super) async fn lock_request(
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
pub(super) async fn close(
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
pub(super) async fn close_if_lapsed(
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
            close_lapsed(tx, origin, open, &lapse, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

pub(super) async fn close_lapsed(
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
