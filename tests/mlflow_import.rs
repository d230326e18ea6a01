//! `model-registry import-mlflow` against a real MLflow server (`mlflow
//! server` from the same PyPI package, started here), on SQLite and
//! Postgres: a pattern selects models; everything arrives (numbers, tags,
//! descriptions, aliases, stages through the approval policy, files with
//! SHA-256); a run cut off mid-file leaves the version `registering` and the
//! next run resumes it; a run after that copies nothing; imported models load
//! with MLflow's client from this registry.

mod common;

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use common::{TestDb, TestServer, ADMIN_PASSWORD};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

on_both_databases! {
    an_mlflow_registry_imports_resumes_and_reimports_nothing => import;
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mlflow-venv/bin")
}

/// A real MLflow server on a free loopback port, with its own store.
struct MlflowServer {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for MlflowServer {
    /// `mlflow server` runs uvicorn and a job consumer as children: the
    /// whole process group goes, or they outlive the test.
    fn drop(&mut self) {
        // The child leads its own group (`process_group(0)`); name the
        // group explicitly (`pkill -g`), never a negative pid.
        let group = self.child.id();
        if group > 1 {
            let _ = Command::new("pkill")
                .args(["-KILL", "-g", &group.to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}

async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn mlflow_server() -> MlflowServer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().await;
    let child = Command::new(venv().join("mlflow"))
        .args([
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--workers",
            "1",
        ])
        .arg("--backend-store-uri")
        .arg(format!(
            "sqlite:///{}",
            dir.path().join("mlflow.db").display()
        ))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start mlflow server (run `bash .ci/install --test`)");
    // Owned at once, so a failed start below still stops it (Drop).
    let server = MlflowServer {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = reqwest::Client::new();
    for _ in 0..240 {
        if let Ok(r) = client.get(format!("{}/health", server.url)).send().await {
            if r.status().is_success() {
                return server;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("mlflow server did not become healthy on {}", server.url);
}

fn python(script: &str, tracking_uri: &str, env: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mlflow")
        .join(script);
    let out = Command::new(venv().join("python"))
        .arg(path)
        .env("MLFLOW_TRACKING_URI", tracking_uri)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script}: {text}");
    text
}

/// A loopback proxy in front of MLflow that, while armed, cuts the
/// connection after 1 MB of the answer to a request for `big.bin`: an
/// import interrupted mid-file, deterministically.
async fn cutting_proxy(upstream: String, armed: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, armed) = (upstream.clone(), armed.clone());
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let asked_big = Arc::new(AtomicBool::new(false));
                let seen = asked_big.clone();
                let up = tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        if buf[..n].windows(7).any(|w| w == b"big.bin") {
                            seen.store(true, Ordering::SeqCst);
                        }
                    }
                });
                let mut buf = vec![0u8; 64 * 1024];
                let mut sent_big = 0usize;
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    if asked_big.load(Ordering::SeqCst) && armed.load(Ordering::SeqCst) {
                        sent_big += n;
                        if sent_big > 1024 * 1024 {
                            break;
                        }
                    }
                }
                up.abort();
            });
        }
    });
    format!("http://{addr}")
}

/// Runs `model-registry import-mlflow` on the test's database and data dir.
fn import_cli(db: &TestDb, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_model-registry"))
        .arg("import-mlflow")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", &db.url)
        .env("REGISTRY_DATA_DIR", db.data_dir.path())
        .env("REGISTRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
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

async fn import(db: &TestDb) {
    let mlflow = mlflow_server().await;
    python("seed_source.py", &mlflow.url, &[]);
    let s = TestServer::start(db.config()).await;
    s.create_user("carol", "contributor-pass-1", "contributor")
        .await;
    s.create_user("vic", "viewer-pass-1", "viewer").await;

    // Bad input: one clear line and a non-zero exit, nothing written.
    for (args, says) in [
        (vec!["--models", "x"], "--from is required"),
        (vec!["--from", "ftp://x"], "must be an http(s) URL"),
        (
            vec!["--from", &mlflow.url, "--as", "vic"],
            "vic has no permission to register models (role viewer)",
        ),
        (vec!["--from", &mlflow.url, "--as", "nobody"], "nobody"),
        (
            vec!["--from", "http://127.0.0.1:9", "--as", "carol"],
            "127.0.0.1:9",
        ),
    ] {
        let (code, text) = import_cli(db, &args);
        assert_ne!(code, 0, "{args:?}: {text}");
        assert!(
            text.to_lowercase().contains(&says.to_lowercase()),
            "{args:?}: {text}"
        );
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM models").await, 0);
    let (code, help) = import_cli(db, &["--help"]);
    assert!(code == 0 && help.contains("--models <PATTERN>"), "{help}");

    // 1. A pattern: only `churn`.
    let (code, text) = import_cli(
        db,
        &["--from", &mlflow.url, "--models", "ch*", "--as", "carol"],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("models: 1 created"), "{text}");
    assert_eq!(s.count("SELECT COUNT(*) FROM models").await, 1);

    // 2. Everything else through a proxy that cuts `big.bin` off mid-file:
    //    version 3 stays `registering`, listed as not copied, exit 2.
    let armed = Arc::new(AtomicBool::new(true));
    let proxy = cutting_proxy(mlflow.url.clone(), armed.clone()).await;
    let (code, text) = import_cli(
        db,
        &["--from", &proxy, "--models", "fraud", "--as", "carol"],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("fraud version 3"), "{text}");
    let status = |seq: i64| {
        format!(
            "SELECT COUNT(*) FROM model_versions v JOIN models m ON m.id = v.model_id \
             WHERE m.name = 'fraud' AND v.seq = {seq} AND v.status = 'registering'"
        )
    };
    assert_eq!(s.count(&status(3)).await, 1, "{text}");
    assert_eq!(s.count(&status(1)).await + s.count(&status(2)).await, 0);

    // 3. The next run resumes version 3 and finishes.
    armed.store(false, Ordering::SeqCst);
    let (code, text) = import_cli(db, &["--from", &proxy, "--as", "carol"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("1 resumed"), "{text}");
    assert!(text.contains("models: 1 created, 2 already here"), "{text}");

    // Everything arrived: numbers, semvers, descriptions, tags, files.
    let (_, v2) = s
        .get_json(
            "/api/v1/models/fraud/versions/0.0.2",
            common::Auth::Basic("vic", "viewer-pass-1"),
        )
        .await;
    assert_eq!(v2["seq"], 2, "{v2}");
    assert_eq!(v2["description"], "The one in production.");
    assert_eq!(v2["tags"]["reviewed"], "yes");
    assert_eq!(v2["tags"]["mlflow.imported_from"], proxy.as_str());
    let files = v2["artifacts"].as_array().unwrap();
    assert!(files.iter().any(|f| f["path"] == "MLmodel"), "{v2}");
    assert!(files
        .iter()
        .all(|f| f["sha256"].as_str().is_some_and(|h| h.len() == 64)));
    let (_, v3) = s
        .get_json(
            "/api/v1/models/fraud/versions/0.0.3",
            common::Auth::Basic("vic", "viewer-pass-1"),
        )
        .await;
    let big = v3["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "artifacts/big.bin");
    assert_eq!(
        big.map(|f| f["size"].clone()),
        Some(serde_json::json!(5 * 1024 * 1024)),
        "{v3}"
    );
    let (_, model) = s
        .get_json(
            "/api/v1/models/fraud",
            common::Auth::Basic("vic", "viewer-pass-1"),
        )
        .await;
    assert_eq!(model["description"], "Card fraud scores.", "{model}");
    // The run without a pattern took the model the earlier patterns left out.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM models WHERE name = 'scratch'")
            .await,
        1
    );

    // Stages and the protected alias went through the policy: Archived
    // applied; Staging (for versions 2 and 3: Production goes through it)
    // and `champion` wait for sign-off.
    assert!(
        text.contains("fraud version 2 was in Production there"),
        "{text}"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM model_versions WHERE stage = 'archived'")
            .await,
        1
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM model_versions WHERE stage = 'production'")
            .await,
        0,
        "nothing reaches Production without sign-off"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM transition_requests WHERE state = 'pending'")
            .await,
        3
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM model_aliases a JOIN model_versions v ON v.id = a.version_id WHERE a.alias = 'candidate' AND v.seq = 3").await,
        1
    );
    // The audit trail says where each version came from, by the import's user.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'version.registered' AND actor_username = 'carol' AND details LIKE '%imported_from%'").await,
        5
    );

    // 4. Once more: nothing to copy.
    let (code, text) = import_cli(db, &["--from", &mlflow.url, "--as", "carol"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("models: 0 created, 3 already here"), "{text}");
    assert!(
        text.contains("versions: 0 imported, 0 resumed, 5 already here"),
        "{text}"
    );
    assert!(text.contains("files: 0 copied"), "{text}");
    assert!(
        text.contains("aliases: 0 set; stages: 0 applied, 0 transition"),
        "{text}"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM transition_requests WHERE state = 'pending'")
            .await,
        3
    );

    // 5. An imported model loads from this registry with MLflow's client.
    let out = Command::new(venv().join("python"))
        .args([
            "-c",
            "import pandas, mlflow.pyfunc; m = mlflow.pyfunc.load_model('models:/fraud/2'); \
             print(list(m.predict(pandas.DataFrame({'x': [1, 2]}))['x']))",
        ])
        .env("MLFLOW_TRACKING_URI", &s.base)
        .env("MLFLOW_TRACKING_USERNAME", "vic")
        .env("MLFLOW_TRACKING_PASSWORD", "viewer-pass-1")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.trim().ends_with("[3, 4]"),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.stop().await;
}
