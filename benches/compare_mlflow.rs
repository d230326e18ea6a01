//! This registry against MLflow on the same data, side by side: prints the
//! table (and a chart of the ratios) the README's performance section quotes.
//! Asserts nothing.
//!
//! `cargo bench --features ssr --bench compare_mlflow`
//!
//! It starts both servers on loopback, each on its own SQLite file: this
//! registry in-process, and `mlflow server` from PyPI
//! (`target/mlflow-venv`, installed by `.ci/install --test`; `MLFLOW` names
//! another executable) with MLflow's default 4 workers
//! (`BENCH_MLFLOW_WORKERS`). Both are seeded with the same MLflow REST calls:
//! `BENCH_MODELS` models (default 1000), each with a `team` tag, 5 versions
//! and a `candidate` alias. Then the same reads and one write, each for
//! `BENCH_SECONDS` (default 5) from `wrk` (2 threads; 4 connections for
//! reads, 8 for the write), a load generator outside both processes; without
//! wrk, from 4 in-process clients. Our calls carry a Bearer token (MLflow's
//! server has no authentication), so ours also pay for checking it.

mod common;

use std::{
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use common::{env_number, urlencode, Auth, Rate};
use leptos::prelude::LeptosOptions;
use model_registry::server::{config::Config, startup};
use reqwest::Client;
use serde_json::json;

const DOMAINS: [&str; 8] = [
    "fraud",
    "churn",
    "credit",
    "image",
    "text",
    "speech",
    "recommend",
    "search",
];
const VERSIONS: usize = 5;

#[tokio::main]
async fn main() {
    let models = env_number("BENCH_MODELS", 1000) as usize;
    let seconds = env_number("BENCH_SECONDS", 5) as f64;
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(mlflow) = MlflowServer::start(&dir.path().join("mlflow")).await else {
        println!("mlflow is not installed (bash .ci/install --test): nothing to compare");
        return;
    };
    let ours = Ours::start(&dir.path().join("ours")).await;
    let client = Client::new();

    let started = Instant::now();
    seed(
        &client,
        &format!("{}/api/2.0/mlflow", ours.url),
        &ours.auth,
        models,
    )
    .await;
    let ours_seed = started.elapsed().as_secs_f64();
    let started = Instant::now();
    seed(
        &client,
        &format!("{}/api/2.0/mlflow", mlflow.url),
        &Auth::None,
        models,
    )
    .await;
    let mlflow_seed = started.elapsed().as_secs_f64();
    let calls = models * (3 + VERSIONS);
    println!(
        "seeded {models} models × {VERSIONS} versions ({calls} MLflow calls, 8 clients): \
         ours {ours_seed:.1} s ({:.0} calls/s), MLflow {mlflow_seed:.1} s ({:.0} calls/s)",
        calls as f64 / ours_seed,
        calls as f64 / mlflow_seed
    );

    let one = "bench-fraud-16"; // 16 % 8 = 0: a fraud model
    let reads = [
        (
            "get alias",
            format!("registered-models/alias?name={one}&alias=candidate"),
        ),
        ("get model", format!("registered-models/get?name={one}")),
        (
            "search versions by name",
            format!(
                "model-versions/search?filter={}",
                urlencode(&format!("name = '{one}'"))
            ),
        ),
        (
            "search models `name LIKE 'bench-fraud-1%'`",
            format!(
                "registered-models/search?filter={}",
                urlencode("name LIKE 'bench-fraud-1%'")
            ),
        ),
        (
            "search models `tags.team = 'fraud'`, 100 results",
            format!(
                "registered-models/search?filter={}&max_results=100",
                urlencode("tags.team = 'fraud'")
            ),
        ),
    ];
    let mut rows = Vec::new();
    for (what, path) in reads {
        let ours_rate = read(
            &client,
            &format!("{}/api/2.0/mlflow/{path}", ours.url),
            &ours.auth,
            seconds,
        )
        .await;
        let mlflow_rate = read(
            &client,
            &format!("{}/api/2.0/mlflow/{path}", mlflow.url),
            &Auth::None,
            seconds,
        )
        .await;
        rows.push((what.to_owned(), ours_rate, mlflow_rate));
    }
    let body = json!({ "name": "bench-writes", "source": "s3://bench/writes/model" }).to_string();
    for base in [&ours.url, &mlflow.url] {
        let create = json!({ "name": "bench-writes" }).to_string();
        let auth = if base == &ours.url {
            &ours.auth
        } else {
            &Auth::None
        };
        post(
            &client,
            &format!("{base}/api/2.0/mlflow/registered-models/create"),
            auth,
            &create,
        )
        .await;
    }
    let ours_rate = write(
        &client,
        &format!("{}/api/2.0/mlflow/model-versions/create", ours.url),
        &ours.auth,
        &body,
        seconds,
    )
    .await;
    let mlflow_rate = write(
        &client,
        &format!("{}/api/2.0/mlflow/model-versions/create", mlflow.url),
        &Auth::None,
        &body,
        seconds,
    )
    .await;
    rows.push((
        "register a version (8 clients)".into(),
        ours_rate,
        mlflow_rate,
    ));

    print_table(models, &rows);
    drop(mlflow);
    ours.stop().await;
}

fn print_table(models: usize, rows: &[(String, Rate, Rate)]) {
    let generator = if common::wrk_installed() {
        "wrk"
    } else {
        "in-process clients"
    };
    println!("\n{models} models × {VERSIONS} versions, SQLite on both, load from {generator}:\n");
    println!("| call | ours req/s (p50) | MLflow req/s (p50) | ratio |");
    println!("|---|---|---|---|");
    let failed = |r: &Rate| match r.failed {
        0 => String::new(),
        n => format!(", {n} failed"),
    };
    for (what, ours, mlflow) in rows {
        println!(
            "| {what} | {:.0} ({:.2} ms{}) | {:.0} ({:.1} ms{}) | {:.0}× |",
            ours.per_second,
            ours.p50_ms,
            failed(ours),
            mlflow.per_second,
            mlflow.p50_ms,
            failed(mlflow),
            ours.per_second / mlflow.per_second.max(f64::MIN_POSITIVE)
        );
    }
    // The ratios as bars, on a log scale (1× to 1000×) so all fit one width.
    println!("\nhow many times MLflow's rate (log scale):");
    let width = rows
        .iter()
        .map(|(w, ..)| w.chars().count())
        .max()
        .unwrap_or(0);
    for (what, ours, mlflow) in rows {
        let ratio = ours.per_second / mlflow.per_second.max(f64::MIN_POSITIVE);
        let bar = ((ratio.max(1.0).log10() / 3.0) * 50.0).round() as usize;
        println!("  {what:<width$} |{} {ratio:.0}×", "█".repeat(bar.min(60)));
    }
    println!(
        "  {:<width$}  1×{}10×{}100×{}1000×",
        "",
        " ".repeat(14),
        " ".repeat(13),
        " ".repeat(12)
    );
}

async fn read(client: &Client, url: &str, auth: &Auth, seconds: f64) -> Rate {
    check(client.get(url), auth).await;
    match common::wrk(url, auth, 4, seconds) {
        Some(rate) => rate,
        None => {
            let url = url.to_owned();
            common::measure(client, auth, 4, seconds, Arc::new(move |_| url.clone())).await
        }
    }
}

async fn write(client: &Client, url: &str, auth: &Auth, body: &str, seconds: f64) -> Rate {
    post(client, url, auth, body).await;
    match common::wrk_post(url, auth, body, 8, seconds) {
        Some(rate) => rate,
        None => common::measure_post(client, auth, 8, seconds, url, body).await,
    }
}

async fn check(req: reqwest::RequestBuilder, auth: &Auth) -> serde_json::Value {
    let res = common::authorize(req, auth).send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or_default()
}

async fn post(client: &Client, url: &str, auth: &Auth, body: &str) -> serde_json::Value {
    check(
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned()),
        auth,
    )
    .await
}

/// The same MLflow calls against either server, from 8 concurrent clients.
async fn seed(client: &Client, api: &str, auth: &Auth, models: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (client, api, auth) = (client.clone(), api.to_owned(), auth.clone());
        tasks.spawn(async move {
            for i in (worker..models).step_by(8) {
                let domain = DOMAINS[i % DOMAINS.len()];
                let name = format!("bench-{domain}-{i}");
                let post = |path: &str, body: serde_json::Value| {
                    let (client, auth, url) =
                        (client.clone(), auth.clone(), format!("{api}/{path}"));
                    async move { self::post(&client, &url, &auth, &body.to_string()).await }
                };
                post(
                    "registered-models/create",
                    json!({ "name": name, "description": format!("{domain} model {i}") }),
                )
                .await;
                post(
                    "registered-models/set-tag",
                    json!({ "name": name, "key": "team", "value": domain }),
                )
                .await;
                for v in 1..=VERSIONS {
                    post(
                        "model-versions/create",
                        json!({ "name": name, "source": format!("s3://bench/{name}/{v}") }),
                    )
                    .await;
                }
                post(
                    "registered-models/alias",
                    json!({ "name": name, "alias": "candidate", "version": VERSIONS.to_string() }),
                )
                .await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("seeding client");
    }
}

/// This registry in-process on a SQLite file, with a token for the calls.
struct Ours {
    url: String,
    auth: Auth,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Ours {
    async fn start(dir: &std::path::Path) -> Self {
        std::fs::create_dir_all(dir).expect("dir");
        let url = format!("sqlite://{}", dir.join("registry.db").display());
        let options = LeptosOptions::builder()
            .output_name("model-registry")
            .build();
        let state = startup::prepare(Config::for_tests(url, dir.into()), options)
            .await
            .expect("prepare");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(startup::serve(state, listener, async {
            let _ = stopped.await;
        }));
        let secret = common::token(&Client::new(), &url, "write").await;
        Self {
            url,
            auth: Auth::Bearer(secret),
            stop,
            server,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// `mlflow server` in its own process group, stopped with the group.
struct MlflowServer {
    child: Child,
    url: String,
}

impl MlflowServer {
    async fn start(dir: &std::path::Path) -> Option<Self> {
        let exe = std::env::var_os("MLFLOW")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/mlflow-venv/bin/mlflow")
            });
        if !exe.exists() {
            return None;
        }
        std::fs::create_dir_all(dir).expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let workers = env_number("BENCH_MLFLOW_WORKERS", 4).to_string();
        let child = Command::new(&exe)
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", &workers])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--artifacts-destination")
            .arg(dir.join("artifacts"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start mlflow server");
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = Client::new();
        for _ in 0..240 {
            if let Ok(r) = client.get(format!("{}/health", server.url)).send().await {
                if r.status().is_success() {
                    println!(
                        "MLflow {} ({workers} workers) at {}",
                        version(&exe),
                        server.url
                    );
                    return Some(server);
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("mlflow server did not become healthy on {}", server.url);
    }
}

fn version(exe: &std::path::Path) -> String {
    Command::new(exe)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

impl Drop for MlflowServer {
    /// uvicorn's workers are children: the whole group goes (named with
    /// `pkill -g`, never a negative pid).
    fn drop(&mut self) {
        let group = self.child.id();
        if group > 1 {
            let _ = Command::new("pkill")
                .args(["-KILL", "-g", &group.to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}
