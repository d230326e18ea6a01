//! Applying an approved request: the stage move, superseding, aliases bound to the stage.

use serde_json::json;

use super::super::{
    alias_moves::{self, AliasMove},
    audit, stored,
};
use super::common::*;
use crate::{
    domain::{AliasName, ApprovalPolicy, Lapse, RequestKind, RequestState, Stage, WebhookEvent},
    error::AppError,
    server::{
        db::{OnUnique, Tx},
        repo::{
            audit::{Actor, Origin},
            models::ModelRow,
            workflow::{self as repo, NewStageChange, RequestRow},
        },
    },
};

/// A request whose sign-offs are complete, about to be applied.
pub(super) struct Applying<'a> {
    pub(super) model: &'a ModelRow,
    pub(super) req: &'a RequestRow,
    pub(super) by: &'a str,
    pub(super) actor: Option<&'a Actor>,
    pub(super) note: &'a str,
}

/// Closes the request as approved and makes the change it asked for, in the
/// caller's transaction.
pub(super) async fn apply(
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
            finish_stage(tx, origin, &a, to, policy, now).await
        }
        RequestKind::AliasSet | RequestKind::AliasRemove => {
            let alias: AliasName = stored("alias", req.alias.as_deref().unwrap_or(""))?;
            let to =
                (kind == RequestKind::AliasSet).then_some((req.version_id, req.version.as_str()));
            alias_moves::write(
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
pub(super) async fn finish_stage(
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
            supersede_open_request(tx, origin, previous_id, now).await?;
        }
    }
    move_stage(
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

pub(super) struct Move<'a> {
    pub(super) model: &'a ModelRow,
    pub(super) version_id: i64,
    pub(super) version: &'a str,
    pub(super) from: Stage,
    pub(super) to: Stage,
    pub(super) request_id: Option<i64>,
    pub(super) by: &'a str,
    pub(super) actor: Option<&'a Actor>,
    pub(super) reason: &'a str,
}

pub(super) async fn move_stage(
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
pub(super) async fn supersede_open_request(
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
        close_lapsed(tx, origin, &open, &lapse, now).await?;
    }
    Ok(())
}
