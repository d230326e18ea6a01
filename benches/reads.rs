//! Point reads against the machine's limit: prints numbers, asserts nothing.
//!
//! `cargo bench --features ssr --bench reads`
//!
//! In one run, on the same server (SQLite; Postgres too with
//! `BENCH_POSTGRES_URL`, an empty database the bench may fill), 4 clients
//! for `BENCH_SECONDS` (default 5) each: `/healthz` (no database, no
//! authentication: the ceiling), then the reads a CI fleet polls (get model,
//! get alias, the stage lookup; REST and MLflow) with a Bearer token and with
//! Basic credentials. Prints each rate, its ratio to `/healthz`, and token
//! over Basic. Goal (issue 16): every authenticated read ≥ 1/3 of
//! `/healthz`, tokens at least as fast as Basic.

mod common;

use std::sync::Arc;

use common::{env_number, measure, Auth, Rate};
use leptos::prelude::LeptosOptions;
use model_registry::server::{config::Config, startup};
use reqwest::Client;
use serde_json::json;

const CLIENTS: usize = 4;

/// A read's address for model `i` of the catalog at `base`.
type Address = fn(&str, usize) -> String;

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
    let basic = Auth::Basic("admin".into(), "admin-password-1".into());
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}/api/v1{path}"))
            .basic_auth("admin", Some("admin-password-1"))
            .json(&body)
            .send()
    };
    let created: serde_json::Value = post("/tokens", json!({"name": "bench"}))
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let bearer = Auth::Bearer(created["secret"].as_str().expect("secret").to_owned());
    // A small catalog: what is measured is the path of one read, not a scan.
    for i in 0..50 {
        let name = format!("fraud-{i}");
        post("/models", json!({"name": name})).await.expect("model");
        for v in ["1.0.0", "1.1.0", "2.0.0"] {
            let path = format!("/models/{name}/versions");
            post(
                &path,
                json!({"version": v, "params": {"lr": "0.1"}, "metrics": {"auc": 0.9}}),
            )
            .await
            .expect("version");
        }
        client
            .put(format!("{base}/api/v1/models/{name}/aliases/candidate"))
            .basic_auth("admin", Some("admin-password-1"))
            .json(&json!({"version": "1.1.0"}))
            .send()
            .await
            .expect("alias");
    }

    let url = |f: Address| -> Arc<dyn Fn(usize) -> String + Send + Sync> {
        let base = base.clone();
        Arc::new(move |n| f(&base, n % 50))
    };
    let healthz = measure(
        &client,
        &Auth::None,
        CLIENTS,
        seconds,
        url(|b, _| format!("{b}/healthz")),
    )
    .await;
    report(label, "/healthz (the ceiling)", healthz, healthz);
    let reads: [(&str, Address); 5] = [
        ("GET /api/v1/models/{name}", |b, i| {
            format!("{b}/api/v1/models/fraud-{i}")
        }),
        ("GET /api/v1/models/{name}/aliases/candidate", |b, i| {
            format!("{b}/api/v1/models/fraud-{i}/aliases/candidate")
        }),
        ("GET /api/v1/models/{name}/stages/experimental", |b, i| {
            format!("{b}/api/v1/models/fraud-{i}/stages/experimental")
        }),
        ("MLflow registered-models/get", |b, i| {
            format!("{b}/api/2.0/mlflow/registered-models/get?name=fraud-{i}")
        }),
        ("MLflow registered-models/alias", |b, i| {
            format!("{b}/api/2.0/mlflow/registered-models/alias?name=fraud-{i}&alias=candidate")
        }),
    ];
    for (what, f) in reads {
        let token = measure(&client, &bearer, CLIENTS, seconds, url(f)).await;
        report(label, &format!("{what}, token"), token, healthz);
        let password = measure(&client, &basic, CLIENTS, seconds, url(f)).await;
        report(label, &format!("{what}, Basic"), password, healthz);
        println!(
            "[{label}]   token / Basic: {:.2}",
            token.per_second / password.per_second
        );
    }
    // The same reads from wrk, a load generator in its own process (the
    // numbers above share this process's runtime with the server).
    let one = |f: Address| f(&base, 7);
    let wrk_healthz = tokio::task::block_in_place(|| {
        common::wrk(&format!("{base}/healthz"), &Auth::None, CLIENTS, seconds)
    });
    let Some(wrk_healthz) = wrk_healthz else {
        println!("[{label}] (install wrk for the same reads from an outside load generator)");
        let _ = stop.send(());
        let _ = server.await;
        return;
    };
    report(label, "wrk /healthz", wrk_healthz, wrk_healthz);
    for (what, f) in reads {
        for (how, auth) in [("token", &bearer), ("Basic", &basic)] {
            let rate = tokio::task::block_in_place(|| common::wrk(&one(f), auth, CLIENTS, seconds));
            if let Some(rate) = rate {
                report(label, &format!("wrk {what}, {how}"), rate, wrk_healthz);
            }
        }
    }
    let _ = stop.send(());
    let _ = server.await;
}

fn report(label: &str, what: &str, r: Rate, healthz: Rate) {
    println!(
        "[{label}] {what}: {:.0} req/s (p50 {:.2} ms, {} {:.2} ms; {} requests), {:.2} of /healthz",
        r.per_second,
        r.p50_ms,
        r.tail,
        r.tail_ms,
        r.requests,
        r.per_second / healthz.per_second
    );
}
