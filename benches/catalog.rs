//! Catalog benchmark on seed data: prints numbers, asserts nothing.
//!
//! `cargo bench --features ssr --bench catalog`
//!
//! Environment: `BENCH_MODELS` (default 50000; ~10 versions each, so 500k
//! versions), `BENCH_POSTGRES_URL` (an empty database the bench may fill) to
//! also run on Postgres. Reports, per database:
//! - seeding time;
//! - catalog search server time (the service call: SQL + page details),
//!   p50/p95, for a text query with two filters (team, stage);
//! - model page render time (full HTTP GET of `/models/{name}`, SSR), p50/p95;
//! - version registrations per second (4 concurrent writers, each with
//!   params, metrics and a 20-point series, through the service).

use std::time::{Duration, Instant};

use leptos::prelude::LeptosOptions;
use model_registry::{
    domain::{
        catalog::{PointForm, VersionForm},
        CatalogQuery, ModelName, Role,
    },
    server::{
        auth::Principal,
        config::Config,
        repo::audit::Origin,
        seed::{seed, SeedSize},
        services::{catalog, Ctx},
        startup,
        state::AppState,
    },
};
use reqwest::{header, Client};

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
const TEAMS: [&str; 4] = ["risk", "growth", "vision", "nlp"];

#[tokio::main]
async fn main() {
    let models: u64 = std::env::var("BENCH_MODELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run(
        "sqlite",
        Config::for_tests(sqlite, dir.path().into()),
        models,
    )
    .await;
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        run(
            "postgres",
            Config::for_tests(url, dir.path().into()),
            models,
        )
        .await;
    }
}

fn admin() -> Principal {
    Principal {
        user_id: 1,
        username: "admin".into(),
        role: Role::Admin,
        token_id: None,
        scope: None,
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn run(label: &str, config: Config, models: u64) {
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
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM model_versions")
        .fetch_one(state.db.pool())
        .await
        .unwrap();
    println!(
        "[{label}] seeded {models} models / {versions} versions in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    search(label, &state).await;
    registrations(label, &state).await;
    // Last: stopping the server closes the pool.
    model_page(label, &state).await;
}

async fn search(label: &str, state: &AppState) {
    let cx = Ctx::new(state.clone(), admin(), Origin::default());
    let mut times = Vec::new();
    let mut hits = 0;
    for i in 0..300 {
        let q = DOMAINS[i % DOMAINS.len()];
        let team = TEAMS[i % TEAMS.len()];
        let query =
            CatalogQuery::from_pairs([("q", q), ("team", team), ("stage", "production")]).unwrap();
        let t = Instant::now();
        let page = catalog::search(&cx, query).await.expect("search");
        times.push(t.elapsed());
        hits += page.models.len();
    }
    times.sort();
    println!(
        "[{label}] search q=<domain>&team=<team>&stage=production (300 queries, {:.1} hits/page): p50 {:.2} ms, p95 {:.2} ms",
        hits as f64 / 300.0,
        pct(&times, 0.5),
        pct(&times, 0.95)
    );
}

async fn model_page(label: &str, state: &AppState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(startup::serve(state.clone(), listener, async {
        let _ = rx.await;
    }));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/fn/login"))
        .header(header::ORIGIN, &base)
        .form(&[("username", "admin"), ("password", "admin-password-1")])
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("registry_session="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM models ORDER BY id LIMIT 100")
        .fetch_all(state.db.pool())
        .await
        .unwrap();
    let mut times = Vec::new();
    for name in &names {
        let t = Instant::now();
        let res = client
            .get(format!("{base}/models/{name}"))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let _ = res.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "[{label}] model page GET /models/<name> (SSR, 100 models): p50 {:.2} ms, p95 {:.2} ms",
        pct(&times, 0.5),
        pct(&times, 0.95)
    );
    let _ = tx.send(());
    let _ = server.await;
}

async fn registrations(label: &str, state: &AppState) {
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM models ORDER BY id DESC LIMIT 4")
        .fetch_all(state.db.pool())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let state = state.clone();
        tasks.spawn(async move {
            let cx = Ctx::new(state.clone(), admin(), Origin::default());
            let model = ModelName::parse(&name).unwrap();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let form = VersionForm {
                    description: Some("benchmark".into()),
                    params: Some((0..5).map(|i| (format!("p{i}"), i.into())).collect()),
                    metrics: Some(
                        [("accuracy", 0.9), ("auc", 0.95), ("val_loss", 0.1)]
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect(),
                    ),
                    metric_series: Some(
                        [(
                            "loss".to_owned(),
                            (0..20)
                                .map(|step| PointForm {
                                    step,
                                    value: 1.0 / (step + 1) as f64,
                                })
                                .collect(),
                        )]
                        .into(),
                    ),
                    ..VersionForm::default()
                };
                catalog::register_version(&cx, &model, form)
                    .await
                    .expect("register");
                n += 1;
            }
            n
        });
    }
    let mut total = 0;
    while let Some(Ok(n)) = tasks.join_next().await {
        total += n;
    }
    println!(
        "[{label}] version registrations (4 writers, 5 params, 3 metrics, 20 points each): {:.0}/s",
        total as f64 / 5.0
    );
}
