//! What a backup reads from the database snapshot: every stored object the
//! registry refers to (version artifacts and tracking files, with the
//! SHA-256 and size recorded at upload), the audit chain's length and head,
//! and whether a database already holds a registry (restore needs an empty
//! one).

use std::collections::BTreeMap;

use sqlx::{Any, AnyConnection, AnyPool, FromRow, Transaction};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct StoredObject {
    pub storage_key: String,
    pub sha256: String,
    pub size: Option<i64>,
}

/// Every object a live row refers to, once each (a tracking file and the
/// version that adopted it share one object), in key order.
pub async fn stored_objects(conn: &mut AnyConnection) -> Result<Vec<StoredObject>, sqlx::Error> {
    let rows: Vec<StoredObject> = sqlx::query_as(
        "SELECT storage_key, sha256, size FROM artifacts \
         WHERE storage_key IS NOT NULL AND sha256 IS NOT NULL AND deleted_at IS NULL \
         UNION ALL SELECT storage_key, sha256, size FROM tracking_files",
    )
    .fetch_all(conn)
    .await?;
    let mut by_key = BTreeMap::new();
    for row in rows {
        by_key.entry(row.storage_key.clone()).or_insert(row);
    }
    Ok(by_key.into_values().collect())
}

/// The chain's length and its newest event (id, hash).
pub async fn chain_head(
    conn: &mut AnyConnection,
) -> Result<(i64, Option<(i64, String)>), sqlx::Error> {
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(&mut *conn)
        .await?;
    let head = super::audit::head(conn).await?;
    Ok((events, head))
}

/// How many models and versions the snapshot holds (for the summary).
pub async fn catalog_size(conn: &mut AnyConnection) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM models WHERE deleted_at IS NULL), \
                (SELECT COUNT(*) FROM model_versions WHERE deleted_at IS NULL)",
    )
    .fetch_one(conn)
    .await
}

/// Whether the database has any table in it: a restore never merges into
/// (or overwrites) an existing registry.
pub async fn has_tables(
    conn: &mut AnyConnection,
    backend: crate::server::db::Backend,
) -> Result<bool, sqlx::Error> {
    let sql = match backend {
        crate::server::db::Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
        }
        crate::server::db::Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let n: i64 = sqlx::query_scalar(sql).fetch_one(conn).await?;
    Ok(n > 0)
}

/// The read-only snapshot a backup reads Postgres in: `pg_dump --snapshot`
/// and the returned transaction see exactly the same data (export it with
/// `export_snapshot`). Dropped without commit, it simply ends.
pub async fn begin_snapshot(pool: &AnyPool) -> Result<Transaction<'static, Any>, sqlx::Error> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
}

pub async fn export_snapshot(conn: &mut AnyConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(conn)
        .await
}

/// A consistent copy of a live SQLite database (readers and writers go on).
pub async fn sqlite_vacuum_into(conn: &mut AnyConnection, path: &str) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(conn)
        .await
        .map(drop)
}
