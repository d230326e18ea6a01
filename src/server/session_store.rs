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

use super::{
    auth::principal::SESSION_USER_KEY,
    db::Db,
    repo::sessions::{self, SessionRow},
};

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
            let row = SessionRow {
                id: &id,
                user_id,
                data: &data,
                expiry,
            };
            if sessions::insert_new(self.db.pool(), row)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (id, user_id, data, expiry) = columns(record)?;
        let row = SessionRow {
            id: &id,
            user_id,
            data: &data,
            expiry,
        };
        sessions::upsert(self.db.pool(), row).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = unix_ms(OffsetDateTime::now_utc());
        let row = sessions::load(self.db.pool(), &id.to_string(), now)
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
        sessions::delete(self.db.pool(), &id.to_string())
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sessions::delete_expired(self.db.pool(), unix_ms(OffsetDateTime::now_utc()))
            .await
            .map_err(backend)
    }
}
