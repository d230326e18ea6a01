//! Cross-site request forgery protection, and which clients may be asked
//! for HTTP Basic credentials.
//!
//! The rule for a state-changing request (anything but GET/HEAD/OPTIONS):
//! - with a **Bearer token**: accepted. Browsers never attach one on their
//!   own, and a cross-site page cannot add one without a CORS preflight,
//!   which we never grant.
//! - with **HTTP Basic**: browsers *do* attach cached Basic credentials to
//!   cross-site requests, so it is accepted only from our own origin (when
//!   `Origin` or `Referer` is present), or from a client that is plainly
//!   not a browser: no `Origin`/`Referer`, no cookies, and not a POST with a
//!   content type a cross-site form can send (`application/x-www-form-urlencoded`,
//!   `multipart/form-data`, `text/plain`); other methods cannot be sent
//!   cross-site without a preflight. MLflow and curl send JSON or
//!   octet-streams and no cookies.
//! - with a **session cookie** (or nothing): `Origin`, or else `Referer`,
//!   must be our own origin. The cookie is SameSite=Lax on top.
//!
//! And so browsers never cache Basic credentials in the first place, a 401
//! to a browser challenges with `Bearer` only; `Basic` is offered only to
//! clients that do not look like browsers.

use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::AppError;

const BROWSER_CHALLENGE: &str = "Bearer realm=\"model-registry\"";
const MACHINE_CHALLENGE: &str = "Bearer realm=\"model-registry\", Basic realm=\"model-registry\"";

pub async fn require_same_origin(request: Request, next: Next) -> Response {
    let browser = looks_like_browser(request.headers());
    if !is_allowed(&request) {
        tracing::warn!(uri = %request.uri(), "refused a cross-site state-changing request");
        return AppError::Forbidden.into_response();
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        let challenge = if browser {
            BROWSER_CHALLENGE
        } else {
            MACHINE_CHALLENGE
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

/// Browsers announce themselves: fetch metadata (every current browser),
/// an HTML `Accept`, or a `Mozilla/` user agent (all of them, for history's sake).
fn looks_like_browser(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    headers.contains_key("sec-fetch-mode")
        || headers.contains_key("sec-fetch-site")
        || text(header::ACCEPT).is_some_and(|a| a.contains("text/html"))
        || text(header::USER_AGENT).is_some_and(|ua| ua.starts_with("Mozilla/"))
}

fn is_allowed(request: &Request) -> bool {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return true;
    }
    let headers = request.headers();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start().to_ascii_lowercase());
    let scheme = auth.as_deref().and_then(|v| v.split(' ').next());
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|h| h.to_str().ok());
    match scheme {
        Some("bearer") => true,
        Some("basic") => match source {
            Some(_) => same_origin(headers, source),
            // Only a POST can carry a form's content type cross-site without
            // a preflight; a PUT of a text file (MLflow's artifact client
            // sends `text/plain` for `requirements.txt`) cannot be forged.
            None => {
                let forgeable_form = request.method() == Method::POST && form_content_type(headers);
                !headers.contains_key(header::COOKIE) && !forgeable_form
            }
        },
        _ => same_origin(headers, source),
    }
}

fn same_origin(headers: &HeaderMap, source: Option<&str>) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    source.is_some_and(|s| authority_of(s) == Some(host))
}

/// The content types a cross-site page can send without a CORS preflight.
fn form_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|t| {
            matches!(
                t.as_str(),
                "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
            )
        })
}

/// `https://host:port/path` → `host:port`.
fn authority_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

#[cfg(test)]
#[path = "csrf_tests.rs"]
mod tests;
