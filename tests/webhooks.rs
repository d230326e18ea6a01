//! Webhooks on SQLite and Postgres: signed deliveries to a receiver on
//! loopback, retries and failure, delivery after a restart, admin-only
//! access, refused addresses, and resend.

mod common;

use std::time::Duration;

use axum::{extract::State, http::HeaderMap, routing::post, Router};
use common::{Auth, TestDb, TestServer, ADMIN_PASSWORD};
use hmac::{Hmac, Mac};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::{net::TcpListener, sync::mpsc};

on_both_databases! {
    registered_versions_are_delivered_signed => delivered_and_signed;
    failing_receivers_are_retried_then_marked_failed => retried_then_failed;
    pending_deliveries_are_sent_after_a_restart => survives_restart;
    only_admins_manage_webhooks_and_bad_urls_are_refused => admin_only_and_validation;
    deliveries_can_be_resent_within_their_webhook => resend;
    admin_pages_and_forms_manage_webhooks => ui;
}

/// One request the receiver got.
struct Received {
    headers: HeaderMap,
    body: String,
}

/// A webhook receiver on loopback answering every POST with `status`.
struct Receiver {
    url: String,
    rx: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::on(listener, status)
    }

    fn on(listener: TcpListener, status: u16) -> Self {
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State((tx, status)): State<(mpsc::UnboundedSender<Received>, u16)>,
                     headers: HeaderMap,
                     body: String| async move {
                        let _ = tx.send(Received { headers, body });
                        axum::http::StatusCode::from_u16(status).unwrap()
                    },
                ),
            )
            .with_state((tx, status));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, rx }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(15), self.rx.recv())
            .await
            .expect("a delivery within 15 s")
            .expect("receiver open")
    }

    /// Nothing more arrives within `wait`.
    async fn quiet_for(&mut self, wait: Duration) {
        if let Ok(Some(r)) = tokio::time::timeout(wait, self.rx.recv()).await {
            panic!("unexpected delivery: {}", r.body);
        }
    }
}

fn header_str<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// What a receiver does: recompute the HMAC over "timestamp.body".
fn verify(r: &Received, secret: &str) {
    let timestamp = header_str(r, "x-registry-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", r.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header_str(r, "x-registry-signature"), expected);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sent: i64 = timestamp.parse().unwrap();
    assert!((now - sent).abs() < 300, "timestamp {sent} vs now {now}");
}

async fn create_hook(s: &TestServer, token: &str, url: &str, events: &[&str]) -> (i64, String) {
    let (status, body) = s
        .post(
            "/api/v1/webhooks",
            token,
            json!({ "url": url, "events": events }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["webhook"]["id"].as_i64().unwrap(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn register(s: &TestServer, token: &str, model: &str, version: &str) {
    let (status, body) = s
        .post(
            &format!("/api/v1/models/{model}/versions"),
            token,
            json!({ "version": version }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn deliveries(s: &TestServer, token: &str, hook: i64) -> Vec<Value> {
    let (status, body) = s
        .get_json(
            &format!("/api/v1/webhooks/{hook}/deliveries"),
            Auth::Bearer(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// Polls the delivery log until the newest delivery is in `state`.
async fn wait_for_state(s: &TestServer, token: &str, hook: i64, state: &str) -> Value {
    for _ in 0..150 {
        let list = deliveries(s, token, hook).await;
        if let Some(d) = list.first().filter(|d| d["state"] == state) {
            return d.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no delivery reached {state}: {:?}",
        deliveries(s, token, hook).await
    );
}

async fn delivered_and_signed(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    let mut receiver = Receiver::start(200).await;
    let (hook, secret) = create_hook(&s, &admin, &receiver.url, &["version.registered"]).await;
    assert_eq!(secret.len(), 64, "32 random bytes, hex");
    // Subscribed to something else: gets nothing.
    create_hook(&s, &admin, &receiver.url, &["stage.changed"]).await;

    register(&s, &admin, "m", "1.0.0").await;
    let got = receiver.next().await;
    verify(&got, &secret);
    assert_eq!(header_str(&got, "content-type"), "application/json");
    assert_eq!(header_str(&got, "x-registry-event"), "version.registered");
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["id"], header_str(&got, "x-registry-delivery"));
    assert_eq!(body["type"], "version.registered");
    assert!(body["created_at"].as_i64().unwrap() > 0);
    let digest = body["data"]["content_digest"].as_str().unwrap_or_default();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    assert_eq!(
        body["data"],
        json!({"model": "m", "version": "1.0.0", "seq": 1, "created_by": "admin",
               "content_digest": digest})
    );
    // A wrong secret does not verify.
    let mut mac = Hmac::<Sha256>::new_from_slice(b"wrong").unwrap();
    mac.update(got.body.as_bytes());
    assert_ne!(
        header_str(&got, "x-registry-signature"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );

    let d = wait_for_state(&s, &admin, hook, "delivered").await;
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status"], 200);
    assert_eq!(d["payload"], got.body.as_str());
    receiver.quiet_for(Duration::from_millis(500)).await;

    // The secret is shown once and never lands in the audit trail.
    let (_, listed) = s.get_json("/api/v1/webhooks", Auth::Bearer(&admin)).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'webhook.create'")
            .await,
        2
    );
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE details LIKE '%{secret}%'"
        ))
        .await,
        0
    );
    s.stop().await;
}

async fn retried_then_failed(db: &TestDb) {
    let mut config = db.config();
    config.webhooks.max_attempts = 3;
    let s = TestServer::start(config).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    let mut receiver = Receiver::start(500).await;
    let (hook, secret) = create_hook(&s, &admin, &receiver.url, &["version.registered"]).await;
    register(&s, &admin, "m", "1.0.0").await;

    let mut ids = Vec::new();
    for _ in 0..3 {
        let got = receiver.next().await;
        verify(&got, &secret);
        ids.push(header_str(&got, "x-registry-delivery").to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every attempt carries the same delivery id");
    let d = wait_for_state(&s, &admin, hook, "failed").await;
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["last_status"], 500);
    assert!(d["last_error"].as_str().unwrap().contains("500"), "{d}");
    receiver.quiet_for(Duration::from_millis(500)).await;
    s.stop().await;
}

async fn survives_restart(db: &TestDb) {
    let mut config = db.config();
    config.webhooks.max_attempts = 50;
    config.webhooks.retry_base = Duration::from_millis(200);
    // A port with nothing listening yet: attempts are refused.
    let parked = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = parked.local_addr().unwrap();
    drop(parked);
    let url = format!("http://{addr}/hook");

    let s = TestServer::start(config.clone()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    let (hook, secret) = create_hook(&s, &admin, &url, &["version.registered"]).await;
    register(&s, &admin, "m", "1.0.0").await;
    let d = wait_for_state(&s, &admin, hook, "pending").await;
    // Wait until at least one attempt has failed and been recorded.
    let mut first = Value::Null;
    for _ in 0..100 {
        first = deliveries(&s, &admin, hook).await[0].clone();
        if first["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(first["state"], "pending", "{first}");
    assert!(first["last_error"].is_string(), "{first}");
    assert!(first["attempts"].as_i64().unwrap() >= 1, "{first}");
    s.stop().await;

    // The receiver comes up while the registry is down; a new process on
    // the same database sends what was left pending.
    let mut receiver = Receiver::on(TcpListener::bind(addr).await.unwrap(), 200);
    let s = TestServer::start(config).await;
    let got = receiver.next().await;
    verify(&got, &secret);
    assert_eq!(header_str(&got, "x-registry-delivery"), d["delivery_uuid"]);
    let admin = s.admin_token().await;
    let done = wait_for_state(&s, &admin, hook, "delivered").await;
    assert!(done["attempts"].as_i64().unwrap() >= 2, "{done}");
    s.stop().await;
}

async fn admin_only_and_validation(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    let (hook, _) = create_hook(&s, &admin, "http://127.0.0.1:9/hook", &["alias.moved"]).await;
    s.create_user("carl", "contrib-password-1", "contributor")
        .await;
    s.create_user("ann", "approver-password-1", "approver")
        .await;
    for (user, password) in [
        ("carl", "contrib-password-1"),
        ("ann", "approver-password-1"),
    ] {
        let token = s.token_for(user, password).await;
        let (status, _) = s.get_json("/api/v1/webhooks", Auth::Bearer(&token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
        let (status, _) = s
            .post(
                "/api/v1/webhooks",
                &token,
                json!({"url": "http://169.254.169.254/", "events": []}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{user}: forbidden before validation"
        );
        for path in [
            format!("/api/v1/webhooks/{hook}"),
            format!("/api/v1/webhooks/{hook}/deliveries"),
        ] {
            let (status, _) = s.get_json(&path, Auth::Bearer(&token)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{user} {path}");
        }
        let (status, _) = s
            .send_json(
                Method::DELETE,
                &format!("/api/v1/webhooks/{hook}"),
                Auth::Bearer(&token),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = s.get_json("/api/v1/webhooks", Auth::None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let events = json!(["version.registered"]);
    for (body, field) in [
        (
            json!({"url": "http://169.254.169.254/latest/meta-data/", "events": events}),
            "url",
        ),
        (
            json!({"url": "http://[::ffff:169.254.169.254]/", "events": events}),
            "url",
        ),
        (
            json!({"url": "http://metadata.google.internal/", "events": events}),
            "url",
        ),
        (
            json!({"url": "ftp://example.com/", "events": events}),
            "url",
        ),
        (
            json!({"url": "https://u:p@example.com/", "events": events}),
            "url",
        ),
        (json!({"events": events}), "url"),
        (json!({"url": "http://127.0.0.1:9/"}), "events"),
        (
            json!({"url": "http://127.0.0.1:9/", "events": []}),
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": ["version.deleted"]}),
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": events, "secret": "short"}),
            "secret",
        ),
    ] {
        let (status, got) = s.post("/api/v1/webhooks", &admin, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {got}");
        assert_eq!(got["error"]["field"], field, "{body}: {got}");
    }
    let hook_path = format!("/api/v1/webhooks/{hook}");
    let patch = |body: Value| s.send_json(Method::PATCH, &hook_path, Auth::Bearer(&admin), body);
    let (status, got) = patch(json!({"url": "http://169.254.169.254/"})).await;
    assert_eq!(
        (status, &got["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("url"))
    );
    let (status, got) = patch(json!({"secret": ""})).await;
    assert_eq!(
        (status, &got["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("secret"))
    );
    let (status, got) = patch(json!({"active": false, "events": ["stage.changed", "alias.moved"], "secret": "a-new-secret-0123456789"})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["active"], false);
    assert_eq!(got["events"], json!(["stage.changed", "alias.moved"]));
    assert!(!got.to_string().contains("a-new-secret"));

    let (status, got) = s
        .get_json("/api/v1/webhooks/abc", Auth::Bearer(&admin))
        .await;
    assert_eq!(
        (status, &got["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("id"))
    );
    let (status, _) = s
        .get_json("/api/v1/webhooks/99999", Auth::Bearer(&admin))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .send_json(
            Method::DELETE,
            &format!("/api/v1/webhooks/{hook}"),
            Auth::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .get_json(&format!("/api/v1/webhooks/{hook}"), Auth::Bearer(&admin))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for action in ["webhook.create", "webhook.update", "webhook.delete"] {
        assert_eq!(
            s.count(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
            ))
            .await,
            1,
            "{action}"
        );
    }
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE details LIKE '%a-new-secret%'")
            .await,
        0
    );
    s.stop().await;
}

async fn resend(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    let mut receiver = Receiver::start(200).await;
    let (a, secret_a) = create_hook(&s, &admin, &receiver.url, &["version.registered"]).await;
    let (b, _) = create_hook(&s, &admin, &receiver.url, &["version.registered"]).await;
    register(&s, &admin, "m", "2.0.0").await;
    receiver.next().await;
    receiver.next().await;
    let first_a = wait_for_state(&s, &admin, a, "delivered").await;
    let first_b = wait_for_state(&s, &admin, b, "delivered").await;

    // A delivery of another webhook is not found under this one.
    let (status, _) = s
        .post(
            &format!("/api/v1/webhooks/{a}/deliveries/{}/resend", first_b["id"]),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, got) = s
        .post(
            &format!("/api/v1/webhooks/{a}/deliveries/x/resend"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, &got["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("delivery_id"))
    );

    let (status, again) = s
        .post(
            &format!("/api/v1/webhooks/{a}/deliveries/{}/resend", first_a["id"]),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_ne!(again["delivery_uuid"], first_a["delivery_uuid"]);
    let got = receiver.next().await;
    verify(&got, &secret_a);
    let body: Value = serde_json::from_str(&got.body).unwrap();
    let original: Value = serde_json::from_str(first_a["payload"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], again["delivery_uuid"]);
    assert_eq!(
        header_str(&got, "x-registry-delivery"),
        again["delivery_uuid"]
    );
    assert_eq!(
        (&body["data"], &body["created_at"]),
        (&original["data"], &original["created_at"])
    );

    let newest = wait_for_state(&s, &admin, a, "delivered").await;
    assert_eq!(newest["id"], again["id"]);
    let list = deliveries(&s, &admin, a).await;
    assert_eq!(list.len(), 2, "the original stays in the log");
    let (_, page) = s
        .get_json(
            &format!(
                "/api/v1/webhooks/{a}/deliveries?limit=1&before={}",
                again["id"]
            ),
            Auth::Bearer(&admin),
        )
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"], first_a["id"]);
    for bad in ["limit=0", "limit=x", "before=-1", "page=2"] {
        let (status, _) = s
            .get_json(
                &format!("/api/v1/webhooks/{a}/deliveries?{bad}"),
                Auth::Bearer(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'webhook.resend'")
            .await,
        1
    );

    // A disabled endpoint gets no new deliveries.
    s.send_json(
        Method::DELETE,
        &format!("/api/v1/webhooks/{b}"),
        Auth::Bearer(&admin),
        json!({}),
    )
    .await;
    let path = format!("/api/v1/webhooks/{a}");
    let (status, _) = s
        .send_json(
            Method::PATCH,
            &path,
            Auth::Bearer(&admin),
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    register(&s, &admin, "m", "2.1.0").await;
    receiver.quiet_for(Duration::from_millis(700)).await;
    assert_eq!(deliveries(&s, &admin, a).await.len(), 2);
    s.send_json(
        Method::PATCH,
        &path,
        Auth::Bearer(&admin),
        json!({"active": true}),
    )
    .await;
    register(&s, &admin, "m", "2.2.0").await;
    let got = receiver.next().await;
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["data"]["version"], "2.2.0");
    s.stop().await;
}

async fn ui(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let cookie = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    // Checkboxes post as `events[]`, several times.
    let res = s
        .server_fn(
            "admin/create_webhook",
            Some(&cookie),
            &[
                ("url", "http://127.0.0.1:9/ui-hook"),
                ("events[]", "version.registered"),
                ("events[]", "alias.moved"),
                ("secret", ""),
                ("description", "from the form"),
            ],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["secret"].as_str().unwrap().len(), 64);
    assert_eq!(
        created["webhook"]["events"],
        json!(["version.registered", "alias.moved"])
    );
    let id = created["webhook"]["id"].as_i64().unwrap();
    let res = s
        .server_fn(
            "admin/create_webhook",
            Some(&cookie),
            &[
                ("url", "http://169.254.169.254/"),
                ("events[]", "alias.moved"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    for path in [
        "/admin/webhooks".to_owned(),
        format!("/admin/webhooks/{id}"),
    ] {
        let res = s
            .client
            .get(s.url(&path))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("http://127.0.0.1:9/ui-hook"), "{path}");
    }
    let res = s
        .server_fn(
            "admin/set_webhook_active",
            Some(&cookie),
            &[("id", &id.to_string()), ("active", "false")],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let admin = s.admin_token().await;
    let (_, got) = s
        .get_json(&format!("/api/v1/webhooks/{id}"), Auth::Bearer(&admin))
        .await;
    assert_eq!(got["active"], false);

    // Viewers do not get the page.
    s.create_user("vic", "viewer-password-1", "viewer").await;
    let viewer = s.sign_in("vic", "viewer-password-1").await.unwrap();
    let res = s
        .client
        .get(s.url("/admin/webhooks"))
        .header(header::COOKIE, &viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s.server_fn("admin/list_webhooks", Some(&viewer), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}
