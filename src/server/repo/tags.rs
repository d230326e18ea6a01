//! Single-tag writes on models and versions (the bulk forms live with their
//! aggregates). Upserts use `ON CONFLICT`, which SQLite and Postgres share.

use sqlx::AnyConnection;

/// Whose tag: a model's (`model_tags`) or a version's (`version_tags`).
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Model(i64),
    Version(i64),
}

impl Owner {
    fn table_and_column(self) -> (&'static str, &'static str, i64) {
        match self {
            Owner::Model(id) => ("model_tags", "model_id", id),
            Owner::Version(id) => ("version_tags", "version_id", id),
        }
    }
}

/// The tag's value now, if it is set.
async fn current(
    conn: &mut AnyConnection,
    owner: Owner,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    let (table, column, id) = owner.table_and_column();
    sqlx::query_scalar(&format!(
        "SELECT value FROM {table} WHERE {column} = $1 AND key = $2"
    ))
    .bind(id)
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// How many tags the owner has.
pub async fn count(conn: &mut AnyConnection, owner: Owner) -> Result<i64, sqlx::Error> {
    let (table, column, id) = owner.table_and_column();
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"))
        .bind(id)
        .fetch_one(conn)
        .await
}

pub async fn set(
    conn: &mut AnyConnection,
    owner: Owner,
    key: &str,
    value: &str,
) -> Result<Option<String>, sqlx::Error> {
    let (table, column, id) = owner.table_and_column();
    let before = current(conn, owner, key).await?;
    sqlx::query(&format!(
        "INSERT INTO {table} ({column}, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT ({column}, key) DO UPDATE SET value = excluded.value"
    ))
    .bind(id)
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(before)
}

/// Removes a tag; answers its old value, `None` when there was no such tag.
pub async fn delete(
    conn: &mut AnyConnection,
    owner: Owner,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    let (table, column, id) = owner.table_and_column();
    let before = current(conn, owner, key).await?;
    if before.is_some() {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE {column} = $1 AND key = $2"
        ))
        .bind(id)
        .bind(key)
        .execute(conn)
        .await?;
    }
    Ok(before)
}

/// A tag filter matching at most this many models is read from the tag
/// index first (then sorted); a more common one is checked per model while
/// the search walks its sort order, which finds a page of matches soon. The
/// tag-first read costs ~1 µs per match, so this keeps it to a few ms; the
/// walk is fast unless the tag's models sit late in the order (a tag that
/// follows the names' prefixes, say), which the tag-first read is immune to.
pub const SELECTIVE_TAG: i64 = 5_000;

/// Whether few enough models carry `key = value` to start from the tag.
pub async fn selective(pool: &sqlx::AnyPool, key: &str, value: &str) -> Result<bool, sqlx::Error> {
    Ok(models_tagged(pool, key, value, SELECTIVE_TAG + 1).await? <= SELECTIVE_TAG)
}

/// How many models carry the tag `key = value`, counted up to `cap` (an
/// index range scan that stops there): searches use it to decide whether
/// to start from the tag index or from their sort order.
pub async fn models_tagged(
    pool: &sqlx::AnyPool,
    key: &str,
    value: &str,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM model_tags WHERE key = $1 AND value = $2 LIMIT $3) t",
    )
    .bind(key)
    .bind(value)
    .bind(cap)
    .fetch_one(pool)
    .await
}
