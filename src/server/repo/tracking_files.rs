//! The files of MLflow runs and logged models, and whether a stored object
//! is still referred to (by these or by a version's artifacts).

use sqlx::{AnyConnection, FromRow};

use crate::{domain::mlflow_tracking::FileOwner, server::db::Backend};

#[derive(Debug, Clone, FromRow)]
pub struct FileRow {
    pub path: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub created_at: i64,
}

pub struct NewFile<'a> {
    pub owner: &'a FileOwner,
    pub path: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
    pub created_by: &'a str,
    pub now: i64,
}

/// The owner's file at `path`, if any.
pub async fn file<'e, E>(
    executor: E,
    owner: &FileOwner,
    path: &str,
) -> Result<Option<FileRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let (kind, id) = owner.stored();
    sqlx::query_as(
        "SELECT path, size, sha256, storage_key, created_at FROM tracking_files \
         WHERE owner_kind = $1 AND owner_id = $2 AND path = $3",
    )
    .bind(kind)
    .bind(id)
    .bind(path)
    .fetch_optional(executor)
    .await
}

/// Records a file, replacing the one at the same path (MLflow lets a run
/// log a file again); the caller removes the replaced object when unused.
pub async fn put_file(conn: &mut AnyConnection, f: NewFile<'_>) -> Result<(), sqlx::Error> {
    let (kind, id) = f.owner.stored();
    sqlx::query(
        "INSERT INTO tracking_files (owner_kind, owner_id, path, size, sha256, storage_key, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (owner_kind, owner_id, path) DO UPDATE SET \
         size = excluded.size, sha256 = excluded.sha256, storage_key = excluded.storage_key, \
         created_by = excluded.created_by, created_at = excluded.created_at",
    )
    .bind(kind)
    .bind(id)
    .bind(f.path)
    .bind(f.size)
    .bind(f.sha256)
    .bind(f.storage_key)
    .bind(f.created_by)
    .bind(f.now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_file(
    conn: &mut AnyConnection,
    owner: &FileOwner,
    path: &str,
) -> Result<u64, sqlx::Error> {
    let (kind, id) = owner.stored();
    let done = sqlx::query(
        "DELETE FROM tracking_files WHERE owner_kind = $1 AND owner_id = $2 AND path = $3",
    )
    .bind(kind)
    .bind(id)
    .bind(path)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn files<'e, E>(executor: E, owner: &FileOwner) -> Result<Vec<FileRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let (kind, id) = owner.stored();
    sqlx::query_as(
        "SELECT path, size, sha256, storage_key, created_at FROM tracking_files \
         WHERE owner_kind = $1 AND owner_id = $2 ORDER BY path",
    )
    .bind(kind)
    .bind(id)
    .fetch_all(executor)
    .await
}

/// Whether any file record (a version's live artifact, or a run's or
/// logged model's file) still refers to the stored object.
pub async fn object_in_use(conn: &mut AnyConnection, key: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM tracking_files WHERE storage_key = $1) \
              + (SELECT COUNT(*) FROM artifacts WHERE storage_key = $1 AND deleted_at IS NULL)",
    )
    .bind(key)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Whether a run's or logged model's file still refers to `key`. On
/// Postgres the row stays locked (`FOR SHARE`) until the transaction ends,
/// so while a version takes the object as its own, the file can be neither
/// replaced nor deleted (which would remove the object before the version's
/// record of it is committed). SQLite has one writer, which does the same.
pub async fn hold(
    conn: &mut AnyConnection,
    backend: Backend,
    key: &str,
) -> Result<bool, sqlx::Error> {
    let lock = if backend == Backend::Postgres {
        " FOR SHARE"
    } else {
        ""
    };
    let found: Option<String> = sqlx::query_scalar(&format!(
        "SELECT storage_key FROM tracking_files WHERE storage_key = $1 LIMIT 1{lock}"
    ))
    .bind(key)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}
