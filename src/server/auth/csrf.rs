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
//!   not a browser: no `Origin`/`Referer`, no cookies, and not a content type
//!   a cross-site form can send (`application/x-www-form-urlencoded`,
//!   `multipart/form-data`, `text/plain`). MLflow and curl send JSON or
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
            None => !headers.contains_key(header::COOKIE) && !form_content_type(headers),
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
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut b = axum::http::Request::builder().method(method).uri("/fn/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    const HOST: (&str, &str) = ("host", "reg.example:3000");
    const BASIC: (&str, &str) = ("authorization", "Basic YWxpY2U6c2VjcmV0");

    #[test]
    fn same_origin_posts_pass_and_others_are_refused() {
        assert!(is_allowed(&req(Method::GET, &[HOST])));
        assert!(is_allowed(&req(
            Method::POST,
            &[HOST, ("origin", "http://reg.example:3000")]
        )));
        assert!(is_allowed(&req(
            Method::POST,
            &[HOST, ("referer", "https://reg.example:3000/login?x=1")]
        )));
        assert!(!is_allowed(&req(Method::POST, &[HOST])));
        assert!(!is_allowed(&req(
            Method::POST,
            &[HOST, ("origin", "http://evil.example")]
        )));
        assert!(!is_allowed(&req(
            Method::POST,
            &[HOST, ("origin", "http://reg.example:3000.evil.example")]
        )));
        assert!(!is_allowed(&req(
            Method::DELETE,
            &[HOST, ("origin", "null")]
        )));
        assert!(!is_allowed(&req(
            Method::POST,
            &[("origin", "http://reg.example:3000")]
        )));
    }

    #[test]
    fn bearer_tokens_pass_from_anywhere() {
        assert!(is_allowed(&req(
            Method::POST,
            &[HOST, ("authorization", "Bearer mr_x")]
        )));
        assert!(is_allowed(&req(
            Method::POST,
            &[
                HOST,
                ("authorization", "bearer mr_x"),
                ("origin", "http://evil.example")
            ]
        )));
    }

    #[test]
    fn basic_credentials_pass_only_from_machines_or_our_origin() {
        // MLflow and curl: JSON or octet-streams, no cookies, no Origin.
        for ct in ["application/json", "application/octet-stream"] {
            assert!(is_allowed(&req(
                Method::POST,
                &[HOST, BASIC, ("content-type", ct)]
            )));
        }
        assert!(is_allowed(&req(Method::DELETE, &[HOST, BASIC])));
        // A browser carrying cached credentials across sites: refused.
        assert!(!is_allowed(&req(
            Method::POST,
            &[
                HOST,
                BASIC,
                ("origin", "http://evil.example"),
                ("content-type", "application/json")
            ]
        )));
        for ct in [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain;charset=UTF-8",
        ] {
            assert!(
                !is_allowed(&req(Method::POST, &[HOST, BASIC, ("content-type", ct)])),
                "{ct}"
            );
        }
        assert!(!is_allowed(&req(
            Method::POST,
            &[HOST, BASIC, ("cookie", "registry_session=x")]
        )));
        // Our own pages may use Basic too.
        assert!(is_allowed(&req(
            Method::POST,
            &[
                HOST,
                BASIC,
                ("origin", "http://reg.example:3000"),
                ("content-type", "text/plain")
            ]
        )));
    }

    #[test]
    fn browsers_are_recognised() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(looks_like_browser(&headers(&[(
            "sec-fetch-mode",
            "navigate"
        )])));
        assert!(looks_like_browser(&headers(&[("accept", "text/html,*/*")])));
        assert!(looks_like_browser(&headers(&[(
            "user-agent",
            "Mozilla/5.0 (X11)"
        )])));
        assert!(!looks_like_browser(&headers(&[(
            "user-agent",
            "mlflow-python-client/3.17.2"
        )])));
        assert!(!looks_like_browser(&headers(&[("user-agent", "curl/8.0")])));
    }
}
