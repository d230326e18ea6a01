//! The append-only audit trail. Every event is written inside the same
//! transaction as the change it records, and chained to the previous event by
//! a SHA-256 hash so tampering can be detected.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::server::db::Backend;

/// Who did it. `token_id` is set when the call was made with an API token.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub token_id: Option<i64>,
}

/// Where the request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

pub struct NewEvent<'a> {
    pub actor: Option<&'a Actor>,
    pub origin: &'a Origin,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub details: Value,
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_username: Option<String>,
    pub actor_token_id: Option<i64>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: String,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const COLUMNS: &str =
    "id, at, actor_user_id, actor_username, actor_token_id, action, target_type, \
    target_id, details, client_addr, request_id, prev_hash, hash";

/// Appends one event. Must run inside the write transaction of the change.
pub async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    event: NewEvent<'_>,
    at: i64,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        // Serialise appends so each event sees its predecessor (SQLite's
        // single writer already does this).
        sqlx::query("SELECT pg_advisory_xact_lock(7340031)")
            .execute(&mut *conn)
            .await?;
    }
    let prev_hash: String =
        sqlx::query_scalar("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_else(|| GENESIS_HASH.to_owned());
    let details = event.details.to_string();
    let fields = ChainFields {
        at,
        actor_user_id: event.actor.map(|a| a.user_id),
        actor_username: event.actor.map(|a| a.username.as_str()),
        actor_token_id: event.actor.and_then(|a| a.token_id),
        action: event.action,
        target_type: event.target_type,
        target_id: event.target_id,
        details: &details,
        client_addr: event.origin.client_addr.as_deref(),
        request_id: event.origin.request_id.as_deref(),
    };
    let hash = fields.hash(&prev_hash);
    sqlx::query(
        "INSERT INTO audit_events (at, actor_user_id, actor_username, actor_token_id, action, \
         target_type, target_id, details, client_addr, request_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(at)
    .bind(fields.actor_user_id)
    .bind(fields.actor_username)
    .bind(fields.actor_token_id)
    .bind(fields.action)
    .bind(fields.target_type)
    .bind(fields.target_id)
    .bind(&details)
    .bind(fields.client_addr)
    .bind(fields.request_id)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(conn)
    .await
    .map(drop)
}

/// One event of a bulk append (seed and import tools): no actor, no request.
pub struct SystemEvent {
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub details: Value,
}

/// Appends many events in order, chained exactly as `record` would chain
/// them one by one, with multi-row inserts. Must run inside the write
/// transaction of the rows they describe.
pub async fn record_many(
    conn: &mut AnyConnection,
    backend: Backend,
    events: Vec<SystemEvent>,
    at: i64,
) -> Result<(), sqlx::Error> {
    use super::sql::{insert_rows, Value as V};
    if events.is_empty() {
        return Ok(());
    }
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7340031)")
            .execute(&mut *conn)
            .await?;
    }
    let mut prev_hash: String =
        sqlx::query_scalar("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_else(|| GENESIS_HASH.to_owned());
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        let details = e.details.to_string();
        let hash = ChainFields {
            at,
            actor_user_id: None,
            actor_username: None,
            actor_token_id: None,
            action: e.action,
            target_type: e.target_type,
            target_id: &e.target_id,
            details: &details,
            client_addr: None,
            request_id: None,
        }
        .hash(&prev_hash);
        rows.push(vec![
            V::Int(at),
            V::Text(e.action.to_owned()),
            V::Text(e.target_type.to_owned()),
            V::Text(e.target_id),
            V::Text(details),
            V::Text(std::mem::replace(&mut prev_hash, hash.clone())),
            V::Text(hash),
        ]);
    }
    insert_rows(
        conn,
        "audit_events",
        &[
            "at",
            "action",
            "target_type",
            "target_id",
            "details",
            "prev_hash",
            "hash",
        ],
        rows,
    )
    .await
}

/// The hashed content of an event: a canonical JSON array, so no field can
/// bleed into its neighbour.
struct ChainFields<'a> {
    at: i64,
    actor_user_id: Option<i64>,
    actor_username: Option<&'a str>,
    actor_token_id: Option<i64>,
    action: &'a str,
    target_type: &'a str,
    target_id: &'a str,
    details: &'a str,
    client_addr: Option<&'a str>,
    request_id: Option<&'a str>,
}

impl ChainFields<'_> {
    fn hash(&self, prev_hash: &str) -> String {
        let canonical = serde_json::json!([
            prev_hash,
            self.at,
            self.actor_user_id,
            self.actor_username,
            self.actor_token_id,
            self.action,
            self.target_type,
            self.target_id,
            self.details,
            self.client_addr,
            self.request_id,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

impl EventRow {
    /// Recomputes this event's hash from its stored fields.
    pub fn expected_hash(&self) -> String {
        ChainFields {
            at: self.at,
            actor_user_id: self.actor_user_id,
            actor_username: self.actor_username.as_deref(),
            actor_token_id: self.actor_token_id,
            action: &self.action,
            target_type: &self.target_type,
            target_id: &self.target_id,
            details: &self.details,
            client_addr: self.client_addr.as_deref(),
            request_id: self.request_id.as_deref(),
        }
        .hash(&self.prev_hash)
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub actor: Option<String>,
    pub action_prefix: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Events about the model or any of its versions and artifacts.
    pub model: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// `value` as a literal LIKE prefix (`\` escapes the wildcards).
fn like_prefix(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 1);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl EventFilter {
    /// The WHERE clause (placeholders from `$1`) and its values, in order.
    fn clause(&self) -> (String, Vec<Param>) {
        let mut sql = String::from(" WHERE 1 = 1");
        let mut params = Vec::new();
        let mut push = |sql_part: &str, param: Param, params: &mut Vec<Param>| {
            params.push(param);
            sql += &sql_part.replace('?', &format!("${}", params.len()));
        };
        if let Some(actor) = &self.actor {
            push(
                " AND actor_username = ?",
                Param::Text(actor.clone()),
                &mut params,
            );
        }
        if let Some(prefix) = &self.action_prefix {
            push(
                " AND action LIKE ? ESCAPE '\\'",
                Param::Text(like_prefix(prefix)),
                &mut params,
            );
        }
        if let Some(t) = &self.target_type {
            push(" AND target_type = ?", Param::Text(t.clone()), &mut params);
        }
        if let Some(t) = &self.target_id {
            push(" AND target_id = ?", Param::Text(t.clone()), &mut params);
        }
        if let Some(model) = &self.model {
            push(
                " AND (target_id = ?",
                Param::Text(model.clone()),
                &mut params,
            );
            push(
                " OR target_id LIKE ? ESCAPE '\\')",
                Param::Text(like_prefix(&format!("{model}@"))),
                &mut params,
            );
        }
        if let Some(from) = self.from {
            push(" AND at >= ?", Param::Int(from), &mut params);
        }
        if let Some(to) = self.to {
            push(" AND at < ?", Param::Int(to), &mut params);
        }
        (sql, params)
    }
}

enum Param {
    Text(String),
    Int(i64),
}

fn bind_all<'q>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, EventRow, sqlx::any::AnyArguments<'q>>,
    params: Vec<Param>,
) -> sqlx::query::QueryAs<'q, sqlx::Any, EventRow, sqlx::any::AnyArguments<'q>> {
    for p in params {
        query = match p {
            Param::Text(t) => query.bind(t),
            Param::Int(i) => query.bind(i),
        };
    }
    query
}

/// Newest first, one page. Bound parameters only.
pub async fn list(
    pool: &AnyPool,
    filter: &EventFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let (clause, params) = filter.clause();
    let n = params.len();
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events{clause} ORDER BY id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    bind_all(sqlx::query_as::<_, EventRow>(&sql), params)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
}

/// Oldest first, the `limit` events after id `after` (keyset paging, so an
/// export of any length reads in constant memory).
pub async fn page_after(
    pool: &AnyPool,
    filter: &EventFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let (clause, params) = filter.clause();
    let n = params.len();
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events{clause} AND id > ${} ORDER BY id LIMIT ${}",
        n + 1,
        n + 2
    );
    bind_all(sqlx::query_as::<_, EventRow>(&sql), params)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// The first event whose stored hash or link does not match, if any.
pub async fn verify_chain(pool: &AnyPool) -> Result<ChainReport, sqlx::Error> {
    use futures_util::TryStreamExt;
    let sql = format!("SELECT {COLUMNS} FROM audit_events ORDER BY id");
    let mut rows = sqlx::query_as::<_, EventRow>(&sql).fetch(pool);
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut checked = 0;
    while let Some(row) = rows.try_next().await? {
        if row.prev_hash != expected_prev || row.expected_hash() != row.hash {
            return Ok(ChainReport {
                checked,
                first_broken_id: Some(row.id),
            });
        }
        checked += 1;
        expected_prev = row.hash;
    }
    Ok(ChainReport {
        checked,
        first_broken_id: None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub checked: u64,
    pub first_broken_id: Option<i64>,
}
