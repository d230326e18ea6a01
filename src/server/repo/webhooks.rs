//! Webhook endpoints and their deliveries (an outbox the worker drains).

use sqlx::{Any, AnyConnection, AnyPool, Executor, FromRow};

use crate::{domain::DeliveryState, server::db::Backend};

#[derive(Debug, Clone, FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub events: String,
    pub active: i64,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, url, secret, events, active, description, created_by, created_at, updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub event_type: String,
    pub delivery_uuid: String,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_type, delivery_uuid, payload, state, \
     attempts, next_attempt_at, locked_until, last_status, last_error, created_at, delivered_at";

pub struct NewWebhook<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a str,
    pub description: &'a str,
    pub created_by: &'a str,
    pub now: i64,
}

pub async fn insert(
    conn: &mut AnyConnection,
    w: NewWebhook<'_>,
) -> Result<WebhookRow, sqlx::Error> {
    sqlx::query_as::<_, WebhookRow>(&format!(
        "INSERT INTO webhooks (url, secret, events, active, description, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, 1, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(w.url)
    .bind(w.secret)
    .bind(w.events)
    .bind(w.description)
    .bind(w.created_by)
    .bind(w.now)
    .fetch_one(conn)
    .await
}

pub async fn list(pool: &AnyPool) -> Result<Vec<WebhookRow>, sqlx::Error> {
    sqlx::query_as::<_, WebhookRow>(&format!("SELECT {COLUMNS} FROM webhooks ORDER BY id"))
        .fetch_all(pool)
        .await
}

pub async fn find<'e, E>(ex: E, id: i64) -> Result<Option<WebhookRow>, sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_as::<_, WebhookRow>(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// Every field an admin can change, already merged with the current row.
pub struct WebhookChanges<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a str,
    pub active: bool,
    pub description: &'a str,
    pub now: i64,
}

pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    c: WebhookChanges<'_>,
) -> Result<WebhookRow, sqlx::Error> {
    sqlx::query_as::<_, WebhookRow>(&format!(
        "UPDATE webhooks SET url = $1, secret = $2, events = $3, active = $4, description = $5, \
         updated_at = $6 WHERE id = $7 RETURNING {COLUMNS}"
    ))
    .bind(c.url)
    .bind(c.secret)
    .bind(c.events)
    .bind(i64::from(c.active))
    .bind(c.description)
    .bind(c.now)
    .bind(id)
    .fetch_one(conn)
    .await
}

/// Deletes the endpoint and (by cascade) its delivery log.
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// Active endpoints with their (comma-separated) subscriptions.
pub async fn active_subscriptions(
    conn: &mut AnyConnection,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as::<_, (i64, String)>("SELECT id, events FROM webhooks WHERE active = 1")
        .fetch_all(conn)
        .await
}

pub struct NewDelivery<'a> {
    pub webhook_id: i64,
    pub event_type: &'a str,
    pub delivery_uuid: &'a str,
    pub payload: &'a str,
    pub now: i64,
}

pub async fn insert_delivery(
    conn: &mut AnyConnection,
    d: NewDelivery<'_>,
) -> Result<DeliveryRow, sqlx::Error> {
    sqlx::query_as::<_, DeliveryRow>(&format!(
        "INSERT INTO webhook_deliveries \
         (webhook_id, event_type, delivery_uuid, payload, state, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind(d.webhook_id)
    .bind(d.event_type)
    .bind(d.delivery_uuid)
    .bind(d.payload)
    .bind(d.now)
    .fetch_one(conn)
    .await
}

/// An endpoint's deliveries, newest first; `before` pages back by id.
pub async fn list_deliveries(
    pool: &AnyPool,
    webhook_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as::<_, DeliveryRow>(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(webhook_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn find_delivery(
    conn: &mut AnyConnection,
    webhook_id: i64,
    id: i64,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as::<_, DeliveryRow>(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2"
    ))
    .bind(id)
    .bind(webhook_id)
    .fetch_optional(conn)
    .await
}

/// Is any delivery due? A read, so idle polling never takes the write lock.
pub async fn any_due(pool: &AnyPool, now: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries WHERE state = 'pending' \
         AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
         AND webhook_id IN (SELECT id FROM webhooks WHERE active = 1) LIMIT 1) due",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .map(|n| n > 0)
}

/// A delivery the worker has leased, with what it needs to send it.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: i64,
    pub event_type: String,
    pub delivery_uuid: String,
    pub payload: String,
    /// Counting this one.
    pub attempts: i64,
}

/// Leases up to `limit` due deliveries of active endpoints until
/// `now + lease_ms`, counting the attempt. A lease whose holder died simply
/// expires. Postgres skips rows another worker is claiming; SQLite has one
/// writer, so the statement is atomic there anyway.
pub async fn claim_due(
    conn: &mut AnyConnection,
    backend: Backend,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let skip_locked = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query_as::<_, Claimed>(&format!(
        "UPDATE webhook_deliveries SET locked_until = $1, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM webhook_deliveries \
           WHERE state = 'pending' AND next_attempt_at <= $2 \
           AND (locked_until IS NULL OR locked_until < $2) \
           AND webhook_id IN (SELECT id FROM webhooks WHERE active = 1) \
           ORDER BY id LIMIT $3{skip_locked}) \
         RETURNING id, webhook_id, event_type, delivery_uuid, payload, attempts"
    ))
    .bind(now + lease_ms)
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// How an attempt ended, as stored.
pub enum Outcome<'a> {
    Delivered {
        status: i64,
    },
    Retry {
        status: Option<i64>,
        error: &'a str,
        next_attempt_at: i64,
    },
    Failed {
        status: Option<i64>,
        error: &'a str,
    },
}

pub async fn record_attempt(
    conn: &mut AnyConnection,
    id: i64,
    outcome: Outcome<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let query = match outcome {
        Outcome::Delivered { status } => sqlx::query(
            "UPDATE webhook_deliveries SET state = 'delivered', locked_until = NULL, \
             last_status = $1, last_error = NULL, delivered_at = $2 WHERE id = $3",
        )
        .bind(status)
        .bind(now)
        .bind(id),
        Outcome::Retry {
            status,
            error,
            next_attempt_at,
        } => sqlx::query(
            "UPDATE webhook_deliveries SET locked_until = NULL, last_status = $1, \
             last_error = $2, next_attempt_at = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(error.to_owned())
        .bind(next_attempt_at)
        .bind(id),
        Outcome::Failed { status, error } => sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', locked_until = NULL, \
             last_status = $1, last_error = $2 WHERE id = $3",
        )
        .bind(status)
        .bind(error.to_owned())
        .bind(id),
    };
    query.execute(conn).await.map(drop)
}

/// Deliveries waiting to be sent, and those given up on (for `/metrics`).
pub async fn queue_counts(pool: &AnyPool) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) FROM webhook_deliveries",
    )
    .fetch_one(pool)
    .await
}
