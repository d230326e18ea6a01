//! The operations surface: Prometheus metrics.

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    error::AppError,
    server::{
        metrics::CONTENT_TYPE,
        services::{ops, Ctx},
        state::AppState,
    },
};

/// `/metrics` on the main address: admins (a token, Basic, or a session).
pub async fn metrics(cx: Ctx) -> Result<Response, AppError> {
    let text = ops::metrics(&cx).await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

/// `/metrics` on `REGISTRY_METRICS_ADDR`: no credentials (that address is
/// the operator's to protect).
pub async fn public_metrics(State(state): State<AppState>) -> Result<Response, AppError> {
    let text = state.metrics.render(&state.db).await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

/// Counts every routed request (a layer on the whole router, so the route
/// template is known; unmatched paths count as `unmatched`).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}
