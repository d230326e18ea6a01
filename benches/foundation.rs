//! Foundation benchmark: prints numbers, asserts nothing.
//!
//! `cargo bench --features ssr --bench foundation`
//!
//! - argon2id verifications per second (the cost of one sign-in), on the
//!   blocking pool with as many parallel verifications as cores;
//! - full sign-ins per second through the login server function;
//! - requests per second for an authenticated, server-rendered page
//!   (`/account`: session lookup, user lookup, token list, full HTML).
//!
//! Runs on SQLite, and on Postgres when `BENCH_POSTGRES_URL` (a database the
//! bench may fill) is set.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use leptos::prelude::LeptosOptions;
use model_registry::server::{auth::password, config::Config, startup};
use reqwest::{header, Client};

const CONCURRENCY: usize = 4;
const PAGE_SECONDS: u64 = 5;

#[tokio::main]
async fn main() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("foundation benchmark on {cores} cores, {CONCURRENCY} concurrent clients");
    argon2_verifications(cores).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run_http("sqlite", Config::for_tests(sqlite, dir.path().into())).await;
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        run_http("postgres", Config::for_tests(url, dir.path().into())).await;
    }
}

async fn argon2_verifications(parallel: usize) {
    let hash = password::hash("benchmark-password".into())
        .await
        .expect("hash");
    let n = 40;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let hash = Arc::new(hash);
    for worker in 0..parallel {
        let hash = hash.clone();
        tasks.spawn(async move {
            for _ in (worker..n).step_by(parallel) {
                assert!(
                    password::verify("benchmark-password".into(), Some((*hash).clone()))
                        .await
                        .unwrap()
                );
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let secs = start.elapsed().as_secs_f64();
    println!("argon2id verify (m=19456 KiB, t=2, p=1), {parallel} in parallel: {:.1} verifications/s ({:.1} ms each)", n as f64 / secs, secs * 1000.0 * parallel as f64 / n as f64);
}

async fn run_http(label: &str, config: Config) {
    let options = LeptosOptions::builder()
        .output_name("model-registry")
        .build();
    let state = startup::prepare(config, options).await.expect("prepare");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(startup::serve(state, listener, async {
        let _ = rx.await;
    }));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Sign-ins: each is one argon2 verify plus a session write and an audit event.
    let n = 24;
    let start = Instant::now();
    let mut cookie = String::new();
    for _ in 0..n {
        let res = client
            .post(format!("{base}/fn/login"))
            .header(header::ORIGIN, &base)
            .form(&[("username", "admin"), ("password", "admin-password-1")])
            .send()
            .await
            .unwrap();
        cookie = res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("registry_session="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned();
    }
    println!(
        "[{label}] sequential sign-ins: {:.1}/s",
        n as f64 / start.elapsed().as_secs_f64()
    );

    // Authenticated SSR page.
    let deadline = Instant::now() + Duration::from_secs(PAGE_SECONDS);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, base, cookie) = (client.clone(), base.clone(), cookie.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let res = client
                    .get(format!("{base}/account"))
                    .header(header::COOKIE, &cookie)
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
                let body = res.bytes().await.unwrap();
                assert!(body.len() > 1000);
                latencies.push(t.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(Ok(l)) = tasks.join_next().await {
        all.extend(l);
    }
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "[{label}] GET /account (authenticated SSR), {CONCURRENCY} clients for {PAGE_SECONDS}s: {:.0} req/s, p50 {:.2} ms, p95 {:.2} ms",
        all.len() as f64 / PAGE_SECONDS as f64,
        pct(0.50),
        pct(0.95)
    );
    let _ = tx.send(());
    let _ = server.await;
}
