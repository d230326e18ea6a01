//! The operations surface on SQLite and Postgres: Prometheus metrics to
//! admins on the main address, and without credentials on a separate one.

mod common;

use common::{Auth, TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::json;

on_both_databases! {
    metrics_count_requests_by_route_and_are_for_admins_only => metrics;
}

async fn scrape(s: &TestServer, auth: Auth<'_>) -> (StatusCode, String) {
    let (status, _) = s.get_json("/healthz", Auth::None).await;
    assert_eq!(status, StatusCode::OK);
    let req = s.client.get(s.url("/metrics"));
    let res = match auth {
        Auth::Bearer(t) => req.bearer_auth(t),
        _ => req,
    }
    .send()
    .await
    .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

async fn metrics(db: &TestDb) {
    // A free port for the separate metrics address.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = db.config();
    config.metrics_addr = Some(([127, 0, 0, 1], port).into());
    let s = TestServer::start(config).await;
    let admin = s.admin_token().await;
    s.create_user("vic", "viewer-pass-1", "viewer").await;
    let vic = s.token_for("vic", "viewer-pass-1").await;
    let (status, _) = s
        .post("/api/v1/models", &admin, json!({"name": "fraud"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = s
        .post(
            "/api/v1/models/fraud/versions",
            &admin,
            json!({"version": "1.0.0"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let res = s
        .client
        .put(s.url("/api/v1/models/fraud/versions/1.0.0/artifacts/model.bin"))
        .bearer_auth(&admin)
        .body(vec![7u8; 12_345])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    for _ in 0..3 {
        let (status, _) = s.get_json("/api/v1/models/fraud", Auth::Bearer(&vic)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = s.get_json("/api/v1/models/nope", Auth::Bearer(&vic)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only admins scrape the main address.
    let (status, _) = scrape(&s, Auth::None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scrape(&s, Auth::Bearer(&vic)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, text) = scrape(&s, Auth::Bearer(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // By route template, not raw path; 200s and the 404 apart.
    let route = r#"route="/api/v1/models/{name}""#;
    assert_eq!(
        value(
            &text,
            &format!(r#"registry_http_requests_total{{method="GET",{route},status="200"}}"#)
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            &format!(r#"registry_http_requests_total{{method="GET",{route},status="404"}}"#)
        ),
        1.0
    );
    assert!(
        value(
            &text,
            &format!(r#"registry_http_request_duration_seconds_count{{method="GET",{route}}}"#)
        ) >= 4.0
    );
    assert!(value(&text, "registry_upload_bytes_total") >= 12_345.0);
    assert!(value(&text, "registry_db_pool_connections") >= 1.0);
    assert!(value(&text, "registry_audit_chain_events") >= 3.0);
    assert_eq!(value(&text, "registry_webhook_deliveries_pending"), 0.0);
    assert_eq!(value(&text, "registry_webhook_deliveries_failed"), 0.0);
    assert!(!text.contains("nope"), "raw paths never become labels");

    // The separate address answers without credentials.
    let res = s
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("registry_http_requests_total"));
    s.stop().await;
}
