//! The catalog over HTTP on SQLite and Postgres: models, semver versions,
//! lineage, metrics, search, renames, and bad input.

mod common;

use common::{Auth, TestDb, TestServer};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

on_both_databases! {
    models_are_unique_validated_and_need_contributor => models;
    versions_order_by_semver_and_numbers_are_never_reused => versions;
    concurrent_next_patch_registrations_get_distinct_versions => concurrent_bumps;
    lineage_links_parents_across_models => lineage;
    bad_input_is_refused_and_nothing_half_written => bad_input;
    search_ranks_prefixes_filters_and_pages => search;
    renamed_models_redirect_from_old_names => rename;
    descriptions_are_sanitised_in_pages => markdown;
    metric_points_append_in_batches => metrics;
    corrupt_stored_stages_are_errors_not_defaults => corrupt_stage;
    tag_filters_answer_the_same_whichever_index_a_search_starts_from => tag_plans;
}

async fn models(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    let (status, body) = s.post("/api/v1/models", &admin, json!({"name": "fraud-detector", "team": "risk", "description": "Detects *fraud*.", "tags": {"domain": "payments"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], "fraud-detector");
    assert_eq!(body["tags"]["domain"], "payments");
    assert!(body["description_html"]
        .as_str()
        .unwrap()
        .contains("<em>fraud</em>"));

    let (status, body) = s
        .post("/api/v1/models", &admin, json!({"name": "fraud-detector"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    for bad in ["Fraud", "", "a b", "ünï", "../etc", &"x".repeat(129), "-x"] {
        let (status, body) = s.post("/api/v1/models", &admin, json!({"name": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"]["field"], "name", "{bad}");
    }
    s.create_user("vic", "viewer-password-1", "viewer").await;
    let viewer = s.token_for("vic", "viewer-password-1").await;
    let (status, _) = s
        .post("/api/v1/models", &viewer, json!({"name": "sneaky"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .send_json(
            Method::PATCH,
            "/api/v1/models/fraud-detector",
            Auth::Bearer(&viewer),
            json!({"team": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, got) = s
        .get_json("/api/v1/models/fraud-detector", Auth::Bearer(&viewer))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["team"], "risk");
    assert_eq!(s.count("SELECT COUNT(*) FROM models").await, 1);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'model.create'")
            .await,
        1
    );
    s.stop().await;
}

async fn register(s: &TestServer, token: &str, model: &str, body: Value) -> (StatusCode, Value) {
    s.post(&format!("/api/v1/models/{model}/versions"), token, body)
        .await
}

async fn versions(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    // No versions yet: bumps start from 0.0.0.
    let (status, v) = register(&s, &admin, "m", json!({"bump": "minor"})).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["version"].as_str(), v["seq"].as_i64()),
        (Some("0.1.0"), Some(1))
    );
    for (version, seq) in [
        ("1.10.0", 2),
        ("1.2.0", 3),
        ("1.2.0-rc.1", 4),
        ("v1.2.0-rc.10", 5),
        ("1.2.0-rc.2+build.7", 6),
    ] {
        let (status, v) = register(&s, &admin, "m", json!({"version": version})).await;
        assert_eq!(status, StatusCode::CREATED, "{version}: {v}");
        assert_eq!(v["seq"], seq);
    }
    let (_, list) = s
        .get_json("/api/v1/models/m/versions", Auth::Bearer(&admin))
        .await;
    let order: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "1.10.0",
            "1.2.0",
            "1.2.0-rc.10",
            "1.2.0-rc.2+build.7",
            "1.2.0-rc.1",
            "0.1.0"
        ]
    );

    // Same precedence (build metadata ignored) is a duplicate.
    for dup in ["1.2.0", "1.2.0+other", "1.2.0-rc.2"] {
        let (status, body) = register(&s, &admin, "m", json!({"version": dup})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{dup}: {body}");
    }
    // The next patch above the highest (1.10.0).
    let (_, v) = register(&s, &admin, "m", json!({"bump": "patch"})).await;
    assert_eq!(
        (v["version"].as_str(), v["seq"].as_i64()),
        (Some("1.10.1"), Some(7))
    );

    // Soft deletion: gone from listings, number and version stay taken.
    let res = s
        .client
        .delete(s.url("/api/v1/models/m/versions/1.10.1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        s.get_json("/api/v1/models/m/versions/1.10.1", Auth::Bearer(&admin))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = register(&s, &admin, "m", json!({"version": "1.10.1"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, v) = register(&s, &admin, "m", json!({})).await;
    assert_eq!(
        (v["version"].as_str(), v["seq"].as_i64()),
        (Some("1.10.2"), Some(8))
    );

    // Only description and tags can change.
    let (status, v) = s
        .send_json(
            Method::PATCH,
            "/api/v1/models/m/versions/1.2.0",
            Auth::Bearer(&admin),
            json!({"description": "better", "tags": {"k": "v"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (v["description"].as_str(), v["tags"]["k"].as_str()),
        (Some("better"), Some("v"))
    );
    let (status, _) = s
        .send_json(
            Method::PATCH,
            "/api/v1/models/m/versions/1.2.0",
            Auth::Bearer(&admin),
            json!({"seq": 99}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}

async fn concurrent_bumps(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "race"}))
        .await;
    register(&s, &admin, "race", json!({"version": "1.0.0"})).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (client, url, token) = (
            s.client.clone(),
            s.url("/api/v1/models/race/versions"),
            admin.clone(),
        );
        tasks.spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"bump": "patch", "metrics": {"acc": 0.5}}))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (
                status,
                body["version"].as_str().map(str::to_owned),
                body["seq"].as_i64(),
            )
        });
    }
    let mut versions = Vec::new();
    let mut seqs = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (status, version, seq) = r.unwrap();
        assert_eq!(status, StatusCode::CREATED);
        versions.push(version.unwrap());
        seqs.push(seq.unwrap());
    }
    versions.sort_by_key(|v| {
        v.split('.')
            .map(|p| p.parse::<u64>().unwrap())
            .collect::<Vec<_>>()
    });
    let expected: Vec<String> = (1..=12).map(|p| format!("1.0.{p}")).collect();
    assert_eq!(versions, expected);
    seqs.sort();
    assert_eq!(seqs, (2..=13).collect::<Vec<_>>());
    assert_eq!(s.count("SELECT COUNT(*) FROM model_versions").await, 13);
    assert_eq!(s.count("SELECT COUNT(*) FROM version_metrics").await, 12);

    // Writers on different models do not share a model lock, only the audit
    // chain's order (on Postgres a lock released before the WAL flush).
    for i in 0..12 {
        s.post(
            "/api/v1/models",
            &admin,
            json!({"name": format!("apart-{i}")}),
        )
        .await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (client, url, token) = (
            s.client.clone(),
            s.url(&format!("/api/v1/models/apart-{i}/versions")),
            admin.clone(),
        );
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..5 {
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"bump": "minor"}))
                    .send()
                    .await
                    .unwrap();
                statuses.push(res.status());
            }
            statuses
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert!(r.unwrap().iter().all(|s| *s == StatusCode::CREATED));
    }
    assert_eq!(
        s.count("SELECT COUNT(*) FROM model_versions").await,
        13 + 60
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'version.register'")
            .await,
        13 + 60
    );
    let chain = model_registry::server::repo::audit::verify_chain(s.state.db.pool())
        .await
        .unwrap();
    assert_eq!(chain.first_broken_id, None, "{chain:?}");
    assert!(chain.checked >= 13 + 60 + 12);
    s.stop().await;
}

async fn lineage(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "base-llm"}))
        .await;
    s.post("/api/v1/models", &admin, json!({"name": "support-bot"}))
        .await;
    let (status, _) = register(&s, &admin, "base-llm", json!({"version": "2.0.0"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let body = json!({
        "version": "1.0.0",
        "description": "fine-tuned",
        "lineage": {
            "source_repo": "https://git.example/bots.git",
            "commit_sha": "0123456789abcdef0123456789abcdef01234567",
            "training_script": "train/finetune.py",
            "dataset": {"name": "tickets", "version": "2026-10", "uri": "s3://data/tickets", "hash": "sha256:abc"},
            "parent": {"model": "base-llm", "version": "2.0.0"},
            "framework": "PyTorch",
            "framework_version": "2.5.1",
            "dependencies": "torch==2.5.1\ntransformers==4.46"
        },
        "params": {"lr": 0.0001, "epochs": 3, "optimizer": "adamw", "fp16": true},
        "metrics": {"accuracy": 0.91, "val_loss": 0.31},
        "metric_series": {"train_loss": [{"step": 1, "value": 0.9}, {"step": 2, "value": 0.6}], "val_loss": [{"step": 1, "value": 0.95}, {"step": 2, "value": 0.7}]},
        "tags": {"task": "support"}
    });
    let (status, v) = register(&s, &admin, "support-bot", body).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["lineage"]["parent"],
        json!({"model": "base-llm", "version": "2.0.0"})
    );
    assert_eq!(v["lineage"]["framework"], "pytorch");
    assert_eq!(v["params"]["epochs"], "3");
    assert_eq!(v["params"]["fp16"], "true");
    assert_eq!(
        v["series"]["train_loss"][1],
        json!({"step": 2, "value": 0.6})
    );
    let (_, parent) = s
        .get_json(
            "/api/v1/models/base-llm/versions/2.0.0",
            Auth::Bearer(&admin),
        )
        .await;
    assert_eq!(
        parent["children"],
        json!([{"model": "support-bot", "version": "1.0.0"}])
    );

    let (status, err) = register(
        &s,
        &admin,
        "support-bot",
        json!({"lineage": {"parent": {"model": "base-llm", "version": "9.9.9"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "lineage.parent");
    let (status, err) = register(
        &s,
        &admin,
        "support-bot",
        json!({"lineage": {"parent": {"model": "nope", "version": "1.0.0"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "lineage.parent");

    // The version page shows the lineage and curves, rendered on the server.
    let cookie = s.sign_in("admin", common::ADMIN_PASSWORD).await.unwrap();
    let html = s
        .client
        .get(s.url("/models/support-bot/versions/1.0.0"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "0123456789abcdef0123456789abcdef01234567",
        "train/finetune.py",
        "base-llm 2.0.0",
        "sha256:abc",
        "<svg",
        "<path d=\"M",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    s.stop().await;
}

async fn bad_input(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    let versions_before = s.count("SELECT COUNT(*) FROM model_versions").await;
    let big_points: Vec<Value> = (0..100_000)
        .map(|i| json!({"step": i, "value": 0.5}))
        .collect();
    let cases = [
        (json!({"version": "1.2"}), "version"),
        (json!({"version": "01.2.3"}), "version"),
        (json!({"bump": "huge"}), "bump"),
        (json!({"version": "1.0.0", "bump": "patch"}), "bump"),
        (
            json!({"description": "x".repeat(10 * 1024 * 1024)}),
            "description",
        ),
        (
            json!({"metric_series": {"loss": big_points}}),
            "metric_series",
        ),
        (
            json!({"metric_series": {"loss": [{"step": 1, "value": 1.0}, {"step": 1, "value": 2.0}]}}),
            "metric_series",
        ),
        (json!({"params": {"bad key;": "x"}}), "params"),
        (json!({"params": {"nested": {"a": 1}}}), "params"),
        (
            json!({"lineage": {"commit_sha": "not-a-sha"}}),
            "lineage.commit_sha",
        ),
        (json!({"status": "done"}), "status"),
        (json!({"tags": {"": "x"}}), "tags"),
    ];
    for (body, field) in cases {
        let (status, err) = register(&s, &admin, "m", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    // Infinite numbers cannot even be parsed; unknown fields are refused.
    for raw in [
        r#"{"metrics": {"acc": 1e999}}"#,
        r#"{"metrics": {"acc": NaN}}"#,
        r#"{"verison": "1.0.0"}"#,
        "not json",
    ] {
        let res = s
            .client
            .post(s.url("/api/v1/models/m/versions"))
            .bearer_auth(&admin)
            .header(header::CONTENT_TYPE, "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{raw}");
    }
    let (status, _) = register(&s, &admin, "unknown-model", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM model_versions").await,
        versions_before
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM version_metric_points").await,
        0
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'version.register'")
            .await,
        0
    );

    for query in [
        "owner=me",
        "stage=prod",
        "page=0",
        "per_page=1000",
        "tag=nokey",
    ] {
        let (status, err) = s
            .get_json(&format!("/api/v1/models?{query}"), Auth::Bearer(&admin))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {err}");
    }
    assert_eq!(
        s.get_json(
            "/api/v1/models/m/versions/not.a.version",
            Auth::Bearer(&admin)
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    s.stop().await;
}

async fn search(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    let models = [
        (
            "fraud-detector",
            "risk",
            "Scores card payments for fraud.",
            json!({"domain": "payments"}),
            "pytorch",
        ),
        (
            "fraud-rules",
            "risk",
            "Rule engine baseline.",
            json!({"domain": "payments"}),
            "sklearn",
        ),
        (
            "churn-predictor",
            "growth",
            "Predicts churn; not about fraud at all? It mentions fraud.",
            json!({"domain": "crm"}),
            "xgboost",
        ),
        (
            "image-tagger",
            "vision",
            "Tags product photos.",
            json!({}),
            "pytorch",
        ),
        (
            "fraudulent-text",
            "trust",
            "Spam classifier.",
            json!({"domain": "trust"}),
            "pytorch",
        ),
    ];
    for (name, team, description, tags, framework) in &models {
        let (status, body) = s
            .post(
                "/api/v1/models",
                &admin,
                json!({"name": name, "team": team, "description": description, "tags": tags}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        register(
            &s,
            &admin,
            name,
            json!({"version": "1.0.0", "lineage": {"framework": framework}}),
        )
        .await;
    }
    // A Production version for fraud-detector and image-tagger (the workflow comes later).
    sqlx::query("UPDATE model_versions SET stage = 'production' WHERE model_id IN (SELECT id FROM models WHERE name IN ('fraud-detector', 'image-tagger'))")
        .execute(s.state.db.pool())
        .await
        .unwrap();

    let names = |v: &Value| {
        v["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let search = |q: String| {
        let (s, admin) = (&s, &admin);
        async move {
            let (status, body) = s
                .get_json(&format!("/api/v1/models?{q}"), Auth::Bearer(admin))
                .await;
            assert_eq!(status, StatusCode::OK, "{q}: {body}");
            body
        }
    };
    // The exact name first; every name with the prefix; descriptions match too.
    let r = search("q=fraud-detector".into()).await;
    assert_eq!(names(&r)[0], "fraud-detector");
    let r = search("q=fraud".into()).await;
    let n = names(&r);
    assert_eq!(n.len(), 4, "{n:?}");
    assert!(n.contains(&"churn-predictor".to_owned()));
    assert!(!n.contains(&"image-tagger".to_owned()));
    let r = search("q=fra".into()).await;
    assert!(names(&r).contains(&"fraudulent-text".to_owned()));
    // Team and tag text are searched.
    assert_eq!(names(&search("q=vision".into()).await), ["image-tagger"]);
    assert_eq!(names(&search("q=crm".into()).await), ["churn-predictor"]);
    // Filters.
    assert_eq!(
        names(&search("q=fraud&team=risk&sort=name".into()).await),
        ["fraud-detector", "fraud-rules"]
    );
    assert_eq!(
        names(&search("stage=production&sort=name".into()).await),
        ["fraud-detector", "image-tagger"]
    );
    assert_eq!(
        names(&search("has_production=true&q=fraud".into()).await),
        ["fraud-detector"]
    );
    assert_eq!(
        names(&search("tag=domain%3Dpayments&sort=name".into()).await),
        ["fraud-detector", "fraud-rules"]
    );
    assert_eq!(
        names(&search("framework=pytorch&sort=name".into()).await),
        ["fraud-detector", "fraudulent-text", "image-tagger"]
    );
    // Pagination.
    let p1 = search("sort=name&per_page=2".into()).await;
    let p3 = search("sort=name&per_page=2&page=3".into()).await;
    assert_eq!(names(&p1), ["churn-predictor", "fraud-detector"]);
    assert_eq!(p1["has_next"], true);
    assert_eq!(names(&p3), ["image-tagger"]);
    assert_eq!(p3["has_next"], false);
    // Query syntax is not interpreted.
    for hostile in [
        "%22fraud%22%20OR%20*",
        "fraud%27%3B%20DROP%20TABLE%20models%3B--",
        "NEAR(fraud%20rules)",
        "%2A",
        "%28%29%3A%26%7C%21",
    ] {
        search(format!("q={hostile}")).await;
    }
    // Summaries carry the latest version and stages.
    let r = search("q=fraud-detector".into()).await;
    assert_eq!(r["models"][0]["latest_version"], "1.0.0");
    assert_eq!(r["models"][0]["stages"], json!(["production"]));
    // The page works with the query in the URL, without JavaScript.
    let cookie = s.sign_in("admin", common::ADMIN_PASSWORD).await.unwrap();
    let html = s
        .client
        .get(s.url("/models?q=fraud&team=risk"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("fraud-detector")
            && html.contains("fraud-rules")
            && !html.contains("churn-predictor</a>")
    );
    s.stop().await;
}

async fn rename(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "old-name"}))
        .await;
    register(&s, &admin, "old-name", json!({"version": "1.0.0"})).await;
    let (status, body) = s
        .send_json(
            Method::PATCH,
            "/api/v1/models/old-name",
            Auth::Bearer(&admin),
            json!({"name": "new-name"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let res = s
        .client
        .get(s.url("/api/v1/models/old-name"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()[header::LOCATION], "/api/v1/models/new-name");
    // Versions follow the model.
    assert_eq!(
        s.get_json(
            "/api/v1/models/new-name/versions/1.0.0",
            Auth::Bearer(&admin)
        )
        .await
        .0,
        StatusCode::OK
    );
    let cookie = s.sign_in("admin", common::ADMIN_PASSWORD).await.unwrap();
    let res = s
        .client
        .get(s.url("/models/old-name"))
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()[header::LOCATION], "/models/new-name");
    // The old name can be taken by a new model, which then wins.
    let (status, _) = s
        .post("/api/v1/models", &admin, json!({"name": "old-name"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        s.get_json("/api/v1/models/old-name", Auth::Bearer(&admin))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'model.rename'")
            .await,
        1
    );
    s.stop().await;
}

async fn markdown(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    let evil = "Hello <script>alert('x')</script> [click](javascript:alert(1)) <img src=x onerror=alert(2)> </textarea><script>alert(3)</script>";
    s.post(
        "/api/v1/models",
        &admin,
        json!({"name": "evil", "description": evil}),
    )
    .await;
    let cookie = s.sign_in("admin", common::ADMIN_PASSWORD).await.unwrap();
    let html = s
        .client
        .get(s.url("/models/evil"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Hello"));
    assert!(
        !html.contains("<script>alert"),
        "script survived: {}",
        &html[html.find("<script>alert").unwrap_or(0).saturating_sub(300)..]
    );
    assert!(
        !html.contains("<script>alert(3)"),
        "textarea break-out survived"
    );
    assert!(
        !html.to_lowercase().contains("href=\"javascript:"),
        "javascript: link survived"
    );
    assert!(!html.contains("<img src=x onerror"), "handler survived");
    // The source text is still editable, as text.
    assert!(html.contains("&lt;/textarea&gt;&lt;script&gt;alert(3)"));
    s.stop().await;
}

async fn metrics(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    register(
        &s,
        &admin,
        "m",
        json!({"version": "1.0.0", "status": "registering"}),
    )
    .await;
    let batch = |from: i64| json!({"metric_series": {"loss": (from..from + 100).map(|i| json!({"step": i, "value": 1.0 / (i + 1) as f64})).collect::<Vec<_>>()}});
    let (status, body) = s
        .post("/api/v1/models/m/versions/1.0.0/metrics", &admin, batch(0))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["appended"], 100);
    let (status, _) = s
        .post(
            "/api/v1/models/m/versions/1.0.0/metrics",
            &admin,
            batch(100),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Overlapping steps: refused whole.
    let (status, _) = s
        .post(
            "/api/v1/models/m/versions/1.0.0/metrics",
            &admin,
            batch(150),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM version_metric_points").await,
        200
    );
    let (_, v) = s
        .get_json("/api/v1/models/m/versions/1.0.0", Auth::Bearer(&admin))
        .await;
    assert_eq!(v["series"]["loss"].as_array().unwrap().len(), 200);

    // Still registering: nothing to sign off yet.
    let promote = || {
        s.post(
            "/api/v1/models/m/versions/1.0.0/requests",
            &admin,
            json!({"to": "staging", "justification": "first try"}),
        )
    };
    let (status, body) = promote().await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("registering, not ready"),
        "{body}"
    );
    let finish = |status: &'static str| {
        s.post(
            "/api/v1/models/m/versions/1.0.0/registration",
            &admin,
            json!({ "status": status }),
        )
    };
    for bad in ["done", "registering"] {
        let (status, body) = finish(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["field"], "status");
    }
    s.create_user("vic", "viewer-password-1", "viewer").await;
    let viewer = s.token_for("vic", "viewer-password-1").await;
    let (status, _) = s
        .post(
            "/api/v1/models/m/versions/1.0.0/registration",
            &viewer,
            json!({ "status": "ready" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot end it");
    let (status, body) = finish("ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(finish("failed").await.0, StatusCode::CONFLICT, "ended once");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'version.registered'")
            .await,
        1
    );
    let (status, body) = promote().await;
    assert!(status.is_success(), "{body}");
    s.stop().await;
}

/// A stage the code does not know, written behind the registry's back, is a
/// 500 (logged with the column and value), never read as Experimental; the
/// other versions of the model still answer.
async fn corrupt_stage(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    s.post("/api/v1/models", &admin, json!({"name": "m"})).await;
    for v in ["1.0.0", "1.1.0"] {
        let (status, body) = register(&s, &admin, "m", json!({"version": v})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = s
        .get_json("/api/v1/models/m/versions/1.0.0", Auth::Bearer(&admin))
        .await;
    assert_eq!(status, StatusCode::OK);
    s.exec("UPDATE model_versions SET stage = 'bogus' WHERE version = '1.0.0'")
        .await;
    let (status, body) = s
        .get_json("/api/v1/models/m/versions/1.0.0", Auth::Bearer(&admin))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["error"]["code"], "internal");
    assert!(
        !body.to_string().contains("bogus"),
        "internal causes are logged, not shown: {body}"
    );
    let (status, body) = s
        .get_json("/api/v1/models/m/versions/1.1.0", Auth::Bearer(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stage"], "experimental");
    s.stop().await;
}

/// A tag filter few models carry is read from the tag index first, one many
/// carry is checked per model along the sort order (`repo::tags::
/// SELECTIVE_TAG`). Either way the page is exactly what a plain reading of
/// the whole catalog gives. 16,000 seeded models: each `tier` value is on
/// ~5,300 (walked), each `domain` on ~1,000 (tag first), and a domain's
/// models sit together in name order (names start with it), the case the
/// tag-first read exists for.
async fn tag_plans(db: &TestDb) {
    use model_registry::server::{
        repo::tags,
        seed::{seed, SeedSize},
    };
    let s = TestServer::start(db.config()).await;
    let pool = s.state.db.pool();
    let size = SeedSize {
        models: 16_000,
        versions_per_model: 1,
    };
    seed(&s.state.db, size, |_| {}).await.expect("seed");
    let admin = s.admin_token().await;
    let models: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, name, updated_at FROM models WHERE deleted_at IS NULL")
            .fetch_all(pool)
            .await
            .expect("models");
    let all_tags: std::collections::HashSet<(i64, String, String)> =
        sqlx::query_as("SELECT model_id, key, value FROM model_tags")
            .fetch_all(pool)
            .await
            .expect("tags")
            .into_iter()
            .collect();
    let carrying = |filters: &[(&str, &str)]| -> Vec<&(i64, String, i64)> {
        models
            .iter()
            .filter(|(id, ..)| {
                filters
                    .iter()
                    .all(|(k, v)| all_tags.contains(&(*id, k.to_string(), v.to_string())))
            })
            .collect()
    };
    let names = |body: &Value, list: &str| -> Vec<String> {
        body[list]
            .as_array()
            .unwrap_or_else(|| panic!("no {list}: {body}"))
            .iter()
            .map(|m| m["name"].as_str().expect("name").to_owned())
            .collect()
    };
    for (key, value, selective) in [("tier", "critical", false), ("domain", "fraud", true)] {
        assert_eq!(
            tags::selective(pool, key, value).await.expect("count"),
            selective,
            "{key}={value}"
        );
        let mut found = carrying(&[(key, value)]);
        // MLflow: by name, byte order.
        found.sort_by(|a, b| a.1.cmp(&b.1));
        let expected: Vec<String> = found.iter().take(100).map(|m| m.1.clone()).collect();
        let filter = format!("tags.{key} = '{value}'");
        let path = format!(
            "/api/2.0/mlflow/registered-models/search?max_results=100&filter={}",
            filter.replace(' ', "%20").replace('\'', "%27")
        );
        let (status, body) = s.get_json(&path, Auth::Bearer(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(names(&body, "registered_models"), expected, "{filter}");
        // The catalog: newest first, then by name.
        found.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
        let expected: Vec<String> = found.iter().take(100).map(|m| m.1.clone()).collect();
        let path = format!("/api/v1/models?tag={key}%3D{value}&sort=updated&per_page=100");
        let (status, body) = s.get_json(&path, Auth::Bearer(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(names(&body, "models"), expected, "catalog {key}={value}");
    }
    // Both at once: one read from the index, the other checked per model.
    let mut found = carrying(&[("tier", "critical"), ("domain", "fraud")]);
    found.sort_by(|a, b| a.1.cmp(&b.1));
    let expected: Vec<String> = found.iter().take(100).map(|m| m.1.clone()).collect();
    let path = "/api/2.0/mlflow/registered-models/search?max_results=100\
                &filter=tags.tier%20%3D%20%27critical%27%20AND%20tags.domain%20%3D%20%27fraud%27";
    let (status, body) = s.get_json(path, Auth::Bearer(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body, "registered_models"), expected);
    s.stop().await;
}
