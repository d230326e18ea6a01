//! Point-in-time reads of the stage history: which version was in which
//! stage at an instant. A version is Experimental from its registration
//! until its first recorded change; a change is in effect from its own
//! millisecond on; a deleted version is in no stage from its deletion on.

use sqlx::{AnyPool, FromRow};

use crate::domain::Stage;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StageAt {
    pub version_id: i64,
    pub version: String,
    pub stage: Stage,
    /// When the version entered that stage.
    pub since: i64,
}

/// Every version of the model that existed at `at`, with its stage then.
/// One query; ordered by version id.
pub async fn stages_at(
    pool: &AnyPool,
    model_id: i64,
    at: i64,
) -> Result<Vec<StageAt>, sqlx::Error> {
    sqlx::query_as(
        "SELECT v.id AS version_id, v.version AS version, \
           COALESCE((SELECT h.to_stage FROM stage_history h WHERE h.version_id = v.id AND h.changed_at <= $2 \
                     ORDER BY h.changed_at DESC, h.id DESC LIMIT 1), 'experimental') AS stage, \
           COALESCE((SELECT h.changed_at FROM stage_history h WHERE h.version_id = v.id AND h.changed_at <= $2 \
                     ORDER BY h.changed_at DESC, h.id DESC LIMIT 1), v.created_at) AS since \
         FROM model_versions v \
         WHERE v.model_id = $1 AND v.created_at <= $2 AND (v.deleted_at IS NULL OR v.deleted_at > $2) \
         ORDER BY v.id",
    )
    .bind(model_id)
    .bind(at)
    .fetch_all(pool)
    .await
}

/// One stage change of a model's versions, for timelines and reports.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ChangeRow {
    pub version_id: i64,
    pub version: String,
    pub from_stage: Option<Stage>,
    pub to_stage: Stage,
    pub request_id: Option<i64>,
    pub changed_by: String,
    pub reason: String,
    pub changed_at: i64,
}

/// Every stage change of the model's versions, oldest first, optionally
/// bounded to `[from, to)`.
pub async fn model_changes(
    pool: &AnyPool,
    model_id: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Vec<ChangeRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT h.version_id, v.version, h.from_stage, h.to_stage, h.request_id, h.changed_by, \
           h.reason, h.changed_at \
         FROM stage_history h JOIN model_versions v ON v.id = h.version_id \
         WHERE v.model_id = $1 AND h.changed_at >= $2 AND h.changed_at < $3 \
         ORDER BY h.changed_at, h.id",
    )
    .bind(model_id)
    .bind(from.unwrap_or(i64::MIN))
    .bind(to.unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
}

/// The stage one version was in at `at` (Experimental before its first
/// recorded change).
pub async fn version_stage_at(
    conn: &mut sqlx::AnyConnection,
    version_id: i64,
    at: i64,
) -> Result<Stage, sqlx::Error> {
    let stage: Option<Stage> = sqlx::query_scalar(
        "SELECT to_stage FROM stage_history WHERE version_id = $1 AND changed_at <= $2 \
         ORDER BY changed_at DESC, id DESC LIMIT 1",
    )
    .bind(version_id)
    .bind(at)
    .fetch_optional(conn)
    .await?;
    Ok(stage.unwrap_or(Stage::Experimental))
}
