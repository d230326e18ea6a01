//! The registry server binary.
//!
//! `model-registry` (or `model-registry serve`) serves the app;
//! `model-registry verify-audit` checks the audit trail's hash chain;
//! `model-registry seed [MODELS] [VERSIONS_PER_MODEL]` adds synthetic data
//! (default 50000 models, 10 versions each on average).

use leptos::config::get_configuration;
use model_registry::server::{config::Config, db::Db, repo::audit, startup};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let outcome = match command.as_str() {
        "serve" => serve().await,
        "verify-audit" => verify_audit().await,
        "seed" => seed(std::env::args().skip(2).collect()).await,
        other => Err(format!(
            "unknown command {other:?}; use `serve`, `verify-audit` or `seed`"
        )),
    };
    if let Err(reason) = outcome {
        eprintln!("error: {reason}");
        std::process::exit(1);
    }
}

async fn serve() -> Result<(), String> {
    let config = Config::from_env()?;
    let mut leptos_options = get_configuration(None)
        .map_err(|e| format!("Leptos configuration: {e}"))?
        .leptos_options;
    leptos_options.site_addr = config.site_addr;
    let addr = config.site_addr;
    let state = startup::prepare(config, leptos_options).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("model registry listening on http://{addr}");
    println!("Model registry ready at http://{addr}");
    startup::serve(state, listener, startup::shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

async fn verify_audit() -> Result<(), String> {
    let config = Config::from_env()?;
    let db = Db::connect(&config.database_url).await?;
    let report = audit::verify_chain(db.pool())
        .await
        .map_err(|e| format!("cannot read the audit trail: {e}"))?;
    match report.first_broken_id {
        None => {
            println!("audit chain intact: {} events verified", report.checked);
            Ok(())
        }
        Some(id) => Err(format!(
            "audit chain broken at event {id} ({} events verified before it)",
            report.checked
        )),
    }
}

async fn seed(args: Vec<String>) -> Result<(), String> {
    let number = |i: usize, default: u64, what: &str| -> Result<u64, String> {
        args.get(i)
            .map(|a| {
                a.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("{what} must be a positive number"))
            })
            .unwrap_or(Ok(default))
    };
    let size = model_registry::server::seed::SeedSize {
        models: number(0, 50_000, "MODELS")?,
        versions_per_model: number(1, 10, "VERSIONS_PER_MODEL")?,
    };
    let config = Config::from_env()?;
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let start = std::time::Instant::now();
    model_registry::server::seed::seed(&db, size, |done| {
        if done % 10_000 == 0 || done == size.models {
            println!("  {done} / {} models", size.models);
        }
    })
    .await
    .map_err(|e| format!("seeding failed: {e}"))?;
    println!(
        "seeded {} models in {:.1} s",
        size.models,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
