//! Reading the audit trail (auditors and admins), and verifying its chain.
//!
//! Verification resumes from the newest checkpoint (events up to `last_id`
//! verified, and `last_id`'s hash then), so the verify button and every
//! compliance report cost O(events since). A full re-verification from
//! genesis runs as a background job with its progress in the database.
//! Verifications on one server run one at a time: twenty at once share the
//! work instead of each re-reading the chain.

use axum::body::Bytes;
use futures_util::Stream;

use super::Ctx;
use crate::{
    domain::{Permission, VerificationState},
    error::{AppError, Missing},
    server::{
        db::now_ms,
        export::{self, ExportFormat},
        repo::audit::{self, ChainReport, Checkpoint, EventFilter, EventRow, VerifyJobRow},
        state::AppState,
    },
};

pub const PAGE_SIZE: i64 = 50;

pub async fn list(cx: &Ctx, filter: &EventFilter, page: u32) -> Result<Vec<EventRow>, AppError> {
    cx.require(Permission::ReadAudit)?;
    let offset = i64::from(page.saturating_sub(1)) * PAGE_SIZE;
    // One extra row tells the caller whether a next page exists.
    Ok(audit::list(cx.state.db.pool(), filter, PAGE_SIZE + 1, offset).await?)
}

/// The events matching `filter`, streamed in pages as CSV or JSON (auditors).
pub fn export(
    cx: &Ctx,
    filter: EventFilter,
    format: ExportFormat,
) -> Result<impl Stream<Item = Result<Bytes, sqlx::Error>> + Send + 'static, AppError> {
    cx.require(Permission::ReadAudit)?;
    Ok(export::audit_stream(cx.db().pool().clone(), filter, format))
}

pub async fn verify(cx: &Ctx) -> Result<ChainReport, AppError> {
    cx.require(Permission::ReadAudit)?;
    verify_incrementally(&cx.state).await
}

/// Verifies the whole chain from genesis, now (paged, one at a time), and
/// records a full checkpoint when it is intact.
pub async fn verify_full(cx: &Ctx) -> Result<ChainReport, AppError> {
    cx.require(Permission::ReadAudit)?;
    let _one_at_a_time = cx.state.chain_verification.lock().await;
    let report = audit::verify_from(cx.state.db.pool(), None).await?;
    if report.first_broken_id.is_none() {
        record_checkpoint(&cx.state, None, &report, "full").await?;
    }
    Ok(report)
}

/// Verifies the events since the newest checkpoint and, when they are
/// intact, records a new checkpoint at the head.
pub(crate) async fn verify_incrementally(state: &AppState) -> Result<ChainReport, AppError> {
    let _one_at_a_time = state.chain_verification.lock().await;
    let pool = state.db.pool();
    let from = audit::latest_checkpoint(pool).await?;
    let report = audit::verify_from(pool, from.as_ref()).await?;
    if report.first_broken_id.is_none() {
        record_checkpoint(state, from.as_ref(), &report, "incremental").await?;
    }
    Ok(report)
}

async fn record_checkpoint(
    state: &AppState,
    from: Option<&Checkpoint>,
    report: &ChainReport,
    kind: &str,
) -> Result<(), AppError> {
    let Some((last_id, last_hash)) = &report.last else {
        return Ok(());
    };
    if from.is_some_and(|c| c.last_id == *last_id) {
        return Ok(()); // nothing new since the last one
    }
    let checkpoint = Checkpoint {
        last_id: *last_id,
        last_hash: last_hash.clone(),
        events: i64::try_from(report.checked).unwrap_or(i64::MAX),
        verified_at: now_ms(),
    };
    Ok(audit::insert_checkpoint(state.db.pool(), &checkpoint, kind).await?)
}

/// Starts a full re-verification in the background; answers its job.
pub async fn start_full_verification(cx: &Ctx) -> Result<VerifyJobRow, AppError> {
    cx.require(Permission::ReadAudit)?;
    let pool = cx.state.db.pool();
    let total = audit::count_events(pool).await?;
    let id = audit::insert_job(pool, &cx.by.username, total, now_ms()).await?;
    let job_state = cx.state.clone();
    tokio::spawn(async move {
        if let Err(e) = run_full_verification(&job_state, id).await {
            tracing::error!(job = id, error = %e, "full audit-chain verification failed");
            let _ = audit::update_job(
                job_state.db.pool(),
                id,
                VerificationState::Failed,
                0,
                None,
                Some(now_ms()),
            )
            .await;
        }
    });
    audit::find_job(pool, id).await?.ok_or(AppError::Internal)
}

async fn run_full_verification(state: &AppState, id: i64) -> Result<(), AppError> {
    let pool = state.db.pool();
    let mut cursor = audit::start(pool, None).await?;
    while !cursor.finished() {
        audit::step(pool, &mut cursor).await?;
        let checked = i64::try_from(cursor.checked).unwrap_or(i64::MAX);
        audit::update_job(pool, id, VerificationState::Running, checked, None, None).await?;
    }
    let report = cursor.report();
    let verdict = if report.first_broken_id.is_some() {
        VerificationState::Broken
    } else {
        record_checkpoint(state, None, &report, "full").await?;
        VerificationState::Intact
    };
    let checked = i64::try_from(report.checked).unwrap_or(i64::MAX);
    audit::update_job(
        pool,
        id,
        verdict,
        checked,
        report.first_broken_id,
        Some(now_ms()),
    )
    .await?;
    tracing::info!(
        job = id,
        verdict = verdict.as_str(),
        events = checked,
        "full audit-chain verification finished"
    );
    Ok(())
}

pub async fn job(cx: &Ctx, id: i64) -> Result<VerifyJobRow, AppError> {
    cx.require(Permission::ReadAudit)?;
    audit::find_job(cx.state.db.pool(), id)
        .await?
        .ok_or(AppError::NotFound(Missing::VerificationJob(id)))
}
