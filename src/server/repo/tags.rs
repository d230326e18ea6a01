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
