//! Opening requests: a stage change or a protected alias move that needs sign-offs.

use serde_json::json;

use super::super::{audit, commit, content, lookup, Ctx};
use super::{apply::*, common::*};
use crate::{
    domain::{
        can_open, catalog::VersionStatus, AliasName, ApprovalPolicy, Justification, ModelName,
        Permission, RequestKind, SemVer, Stage, WebhookEvent,
    },
    dto::RequestView,
    error::AppError,
    server::{
        auth::Principal,
        db::{now_ms, OnUnique, Tx},
        repo::{
            audit::Origin,
            models::ModelRow,
            versions::VersionRow,
            workflow::{self as repo, NewRequest},
        },
    },
};

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
        if !close_if_lapsed(&mut tx, &cx.origin, &open, now).await? {
            return Err(AppError::Conflict(format!(
                "{model_name} {} already has an open request (#{}) to move to {}; \
                 it must be decided or cancelled first",
                row.version, open.id, open.to_stage
            )));
        }
    }
    let policy = effective_policy(&mut tx, model.id).await?;
    let id = insert(
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
        if !close_if_lapsed(tx, origin, &open, now).await? {
            return Err(AppError::Conflict(format!(
                "alias {alias} of {} already has an open request (#{}, pointing it at {}); \
                 it must be decided or cancelled first",
                model.name, open.id, open.version
            )));
        }
    }
    let stage: Stage = row.stage;
    insert(
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
pub(super) struct Opening<'a> {
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
pub(super) async fn insert(
    tx: &mut Tx,
    by: &Principal,
    origin: &Origin,
    o: Opening<'_>,
    policy: &ApprovalPolicy,
    now: i64,
) -> Result<i64, AppError> {
    // Sign-offs are for finished content: a version whose files are still
    // arriving (or never all arrived) can only be archived.
    let archiving = o.kind == RequestKind::Stage && o.to == Stage::Archived;
    if o.row.status != VersionStatus::Ready && !archiving {
        return Err(AppError::Conflict(format!(
            "{} {} is {}, not ready: finish its registration (push it again) first",
            o.model.name,
            o.row.version,
            o.row.status.as_str()
        )));
    }
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
            justification: o.justification.as_str(),
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
        "justification": o.justification.as_str(), "content_digest": digest_text,
    });
    audit(
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
        "requested_by": by.username, "justification": o.justification.as_str(),
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
