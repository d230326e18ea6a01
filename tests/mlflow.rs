//! The MLflow-compatible registry API, on SQLite and Postgres: the official
//! `mlflow` Python client (`tests/mlflow/client_session.py`, from the
//! virtualenv `.ci/install --test` makes) against a live server, and the
//! wire format checked directly: error bodies, both path prefixes, hostile
//! filters that stay data.

mod common;

use common::{Auth, TestDb, TestServer, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases! {
    the_official_client_session_passes => client_session;
    errors_prefixes_and_hostile_filters => wire_format;
    cached_basic_credentials_never_outlive_a_change => basic_cache;
    pyfunc_models_load_by_alias_stage_and_production => pyfunc_loop;
    log_model_registers_a_version_that_loads_by_alias => log_model_loop;
    a_600_mb_artifact_goes_both_ways_with_flat_memory => big_artifact;
    on_s3_the_client_uploads_parts_to_presigned_urls => s3_multipart;
}

fn python() -> std::path::PathBuf {
    let path = std::env::var_os("MLFLOW_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mlflow-venv/bin/python")
        });
    assert!(
        path.exists(),
        "no Python with mlflow at {}: run `bash .ci/install --test` (or set MLFLOW_PYTHON)",
        path.display()
    );
    path
}

/// Runs `tests/mlflow/<script>` with the official client against `s`, with
/// `MLFLOW_TRACKING_URI` and `env` set; the script must exit 0 and print
/// "all checks passed". Returns what it printed.
async fn run_script(s: &TestServer, script: &str, env: &[(&str, &str)]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mlflow")
        .join(script);
    let mut command = std::process::Command::new(python());
    command.arg(&script).env("MLFLOW_TRACKING_URI", &s.base);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("all checks passed"), "{text}");
    text
}

/// The users the scripts act as, by role (`<ROLE>_USER`, `<ROLE>_PASSWORD`).
const USERS: [(&str, &str); 10] = [
    ("ADMIN_USER", "admin"),
    ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ("CONTRIBUTOR_USER", "carol"),
    ("CONTRIBUTOR_PASSWORD", "contributor-pass-1"),
    ("APPROVER_USER", "alice"),
    ("APPROVER_PASSWORD", "approver-pass-1"),
    ("APPROVER2_USER", "bob"),
    ("APPROVER2_PASSWORD", "approver-pass-2"),
    ("VIEWER_USER", "vic"),
    ("VIEWER_PASSWORD", "viewer-pass-1"),
];

async fn create_users(s: &TestServer) {
    s.create_user("carol", "contributor-pass-1", "contributor")
        .await;
    s.create_user("alice", "approver-pass-1", "approver").await;
    s.create_user("bob", "approver-pass-2", "approver").await;
    s.create_user("vic", "viewer-pass-1", "viewer").await;
}

async fn client_session(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    create_users(&s).await;
    // Fail fast instead of retrying refused calls.
    let env = [
        USERS.as_slice(),
        &[("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")],
    ]
    .concat();
    run_script(&s, "client_session.py", &env).await;
    // Everything the client did is in the audit trail, attributed.
    assert!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'model.create' AND actor_username = 'carol'")
            .await
            >= 4
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'model.delete' AND actor_username = 'admin'")
            .await,
        1
    );
    s.stop().await;
}

/// `tests/mlflow/pyfunc_loop.py`: the full `mlflow` package saves pyfunc
/// models, uploads them (our REST API, MLflow's artifact client) and loads
/// them back by every kind of `models:/` URI in fresh processes.
async fn pyfunc_loop(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    create_users(&s).await;
    // Between calls the script waits for model loads in other processes;
    // the client may then reuse a keep-alive connection the server just
    // closed as idle, which MLflow's client retries (refusals, 4xx, never).
    let retries = [
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
        ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0"),
    ];
    run_script(&s, "pyfunc_loop.py", &[USERS.as_slice(), &retries].concat()).await;
    // The files MLflow's client sent are audited like any upload, by its user.
    assert!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'artifact.upload' AND actor_username = 'carol' AND target_id LIKE 'adder@1.1.0/%'")
            .await
            >= 2
    );
    // Nothing the hostile paths named was stored.
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM artifacts WHERE path LIKE '%escape%' OR path LIKE '%passwd%'"
        )
        .await,
        0
    );
    s.stop().await;
}

/// `tests/mlflow/log_model_loop.py`: a training job logs a run and a pyfunc
/// model with `registered_model_name`, and registers a run's files with
/// `register_model("runs:/…")`; both load by `models:/` URIs. Every step
/// is audited by the job's user, and the version's files are the logged
/// model's objects (shared, not copied).
async fn log_model_loop(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    create_users(&s).await;
    let retries = [
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
        ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0"),
    ];
    run_script(
        &s,
        "log_model_loop.py",
        &[USERS.as_slice(), &retries].concat(),
    )
    .await;
    for action in [
        "experiment.create",
        "run.create",
        "run.log",
        "run.update",
        "logged_model.create",
        "logged_model.finalize",
        "tracking_file.upload",
        "version.register",
    ] {
        let n = s
            .count(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND actor_username = 'carol'"
            ))
            .await;
        assert!(n >= 1, "no {action} event by the job's user");
    }
    // Version 1's files are the logged model's objects, recorded once each.
    let shared = s
        .count(
            "SELECT COUNT(*) FROM artifacts a JOIN tracking_files t ON t.storage_key = a.storage_key \
             WHERE t.owner_kind = 'logged_model'",
        )
        .await;
    assert!(shared >= 2, "{shared} shared objects");
    // The refused writes (a viewer, bad input) left nothing behind.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM mlflow_run_params WHERE key = 'sneaky' OR value = '0.5'")
            .await,
        0
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM mlflow_run_metrics WHERE key = 'm'")
            .await,
        0
    );
    let (status, chain) = s
        .get_json(
            "/api/v1/audit/verify?full=true",
            Auth::Basic("admin", ADMIN_PASSWORD),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{chain}");
    assert_eq!(chain["intact"], json!(true), "{chain}");
    s.stop().await;
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// `tests/mlflow/big_artifact.py`: 600 MB up through MLflow's artifact
/// client (multipart on, so its fallback to one streamed PUT is what runs)
/// and down through `models:/big/1`. The server runs in this process: its
/// memory, sampled throughout, must not grow by anything like the file.
async fn big_artifact(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    upload_big_artifact(&s, false).await;
    s.stop().await;
}

/// 600 MB through MLflow's multipart path: the server's store is S3
/// (`s3s-fs`, which `.ci/test` starts), so the registry hands out presigned
/// part URLs and hashes the completed object before recording it.
async fn s3_multipart(db: &TestDb) {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "set AWS_ENDPOINT_URL to an S3-compatible server (.ci/test starts s3s-fs)"
    );
    let (s, _) = common::s3_server(db, &common::bucket_name("mpu")).await;
    upload_big_artifact(&s, true).await;
    // The journal of uploads in flight is empty again.
    assert_eq!(s.count("SELECT COUNT(*) FROM pending_uploads").await, 0);
    interrupted_multipart(&s).await;
    s.stop().await;
}

/// A client that gives up aborts: the upload leaves the journal, and its id
/// completes nothing afterwards. A viewer cannot start one.
async fn interrupted_multipart(s: &TestServer) {
    s.create_user("vic", "viewer-pass-1", "viewer").await;
    let mpu = |step: &str| {
        s.url(&format!(
            "/api/2.0/mlflow-artifacts/mpu/{step}/models/big/1.0.0"
        ))
    };
    let send = |step: &str, user: &str, password: &str, body: Value| {
        s.client
            .post(mpu(step))
            .basic_auth(user, Some(password))
            .json(&body)
            .send()
    };
    let res = send(
        "create",
        "vic",
        "viewer-pass-1",
        json!({"path": "/tmp/w.bin", "num_parts": 2}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = send(
        "create",
        "carol",
        "contributor-pass-1",
        json!({"path": "/tmp/w.bin", "num_parts": 2}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let started: Value = res.json().await.unwrap();
    let upload_id = started["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(
        started["credentials"].as_array().unwrap().len(),
        2,
        "{started}"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM pending_uploads").await, 1);
    let body = json!({"path": "/tmp/w.bin", "upload_id": upload_id});
    let res = send("abort", "carol", "contributor-pass-1", body)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(s.count("SELECT COUNT(*) FROM pending_uploads").await, 0);
    let body = json!({"path": "/tmp/w.bin", "upload_id": upload_id,
                      "parts": [{"part_number": 1, "etag": "x"}]});
    let res = send("complete", "carol", "contributor-pass-1", body)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM artifacts WHERE path = 'w.bin'")
            .await,
        0
    );
}

async fn upload_big_artifact(s: &TestServer, expect_multipart: bool) {
    s.create_user("carol", "contributor-pass-1", "contributor")
        .await;
    let token = s.token_for("carol", "contributor-pass-1").await;
    let (status, _) = s
        .post("/api/v1/models", &token, json!({"name": "big"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = s
        .post(
            "/api/v1/models/big/versions",
            &token,
            json!({"version": "1.0.0"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let baseline = rss_kib();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib());
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            peak
        })
    };
    let env = [
        ("MLFLOW_TRACKING_USERNAME", "carol"),
        ("MLFLOW_TRACKING_PASSWORD", "contributor-pass-1"),
        ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true"),
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"),
        ("BIG_ARTIFACT_MB", "600"),
        ("EXPECT_MULTIPART", if expect_multipart { "1" } else { "0" }),
    ];
    let text = run_script(s, "big_artifact.py", &env).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    let growth_mib = peak.saturating_sub(baseline) / 1024;
    eprintln!(
        "big artifact: {} server RSS growth {growth_mib} MiB",
        text.lines().next().unwrap_or("")
    );
    // Other tests share this process, so allow for their noise; a buffered
    // 600 MB body would be far above this.
    assert!(growth_mib < 256, "server memory grew by {growth_mib} MiB");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'artifact.upload' AND actor_username = 'carol'")
            .await,
        1
    );
}

async fn call(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    auth: Auth<'_>,
    body: Value,
) -> (StatusCode, Value) {
    s.send_json(method, path, auth, body).await
}

async fn wire_format(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = Auth::Basic("admin", ADMIN_PASSWORD);
    use reqwest::Method;
    for prefix in ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        let (status, body) = s
            .get_json(
                &format!("{prefix}/registered-models/get?name=missing"),
                admin,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
        assert_eq!(
            body["message"],
            "Registered Model with name=missing not found"
        );
    }
    let (status, body) = s
        .get_json("/api/2.0/mlflow/registered-models/search", Auth::None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error_code"], "UNAUTHENTICATED");
    let (status, body) = s.get_json("/api/2.0/mlflow/no-such-endpoint", admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND");

    let (status, body) = call(
        &s,
        Method::POST,
        "/api/2.0/mlflow/registered-models/create",
        admin,
        json!({"name": "m1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["registered_model"]["name"], "m1");
    let (status, body) = call(
        &s,
        Method::POST,
        "/api/2.0/mlflow/registered-models/create",
        admin,
        json!({"name": "m1"}),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("RESOURCE_ALREADY_EXISTS"))
    );
    let (status, body) = call(
        &s,
        Method::POST,
        "/api/2.0/mlflow/registered-models/create",
        admin,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "Missing value for required parameter 'name'."
    );
    let (status, _) = call(
        &s,
        Method::POST,
        "/api/2.0/mlflow/model-versions/create",
        admin,
        json!({"name": "m1", "source": "s3://b/k"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Hostile filters: refused by the parser, or matched as plain data.
    for hostile in [
        "name = 'm1'; DROP TABLE models; --",
        "name = 'm1' OR 1=1",
        "name = 'm1' /*",
        "name = 'm1",
        "((name = 'm1')",
        &format!("name = '{}'", "x".repeat(20_000)),
    ] {
        let url = reqwest::Url::parse_with_params(
            &s.url("/api/2.0/mlflow/registered-models/search"),
            &[("filter", hostile)],
        )
        .unwrap();
        let res = s
            .client
            .get(url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{hostile}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{hostile}");
    }
    for data in ["m1' OR '1'='1", "'; DELETE FROM models; --", "%", "_1"] {
        let filter = format!("name = '{}'", data.replace('\'', "''"));
        let url = reqwest::Url::parse_with_params(
            &s.url("/api/2.0/mlflow/registered-models/search"),
            &[("filter", filter.as_str())],
        )
        .unwrap();
        let res = s
            .client
            .get(url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{data}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["registered_models"]
                .as_array()
                .is_none_or(|a| a.is_empty()),
            "{data}: {body}"
        );
    }
    for (filter, expected) in [
        ("name LIKE 'm_'", 1),
        ("name LIKE '%'", 1),
        ("name LIKE 'M%'", 0),
        ("name ILIKE 'M%'", 1),
    ] {
        let url = reqwest::Url::parse_with_params(
            &s.url("/api/2.0/mlflow/registered-models/search"),
            &[("filter", filter)],
        )
        .unwrap();
        let body: Value = s
            .client
            .get(url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let n = body["registered_models"].as_array().map_or(0, Vec::len);
        assert_eq!(n, expected, "{filter}: {body}");
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM models").await, 1);
    assert_eq!(s.count("SELECT COUNT(*) FROM model_versions").await, 1);
    // A bad page token and a bad max_results name the problem.
    let (status, body) = s
        .get_json(
            "/api/2.0/mlflow/registered-models/search?page_token=%%%",
            admin,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = s
        .get_json(
            "/api/2.0/mlflow/registered-models/search?max_results=1001",
            admin,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("max_results"),
        "{body}"
    );
    s.stop().await;
}

/// HTTP Basic is verified once and then cached, but a password reset, a
/// deactivation or a role change applies to the very next request.
async fn basic_cache(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    s.create_user("mia", "mia-password-1", "contributor").await;
    let admin = Auth::Basic("admin", ADMIN_PASSWORD);
    let search = "/api/2.0/mlflow/registered-models/search";
    let create = "/api/2.0/mlflow/registered-models/create";
    use reqwest::Method;
    for _ in 0..3 {
        assert_eq!(
            s.get_json(search, Auth::Basic("mia", "mia-password-1"))
                .await
                .0,
            StatusCode::OK
        );
    }
    assert_eq!(
        s.get_json(search, Auth::Basic("mia", "wrong-password"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // A role change applies at once: the viewer may no longer write.
    let (status, _) = call(
        &s,
        Method::PATCH,
        "/api/v1/users/mia",
        admin,
        json!({"role": "viewer"}),
    )
    .await;
    assert!(status.is_success(), "{status}");
    let (status, body) = call(
        &s,
        Method::POST,
        create,
        Auth::Basic("mia", "mia-password-1"),
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::FORBIDDEN, Some("PERMISSION_DENIED"))
    );
    // A reset password: the old one stops working at once, the new one works.
    let (status, _) = call(
        &s,
        Method::PATCH,
        "/api/v1/users/mia",
        admin,
        json!({"password": "mia-password-2"}),
    )
    .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        s.get_json(search, Auth::Basic("mia", "mia-password-1"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get_json(search, Auth::Basic("mia", "mia-password-2"))
            .await
            .0,
        StatusCode::OK
    );
    // Deactivated: refused although just verified.
    let (status, _) = call(
        &s,
        Method::PATCH,
        "/api/v1/users/mia",
        admin,
        json!({"active": false}),
    )
    .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        s.get_json(search, Auth::Basic("mia", "mia-password-2"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    s.stop().await;
}
