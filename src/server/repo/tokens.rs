use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::domain::{Role, TokenScope};

#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    /// A stored scope the code does not know is a decoding error, never a default.
    #[sqlx(try_from = "String")]
    pub scope: TokenScope,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str =
    "id, user_id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at";

pub struct NewToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub scope: TokenScope,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

pub async fn insert(conn: &mut AnyConnection, t: NewToken<'_>) -> Result<TokenRow, sqlx::Error> {
    sqlx::query_as::<_, TokenRow>(&format!(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, scope, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(t.user_id)
    .bind(t.name)
    .bind(t.token_hash)
    .bind(t.prefix)
    .bind(t.scope.as_str())
    .bind(t.created_at)
    .bind(t.expires_at)
    .fetch_one(conn)
    .await
}

pub async fn list_for_user(pool: &AnyPool, user_id: i64) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as::<_, TokenRow>(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as::<_, TokenRow>(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Who a presented token speaks for, read in one query: a usable token (not
/// revoked, not expired) of an active user, with what the caller needs.
#[derive(Debug, Clone, FromRow)]
pub struct TokenCaller {
    pub token_id: i64,
    #[sqlx(try_from = "String")]
    pub scope: TokenScope,
    pub last_used_at: Option<i64>,
    pub user_id: i64,
    pub username: String,
    pub role: Role,
}

pub async fn find_caller(
    pool: &AnyPool,
    token_hash: &str,
    now: i64,
) -> Result<Option<TokenCaller>, sqlx::Error> {
    sqlx::query_as::<_, TokenCaller>(
        "SELECT t.id AS token_id, t.scope, t.last_used_at, u.id AS user_id, u.username, u.role \
         FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
         AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.active = 1",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Revokes every live token of a user; returns how many.
pub async fn revoke_all_for_user(
    conn: &mut AnyConnection,
    user_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}

pub async fn revoke(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// How stale a token's recorded last use may get: reads stay reads, and the
/// account page is still right to the minute.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// Whether a use at `now` must be written: only when the recorded one is
/// older than the resolution (the caller read it with the token, so most
/// requests write nothing).
pub fn use_is_due(last_used_at: Option<i64>, now: i64) -> bool {
    last_used_at.is_none_or(|t| now.saturating_sub(t) >= LAST_USED_RESOLUTION_MS)
}

/// Records a use. The guard keeps concurrent requests at the minute's turn
/// (or several instances) from moving it more than once, or backwards.
pub async fn touch(pool: &AnyPool, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
         AND (last_used_at IS NULL OR last_used_at <= $3)",
    )
    .bind(now)
    .bind(id)
    .bind(now - LAST_USED_RESOLUTION_MS)
    .execute(pool)
    .await
    .map(drop)
}
