//! Model aliases (`champion` → a version) and the one-query lookups CI/CD
//! pipelines use to find "the version in production" with its files.

use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::domain::{catalog::VersionStatus, Stage};

/// Points `alias` at a version; returns the version it pointed at before.
pub async fn set(
    conn: &mut AnyConnection,
    model_id: i64,
    alias: &str,
    version_id: i64,
    by: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let before = find(&mut *conn, model_id, alias).await?;
    sqlx::query(
        "INSERT INTO model_aliases (model_id, alias, version_id, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id, alias) DO UPDATE SET \
         version_id = excluded.version_id, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(model_id)
    .bind(alias)
    .bind(version_id)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(before)
}

/// Removes an alias; returns the version it pointed at, if it existed.
pub async fn delete(
    conn: &mut AnyConnection,
    model_id: i64,
    alias: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM model_aliases WHERE model_id = $1 AND alias = $2 RETURNING version_id",
    )
    .bind(model_id)
    .bind(alias)
    .fetch_optional(conn)
    .await
}

pub async fn find(
    conn: &mut AnyConnection,
    model_id: i64,
    alias: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version_id FROM model_aliases WHERE model_id = $1 AND alias = $2")
        .bind(model_id)
        .bind(alias)
        .fetch_optional(conn)
        .await
}

/// The aliases pointing at a version.
pub async fn names_for_version(
    conn: &mut AnyConnection,
    version_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT alias FROM model_aliases WHERE version_id = $1 ORDER BY alias")
        .bind(version_id)
        .fetch_all(conn)
        .await
}

#[derive(Debug, Clone, FromRow)]
pub struct AliasRow {
    pub alias: String,
    pub version: String,
    pub updated_by: String,
    pub updated_at: i64,
}

/// A model's aliases with the version each names, by alias.
pub async fn list_for_model(pool: &AnyPool, model_id: i64) -> Result<Vec<AliasRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.alias, v.version, a.updated_by, a.updated_at FROM model_aliases a \
         JOIN model_versions v ON v.id = a.version_id WHERE a.model_id = $1 ORDER BY a.alias",
    )
    .bind(model_id)
    .fetch_all(pool)
    .await
}

/// Which version a lookup names.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Every live version in the stage, highest first.
    Stage(String),
    Alias(String),
    /// By identity key (semver without build metadata).
    Version(String),
    /// The highest live version.
    Latest,
    /// Every live version, highest first (to filter by a requirement).
    All,
}

/// One row per (version, artifact); a version without files gives one row
/// with the artifact columns NULL.
#[derive(Debug, Clone, FromRow)]
pub struct ResolvedRow {
    pub version_id: i64,
    pub version: String,
    pub seq: i64,
    pub stage: Stage,
    pub status: VersionStatus,
    pub created_by: String,
    pub created_at: i64,
    pub commit_sha: Option<String>,
    pub content_digest: Option<String>,
    pub artifact_id: Option<i64>,
    pub path: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub media_type: Option<String>,
    pub format: Option<String>,
    pub storage_key: Option<String>,
    pub external_uri: Option<String>,
    pub artifact_created_by: Option<String>,
    pub artifact_created_at: Option<i64>,
}

/// Resolves a selector and fetches the version's artifacts in one indexed
/// query. Rows come highest version first, then by artifact path.
pub async fn resolve(
    pool: &AnyPool,
    model_name: &str,
    selector: &Selector,
) -> Result<Vec<ResolvedRow>, sqlx::Error> {
    let (condition, value) = match selector {
        Selector::Stage(stage) => ("v.stage = $2", Some(stage.as_str())),
        Selector::Alias(alias) => (
            "v.id = (SELECT version_id FROM model_aliases WHERE model_id = m.id AND alias = $2)",
            Some(alias.as_str()),
        ),
        Selector::Version(key) => ("v.version_key = $2", Some(key.as_str())),
        Selector::All => ("1 = 1", None),
        Selector::Latest => (
            "v.id = (SELECT id FROM model_versions WHERE model_id = m.id AND deleted_at IS NULL \
             ORDER BY sort_key DESC LIMIT 1)",
            None,
        ),
    };
    let sql = format!(
        "SELECT v.id AS version_id, v.version, v.seq, v.stage, v.status, v.created_by, \
         v.created_at, v.commit_sha, v.content_digest, a.id AS artifact_id, a.path, a.size, a.sha256, a.media_type, \
         a.format, a.storage_key, a.external_uri, a.created_by AS artifact_created_by, \
         a.created_at AS artifact_created_at \
         FROM models m JOIN model_versions v ON v.model_id = m.id AND v.deleted_at IS NULL \
         LEFT JOIN artifacts a ON a.version_id = v.id AND a.deleted_at IS NULL \
         WHERE m.name = $1 AND m.deleted_at IS NULL AND {condition} \
         ORDER BY v.sort_key DESC, a.path"
    );
    let query = sqlx::query_as::<_, ResolvedRow>(&sql).bind(model_name);
    match value {
        Some(v) => query.bind(v).fetch_all(pool).await,
        None => query.fetch_all(pool).await,
    }
}
