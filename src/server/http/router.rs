//! Assembles the application: routes, sessions, CSRF, request ids, tracing
//! and body limits, in one place so tests serve exactly what production does.

use std::time::Duration;

use axum::{
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderName, HeaderValue, Request, StatusCode},
    middleware,
    response::IntoResponse,
    routing::get,
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use super::{api, REQUEST_ID_HEADER};
use crate::{
    app::{shell, App},
    server::{auth::csrf, session_store::DbSessionStore, state::AppState},
};

pub const SESSION_COOKIE: &str = "registry_session";

/// The policy of a rendered page: our own scripts, and inline ones only
/// with this response's nonce (the hydration and resource scripts Leptos
/// writes carry it); wasm may be compiled; styles may be inline (charts and
/// progress bars set widths); images from us or `data:`; never framed.
pub fn set_page_csp() {
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// A request that takes longer than `limit` gets 408 and its work is dropped.
pub fn request_timeout(limit: Duration) -> tower_http::timeout::TimeoutLayer {
    tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limit)
}

/// Headers every response carries. Pages replace the CSP with their own
/// (with the hydration scripts' nonce, see `app::shell`); everything else
/// (JSON, files) may load nothing and be framed by nobody.
fn security_headers() -> [SetResponseHeaderLayer<HeaderValue>; 4] {
    [
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
    ]
}

pub fn build(state: AppState) -> Router {
    let routes = generate_route_list(App);
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
    let [csp, nosniff, referrer, frames] = security_headers();
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
        .layer(request_timeout(timeout));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .nest("/api/v1", api::routes(timeout))
        .nest(
            "/api/2.0/mlflow",
            crate::server::mlflow::routes().layer(request_timeout(timeout)),
        )
        .nest(
            "/ajax-api/2.0/mlflow",
            crate::server::mlflow::routes().layer(request_timeout(timeout)),
        )
        .merge(pages)
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
