//! Hostile load, in figures: prints numbers, asserts nothing.
//!
//! `cargo bench --features ssr --bench abuse` (`BENCH_POSTGRES_URL` to run
//! on Postgres instead of a SQLite file).
//!
//! 1. The sign-in throttle under 500 parallel guesses at one account from
//!    one client: how many were verified, how many refused, how long it took,
//!    the peak of concurrent verifications and the memory growth.
//! 2. Requests per second on `/healthz` from 4 keep-alive clients, alone and
//!    then while 200 slow-loris clients hold connections open.
//! 3. Memory while 100 uploads of 16 MiB stream at once.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use leptos::prelude::LeptosOptions;
use model_registry::server::{config::Config, startup, state::AppState};
use reqwest::Client;
use tokio::io::AsyncWriteExt;

fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn server(dir: &std::path::Path) -> (AppState, String) {
    let url = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("registry.db").display()));
    let config = Config::for_tests(url, dir.to_path_buf());
    let options = LeptosOptions::builder()
        .output_name("model-registry")
        .build();
    let state = startup::prepare(config, options).await.expect("prepare");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serve_state = state.clone();
    tokio::spawn(async move {
        let _ = startup::serve(serve_state, listener, std::future::pending()).await;
    });
    (state, base)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, base) = server(dir.path()).await;
    let backend = if std::env::var("BENCH_POSTGRES_URL").is_ok() {
        "Postgres"
    } else {
        "SQLite"
    };
    println!(
        "abuse benchmark on {backend} ({} verification slots)",
        state.config.password_verifications
    );
    // Last, since it leaves this client throttled for the admin account.
    uploads(&base).await;
    slow_clients(&base).await;
    guesses(&state, &base).await;
}

async fn guesses(state: &AppState, base: &str) {
    let client = Client::new();
    let rss_before = memory_kib("VmRSS:");
    reset_peak();
    let t = Instant::now();
    let attempts = (0..500).map(|i| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/fn/login"))
                .header("origin", base)
                .form(&[
                    ("username", "admin".to_owned()),
                    ("password", format!("guess-{i}")),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let took = t.elapsed();
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    println!(
        "500 parallel guesses at one account from one client: {} verified (401), {} refused \
         unverified (429), {} other; {:.0} ms in all; peak concurrent verifications {}; \
         peak memory growth {} MiB",
        count(401),
        count(429),
        statuses.len() - count(401) - count(429),
        took.as_secs_f64() * 1000.0,
        state.throttle.peak_verifications(),
        memory_kib("VmHWM:").saturating_sub(rss_before) / 1024,
    );
}

/// `/healthz` requests per second from 4 keep-alive clients for 3 s.
async fn healthz_rate(base: &str) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (done, stop, url) = (done.clone(), stop.clone(), format!("{base}/healthz"));
            tokio::spawn(async move {
                let client = Client::new();
                while !stop.load(Ordering::Relaxed) {
                    if client
                        .get(&url)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
}

async fn slow_clients(base: &str) {
    let alone = healthz_rate(base).await;
    let addr = base.trim_start_matches("http://").to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicU64::new(0));
    // 200 clients each sending a header byte every 500 ms, reconnecting
    // whenever the server drops them.
    let loris: Vec<_> = (0..200)
        .map(|_| {
            let (addr, stop, held) = (addr.clone(), stop.clone(), held.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut conn) = tokio::net::TcpStream::connect(&addr).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    held.fetch_add(1, Ordering::Relaxed);
                    let _ = conn.write_all(b"GET /healthz HTTP/1.1\r\n").await;
                    while !stop.load(Ordering::Relaxed) {
                        if conn.write_all(b"X").await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let besieged = healthz_rate(base).await;
    stop.store(true, Ordering::Relaxed);
    for l in loris {
        l.abort();
    }
    println!(
        "/healthz from 4 keep-alive clients: {alone:.0} req/s alone, {besieged:.0} req/s with 200 \
         slow-loris clients holding connections ({:.0}% held; {} slow connections opened)",
        besieged / alone * 100.0,
        held.load(Ordering::Relaxed)
    );
}

async fn uploads(base: &str) {
    let client = Client::new();
    let auth = |r: reqwest::RequestBuilder| r.basic_auth("admin", Some("admin-password-1"));
    let _ = auth(client.post(format!("{base}/api/v1/models")))
        .json(&serde_json::json!({"name": "bench"}))
        .send()
        .await;
    let _ = auth(client.post(format!("{base}/api/v1/models/bench/versions")))
        .json(&serde_json::json!({"version": "1.0.0"}))
        .send()
        .await;
    const MIB: usize = 16;
    let rss_before = memory_kib("VmRSS:");
    reset_peak();
    let t = Instant::now();
    let all = (0..100).map(|i| {
        let client = client.clone();
        let base = base.to_owned();
        async move {
            // Generated as it is sent, so the client holds no file in memory.
            let body = futures_util::stream::iter(
                (0..MIB * 16)
                    .map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![7u8; 64 * 1024]))),
            );
            auth(client.put(format!(
                "{base}/api/v1/models/bench/versions/1.0.0/artifacts/file-{i}.bin"
            )))
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
        }
    });
    let statuses = futures_util::future::join_all(all).await;
    let took = t.elapsed().as_secs_f64();
    let ok = statuses.iter().filter(|s| **s == 201).count();
    println!(
        "100 uploads of {MIB} MiB at once: {ok} stored in {took:.1} s ({:.0} MiB/s together); \
         peak memory growth {} MiB",
        (ok * MIB) as f64 / took,
        memory_kib("VmHWM:").saturating_sub(rss_before) / 1024
    );
}
