//! The foundation, end to end over HTTP against a real server, on SQLite and
//! on Postgres: sign-in, sessions, roles, tokens, CSRF, audit, bad input.

mod common;

use common::{session_cookie, Auth, TestDb, TestServer, ADMIN_PASSWORD};
use reqwest::{header, Method, StatusCode};
use serde_json::json;

on_both_databases! {
    sign_in_creates_a_session_and_wrong_passwords_do_not => sign_in_and_out;
    viewers_are_forbidden_from_admin_functions_and_routes => viewer_forbidden;
    tokens_work_until_revoked_or_expired => token_lifecycle;
    deactivation_ends_sessions_and_tokens_at_once => deactivation;
    sessions_survive_a_restart => restart;
    each_state_change_writes_exactly_one_audit_event => audit_per_change;
    bad_input_gets_a_clear_4xx_and_writes_nothing => bad_input;
    cross_site_posts_are_refused => csrf;
    failed_sign_ins_are_rate_limited => rate_limit;
    the_audit_trail_is_append_only_in_the_database => audit_append_only;
}

async fn sign_in_and_out(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    assert_eq!(
        s.client
            .get(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        s.client
            .get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let (status, _) = s.get_json("/api/v1/me", Auth::None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Wrong password: refused with the generic message, no session row, no cookie.
    let res = s
        .server_fn(
            "login",
            None,
            &[("username", "admin"), ("password", "wrong-password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&res).is_none());
    let err: model_registry::error::AppError = res.json().await.unwrap();
    assert_eq!(err.to_string(), "invalid username or password");
    assert_eq!(s.count("SELECT COUNT(*) FROM sessions").await, 0);
    // Unknown user: the same answer.
    let res = s
        .server_fn(
            "login",
            None,
            &[("username", "nobody"), ("password", "whatever-123")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let cookie = s
        .sign_in("admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    assert_eq!(s.count("SELECT COUNT(*) FROM sessions").await, 1);
    let (status, me) = s.get_json("/api/v1/me", Auth::Cookie(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!({ "username": "admin", "role": "admin" }));

    // The server-rendered pages know the user.
    let page = s
        .client
        .get(s.url("/account"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("API tokens"), "{html}");
    // Anonymous visitors are sent to sign in.
    let page = s
        .client
        .get(s.url("/account"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.status().is_redirection(), "{}", page.status());
    assert!(page.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login"));

    // Sign-out deletes the session: the old cookie no longer works.
    let res = s.server_fn("logout", Some(&cookie), &[]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(s.count("SELECT COUNT(*) FROM sessions").await, 0);
    let (status, _) = s.get_json("/api/v1/me", Auth::Cookie(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

async fn viewer_forbidden(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    s.create_user("vera", "viewer-password-1", "viewer").await;
    let cookie = s.sign_in("vera", "viewer-password-1").await.unwrap();
    let users_before = s.count("SELECT COUNT(*) FROM users").await;

    for (name, form) in [
        (
            "admin/create_user",
            vec![
                ("username", "mallory"),
                ("password", "mallory-password"),
                ("role", "admin"),
            ],
        ),
        (
            "admin/set_role",
            vec![("username", "vera"), ("role", "admin")],
        ),
        (
            "admin/reset_password",
            vec![("username", "admin"), ("new_password", "hijacked-password")],
        ),
        (
            "admin/set_active",
            vec![("username", "admin"), ("active", "false")],
        ),
        ("admin/list_users", vec![]),
        ("audit/list", vec![]),
    ] {
        let res = s.server_fn(name, Some(&cookie), &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}");
    }
    for auth in [
        Auth::Cookie(&cookie),
        Auth::Basic("vera", "viewer-password-1"),
    ] {
        let (status, body) = s.get_json("/api/v1/users", auth).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "forbidden");
        let (status, _) = s
            .send_json(
                Method::POST,
                "/api/v1/users",
                auth,
                json!({"username": "m", "password": "mallory-password", "role": "admin"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = s
            .send_json(
                Method::PATCH,
                "/api/v1/users/vera",
                auth,
                json!({"role": "admin"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM users").await, users_before);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .await,
        1
    );
    // The admin page renders a 403 for the viewer.
    let page = s
        .client
        .get(s.url("/admin/users"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}

async fn token_lifecycle(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    s.create_user("carl", "contrib-password", "contributor")
        .await;
    let cookie = s.sign_in("carl", "contrib-password").await.unwrap();
    let res = s
        .server_fn(
            "create_token",
            Some(&cookie),
            &[("name", "ci"), ("expires_in_days", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let created: serde_json::Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["token"]["id"].as_i64().unwrap();
    // Only a hash is stored.
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{secret}'"
        ))
        .await,
        0
    );

    let (status, me) = s.get_json("/api/v1/me", Auth::Bearer(&secret)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "carl");
    // Last use is recorded to the minute, not written on every request.
    let pool = s.state.db.pool().clone();
    let last_used = || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT last_used_at FROM api_tokens WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let first = last_used().await.expect("the first use is recorded");
    let set_last_used = |at: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    let recent = first - 30_000;
    set_last_used(recent).await;
    s.get_json("/api/v1/me", Auth::Bearer(&secret)).await;
    assert_eq!(
        last_used().await,
        Some(recent),
        "a use within the minute writes nothing"
    );
    let stale = first - 61_000;
    set_last_used(stale).await;
    s.get_json("/api/v1/me", Auth::Bearer(&secret)).await;
    assert!(
        last_used().await.unwrap() >= first,
        "a use a minute later is recorded"
    );
    // The account page shows it.
    let page = s
        .client
        .get(s.url("/account"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        page.matches("never</td>").count(),
        1,
        "only the expiry says never; the last use is shown"
    );
    // A token cannot mint more tokens.
    let (status, _) = s
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&secret),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // MLflow style: the token as the Basic password.
    let (status, _) = s.get_json("/api/v1/me", Auth::Basic("carl", &secret)).await;
    assert_eq!(status, StatusCode::OK);

    // Another user cannot revoke it.
    s.create_user("dora", "dora-password-1", "viewer").await;
    let res = s
        .client
        .delete(s.url(&format!("/api/v1/tokens/{id}")))
        .basic_auth("dora", Some("dora-password-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let res = s
        .server_fn("revoke_token", Some(&cookie), &[("id", &id.to_string())])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, body) = s.get_json("/api/v1/me", Auth::Bearer(&secret)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");

    // An expired token is refused too.
    let (status, created) = s
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            Auth::Basic("carl", "contrib-password"),
            json!({"name": "short", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(
        s.get_json("/api/v1/me", Auth::Bearer(secret)).await.0,
        StatusCode::OK
    );
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE id = $1")
        .bind(created["token"]["id"].as_i64().unwrap())
        .execute(s.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        s.get_json("/api/v1/me", Auth::Bearer(secret)).await.0,
        StatusCode::UNAUTHORIZED
    );
    s.stop().await;
}

async fn deactivation(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    s.create_user("erin", "erin-password-1", "approver").await;
    let cookie = s.sign_in("erin", "erin-password-1").await.unwrap();
    let (_, created) = s
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            Auth::Cookie(&cookie),
            json!({"name": "t"}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        s.get_json("/api/v1/me", Auth::Cookie(&cookie)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.get_json("/api/v1/me", Auth::Bearer(&secret)).await.0,
        StatusCode::OK
    );

    let admin = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    let res = s
        .server_fn(
            "admin/set_active",
            Some(&admin),
            &[("username", "erin"), ("active", "false")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(
        s.get_json("/api/v1/me", Auth::Cookie(&cookie)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get_json("/api/v1/me", Auth::Bearer(&secret)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get_json("/api/v1/me", Auth::Basic("erin", "erin-password-1"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert!(s.sign_in("erin", "erin-password-1").await.is_err());

    // The last admin cannot be deactivated or demoted.
    let res = s
        .server_fn(
            "admin/set_active",
            Some(&admin),
            &[("username", "admin"), ("active", "false")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = s
        .server_fn(
            "admin/set_role",
            Some(&admin),
            &[("username", "admin"), ("role", "viewer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    s.stop().await;
}

async fn restart(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let cookie = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    s.stop().await;
    let s = TestServer::start(db.config()).await;
    let (status, me) = s.get_json("/api/v1/me", Auth::Cookie(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "admin");
    s.stop().await;
}

/// Runs `change` and asserts it appended exactly one event, `action` by `actor`.
async fn expect_one_event<F: std::future::Future<Output = ()>>(
    s: &TestServer,
    action: &str,
    actor: Option<&str>,
    change: F,
) {
    let before = s.count("SELECT COUNT(*) FROM audit_events").await;
    change.await;
    let after = s.count("SELECT COUNT(*) FROM audit_events").await;
    assert_eq!(
        after - before,
        1,
        "{action} wrote {} events",
        after - before
    );
    let (got_action, got_actor): (String, Option<String>) =
        sqlx::query_as("SELECT action, actor_username FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_one(s.state.db.pool())
            .await
            .unwrap();
    assert_eq!(got_action, action);
    assert_eq!(got_actor.as_deref(), actor, "{action}");
}

async fn audit_per_change(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let ok = |status: StatusCode| assert!(status.is_success(), "{status}");
    let admin = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    let a = Some(admin.as_str());

    expect_one_event(&s, "user.create", Some("admin"), async {
        ok(s.server_fn(
            "admin/create_user",
            a,
            &[
                ("username", "fay"),
                ("password", "fay-password-1"),
                ("role", "viewer"),
            ],
        )
        .await
        .status())
    })
    .await;
    expect_one_event(&s, "user.role_change", Some("admin"), async {
        ok(s.server_fn(
            "admin/set_role",
            a,
            &[("username", "fay"), ("role", "contributor")],
        )
        .await
        .status())
    })
    .await;
    expect_one_event(&s, "user.password_reset", Some("admin"), async {
        ok(s.server_fn(
            "admin/reset_password",
            a,
            &[("username", "fay"), ("new_password", "fay-password-2")],
        )
        .await
        .status())
    })
    .await;
    expect_one_event(&s, "user.deactivate", Some("admin"), async {
        ok(s.server_fn(
            "admin/set_active",
            a,
            &[("username", "fay"), ("active", "false")],
        )
        .await
        .status())
    })
    .await;
    expect_one_event(&s, "user.reactivate", Some("admin"), async {
        ok(s.server_fn(
            "admin/set_active",
            a,
            &[("username", "fay"), ("active", "true")],
        )
        .await
        .status())
    })
    .await;
    expect_one_event(&s, "auth.sign_in_failed", None, async {
        assert!(s.sign_in("fay", "not-her-password").await.is_err());
    })
    .await;
    let mut fay = String::new();
    expect_one_event(&s, "auth.sign_in", Some("fay"), async {
        fay = s.sign_in("fay", "fay-password-2").await.unwrap();
    })
    .await;
    let f = Some(fay.as_str());
    expect_one_event(&s, "user.password_change", Some("fay"), async {
        ok(s.server_fn(
            "change_password",
            f,
            &[
                ("current_password", "fay-password-2"),
                ("new_password", "fay-password-3"),
                ("confirm_password", "fay-password-3"),
            ],
        )
        .await
        .status())
    })
    .await;
    let mut token_id = String::new();
    expect_one_event(&s, "token.create", Some("fay"), async {
        let res = s.server_fn("create_token", f, &[("name", "deploy")]).await;
        ok(res.status());
        let body: serde_json::Value = res.json().await.unwrap();
        token_id = body["token"]["id"].to_string();
    })
    .await;
    expect_one_event(&s, "token.revoke", Some("fay"), async {
        ok(s.server_fn("revoke_token", f, &[("id", &token_id)])
            .await
            .status())
    })
    .await;
    expect_one_event(&s, "auth.sign_out", Some("fay"), async {
        let status = s.server_fn("logout", f, &[]).await.status();
        assert!(status.is_success() || status.is_redirection());
    })
    .await;

    // Refused changes write nothing.
    let before = s.count("SELECT COUNT(*) FROM audit_events").await;
    let res = s
        .server_fn(
            "admin/create_user",
            a,
            &[
                ("username", "fay"),
                ("password", "dupe-password"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(s.count("SELECT COUNT(*) FROM audit_events").await, before);

    // The admin sees the trail; the chain verifies.
    let res = s
        .server_fn("audit/list", a, &[("query[action]", "user.")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: serde_json::Value = res.json().await.unwrap();
    assert!(page["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"].as_str().unwrap().starts_with("user.")));
    let report = model_registry::server::repo::audit::verify_chain(s.state.db.pool())
        .await
        .unwrap();
    assert_eq!(report.first_broken_id, None);
    assert!(report.checked >= 12);
    s.stop().await;
}

async fn bad_input(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    let a = Some(admin.as_str());
    let users = s.count("SELECT COUNT(*) FROM users").await;
    let events = s.count("SELECT COUNT(*) FROM audit_events").await;

    let long = "x".repeat(10_000);
    for (username, password) in [
        ("", "x"),
        ("admin", ""),
        (long.as_str(), "password"),
        ("admin", long.as_str()),
        ("ad\0min", "p"),
    ] {
        let res = s
            .server_fn(
                "login",
                None,
                &[("username", username), ("password", password)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Invalid fields are named.
    for (form, field) in [
        (
            vec![
                ("username", ""),
                ("password", "long-enough-pw"),
                ("role", "viewer"),
            ],
            "username",
        ),
        (
            vec![
                ("username", "Bad Name"),
                ("password", "long-enough-pw"),
                ("role", "viewer"),
            ],
            "username",
        ),
        (
            vec![
                ("username", "ok"),
                ("password", "short"),
                ("role", "viewer"),
            ],
            "password",
        ),
        (
            vec![
                ("username", "ok"),
                ("password", "long-enough-pw"),
                ("role", "root"),
            ],
            "role",
        ),
    ] {
        let res = s.server_fn("admin/create_user", a, &form).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body = res.text().await.unwrap();
        assert!(body.contains(field), "{body}");
    }
    let (status, body) = s
        .send_json(
            Method::POST,
            "/api/v1/users",
            Auth::Cookie(&admin),
            json!({"username": "x", "password": "long-enough-pw", "role": "wizard"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "role");
    let (status, _) = s
        .send_json(
            Method::POST,
            "/api/v1/users",
            Auth::Cookie(&admin),
            json!({"username": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A missing server-function argument is a 400, not a panic.
    let res = s
        .server_fn("admin/create_user", a, &[("username", "only")])
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());

    // Malformed credentials are 401s.
    for value in [
        "Bearer",
        "Bearer nope",
        "Basic !!!",
        "Basic",
        "Digest abc",
        "Bearer mrt_zz",
    ] {
        let res = s
            .client
            .get(s.url("/api/v1/me"))
            .header(header::AUTHORIZATION, value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{value}");
    }
    for cookie in [
        "registry_session=",
        "registry_session=%%%garbage",
        "registry_session=AAAAAAAAAAAAAAAAAAAAAA",
        "registry_session",
    ] {
        let res = s
            .client
            .get(s.url("/api/v1/me"))
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{cookie}");
    }
    // Unknown routes and oversized bodies.
    let (status, body) = s.get_json("/api/v1/nope", Auth::Cookie(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let res = s.client.get(s.url("/no/such/page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let huge = "y".repeat(3 * 1024 * 1024);
    let (status, _) = s
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            Auth::Cookie(&admin),
            json!({"name": huge}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let res = s.server_fn("create_token", a, &[("name", &huge)]).await;
    assert!(res.status().is_client_error(), "{}", res.status());

    assert_eq!(s.count("SELECT COUNT(*) FROM users").await, users);
    assert_eq!(s.count("SELECT COUNT(*) FROM api_tokens").await, 0);
    // Only the failed sign-ins were recorded.
    let new_events = s.count("SELECT COUNT(*) FROM audit_events").await - events;
    assert_eq!(
        new_events,
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.sign_in_failed'")
            .await
    );
    s.stop().await;
}

async fn csrf(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    for origin in [Some("http://evil.example"), None] {
        let mut req = s
            .client
            .post(s.url("/fn/admin/create_user"))
            .header(header::COOKIE, &admin)
            .form(&[
                ("username", "csrf"),
                ("password", "csrf-password-1"),
                ("role", "admin"),
            ]);
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        assert_eq!(
            req.send().await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{origin:?}"
        );
    }
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE username = 'csrf'")
            .await,
        0
    );
    s.stop().await;
}

async fn rate_limit(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    s.create_user("gus", "gus-password-1", "viewer").await;
    for _ in 0..5 {
        assert_eq!(
            s.sign_in("gus", "wrong-password").await.unwrap_err(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked now, even with the right password.
    assert_eq!(
        s.sign_in("gus", "gus-password-1").await.unwrap_err(),
        StatusCode::TOO_MANY_REQUESTS
    );
    s.stop().await;
}

async fn audit_append_only(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    assert!(s.count("SELECT COUNT(*) FROM audit_events").await >= 1);
    let pool = s.state.db.pool();
    assert!(sqlx::query("UPDATE audit_events SET action = 'x'")
        .execute(pool)
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM audit_events")
        .execute(pool)
        .await
        .is_err());
    assert!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'user.bootstrap'")
            .await
            == 1
    );
    s.stop().await;
}

/// The SQLite the server links is built as `.cargo/config.toml` says:
/// without SQLITE_ENABLE_MEMORY_MANAGEMENT (which puts every connection's
/// page cache behind one global mutex) and without memory statistics
/// (another global mutex per allocation). Building without that file
/// brings the contention back; this says so.
#[tokio::test]
async fn sqlite_is_built_without_its_global_locks() {
    let db = TestDb::new(common::Backend::Sqlite).await;
    let s = TestServer::start(db.config()).await;
    let used = |option: &'static str| {
        let pool = s.state.db.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT sqlite_compileoption_used($1)")
                .bind(option)
                .fetch_one(&pool)
                .await
                .expect("compile option")
        }
    };
    assert_eq!(used("ENABLE_MEMORY_MANAGEMENT").await, 0);
    assert_eq!(used("DEFAULT_MEMSTATUS=0").await, 1);
    assert_eq!(
        used("ENABLE_FTS5").await,
        1,
        "the rest of the build is kept"
    );
    s.stop().await;
}
