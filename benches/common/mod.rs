//! What the HTTP benchmarks share: a closed-loop load of concurrent clients
//! for a fixed time, and its latency percentiles and rate.

#![allow(dead_code)] // each bench uses part of it

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::Client;

/// How a benchmark's requests authenticate.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

/// One measured load: requests, p50/p95 in ms, requests per second.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub requests: usize,
    pub p50_ms: f64,
    /// The tail: p95 from `measure`, p99 from wrk (which reports 50/75/90/99).
    pub tail_ms: f64,
    pub tail: &'static str,
    pub per_second: f64,
}

pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// `clients` loops each sending GET `url(n)` (n counts up per client) for
/// `seconds`; every answer must be a 2xx.
pub async fn measure(
    client: &Client,
    auth: &Auth,
    clients: usize,
    seconds: f64,
    url: Arc<dyn Fn(usize) -> String + Send + Sync>,
) -> Rate {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..clients {
        let (client, auth, url) = (client.clone(), auth.clone(), url.clone());
        tasks.spawn(async move {
            let mut times = Vec::new();
            let mut n = worker;
            while Instant::now() < deadline {
                let t = Instant::now();
                let req = client.get(url(n));
                let req = match &auth {
                    Auth::None => req,
                    Auth::Bearer(token) => req.bearer_auth(token),
                    Auth::Basic(user, password) => req.basic_auth(user, Some(password)),
                };
                let res = req.send().await.expect("request");
                assert!(res.status().is_success(), "{}", res.status());
                let _ = res.bytes().await.expect("body");
                times.push(t.elapsed());
                n += clients;
            }
            times
        });
    }
    let mut times = Vec::new();
    while let Some(done) = tasks.join_next().await {
        times.extend(done.expect("worker"));
    }
    let took = start.elapsed().as_secs_f64();
    times.sort();
    Rate {
        requests: times.len(),
        p50_ms: pct(&times, 0.5),
        tail_ms: pct(&times, 0.95),
        tail: "p95",
        per_second: times.len() as f64 / took,
    }
}

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The same load from `wrk` (2 threads, `clients` connections, keep-alive),
/// a load generator outside this process, when it is installed (Debian's
/// `wrk`); `None` otherwise. One URL, as wrk sends.
pub fn wrk(url: &str, auth: &Auth, clients: usize, seconds: f64) -> Option<Rate> {
    use base64::Engine;
    let header = match auth {
        Auth::None => None,
        Auth::Bearer(token) => Some(format!("Authorization: Bearer {token}")),
        Auth::Basic(user, password) => Some(format!(
            "Authorization: Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )),
    };
    let mut cmd = std::process::Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{clients}"),
        &format!("-d{}s", seconds.ceil()),
        "--latency",
    ]);
    if let Some(h) = &header {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        panic!("wrk saw errors from {url}:\n{text}");
    }
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let ms = |v: String| {
        let n: f64 = v
            .trim_end_matches(|c: char| c.is_alphabetic())
            .parse()
            .ok()?;
        Some(match v {
            v if v.ends_with("us") => n / 1000.0,
            v if v.ends_with("ms") => n,
            _ => n * 1000.0,
        })
    };
    Some(Rate {
        requests: text
            .lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        p50_ms: field("50%").and_then(ms)?,
        tail_ms: field("99%").and_then(ms)?,
        tail: "p99",
        per_second: field("Requests/sec:")?.parse().ok()?,
    })
}
