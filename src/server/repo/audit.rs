//! The append-only audit trail. Every event is written inside the same
//! transaction as the change it records, and chained to the previous event by
//! a SHA-256 hash so tampering can be detected.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::{domain::VerificationState, server::db::Tx};

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
pub async fn record(tx: &mut Tx, event: NewEvent<'_>, at: i64) -> Result<(), sqlx::Error> {
    // Each event must see its predecessor.
    tx.serialize_audited().await?;
    let conn: &mut AnyConnection = tx;
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
    tx: &mut Tx,
    events: Vec<SystemEvent>,
    at: i64,
) -> Result<(), sqlx::Error> {
    use super::sql::{insert_rows, Value as V};
    if events.is_empty() {
        return Ok(());
    }
    tx.serialize_audited().await?;
    let conn: &mut AnyConnection = tx;
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

/// Events read per query while verifying: each page takes a pooled
/// connection only for its own query, so a long verification never holds
/// one (and twenty of them never starve the pool).
const VERIFY_PAGE: i64 = 5_000;

/// Where a verification starts: after event `last_id`, whose hash must
/// still be `last_hash`, with `events` already verified before it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Checkpoint {
    pub last_id: i64,
    pub last_hash: String,
    pub events: i64,
    pub verified_at: i64,
}

/// A verification in progress: the last event verified and its hash.
#[derive(Debug, Clone)]
pub struct Cursor {
    last_id: i64,
    expected_prev: String,
    pub checked: u64,
    last: Option<(i64, String)>,
    broken: Option<i64>,
    done: bool,
}

impl Cursor {
    pub fn finished(&self) -> bool {
        self.done || self.broken.is_some()
    }

    pub fn report(&self) -> ChainReport {
        ChainReport {
            checked: self.checked,
            first_broken_id: self.broken,
            last: self.last.clone(),
        }
    }
}

/// Starts a verification after `from` (or at genesis). The checkpoint's own
/// event must still carry the hash that was verified.
pub async fn start(pool: &AnyPool, from: Option<&Checkpoint>) -> Result<Cursor, sqlx::Error> {
    let Some(c) = from else {
        return Ok(Cursor {
            last_id: 0,
            expected_prev: GENESIS_HASH.to_owned(),
            checked: 0,
            last: None,
            broken: None,
            done: false,
        });
    };
    let hash: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_events WHERE id = $1")
        .bind(c.last_id)
        .fetch_optional(pool)
        .await?;
    Ok(Cursor {
        last_id: c.last_id,
        expected_prev: c.last_hash.clone(),
        checked: u64::try_from(c.events).unwrap_or(0),
        last: Some((c.last_id, c.last_hash.clone())),
        broken: (hash.as_deref() != Some(c.last_hash.as_str())).then_some(c.last_id),
        done: false,
    })
}

/// Verifies the next page of events.
pub async fn step(pool: &AnyPool, cursor: &mut Cursor) -> Result<(), sqlx::Error> {
    if cursor.finished() {
        return Ok(());
    }
    let page: Vec<EventRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(cursor.last_id)
    .bind(VERIFY_PAGE)
    .fetch_all(pool)
    .await?;
    cursor.done = (page.len() as i64) < VERIFY_PAGE;
    for row in page {
        if row.prev_hash != cursor.expected_prev || row.expected_hash() != row.hash {
            cursor.broken = Some(row.id);
            return Ok(());
        }
        cursor.checked += 1;
        cursor.last_id = row.id;
        cursor.expected_prev = row.hash.clone();
        cursor.last = Some((row.id, row.hash));
    }
    Ok(())
}

/// Verifies the chain from `from` (or from genesis) to the newest event.
pub async fn verify_from(
    pool: &AnyPool,
    from: Option<&Checkpoint>,
) -> Result<ChainReport, sqlx::Error> {
    let mut cursor = start(pool, from).await?;
    while !cursor.finished() {
        step(pool, &mut cursor).await?;
    }
    Ok(cursor.report())
}

/// The whole chain, from genesis.
pub async fn verify_chain(pool: &AnyPool) -> Result<ChainReport, sqlx::Error> {
    verify_from(pool, None).await
}

pub async fn latest_checkpoint(pool: &AnyPool) -> Result<Option<Checkpoint>, sqlx::Error> {
    sqlx::query_as(
        "SELECT last_id, last_hash, events, verified_at FROM audit_checkpoints \
         ORDER BY last_id DESC, id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

pub async fn insert_checkpoint(
    pool: &AnyPool,
    c: &Checkpoint,
    kind: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (last_id, last_hash, events, verified_at, kind) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(c.last_id)
    .bind(&c.last_hash)
    .bind(c.events)
    .bind(c.verified_at)
    .bind(kind)
    .execute(pool)
    .await
    .map(drop)
}

pub async fn count_events(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM audit_events")
        .fetch_one(pool)
        .await
}

// ------------------------------------------------------------ full re-verification jobs

#[derive(Debug, Clone, FromRow)]
pub struct VerifyJobRow {
    pub id: i64,
    pub started_by: String,
    pub started_at: i64,
    pub state: VerificationState,
    pub total: i64,
    pub checked: i64,
    pub first_broken_id: Option<i64>,
    pub finished_at: Option<i64>,
}

pub async fn insert_job(
    pool: &AnyPool,
    by: &str,
    total: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO audit_verify_jobs (started_by, started_at, state, total, checked) \
         VALUES ($1, $2, 'running', $3, 0) RETURNING id",
    )
    .bind(by)
    .bind(now)
    .bind(total)
    .fetch_one(pool)
    .await
}

pub async fn update_job(
    pool: &AnyPool,
    id: i64,
    state: VerificationState,
    checked: i64,
    first_broken_id: Option<i64>,
    finished_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_verify_jobs SET state = $1, checked = $2, first_broken_id = $3, \
         finished_at = $4 WHERE id = $5",
    )
    .bind(state)
    .bind(checked)
    .bind(first_broken_id)
    .bind(finished_at)
    .bind(id)
    .execute(pool)
    .await
    .map(drop)
}

pub async fn find_job(pool: &AnyPool, id: i64) -> Result<Option<VerifyJobRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, started_by, started_at, state, total, checked, first_broken_id, finished_at \
         FROM audit_verify_jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub checked: u64,
    pub first_broken_id: Option<i64>,
    /// The last event verified intact: (id, hash).
    pub last: Option<(i64, String)>,
}

/// The newest event: (id, hash).
pub async fn head(conn: &mut AnyConnection) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
        .fetch_optional(conn)
        .await
}

/// The hash of event `id`, if it exists.
pub async fn hash_of(pool: &AnyPool, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT hash FROM audit_events WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// How many events there are up to and including `id`.
pub async fn count_through(pool: &AnyPool, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE id <= $1")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// The newest event: (id, hash, action).
pub async fn head_event(pool: &AnyPool) -> Result<Option<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, hash, action FROM audit_events ORDER BY id DESC LIMIT 1")
        .fetch_optional(pool)
        .await
}
