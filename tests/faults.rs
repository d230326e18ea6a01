//! Faults: the server killed with -9 in the middle of uploads (local and
//! S3), the database going away under load, and two servers sharing one
//! Postgres under concurrent approvals. Nothing half-written survives, and
//! the registry recovers on its own.

mod common;

use std::{
    collections::BTreeMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{within_limit, Auth, Backend, TestDb, TestServer, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The registry binary, as an operator runs it.
struct Registry {
    child: Child,
    base: String,
}

impl Registry {
    async fn start(env: &[(&str, String)]) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_model-registry"));
        cmd.arg("serve")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "model-registry")
            .env("REGISTRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start the registry");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = client.get(format!("{base}/readyz")).send().await {
                if res.status().is_success() {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the registry did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, base }
    }

    /// SIGKILL: no shutdown, no cleanup, no drop guards.
    fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn api(base: &str, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A body that sends `chunk` bytes every 50 ms for a long time: the kill
/// arrives in the middle.
fn endless_body(chunk: usize) -> reqwest::Body {
    let stream = futures_util::stream::unfold(0u32, move |n| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Some((
            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![7u8; chunk])),
            n + 1,
        ))
    });
    reqwest::Body::wrap_stream(stream)
}

async fn count(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Kills the server in the middle of an upload, restarts it, and checks
/// that nothing of the upload survives the sweep.
async fn killed_mid_upload(db: &TestDb, artifacts: Option<String>, chunk: usize) {
    let mut env = vec![
        ("DATABASE_URL", db.url.clone()),
        (
            "REGISTRY_DATA_DIR",
            db.data_dir.path().display().to_string(),
        ),
        ("REGISTRY_ORPHAN_SECONDS", "1".to_owned()),
        ("REGISTRY_S3_PATH_STYLE", "true".to_owned()),
    ];
    if let Some(a) = &artifacts {
        env.push(("REGISTRY_ARTIFACTS", a.clone()));
    }
    let first = Registry::start(&env).await;
    let base = first.base.clone();
    let (status, _) = api(
        &base,
        reqwest::Method::POST,
        "/api/v1/models",
        json!({"name": "m"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api(
        &base,
        reqwest::Method::POST,
        "/api/v1/models/m/versions",
        json!({"version": "1.0.0"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let upload = tokio::spawn({
        let base = base.clone();
        async move {
            let _ = reqwest::Client::new()
                .put(format!(
                    "{base}/api/v1/models/m/versions/1.0.0/artifacts/big.bin"
                ))
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .body(endless_body(chunk))
                .send()
                .await;
        }
    });
    let uploads_dir = db.data_dir.path().join("artifacts/.uploads");
    let in_flight = || async {
        match &artifacts {
            // A temporary file is being written…
            None => {
                std::fs::read_dir(&uploads_dir)
                    .map(|d| d.count())
                    .unwrap_or(0)
                    > 0
            }
            // …or a multipart upload has started (the journal says so).
            Some(_) => count(&db.url, "SELECT COUNT(*) FROM pending_uploads").await > 0,
        }
    };
    wait_until("the upload to be under way", in_flight).await;
    first.kill_9();
    upload.abort();
    // Restarted, the sweeper finds what the killed server left and removes it.
    let second = Registry::start(&env).await;
    let leftovers = || async {
        match &artifacts {
            None => {
                std::fs::read_dir(&uploads_dir)
                    .map(|d| d.count())
                    .unwrap_or(0)
                    == 0
            }
            Some(_) => count(&db.url, "SELECT COUNT(*) FROM pending_uploads").await == 0,
        }
    };
    wait_until("the leftovers to be swept", leftovers).await;
    assert_eq!(count(&db.url, "SELECT COUNT(*) FROM artifacts").await, 0);
    // And the registry works: the same path uploads whole now.
    let res = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/models/m/versions/1.0.0/artifacts/big.bin",
            second.base
        ))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .body(vec![1u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_a_local_upload_leaves_nothing_after_the_sweep() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        within_limit("local kill -9", killed_mid_upload(&db, None, 64 * 1024)).await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_an_s3_upload_leaves_nothing_after_the_sweep() {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        eprintln!("skipping: set AWS_ENDPOINT_URL to an S3-compatible server; .ci/test does");
        return;
    }
    let bucket = format!("reg-kill-{}", std::process::id());
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let db = TestDb::new(Backend::Postgres).await;
    // 1 MiB every 50 ms: the first 8 MiB part goes out within a second.
    within_limit(
        "s3 kill -9",
        killed_mid_upload(&db, Some(format!("s3://{bucket}/registry")), 1024 * 1024),
    )
    .await;
    // Only the whole upload from the restarted server is stored.
    let objects = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(objects.contents().len(), 1, "{:?}", objects.contents());
    db.drop_db().await;
}

/// A TCP proxy to Postgres that can be cut (every connection dropped, new
/// ones refused) and restored: the database going away and coming back.
struct CuttableProxy {
    port: u16,
    down: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl CuttableProxy {
    async fn start(upstream: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (d, c) = (down.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if d.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Self { port, down, conns }
    }

    fn cut(&self) {
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_going_away_under_load_fails_cleanly_and_recovers() {
    within_limit("database outage", async {
        let db = TestDb::new(Backend::Postgres).await;
        let proxy = CuttableProxy::start("127.0.0.1:5432").await;
        let mut config = db.config();
        config.database_url = db
            .url
            .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
        assert_ne!(
            config.database_url, db.url,
            "the test URL goes through the proxy"
        );
        let s = TestServer::start(config).await;
        let token = s.admin_token().await;
        s.post("/api/v1/models", &token, json!({"name": "m"})).await;
        let started = Instant::now();
        let outcomes: Arc<Mutex<Vec<(Duration, u16, Duration)>>> = Arc::default();
        let load = (0..4).map(|_| {
            let (s, token, outcomes) = (&s, token.clone(), outcomes.clone());
            async move {
                while started.elapsed() < Duration::from_secs(12) {
                    let at = started.elapsed();
                    let t = Instant::now();
                    let res = s
                        .client
                        .get(s.url("/api/v1/models/m"))
                        .bearer_auth(&token)
                        .send()
                        .await;
                    let status = res.map(|r| r.status().as_u16()).unwrap_or(0);
                    outcomes.lock().unwrap().push((at, status, t.elapsed()));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
        let outage = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            proxy.cut();
            tokio::time::sleep(Duration::from_millis(500)).await;
            let ready = s.client.get(s.url("/readyz")).send().await.unwrap();
            assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
            tokio::time::sleep(Duration::from_millis(1500)).await;
            proxy.restore();
        };
        tokio::join!(futures_util::future::join_all(load), outage);
        let outcomes = outcomes.lock().unwrap().clone();
        let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
        for (_, status, took) in &outcomes {
            *by_status.entry(*status).or_default() += 1;
            // Failing cleanly: an answer, never a hang.
            assert!(*took < Duration::from_secs(15), "a request took {took:?}");
            assert!(
                matches!(status, 200 | 500 | 503),
                "unexpected status {status}: {by_status:?}"
            );
        }
        eprintln!("outcomes during the outage test: {by_status:?}");
        assert!(
            by_status.get(&200).copied().unwrap_or(0) > 0,
            "{by_status:?}"
        );
        // Well after the database came back, everything succeeds again,
        // without restarting the registry.
        let late: Vec<u16> = outcomes
            .iter()
            .filter(|(at, ..)| *at > Duration::from_secs(8))
            .map(|(_, status, _)| *status)
            .collect();
        assert!(!late.is_empty());
        assert!(late.iter().all(|s| *s == 200), "{late:?}");
        let (status, _) = s.get_json("/api/v1/models/m", Auth::Bearer(&token)).await;
        assert_eq!(status, StatusCode::OK);
        s.stop().await;
        db.drop_db().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_apply_each_approval_once_and_deliver_each_webhook_once() {
    within_limit("two instances", async {
        let db = TestDb::new(Backend::Postgres).await;
        let a = TestServer::start(db.config()).await;
        let b = TestServer::start(db.config()).await;
        let admin = a.admin_token().await;
        a.create_user("carol", "carol-password-1", "contributor").await;
        a.create_user("alice", "alice-password-1", "approver").await;
        a.create_user("bob", "bob-password-1", "approver").await;
        let carol = a.token_for("carol", "carol-password-1").await;
        let alice = b.token_for("alice", "alice-password-1").await;
        let bob = a.token_for("bob", "bob-password-1").await;
        // One sign-off for each stage, to keep the race about applying.
        let (status, _) = a
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/policy",
                Auth::Bearer(&admin),
                json!({"staging": 1, "production": 1, "archived": 0, "experimental": 0,
                       "archive_previous_production": true, "request_ttl_hours": 24}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        a.post("/api/v1/models", &admin, json!({"name": "m"})).await;
        let versions: Vec<String> = (0..6).map(|i| format!("1.{i}.0")).collect();
        for v in &versions {
            a.post("/api/v1/models/m/versions", &carol, json!({"version": v})).await;
            let (_, req) = a
                .post(
                    &format!("/api/v1/models/m/versions/{v}/requests"),
                    &carol,
                    json!({"to": "staging", "justification": "setup"}),
                )
                .await;
            let (status, _) = b
                .post(&format!("/api/v1/models/m/requests/{}/approve", req["id"]), &alice, json!({}))
                .await;
            assert_eq!(status, StatusCode::OK);
        }
        // Every stage change from here on goes to a receiver that counts.
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post({
                let received = received.clone();
                move |headers: axum::http::HeaderMap| {
                    let received = received.clone();
                    async move {
                        let id = headers
                            .get("x-registry-delivery")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        received.lock().unwrap().push(id);
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let (status, _) = a
            .post("/api/v1/webhooks", &admin, json!({"url": url, "events": ["stage.changed"]}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        // A production request for every version, approved all at once on
        // both servers by two approvers.
        let mut requests = Vec::new();
        for v in &versions {
            let (status, req) = a
                .post(
                    &format!("/api/v1/models/m/versions/{v}/requests"),
                    &carol,
                    json!({"to": "production", "justification": "race"}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{req}");
            requests.push(req["id"].clone());
        }
        let approvals = requests.iter().enumerate().flat_map(|(i, id)| {
            let (server, token) = if i % 2 == 0 { (&a, &alice) } else { (&b, &bob) };
            let other = if i % 2 == 0 { (&b, &bob) } else { (&a, &alice) };
            [(server, token, id.clone()), (other.0, other.1, id.clone())]
        });
        let results = futures_util::future::join_all(approvals.map(|(s, token, id)| async move {
            s.post(&format!("/api/v1/models/m/requests/{id}/approve"), token, json!({}))
                .await
                .0
        }))
        .await;
        // Each request applied once: one approval won, its twin got 409.
        let ok = results.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(ok, versions.len(), "{results:?}");
        assert!(results.iter().all(|s| matches!(*s, StatusCode::OK | StatusCode::CONFLICT)));
        assert_eq!(
            a.count("SELECT COUNT(*) FROM model_versions WHERE stage = 'production' AND deleted_at IS NULL")
                .await,
            1
        );
        assert_eq!(
            a.count("SELECT COUNT(*) FROM transition_requests WHERE state = 'approved' AND to_stage = 'production'")
                .await,
            versions.len() as i64
        );
        // Both servers' workers deliver; each delivery arrives exactly once.
        let expected = a.count("SELECT COUNT(*) FROM webhook_deliveries").await;
        assert!(expected >= versions.len() as i64);
        let deadline = Instant::now() + Duration::from_secs(30);
        while a.count("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'delivered'").await < expected {
            assert!(Instant::now() < deadline, "deliveries still pending");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got = received.lock().unwrap().clone();
        let mut unique = got.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), got.len(), "a delivery arrived twice: {got:?}");
        assert_eq!(got.len() as i64, expected);
        // The chain stayed intact under two writers.
        let (_, verify) = b
            .get_json("/api/v1/audit/verify?full=true", Auth::Bearer(&admin))
            .await;
        assert_eq!(verify["intact"], true, "{verify}");
        a.stop().await;
        b.stop().await;
        db.drop_db().await;
    })
    .await;
}
