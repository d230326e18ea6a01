//! Audited writes at the machine's limit: prints numbers, asserts only that
//! the audit chain survived.
//!
//! `cargo bench --features ssr --bench writes`
//!
//! On SQLite (and Postgres with `BENCH_POSTGRES_URL`, an empty database the
//! bench may fill), 8 clients for `BENCH_SECONDS` (default 5) each register
//! versions over HTTP with a Bearer token, every one with its audit event and
//! webhook outbox row in its transaction:
//! - REST `POST /api/v1/models/{name}/versions` (`bump: patch`, 5 params, 3
//!   metrics), each client on its own model, then all 8 on one model (they
//!   queue on that model's lock);
//! - MLflow `model-versions/create`, all 8 on one model.
//!
//! Afterwards the whole audit chain is verified and every version must have
//! its event. Goal (issue 16): ≥ 1,500 registrations/s on both databases.

mod common;

use common::{env_number, measure_post, token, Auth, Rate};
use leptos::prelude::LeptosOptions;
use model_registry::server::{config::Config, repo::audit, startup};
use reqwest::Client;
use serde_json::json;

const CLIENTS: usize = 8;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let seconds = env_number("BENCH_SECONDS", 5) as f64;
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run(
        "sqlite",
        Config::for_tests(sqlite, dir.path().into()),
        seconds,
    )
    .await;
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        let pg_dir = tempfile::tempdir().expect("tempdir");
        run(
            "postgres",
            Config::for_tests(url, pg_dir.path().into()),
            seconds,
        )
        .await;
    }
}

async fn run(label: &str, config: Config, seconds: f64) {
    let options = LeptosOptions::builder()
        .output_name("model-registry")
        .build();
    let state = startup::prepare(config, options).await.expect("prepare");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(startup::serve(state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let client = Client::new();
    let bearer = Auth::Bearer(token(&client, &base, "write").await);
    let create = |name: String| {
        let (client, base, bearer) = (client.clone(), base.clone(), bearer.clone());
        async move {
            let req = client
                .post(format!("{base}/api/v1/models"))
                .json(&json!({ "name": name }));
            let res = common::authorize(req, &bearer).send().await.expect("model");
            assert!(res.status().is_success(), "create {name}: {}", res.status());
        }
    };
    for i in 0..=CLIENTS {
        create(format!("writes-{i}")).await;
    }
    // A subscriber that answers 204, so every registration also writes its
    // outbox row and the delivery worker records each delivery meanwhile.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let hook_url = format!("http://{}/hook", receiver.local_addr().expect("addr"));
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
        );
        let _ = axum::serve(receiver, app).await;
    });
    let res = common::authorize(
        client.post(format!("{base}/api/v1/webhooks")).json(&json!({
            "url": hook_url,
            "events": ["version.registered"],
        })),
        &Auth::Basic("admin".into(), "admin-password-1".into()),
    )
    .send()
    .await
    .expect("webhook");
    assert!(res.status().is_success(), "webhook: {}", res.status());

    let body = json!({
        "bump": "patch",
        "description": "benchmark",
        "params": {"lr": "0.01", "depth": "8", "seed": "7", "optimizer": "adam", "epochs": "20"},
        "metrics": {"accuracy": 0.91, "auc": 0.95, "val_loss": 0.12},
    })
    .to_string();
    // Own model per client: `measure_post` sends one URL, so each client runs
    // its own one-client load at the same time.
    let mut own = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let (client, bearer, body) = (client.clone(), bearer.clone(), body.clone());
        let url = format!("{base}/api/v1/models/writes-{i}/versions");
        own.spawn(async move { measure_post(&client, &bearer, 1, seconds, &url, &body).await });
    }
    let mut parts = Vec::new();
    while let Some(done) = own.join_next().await {
        parts.push(done.expect("client"));
    }
    report(
        label,
        "REST register, 8 clients, a model each",
        combine(&parts),
    );

    let url = format!("{base}/api/v1/models/writes-{CLIENTS}/versions");
    let one = measure_post(&client, &bearer, CLIENTS, seconds, &url, &body).await;
    report(label, "REST register, 8 clients, one model", one);

    let mlflow =
        json!({"name": format!("writes-{CLIENTS}"), "source": "s3://bench/model"}).to_string();
    let url = format!("{base}/api/2.0/mlflow/model-versions/create");
    let rate = measure_post(&client, &bearer, CLIENTS, seconds, &url, &mlflow).await;
    report(
        label,
        "MLflow model-versions/create, 8 clients, one model",
        rate,
    );

    // The same writes from wrk, a load generator outside this process (the
    // clients above share the server's runtime and its two cores).
    let rest_url = format!("{base}/api/v1/models/writes-{CLIENTS}/versions");
    let wrk = |url: &str, body: &str| {
        tokio::task::block_in_place(|| common::wrk_post(url, &bearer, body, CLIENTS, seconds))
    };
    match wrk(&rest_url, &body) {
        Some(rate) => {
            report(label, "wrk REST register, 8 connections, one model", rate);
            if let Some(rate) = wrk(&url, &mlflow) {
                report(
                    label,
                    "wrk MLflow model-versions/create, 8 connections, one model",
                    rate,
                );
            }
        }
        None => {
            println!("[{label}] (install wrk for the same writes from an outside load generator)")
        }
    }

    let drained = std::time::Instant::now();
    let pending = loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'")
                .fetch_one(state.db.pool())
                .await
                .expect("count deliveries");
        if pending == 0 || drained.elapsed() > std::time::Duration::from_secs(30) {
            break pending;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let delivered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'delivered'")
            .fetch_one(state.db.pool())
            .await
            .expect("count deliveries");
    println!(
        "[{label}] webhook deliveries: {delivered} delivered, {pending} pending {:.1} s after the load",
        drained.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    let chain = audit::verify_chain(state.db.pool()).await.expect("verify");
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM model_versions")
        .fetch_one(state.db.pool())
        .await
        .expect("count versions");
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'version.register'")
            .fetch_one(state.db.pool())
            .await
            .expect("count events");
    println!(
        "[{label}] audit chain after the load: {chain:?}, verified in {:.0} ms; {versions} versions, \
         {events} registration events",
        started.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(
        chain.first_broken_id, None,
        "the audit chain broke under concurrent writes"
    );
    assert_eq!(versions, events, "a version without its registration event");
    let _ = stop.send(());
    let _ = server.await;
}

/// Clients measured separately, as one load.
fn combine(parts: &[Rate]) -> Rate {
    let n = parts.len().max(1) as f64;
    Rate {
        requests: parts.iter().map(|r| r.requests).sum(),
        p50_ms: parts.iter().map(|r| r.p50_ms).sum::<f64>() / n,
        tail_ms: parts.iter().map(|r| r.tail_ms).fold(0.0, f64::max),
        tail: "p95",
        per_second: parts.iter().map(|r| r.per_second).sum(),
        failed: parts.iter().map(|r| r.failed).sum(),
    }
}

fn report(label: &str, what: &str, r: Rate) {
    println!(
        "[{label}] {what}: {:.0}/s (p50 {:.2} ms, {} {:.2} ms; {} requests, {} refused)",
        r.per_second, r.p50_ms, r.tail, r.tail_ms, r.requests, r.failed
    );
}
