//! Promotion requests, their reviews, approval policies and stage history.

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::sql::{Sql, Value};
use crate::domain::{Decision, RequestKind, RequestState, Stage};

/// A request joined with the names a reader needs.
#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub model_id: i64,
    pub version_id: i64,
    pub from_stage: Stage,
    pub to_stage: Stage,
    pub state: RequestState,
    pub justification: String,
    pub required: i64,
    pub requested_by: i64,
    pub requested_by_name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub closed_at: Option<i64>,
    pub closed_by_name: Option<String>,
    pub close_note: Option<String>,
    pub kind: RequestKind,
    pub alias: Option<String>,
    pub alias_previous: Option<String>,
    /// The version's content digest when the request was opened.
    pub content_digest: Option<String>,
    pub model_name: String,
    pub version: String,
    pub version_stage: Stage,
    pub version_digest: Option<String>,
    pub version_deleted_at: Option<i64>,
}

const REQUEST_SELECT: &str = "SELECT r.id, r.model_id, r.version_id, r.from_stage, r.to_stage, \
    r.state, r.justification, r.required, r.requested_by, r.requested_by_name, r.created_at, \
    r.expires_at, r.closed_at, r.closed_by_name, r.close_note, r.kind, r.alias, r.alias_previous, \
    r.content_digest, m.name AS model_name, v.version AS version, v.stage AS version_stage, \
    v.content_digest AS version_digest, v.deleted_at AS version_deleted_at \
    FROM transition_requests r JOIN models m ON m.id = r.model_id \
    JOIN model_versions v ON v.id = r.version_id";

pub struct NewRequest<'a> {
    pub model_id: i64,
    pub version_id: i64,
    pub from: &'a str,
    pub to: &'a str,
    pub justification: &'a str,
    pub required: i64,
    pub requested_by: i64,
    pub requested_by_name: &'a str,
    pub now: i64,
    pub expires_at: i64,
    pub kind: &'a str,
    pub alias: Option<&'a str>,
    pub alias_previous: Option<&'a str>,
    pub content_digest: Option<&'a str>,
}

pub async fn insert_request(
    conn: &mut AnyConnection,
    r: NewRequest<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO transition_requests (model_id, version_id, from_stage, to_stage, state, \
         justification, required, requested_by, requested_by_name, created_at, expires_at, kind, \
         alias, alias_previous, content_digest) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(r.model_id)
    .bind(r.version_id)
    .bind(r.from)
    .bind(r.to)
    .bind(r.justification)
    .bind(r.required)
    .bind(r.requested_by)
    .bind(r.requested_by_name)
    .bind(r.now)
    .bind(r.expires_at)
    .bind(r.kind)
    .bind(r.alias)
    .bind(r.alias_previous)
    .bind(r.content_digest)
    .fetch_one(conn)
    .await
}

pub async fn find_request(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!("{REQUEST_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The open stage request of a version, if any (at most one, by a unique index).
pub async fn open_request_for_version(
    conn: &mut AnyConnection,
    version_id: i64,
) -> Result<Option<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{REQUEST_SELECT} WHERE r.version_id = $1 AND r.state = 'pending' AND r.kind = 'stage'"
    ))
    .bind(version_id)
    .fetch_optional(conn)
    .await
}

/// Every open request about a version: its stage request and the alias
/// requests naming it.
pub async fn open_requests_about_version(
    conn: &mut AnyConnection,
    version_id: i64,
) -> Result<Vec<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{REQUEST_SELECT} WHERE r.version_id = $1 AND r.state = 'pending' ORDER BY r.id"
    ))
    .bind(version_id)
    .fetch_all(conn)
    .await
}

/// The open request to move or remove `alias` of a model (at most one).
pub async fn open_alias_request(
    conn: &mut AnyConnection,
    model_id: i64,
    alias: &str,
) -> Result<Option<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{REQUEST_SELECT} WHERE r.model_id = $1 AND r.alias = $2 AND r.state = 'pending' \
         AND r.kind <> 'stage'"
    ))
    .bind(model_id)
    .bind(alias)
    .fetch_optional(conn)
    .await
}

/// Every open request of a model (all kinds), oldest first.
pub async fn open_requests_of_model(
    conn: &mut AnyConnection,
    model_id: i64,
) -> Result<Vec<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{REQUEST_SELECT} WHERE r.model_id = $1 AND r.state = 'pending' ORDER BY r.id"
    ))
    .bind(model_id)
    .fetch_all(conn)
    .await
}

/// The id and target stage of a version's open stage request: what decides
/// whether its content is frozen for review.
pub async fn open_stage_target(
    conn: &mut AnyConnection,
    version_id: i64,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, to_stage FROM transition_requests WHERE version_id = $1 \
         AND state = 'pending' AND kind = 'stage'",
    )
    .bind(version_id)
    .fetch_optional(conn)
    .await
}

/// Closes a pending request; returns false when it was no longer pending,
/// so a caller that lost a race never overwrites the winner's verdict.
pub async fn close_request(
    conn: &mut AnyConnection,
    id: i64,
    state: &str,
    by: &str,
    note: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE transition_requests SET state = $1, closed_at = $2, closed_by_name = $3, \
         close_note = $4 WHERE id = $5 AND state = 'pending'",
    )
    .bind(state)
    .bind(now)
    .bind(by)
    .bind(note)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which requests to list; all filters combine.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub state: Option<String>,
    pub model_id: Option<i64>,
    pub requested_by: Option<i64>,
    /// Keyset paging: only requests with a smaller id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Newest first.
pub async fn list_requests(
    pool: &AnyPool,
    filter: &RequestFilter,
) -> Result<Vec<RequestRow>, sqlx::Error> {
    let mut sql = Sql::new(REQUEST_SELECT);
    sql.push(" WHERE 1 = 1");
    if let Some(state) = &filter.state {
        sql.push(" AND r.state = ");
        sql.bind(Value::Text(state.clone()));
    }
    if let Some(model_id) = filter.model_id {
        sql.push(" AND r.model_id = ");
        sql.bind(Value::Int(model_id));
    }
    if let Some(user) = filter.requested_by {
        sql.push(" AND r.requested_by = ");
        sql.bind(Value::Int(user));
    }
    if let Some(before) = filter.before_id {
        sql.push(" AND r.id < ");
        sql.bind(Value::Int(before));
    }
    sql.push(" ORDER BY r.id DESC LIMIT ");
    sql.bind(Value::Int(filter.limit));
    sql.query_as::<RequestRow>()?.fetch_all(pool).await
}

/// Open requests still before their deadline: the inbox badge.
pub async fn count_live_pending(pool: &AnyPool, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM transition_requests WHERE state = 'pending' AND expires_at > $1",
    )
    .bind(now)
    .fetch_one(pool)
    .await
}

/// Ids of open requests whose deadline has passed.
pub async fn lapsed_ids(pool: &AnyPool, now: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM transition_requests WHERE state = 'pending' AND expires_at <= $1 \
         ORDER BY id LIMIT 500",
    )
    .bind(now)
    .fetch_all(pool)
    .await
}

// ------------------------------------------------------------ reviews

#[derive(Debug, Clone, FromRow)]
pub struct ReviewRow {
    pub request_id: i64,
    pub reviewer_id: i64,
    pub reviewer_name: String,
    pub decision: Decision,
    pub comment: String,
    pub created_at: i64,
    /// The version's content digest when the sign-off was given.
    pub content_digest: Option<String>,
}

pub struct NewReview<'a> {
    pub request_id: i64,
    pub reviewer_id: i64,
    pub reviewer_name: &'a str,
    pub decision: &'a str,
    pub comment: &'a str,
    pub now: i64,
    pub content_digest: Option<&'a str>,
}

pub async fn insert_review(conn: &mut AnyConnection, r: NewReview<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO request_reviews (request_id, reviewer_id, reviewer_name, decision, comment, \
         created_at, content_digest) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.request_id)
    .bind(r.reviewer_id)
    .bind(r.reviewer_name)
    .bind(r.decision)
    .bind(r.comment)
    .bind(r.now)
    .bind(r.content_digest)
    .execute(conn)
    .await?;
    Ok(())
}

/// Reviews of several requests at once (a page of the inbox), oldest first.
pub async fn reviews_of(
    conn: &mut AnyConnection,
    request_ids: &[i64],
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    if request_ids.is_empty() {
        return Ok(Vec::new());
    }
    // A page of requests: far below `MAX_IN_LIST`.
    let mut sql = Sql::new(
        "SELECT request_id, reviewer_id, reviewer_name, decision, comment, created_at, \
         content_digest FROM request_reviews WHERE request_id IN ",
    );
    sql.push_in(request_ids.iter().map(|id| Value::Int(*id)));
    sql.push(" ORDER BY created_at, reviewer_id");
    sql.query_as::<ReviewRow>()?.fetch_all(conn).await
}

// ------------------------------------------------------------ stages

pub async fn set_stage(
    conn: &mut AnyConnection,
    version_id: i64,
    stage: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE model_versions SET stage = $1, updated_at = $2 WHERE id = $3")
        .bind(stage)
        .bind(now)
        .bind(version_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn version_string(
    conn: &mut AnyConnection,
    version_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM model_versions WHERE id = $1")
        .bind(version_id)
        .fetch_optional(conn)
        .await
}

/// The live version of a model in production: (id, version string).
pub async fn production_version(
    conn: &mut AnyConnection,
    model_id: i64,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, version FROM model_versions WHERE model_id = $1 AND stage = 'production' \
         AND deleted_at IS NULL",
    )
    .bind(model_id)
    .fetch_optional(conn)
    .await
}

pub struct NewStageChange<'a> {
    pub version_id: i64,
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub request_id: Option<i64>,
    pub changed_by: &'a str,
    pub reason: &'a str,
    pub now: i64,
}

pub async fn insert_history(
    conn: &mut AnyConnection,
    c: NewStageChange<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stage_history (version_id, from_stage, to_stage, request_id, changed_by, \
         reason, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.version_id)
    .bind(c.from)
    .bind(c.to)
    .bind(c.request_id)
    .bind(c.changed_by)
    .bind(c.reason)
    .bind(c.now)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct HistoryRow {
    pub from_stage: Option<Stage>,
    pub to_stage: Stage,
    pub request_id: Option<i64>,
    pub changed_by: String,
    pub reason: String,
    pub changed_at: i64,
}

pub async fn history(pool: &AnyPool, version_id: i64) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT from_stage, to_stage, request_id, changed_by, reason, changed_at \
         FROM stage_history WHERE version_id = $1 ORDER BY id",
    )
    .bind(version_id)
    .fetch_all(pool)
    .await
}

/// Every request ever opened for a version, oldest first (for its page).
pub async fn requests_for_version(
    pool: &AnyPool,
    version_id: i64,
) -> Result<Vec<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{REQUEST_SELECT} WHERE r.version_id = $1 ORDER BY r.id"
    ))
    .bind(version_id)
    .fetch_all(pool)
    .await
}

// ------------------------------------------------------------ policies

/// Model id of the registry-wide policy row.
pub const REGISTRY_SCOPE: i64 = 0;

/// The stored JSON of a policy (scope 0) or a model's override.
pub async fn policy_json(
    conn: &mut AnyConnection,
    model_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT policy FROM approval_policies WHERE model_id = $1")
        .bind(model_id)
        .fetch_optional(conn)
        .await
}

pub async fn put_policy(
    conn: &mut AnyConnection,
    model_id: i64,
    json: &str,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO approval_policies (model_id, policy, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (model_id) DO UPDATE SET policy = excluded.policy, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(model_id)
    .bind(json)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_policy(conn: &mut AnyConnection, model_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM approval_policies WHERE model_id = $1")
        .bind(model_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every model override with its model's name, by name.
pub async fn overrides(pool: &AnyPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.name, p.policy FROM approval_policies p JOIN models m ON m.id = p.model_id \
         WHERE p.model_id <> 0 ORDER BY m.name",
    )
    .fetch_all(pool)
    .await
}
