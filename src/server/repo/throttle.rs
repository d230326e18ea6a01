//! Sign-in throttle counters, one row per key, in the database so that
//! every app server sees the same counts (see `domain::throttle`).

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};

use super::sql::{Sql, Value};
use crate::{domain::Counter, server::db::Backend};

#[derive(FromRow)]
struct Row {
    key: String,
    count: i64,
    window_start: i64,
    next_allowed_at: i64,
    refusal_logged: i64,
}

/// Locks (creating them if needed) the counters of `keys`, in key order so
/// concurrent attempts never deadlock, and returns their state.
pub async fn lock(
    conn: &mut AnyConnection,
    backend: Backend,
    keys: &[&str],
) -> Result<HashMap<String, Counter>, sqlx::Error> {
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for key in &sorted {
        sqlx::query(
            "INSERT INTO sign_in_throttle (key, count, window_start, next_allowed_at, refusal_logged) \
             VALUES ($1, 0, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
        )
        .bind(*key)
        .execute(&mut *conn)
        .await?;
    }
    let mut sql = Sql::new(
        "SELECT key, count, window_start, next_allowed_at, refusal_logged FROM sign_in_throttle \
         WHERE key IN (",
    );
    for (i, key) in sorted.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Value::Text((*key).to_owned()));
    }
    // SQLite's write transaction already excludes every other writer.
    sql.push(match backend {
        Backend::Postgres => ") ORDER BY key FOR UPDATE",
        Backend::Sqlite => ") ORDER BY key",
    });
    let rows = sql.query_as::<Row>()?.fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let counter = Counter {
                count: u32::try_from(r.count).unwrap_or(u32::MAX),
                window_start: r.window_start,
                next_allowed_at: r.next_allowed_at,
                refusal_logged: r.refusal_logged != 0,
            };
            (r.key, counter)
        })
        .collect())
}

pub async fn store(conn: &mut AnyConnection, key: &str, c: &Counter) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sign_in_throttle SET count = $1, window_start = $2, next_allowed_at = $3, \
         refusal_logged = $4 WHERE key = $5",
    )
    .bind(i64::from(c.count))
    .bind(c.window_start)
    .bind(c.next_allowed_at)
    .bind(i64::from(c.refusal_logged))
    .bind(key)
    .execute(conn)
    .await
    .map(drop)
}

/// Drops counters that no longer matter: the table stays as small as the
/// set of keys active within one window.
pub async fn sweep(
    conn: &mut AnyConnection,
    window_started_before: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_throttle WHERE window_start < $1 AND next_allowed_at <= $2")
        .bind(window_started_before)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}
