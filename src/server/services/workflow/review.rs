//! Reviewing and closing requests: sign-offs, cancellation, lapses (expiry, deleted versions).

use serde_json::json;

use super::super::{begin, commit, content, Ctx};
use super::{apply::*, common::*};
use crate::{
    domain::{
        can_cancel, decide, parse_comment, ContentDigest, Decision, Lapse, ModelName, Outcome,
        Permission, RequestState, WebhookEvent, WorkflowError,
    },
    dto::RequestView,
    error::AppError,
    server::{
        db::{now_ms, OnUnique, Tx},
        repo::{
            audit::Origin,
            workflow::{self as repo, NewReview},
        },
        state::AppState,
    },
};

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
                    close_lapsed(&mut tx, &cx.origin, &req, &lapse, now).await?;
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
            close_lapsed(&mut tx, &origin, &req, &Lapse::Expired, now).await?;
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
    tx: &mut Tx,
    origin: &Origin,
    version_id: i64,
    now: i64,
) -> Result<usize, AppError> {
    let open = repo::open_requests_about_version(tx, version_id).await?;
    for req in &open {
        close_lapsed(tx, origin, req, &Lapse::VersionDeleted, now).await?;
    }
    Ok(open.len())
}
