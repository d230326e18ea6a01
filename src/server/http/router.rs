//! Assembles the application: routes, sessions, CSRF, request ids, tracing
//! and body limits, in one place so tests serve exactly what production does.

use std::time::Duration;

use axum::{
    extract::{DefaultBodyLimit, State},
    http::{HeaderName, Request, StatusCode},
    middleware,
    response::IntoResponse,
    routing::get,
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use super::{api, layers, REQUEST_ID_HEADER};
use crate::{
    app::{shell, App},
    server::{auth::csrf, session_store::DbSessionStore, state::AppState},
};

pub const SESSION_COOKIE: &str = "registry_session";

/// The app's routes, generated once per process. Generating them renders the
/// app with resource loading suppressed by a process-wide flag; a page being
/// rendered at that moment in the same process (another server in the test
/// suite) would wait forever for its data (leptos-rs/leptos#4773).
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn build(state: AppState) -> Router {
    let routes = route_list();
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let idle =
        time::Duration::try_from(state.config.session_idle).unwrap_or(time::Duration::hours(12));
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));

    let leptos_state = state.clone();
    let timeout = state.config.timeouts.request;
    let [csp, nosniff, referrer, frames] = layers::security_headers();
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(leptos_state.clone()),
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        // Not-found pages render the app too, so they need its state (the
        // signed-in user in the navigation bar).
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            shell,
        ))
        .layer(layers::request_timeout(timeout));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/api/v1/openapi.json", get(super::openapi::openapi_json))
        // The public keys, where verifiers look for them: no credentials.
        .route(
            "/.well-known/model-registry/keys.json",
            get(super::deploy_api::keys),
        )
        .nest("/api/v1", api::routes(timeout))
        .nest(
            "/api/2.0/mlflow",
            crate::server::mlflow::routes().layer(layers::request_timeout(timeout)),
        )
        // Artifact transfers stream: no request timeout (uploads keep the
        // minimum-rate rule of the artifact service).
        .nest(
            "/api/2.0/mlflow-artifacts",
            crate::server::mlflow::artifact_routes(),
        )
        .nest(
            "/ajax-api/2.0/mlflow-artifacts",
            crate::server::mlflow::artifact_routes(),
        )
        .nest(
            "/ajax-api/2.0/mlflow",
            crate::server::mlflow::routes().layer(layers::request_timeout(timeout)),
        )
        .route("/metrics", get(super::ops::metrics))
        .merge(pages)
        // Route-level (so the route template is known), outside the others.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::ops::track,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn(csrf::require_same_origin))
        .layer(sessions)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id, user = tracing::field::Empty)
                })
                .on_response(|res: &axum::response::Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "response");
                }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(csp)
        .layer(nosniff)
        .layer(referrer)
        .layer(frames)
        .with_state(state)
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.db.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}
