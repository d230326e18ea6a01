//! One connection pool for both databases, through `sqlx::Any`, so every
//! repository runs the same SQL on SQLite and Postgres. Where the dialects
//! differ, repositories ask `Db::backend()`.

use std::{
    ops::{Deref, DerefMut},
    sync::Arc,
    time::Duration,
};

use sqlx::{
    any::{install_default_drivers, AnyConnectOptions, AnyPoolOptions},
    Any, AnyConnection, AnyPool, Executor, Transaction,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The database a `DATABASE_URL` names, by its scheme.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time, so write transactions share one
    /// connection: its page cache stays warm (a pooled connection's cache is
    /// dropped whenever another connection has written since it last read).
    sqlite_writer: Option<AnyPool>,
    /// Queueing writers here (instead of letting them spin on SQLITE_BUSY)
    /// keeps concurrent writes fair.
    sqlite_writer_turn: Arc<Mutex<()>>,
}

/// A write transaction. On SQLite it also holds the writer slot.
pub struct Tx {
    inner: Transaction<'static, Any>,
    _writer: Option<OwnedMutexGuard<()>>,
    /// Postgres only: the pool `commit` waits for the WAL flush through.
    postgres: Option<AnyPool>,
    /// Set by [`Tx::serialize_audited`]: the commit returns before its WAL
    /// flush and `commit` then waits for the flush.
    flush_after_commit: bool,
}

/// The Postgres advisory lock every audited write holds from its audit
/// append to its commit, so each event sees its predecessor.
const AUDIT_CHAIN_LOCK: i64 = 7340031;

impl Tx {
    /// On Postgres, takes the lock that orders audited writes (the audit
    /// chain's head) until this transaction ends; SQLite's one writer already
    /// orders them.
    ///
    /// A commit waits for its WAL flush (an fsync, 3 ms on this machine's
    /// disk) holding its locks, so under this lock writes would commit one
    /// fsync at a time. Instead the transaction commits with
    /// `synchronous_commit = off`, releasing the lock as soon as its commit
    /// record is written, and `commit` then waits for the flush outside the
    /// lock, where the waits of concurrent writers share one fsync (Postgres'
    /// group commit). The caller is still answered only once its change is
    /// durable; other sessions may see it up to one flush earlier, and a
    /// database crash in that window loses it together with everything
    /// chained after it (the WAL is written in order), never a part of it.
    pub async fn serialize_audited(&mut self) -> Result<(), sqlx::Error> {
        if self.postgres.is_some() && !self.flush_after_commit {
            sqlx::query(
                "SELECT pg_advisory_xact_lock($1), set_config('synchronous_commit', 'off', true)",
            )
            .bind(AUDIT_CHAIN_LOCK)
            .execute(&mut *self.inner)
            .await?;
            self.flush_after_commit = true;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await?;
        if let (Some(pool), true) = (self.postgres, self.flush_after_commit) {
            // A transactional WAL record gives this statement's own commit
            // something to flush; flushing it flushes every record before
            // it, ours included. (`::text`: sqlx's Any driver cannot decode
            // `pg_lsn`.) A failure is returned: the change is committed, but
            // its durability was not confirmed.
            sqlx::query("SELECT pg_logical_emit_message(true, 'model-registry', 'flush')::text")
                .execute(&pool)
                .await?;
        }
        Ok(())
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// A Postgres statement running longer than this is cancelled (the
/// default when the caller does not say; see `Timeouts::statement`).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

impl Db {
    pub async fn connect(url: &str) -> Result<Self, String> {
        Self::connect_with(url, DEFAULT_STATEMENT_TIMEOUT).await
    }

    /// Connects; on Postgres every session gets `statement_timeout`, so a
    /// runaway query (or a lock wait) fails instead of holding a pooled
    /// connection forever, and idle-in-transaction sessions are ended.
    pub async fn connect_with(url: &str, statement_timeout: Duration) -> Result<Self, String> {
        let statement_ms = statement_timeout.as_millis().max(1);
        install_default_drivers();
        let backend =
            Backend::of_url(url).ok_or("DATABASE_URL must start with sqlite:// or postgres://")?;
        let url = match backend {
            // Create the file if it does not exist yet.
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e| format!("DATABASE_URL is not valid: {e}"))?;
        let pool_of = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        match backend {
                            Backend::Sqlite => {
                                conn.execute(
                                    "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
                                     PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;",
                                )
                                .await?;
                            }
                            Backend::Postgres => {
                                conn.execute(
                                    // random_page_cost: the planner's default (4) prices
                                    // a random read as a spinning disk's and prefers
                                    // scanning a whole table to looking up a few
                                    // thousand rows by key; 1.1 is the usual figure
                                    // for SSDs and a cache-resident catalog.
                                    format!(
                                        "SET statement_timeout = {statement_ms}; \
                                         SET idle_in_transaction_session_timeout = {}; \
                                         SET random_page_cost = 1.1;",
                                        statement_ms * 2
                                    )
                                    .as_str(),
                                )
                                .await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let connect_error = |e: sqlx::Error| format!("cannot connect to the database: {e}");
        let (pool, sqlite_writer) = match backend {
            Backend::Sqlite => {
                let pool = pool_of(8).connect_with(options.clone()).await;
                // Kept open: closing it would throw its warm cache away.
                let writer = pool_of(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options)
                    .await;
                (
                    pool.map_err(connect_error)?,
                    Some(writer.map_err(connect_error)?),
                )
            }
            Backend::Postgres => {
                let pool = pool_of(16).connect_with(options).await;
                (pool.map_err(connect_error)?, None)
            }
        };
        Ok(Self {
            pool,
            backend,
            sqlite_writer,
            sqlite_writer_turn: Arc::new(Mutex::new(())),
        })
    }

    pub async fn migrate(&self) -> Result<(), String> {
        let result = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await,
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await
            }
        };
        result.map_err(|e| format!("database migration failed: {e}"))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a write transaction. SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`) so a transaction never fails half-way on upgrade.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let writer = self.sqlite_writer_turn.clone().lock_owned().await;
                let pool = self.sqlite_writer.as_ref().unwrap_or(&self.pool);
                let inner = pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(Tx {
                    inner,
                    _writer: Some(writer),
                    postgres: None,
                    flush_after_commit: false,
                })
            }
            Backend::Postgres => Ok(Tx {
                inner: self.pool.begin().await?,
                _writer: None,
                postgres: Some(self.pool.clone()),
                flush_after_commit: false,
            }),
        }
    }

    /// A readiness probe: one round trip to the database.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        let writer = async {
            if let Some(writer) = &self.sqlite_writer {
                writer.close().await;
            }
        };
        tokio::join!(writer, self.pool.close());
    }
}

pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// A database failure is an internal error: logged here with its cause,
/// shown to the caller as "internal error". With this, `?` works on sqlx
/// results in services.
impl From<sqlx::Error> for crate::error::AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        crate::error::AppError::Internal
    }
}

/// True when a database error is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.code().as_deref() == Some("2067")
                || db.code().as_deref() == Some("1555")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// Names the one database failure a service answers specially: a write
/// that would duplicate something unique (a model name, a version number, a
/// second sign-off) becomes the caller's 409; anything else is internal.
pub trait OnUnique<T> {
    fn on_unique(
        self,
        conflict: impl FnOnce() -> crate::error::AppError,
    ) -> Result<T, crate::error::AppError>;
}

impl<T> OnUnique<T> for Result<T, sqlx::Error> {
    fn on_unique(
        self,
        conflict: impl FnOnce() -> crate::error::AppError,
    ) -> Result<T, crate::error::AppError> {
        match self {
            Ok(value) => Ok(value),
            Err(e) if is_unique_violation(&e) => Err(conflict()),
            Err(e) => Err(e.into()),
        }
    }
}
