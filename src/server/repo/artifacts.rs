//! Artifact records: one row per file of a version.

use sqlx::{AnyConnection, AnyPool, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct ArtifactRow {
    pub id: i64,
    pub version_id: i64,
    pub path: String,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub media_type: String,
    pub format: String,
    pub storage_key: Option<String>,
    pub external_uri: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, version_id, path, size, sha256, media_type, format, storage_key, external_uri, created_by, created_at";

pub struct NewArtifact<'a> {
    pub version_id: i64,
    pub path: &'a str,
    pub size: Option<i64>,
    pub sha256: Option<&'a str>,
    pub media_type: &'a str,
    pub format: &'a str,
    pub storage_key: Option<&'a str>,
    pub external_uri: Option<&'a str>,
    pub created_by: &'a str,
    pub now: i64,
}

pub async fn insert(
    conn: &mut AnyConnection,
    a: NewArtifact<'_>,
) -> Result<ArtifactRow, sqlx::Error> {
    sqlx::query_as::<_, ArtifactRow>(&format!(
        "INSERT INTO artifacts (version_id, path, size, sha256, media_type, format, storage_key, external_uri, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    ))
    .bind(a.version_id)
    .bind(a.path)
    .bind(a.size)
    .bind(a.sha256)
    .bind(a.media_type)
    .bind(a.format)
    .bind(a.storage_key)
    .bind(a.external_uri)
    .bind(a.created_by)
    .bind(a.now)
    .fetch_one(conn)
    .await
}

/// Whether the path was ever used in the version (deleted files included:
/// a path is never reused).
pub async fn path_taken(pool: &AnyPool, version_id: i64, path: &str) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM artifacts WHERE version_id = $1 AND path = $2")
            .bind(version_id)
            .bind(path)
            .fetch_one(pool)
            .await?;
    Ok(n > 0)
}

pub async fn list(pool: &AnyPool, version_id: i64) -> Result<Vec<ArtifactRow>, sqlx::Error> {
    sqlx::query_as::<_, ArtifactRow>(&format!(
        "SELECT {COLUMNS} FROM artifacts WHERE version_id = $1 AND deleted_at IS NULL ORDER BY path"
    ))
    .bind(version_id)
    .fetch_all(pool)
    .await
}

/// A live file of a version, from the pool or inside a transaction.
pub async fn find<'e, E>(
    executor: E,
    version_id: i64,
    path: &str,
) -> Result<Option<ArtifactRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as::<_, ArtifactRow>(&format!(
        "SELECT {COLUMNS} FROM artifacts WHERE version_id = $1 AND path = $2 AND deleted_at IS NULL"
    ))
    .bind(version_id)
    .bind(path)
    .fetch_optional(executor)
    .await
}

pub async fn soft_delete(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE artifacts SET deleted_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}
