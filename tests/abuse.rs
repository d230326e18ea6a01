//! Hostile clients, replayed as attacks on SQLite and Postgres: each must
//! fail, change nothing it should not, and leave the server answering.

mod common;

use std::time::Duration;

use common::{Auth, TestDb, TestServer, ADMIN_PASSWORD};
use model_registry::server::{config::Config, http::client_addr::TrustedProxies};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_databases! {
    parallel_guesses_get_only_the_limit_verified_and_never_lock_the_owner_out => guesses;
    verifications_are_bounded_and_the_excess_told_to_retry => verification_bound;
    a_burst_of_the_same_good_credentials_is_verified_once => same_credentials;
    cross_site_posts_with_basic_credentials_are_refused => cross_site_basic;
    tokens_are_held_to_their_scope_and_never_reset_passwords => token_scopes;
    forwarded_for_is_believed_only_from_trusted_proxies => forwarded_for;
    sign_in_redirects_stay_on_our_site => open_redirect;
    bodies_tags_and_points_are_bounded => bounded_input;
    two_admins_cannot_remove_each_other => admin_race;
    slow_and_silent_clients_are_cut_off => slow_clients;
    pages_carry_security_headers_and_never_load_remote_images => headers;
    idle_sessions_slide_with_use_and_end_without => sliding_sessions;
    chain_verification_is_incremental_and_shared => incremental_verification;
    huge_version_searches_are_answered => huge_search;
}

/// A config whose requests are believed to come through a proxy on
/// loopback, so tests can play clients at different addresses.
fn behind_proxy(db: &TestDb) -> Config {
    let mut config = db.config();
    config.trusted_proxies = TrustedProxies::parse("127.0.0.1/32, ::1/128").unwrap();
    config
}

/// The login server function, as a browser from `client` would call it.
async fn login_from(s: &TestServer, client: &str, user: &str, password: &str) -> reqwest::Response {
    s.client
        .post(s.url("/fn/login"))
        .header(header::ORIGIN, &s.base)
        .header("x-forwarded-for", client)
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
}

async fn guesses(db: &TestDb) {
    let s = TestServer::start(behind_proxy(db)).await;
    let admin_token = s.admin_token().await;
    let failures_before = s
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.sign_in_failed'")
        .await;
    // 200 wrong passwords at once, from one client.
    let attempts = (0..200).map(|i| {
        let s = &s;
        async move { login_from(s, "203.0.113.9", "admin", &format!("guess-{i}")).await }
    });
    let responses = futures_util::future::join_all(attempts).await;
    let mut statuses = std::collections::BTreeMap::new();
    for res in &responses {
        *statuses.entry(res.status().as_u16()).or_insert(0) += 1;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry = res.headers()[header::RETRY_AFTER].to_str().unwrap();
            assert!(retry.parse::<u64>().unwrap() >= 1, "{retry}");
        }
    }
    // At most the pair limit (5) were verified; everything else was refused unverified.
    let verified = s
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.sign_in_failed'")
        .await
        - failures_before;
    assert!(verified <= 5, "{verified} guesses verified: {statuses:?}");
    assert_eq!(
        statuses.get(&401).copied().unwrap_or(0),
        verified,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.get(&429).copied().unwrap_or(0),
        200 - verified,
        "{statuses:?}"
    );
    // One audit event for the burst, not one per refusal.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.throttled'")
            .await,
        1
    );
    // The owner, from their own address, signs in at once.
    let res = login_from(&s, "198.51.100.1", "admin", ADMIN_PASSWORD).await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    // The attacker's address stays refused, even with the right password.
    let res = login_from(&s, "203.0.113.9", "admin", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Tokens are never throttled by password failures.
    let (status, _) = s.get_json("/api/v1/me", Auth::Bearer(&admin_token)).await;
    assert_eq!(status, StatusCode::OK);
    // HTTP Basic goes through the same throttle.
    let res = s
        .client
        .get(s.url("/api/v1/me"))
        .header("x-forwarded-for", "203.0.113.9")
        .basic_auth("admin", Some("another-guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The counters are bounded: one row per key in play.
    assert!(s.count("SELECT COUNT(*) FROM sign_in_throttle").await <= 10);
    s.stop().await;
}

async fn verification_bound(db: &TestDb) {
    let mut config = behind_proxy(db);
    config.password_verifications = 1;
    let s = TestServer::start(config).await;
    for i in 0..40 {
        s.create_user(&format!("user{i}"), "user-password-1", "viewer")
            .await;
    }
    // Forty accounts from forty addresses: no throttle applies, only the bound.
    let attempts = (0..40).map(|i| {
        let s = &s;
        async move {
            s.client
                .get(s.url("/api/v1/me"))
                .header("x-forwarded-for", format!("198.51.100.{i}"))
                .basic_auth(format!("user{i}"), Some("user-password-1"))
                .send()
                .await
                .unwrap()
        }
    });
    let responses = futures_util::future::join_all(attempts).await;
    assert_eq!(s.state.throttle.peak_verifications(), 1);
    for res in &responses {
        match res.status() {
            StatusCode::OK => {}
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(res.headers()[header::RETRY_AFTER], "1");
            }
            other => panic!("{other}"),
        }
    }
    assert!(responses.iter().any(|r| r.status() == StatusCode::OK));
    s.stop().await;
}

async fn same_credentials(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    s.create_user("ci", "ci-password-12", "contributor").await;
    // An MLflow client's first burst: fifty calls at once with one password.
    let calls = (0..50).map(|_| {
        let s = &s;
        async move {
            s.get_json("/api/v1/me", Auth::Basic("ci", "ci-password-12"))
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(
        s.state.throttle.peak_verifications(),
        1,
        "verified once, the rest waited"
    );
    s.stop().await;
}

async fn cross_site_basic(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let models = || s.count("SELECT COUNT(*) FROM models");
    let basic = |req: reqwest::RequestBuilder| req.basic_auth("admin", Some(ADMIN_PASSWORD));
    // A browser carrying cached Basic credentials from another site: refused.
    let res = basic(s.client.post(s.url("/api/v1/models")))
        .header(header::ORIGIN, "http://evil.example")
        .json(&json!({"name": "planted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A cross-site form (no preflight), with or without an Origin: refused.
    for origin in [Some("http://evil.example"), None] {
        let mut req = basic(
            s.client
                .post(s.url("/api/2.0/mlflow/registered-models/create?name=planted")),
        )
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("name=planted");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        assert_eq!(
            req.send().await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{origin:?}"
        );
    }
    let res = basic(s.client.post(s.url("/api/v1/models")))
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::COOKIE, "registry_session=whatever")
        .body("{\"name\": \"planted\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(models().await, 0);
    // A machine (JSON, no cookies, no Origin) is served.
    let res = basic(s.client.post(s.url("/api/v1/models")))
        .json(&json!({"name": "wanted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // Browsers are never asked for Basic credentials; machines may be.
    let res = s
        .client
        .get(s.url("/api/v1/me"))
        .header(header::USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64)")
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        !challenge.to_ascii_lowercase().contains("basic"),
        "{challenge}"
    );
    let res = s
        .client
        .get(s.url("/api/2.0/mlflow/registered-models/get?name=wanted"))
        .header(header::USER_AGENT, "mlflow-python-client")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("Basic"));
    s.stop().await;
}

async fn token_scopes(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    s.create_user("carol", "carol-password-1", "contributor")
        .await;
    let carol_token = s.token_for("carol", "carol-password-1").await;
    let read = s.scoped_token_for("admin", ADMIN_PASSWORD, "read").await;
    let write = s.scoped_token_for("admin", ADMIN_PASSWORD, "write").await;
    let admin = s.admin_token().await;
    // A read token reads, and changes nothing.
    assert_eq!(
        s.get_json("/api/v1/models", Auth::Bearer(&read)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.post("/api/v1/models", &read, json!({"name": "m"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // A write token changes the catalog but administers nothing.
    assert_eq!(
        s.post("/api/v1/models", &write, json!({"name": "m"}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        s.get_json("/api/v1/users", Auth::Bearer(&write)).await.0,
        StatusCode::FORBIDDEN
    );
    // An admin token administers…
    assert_eq!(
        s.get_json("/api/v1/users", Auth::Bearer(&admin)).await.0,
        StatusCode::OK
    );
    // …but never resets a password, whoever's.
    let reset = |auth| {
        s.send_json(
            Method::PATCH,
            "/api/v1/users/carol",
            auth,
            json!({"password": "taken-over-pass-1"}),
        )
    };
    let (status, body) = reset(Auth::Bearer(&admin)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "not_allowed");
    assert!(s.sign_in("carol", "taken-over-pass-1").await.is_err());
    // Nor mints tokens: they come from a signed-in password.
    assert_eq!(
        s.post("/api/v1/tokens", &admin, json!({"name": "more"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // A contributor cannot mint an admin-scoped token.
    let cookie = s.sign_in("carol", "carol-password-1").await.unwrap();
    let res = s
        .server_fn(
            "create_token",
            Some(&cookie),
            &[("name", "x"), ("scope", "admin")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s
        .server_fn(
            "create_token",
            Some(&cookie),
            &[("name", "x"), ("scope", "root")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // With the admin's password, the reset works and revokes carol's tokens.
    let (status, body) = reset(Auth::Basic("admin", ADMIN_PASSWORD)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        s.get_json("/api/v1/me", Auth::Bearer(&carol_token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, tokens) = s.get_json("/api/v1/tokens", Auth::Bearer(&read)).await;
    assert!(tokens
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["scope"].is_string()));
    s.stop().await;
}

async fn forwarded_for(db: &TestDb) {
    // Not behind a trusted proxy: the header is the client's own writing.
    let s = TestServer::start(db.config()).await;
    let res = s
        .client
        .post(s.url("/api/v1/models"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("x-forwarded-for", "6.6.6.6")
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let addr: Option<String> = sqlx::query_scalar(
        "SELECT client_addr FROM audit_events WHERE action = 'model.create' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(s.state.db.pool())
    .await
    .unwrap();
    assert_eq!(addr.as_deref(), Some("127.0.0.1"));
    s.stop().await;

    // Behind one: the right-most hop that is not ours, not the forged left one.
    let s = TestServer::start(behind_proxy(db)).await;
    let res = s
        .client
        .post(s.url("/api/v1/models"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.7")
        .json(&json!({"name": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let addr: Option<String> = sqlx::query_scalar(
        "SELECT client_addr FROM audit_events WHERE action = 'model.create' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(s.state.db.pool())
    .await
    .unwrap();
    assert_eq!(addr.as_deref(), Some("198.51.100.7"));
    // And spoofing an address does not buy fresh sign-in attempts.
    for i in 0..5 {
        let res = login_from(
            &s,
            &format!("10.9.9.{i}, 203.0.113.50"),
            "admin",
            "nope-nope-1",
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_from(&s, "10.9.9.99, 203.0.113.50", "admin", "nope-nope-1").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    s.stop().await;
}

async fn open_redirect(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    for (next, expected) in [
        ("/models", "/models"),
        ("/\t/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\n", "/"),
        ("/\r\nSet-Cookie: x=y", "/"),
        ("https://evil.example", "/"),
    ] {
        let res = s
            .client
            .post(s.url("/fn/login"))
            .header(header::ORIGIN, &s.base)
            .header(header::ACCEPT, "text/html")
            .form(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "{next:?}: {}", res.status());
        assert_eq!(res.headers()[header::LOCATION], expected, "{next:?}");
    }
    // The server is still up.
    assert_eq!(
        s.client
            .get(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    s.stop().await;
}

async fn bounded_input(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    assert_eq!(
        s.post("/api/v1/models", &admin, json!({"name": "m"}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        s.post(
            "/api/v1/models/m/versions",
            &admin,
            json!({"version": "1.0.0"})
        )
        .await
        .0,
        StatusCode::CREATED
    );
    // A link is a small JSON document; a megabyte is refused unread.
    let huge = json!({"path": "x.bin", "uri": format!("s3://b/{}", "a".repeat(1024 * 1024))});
    let (status, _) = s
        .post("/api/v1/models/m/versions/1.0.0/artifacts", &admin, huge)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // One tag at a time cannot grow a model past the limit.
    for i in 0..100 {
        let res = s
            .client
            .post(s.url("/api/2.0/mlflow/registered-models/set-tag"))
            .bearer_auth(&admin)
            .json(&json!({"name": "m", "key": format!("k{i}"), "value": "v"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "tag {i}");
    }
    let res = s
        .client
        .post(s.url("/api/2.0/mlflow/registered-models/set-tag"))
        .bearer_auth(&admin)
        .json(&json!({"name": "m", "key": "k100", "value": "v"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert_eq!(s.count("SELECT COUNT(*) FROM model_tags").await, 100);
    // Changing an existing tag is still fine at the limit.
    let res = s
        .client
        .post(s.url("/api/2.0/mlflow/registered-models/set-tag"))
        .bearer_auth(&admin)
        .json(&json!({"name": "m", "key": "k7", "value": "new"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Metric points per version are bounded across requests.
    let fill = match s.state.db.backend() {
        model_registry::server::db::Backend::Postgres => {
            "INSERT INTO version_metric_points (version_id, key, step, value) \
             SELECT v.id, 'loss', g, 0.5 FROM model_versions v, generate_series(1, 999990) g"
        }
        model_registry::server::db::Backend::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999990) \
             INSERT INTO version_metric_points (version_id, key, step, value) \
             SELECT v.id, 'loss', n.i, 0.5 FROM model_versions v, n"
        }
    };
    s.exec(fill).await;
    let points: Vec<Value> = (0..20)
        .map(|i| json!({"step": 2_000_000 + i, "value": 0.1}))
        .collect();
    let (status, body) = s
        .post(
            "/api/v1/models/m/versions/1.0.0/metrics",
            &admin,
            json!({"metric_series": {"loss": points}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "metric_series");
    s.stop().await;
}

async fn admin_race(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    s.create_user("root2", "root2-password-1", "admin").await;
    for round in 0..5 {
        let patch = |who: &'static str, target: &'static str| {
            let s = &s;
            async move {
                let password = if who == "admin" {
                    ADMIN_PASSWORD
                } else {
                    "root2-password-1"
                };
                s.send_json(
                    Method::PATCH,
                    &format!("/api/v1/users/{target}"),
                    Auth::Basic(who, password),
                    json!({"active": false}),
                )
                .await
                .0
            }
        };
        let (a, b) = tokio::join!(patch("admin", "root2"), patch("root2", "admin"));
        let active_admins = s
            .count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1")
            .await;
        assert!(active_admins >= 1, "round {round}: {a} {b}");
        // Exactly one of the two deactivations went through.
        let mut both = [a, b];
        both.sort();
        assert_eq!(both[0], StatusCode::NO_CONTENT, "round {round}: {a} {b}");
        assert!(
            matches!(both[1], StatusCode::CONFLICT | StatusCode::UNAUTHORIZED),
            "round {round}: {a} {b}"
        );
        // Reactivate whoever was deactivated, for the next round.
        s.exec("UPDATE users SET active = 1").await;
    }
    s.stop().await;
}

async fn slow_clients(db: &TestDb) {
    let mut config = db.config();
    config.timeouts.header_read = Duration::from_secs(1);
    config.timeouts.idle = Duration::from_secs(2);
    config.timeouts.min_upload_rate = 64 * 1024;
    config.orphan_age = Duration::from_millis(1);
    let data_dir = config.data_dir.clone();
    let s = TestServer::start(config).await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    // Half a request line, then silence: dropped after the header timeout.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 256];
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "a slow-loris connection must be dropped");
    // An idle keep-alive connection is dropped too.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(6), async {
        let mut buf = [0u8; 1024];
        let mut got = 0;
        loop {
            match idle.read(&mut buf).await {
                Ok(0) | Err(_) => return got > 0,
                Ok(n) => got += n,
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "answered, then closed when idle");
    // A trickling upload is cut off, recorded nowhere and leaves no file.
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    s.post(
        "/api/v1/models/m/versions",
        &admin,
        json!({"version": "1.0.0"}),
    )
    .await;
    let trickle = futures_util::stream::unfold(0u32, |n| async move {
        if n > 40 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x")),
            n + 1,
        ))
    });
    let res = s
        .client
        .put(s.url("/api/v1/models/m/versions/1.0.0/artifacts/slow.bin"))
        .bearer_auth(&admin)
        .body(reqwest::Body::wrap_stream(trickle))
        .send()
        .await;
    if let Ok(res) = res {
        assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM artifacts").await, 0);
    // The temporary file is removed at once, and the sweep finds nothing left.
    let uploads = data_dir.join("artifacts/.uploads");
    let leftovers = || std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0);
    for _ in 0..50 {
        if leftovers() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(leftovers(), 0);
    // A leftover of a crashed server is swept.
    std::fs::write(uploads.join("crashed-upload"), b"partial").unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        s.state
            .store
            .sweep_orphans(Duration::from_millis(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(leftovers(), 0);
    s.stop().await;
}

async fn headers(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    let (status, _) = s
        .post(
            "/api/v1/models",
            &admin,
            json!({"name": "m", "description": "![pixel](https://tracker.example/p.png) ![ok](/favicon.svg)"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let cookie = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    let res = s
        .client
        .get(s.url("/models/m"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let csp = h[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the page's policy")
        .to_owned();
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(h[header::REFERRER_POLICY], "same-origin");
    let html = res.text().await.unwrap();
    // Every inline script carries this response's nonce.
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or("");
        if !tag.contains("src=") {
            assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "<script{tag}>");
        }
    }
    assert!(
        !html.contains("<img src=\"https://tracker.example"),
        "remote image loaded"
    );
    assert!(
        html.contains("https://tracker.example/p.png"),
        "kept as a link"
    );
    // A second page gets a different nonce.
    let again = s
        .client
        .get(s.url("/models/m"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert!(!again.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains(&nonce));
    // JSON answers may load nothing at all.
    let res = s
        .client
        .get(s.url("/api/v1/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    s.stop().await;
}

async fn sliding_sessions(db: &TestDb) {
    let mut config = db.config();
    config.session_idle = Duration::from_secs(4);
    let s = TestServer::start(config).await;
    let cookie = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    let me = |cookie: String| {
        let s = &s;
        async move { s.get_json("/api/v1/me", Auth::Cookie(&cookie)).await.0 }
    };
    // Used every 1.5 s for 7.5 s: longer than the idle timeout, still signed in.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(me(cookie.clone()).await, StatusCode::OK);
    }
    // Left alone for longer than the idle timeout: signed out.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(me(cookie).await, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

async fn incremental_verification(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    for i in 0..30 {
        s.post("/api/v1/models", &admin, json!({"name": format!("m{i}")}))
            .await;
    }
    // Twenty at once: all intact, none starves the pool, one checkpoint.
    let all = (0..20).map(|_| {
        let s = &s;
        let admin = admin.clone();
        async move {
            s.get_json("/api/v1/audit/verify", Auth::Bearer(&admin))
                .await
        }
    });
    for (status, body) in futures_util::future::join_all(all).await {
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["intact"], true, "{body}");
    }
    let checkpoints = || s.count("SELECT COUNT(*) FROM audit_checkpoints");
    assert_eq!(
        checkpoints().await,
        1,
        "later verifications had nothing new to check"
    );
    let total = s.count("SELECT COUNT(*) FROM audit_events").await;
    let head: i64 = sqlx::query_scalar("SELECT last_id FROM audit_checkpoints")
        .fetch_one(s.state.db.pool())
        .await
        .unwrap();
    assert_eq!(head, s.count("SELECT MAX(id) FROM audit_events").await);
    // New events: the next verification checks them and moves the checkpoint.
    s.post("/api/v1/models", &admin, json!({"name": "late"}))
        .await;
    let (_, body) = s
        .get_json("/api/v1/audit/verify", Auth::Bearer(&admin))
        .await;
    assert_eq!(body["events_checked"], total + 1);
    assert_eq!(checkpoints().await, 2);
    // Rewriting the checkpoint's own event is caught without a full pass.
    let postgres = matches!(
        s.state.db.backend(),
        model_registry::server::db::Backend::Postgres
    );
    if postgres {
        s.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
            .await;
    } else {
        s.exec("DROP TRIGGER audit_events_no_update").await;
    }
    let last: i64 = sqlx::query_scalar("SELECT MAX(last_id) FROM audit_checkpoints")
        .fetch_one(s.state.db.pool())
        .await
        .unwrap();
    s.exec(&format!(
        "UPDATE audit_events SET hash = 'forged' WHERE id = {last}"
    ))
    .await;
    let (_, body) = s
        .get_json("/api/v1/audit/verify", Auth::Bearer(&admin))
        .await;
    assert_eq!(body["intact"], false);
    assert_eq!(body["first_broken_id"], last);
    // The full re-verification runs in the background and reports progress.
    let (status, job) = s.post("/api/v1/audit/verify/full", &admin, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let mut state = job["state"].clone();
    for _ in 0..100 {
        if state != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, j) = s
            .get_json(
                &format!("/api/v1/audit/verify/jobs/{}", job["id"]),
                Auth::Bearer(&admin),
            )
            .await;
        state = j["state"].clone();
    }
    assert_eq!(state, "broken");
    let viewer_status = s
        .get_json("/api/v1/audit/verify/jobs/1", Auth::None)
        .await
        .0;
    assert_eq!(viewer_status, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

async fn huge_search(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    // More versions than Postgres allows bind parameters in one statement.
    model_registry::server::seed::seed(
        &s.state.db,
        model_registry::server::seed::SeedSize {
            models: 7_000,
            versions_per_model: 10,
        },
        |_| {},
    )
    .await
    .unwrap();
    let versions = s.count("SELECT COUNT(*) FROM model_versions").await;
    assert!(versions > 65_535, "{versions}");
    let res = s
        .client
        .get(s.url("/api/2.0/mlflow/model-versions/search?max_results=200000"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["model_versions"].as_array().unwrap().len() as i64,
        versions
    );
    // Past MLflow's own ceiling: refused, naming the parameter.
    let res = s
        .client
        .get(s.url("/api/2.0/mlflow/model-versions/search?max_results=200001"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    s.stop().await;
}
