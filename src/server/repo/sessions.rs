//! Browser sessions (the rows behind `session_store::DbSessionStore`).

use sqlx::AnyPool;

/// A session as stored: its id, the signed-in user (for revoking a user's
/// sessions), the JSON data and the expiry in Unix milliseconds.
pub struct SessionRow<'a> {
    pub id: &'a str,
    pub user_id: Option<i64>,
    pub data: &'a str,
    pub expiry: i64,
}

/// Inserts a new session; `false` when the id is taken.
pub async fn insert_new(pool: &AnyPool, s: SessionRow<'_>) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO sessions (id, user_id, data, expiry_date) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.data)
    .bind(s.expiry)
    .execute(pool)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn upsert(pool: &AnyPool, s: SessionRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, data, expiry_date) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, \
         expiry_date = excluded.expiry_date",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.data)
    .bind(s.expiry)
    .execute(pool)
    .await
    .map(drop)
}

/// `(data, expiry)` of a session that has not expired at `now`.
pub async fn load(
    pool: &AnyPool,
    id: &str,
    now: i64,
) -> Result<Option<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT data, expiry_date FROM sessions WHERE id = $1 AND expiry_date > $2")
        .bind(id)
        .bind(now)
        .fetch_optional(pool)
        .await
}

pub async fn delete(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
}

pub async fn delete_expired(pool: &AnyPool, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE expiry_date <= $1")
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
}
