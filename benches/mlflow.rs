//! MLflow-compatible API benchmark on seed data: prints numbers, asserts nothing.
//!
//! `cargo bench --features ssr --bench mlflow`
//!
//! Environment: `BENCH_MODELS` (default 50000, ~10 versions each),
//! `BENCH_POSTGRES_URL` (an empty database the bench may fill) to also run
//! on Postgres. For each of two calls, through HTTP with a Bearer token and
//! 4 concurrent clients for `BENCH_SECONDS` (default 10): latency p50/p95
//! and requests per second.
//! - search: `registered-models/search?filter=name LIKE 'fraud-%' AND tags.tier = 'critical'&max_results=100`
//! - alias lookup: `registered-models/alias?name=…&alias=champion`

mod common;

use std::{sync::Arc, time::Instant};

use common::{env_number, urlencode};

use leptos::prelude::LeptosOptions;
use model_registry::server::{
    config::Config,
    seed::{seed, SeedSize},
    startup,
};
use reqwest::Client;

const CLIENTS: usize = 4;

#[tokio::main]
async fn main() {
    let models: u64 = env_number("BENCH_MODELS", 50_000);
    let seconds = env_number("BENCH_SECONDS", 10);
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run(
        "sqlite",
        Config::for_tests(sqlite, dir.path().into()),
        models,
        seconds,
    )
    .await;
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        run(
            "postgres",
            Config::for_tests(url, dir.path().into()),
            models,
            seconds,
        )
        .await;
    }
}

async fn run(label: &str, config: Config, models: u64, seconds: u64) {
    let options = LeptosOptions::builder()
        .output_name("model-registry")
        .build();
    let state = startup::prepare(config, options).await.expect("prepare");
    let start = Instant::now();
    seed(
        &state.db,
        SeedSize {
            models,
            versions_per_model: 10,
        },
        |_| {},
    )
    .await
    .expect("seed");
    println!(
        "[{label}] seeded {models} models in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    // Point `champion` at the newest version of 1000 models.
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM models ORDER BY id LIMIT 1000")
        .fetch_all(state.db.pool())
        .await
        .expect("names");
    sqlx::query(
        "INSERT INTO model_aliases (model_id, alias, version_id, updated_by, updated_at) \
         SELECT m.id, 'champion', (SELECT MAX(v.id) FROM model_versions v WHERE v.model_id = m.id), 'bench', 0 \
         FROM models m WHERE m.id IN (SELECT id FROM models ORDER BY id LIMIT 1000) \
         AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id)",
    )
    .execute(state.db.pool())
    .await
    .expect("aliases");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serve_state = state.clone();
    let server = tokio::spawn(async move {
        startup::serve(serve_state, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
    let client = Client::new();
    let token = common::token(&client, &base, "read").await;

    let search = format!(
        "{base}/api/2.0/mlflow/registered-models/search?filter={}&max_results=100",
        urlencode("name LIKE 'fraud-%' AND tags.tier = 'critical'")
    );
    measure(
        label,
        "search (LIKE + tag filter, 100 per page)",
        &client,
        &token,
        seconds,
        Arc::new(move |_| search.clone()),
    )
    .await;
    let names = Arc::new(names);
    let alias_base = format!("{base}/api/2.0/mlflow/registered-models/alias");
    measure(
        label,
        "alias lookup (get-by-alias)",
        &client,
        &token,
        seconds,
        Arc::new(move |n| {
            format!(
                "{alias_base}?name={}&alias=champion",
                names[n % names.len()]
            )
        }),
    )
    .await;
    let _ = stop.send(());
    let _ = server.await;
}

async fn measure(
    label: &str,
    what: &str,
    client: &Client,
    token: &str,
    seconds: u64,
    url: Arc<dyn Fn(usize) -> String + Send + Sync>,
) {
    let auth = common::Auth::Bearer(token.to_owned());
    let r = common::measure(client, &auth, CLIENTS, seconds as f64, url).await;
    println!(
        "[{label}] {what}: {} requests, p50 {:.2} ms, p95 {:.2} ms, {:.0} requests/s at {CLIENTS} clients",
        r.requests, r.p50_ms, r.tail_ms, r.per_second
    );
}
