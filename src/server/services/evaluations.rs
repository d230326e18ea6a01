//! Evaluations: later results recorded beside a version (frozen or not),
//! each with who, when and the content digest it was measured on.

use serde_json::json;

use super::{commit, content, lookup, Ctx};
use crate::{
    domain::{ModelName, NewEvaluation, Permission, SemVer, WebhookEvent},
    dto::EvaluationView,
    error::AppError,
    server::{
        db::now_ms,
        repo::evaluations::{self as repo, EvaluationRow},
        state::AppState,
    },
};

pub fn view(row: EvaluationRow) -> Result<EvaluationView, AppError> {
    let metrics = serde_json::from_str(&row.metrics).map_err(|e| {
        tracing::error!(id = row.id, error = %e, "stored evaluation metrics do not parse");
        AppError::Internal
    })?;
    Ok(EvaluationView {
        id: row.id,
        name: row.name,
        dataset: row.dataset,
        metrics,
        notes: row.notes,
        content_digest: row.content_digest,
        created_by: row.created_by,
        created_at: row.created_at,
    })
}

/// Records an evaluation (contributors). The digest is the one the version
/// has now, recomputed from its rows inside the transaction.
pub async fn record(
    cx: &Ctx,
    model_name: &ModelName,
    version: &SemVer,
    input: NewEvaluation,
) -> Result<EvaluationView, AppError> {
    cx.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, cx.db(), model_name, version).await?;
    let digest = content::compute(&mut tx, row.id).await?;
    let metrics = serde_json::to_string(&input.metrics).map_err(|_| AppError::Internal)?;
    let digest_text = digest.to_string();
    let inserted = repo::insert(
        &mut tx,
        repo::NewEvaluation {
            version_id: row.id,
            name: &input.name,
            dataset: input.dataset.as_deref(),
            metrics: &metrics,
            notes: &input.notes,
            content_digest: &digest_text,
            created_by: &cx.by.username,
            now,
        },
    )
    .await?;
    let target = format!("{}@{}", model.name, row.version);
    cx.audit(
        &mut tx,
        "version.evaluate",
        ("version", &target),
        json!({
            "evaluation_id": inserted.id, "name": input.name, "dataset": input.dataset,
            "metrics": input.metrics, "content_digest": digest_text,
        }),
    )
    .await?;
    crate::server::events::emit(
        &mut tx,
        WebhookEvent::VersionEvaluated,
        json!({
            "model": model.name, "version": row.version, "evaluation_id": inserted.id,
            "name": input.name, "metrics": input.metrics, "content_digest": digest_text,
            "recorded_by": cx.by.username,
        }),
        now,
    )
    .await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    view(inserted)
}

pub async fn list(
    cx: &Ctx,
    model: &str,
    version: &SemVer,
) -> Result<Vec<EvaluationView>, AppError> {
    let (_, row) = lookup::find_version(cx, model, version).await?;
    list_for(&cx.state, row.id).await
}

pub async fn list_for(state: &AppState, version_id: i64) -> Result<Vec<EvaluationView>, AppError> {
    repo::list(state.db.pool(), version_id)
        .await?
        .into_iter()
        .map(view)
        .collect()
}
