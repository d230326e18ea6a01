//! The audit chain anchored outside the database. The hash chain shows an
//! edited event, but whoever can write the database can also delete the
//! newest events or rewrite the whole chain consistently. So the registry
//! periodically (and on demand) signs a checkpoint — event count, head id
//! and hash, time — and publishes it where the database cannot reach: a
//! write-once object in the artifact store (`audit-checkpoints/`, one per
//! head; on S3 put a default Object Lock retention on the bucket), a
//! webhook event, and the log. Verification compares the chain with the
//! newest checkpoints and names what was deleted or rewritten.

use serde::Serialize;
use serde_json::json;

use super::Ctx;
use crate::{
    domain::{
        receipt::{CheckpointStatement, CHECKPOINT_PAYLOAD_TYPE, CHECKPOINT_SCHEMA},
        Instant, Permission, WebhookEvent,
    },
    error::AppError,
    server::{
        db::now_ms,
        events,
        repo::audit::{self as audit_repo, Origin},
        signing::Keyring,
        state::AppState,
        storage::Store,
    },
};

pub const PREFIX: &str = "audit-checkpoints/";
const CHECKPOINT_ACTION: &str = "audit.checkpoint";
/// How many of the newest checkpoints a verification checks.
const CHECKED: usize = 3;
/// A checkpoint object is a few hundred bytes; anything larger is not ours.
const MAX_OBJECT: usize = 64 * 1024;

/// A published checkpoint: where it is, what it states, and the envelope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublishedCheckpoint {
    pub key: String,
    pub statement: CheckpointStatement,
    #[schema(value_type = Object)]
    pub envelope: serde_json::Value,
}

/// The chain compared with the newest published checkpoints.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct AnchorCheck {
    /// No checkpoint contradicts the chain (true when none was published).
    pub intact: bool,
    pub checkpoints_found: usize,
    pub checkpoints_checked: usize,
    /// The newest checkpoint that verified.
    pub newest: Option<CheckpointStatement>,
    /// What was found wrong, one sentence each.
    pub problems: Vec<String>,
}

/// `audit-checkpoints/<head id, 20 digits>.json`: names sort in chain order.
fn key_for(head_id: i64) -> String {
    format!("{PREFIX}{head_id:020}.json")
}

/// Publishes a checkpoint now (auditors and admins); `None` when the
/// newest one already covers the head.
pub async fn publish(cx: &Ctx) -> Result<Option<PublishedCheckpoint>, AppError> {
    cx.require(Permission::ReadAudit)?;
    publish_as(&cx.state, Some(cx)).await
}

/// The periodic publication (`REGISTRY_ANCHOR_SECONDS`).
pub(crate) async fn publish_scheduled(
    state: &AppState,
) -> Result<Option<PublishedCheckpoint>, AppError> {
    publish_as(state, None).await
}

async fn publish_as(
    state: &AppState,
    cx: Option<&Ctx>,
) -> Result<Option<PublishedCheckpoint>, AppError> {
    let pool = state.db.pool();
    let Some((head_id, head_hash, action)) = audit_repo::head_event(pool).await? else {
        return Ok(None);
    };
    // Nothing happened since the last publication but the publication
    // itself: nothing to anchor (an idle registry publishes nothing).
    if action == CHECKPOINT_ACTION {
        return Ok(None);
    }
    let key = key_for(head_id);
    if state.store.exists(&key).await.map_err(store_error)? {
        return Ok(None);
    }
    let events = audit_repo::count_through(pool, head_id).await?;
    let now = now_ms();
    let statement = CheckpointStatement {
        schema: CHECKPOINT_SCHEMA.into(),
        issuer: state.config.public_url.clone(),
        events,
        head_id,
        head_hash: head_hash.clone(),
        at: Instant(now).to_rfc3339(),
        at_ms: now,
        key_id: state.keys.active_id().to_owned(),
    };
    let payload = serde_json::to_vec(&statement).map_err(|_| AppError::Internal)?;
    let envelope = state.keys.sign(CHECKPOINT_PAYLOAD_TYPE, &payload);
    let bytes = serde_json::to_vec_pretty(&envelope).map_err(|_| AppError::Internal)?;
    if !state
        .store
        .put_once(&key, &bytes)
        .await
        .map_err(store_error)?
    {
        return Ok(None); // another instance published this head first
    }
    // The publication itself is recorded, and sent to webhook receivers:
    // a second copy outside the database.
    let details = json!({
        "key": key, "events": events, "head_id": head_id, "head_hash": head_hash,
        "key_id": statement.key_id, "at": now,
    });
    let mut tx = state.db.begin().await?;
    match cx {
        Some(cx) => {
            cx.audit(
                &mut tx,
                CHECKPOINT_ACTION,
                ("audit", "chain"),
                details.clone(),
            )
            .await?
        }
        None => {
            super::audit(
                &mut tx,
                None,
                &Origin::default(),
                CHECKPOINT_ACTION,
                ("audit", "chain"),
                details.clone(),
            )
            .await?
        }
    }
    let envelope = serde_json::to_value(&envelope).map_err(|_| AppError::Internal)?;
    let mut event = details;
    event["envelope"] = envelope.clone();
    events::emit(&mut tx, WebhookEvent::AuditCheckpoint, event, now).await?;
    tx.commit().await?;
    state.webhook_wake.notify_one();
    tracing::info!(
        checkpoint = %key, events, head_id, head_hash = %statement.head_hash,
        envelope = %envelope,
        "audit checkpoint published"
    );
    Ok(Some(PublishedCheckpoint {
        key,
        statement,
        envelope,
    }))
}

fn store_error(e: crate::server::storage::StoreError) -> AppError {
    tracing::error!(error = %e, "audit checkpoint store");
    AppError::Internal
}

/// The newest published checkpoints, newest first (auditors and admins).
pub async fn list(cx: &Ctx, limit: usize) -> Result<Vec<PublishedCheckpoint>, AppError> {
    cx.require(Permission::ReadAudit)?;
    let mut out = Vec::new();
    for key in keys_newest_first(&cx.state.store)
        .await?
        .into_iter()
        .take(limit)
    {
        if let Some(bytes) = cx
            .state
            .store
            .read_small(&key, MAX_OBJECT)
            .await
            .map_err(store_error)?
        {
            if let Ok(v) = cx.state.keys.verify(&bytes, CHECKPOINT_PAYLOAD_TYPE) {
                if let Ok(statement) = serde_json::from_slice(&v.payload) {
                    out.push(PublishedCheckpoint {
                        key,
                        statement,
                        envelope: serde_json::from_slice(&bytes).unwrap_or_default(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Every published checkpoint's key, newest first (names sort in chain order).
async fn keys_newest_first(store: &Store) -> Result<Vec<String>, AppError> {
    let mut keys: Vec<String> = store
        .list(PREFIX)
        .await
        .map_err(store_error)?
        .into_iter()
        .filter(|k| k.ends_with(".json"))
        .collect();
    keys.sort_unstable_by(|a, b| b.cmp(a));
    Ok(keys)
}

/// Compares the chain with the newest published checkpoints. Each must
/// verify with a published key, and the chain must still hold its head
/// event with the same hash and the same number of events up to it.
pub async fn check(state: &AppState) -> Result<AnchorCheck, AppError> {
    check_with(state.db.pool(), &state.store, &state.keys).await
}

/// `check` from its parts, for `model-registry verify-audit`.
pub async fn check_with(
    pool: &sqlx::AnyPool,
    store: &Store,
    keys_ring: &Keyring,
) -> Result<AnchorCheck, AppError> {
    let keys = keys_newest_first(store).await?;
    let mut report = AnchorCheck {
        checkpoints_found: keys.len(),
        ..Default::default()
    };
    let chain_end = audit_repo::count_events(pool).await?;
    for key in keys.into_iter().take(CHECKED) {
        report.checkpoints_checked += 1;
        let Some(bytes) = store
            .read_small(&key, MAX_OBJECT)
            .await
            .map_err(store_error)?
        else {
            report
                .problems
                .push(format!("checkpoint {key} could not be read"));
            continue;
        };
        let statement: CheckpointStatement = match keys_ring
            .verify(&bytes, CHECKPOINT_PAYLOAD_TYPE)
            .map(|v| serde_json::from_slice::<CheckpointStatement>(&v.payload))
        {
            Ok(Ok(s)) => s,
            Ok(Err(_)) => {
                report
                    .problems
                    .push(format!("checkpoint {key} is not a checkpoint statement"));
                continue;
            }
            Err(e) => {
                report
                    .problems
                    .push(format!("checkpoint {key} does not verify ({e})"));
                continue;
            }
        };
        let signed = &statement.at;
        match audit_repo::hash_of(pool, statement.head_id).await? {
            None if chain_end < statement.head_id => report.problems.push(format!(
                "the newest events were deleted: checkpoint {key} (signed {signed}) names event \
                 #{} but the chain ends at #{chain_end}",
                statement.head_id
            )),
            None => report.problems.push(format!(
                "event #{} named by checkpoint {key} (signed {signed}) was deleted",
                statement.head_id
            )),
            Some(hash) if hash != statement.head_hash => report.problems.push(format!(
                "the chain was rewritten: event #{} has hash {}…, checkpoint {key} (signed \
                 {signed}) signed {}…",
                statement.head_id,
                &hash[..hash.len().min(12)],
                &statement.head_hash[..statement.head_hash.len().min(12)]
            )),
            Some(_) => {
                let count = audit_repo::count_through(pool, statement.head_id).await?;
                if count != statement.events {
                    report.problems.push(format!(
                        "events were removed: checkpoint {key} (signed {signed}) counted {} \
                         events up to #{}, the chain holds {count}",
                        statement.events, statement.head_id
                    ));
                }
            }
        }
        if report.newest.is_none() {
            report.newest = Some(statement);
        }
    }
    report.intact = report.problems.is_empty();
    Ok(report)
}

/// `check`, for auditors and admins.
pub async fn verify(cx: &Ctx) -> Result<AnchorCheck, AppError> {
    cx.require(Permission::ReadAudit)?;
    check(&cx.state).await
}
