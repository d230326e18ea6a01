//! Events leaving the registry: webhook deliveries, queued in the outbox in
//! the same transaction as the change they report, so a change and its
//! notification commit (or vanish) together.

use serde_json::Value;

use crate::{domain::WebhookEvent, server::db::Tx};

pub async fn emit(
    tx: &mut Tx,
    event: WebhookEvent,
    data: Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    crate::server::webhooks::enqueue(tx, event, data, now).await
}
