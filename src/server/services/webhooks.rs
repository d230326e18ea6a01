//! Webhook endpoints (admins only): register, change, remove, read the
//! delivery log, resend. Secrets are shown once on creation and stored
//! readable, because every delivery is signed with them; they never enter
//! the audit trail.

use serde_json::json;

use super::{commit, Ctx};
use crate::{
    domain::{Permission, WebhookEdit, WebhookEvent, WebhookForm, WebhookUrl},
    error::{AppError, Missing},
    server::{
        db::now_ms,
        repo::webhooks::{self as repo, DeliveryRow, WebhookRow},
    },
};

pub const DELIVERIES_DEFAULT_LIMIT: i64 = 50;
pub const DELIVERIES_MAX_LIMIT: i64 = 200;

/// 1–200, default 50.
pub fn parse_limit(raw: Option<&str>) -> Result<i64, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(DELIVERIES_DEFAULT_LIMIT),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=DELIVERIES_MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::invalid(
                    "limit",
                    format!("must be a whole number from 1 to {DELIVERIES_MAX_LIMIT}"),
                )
            }),
    }
}

/// 32 random bytes, hex: what receivers get when the admin gives no secret.
fn generate_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Only the host goes into the audit trail: some receivers (chat
/// services) carry a credential in the URL's path or query.
fn audit_host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Creates an endpoint; returns it with its secret (shown only now).
pub async fn create(cx: &Ctx, form: WebhookForm) -> Result<(WebhookRow, String), AppError> {
    // Authorize before parsing, so a non-admin learns nothing from validation errors.
    cx.require(Permission::Administer)?;
    let input = form.parse(cx.state.config.webhooks.allow_link_local)?;
    let secret = input.secret.unwrap_or_else(generate_secret);
    let events = WebhookEvent::join(&input.events);
    let mut tx = cx.begin().await?;
    let row = repo::insert(
        &mut tx,
        repo::NewWebhook {
            url: input.url.as_str(),
            secret: &secret,
            events: &events,
            description: &input.description,
            created_by: &cx.by.username,
            now: now_ms(),
        },
    )
    .await?;
    let details = json!({ "host": audit_host(&row.url), "events": events });
    cx.audit(
        &mut tx,
        "webhook.create",
        ("webhook", &row.id.to_string()),
        details,
    )
    .await?;
    commit(tx).await?;
    Ok((row, secret))
}

pub async fn list(cx: &Ctx) -> Result<Vec<WebhookRow>, AppError> {
    cx.require(Permission::Administer)?;
    repo::list(cx.state.db.pool()).await.map_err(AppError::from)
}

pub async fn get(cx: &Ctx, id: i64) -> Result<WebhookRow, AppError> {
    cx.require(Permission::Administer)?;
    repo::find(cx.state.db.pool(), id)
        .await?
        .ok_or_else(|| not_found(id))
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(Missing::Webhook(id))
}

pub async fn update(cx: &Ctx, id: i64, edit: WebhookEdit) -> Result<WebhookRow, AppError> {
    cx.require(Permission::Administer)?;
    let patch = edit.parse(cx.state.config.webhooks.allow_link_local)?;
    let mut tx = cx.begin().await?;
    let current = repo::find(&mut *tx, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let url = patch
        .url
        .map(WebhookUrl::into_string)
        .unwrap_or_else(|| current.url.clone());
    let events = patch
        .events
        .as_deref()
        .map(WebhookEvent::join)
        .unwrap_or_else(|| current.events.clone());
    let secret = patch
        .secret
        .clone()
        .unwrap_or_else(|| current.secret.clone());
    let active = patch.active.unwrap_or(current.active != 0);
    let description = patch
        .description
        .clone()
        .unwrap_or_else(|| current.description.clone());
    let row = repo::update(
        &mut tx,
        id,
        repo::WebhookChanges {
            url: &url,
            secret: &secret,
            events: &events,
            active,
            description: &description,
            now: now_ms(),
        },
    )
    .await?;
    // What changed, never the secret itself.
    let details = json!({
        "host": audit_host(&row.url),
        "url_changed": url != current.url,
        "events": events,
        "active": active,
        "secret_changed": secret != current.secret,
        "description_changed": description != current.description,
    });
    cx.audit(
        &mut tx,
        "webhook.update",
        ("webhook", &id.to_string()),
        details,
    )
    .await?;
    commit(tx).await?;
    // Re-enabling may make held deliveries due.
    cx.state.webhook_wake.notify_one();
    Ok(row)
}

pub async fn delete(cx: &Ctx, id: i64) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    let mut tx = cx.begin().await?;
    let current = repo::find(&mut *tx, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    repo::delete(&mut tx, id).await?;
    let details = json!({ "host": audit_host(&current.url), "events": current.events });
    cx.audit(
        &mut tx,
        "webhook.delete",
        ("webhook", &id.to_string()),
        details,
    )
    .await?;
    commit(tx).await
}

/// An endpoint's deliveries, newest first; `before` (a delivery id) pages back.
pub async fn deliveries(
    cx: &Ctx,
    id: i64,
    before: Option<i64>,
    limit: Option<&str>,
) -> Result<Vec<DeliveryRow>, AppError> {
    get(cx, id).await?;
    let limit = parse_limit(limit)?;
    repo::list_deliveries(cx.state.db.pool(), id, before, limit)
        .await
        .map_err(AppError::from)
}

/// Resends a delivery as a NEW pending delivery: same event, time and data,
/// but a new delivery id (in the body and the header), so a receiver that
/// dedupes by id processes it again, and the original attempt stays in the
/// log as it was.
pub async fn resend(cx: &Ctx, webhook_id: i64, delivery_id: i64) -> Result<DeliveryRow, AppError> {
    cx.require(Permission::Administer)?;
    let mut tx = cx.begin().await?;
    let original = repo::find_delivery(&mut tx, webhook_id, delivery_id)
        .await?
        .ok_or(AppError::NotFound(Missing::Delivery {
            webhook: webhook_id,
            id: delivery_id,
        }))?;
    let delivery_uuid = uuid::Uuid::new_v4().to_string();
    let mut body: serde_json::Value = serde_json::from_str(&original.payload).map_err(|e| {
        tracing::error!(error = %e, delivery = delivery_id, "stored webhook payload is not JSON");
        AppError::Internal
    })?;
    body["id"] = json!(delivery_uuid);
    let payload = serde_json::to_string(&body).map_err(|_| AppError::Internal)?;
    let row = repo::insert_delivery(
        &mut tx,
        repo::NewDelivery {
            webhook_id,
            event_type: &original.event_type,
            delivery_uuid: &delivery_uuid,
            payload: &payload,
            now: now_ms(),
        },
    )
    .await?;
    let details = json!({
        "event": original.event_type,
        "original_delivery": original.delivery_uuid,
        "delivery": delivery_uuid,
    });
    cx.audit(
        &mut tx,
        "webhook.resend",
        ("webhook", &webhook_id.to_string()),
        details,
    )
    .await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_parsed_and_secrets_generated() {
        assert_eq!(generate_secret().len(), 64);
        assert_ne!(generate_secret(), generate_secret());
        assert_eq!(parse_limit(None).unwrap(), 50);
        assert_eq!(parse_limit(Some("7")).unwrap(), 7);
        for bad in ["0", "201", "x", "-1"] {
            assert_eq!(parse_limit(Some(bad)).unwrap_err().field(), Some("limit"));
        }
        assert_eq!(
            audit_host("https://hooks.example.com/T0/B1/secret?x=1"),
            "hooks.example.com"
        );
    }
}
