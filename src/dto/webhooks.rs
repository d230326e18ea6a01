//! Webhook views sent to pages and the JSON API. Secrets are not part of
//! them, except in `CreatedWebhook`, once.

use serde::{Deserialize, Serialize};

use crate::domain::DeliveryState;

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(as = Webhook))]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    /// Event types it receives, e.g. `version.registered`.
    pub events: Vec<String>,
    /// Inactive endpoints get no new deliveries; queued ones wait until re-enabled.
    pub active: bool,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The answer to a creation: the endpoint and its signing secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(as = CreatedWebhook))]
pub struct CreatedWebhookView {
    pub webhook: WebhookView,
    /// Shown only in this response: receivers verify signatures with it.
    pub secret: String,
}

/// One delivery of one event to one endpoint, and how its attempts went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(as = WebhookDelivery))]
pub struct DeliveryView {
    pub id: i64,
    pub webhook_id: i64,
    pub event_type: String,
    /// Also the body's `id` and the `X-Registry-Delivery` header.
    pub delivery_uuid: String,
    pub state: DeliveryState,
    pub attempts: i64,
    /// When a pending delivery is next tried.
    pub next_attempt_at: i64,
    /// The HTTP status of the last attempt, if one was received.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    /// The exact JSON body sent.
    pub payload: String,
}

#[cfg(feature = "ssr")]
impl From<crate::server::repo::webhooks::WebhookRow> for WebhookView {
    fn from(w: crate::server::repo::webhooks::WebhookRow) -> Self {
        Self {
            id: w.id,
            events: crate::domain::WebhookEvent::split(&w.events)
                .into_iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            url: w.url,
            active: w.active != 0,
            description: w.description,
            created_by: w.created_by,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::server::repo::webhooks::DeliveryRow> for DeliveryView {
    fn from(d: crate::server::repo::webhooks::DeliveryRow) -> Self {
        Self {
            id: d.id,
            webhook_id: d.webhook_id,
            event_type: d.event_type,
            delivery_uuid: d.delivery_uuid,
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            payload: d.payload,
        }
    }
}
