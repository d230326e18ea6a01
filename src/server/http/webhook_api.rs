//! REST API for webhooks (admins only): endpoints, their delivery log, resend.

use super::{desc, errors::ErrorBody, extract::ApiJson, params::positive};
use crate::server::services::Ctx;
use crate::{
    domain::{WebhookEdit, WebhookForm},
    dto::{CreatedWebhookView, DeliveryView, WebhookView},
    error::AppError,
    server::{services::webhooks, state::AppState},
};
use axum::{
    extract::{Path, RawQuery},
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(show).patch(update).delete(remove))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/resend",
            post(resend),
        )
}

/// Every webhook endpoint (admins only)
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Every endpoint, active or not; secrets are never returned", body = Vec<WebhookView>),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list(cx: Ctx) -> Result<Json<Vec<WebhookView>>, AppError> {
    let rows = webhooks::list(&cx).await?;
    Ok(Json(rows.into_iter().map(WebhookView::from).collect()))
}

/// Registers a webhook endpoint (admins only)
///
/// Deliveries are POSTed as JSON and signed with the secret; see the README
/// for the headers and how receivers verify them.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body = WebhookForm,
    responses(
        (status = 201, description = "Created; `secret` is shown only in this response", body = CreatedWebhookView),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 413, description = desc::TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn create(
    cx: Ctx,
    ApiJson(form): ApiJson<WebhookForm>,
) -> Result<impl IntoResponse, AppError> {
    let (row, secret) = webhooks::create(&cx, form).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookView {
            webhook: row.into(),
            secret,
        }),
    ))
}

/// One webhook endpoint (admins only)
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 400, description = "`id` is not a number", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn show(cx: Ctx, Path(raw_id): Path<String>) -> Result<Json<WebhookView>, AppError> {
    let row = webhooks::get(&cx, positive("id", &raw_id)?).await?;
    Ok(Json(row.into()))
}

/// Changes a webhook endpoint (admins only)
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id")),
    request_body = WebhookEdit,
    responses(
        (status = 200, description = "The endpoint as changed", body = WebhookView),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 413, description = desc::TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn update(
    cx: Ctx,
    Path(raw_id): Path<String>,
    ApiJson(edit): ApiJson<WebhookEdit>,
) -> Result<Json<WebhookView>, AppError> {
    let row = webhooks::update(&cx, positive("id", &raw_id)?, edit).await?;
    Ok(Json(row.into()))
}

/// Removes a webhook endpoint and its delivery log (admins only)
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Deleted; pending deliveries are dropped"),
        (status = 400, description = "`id` is not a number", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn remove(cx: Ctx, Path(raw_id): Path<String>) -> Result<StatusCode, AppError> {
    webhooks::delete(&cx, positive("id", &raw_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's deliveries, newest first (admins only)
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "Webhook id"),
        ("limit" = Option<i64>, Query, description = "Default 50", minimum = 1, maximum = 200),
        ("before" = Option<i64>, Query, description = "Only deliveries with a smaller id: pass the last id of a page for the next"),
    ),
    responses(
        (status = 200, description = "Deliveries, newest first", body = Vec<DeliveryView>),
        (status = 400, description = "A bad or unknown parameter; `error.field` names it", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn deliveries(
    cx: Ctx,
    Path(raw_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<DeliveryView>>, AppError> {
    let webhook_id = positive("id", &raw_id)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| AppError::invalid("query", "is not a valid query string"))?;
    let (mut limit, mut before) = (None, None);
    for (key, value) in &pairs {
        match key.as_str() {
            "limit" => limit = Some(value.as_str()),
            "before" => before = Some(positive("before", value)?),
            other => {
                return Err(AppError::invalid(
                    other.to_owned(),
                    "is not a parameter here (limit, before)",
                ))
            }
        }
    }
    let rows = webhooks::deliveries(&cx, webhook_id, before, limit).await?;
    Ok(Json(rows.into_iter().map(DeliveryView::from).collect()))
}

/// Sends a delivery again, as a new delivery (admins only)
///
/// The new delivery has the same event, time and data but its own delivery
/// id, so receivers that dedupe by id process it; the original stays in the log.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "Webhook id"),
        ("delivery_id" = i64, Path, description = "The delivery to send again (its numeric `id`)"),
    ),
    responses(
        (status = 201, description = "The new, pending delivery", body = DeliveryView),
        (status = 400, description = "An id is not a number", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such delivery of this webhook", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn resend(
    cx: Ctx,
    Path((raw_id, raw_delivery)): Path<(String, String)>,
) -> Result<impl IntoResponse, AppError> {
    let webhook_id = positive("id", &raw_id)?;
    let delivery_id = positive("delivery_id", &raw_delivery)?;
    let row = webhooks::resend(&cx, webhook_id, delivery_id).await?;
    Ok((StatusCode::CREATED, Json(DeliveryView::from(row))))
}
