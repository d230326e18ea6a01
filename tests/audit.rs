//! The audit trail, point-in-time answers and compliance reports over HTTP,
//! on SQLite and Postgres: one event per change, tamper detection (API and
//! CLI), stages at every instant of a promotion story, reports and exports.

mod common;

use common::{Auth, TestDb, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_databases! {
    every_listed_action_writes_exactly_one_event => one_event_per_action;
    a_changed_or_deleted_row_is_found_at_its_position => tamper_detection;
    stages_at_every_instant_of_promotions_and_rollbacks => point_in_time;
    a_report_names_approvers_and_checksums => report;
    the_activity_export_streams_every_event => export;
}

struct Users {
    admin: String,
    carol: String,
    alice: String,
    bob: String,
    audrey: String,
    vic: String,
}

async fn users(s: &TestServer) -> Users {
    for (name, password, role) in [
        ("carol", "contributor-pass-1", "contributor"),
        ("alice", "approver-pass-1", "approver"),
        ("bob", "approver-pass-2", "approver"),
        ("audrey", "auditor-pass-1", "auditor"),
        ("vic", "viewer-pass-1", "viewer"),
    ] {
        s.create_user(name, password, role).await;
    }
    Users {
        admin: s.admin_token().await,
        carol: s.token_for("carol", "contributor-pass-1").await,
        alice: s.token_for("alice", "approver-pass-1").await,
        bob: s.token_for("bob", "approver-pass-2").await,
        audrey: s.token_for("audrey", "auditor-pass-1").await,
        vic: s.token_for("vic", "viewer-pass-1").await,
    }
}

async fn call(
    s: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    s.send_json(method, path, Auth::Bearer(token), body).await
}

async fn put_bytes(s: &TestServer, path: &str, token: &str, bytes: &'static [u8]) -> StatusCode {
    s.client
        .put(s.url(path))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
}

#[derive(Debug, sqlx::FromRow)]
struct Event {
    action: String,
    actor_username: Option<String>,
    actor_token_id: Option<i64>,
    target_type: String,
    target_id: String,
    client_addr: Option<String>,
    request_id: Option<String>,
}

async fn events_after(s: &TestServer, id: i64) -> Vec<Event> {
    sqlx::query_as(
        "SELECT action, actor_username, actor_token_id, target_type, target_id, client_addr, request_id \
         FROM audit_events WHERE id > $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(s.state.db.pool())
    .await
    .unwrap()
}

async fn last_id(s: &TestServer) -> i64 {
    s.count("SELECT COALESCE(MAX(id), 0) FROM audit_events")
        .await
}

/// One row of the table: a call, then the events it must write, in order.
struct Case {
    method: Method,
    path: &'static str,
    who: &'static str,
    body: Option<Value>,
    bytes: Option<&'static [u8]>,
    events: &'static [(&'static str, &'static str, &'static str)],
}

fn case(
    method: Method,
    path: &'static str,
    who: &'static str,
    body: Value,
    events: &'static [(&'static str, &'static str, &'static str)],
) -> Case {
    Case {
        method,
        path,
        who,
        body: Some(body),
        bytes: None,
        events,
    }
}

async fn one_event_per_action(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let u = users(&s).await;
    const M: &str = "/api/v1/models/credit-scoring";
    let cases = vec![
        case(
            Method::POST,
            "/api/v1/models",
            "admin",
            json!({"name": "credit-scoring"}),
            &[("model.create", "model", "credit-scoring")],
        ),
        case(
            Method::PATCH,
            M,
            "carol",
            json!({"description": "Scores loan applications."}),
            &[("model.update", "model", "credit-scoring")],
        ),
        case(
            Method::POST,
            "/api/v1/models/credit-scoring/versions",
            "carol",
            json!({"version": "1.0.0"}),
            &[("version.register", "version", "credit-scoring@1.0.0")],
        ),
        case(
            Method::PATCH,
            "/api/v1/models/credit-scoring/versions/1.0.0",
            "carol",
            json!({"description": "first"}),
            &[("version.update", "version", "credit-scoring@1.0.0")],
        ),
        Case {
            method: Method::PUT,
            path: "/api/v1/models/credit-scoring/versions/1.0.0/artifacts/model.bin",
            who: "carol",
            body: None,
            bytes: Some(b"weights"),
            events: &[(
                "artifact.upload",
                "artifact",
                "credit-scoring@1.0.0/model.bin",
            )],
        },
        case(
            Method::DELETE,
            "/api/v1/models/credit-scoring/versions/1.0.0/artifacts/model.bin",
            "admin",
            json!({}),
            &[(
                "artifact.delete",
                "artifact",
                "credit-scoring@1.0.0/model.bin",
            )],
        ),
        case(
            Method::POST,
            "/api/v1/models/credit-scoring/versions/1.0.0/requests",
            "carol",
            json!({"to": "staging", "justification": "holdout AUC 0.91"}),
            &[("transition.request", "version", "credit-scoring@1.0.0")],
        ),
        // The last required sign-off applies the change: two events, one transaction.
        case(
            Method::POST,
            "/api/v1/models/credit-scoring/requests/1/approve",
            "alice",
            json!({"comment": "ok"}),
            &[
                ("transition.approve", "version", "credit-scoring@1.0.0"),
                ("stage.change", "version", "credit-scoring@1.0.0"),
            ],
        ),
        case(
            Method::POST,
            "/api/v1/models/credit-scoring/versions/1.0.0/requests",
            "carol",
            json!({"to": "production", "justification": "ship it"}),
            &[("transition.request", "version", "credit-scoring@1.0.0")],
        ),
        case(
            Method::POST,
            "/api/v1/models/credit-scoring/requests/2/approve",
            "alice",
            json!({}),
            &[("transition.approve", "version", "credit-scoring@1.0.0")],
        ),
        case(
            Method::POST,
            "/api/v1/models/credit-scoring/requests/2/reject",
            "bob",
            json!({"comment": "drift"}),
            &[("transition.reject", "version", "credit-scoring@1.0.0")],
        ),
        case(
            Method::POST,
            "/api/v1/models/credit-scoring/versions/1.0.0/requests",
            "carol",
            json!({"to": "production", "justification": "again"}),
            &[("transition.request", "version", "credit-scoring@1.0.0")],
        ),
        case(
            Method::POST,
            "/api/v1/models/credit-scoring/requests/3/cancel",
            "admin",
            json!({"reason": "wrong week"}),
            &[("transition.cancel", "version", "credit-scoring@1.0.0")],
        ),
        case(
            Method::PUT,
            "/api/v1/models/credit-scoring/aliases/canary",
            "carol",
            json!({"version": "1.0.0"}),
            &[("alias.set", "model", "credit-scoring")],
        ),
        case(
            Method::DELETE,
            "/api/v1/models/credit-scoring/aliases/canary",
            "carol",
            json!({}),
            &[("alias.delete", "model", "credit-scoring")],
        ),
        case(
            Method::PUT,
            "/api/v1/policy",
            "admin",
            json!({"staging": 1, "production": 2, "archived": 0, "experimental": 0,
                   "archive_previous_production": true, "request_ttl_hours": 72}),
            &[("policy.update", "policy", "registry")],
        ),
        case(
            Method::POST,
            "/api/v1/webhooks",
            "admin",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["version.registered"]}),
            &[("webhook.create", "webhook", "1")],
        ),
        case(
            Method::PATCH,
            "/api/v1/webhooks/1",
            "admin",
            json!({"active": false}),
            &[("webhook.update", "webhook", "1")],
        ),
        case(
            Method::DELETE,
            "/api/v1/webhooks/1",
            "admin",
            json!({}),
            &[("webhook.delete", "webhook", "1")],
        ),
        case(
            Method::PATCH,
            M,
            "admin",
            json!({"name": "credit-scorer"}),
            &[("model.rename", "model", "credit-scorer")],
        ),
        case(
            Method::DELETE,
            "/api/v1/models/credit-scorer/versions/1.0.0",
            "admin",
            json!({}),
            &[("version.delete", "version", "credit-scorer@1.0.0")],
        ),
    ];
    for c in cases {
        let token = match c.who {
            "admin" => &u.admin,
            "carol" => &u.carol,
            "alice" => &u.alice,
            "bob" => &u.bob,
            other => panic!("no token for {other}"),
        };
        let before = last_id(&s).await;
        let status = match (c.body, c.bytes) {
            (_, Some(bytes)) => put_bytes(&s, c.path, token, bytes).await,
            (Some(body), None) => {
                let (status, body) = call(&s, c.method.clone(), c.path, token, body).await;
                assert!(
                    status.is_success(),
                    "{} {}: {status} {body}",
                    c.method,
                    c.path
                );
                status
            }
            (None, None) => unreachable!(),
        };
        assert!(status.is_success(), "{} {}: {status}", c.method, c.path);
        let got = events_after(&s, before).await;
        let actions: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|e| {
                (
                    e.action.as_str(),
                    e.target_type.as_str(),
                    e.target_id.as_str(),
                )
            })
            .collect();
        assert_eq!(actions, c.events, "{} {}", c.method, c.path);
        for e in &got {
            assert_eq!(e.actor_username.as_deref(), Some(c.who), "{e:?}");
            assert!(e.actor_token_id.is_some(), "a token was used: {e:?}");
            assert_eq!(e.client_addr.as_deref(), Some("127.0.0.1"), "{e:?}");
            assert!(
                e.request_id.as_deref().is_some_and(|r| !r.is_empty()),
                "{e:?}"
            );
        }
    }
    // Refused calls write nothing.
    let before = last_id(&s).await;
    let (status, _) = call(
        &s,
        Method::POST,
        "/api/v1/models",
        &u.vic,
        json!({"name": "nope"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &s,
        Method::POST,
        "/api/v1/models/credit-scorer/requests/9/approve",
        &u.alice,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(last_id(&s).await, before);
    // The auditor filters the trail by model and action over the API.
    let (status, page) = s
        .get_json(
            "/api/v1/audit?model=credit-scoring&action=transition.",
            Auth::Bearer(&u.audrey),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 7, "{page}");
    assert!(events
        .iter()
        .all(|e| e["action"].as_str().unwrap().starts_with("transition.")));
    s.stop().await;
}

/// A full verification (from genesis): what catches an edit behind the
/// newest checkpoint.
async fn verify(s: &TestServer, token: &str) -> Value {
    let (status, body) = s
        .get_json("/api/v1/audit/verify?full=true", Auth::Bearer(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn cli_verify(db: &TestDb) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_model-registry"))
        .arg("verify-audit")
        .env("DATABASE_URL", &db.url)
        .env("REGISTRY_DATA_DIR", db.data_dir.path())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn tamper_detection(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let u = users(&s).await;
    for n in 0..6 {
        let (status, _) = call(
            &s,
            Method::POST,
            "/api/v1/models",
            &u.admin,
            json!({"name": format!("m{n}")}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let intact = verify(&s, &u.audrey).await;
    assert_eq!(intact["intact"], true, "{intact}");
    let total = intact["events_checked"].as_i64().unwrap();
    assert_eq!(total, s.count("SELECT COUNT(*) FROM audit_events").await);
    let (ok, text) = cli_verify(db);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("{total} events verified")), "{text}");

    // Only a database owner who first removes the guard can change a row.
    let postgres = matches!(
        s.state.db.backend(),
        model_registry::server::db::Backend::Postgres
    );
    if postgres {
        s.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
            .await;
    } else {
        s.exec("DROP TRIGGER audit_events_no_update").await;
        s.exec("DROP TRIGGER audit_events_no_delete").await;
    }
    let target = total - 3;
    let original: String = sqlx::query_scalar("SELECT details FROM audit_events WHERE id = $1")
        .bind(target)
        .fetch_one(s.state.db.pool())
        .await
        .unwrap();
    s.exec(&format!(
        "UPDATE audit_events SET details = '{{\"team\":\"forged\"}}' WHERE id = {target}"
    ))
    .await;
    let broken = verify(&s, &u.audrey).await;
    assert_eq!(broken["intact"], false);
    assert_eq!(broken["first_broken_id"], target, "{broken}");
    assert_eq!(broken["events_checked"], target - 1);
    let (ok, text) = cli_verify(db);
    assert!(!ok);
    assert!(
        text.contains(&format!("broken at event {target}")),
        "{text}"
    );

    // Put it back: intact again. Then delete a row: its successor breaks.
    sqlx::query("UPDATE audit_events SET details = $1 WHERE id = $2")
        .bind(&original)
        .bind(target)
        .execute(s.state.db.pool())
        .await
        .unwrap();
    assert_eq!(verify(&s, &u.audrey).await["intact"], true);
    s.exec(&format!(
        "DELETE FROM audit_events WHERE id = {}",
        total - 1
    ))
    .await;
    let broken = verify(&s, &u.audrey).await;
    assert_eq!(broken["first_broken_id"], total, "{broken}");

    // Verification is for auditors and admins only.
    let (status, _) = s
        .get_json("/api/v1/audit/verify", Auth::Bearer(&u.vic))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .get_json("/api/v1/audit/verify", Auth::Bearer(&u.carol))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.stop().await;
}

async fn stages(s: &TestServer, token: &str, at: i64) -> Vec<(String, String)> {
    let (status, body) = s
        .get_json(
            &format!("/api/v1/models/credit-scoring/stages?at={at}"),
            Auth::Bearer(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut out = Vec::new();
    for (stage, versions) in body["stages"].as_object().unwrap() {
        for v in versions.as_array().unwrap() {
            out.push((v["version"].as_str().unwrap().to_owned(), stage.clone()));
        }
    }
    out.sort();
    out
}

async fn point_in_time(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let u = users(&s).await;
    // No sign-off needed here: this test is about time, not approval.
    let policy = json!({"staging": 0, "production": 0, "archived": 0, "experimental": 0,
        "archive_previous_production": true, "request_ttl_hours": 24});
    assert!(call(&s, Method::PUT, "/api/v1/policy", &u.admin, policy)
        .await
        .0
        .is_success());
    assert_eq!(
        call(
            &s,
            Method::POST,
            "/api/v1/models",
            &u.admin,
            json!({"name": "credit-scoring"})
        )
        .await
        .0,
        StatusCode::CREATED
    );
    for v in ["1.0.0", "1.1.0"] {
        let (status, body) = call(
            &s,
            Method::POST,
            "/api/v1/models/credit-scoring/versions",
            &u.carol,
            json!({"version": v}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let created: Vec<(String, i64)> =
        sqlx::query_as("SELECT version, created_at FROM model_versions ORDER BY id")
            .fetch_all(s.state.db.pool())
            .await
            .unwrap();
    // Promotions, then a rollback to 1.0.0 (which archives 1.1.0 in the same instant).
    for (version, to) in [
        ("1.0.0", "staging"),
        ("1.0.0", "production"),
        ("1.1.0", "staging"),
        ("1.1.0", "production"),
        ("1.0.0", "staging"),
        ("1.0.0", "production"),
    ] {
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let (status, body) = call(
            &s,
            Method::POST,
            &format!("/api/v1/models/credit-scoring/versions/{version}/requests"),
            &u.carol,
            json!({"to": to, "justification": "timeline"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["state"], "approved", "{body}");
    }
    let changes: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT v.version, h.to_stage, h.changed_at FROM stage_history h \
         JOIN model_versions v ON v.id = h.version_id ORDER BY h.id",
    )
    .fetch_all(s.state.db.pool())
    .await
    .unwrap();
    assert_eq!(changes.len(), 8, "{changes:?}");
    // The reference answer: replay the changes up to the instant.
    let expected = |at: i64| {
        let mut stage = std::collections::BTreeMap::new();
        for (version, when) in &created {
            if *when <= at {
                stage.insert(version.clone(), "experimental".to_owned());
            }
        }
        for (version, to, when) in &changes {
            if *when <= at {
                stage.insert(version.clone(), to.clone());
            }
        }
        let mut out: Vec<(String, String)> = stage.into_iter().collect();
        out.sort();
        out
    };
    let mut instants: Vec<i64> = created.iter().flat_map(|(_, at)| [at - 1, *at]).collect();
    for (_, _, at) in &changes {
        instants.extend([at - 1, *at, at + 1]);
    }
    for at in instants {
        let got = stages(&s, &u.vic, at).await;
        assert_eq!(got, expected(at), "at {at}");
        assert!(got.iter().filter(|(_, st)| st == "production").count() <= 1);
    }
    // At the rollback instant, 1.0.0 is back and 1.1.0 archived.
    let rollback = changes.last().unwrap().2;
    assert_eq!(
        stages(&s, &u.vic, rollback).await,
        vec![
            ("1.0.0".into(), "production".into()),
            ("1.1.0".into(), "archived".into())
        ]
    );
    // Dates in other forms, and bad input.
    let (status, body) = s
        .get_json(
            "/api/v1/models/credit-scoring/stages?at=2000-01-01",
            Auth::Bearer(&u.vic),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["stages"]["production"].as_array().unwrap().is_empty());
    for bad in ["at=yesterday", "at=2026-02-30", "when=now"] {
        let (status, body) = s
            .get_json(
                &format!("/api/v1/models/credit-scoring/stages?{bad}"),
                Auth::Bearer(&u.vic),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = s
        .get_json("/api/v1/models/nope/stages", Auth::Bearer(&u.vic))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.stop().await;
}

async fn report(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let u = users(&s).await;
    assert_eq!(
        call(
            &s,
            Method::POST,
            "/api/v1/models",
            &u.admin,
            json!({"name": "credit-scoring", "team": "risk"})
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let lineage = json!({"commit_sha": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
        "training_script": "train.py", "dataset": {"name": "applications", "version": "2026-03", "hash": "sha256:abc"}});
    for v in ["1.0.0", "1.1.0"] {
        let (status, body) = call(&s, Method::POST, "/api/v1/models/credit-scoring/versions", &u.carol,
            json!({"version": v, "lineage": lineage, "params": {"lr": 0.01}, "metrics": {"auc": 0.9}})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let status = put_bytes(
        &s,
        "/api/v1/models/credit-scoring/versions/1.0.0/artifacts/model.onnx",
        &u.carol,
        b"onnx-bytes",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Staging needs one sign-off, Production two.
    for (to, approvers) in [
        ("staging", vec![&u.alice]),
        ("production", vec![&u.alice, &u.bob]),
    ] {
        let (status, req) = call(
            &s,
            Method::POST,
            "/api/v1/models/credit-scoring/versions/1.0.0/requests",
            &u.carol,
            json!({"to": to, "justification": format!("evidence for {to}")}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{req}");
        for (i, token) in approvers.into_iter().enumerate() {
            let (status, body) = call(
                &s,
                Method::POST,
                &format!(
                    "/api/v1/models/credit-scoring/requests/{}/approve",
                    req["id"]
                ),
                token,
                json!({"comment": format!("looked at it ({i})")}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    let (_, artifacts) = s
        .get_json(
            "/api/v1/models/credit-scoring/versions/1.0.0/artifacts",
            Auth::Bearer(&u.vic),
        )
        .await;
    let sha = artifacts[0]["sha256"].as_str().unwrap().to_owned();

    let (status, r) = s
        .get_json(
            "/api/v1/models/credit-scoring/report",
            Auth::Bearer(&u.audrey),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["schema"], "model-registry/compliance-report/v1");
    assert_eq!(r["generated_by"], "audrey");
    assert_eq!(r["model"]["team"], "risk");
    assert_eq!(r["audit_chain"]["intact"], true);
    // Only the version that reached Staging or Production is reported.
    let versions = r["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1, "{r}");
    let v = &versions[0];
    assert_eq!(v["version"], "1.0.0");
    assert_eq!(
        v["lineage"]["commit_sha"],
        "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
    );
    assert_eq!(v["artifacts"][0]["sha256"], sha.as_str());
    let reviewers: Vec<&str> = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|req| {
            req["reviews"]
                .as_array()
                .unwrap()
                .iter()
                .map(|rv| rv["reviewer"].as_str().unwrap())
        })
        .collect();
    assert_eq!(reviewers, ["alice", "alice", "bob"]);
    let timeline = r["production_timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["version"], "1.0.0");
    assert!(timeline[0]["until"].is_null());

    // CSV and HTML carry the same facts.
    let get_text = |query: &'static str| {
        let (client, url, token) = (
            s.client.clone(),
            s.url(&format!("/api/v1/models/credit-scoring/report?{query}")),
            u.audrey.clone(),
        );
        async move {
            let res = client.get(url).bearer_auth(token).send().await.unwrap();
            (
                res.status(),
                res.headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_owned()),
                res.text().await.unwrap(),
            )
        }
    };
    let (status, ctype, csv) = get_text("format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.unwrap().starts_with("text/csv"));
    assert!(csv.starts_with("section,version,field,value,at,by"));
    assert!(
        csv.contains(&sha) && csv.contains(",bob") && csv.contains("alice"),
        "{csv}"
    );
    let (status, ctype, html) = get_text("format=html").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.unwrap().starts_with("text/html"));
    assert!(
        html.contains("Compliance report: credit-scoring")
            && html.contains(&sha)
            && html.contains("bob approved"),
        "{html}"
    );
    // A period before anything happened has no production span.
    let (_, early) = s
        .get_json(
            "/api/v1/models/credit-scoring/report?to=2000-01-01",
            Auth::Bearer(&u.audrey),
        )
        .await;
    assert!(
        early["production_timeline"].as_array().unwrap().is_empty(),
        "{early}"
    );
    assert!(early["versions"].as_array().unwrap().is_empty());

    // Who may read it, and bad input.
    for token in [&u.vic, &u.carol, &u.alice] {
        let (status, _) = s
            .get_json("/api/v1/models/credit-scoring/report", Auth::Bearer(token))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = s
        .get_json(
            "/api/v1/models/credit-scoring/report",
            Auth::Bearer(&u.admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for (query, field) in [
        ("format=pdf", "format"),
        ("from=2026-03-02&to=2026-03-01", "to"),
        ("version=one", "version"),
        ("from=soon", "from"),
        ("colour=red", "query"),
    ] {
        let (status, body) = s
            .get_json(
                &format!("/api/v1/models/credit-scoring/report?{query}"),
                Auth::Bearer(&u.audrey),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    s.stop().await;
}

async fn export(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let u = users(&s).await;
    // More events than one export batch.
    {
        use model_registry::server::repo::audit::{record, NewEvent, Origin};
        let mut tx = s.state.db.begin().await.unwrap();
        for n in 0..1_200 {
            let event = NewEvent {
                actor: None,
                origin: &Origin::default(),
                action: "test.filler",
                target_type: "test",
                target_id: &n.to_string(),
                details: json!({ "n": n }),
            };
            record(&mut tx, event, 1_000 + n).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    for n in 0..3 {
        call(
            &s,
            Method::POST,
            "/api/v1/models",
            &u.admin,
            json!({"name": format!("exported-{n}")}),
        )
        .await;
    }
    let total = s.count("SELECT COUNT(*) FROM audit_events").await as usize;
    let fetch = |query: &str| {
        let req = s
            .client
            .get(s.url(&format!("/api/v1/audit/export?{query}")))
            .bearer_auth(&u.audrey);
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, csv) = fetch("format=csv").await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), total);
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "oldest first, no repeats"
    );

    let (status, json_text) = fetch("format=json&action=model.create").await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<Value> = serde_json::from_str(&json_text).unwrap();
    assert_eq!(events.len(), 3);
    // Each event's prev_hash is the stored hash of the event before it.
    let (_, all) = fetch("format=json").await;
    let all: Vec<Value> = serde_json::from_str(&all).unwrap();
    assert!(all.windows(2).all(|w| w[1]["prev_hash"] == w[0]["hash"]));

    let (status, empty) = fetch("format=json&from=2000-01-01&to=2000-01-02").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Vec<Value>>(&empty).unwrap().len(), 0);
    for bad in ["format=xml", "from=later", "limit=5"] {
        assert_eq!(fetch(bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    let res = s
        .client
        .get(s.url("/api/v1/audit/export"))
        .bearer_auth(&u.carol)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}
