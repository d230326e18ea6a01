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
    // Only POST is a "simple" cross-site request: a PUT of a text file
    // (MLflow's artifact client uploading requirements.txt) needs a
    // preflight a browser would never get, so it cannot be forged.
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        assert!(is_allowed(&req(
            method,
            &[HOST, BASIC, ("content-type", "text/plain")]
        )));
    }
    assert!(!is_allowed(&req(
        Method::POST,
        &[HOST, BASIC, ("cookie", "registry_session=x")]
    )));
    assert!(!is_allowed(&req(
        Method::PUT,
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
