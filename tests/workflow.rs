//! The promotion workflow over HTTP on SQLite and Postgres: requests,
//! sign-offs, refusals, concurrency, aliases, the CI/CD lookups and the
//! approval policy.

mod common;

use common::{Auth, TestDb, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_databases! {
    two_other_approvers_promote_and_the_lookup_follows => promotion;
    refused_reviews_change_nothing => refusals;
    concurrent_approvals_apply_exactly_once => concurrent_approvals;
    concurrent_promotions_leave_one_production_version => concurrent_promotions;
    aliases_are_set_moved_resolved_and_removed => aliases;
    policy_is_admin_only_and_shapes_promotions => policy;
}

/// A server with a model, two versions, and one user of each role.
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
    for v in ["2.0.0", "2.1.0"] {
        let (status, body) = s
            .post(
                "/api/v1/models/fraud-detector/versions",
                &carol,
                json!({"version": v, "metrics": {"auc": 0.9}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    World {
        s,
        admin,
        carol,
        alice,
        bob,
        vic,
    }
}

async fn open(w: &World, token: &str, version: &str, to: &str) -> (StatusCode, Value) {
    w.s.post(
        &format!("/api/v1/models/fraud-detector/versions/{version}/requests"),
        token,
        json!({"to": to, "justification": format!("ship {version}")}),
    )
    .await
}

async fn act(w: &World, token: &str, id: &Value, verb: &str, body: Value) -> (StatusCode, Value) {
    w.s.post(
        &format!("/api/v1/models/fraud-detector/requests/{id}/{verb}"),
        token,
        body,
    )
    .await
}

/// Moves a version to `to` with carol asking and alice then bob approving
/// as far as needed.
async fn promote(w: &World, version: &str, to: &str) {
    let (status, req) = open(w, &w.carol, version, to).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let mut state = req["state"].as_str().unwrap().to_owned();
    for approver in [&w.alice, &w.bob] {
        if state == "approved" {
            break;
        }
        let (status, body) = act(w, approver, &req["id"], "approve", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        state = body["state"].as_str().unwrap().to_owned();
    }
    assert_eq!(state, "approved", "{version} → {to}");
}

async fn stage_of(w: &World, version: &str) -> String {
    let (_, body) =
        w.s.get_json(
            &format!("/api/v1/models/fraud-detector/versions/{version}"),
            Auth::Bearer(&w.vic),
        )
        .await;
    body["stage"].as_str().unwrap().to_owned()
}

async fn promotion(db: &TestDb) {
    let w = world(db).await;
    let s = &w.s;
    // An artifact, so the lookup has files to hand out.
    let res = s
        .client
        .put(s.url("/api/v1/models/fraud-detector/versions/2.1.0/artifacts/model.safetensors"))
        .bearer_auth(&w.carol)
        .body(vec![7u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    promote(&w, "2.0.0", "staging").await;
    promote(&w, "2.0.0", "production").await;
    promote(&w, "2.1.0", "staging").await;

    // 2.1.0 to production: two sign-offs, never the requester's.
    let (status, req) = open(&w, &w.carol, "2.1.0", "production").await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["state"], "pending");
    assert_eq!(req["required"], 2);
    let id = &req["id"];
    let (status, body) = act(&w, &w.carol, id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}"); // a contributor
    let (status, body) = act(&w, &w.vic, id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, body) = act(&w, &w.alice, id, "approve", json!({"comment": "AUC holds"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "pending");
    assert_eq!(body["approvals"], 1);
    let (status, body) = act(&w, &w.alice, id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Still 2.0.0 in production until the policy is met.
    let (_, prod) = s
        .get_json(
            "/api/v1/models/fraud-detector/stages/production",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(prod["version"], "2.0.0");
    let (status, body) = act(&w, &w.bob, id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "approved");
    assert_eq!(body["reviews"].as_array().unwrap().len(), 2);

    // The lookup answers the new version at once, with its files.
    let (status, prod) = s
        .get_json(
            "/api/v1/models/fraud-detector/stages/Production",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{prod}");
    assert_eq!(prod["version"], "2.1.0");
    assert_eq!(prod["stage"], "production");
    let files = prod["artifacts"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["size"], 1000);
    assert_eq!(files[0]["sha256"].as_str().unwrap().len(), 64);
    let url = files[0]["download_url"].as_str().unwrap();
    let bytes = s
        .client
        .get(s.url(url))
        .bearer_auth(&w.vic)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len(), 1000);
    // The old production version was archived in the same transaction.
    assert_eq!(stage_of(&w, "2.0.0").await, "archived");
    let (status, old) = s
        .get_json(
            "/api/v1/models/fraud-detector/stages/archived?matches=%5E2.0",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{old}");
    assert_eq!(old["version"], "2.0.0");
    let (status, _) = s
        .get_json(
            "/api/v1/models/fraud-detector/stages/production?matches=%5E3",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in ["%5Ex", "%3E%3E1", ""] {
        let (status, body) = s
            .get_json(
                &format!("/api/v1/models/fraud-detector/stages/production?matches={bad}"),
                Auth::Bearer(&w.vic),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "matches");
    }
    let (status, body) = s
        .get_json(
            "/api/v1/models/fraud-detector/stages/prod",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "stage");
    let (status, _) = s
        .get_json(
            "/api/v1/models/fraud-detector/stages/production",
            Auth::None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // History and audit: every move recorded once, with who and why.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM model_versions WHERE stage = 'production'")
            .await,
        1
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM stage_history").await, 5);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'stage.change'")
            .await,
        5
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'transition.approve'")
            .await,
        6
    );
    // The requester sees it in their list; filters work.
    let (status, mine) = s
        .get_json(
            "/api/v1/requests?mine=true&state=approved",
            Auth::Bearer(&w.carol),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["requests"].as_array().unwrap().len(), 4);
    let (_, theirs) = s
        .get_json("/api/v1/requests?mine=true", Auth::Bearer(&w.alice))
        .await;
    assert_eq!(theirs["requests"].as_array().unwrap().len(), 0);
    let (status, body) = s
        .get_json("/api/v1/requests?state=open", Auth::Bearer(&w.alice))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "state");
    let _ = &w.admin;
    w.s.stop().await;
}

async fn refusals(db: &TestDb) {
    let w = world(db).await;
    let s = &w.s;
    promote(&w, "2.0.0", "staging").await;

    // Bad input: unknown stage, forbidden move, missing justification.
    let (status, body) = open(&w, &w.carol, "2.1.0", "prod").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "to");
    let (status, body) = open(&w, &w.carol, "2.1.0", "production").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "to");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("staging"));
    let (status, body) = s
        .post(
            "/api/v1/models/fraud-detector/versions/2.1.0/requests",
            &w.carol,
            json!({"to": "staging", "justification": "  "}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "justification");
    let (status, _) = open(&w, &w.vic, "2.1.0", "staging").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Rejected: closed, with the reason; cannot be approved afterwards.
    let (_, req) = open(&w, &w.carol, "2.0.0", "production").await;
    let id = req["id"].clone();
    let (status, body) = open(&w, &w.carol, "2.0.0", "production").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "one open request per version: {body}"
    );
    let (status, body) = act(&w, &w.alice, &id, "reject", json!({})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a rejection needs a reason"
    );
    assert_eq!(body["error"]["field"], "comment");
    let (status, body) = act(
        &w,
        &w.alice,
        &id,
        "approve",
        json!({"comment": "x".repeat(2001)}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "comment");
    let (status, body) = act(
        &w,
        &w.carol,
        &id,
        "reject",
        json!({"comment": "never mind"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = act(
        &w,
        &w.alice,
        &id,
        "reject",
        json!({"comment": "recall too low"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "rejected");
    assert_eq!(body["close_note"], "recall too low");
    let (status, body) = act(&w, &w.bob, &id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("rejected"));

    // Self-approval is refused by rule, not by role: alice asks, alice can't approve.
    let (_, req) = open(&w, &w.alice, "2.0.0", "production").await;
    let id = req["id"].clone();
    let (status, body) = act(&w, &w.alice, &id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "not_allowed");
    // A request id under another model's name is not found.
    s.post("/api/v1/models", &w.admin, json!({"name": "other"}))
        .await;
    let (status, _) = s
        .post(
            &format!("/api/v1/models/other/requests/{id}/approve"),
            &w.bob,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s
        .post(
            "/api/v1/models/fraud-detector/requests/abc/approve",
            &w.bob,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "id");
    // Cancelled by someone else: refused; by the requester: done, then unapprovable.
    let (status, _) = act(&w, &w.carol, &id, "cancel", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = act(
        &w,
        &w.alice,
        &id,
        "cancel",
        json!({"reason": "wrong build"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "cancelled");
    let (status, _) = act(&w, &w.bob, &id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Expired: past its deadline, approving closes it as expired and refuses.
    let (_, req) = open(&w, &w.carol, "2.0.0", "production").await;
    let id = req["id"].clone();
    s.exec(&format!(
        "UPDATE transition_requests SET expires_at = 1 WHERE id = {id}"
    ))
    .await;
    let (status, body) = act(&w, &w.bob, &id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    let (_, body) = s
        .get_json(
            &format!("/api/v1/models/fraud-detector/requests/{id}"),
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(body["state"], "expired");
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM transition_requests WHERE id = {id} AND state = 'expired'"
        ))
        .await,
        1
    );

    // Nothing of all that moved a version or left a stray sign-off.
    assert_eq!(stage_of(&w, "2.0.0").await, "staging");
    assert_eq!(stage_of(&w, "2.1.0").await, "experimental");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM request_reviews WHERE decision = 'approve'")
            .await,
        1, // alice's staging sign-off for 2.0.0, from `promote`
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM transition_requests WHERE state = 'pending'")
            .await,
        0
    );
    w.s.stop().await;
}

async fn concurrent_approvals(db: &TestDb) {
    let w = world(db).await;
    let s = &w.s;
    promote(&w, "2.0.0", "staging").await;
    let mut approvers = Vec::new();
    for i in 0..6 {
        let name = format!("approver{i}");
        s.create_user(&name, "approver-pass-9", "approver").await;
        approvers.push(s.token_for(&name, "approver-pass-9").await);
    }
    let (_, req) = open(&w, &w.carol, "2.0.0", "production").await;
    let id = req["id"].clone();
    let calls = approvers
        .iter()
        .map(|token| act(&w, token, &id, "approve", json!({})));
    let results = futures_util::future::join_all(calls).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let conflicts = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    // Two sign-offs are needed: the first records, the second applies, the
    // rest find the request closed.
    assert_eq!((ok, conflicts), (2, 4), "{results:?}");
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM stage_history WHERE request_id = {id}"
        ))
        .await,
        1
    );
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM request_reviews WHERE request_id = {id}"
        ))
        .await,
        2
    );
    assert_eq!(stage_of(&w, "2.0.0").await, "production");
    w.s.stop().await;
}

async fn concurrent_promotions(db: &TestDb) {
    let w = world(db).await;
    let s = &w.s;
    let (status, body) = s
        .send_json(
            Method::PUT,
            "/api/v1/models/fraud-detector/policy",
            Auth::Bearer(&w.admin),
            json!({"production": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for round in 0..3 {
        let (a, b) = (format!("3.{round}.0"), format!("3.{round}.1"));
        for v in [&a, &b] {
            s.post(
                "/api/v1/models/fraud-detector/versions",
                &w.carol,
                json!({"version": v}),
            )
            .await;
            promote(&w, v, "staging").await;
        }
        let (_, ra) = open(&w, &w.carol, &a, "production").await;
        let (_, rb) = open(&w, &w.carol, &b, "production").await;
        let (x, y) = tokio::join!(
            act(&w, &w.alice, &ra["id"], "approve", json!({})),
            act(&w, &w.bob, &rb["id"], "approve", json!({})),
        );
        // Both apply, one after the other; the later one archives the earlier.
        assert_eq!((x.0, y.0), (StatusCode::OK, StatusCode::OK), "{x:?} {y:?}");
        assert_eq!(
            s.count("SELECT COUNT(*) FROM model_versions WHERE stage = 'production' AND deleted_at IS NULL")
                .await,
            1
        );
        let mut stages = [stage_of(&w, &a).await, stage_of(&w, &b).await];
        stages.sort();
        assert_eq!(stages, ["archived", "production"]);
    }
    w.s.stop().await;
}

async fn aliases(db: &TestDb) {
    // `canary` is not protected by the default policy, so it moves at once
    // (protected aliases are covered in tests/release.rs).
    let w = world(db).await;
    let s = &w.s;
    let put = |token, alias, version| put_alias(s, token, alias, version);
    let (status, body) = put(&w.carol, "canary", "2.0.0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, got) = s
        .get_json(
            "/api/v1/models/fraud-detector/aliases/canary",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(got["version"], "2.0.0");
    let (status, _) = put(&w.carol, "canary", "2.1.0").await;
    assert_eq!(status, StatusCode::OK);
    let (_, got) = s
        .get_json(
            "/api/v1/models/fraud-detector/aliases/canary",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(got["version"], "2.1.0");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'alias.set'")
            .await,
        2
    );
    for bad in ["production", "latest", "v3", "a.b", "has%20space"] {
        let (status, body) = put(&w.carol, bad, "2.0.0").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "alias", "{bad}");
    }
    let (status, _) = put(&w.vic, "sneaky", "2.0.0").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = put(&w.carol, "challenger", "9.9.9").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = put(&w.carol, "challenger", "not-semver").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "version");
    // Stage names and `latest` resolve through the alias route too.
    let (_, got) = s
        .get_json(
            "/api/v1/models/fraud-detector/aliases/latest",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(got["version"], "2.1.0");
    let (status, _) = s
        .get_json(
            "/api/v1/models/fraud-detector/aliases/production",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing in production yet");
    let (_, list) = s
        .get_json(
            "/api/v1/models/fraud-detector/aliases",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = s
        .send_json(
            Method::DELETE,
            "/api/v1/models/fraud-detector/aliases/canary",
            Auth::Bearer(&w.vic),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .send_json(
            Method::DELETE,
            "/api/v1/models/fraud-detector/aliases/canary",
            Auth::Bearer(&w.carol),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .get_json(
            "/api/v1/models/fraud-detector/aliases/canary",
            Auth::Bearer(&w.vic),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    w.s.stop().await;
}

async fn put_alias(s: &TestServer, token: &str, alias: &str, version: &str) -> (StatusCode, Value) {
    s.send_json(
        Method::PUT,
        &format!("/api/v1/models/fraud-detector/aliases/{alias}"),
        Auth::Bearer(token),
        json!({"version": version}),
    )
    .await
}

async fn policy(db: &TestDb) {
    let w = world(db).await;
    let s = &w.s;
    let (status, got) = s.get_json("/api/v1/policy", Auth::Bearer(&w.vic)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["registry"]["staging"], 1);
    assert_eq!(got["registry"]["production"], 2);
    let policy = json!({"staging": 0, "production": 1, "archived": 0, "experimental": 0,
        "archive_previous_production": false, "request_ttl_hours": 24});
    let (status, _) = s
        .send_json(
            Method::PUT,
            "/api/v1/policy",
            Auth::Bearer(&w.alice),
            policy.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut bad = policy.clone();
    bad["production"] = json!(11);
    let (status, body) = s
        .send_json(Method::PUT, "/api/v1/policy", Auth::Bearer(&w.admin), bad)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = s
        .send_json(
            Method::PUT,
            "/api/v1/policy",
            Auth::Bearer(&w.admin),
            policy,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Staging now needs nobody: applied at once, still on the record.
    let (status, req) = open(&w, &w.carol, "2.0.0", "staging").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(req["state"], "approved");
    assert_eq!(stage_of(&w, "2.0.0").await, "staging");
    promote(&w, "2.0.0", "production").await;
    promote(&w, "2.1.0", "staging").await;
    promote(&w, "2.1.0", "production").await;
    // archive_previous_production = false: the old version goes back to staging.
    assert_eq!(stage_of(&w, "2.0.0").await, "staging");
    assert_eq!(stage_of(&w, "2.1.0").await, "production");
    // The request's expiry follows the policy's TTL (24 h).
    let (_, req) = open(&w, &w.carol, "2.0.0", "archived").await;
    assert_eq!(req["state"], "approved");
    let (_, list) = s
        .get_json("/api/v1/requests?limit=1", Auth::Bearer(&w.vic))
        .await;
    let r = &list["requests"][0];
    assert_eq!(
        r["expires_at"].as_i64().unwrap() - r["created_at"].as_i64().unwrap(),
        24 * 3_600_000
    );
    assert!(list["next_before"].is_i64());
    // A model override beats the registry policy, and only admins set it.
    let (status, _) = s
        .send_json(
            Method::PUT,
            "/api/v1/models/fraud-detector/policy",
            Auth::Bearer(&w.carol),
            json!({"staging": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s
        .send_json(
            Method::PUT,
            "/api/v1/models/fraud-detector/policy",
            Auth::Bearer(&w.admin),
            json!({"staging": 3, "bogus": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    s.send_json(
        Method::PUT,
        "/api/v1/models/fraud-detector/policy",
        Auth::Bearer(&w.admin),
        json!({"staging": 3}),
    )
    .await;
    let (_, req) = open(&w, &w.carol, "2.0.0", "staging").await;
    assert_eq!(req["required"], 3, "{req}");
    let (_, got) = s.get_json("/api/v1/policy", Auth::Bearer(&w.vic)).await;
    assert_eq!(got["overrides"]["fraud-detector"]["staging"], 3);
    w.s.stop().await;
}
