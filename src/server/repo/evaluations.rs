//! Evaluations recorded against a version after registration.

use sqlx::{AnyConnection, AnyPool, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct EvaluationRow {
    pub id: i64,
    pub version_id: i64,
    pub name: String,
    pub dataset: Option<String>,
    /// A JSON object, metric → value.
    pub metrics: String,
    pub notes: String,
    pub content_digest: String,
    pub created_by: String,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, version_id, name, dataset, metrics, notes, content_digest, created_by, created_at";

pub struct NewEvaluation<'a> {
    pub version_id: i64,
    pub name: &'a str,
    pub dataset: Option<&'a str>,
    pub metrics: &'a str,
    pub notes: &'a str,
    pub content_digest: &'a str,
    pub created_by: &'a str,
    pub now: i64,
}

pub async fn insert(
    conn: &mut AnyConnection,
    e: NewEvaluation<'_>,
) -> Result<EvaluationRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO version_evaluations (version_id, name, dataset, metrics, notes, \
         content_digest, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING {COLUMNS}"
    ))
    .bind(e.version_id)
    .bind(e.name)
    .bind(e.dataset)
    .bind(e.metrics)
    .bind(e.notes)
    .bind(e.content_digest)
    .bind(e.created_by)
    .bind(e.now)
    .fetch_one(conn)
    .await
}

/// A version's evaluations, oldest first.
pub async fn list(pool: &AnyPool, version_id: i64) -> Result<Vec<EvaluationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM version_evaluations WHERE version_id = $1 ORDER BY id"
    ))
    .bind(version_id)
    .fetch_all(pool)
    .await
}
