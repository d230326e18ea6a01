//! Which version made a decision, on SQLite and Postgres: environments and
//! deployment reports (lags, a rollback, violations), attribution at every
//! boundary checked against a replayed reference, signed release receipts
//! (offline verification, tampering, forgery, key rotation), the audit chain
//! anchored in signed checkpoints (deleted and rewritten chains detected),
//! and dataset impact through lineage.

mod common;

use std::process::Command;

use common::{Auth, TestDb, TestServer};
use model_registry::server::{repo::audit::EventRow, signing::Keyring};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_databases! {
    a_scripted_year_of_deployments_is_attributed_at_every_boundary => scripted_year;
    bad_deployment_reports_are_refused_naming_the_field_and_change_nothing => bad_reports;
    receipts_verify_offline_and_survive_key_rotation => receipts;
    deleted_and_rewritten_chains_are_caught_by_signed_checkpoints => checkpoints;
    dataset_impact_follows_lineage_into_deployments => dataset_impact;
}

const M: &str = "/api/v1/models/fraud";

struct World {
    s: TestServer,
    admin: String,
    carol: String,
    alice: String,
    bob: String,
    /// carol's `deploy`-scoped token (a pipeline's).
    deployer: String,
    /// carol's `read`-scoped token.
    reader: String,
    audrey: String,
    vic: String,
}

async fn world(db: &TestDb) -> World {
    world_on(TestServer::start(db.config()).await).await
}

async fn world_on(s: TestServer) -> World {
    let admin = s.admin_token().await;
    for (user, pass, role) in [
        ("carol", "contributor-pass-1", "contributor"),
        ("alice", "approver-pass-1", "approver"),
        ("bob", "approver-pass-2", "approver"),
        ("audrey", "auditor-pass-1", "auditor"),
        ("vic", "viewer-pass-1", "viewer"),
    ] {
        s.create_user(user, pass, role).await;
    }
    let w = World {
        carol: s.token_for("carol", "contributor-pass-1").await,
        deployer: s
            .scoped_token_for("carol", "contributor-pass-1", "deploy")
            .await,
        reader: s
            .scoped_token_for("carol", "contributor-pass-1", "read")
            .await,
        alice: s.token_for("alice", "approver-pass-1").await,
        bob: s.token_for("bob", "approver-pass-2").await,
        audrey: s.scoped_token_for("audrey", "auditor-pass-1", "read").await,
        vic: s.token_for("vic", "viewer-pass-1").await,
        admin,
        s,
    };
    let (status, body) =
        w.s.post("/api/v1/models", &w.admin, json!({"name": "fraud"}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    w
}

async fn send(
    w: &World,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    w.s.send_json(method, path, Auth::Bearer(token), body).await
}

async fn get(w: &World, path: &str, token: &str) -> Value {
    let (status, body) = w.s.get_json(path, Auth::Bearer(token)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn register(w: &World, version: &str, lineage: Value) {
    let (status, body) =
        w.s.post(
            &format!("{M}/versions"),
            &w.carol,
            json!({"version": version, "params": {"lr": "0.01"}, "metrics": {"auc": 0.91},
                   "lineage": lineage}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let res =
        w.s.client
            .put(w.s.url(&format!("{M}/versions/{version}/artifacts/model.bin")))
            .bearer_auth(&w.carol)
            .body(format!("weights of {version}"))
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// Carol asks, alice then bob approve, until `version` is in `to`.
async fn promote(w: &World, version: &str, to: &str) {
    let (status, req) =
        w.s.post(
            &format!("{M}/versions/{version}/requests"),
            &w.carol,
            json!({"to": to, "justification": format!("ship {version}")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let mut state = req["state"].as_str().unwrap().to_owned();
    for approver in [&w.alice, &w.bob] {
        if state == "approved" {
            break;
        }
        let (status, body) =
            w.s.post(
                &format!("{M}/requests/{}/approve", req["id"]),
                approver,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        state = body["state"].as_str().unwrap().to_owned();
    }
    assert_eq!(state, "approved", "{version} → {to}");
}

async fn environment(w: &World, name: &str, stage: &str) {
    let (status, body) = w
        .s
        .post(
            "/api/v1/environments",
            &w.admin,
            json!({"name": name, "required_stage": stage, "description": format!("{name} traffic")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Reports through the pipeline's token; answers the recorded report.
async fn deploy(w: &World, env: &str, body: Value) -> Value {
    let (status, recorded) = send(
        w,
        Method::POST,
        &format!("/api/v1/environments/{env}/deployments"),
        &w.deployer,
        body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    // Lags between events: distinct instants, in order.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    recorded
}

/// What the test believes served: (environment, instant, model, version or none).
#[derive(Default)]
struct Reference {
    reports: Vec<(String, i64, Option<String>)>,
}

impl Reference {
    fn record(&mut self, env: &str, d: &Value) {
        let version = (d["state"] == "serving").then(|| d["version"].as_str().unwrap().to_owned());
        self.reports
            .push((env.to_owned(), d["at"].as_i64().unwrap(), version));
    }

    /// Replays the reports of `env` up to `at`.
    fn serving(&self, env: &str, at: i64) -> Option<String> {
        let mut now = None;
        for (e, t, v) in &self.reports {
            if e == env && *t <= at {
                now = v.clone();
            }
        }
        now
    }
}

async fn scripted_year(db: &TestDb) {
    let w = world(db).await;
    environment(&w, "prod-eu", "production").await;
    environment(&w, "prod-us", "Production").await;
    let (status, dup) =
        w.s.post(
            "/api/v1/environments",
            &w.admin,
            json!({"name": "prod-eu", "required_stage": "staging"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    let envs = get(&w, "/api/v1/environments", &w.vic).await;
    assert_eq!(envs.as_array().unwrap().len(), 2);
    assert_eq!(envs[0]["required_stage"], "production");

    let (status, hook) =
        w.s.post(
            "/api/v1/webhooks",
            &w.admin,
            json!({"url": "http://127.0.0.1:9/hook", "events": ["deployment.violation"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        register(&w, v, json!({"commit_sha": "abc1234"})).await;
    }
    let mut reference = Reference::default();
    // Q1: 1.0.0 reaches Production; EU deploys it, the US a little later.
    promote(&w, "1.0.0", "staging").await;
    promote(&w, "1.0.0", "production").await;
    let d = deploy(&w, "prod-eu", json!({"model": "fraud", "version": "1.0.0"})).await;
    assert_eq!(d["violation"], Value::Null, "{d}");
    assert_eq!(d["stage"], "production");
    reference.record("prod-eu", &d);
    let d = deploy(&w, "prod-us", json!({"model": "fraud", "version": "1.0.0"})).await;
    reference.record("prod-us", &d);
    // Q2: 1.1.0 replaces it (1.0.0 is archived); the EU moves first.
    promote(&w, "1.1.0", "staging").await;
    promote(&w, "1.1.0", "production").await;
    let d = deploy(&w, "prod-eu", json!({"model": "fraud", "version": "1.1.0"})).await;
    reference.record("prod-eu", &d);
    let d = deploy(&w, "prod-us", json!({"model": "fraud", "version": "1.1.0"})).await;
    reference.record("prod-us", &d);
    // Q3: the EU rolls back to 1.0.0 — no longer in Production: a violation.
    let rollback = deploy(&w, "prod-eu", json!({"model": "fraud", "version": "1.0.0"})).await;
    let violation = rollback["violation"]
        .as_str()
        .expect("the rollback is flagged");
    assert!(
        violation.contains("archived") && violation.contains("production"),
        "{violation}"
    );
    reference.record("prod-eu", &rollback);
    // Q4: someone ships the experimental 2.0.0 in the US; then the US stops.
    let rogue = deploy(&w, "prod-us", json!({"model": "fraud", "version": "2.0.0"})).await;
    assert!(
        rogue["violation"]
            .as_str()
            .unwrap()
            .contains("experimental"),
        "{rogue}"
    );
    reference.record("prod-us", &rogue);
    let stop = deploy(
        &w,
        "prod-us",
        json!({"model": "fraud", "version": "2.0.0", "state": "stopped"}),
    )
    .await;
    assert_eq!(stop["violation"], Value::Null);
    reference.record("prod-us", &stop);

    // Attribution at every boundary, one millisecond either side, and
    // before the first report.
    let mut instants: Vec<i64> = reference.reports.iter().map(|(_, t, _)| *t).collect();
    instants.push(reference.reports[0].1 - 1000);
    for t in instants.clone() {
        for at in [t - 1, t, t + 1] {
            for env in ["prod-eu", "prod-us"] {
                let expected = reference.serving(env, at);
                let served = get(
                    &w,
                    &format!("/api/v1/environments/{env}/serving?at={at}"),
                    &w.vic,
                )
                .await;
                let got = served["serving"].as_array().unwrap();
                assert_eq!(
                    got.first()
                        .map(|s| s["version"].as_str().unwrap().to_owned()),
                    expected,
                    "{env} at {at}: {served}"
                );
                let a = get(
                    &w,
                    &format!("/api/v1/attribution?environment={env}&at={at}"),
                    &w.audrey,
                )
                .await;
                let answers = a["answers"].as_array().unwrap();
                assert_eq!(
                    answers
                        .first()
                        .map(|x| x["span"]["version"].as_str().unwrap().to_owned()),
                    expected,
                    "attribution {env} at {at}"
                );
                if let Some(answer) = answers.first() {
                    let v = &answer["version"];
                    // 2.0.0 never had a sign-off: it is the rogue deployment.
                    let signed_off = v["version"] != "2.0.0";
                    assert_eq!(v["lineage"]["commit_sha"], "abc1234");
                    assert_eq!(v["params"]["lr"], "0.01");
                    assert_eq!(v["artifacts"][0]["path"], "model.bin");
                    assert_eq!(v["artifacts"][0]["sha256"].as_str().unwrap().len(), 64);
                    let approvals: Vec<&str> = v["requests"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|r| r["to"] == "production")
                        .flat_map(|r| r["reviews"].as_array().unwrap().iter())
                        .map(|r| r["reviewer"].as_str().unwrap())
                        .collect();
                    if signed_off {
                        assert_eq!(approvals, ["alice", "bob"], "the approval trail of {v}");
                    } else {
                        assert!(approvals.is_empty());
                        assert!(answer["span"]["violation"].is_string());
                    }
                }
            }
        }
    }
    // The environment timeline: spans, with the violations kept.
    let t = get(&w, "/api/v1/environments/prod-eu/deployments", &w.vic).await;
    let spans: Vec<(String, bool)> = t["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["version"].as_str().unwrap().to_owned(),
                s["violation"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            ("1.0.0".into(), false),
            ("1.1.0".into(), false),
            ("1.0.0".into(), true)
        ]
    );
    // One model's timeline; an unknown model is not found.
    let only = get(
        &w,
        "/api/v1/environments/prod-eu/deployments?model=fraud",
        &w.vic,
    )
    .await;
    assert_eq!(only["spans"], t["spans"]);
    let (status, _) =
        w.s.get_json(
            "/api/v1/environments/prod-eu/deployments?model=nope",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only auditors attribute; readers may ask what served.
    let (status, _) =
        w.s.get_json(
            "/api/v1/attribution?environment=prod-eu&at=0",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The violations are in the audit trail and queued for webhooks.
    let events = get(&w, "/api/v1/audit?action=deployment.violation", &w.audrey).await;
    assert_eq!(events["events"].as_array().unwrap().len(), 2, "{events}");
    assert_eq!(
        w.s.count(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE event_type = 'deployment.violation'"
        )
        .await,
        2
    );
    // The compliance report carries the per-environment timeline.
    let report = get(&w, &format!("{M}/report"), &w.audrey).await;
    let deployments = report["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 2, "{report}");
    assert_eq!(deployments[0]["environment"]["name"], "prod-eu");
    assert_eq!(deployments[0]["violations"].as_array().unwrap().len(), 1);
    assert_eq!(deployments[1]["violations"].as_array().unwrap().len(), 1);
    // The rogue 2.0.0 never reached a stage but served: it is in the report.
    let reported: Vec<&str> = report["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(reported, ["1.0.0", "1.1.0", "2.0.0"]);
    let html =
        w.s.client
            .get(w.s.url(&format!("{M}/report?format=html")))
            .bearer_auth(&w.audrey)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(
        html.contains("Deployments") && html.contains("VIOLATION"),
        "the printable report"
    );
    w.s.stop().await;
}

async fn bad_reports(db: &TestDb) {
    let w = world(db).await;
    environment(&w, "prod-eu", "production").await;
    register(&w, "1.0.0", json!({})).await;
    let first = deploy(&w, "prod-eu", json!({"model": "fraud", "version": "1.0.0"})).await;
    let before = w.s.count("SELECT COUNT(*) FROM deployments").await;
    let audit_before = w.s.count("SELECT COUNT(*) FROM audit_events").await;
    let now = first["at"].as_i64().unwrap();
    let path = "/api/v1/environments/prod-eu/deployments";
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            path,
            json!({"model": "fraud", "version": "1.0.0", "at": (now + 3_600_000).to_string()}),
            StatusCode::BAD_REQUEST,
            "at",
        ),
        (
            path,
            json!({"model": "fraud", "version": "1.0.0", "at": (now - 60_000).to_string()}),
            StatusCode::BAD_REQUEST,
            "at",
        ),
        (
            path,
            json!({"model": "fraud", "version": "1.0.0", "at": "soon"}),
            StatusCode::BAD_REQUEST,
            "at",
        ),
        (
            path,
            json!({"model": "fraud", "version": "one"}),
            StatusCode::BAD_REQUEST,
            "version",
        ),
        (
            path,
            json!({"model": "fraud", "version": "1.0.0", "state": "up"}),
            StatusCode::BAD_REQUEST,
            "state",
        ),
        (
            path,
            json!({"model": "fraud", "version": "1.0.0", "receipt_id": "rcpt_nope"}),
            StatusCode::BAD_REQUEST,
            "receipt_id",
        ),
        (
            path,
            json!({"model": "fraud", "version": "1.0.0", "receipt_id": format!("rcpt_{}", "0".repeat(32))}),
            StatusCode::BAD_REQUEST,
            "receipt_id",
        ),
        (
            path,
            json!({"model": "fraud", "version": "1.0.0", "extra": 1}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            path,
            json!({"model": "fraud", "version": "9.9.9"}),
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            path,
            json!({"model": "nope", "version": "1.0.0"}),
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            "/api/v1/environments/prod-mars/deployments",
            json!({"model": "fraud", "version": "1.0.0"}),
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            "/api/v1/environments/Prod%20EU/deployments",
            json!({"model": "fraud", "version": "1.0.0"}),
            StatusCode::BAD_REQUEST,
            "environment",
        ),
    ];
    for (p, body, want, field) in cases {
        let (status, answer) = send(&w, Method::POST, p, &w.deployer, body.clone()).await;
        assert_eq!(status, want, "{body}: {answer}");
        if !field.is_empty() {
            assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        }
    }
    // Who may report: a deploy token, not a read token or a viewer; only
    // admins define environments.
    let ok = json!({"model": "fraud", "version": "1.0.0"});
    for token in [&w.reader, &w.vic] {
        let (status, _) = send(&w, Method::POST, path, token, ok.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) =
        w.s.post(
            "/api/v1/environments",
            &w.carol,
            json!({"name": "x", "required_stage": "staging"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        w.s.post(
            "/api/v1/environments",
            &w.admin,
            json!({"name": "x", "required_stage": "live"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("required_stage"))
    );
    let (status, _) = send(
        &w,
        Method::POST,
        path,
        &w.deployer,
        json!({"model": "fraud", "version": "1.0.0", "state": "stopped", "at": "0"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Bad queries name the parameter.
    for (q, field) in [
        ("/api/v1/environments/prod-eu/serving?at=yesterday", "at"),
        ("/api/v1/environments/prod-eu/serving?when=1", "query"),
        ("/api/v1/attribution?at=1", "environment"),
        ("/api/v1/attribution?environment=prod-eu", "at"),
        ("/api/v1/impact", "dataset_hash"),
    ] {
        let (status, body) = w.s.get_json(q, Auth::Bearer(&w.audrey)).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{q}"
        );
    }
    // Nothing was recorded by any refusal.
    assert_eq!(w.s.count("SELECT COUNT(*) FROM deployments").await, before);
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM audit_events").await,
        audit_before
    );
    w.s.stop().await;
}

fn registry_cli(db: &TestDb, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_model-registry"))
        .args(args)
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
    (out.status.code().unwrap_or(-1), text)
}

async fn receipts(db: &TestDb) {
    let w = world(db).await;
    environment(&w, "prod-eu", "production").await;
    register(&w, "1.0.0", json!({})).await;
    register(&w, "1.1.0", json!({})).await;
    promote(&w, "1.0.0", "staging").await;
    promote(&w, "1.0.0", "production").await;

    // The CI/CD lookup hands out a receipt to a deploy token, not a reader.
    let (status, _) =
        w.s.get_json(
            &format!("{M}/stages/production?receipt=true"),
            Auth::Bearer(&w.reader),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let looked_up = get(
        &w,
        &format!("{M}/stages/production?receipt=true"),
        &w.deployer,
    )
    .await;
    let receipt_id = looked_up["receipt_id"].as_str().unwrap().to_owned();
    let envelope = looked_up["receipt"].clone();
    assert_eq!(
        envelope["payloadType"],
        "application/vnd.model-registry.release-receipt+json"
    );
    let statement: Value = {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(statement["version"], "1.0.0");
    assert_eq!(statement["content_digest"], looked_up["content_digest"]);
    assert_eq!(statement["approval"]["approvers"], json!(["alice", "bob"]));
    assert_eq!(
        statement["artifacts"][0]["sha256"],
        looked_up["artifacts"][0]["sha256"]
    );
    assert!(statement["audit_head"]["hash"].as_str().unwrap().len() == 64);

    // Offline: the published keys (no credentials needed) and the CLI.
    let keys =
        w.s.client
            .get(w.s.url("/.well-known/model-registry/keys.json"))
            .send()
            .await
            .unwrap();
    assert_eq!(keys.status(), StatusCode::OK);
    let keys: Value = keys.json().await.unwrap();
    assert_eq!(keys["keys"][0]["crv"], "Ed25519");
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("keys.json");
    std::fs::write(&keys_file, keys.to_string()).unwrap();
    let receipt_file = dir.path().join("receipt.json");
    std::fs::write(&receipt_file, envelope.to_string()).unwrap();
    let kf = keys_file.to_str().unwrap();
    let (code, out) = registry_cli(
        db,
        &[
            "verify-receipt",
            receipt_file.to_str().unwrap(),
            "--keys",
            kf,
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("valid") && out.contains("alice, bob"), "{out}");

    // One byte changed in the statement: refused, offline and online.
    let mut changed = envelope.clone();
    {
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut bytes = engine.decode(changed["payload"].as_str().unwrap()).unwrap();
        let at = bytes.windows(5).position(|w| w == b"1.0.0").unwrap();
        bytes[at + 4] = b'1';
        changed["payload"] = engine.encode(&bytes).into();
    }
    std::fs::write(&receipt_file, changed.to_string()).unwrap();
    let (code, out) = registry_cli(
        db,
        &[
            "verify-receipt",
            receipt_file.to_str().unwrap(),
            "--keys",
            kf,
        ],
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("changed or forged"), "{out}");
    let (status, body) = send(&w, Method::POST, "/api/v1/receipts/verify", &w.vic, changed).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("signatures")),
        "{body}"
    );
    // Signed by a key the registry never published: refused too, and
    // recorded as evidence.
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = Keyring::open(stranger_dir.path()).unwrap();
    let forged = stranger.sign(
        "application/vnd.model-registry.release-receipt+json",
        statement.to_string().as_bytes(),
    );
    let forged = serde_json::to_value(&forged).unwrap();
    std::fs::write(&receipt_file, forged.to_string()).unwrap();
    let (code, out) = registry_cli(
        db,
        &[
            "verify-receipt",
            receipt_file.to_str().unwrap(),
            "--keys",
            kf,
        ],
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("never published"), "{out}");
    let (status, _) = send(&w, Method::POST, "/api/v1/receipts/verify", &w.vic, forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        &w,
        Method::POST,
        "/api/v1/receipts/verify",
        &w.vic,
        json!({"payload": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let rejected = get(&w, "/api/v1/audit?action=receipt.rejected", &w.audrey).await;
    assert_eq!(
        rejected["events"].as_array().unwrap().len(),
        3,
        "{rejected}"
    );
    // The genuine one verifies online, recorded and unchanged.
    let (status, check) = send(
        &w,
        Method::POST,
        "/api/v1/receipts/verify",
        &w.vic,
        envelope.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(
        (
            check["valid"].as_bool(),
            check["recorded"].as_bool(),
            check["content_unchanged"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );

    // A deployment names its receipt; one for another version is refused.
    let d = deploy(
        &w,
        "prod-eu",
        json!({"model": "fraud", "version": "1.0.0", "receipt_id": receipt_id}),
    )
    .await;
    assert_eq!(d["receipt_id"], receipt_id.as_str());
    let (status, body) = send(
        &w,
        Method::POST,
        "/api/v1/environments/prod-eu/deployments",
        &w.deployer,
        json!({"model": "fraud", "version": "1.1.0", "receipt_id": receipt_id}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("receipt_id"))
    );
    let a = get(
        &w,
        &format!("/api/v1/attribution?environment=prod-eu&at={}", d["at"]),
        &w.audrey,
    )
    .await;
    assert!(a["answers"][0]["receipt"]
        .as_str()
        .unwrap()
        .contains(&statement["key_id"].as_str().unwrap().to_string()));

    // Rotation: a new key signs; the old receipt still verifies, offline
    // with the new published set and online by id.
    let old_kid = statement["key_id"].as_str().unwrap().to_owned();
    let state = w.s.state.clone();
    w.s.stop().await;
    let key_dir = state.config.signing_keys.clone();
    drop(state);
    let (_, new_kid) = Keyring::rotate(&key_dir).unwrap();
    let w = World {
        s: TestServer::start(db.config()).await,
        ..w
    };
    let keys = get(&w, "/api/v1/keys", &w.vic).await;
    let statuses: Vec<(String, String)> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(old_kid.clone(), "retired".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(new_kid.clone(), "active".into())),
        "{statuses:?}"
    );
    std::fs::write(&keys_file, keys.to_string()).unwrap();
    std::fs::write(&receipt_file, envelope.to_string()).unwrap();
    let (code, out) = registry_cli(
        db,
        &[
            "verify-receipt",
            receipt_file.to_str().unwrap(),
            "--keys",
            kf,
        ],
    );
    assert_eq!(code, 0, "{out}");
    let by_id = get(&w, &format!("/api/v1/receipts/{receipt_id}"), &w.vic).await;
    assert_eq!(
        (by_id["valid"].as_bool(), by_id["key_id"].as_str()),
        (Some(true), Some(old_kid.as_str()))
    );
    let (status, fresh) =
        w.s.post(
            &format!("{M}/versions/1.0.0/receipts"),
            &w.deployer,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fresh}");
    assert_eq!(fresh["statement"]["key_id"], new_kid.as_str());
    let (status, _) =
        w.s.get_json("/api/v1/receipts/rcpt_bad", Auth::Bearer(&w.vic))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) =
        w.s.get_json(
            &format!("/api/v1/receipts/rcpt_{}", "1".repeat(32)),
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    w.s.stop().await;
}

async fn checkpoints(db: &TestDb) {
    let w = world(db).await;
    register(&w, "1.0.0", json!({})).await;
    // Readers cannot publish or read checkpoints.
    let (status, _) =
        w.s.post("/api/v1/audit/checkpoints", &w.vic, json!({}))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, first) =
        w.s.post("/api/v1/audit/checkpoints", &w.audrey, json!({}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let key = first["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("audit-checkpoints/"), "{key}");
    // Write-once: the object is there, read-only, and not published twice.
    let object = db.data_dir.path().join("artifacts").join(&key);
    assert!(std::fs::metadata(&object).unwrap().permissions().readonly());
    register(&w, "1.1.0", json!({})).await;
    let (status, second) =
        w.s.post("/api/v1/audit/checkpoints", &w.audrey, json!({}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let head_id = second["statement"]["head_id"].as_i64().unwrap();
    let listed = get(&w, "/api/v1/audit/checkpoints", &w.audrey).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let check = get(&w, "/api/v1/audit/checkpoints/verify", &w.audrey).await;
    assert_eq!(check["intact"], true, "{check}");
    let (code, out) = registry_cli(db, &["verify-audit"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("matches the newest of 2 published checkpoints"),
        "{out}"
    );

    // Someone with database access (who can drop the append-only
    // triggers) deletes the newest events: the chain alone still verifies,
    // the checkpoint does not.
    for trigger in ["audit_events_no_update", "audit_events_no_delete"] {
        let on = if db.url.starts_with("postgres") {
            " ON audit_events"
        } else {
            ""
        };
        w.s.exec(&format!("DROP TRIGGER IF EXISTS {trigger}{on}"))
            .await;
    }
    w.s.exec(&format!(
        "DELETE FROM audit_events WHERE id >= {}",
        head_id - 1
    ))
    .await;
    let chain = get(&w, "/api/v1/audit/verify?full=true", &w.audrey).await;
    assert_eq!(
        chain["intact"], true,
        "a shortened chain is still a chain: {chain}"
    );
    let check = get(&w, "/api/v1/audit/checkpoints/verify", &w.audrey).await;
    assert_eq!(check["intact"], false, "{check}");
    let problems = check["problems"].to_string();
    assert!(
        problems.contains("newest events were deleted"),
        "{problems}"
    );
    let (code, out) = registry_cli(db, &["verify-audit"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("newest events were deleted"), "{out}");

    // Then rewrites the whole chain consistently (one detail changed, every
    // hash recomputed): every link matches, the checkpoints do not.
    let pool = w.s.state.db.pool().clone();
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, at, actor_user_id, actor_username, actor_token_id, action, target_type, \
         target_id, details, client_addr, request_id, prev_hash, hash FROM audit_events ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut prev = model_registry::server::repo::audit::GENESIS_HASH.to_owned();
    for (i, mut row) in rows.into_iter().enumerate() {
        if i == 0 {
            row.details = row.details.replace("admin", "nobody");
        }
        row.prev_hash = prev.clone();
        row.hash = row.expected_hash();
        sqlx::query(
            "UPDATE audit_events SET details = $1, prev_hash = $2, hash = $3 WHERE id = $4",
        )
        .bind(&row.details)
        .bind(&row.prev_hash)
        .bind(&row.hash)
        .bind(row.id)
        .execute(&pool)
        .await
        .unwrap();
        prev = row.hash;
    }
    let chain = get(&w, "/api/v1/audit/verify?full=true", &w.audrey).await;
    assert_eq!(chain["intact"], true, "the rewrite is consistent: {chain}");
    let check = get(&w, "/api/v1/audit/checkpoints/verify", &w.audrey).await;
    let problems = check["problems"].to_string();
    assert!(problems.contains("the chain was rewritten"), "{problems}");
    let report = get(&w, &format!("{M}/report"), &w.audrey).await;
    assert_eq!(
        report["audit_chain"]["intact"], false,
        "{}",
        report["audit_chain"]
    );
    w.s.stop().await;
}

async fn dataset_impact(db: &TestDb) {
    let w = world(db).await;
    environment(&w, "prod-eu", "production").await;
    environment(&w, "shadow", "staging").await;
    register(
        &w,
        "1.0.0",
        json!({"dataset": {"name": "loans", "hash": "sha256:tainted"}}),
    )
    .await;
    register(
        &w,
        "1.1.0",
        json!({"parent": {"model": "fraud", "version": "1.0.0"}}),
    )
    .await;
    register(
        &w,
        "2.0.0",
        json!({"dataset": {"name": "loans", "hash": "sha256:clean"}}),
    )
    .await;
    promote(&w, "1.1.0", "staging").await;
    promote(&w, "2.0.0", "staging").await;
    promote(&w, "2.0.0", "production").await;
    deploy(&w, "shadow", json!({"model": "fraud", "version": "1.1.0"})).await;
    deploy(&w, "prod-eu", json!({"model": "fraud", "version": "2.0.0"})).await;
    let ended = deploy(&w, "shadow", json!({"model": "fraud", "version": "2.0.0"})).await;

    let impact = get(&w, "/api/v1/impact?dataset_hash=sha256:tainted", &w.vic).await;
    let trained: Vec<&str> = impact["trained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        trained,
        ["1.0.0", "1.1.0"],
        "directly and through the parent"
    );
    let served = impact["served"].as_array().unwrap();
    assert_eq!(served.len(), 1, "{impact}");
    assert_eq!(served[0]["environment"], "shadow");
    assert_eq!(served[0]["span"]["version"], "1.1.0");
    assert_eq!(
        served[0]["span"]["until"], ended["at"],
        "the next report ends the stay"
    );
    let none = get(
        &w,
        "/api/v1/impact?dataset_hash=sha256:tainted&environment=prod-eu",
        &w.vic,
    )
    .await;
    assert!(none["served"].as_array().unwrap().is_empty());
    let clean = get(&w, "/api/v1/impact?dataset_hash=sha256:clean", &w.vic).await;
    assert_eq!(clean["served"].as_array().unwrap().len(), 2);
    w.s.stop().await;
}

/// On S3 the checkpoints land under the registry's prefix, are never
/// written twice, and verification reads them back from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_published_to_s3_once_and_verified_from_there() {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        eprintln!("skipping: set AWS_ENDPOINT_URL to an S3-compatible server; .ci/test does");
        return;
    }
    let db = TestDb::new(common::Backend::Sqlite).await;
    let bucket = common::bucket_name("anchors");
    let (s, client) = common::s3_server(&db, &bucket).await;
    let w = world_on(s).await;
    register(&w, "1.0.0", json!({})).await;
    let (status, published) =
        w.s.post("/api/v1/audit/checkpoints", &w.audrey, json!({}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    let key = format!("registry/{}", published["key"].as_str().unwrap());
    let object = client
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let bytes = object.body.collect().await.unwrap().into_bytes();
    let envelope: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        envelope["payloadType"],
        "application/vnd.model-registry.audit-checkpoint+json"
    );
    // Nothing happened since but the publication: nothing is written.
    let res =
        w.s.client
            .post(w.s.url("/api/v1/audit/checkpoints"))
            .bearer_auth(&w.audrey)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    register(&w, "1.1.0", json!({})).await;
    let (status, _) =
        w.s.post("/api/v1/audit/checkpoints", &w.audrey, json!({}))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    let check = get(&w, "/api/v1/audit/checkpoints/verify", &w.audrey).await;
    assert_eq!(
        (
            check["intact"].as_bool(),
            check["checkpoints_found"].as_i64()
        ),
        (Some(true), Some(2)),
        "{check}"
    );
    w.s.stop().await;
    db.drop_db().await;
}
