//! Release receipts: a signed statement of what a pipeline deploys (model,
//! version, content digest, file hashes, the sign-off and its approvers,
//! the audit chain's head). Serving systems stamp the receipt id on their
//! decisions and deployments report it, so a decision leads back to a
//! record anyone can check with the published key, without the database.

use serde::Serialize;
use serde_json::json;

use super::{artifacts, lookup, workflow_views, Ctx};
use crate::{
    domain::{
        receipt::{
            ChainHead, ReceiptApproval, ReceiptArtifact, ReceiptStatement, RECEIPT_PAYLOAD_TYPE,
            RECEIPT_SCHEMA,
        },
        Decision, Instant, ModelName, Permission, ReceiptId, RequestKind, RequestState, SemVer,
    },
    error::{AppError, Missing},
    server::{
        db::now_ms,
        repo::{
            audit,
            deployments::{self as repo, ReceiptRow},
            versions, workflow as workflow_repo,
        },
    },
};

/// A receipt as issued: its id, the envelope (DSSE JSON) and what it states.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedReceipt {
    pub receipt_id: String,
    /// The DSSE envelope; verify it with the published keys.
    #[schema(value_type = Object)]
    pub envelope: serde_json::Value,
    pub statement: ReceiptStatement,
}

/// The verdict on a receipt (looked up by id, or presented).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceiptCheck {
    /// The signature is valid and made by a key this registry published.
    pub valid: bool,
    pub key_id: String,
    pub statement: ReceiptStatement,
    /// The registry holds this exact receipt (same bytes) in its records.
    pub recorded: bool,
    /// The version's content digest now; equal to the receipt's unless
    /// the version changed since (it cannot once signed off).
    pub content_digest_now: Option<String>,
    pub content_unchanged: bool,
}

/// Issues a receipt for `version` of `model` as it is now (a `deploy`
/// token or better): recorded, audited, and answered.
pub async fn issue(cx: &Ctx, model: &str, version: &SemVer) -> Result<IssuedReceipt, AppError> {
    cx.require(Permission::Deploy)?;
    let name = ModelName::parse(model)?;
    let mut tx = cx.begin().await?;
    let (model_row, row) = lookup::lock_version(&mut tx, cx.db(), &name, version).await?;
    let digest = row.content_digest.clone().ok_or(AppError::Internal)?;
    let files = artifacts::list_for(&cx.state, &model_row.name, &row)
        .await?
        .into_iter()
        .map(|a| ReceiptArtifact {
            path: a.path,
            sha256: a.sha256,
            size: a.size,
            external_uri: a.external_uri,
        })
        .collect();
    let approval = approval_of(cx, &row).await?;
    let head = audit::head(&mut tx)
        .await?
        .map(|(event_id, hash)| ChainHead { event_id, hash });
    let id = ReceiptId::from_random(rand::random());
    let now = now_ms();
    let statement = ReceiptStatement {
        schema: RECEIPT_SCHEMA.into(),
        receipt_id: id.to_string(),
        issuer: cx.state.config.public_url.clone(),
        model: model_row.name.clone(),
        version: row.version.clone(),
        stage: row.stage,
        content_digest: digest.clone(),
        artifacts: files,
        approval,
        audit_head: head,
        issued_at: Instant(now).to_rfc3339(),
        issued_at_ms: now,
        issued_by: cx.by.username.clone(),
        key_id: cx.state.keys.active_id().to_owned(),
    };
    let payload = serde_json::to_vec(&statement).map_err(|_| AppError::Internal)?;
    let envelope = cx.state.keys.sign(RECEIPT_PAYLOAD_TYPE, &payload);
    let envelope_text = serde_json::to_string(&envelope).map_err(|_| AppError::Internal)?;
    repo::insert_receipt(
        &mut tx,
        &ReceiptRow {
            id: id.to_string(),
            version_id: row.id,
            key_id: statement.key_id.clone(),
            envelope: envelope_text.clone(),
            issued_by: cx.by.username.clone(),
            issued_at: now,
        },
    )
    .await?;
    let target = format!("{}@{}", model_row.name, row.version);
    cx.audit(
        &mut tx,
        "receipt.issue",
        ("version", &target),
        json!({
            "receipt_id": id.as_str(), "key_id": statement.key_id, "content_digest": digest,
            "stage": row.stage,
            "request_id": statement.approval.as_ref().map(|a| a.request_id),
            "payload_sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&payload)),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedReceipt {
        receipt_id: id.to_string(),
        envelope: serde_json::from_str(&envelope_text).map_err(|_| AppError::Internal)?,
        statement,
    })
}

/// The approved stage request that put the version in its current stage.
async fn approval_of(
    cx: &Ctx,
    row: &versions::VersionRow,
) -> Result<Option<ReceiptApproval>, AppError> {
    let requests = workflow_repo::requests_for_version(cx.db().pool(), row.id).await?;
    let Some(last) = requests
        .iter()
        .rev()
        .find(|r| {
            r.kind == RequestKind::Stage
                && r.state == RequestState::Approved
                && r.to_stage == row.stage
        })
        .cloned()
    else {
        return Ok(None);
    };
    let views = workflow_views::views(cx, std::slice::from_ref(&last)).await?;
    let Some(view) = views.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(ReceiptApproval {
        request_id: view.id,
        to: view.to,
        requested_by: view.requested_by,
        approvers: view
            .reviews
            .iter()
            .filter(|r| r.decision == Decision::Approve)
            .map(|r| r.reviewer.clone())
            .collect(),
        content_digest: view.content_digest,
        decided_at: view.closed_at,
    }))
}

/// A recorded receipt, checked again now (readers).
pub async fn get(cx: &Ctx, raw_id: &str) -> Result<ReceiptCheck, AppError> {
    cx.require(Permission::Read)?;
    let id = ReceiptId::parse(raw_id)?;
    let mut conn = cx.db().pool().acquire().await?;
    let row = repo::find_receipt(&mut conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Receipt(id.to_string())))?;
    drop(conn);
    let verified = cx
        .state
        .keys
        .verify(row.envelope.as_bytes(), RECEIPT_PAYLOAD_TYPE)
        .map_err(|e| {
            tracing::error!(receipt = %id, error = %e, "a recorded receipt does not verify");
            AppError::Internal
        })?;
    check(cx, verified.key_id, &verified.payload, Some(&row)).await
}

/// Checks a receipt someone presents (readers). One that does not verify
/// is evidence of tampering or forgery: recorded in the audit trail, then
/// refused naming what failed.
pub async fn verify_presented(cx: &Ctx, raw: &[u8]) -> Result<ReceiptCheck, AppError> {
    cx.require(Permission::Read)?;
    let verified = match cx.state.keys.verify(raw, RECEIPT_PAYLOAD_TYPE) {
        Ok(v) => v,
        Err(e) => {
            let mut tx = cx.begin().await?;
            cx.audit(
                &mut tx,
                "receipt.rejected",
                ("receipt", "presented"),
                json!({
                    "field": e.field, "reason": e.message,
                    "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(raw)),
                    "bytes": raw.len(),
                }),
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::invalid(e.field, e.message));
        }
    };
    let statement: ReceiptStatement = serde_json::from_slice(&verified.payload)
        .map_err(|_| AppError::invalid("payload", "is not a release receipt statement"))?;
    let mut conn = cx.db().pool().acquire().await?;
    let row = match ReceiptId::parse(&statement.receipt_id) {
        Ok(id) => repo::find_receipt(&mut conn, id.as_str()).await?,
        Err(_) => None,
    };
    drop(conn);
    // The same statement, but not the bytes we recorded: compare payloads,
    // since a verifier may have re-encoded the envelope's JSON.
    let recorded_payload = row.as_ref().and_then(|r| {
        cx.state
            .keys
            .verify(r.envelope.as_bytes(), RECEIPT_PAYLOAD_TYPE)
            .ok()
            .map(|v| v.payload)
    });
    let row = row.filter(|_| recorded_payload.as_deref() == Some(&verified.payload[..]));
    check(cx, verified.key_id, &verified.payload, row.as_ref()).await
}

async fn check(
    cx: &Ctx,
    key_id: String,
    payload: &[u8],
    row: Option<&ReceiptRow>,
) -> Result<ReceiptCheck, AppError> {
    let statement: ReceiptStatement = serde_json::from_slice(payload)
        .map_err(|_| AppError::invalid("payload", "is not a release receipt statement"))?;
    let content_digest_now = match row {
        Some(r) => versions::by_id(cx.db().pool(), r.version_id)
            .await?
            .and_then(|v| v.content_digest),
        None => None,
    };
    Ok(ReceiptCheck {
        valid: true,
        key_id,
        recorded: row.is_some(),
        content_unchanged: content_digest_now.as_deref() == Some(statement.content_digest.as_str()),
        content_digest_now,
        statement,
    })
}
