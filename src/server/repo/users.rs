use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::domain::{Role, Username};

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub active: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = sqlx::Error;
    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: row.id,
            username: row.username,
            password_hash: row.password_hash,
            role: row.role,
            active: row.active != 0,
            created_at: row.created_at,
        })
    }
}

const COLUMNS: &str = "id, username, password_hash, role, active, created_at, updated_at";

pub async fn count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await
}

pub async fn find_by_username(
    pool: &AnyPool,
    username: &Username,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
        .bind(username.as_str())
        .fetch_optional(pool)
        .await?
        .map(User::try_from)
        .transpose()
}

pub async fn find_by_id(pool: &AnyPool, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(User::try_from)
        .transpose()
}

/// Makes role and activation changes run one at a time (Postgres; SQLite
/// has one writer anyway), so "is there another active admin?" cannot be
/// answered yes to two admins removing each other at the same moment.
pub async fn serialize_admin_changes(
    conn: &mut AnyConnection,
    backend: crate::server::db::Backend,
) -> Result<(), sqlx::Error> {
    if backend == crate::server::db::Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7340032)")
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Same as `find_by_username`, inside a write transaction.
pub async fn lock_by_username(
    conn: &mut AnyConnection,
    username: &Username,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
        .bind(username.as_str())
        .fetch_optional(conn)
        .await?
        .map(User::try_from)
        .transpose()
}

pub async fn list(pool: &AnyPool) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(User::try_from)
        .collect()
}

pub async fn insert(
    conn: &mut AnyConnection,
    username: &Username,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, active, created_at, updated_at) \
         VALUES ($1, $2, $3, 1, $4, $4) RETURNING id",
    )
    .bind(username.as_str())
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn set_role(
    conn: &mut AnyConnection,
    id: i64,
    role: Role,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.as_str())
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_password_hash(
    conn: &mut AnyConnection,
    id: i64,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_active(
    conn: &mut AnyConnection,
    id: i64,
    active: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET active = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(active))
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn count_active_admins(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1")
        .fetch_one(conn)
        .await
}

/// Ends every session of a user at once (deactivation, password reset).
pub async fn delete_sessions(conn: &mut AnyConnection, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await
        .map(drop)
}
