//! tower-sessions store in the application database (SQLite or Postgres),
//! so sessions survive restarts and are shared by several app servers.
//! The owning user id is copied into its own column so all of a user's
//! sessions can be ended at once.

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};

use super::{auth::principal::SESSION_USER_KEY, db::Db};

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn columns(record: &Record) -> session_store::Result<(String, Option<i64>, String, i64)> {
    let data = serde_json::to_string(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let user_id = record.data.get(SESSION_USER_KEY).and_then(|v| v.as_i64());
    Ok((
        record.id.to_string(),
        user_id,
        data,
        unix_ms(record.expiry_date),
    ))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let (id, user_id, data, expiry) = columns(record)?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, user_id, data, expiry_date) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(user_id)
            .bind(data)
            .bind(expiry)
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (id, user_id, data, expiry) = columns(record)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, data, expiry_date) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, \
             expiry_date = excluded.expiry_date",
        )
        .bind(id)
        .bind(user_id)
        .bind(data)
        .bind(expiry)
        .execute(self.db.pool())
        .await
        .map_err(backend)
        .map(drop)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, expiry_date FROM sessions WHERE id = $1 AND expiry_date > $2",
        )
        .bind(id.to_string())
        .bind(unix_ms(OffsetDateTime::now_utc()))
        .fetch_optional(self.db.pool())
        .await
        .map_err(backend)?;
        let Some((data, expiry)) = row else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp_nanos(i128::from(expiry) * 1_000_000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.db.pool())
            .await
            .map_err(backend)
            .map(drop)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE expiry_date <= $1")
            .bind(unix_ms(OffsetDateTime::now_utc()))
            .execute(self.db.pool())
            .await
            .map_err(backend)
            .map(drop)
    }
}
