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
    /// Successful (2xx) answers per second.
    pub per_second: f64,
    /// Answers that were not a 2xx (only writes tolerate them; reads panic).
    pub failed: usize,
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
                let res = authorize(client.get(url(n)), &auth)
                    .send()
                    .await
                    .expect("request");
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
        failed: 0,
    }
}

/// `clients` loops each POSTing the same JSON `body` to `url` for `seconds`.
pub async fn measure_post(
    client: &Client,
    auth: &Auth,
    clients: usize,
    seconds: f64,
    url: &str,
    body: &str,
) -> Rate {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (client, auth, url, body) = (
            client.clone(),
            auth.clone(),
            url.to_owned(),
            body.to_owned(),
        );
        tasks.spawn(async move {
            let (mut times, mut failed) = (Vec::new(), 0);
            while Instant::now() < deadline {
                let t = Instant::now();
                let req = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone());
                let res = authorize(req, &auth).send().await.expect("request");
                let ok = res.status().is_success();
                let _ = res.bytes().await.expect("body");
                if ok {
                    times.push(t.elapsed());
                } else {
                    failed += 1;
                }
            }
            (times, failed)
        });
    }
    let (mut times, mut failed) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (t, f) = done.expect("worker");
        times.extend(t);
        failed += f;
    }
    let took = start.elapsed().as_secs_f64();
    times.sort();
    Rate {
        requests: times.len() + failed,
        p50_ms: pct(&times, 0.5),
        tail_ms: pct(&times, 0.95),
        tail: "p95",
        per_second: times.len() as f64 / took,
        failed,
    }
}

/// A new API token of `scope` for the bootstrap admin (`Config::for_tests`).
pub async fn token(client: &Client, base: &str, scope: &str) -> String {
    let res = client
        .post(format!("{base}/api/v1/tokens"))
        .basic_auth("admin", Some("admin-password-1"))
        .json(&serde_json::json!({ "name": "bench", "scope": scope }))
        .send()
        .await
        .expect("token");
    assert!(res.status().is_success(), "token: {}", res.status());
    let body: serde_json::Value = res.json().await.expect("token json");
    body["secret"].as_str().expect("secret").to_owned()
}

/// Adds `auth`'s credentials to a request.
pub fn authorize(req: reqwest::RequestBuilder, auth: &Auth) -> reqwest::RequestBuilder {
    match auth {
        Auth::None => req,
        Auth::Bearer(token) => req.bearer_auth(token),
        Auth::Basic(user, password) => req.basic_auth(user, Some(password)),
    }
}

/// Percent-encodes everything but unreserved characters, for query values.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    let rate = run_wrk(url, auth, clients, seconds, None)?;
    assert_eq!(
        rate.failed, 0,
        "wrk saw {} non-2xx answers from {url}",
        rate.failed
    );
    Some(rate)
}

/// Whether `wrk` is on the PATH.
pub fn wrk_installed() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok()
}

/// `wrk` POSTing the same JSON `body` to `url` (through a Lua script).
pub fn wrk_post(url: &str, auth: &Auth, body: &str, clients: usize, seconds: f64) -> Option<Rate> {
    let script = tempfile::NamedTempFile::new().ok()?;
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.body = {}\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
        serde_json::to_string(body).ok()?
    );
    std::fs::write(script.path(), lua).ok()?;
    run_wrk(url, auth, clients, seconds, Some(script.path()))
}

fn run_wrk(
    url: &str,
    auth: &Auth,
    clients: usize,
    seconds: f64,
    script: Option<&std::path::Path>,
) -> Option<Rate> {
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
    if let Some(script) = script {
        cmd.arg("-s").arg(script);
    }
    let out = cmd.arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
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
    let requests: usize = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let failed: usize = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let all: f64 = field("Requests/sec:")?.parse().ok()?;
    let ok_share = 1.0 - failed as f64 / requests.max(1) as f64;
    Some(Rate {
        requests,
        p50_ms: field("50%").and_then(ms)?,
        tail_ms: field("99%").and_then(ms)?,
        tail: "p99",
        per_second: all * ok_share,
        failed,
    })
}
