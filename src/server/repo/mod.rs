//! One repository module per aggregate. Each takes an executor, so callers
//! choose between the pool (reads) and a transaction (writes + audit).

pub mod aliases;
pub mod artifacts;
pub mod audit;
pub mod content;
pub mod evaluations;
pub mod models;
pub mod pending_uploads;
pub mod search;
pub mod sql;
pub mod tags;
pub mod throttle;
pub mod timeline;
pub mod tokens;
pub mod users;
pub mod versions;
pub mod webhooks;
pub mod workflow;

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
