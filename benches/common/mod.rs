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
    pub p95_ms: f64,
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
        p95_ms: pct(&times, 0.95),
        per_second: times.len() as f64 / took,
    }
}

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
