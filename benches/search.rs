//! Every catalog and MLflow search at scale, over HTTP with a token: prints
//! p50/p95 and requests per second for each, and the database's plan for its
//! main statement. Asserts nothing.
//!
//! `cargo bench --features ssr --bench search`
//!
//! Environment: `BENCH_MODELS` (default 50000; ~10 versions each, so about
//! 500k versions), `BENCH_SECONDS` per search (default 4),
//! `BENCH_POSTGRES_URL` (an empty database the bench may fill) to also run
//! on Postgres. `BENCH_PLANS=0` leaves the plans out. Load: 4 in-process
//! clients, and `wrk` (2 threads, 4 connections) when it is installed.

mod common;

use std::{sync::Arc, time::Instant};

use common::{env_number, urlencode, Auth, Rate};
use leptos::prelude::LeptosOptions;
use model_registry::{
    domain::{
        mlflow_search::{self, Entity},
        CatalogQuery,
    },
    server::{
        config::Config,
        repo::{mlflow, search, sql},
        seed::{seed, SeedSize},
        startup,
        state::AppState,
    },
};
use reqwest::Client;

const CLIENTS: usize = 4;

/// What a search sends, and how to rebuild the statement it runs.
enum Search {
    /// `/api/v1/models?…` (the catalog page's search, as JSON).
    Catalog(&'static str),
    /// `/api/2.0/mlflow/registered-models/search` with this filter and page size.
    MlflowModels(&'static str, i64),
    /// `/api/2.0/mlflow/model-versions/search` with this filter and page size.
    MlflowVersions(String, i64),
}

#[tokio::main]
async fn main() {
    let models = env_number("BENCH_MODELS", 50_000);
    let seconds = env_number("BENCH_SECONDS", 4) as f64;
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut rows = run(
        "sqlite",
        Config::for_tests(sqlite, dir.path().into()),
        models,
        seconds,
    )
    .await;
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        rows.extend(
            run(
                "postgres",
                Config::for_tests(url, dir.path().into()),
                models,
                seconds,
            )
            .await,
        );
    }
    println!("\n| database | search | results | p50 ms | p95 ms | req/s (in-process) | req/s (wrk) | wrk p99 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    for (db, what, results, ours, wrk) in rows {
        let (wrk_rate, wrk_tail) = wrk.map_or(("-".into(), "-".into()), |w| {
            (format!("{:.0}", w.per_second), format!("{:.2}", w.tail_ms))
        });
        println!(
            "| {db} | {what} | {results} | {:.2} | {:.2} | {:.0} | {wrk_rate} | {wrk_tail} |",
            ours.p50_ms, ours.tail_ms, ours.per_second
        );
    }
}

type Row = (&'static str, String, usize, Rate, Option<Rate>);

async fn run(label: &'static str, config: Config, models: u64, seconds: f64) -> Vec<Row> {
    let options = LeptosOptions::builder()
        .output_name("model-registry")
        .build();
    let state = startup::prepare(config, options).await.expect("prepare");
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM models")
        .fetch_one(state.db.pool())
        .await
        .expect("count");
    assert_eq!(
        existing, 0,
        "[{label}] the database already holds {existing} models: the figures would not be for {models}; use an empty one"
    );
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
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM model_versions")
        .fetch_one(state.db.pool())
        .await
        .expect("count");
    println!(
        "[{label}] seeded {models} models / {versions} versions in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    // A model in the middle of the catalog, for the exact-name searches.
    let middle: String = sqlx::query_scalar("SELECT name FROM models WHERE id = $1")
        .bind((models / 2).max(1) as i64)
        .fetch_one(state.db.pool())
        .await
        .expect("a model");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(startup::serve(state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let client = Client::new();
    let auth = Auth::Bearer(common::token(&client, &base, "read").await);

    let searches = [
        ("catalog: text `fraud`", Search::Catalog("q=fraud")),
        (
            "catalog: text + team + stage",
            Search::Catalog("q=fraud+classifier&team=risk&stage=production"),
        ),
        (
            "catalog: tag tier=critical, 100 per page",
            Search::Catalog("tag=tier%3Dcritical&per_page=100"),
        ),
        (
            "catalog: newest first, 100 per page",
            Search::Catalog("sort=updated&per_page=100"),
        ),
        (
            "MLflow models: all, 100 per page",
            Search::MlflowModels("", 100),
        ),
        (
            "MLflow models: name LIKE 'fraud-%', 100",
            Search::MlflowModels("name LIKE 'fraud-%'", 100),
        ),
        (
            "MLflow models: tags.domain = 'fraud', 100",
            Search::MlflowModels("tags.domain = 'fraud'", 100),
        ),
        (
            "MLflow models: name LIKE + tag, 100",
            Search::MlflowModels("name LIKE 'fraud-%' AND tags.tier = 'critical'", 100),
        ),
        (
            "MLflow models: name ILIKE '%class%', 100",
            Search::MlflowModels("name ILIKE '%class%'", 100),
        ),
        (
            "MLflow versions: name = one model",
            Search::MlflowVersions(format!("name = '{middle}'"), 100),
        ),
    ];
    let plans = env_number("BENCH_PLANS", 1) == 1;
    let mut rows = Vec::new();
    for (what, search) in searches {
        let url = search.url(&base);
        let results = results(&client, &auth, &url).await;
        if plans {
            println!("[{label}] {what}: plan");
            for line in plan(&state, &search).await {
                println!("    {line}");
            }
        }
        let shared = url.clone();
        let ours = common::measure(
            &client,
            &auth,
            CLIENTS,
            seconds,
            Arc::new(move |_| shared.clone()),
        )
        .await;
        let wrk = common::wrk(&url, &auth, CLIENTS, seconds);
        println!(
            "[{label}] {what}: {results} results, p50 {:.2} ms, p95 {:.2} ms, {:.0} req/s{}",
            ours.p50_ms,
            ours.tail_ms,
            ours.per_second,
            wrk.map_or(String::new(), |w| format!(
                "; wrk {:.0} req/s, p99 {:.2} ms",
                w.per_second, w.tail_ms
            ))
        );
        rows.push((label, what.to_owned(), results, ours, wrk));
    }
    let _ = stop.send(());
    let _ = server.await;
    rows
}

impl Search {
    fn url(&self, base: &str) -> String {
        match self {
            Search::Catalog(query) => format!("{base}/api/v1/models?{query}"),
            Search::MlflowModels(filter, n) => format!(
                "{base}/api/2.0/mlflow/registered-models/search?filter={}&max_results={n}",
                urlencode(filter)
            ),
            Search::MlflowVersions(filter, n) => format!(
                "{base}/api/2.0/mlflow/model-versions/search?filter={}&max_results={n}",
                urlencode(filter)
            ),
        }
    }
}

/// How many results one answer carries (and that it is a 2xx).
async fn results(client: &Client, auth: &Auth, url: &str) -> usize {
    let Auth::Bearer(token) = auth else {
        unreachable!("the bench uses a token")
    };
    let res = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("search");
    assert!(res.status().is_success(), "{url}: {}", res.status());
    let body: serde_json::Value = res.json().await.expect("json");
    ["models", "registered_models", "model_versions"]
        .iter()
        .find_map(|k| body[k].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// The main statement's plan, as the database reports it.
async fn plan(state: &AppState, search: &Search) -> Vec<String> {
    let backend = state.db.backend();
    let statement = match search {
        Search::Catalog(query) => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("pairs");
            let query =
                CatalogQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .expect("query");
            search::statement(state.db.pool(), backend, &query)
                .await
                .expect("statement")
        }
        Search::MlflowModels(filter, n) => {
            let clauses = mlflow_search::parse(filter, Entity::Models).expect("filter");
            mlflow::models_statement(state.db.pool(), backend, &clauses, &[], n + 1, 0)
                .await
                .expect("statement")
        }
        Search::MlflowVersions(filter, n) => {
            let clauses = mlflow_search::parse(filter, Entity::Versions).expect("filter");
            mlflow::versions_statement(backend, &clauses, &[], n + 1, 0)
        }
    };
    sql::explain(state.db.pool(), backend, &statement)
        .await
        .expect("explain")
}
