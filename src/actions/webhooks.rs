//! Webhook administration for the UI. Every function is admins-only, and
//! checks that before parsing anything.

use leptos::prelude::*;

use crate::{
    dto::{CreatedWebhookView, DeliveryView, WebhookView},
    error::AppError,
};

#[server(prefix = "/fn", endpoint = "admin/list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<WebhookView>, AppError> {
    use crate::server::{context, services::webhooks};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let rows = webhooks::list(&cx).await?;
            Ok(rows.into_iter().map(WebhookView::from).collect())
        }
        .await,
    )
}

/// `events` comes from checkboxes named `events[]` (none checked: absent).
#[server(prefix = "/fn", endpoint = "admin/create_webhook")]
pub async fn create_webhook(
    url: String,
    events: Option<Vec<String>>,
    secret: Option<String>,
    description: Option<String>,
) -> Result<CreatedWebhookView, AppError> {
    use crate::{
        domain::WebhookForm,
        server::{context, services::webhooks},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let form = WebhookForm {
                url: Some(url),
                events,
                secret,
                description,
            };
            let (row, secret) = webhooks::create(&cx, form).await?;
            Ok(CreatedWebhookView {
                webhook: row.into(),
                secret,
            })
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/get_webhook")]
pub async fn get_webhook(id: i64) -> Result<WebhookView, AppError> {
    use crate::server::{context, services::webhooks};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            Ok(webhooks::get(&cx, id).await?.into())
        }
        .await,
    )
}

/// The newest deliveries of an endpoint (the page shows the last 100).
#[server(prefix = "/fn", endpoint = "admin/list_deliveries")]
pub async fn list_deliveries(id: i64) -> Result<Vec<DeliveryView>, AppError> {
    use crate::server::{context, services::webhooks};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let rows = webhooks::deliveries(&cx, id, None, Some("100")).await?;
            Ok(rows.into_iter().map(DeliveryView::from).collect())
        }
        .await,
    )
}

/// `active` is "true" or "false" (it comes from a form's hidden input).
#[server(prefix = "/fn", endpoint = "admin/set_webhook_active")]
pub async fn set_webhook_active(id: i64, active: String) -> Result<(), AppError> {
    use crate::{
        domain::WebhookEdit,
        server::{context, services::webhooks},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let edit = WebhookEdit {
                active: Some(super::form_bool("active", &active)?),
                ..WebhookEdit::default()
            };
            webhooks::update(&cx, id, edit).await.map(drop)
        }
        .await,
    )
}

/// Deletes the endpoint and returns to the list.
#[server(prefix = "/fn", endpoint = "admin/delete_webhook")]
pub async fn delete_webhook(id: i64) -> Result<(), AppError> {
    use crate::server::{context, services::webhooks};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            webhooks::delete(&cx, id).await?;
            leptos_axum::redirect("/admin/webhooks");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/resend_delivery")]
pub async fn resend_delivery(id: i64, delivery_id: i64) -> Result<(), AppError> {
    use crate::server::{context, services::webhooks};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            webhooks::resend(&cx, id, delivery_id).await.map(drop)
        }
        .await,
    )
}
