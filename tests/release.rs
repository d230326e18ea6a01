//! What was approved is what ships, on SQLite and Postgres: content digests,
//! frozen versions, governed aliases, deleted versions, evaluations, and
//! seeded data that obeys the same rules.

mod common;

use common::{session_cookie, Auth, TestDb, TestServer, ADMIN_PASSWORD};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

on_both_databases! {
    frozen_versions_refuse_every_content_change => frozen;
    a_content_change_before_the_last_sign_off_closes_the_request => content_change;
    protected_aliases_move_only_with_sign_off => protected_aliases;
    protected_alias_moves_apply_once_under_concurrent_approvals => concurrent_alias_approvals;
    deleting_a_version_cancels_its_requests_and_leaves_production_alone => deleted_version;
    digests_are_reproducible_and_reach_lookups_and_reports => digests;
    bad_release_input_is_refused_naming_the_field => bad_input;
    seeded_data_has_history_events_and_digests => seeded;
}

const M: &str = "/api/v1/models/fraud-detector";

/// A model with versions 2.0.0 and 2.1.0 (one file each), and one user per role.
struct World {
    s: TestServer,
    admin: String,
    carol: String,
    alice: String,
    bob: String,
    vic: String,
}

async fn world(db: &TestDb) -> World {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.create_user("carol", "contributor-pass-1", "contributor")
        .await;
    s.create_user("alice", "approver-pass-1", "approver").await;
    s.create_user("bob", "approver-pass-2", "approver").await;
    s.create_user("vic", "viewer-pass-1", "viewer").await;
    let carol = s.token_for("carol", "contributor-pass-1").await;
    let alice = s.token_for("alice", "approver-pass-1").await;
    let bob = s.token_for("bob", "approver-pass-2").await;
    let vic = s.token_for("vic", "viewer-pass-1").await;
    let (status, body) = s
        .post("/api/v1/models", &admin, json!({"name": "fraud-detector"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let w = World {
        s,
        admin,
        carol,
        alice,
        bob,
        vic,
    };
    for v in ["2.0.0", "2.1.0"] {
        let (status, body) =
            w.s.post(
                &format!("{M}/versions"),
                &w.carol,
                json!({"version": v, "params": {"lr": "0.01"}, "metrics": {"auc": 0.9},
                       "lineage": {"commit_sha": "abcdef1"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            upload(&w, &w.carol, v, "model.bin").await,
            StatusCode::CREATED
        );
    }
    w
}

async fn upload(w: &World, token: &str, version: &str, path: &str) -> StatusCode {
    w.s.client
        .put(w.s.url(&format!("{M}/versions/{version}/artifacts/{path}")))
        .bearer_auth(token)
        .body(format!("bytes of {path}").into_bytes())
        .send()
        .await
        .unwrap()
        .status()
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

async fn open(w: &World, version: &str, to: &str) -> (StatusCode, Value) {
    w.s.post(
        &format!("{M}/versions/{version}/requests"),
        &w.carol,
        json!({"to": to, "justification": format!("ship {version}")}),
    )
    .await
}

async fn approve(w: &World, token: &str, id: &Value, body: Value) -> (StatusCode, Value) {
    w.s.post(&format!("{M}/requests/{id}/approve"), token, body)
        .await
}

/// Moves `version` to `to` with carol asking and alice, then bob, approving.
async fn promote(w: &World, version: &str, to: &str) {
    let (status, req) = open(w, version, to).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let mut state = req["state"].as_str().unwrap().to_owned();
    for approver in [&w.alice, &w.bob] {
        if state == "approved" {
            break;
        }
        let (status, body) = approve(w, approver, &req["id"], json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        state = body["state"].as_str().unwrap().to_owned();
    }
    assert_eq!(state, "approved", "{version} → {to}");
}

async fn version(w: &World, v: &str) -> Value {
    let (status, body) =
        w.s.get_json(&format!("{M}/versions/{v}"), Auth::Bearer(&w.vic))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Every call that changes a version's content, by `token`: each status.
async fn content_changes(
    w: &World,
    token: &str,
    v: &str,
    n: usize,
) -> Vec<(&'static str, StatusCode)> {
    let path = format!("new-{n}.bin");
    let link = send(
        w,
        Method::POST,
        &format!("{M}/versions/{v}/artifacts"),
        token,
        json!({"path": format!("link-{n}.bin"), "uri": "s3://bucket/x"}),
    )
    .await
    .0;
    let append = send(
        w,
        Method::POST,
        &format!("{M}/versions/{v}/metrics"),
        token,
        json!({"metric_series": {"loss": [{"step": n, "value": 0.5}]}}),
    )
    .await
    .0;
    let delete = send(
        w,
        Method::DELETE,
        &format!("{M}/versions/{v}/artifacts/model.bin"),
        token,
        json!(null),
    )
    .await
    .0;
    vec![
        ("upload", upload(w, token, v, &path).await),
        ("link", link),
        ("metrics", append),
        ("delete", delete),
    ]
}

/// The browser's upload form (multipart, session cookie, same origin).
async fn form_upload(w: &World, cookie: &str, v: &str) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"form bytes".to_vec()).file_name("from-form.bin"),
    );
    let res =
        w.s.client
            .post(w.s.url(&format!("{M}/versions/{v}/artifacts")))
            .header(header::COOKIE, cookie)
            .header(header::ORIGIN, &w.s.base)
            .multipart(form)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

async fn frozen(db: &TestDb) {
    let w = world(db).await;
    let v = "2.1.0";
    let digest_before = version(&w, v).await["content_digest"].clone();
    assert!(version(&w, v).await["frozen"].is_null());

    // Under review: a request to Staging freezes the content.
    let (status, req) = open(&w, v, "staging").await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["content_digest"], digest_before);
    let detail = version(&w, v).await;
    assert_eq!(detail["frozen"]["reason"], "under_review", "{detail}");
    for (who, token) in [("carol", &w.carol), ("admin", &w.admin)] {
        for (call, status) in content_changes(&w, token, v, 1).await {
            // A contributor may not delete files at all (admins only).
            let expected = if call == "delete" && who == "carol" {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::CONFLICT
            };
            assert_eq!(status, expected, "{call} by {who} under review");
        }
    }

    // Released: in Staging (and later Production) it stays frozen.
    let (status, body) = approve(&w, &w.alice, &req["id"], json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    promote(&w, v, "production").await;
    let detail = version(&w, v).await;
    assert_eq!(detail["stage"], "production");
    assert_eq!(
        detail["frozen"],
        json!({"reason": "in_stage", "stage": "production"})
    );
    for (call, status) in content_changes(&w, &w.admin, v, 2).await {
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "{call} by admin in production"
        );
    }
    // The message names the stage.
    let (status, body) = send(
        &w,
        Method::POST,
        &format!("{M}/versions/{v}/metrics"),
        &w.carol,
        json!({"metric_series": {"loss": [{"step": 9, "value": 0.5}]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Production"),
        "{body}"
    );
    // The browser's upload form is refused too, and says why.
    let cookie = w.s.sign_in("carol", "contributor-pass-1").await.unwrap();
    let location = form_upload(&w, &cookie, v).await;
    assert!(
        location.contains("error=") && location.contains("frozen"),
        "{location}"
    );

    // Nothing changed: the same files, the same digest, in the lookup too.
    let detail = version(&w, v).await;
    assert_eq!(detail["content_digest"], digest_before);
    assert_eq!(detail["artifacts"].as_array().unwrap().len(), 1);
    let (_, prod) =
        w.s.get_json(&format!("{M}/stages/production"), Auth::Bearer(&w.vic))
            .await;
    assert_eq!(prod["version"], v);
    assert_eq!(prod["content_digest"], digest_before);
    assert_eq!(prod["artifacts"].as_array().unwrap().len(), 1);

    // Description and tags are not content: still editable, digest unchanged.
    let (status, body) = send(
        &w,
        Method::PATCH,
        &format!("{M}/versions/{v}"),
        &w.carol,
        json!({"description": "now serving", "tags": {"owner": "risk"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Later results are welcome, as evaluations tied to the digest.
    let (status, eval) =
        w.s.post(
            &format!("{M}/versions/{v}/evaluations"),
            &w.carol,
            json!({"name": "shadow-week-1", "dataset": "live traffic", "metrics": {"auc": 0.88}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{eval}");
    assert_eq!(eval["content_digest"], digest_before);
    assert_eq!(eval["created_by"], "carol");
    let detail = version(&w, v).await;
    assert_eq!(detail["content_digest"], digest_before);
    assert_eq!(
        detail["metrics"],
        json!({"auc": 0.9}),
        "training metrics untouched"
    );
    assert_eq!(detail["evaluations"][0]["metrics"]["auc"], 0.88);
    let (status, _) =
        w.s.post(
            &format!("{M}/versions/{v}/evaluations"),
            &w.vic,
            json!({"name": "x", "metrics": {"auc": 1.0}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers record nothing");

    // Back in Experimental (a rejected request) a version thaws.
    let (status, req) = open(&w, "2.0.0", "staging").await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(
        upload(&w, &w.carol, "2.0.0", "late.bin").await,
        StatusCode::CONFLICT
    );
    let (status, _) =
        w.s.post(
            &format!("{M}/requests/{}/reject", req["id"]),
            &w.alice,
            json!({"comment": "not yet"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(version(&w, "2.0.0").await["frozen"].is_null());
    assert_eq!(
        upload(&w, &w.carol, "2.0.0", "late.bin").await,
        StatusCode::CREATED
    );
    assert_ne!(
        version(&w, "2.0.0").await["content_digest"],
        req["content_digest"],
        "a new file changes the digest"
    );
    w.s.stop().await;
}

async fn content_change(db: &TestDb) {
    let w = world(db).await;
    // A request that does not freeze (Archived needs one sign-off here), and
    // content changed while it waits: the sign-off is refused and the
    // request closed as superseded.
    let (status, _) =
        w.s.send_json(
            Method::PUT,
            "/api/v1/policy",
            Auth::Bearer(&w.admin),
            json!({"staging": 1, "production": 2, "archived": 1, "experimental": 0,
                   "archive_previous_production": true, "request_ttl_hours": 168}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, req) = open(&w, "2.0.0", "archived").await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(
        upload(&w, &w.carol, "2.0.0", "extra.bin").await,
        StatusCode::CREATED
    );
    let (status, body) = approve(&w, &w.alice, &req["id"], json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("content changed"),
        "{body}"
    );
    let (_, after) =
        w.s.get_json(&format!("{M}/requests/{}", req["id"]), Auth::Bearer(&w.vic))
            .await;
    assert_eq!(after["state"], "superseded", "{after}");
    assert!(after["close_note"].as_str().unwrap().contains("content"));
    assert_eq!(version(&w, "2.0.0").await["stage"], "experimental");
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'transition.supersede'")
            .await,
        1
    );

    // Rows changed behind the services' back (no API can do this to a frozen
    // version): the digest is recomputed from the rows, so it is caught too.
    let (status, req) = open(&w, "2.1.0", "staging").await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    w.s.exec(
        "UPDATE version_params SET value = '0.5' WHERE key = 'lr' AND version_id = \
         (SELECT id FROM model_versions WHERE version = '2.1.0')",
    )
    .await;
    let (status, body) = approve(&w, &w.alice, &req["id"], json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(version(&w, "2.1.0").await["stage"], "experimental");
    w.s.stop().await;
}

async fn set_alias(w: &World, token: &str, alias: &str, v: &str) -> (StatusCode, Value) {
    send(
        w,
        Method::PUT,
        &format!("{M}/aliases/{alias}"),
        token,
        json!({"version": v, "justification": format!("{alias} to {v}")}),
    )
    .await
}

async fn resolve_alias(w: &World, alias: &str) -> (StatusCode, Value) {
    w.s.get_json(&format!("{M}/aliases/{alias}"), Auth::Bearer(&w.vic))
        .await
}

async fn protected_aliases(db: &TestDb) {
    let w = world(db).await;
    // A receiver for alias events (never reached; the deliveries are queued).
    let (status, body) =
        w.s.post(
            "/api/v1/webhooks",
            &w.admin,
            json!({"url": "http://127.0.0.1:9/hook", "events": ["alias.moved"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Every role, admins included, gets a request rather than a move.
    for (who, token) in [("carol", &w.carol), ("admin", &w.admin)] {
        let (status, req) = set_alias(&w, token, "champion", "2.0.0").await;
        assert_eq!(status, StatusCode::ACCEPTED, "{who}: {req}");
        assert_eq!(req["kind"], "alias.set");
        assert_eq!(req["alias"], "champion");
        assert_eq!(req["required"], 2);
        assert_eq!(resolve_alias(&w, "champion").await.0, StatusCode::NOT_FOUND);
        // One open request per alias: a second one waits for the first.
        let (status, body) = set_alias(&w, &w.carol, "champion", "2.1.0").await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let (status, _) =
            w.s.post(
                &format!("{M}/requests/{}/cancel", req["id"]),
                token,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, req) = set_alias(&w, &w.carol, "champion", "2.0.0").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{req}");
    // Same inbox as stage requests.
    let (_, pending) =
        w.s.get_json("/api/v1/requests?state=pending", Auth::Bearer(&w.vic))
            .await;
    assert!(
        pending["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == req["id"] && r["kind"] == "alias.set"),
        "{pending}"
    );
    // The requester may not approve; viewers and contributors may not either.
    for token in [&w.carol, &w.vic] {
        let (status, _) = approve(&w, token, &req["id"], json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, body) = approve(&w, &w.alice, &req["id"], json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "pending");
    assert_eq!(resolve_alias(&w, "champion").await.0, StatusCode::NOT_FOUND);
    let (status, body) = approve(&w, &w.bob, &req["id"], json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "approved");
    let (status, got) = resolve_alias(&w, "champion").await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["version"], "2.0.0");
    let (_, list) =
        w.s.get_json(&format!("{M}/aliases"), Auth::Bearer(&w.vic))
            .await;
    assert_eq!(list[0]["protected"], true, "{list}");
    let moved: Value = serde_json::from_str(
        &sqlx::query_scalar::<_, String>(
            "SELECT details FROM audit_events WHERE action = 'alias.set' ORDER BY id DESC LIMIT 1",
        )
        .fetch_one(w.s.state.db.pool())
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(moved["request_id"], req["id"], "{moved}");

    // Removing it is governed too.
    let (status, req) = send(
        &w,
        Method::DELETE,
        &format!("{M}/aliases/champion"),
        &w.carol,
        json!(null),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{req}");
    assert_eq!(req["kind"], "alias.remove");
    assert_eq!(resolve_alias(&w, "champion").await.0, StatusCode::OK);
    for approver in [&w.alice, &w.bob] {
        let (status, body) = approve(&w, approver, &req["id"], json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(resolve_alias(&w, "champion").await.0, StatusCode::NOT_FOUND);

    // Unprotected aliases still move at once.
    let (status, body) = set_alias(&w, &w.carol, "canary", "2.1.0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["protected"], false);

    // A policy of its own: `prod-*` needs one sign-off and a Production version.
    let (status, body) = w
        .s
        .send_json(
            Method::PUT,
            "/api/v1/models/fraud-detector/policy",
            Auth::Bearer(&w.admin),
            json!({"protected_aliases": [{"pattern": "prod-*", "approvals": 1, "stage": "production"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = set_alias(&w, &w.carol, "prod-eu", "2.1.0").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Production"),
        "{body}"
    );
    promote(&w, "2.1.0", "staging").await;
    promote(&w, "2.1.0", "production").await;
    let (status, req) = set_alias(&w, &w.carol, "prod-eu", "2.1.0").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{req}");
    assert_eq!(req["required"], 1);
    let (status, _) = approve(&w, &w.alice, &req["id"], json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resolve_alias(&w, "prod-eu").await.1["version"], "2.1.0");
    // A webhook-visible, audited trail: requests and alias moves.
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM webhook_deliveries WHERE event_type = 'alias.moved'")
            .await,
        w.s.count(
            "SELECT COUNT(*) FROM audit_events WHERE action IN ('alias.set', 'alias.delete')"
        )
        .await
    );
    w.s.stop().await;
}

async fn concurrent_alias_approvals(db: &TestDb) {
    let w = world(db).await;
    w.s.create_user("dana", "approver-pass-3", "approver").await;
    let dana = w.s.token_for("dana", "approver-pass-3").await;
    for round in 0..3 {
        let target = if round % 2 == 0 { "2.1.0" } else { "2.0.0" };
        let (status, req) = set_alias(&w, &w.carol, "champion", target).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{req}");
        let (status, _) = approve(&w, &w.alice, &req["id"], json!({})).await;
        assert_eq!(status, StatusCode::OK);
        // Two approvers race for the last sign-off.
        let (x, y) = tokio::join!(
            approve(&w, &w.bob, &req["id"], json!({})),
            approve(&w, &dana, &req["id"], json!({})),
        );
        let mut statuses = [x.0, y.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{x:?} {y:?}"
        );
        assert_eq!(resolve_alias(&w, "champion").await.1["version"], target);
    }
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'alias.set'")
            .await,
        3,
        "each approved request moved the alias exactly once"
    );
    w.s.stop().await;
}

async fn deleted_version(db: &TestDb) {
    let w = world(db).await;
    promote(&w, "2.0.0", "staging").await;
    promote(&w, "2.0.0", "production").await;
    promote(&w, "2.1.0", "staging").await;
    let (status, canary) = set_alias(&w, &w.carol, "canary", "2.1.0").await;
    assert_eq!(status, StatusCode::OK, "{canary}");
    let (status, req) = open(&w, "2.1.0", "production").await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let (status, _) = approve(&w, &w.alice, &req["id"], json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &w,
        Method::DELETE,
        &format!("{M}/versions/2.1.0"),
        &w.admin,
        json!(null),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (_, after) =
        w.s.get_json(&format!("{M}/requests/{}", req["id"]), Auth::Bearer(&w.vic))
            .await;
    assert_eq!(after["state"], "cancelled", "{after}");
    assert_eq!(after["close_note"], "the version was deleted");
    let (status, body) = approve(&w, &w.bob, &req["id"], json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(resolve_alias(&w, "canary").await.0, StatusCode::NOT_FOUND);
    let (status, prod) =
        w.s.get_json(&format!("{M}/stages/production"), Auth::Bearer(&w.vic))
            .await;
    assert_eq!(status, StatusCode::OK, "{prod}");
    assert_eq!(prod["version"], "2.0.0", "production untouched");
    // A request can never be opened on a deleted version either.
    let (status, _) = open(&w, "2.1.0", "production").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE id > (SELECT MAX(id) FROM audit_events \
         WHERE action = 'transition.approve') ORDER BY id",
    )
    .fetch_all(w.s.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        events,
        ["version.delete", "transition.cancel", "alias.delete"]
    );
    w.s.stop().await;
}

async fn digests(db: &TestDb) {
    let w = world(db).await;
    let detail = version(&w, "2.1.0").await;
    let digest = detail["content_digest"].as_str().unwrap().to_owned();
    // The canonical document hashes to the digest, byte for byte.
    let res =
        w.s.client
            .get(w.s.url(&format!("{M}/versions/2.1.0/content")))
            .bearer_auth(&w.vic)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-content-digest"].to_str().unwrap(), digest);
    let document = res.bytes().await.unwrap();
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(&document))),
        digest
    );
    let parsed: Value = serde_json::from_slice(&document).unwrap();
    assert_eq!(parsed["schema"], "model-registry/content/v1");
    assert_eq!(parsed["params"], json!({"lr": "0.01"}));
    assert_eq!(parsed["lineage"]["commit_sha"], "abcdef1");
    let sha = detail["artifacts"][0]["sha256"].clone();
    assert_eq!(parsed["artifacts"][0]["sha256"], sha);
    // Same content, same digest (2.0.0 holds the same file and fields).
    assert_eq!(version(&w, "2.0.0").await["content_digest"], digest);

    promote(&w, "2.1.0", "staging").await;
    promote(&w, "2.1.0", "production").await;
    let (_, prod) =
        w.s.get_json(&format!("{M}/stages/production"), Auth::Bearer(&w.vic))
            .await;
    assert_eq!(prod["content_digest"], digest);
    // The report carries the digest of every sign-off and who added each file.
    let (status, report) =
        w.s.get_json(&format!("{M}/report?format=json"), Auth::Bearer(&w.admin))
            .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let v = &report["versions"][0];
    assert_eq!(v["content_digest"], digest);
    assert_eq!(v["artifacts"][0]["created_by"], "carol");
    assert!(v["artifacts"][0]["created_at"].as_i64().unwrap() > 0);
    let reviews: Vec<&Value> = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["reviews"].as_array().unwrap())
        .collect();
    assert_eq!(reviews.len(), 3);
    assert!(
        reviews.iter().all(|r| r["content_digest"] == digest),
        "{reviews:?}"
    );
    // An approver can pin the digest they reviewed; another digest is refused.
    let (status, req) = open(&w, "2.0.0", "staging").await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let wrong = format!("sha256:{}", "0".repeat(64));
    let (status, body) = approve(&w, &w.alice, &req["id"], json!({"content_digest": wrong})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = approve(
        &w,
        &w.alice,
        &req["id"],
        json!({"content_digest": req["content_digest"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "approved");
    // The chain holds all of it.
    let (_, verify) =
        w.s.get_json("/api/v1/audit/verify", Auth::Bearer(&w.admin))
            .await;
    assert_eq!(verify["intact"], true, "{verify}");
    w.s.stop().await;
}

async fn bad_input(db: &TestDb) {
    let w = world(db).await;
    let events = || w.s.count("SELECT COUNT(*) FROM audit_events");
    let before = events().await;
    let policy = |rules: Value| {
        json!({"staging": 1, "production": 2, "archived": 0, "experimental": 0,
               "archive_previous_production": true, "request_ttl_hours": 168,
               "protected_aliases": rules})
    };
    for rules in [
        json!([{"pattern": "production", "approvals": 1}]),
        json!([{"pattern": "latest", "approvals": 1}]),
        json!([{"pattern": "a b*", "approvals": 1}]),
        json!([{"pattern": "prod-**", "approvals": 1}]),
        json!([{"pattern": "x", "approvals": 11}]),
        json!([{"pattern": "x", "approvals": 1}, {"pattern": "x", "approvals": 2}]),
        json!([{"pattern": "x", "approvals": 1, "stage": "prod"}]),
    ] {
        let (status, body) =
            w.s.send_json(
                Method::PUT,
                "/api/v1/policy",
                Auth::Bearer(&w.admin),
                policy(rules.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{rules}: {body}");
    }
    let (status, body) =
        w.s.send_json(
            Method::PUT,
            "/api/v1/models/fraud-detector/policy",
            Auth::Bearer(&w.admin),
            json!({"protected_aliases": [{"pattern": "v7", "approvals": 1}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The policy form names the field.
    let cookie = w.s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
    let res =
        w.s.server_fn(
            "workflow/save_policy",
            Some(&cookie),
            &[
                ("staging", "1"),
                ("production", "2"),
                ("archived", "0"),
                ("experimental", "0"),
                ("request_ttl_hours", "168"),
                ("protected_aliases", "champion 2\nstaging 1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["InvalidInput"]["field"], "protected_aliases", "{body}");

    // None of the refusals above wrote anything (the admin's sign-in did).
    assert_eq!(
        events().await,
        before + 1,
        "only the sign-in is recorded: {:?}",
        sqlx::query_scalar::<_, String>("SELECT action FROM audit_events ORDER BY id DESC LIMIT 2")
            .fetch_all(w.s.state.db.pool())
            .await
            .unwrap()
    );
    let (status, req) = open(&w, "2.1.0", "staging").await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    for bad in [
        "abc",
        "sha256:xyz",
        "md5:0000",
        &format!("sha256:{}", "a".repeat(63)),
    ] {
        let (status, body) =
            approve(&w, &w.alice, &req["id"], json!({"content_digest": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "content_digest", "{bad}");
    }
    for body in [
        json!({"name": "", "metrics": {"auc": 0.9}}),
        json!({"name": "x", "metrics": {}}),
        json!({"name": "x", "metrics": {"a;b": 1.0}}),
        json!({"name": "x", "metrics": {"auc": 0.9}, "dataset": "a\nb"}),
        json!({"name": "x", "metrics": {"auc": 0.9}, "extra": 1}),
    ] {
        let (status, got) =
            w.s.post(
                &format!("{M}/versions/2.1.0/evaluations"),
                &w.carol,
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {got}");
    }
    // Requests about a version that does not exist, or no longer does.
    let (status, _) = send(
        &w,
        Method::DELETE,
        &format!("{M}/versions/2.0.0"),
        &w.admin,
        json!(null),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after_delete = events().await;
    for (version, expected) in [
        ("2.0.0", StatusCode::NOT_FOUND),
        ("9.9.9", StatusCode::NOT_FOUND),
    ] {
        let (status, body) = open(&w, version, "staging").await;
        assert_eq!(status, expected, "{version}: {body}");
        let (status, _) = set_alias(&w, &w.carol, "champion", version).await;
        assert_eq!(status, expected, "{version}");
    }
    // Nothing above wrote anything.
    assert_eq!(events().await, after_delete);
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM transition_requests").await,
        1
    );
    w.s.stop().await;
}

async fn seeded(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    model_registry::server::seed::seed(
        &s.state.db,
        model_registry::server::seed::SeedSize {
            models: 60,
            versions_per_model: 3,
        },
        |_| {},
    )
    .await
    .unwrap();
    // Every seeded stage is backed by history, and every version by a digest.
    let released = s
        .count("SELECT COUNT(*) FROM model_versions WHERE stage <> 'experimental'")
        .await;
    assert!(released > 0);
    let unexplained = s
        .count(
            "SELECT COUNT(*) FROM model_versions v WHERE v.stage <> 'experimental' AND NOT EXISTS \
             (SELECT 1 FROM stage_history h WHERE h.version_id = v.id AND h.to_stage = v.stage)",
        )
        .await;
    assert_eq!(unexplained, 0);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM model_versions WHERE content_digest IS NULL")
            .await,
        0
    );
    // The events the services would have written, one per model, version and change.
    let versions = s.count("SELECT COUNT(*) FROM model_versions").await;
    let changes = s.count("SELECT COUNT(*) FROM stage_history").await;
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'model.create'")
            .await,
        60
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'version.register'")
            .await,
        versions
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'stage.change'")
            .await,
        changes
    );
    // A seeded production model's report says so.
    let name: String = sqlx::query_scalar(
        "SELECT m.name FROM models m JOIN model_versions v ON v.model_id = m.id \
         WHERE v.stage = 'production' ORDER BY m.id LIMIT 1",
    )
    .fetch_one(s.state.db.pool())
    .await
    .unwrap();
    let (status, report) = s
        .get_json(
            &format!("/api/v1/models/{name}/report?format=json"),
            Auth::Bearer(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["production_timeline"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(report["audit_chain"]["intact"], true);
    // A digest the API recomputes matches the seeded one.
    let (v, digest): (String, String) = sqlx::query_as(
        "SELECT v.version, v.content_digest FROM model_versions v JOIN models m ON m.id = v.model_id \
         WHERE m.name = $1 AND v.stage = 'production'",
    )
    .bind(&name)
    .fetch_one(s.state.db.pool())
    .await
    .unwrap();
    let res = s
        .client
        .get(s.url(&format!("/api/v1/models/{name}/versions/{v}/content")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-content-digest"].to_str().unwrap(), digest);
    let _ = session_cookie;
    s.stop().await;
}
