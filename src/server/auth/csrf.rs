//! Cross-site request forgery protection for cookie-authenticated requests.
//! The session cookie is SameSite=Lax; on top, every state-changing request
//! must come from our own origin (Origin, or Referer when Origin is absent).
//! Calls that carry an `Authorization` header are exempt: a cross-site page
//! cannot attach one without a CORS preflight, which we never grant.

use axum::{
    extract::Request,
    http::{header, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::AppError;

pub async fn require_same_origin(request: Request, next: Next) -> Response {
    if is_allowed(&request) {
        next.run(request).await
    } else {
        tracing::warn!(uri = %request.uri(), "refused a cross-site state-changing request");
        AppError::Forbidden.into_response()
    }
}

fn is_allowed(request: &Request) -> bool {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return true;
    }
    let headers = request.headers();
    if headers.contains_key(header::AUTHORIZATION) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|h| h.to_str().ok());
    source.is_some_and(|s| authority_of(s) == Some(host))
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

    #[test]
    fn same_origin_posts_pass_and_others_are_refused() {
        let host = ("host", "reg.example:3000");
        assert!(is_allowed(&req(Method::GET, &[host])));
        assert!(is_allowed(&req(
            Method::POST,
            &[host, ("origin", "http://reg.example:3000")]
        )));
        assert!(is_allowed(&req(
            Method::POST,
            &[host, ("referer", "https://reg.example:3000/login?x=1")]
        )));
        assert!(is_allowed(&req(
            Method::POST,
            &[host, ("authorization", "Bearer x")]
        )));
        assert!(!is_allowed(&req(Method::POST, &[host])));
        assert!(!is_allowed(&req(
            Method::POST,
            &[host, ("origin", "http://evil.example")]
        )));
        assert!(!is_allowed(&req(
            Method::POST,
            &[host, ("origin", "http://reg.example:3000.evil.example")]
        )));
        assert!(!is_allowed(&req(
            Method::DELETE,
            &[host, ("origin", "null")]
        )));
        assert!(!is_allowed(&req(
            Method::POST,
            &[("origin", "http://reg.example:3000")]
        )));
    }
}
