//! The registry server binary.
//!
//! `model-registry` (or `model-registry serve`) serves the app;
//! `model-registry verify-audit` checks the audit trail's hash chain;
//! `model-registry seed [MODELS] [VERSIONS_PER_MODEL]` adds synthetic data
//! (default 50000 models, 10 versions each on average);
//! `model-registry import-mlflow --from URL [--models PATTERN] [--as USER]`
//! copies an MLflow server's registry here (see `server::mlflow_import`);
//! `anchor-audit`, `verify-receipt FILE [--keys KEYS.json]` and
//! `rotate-signing-key` handle the signed evidence (`server::evidence_cli`).

use leptos::config::get_configuration;
use model_registry::server::{config::Config, db::Db, evidence_cli, startup};
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
        "verify-audit" | "anchor-audit" | "verify-receipt" | "rotate-signing-key" => {
            let outcome = match command.as_str() {
                "verify-audit" => evidence_cli::verify_audit().await,
                "anchor-audit" => anchor_audit().await,
                "verify-receipt" => {
                    evidence_cli::verify_receipt(&std::env::args().skip(2).collect::<Vec<_>>())
                }
                _ => evidence_cli::rotate_signing_key(),
            };
            if let Err((code, reason)) = outcome {
                eprintln!("error: {reason}");
                std::process::exit(code);
            }
            Ok(())
        }
        "seed" => seed(std::env::args().skip(2).collect()).await,
        "import-mlflow" => import_mlflow(std::env::args().skip(2).collect()).await,
        other => Err(format!(
            "unknown command {other:?}; use `serve`, `verify-audit`, `anchor-audit`, \
             `verify-receipt`, `rotate-signing-key`, `seed` or `import-mlflow`"
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

/// For commands that serve no pages: the site options are only a placeholder.
fn placeholder_options() -> leptos::config::LeptosOptions {
    leptos::config::LeptosOptions::builder()
        .output_name("model-registry")
        .build()
}

async fn anchor_audit() -> evidence_cli::Outcome {
    let config = Config::from_env().map_err(|e| (1, e))?;
    let state = startup::prepare(config, placeholder_options())
        .await
        .map_err(|e| (1, e))?;
    evidence_cli::anchor_audit(&state).await
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

const IMPORT_USAGE: &str =
    "usage: model-registry import-mlflow --from URL [--models PATTERN] [--as USER]
  --from URL        the MLflow server (credentials: MLFLOW_TRACKING_TOKEN, or
                    MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)
  --models PATTERN  only models whose name matches (* and ?); default all
  --as USER         the registry user the import acts as (a contributor or
                    admin; default REGISTRY_ADMIN_USER)
exit codes: 0 everything copied, 2 something could not be (listed), 1 error";

struct ImportArgs {
    from: String,
    models: Option<String>,
    user: Option<String>,
}

/// `None`: `--help` was asked for (and printed).
fn import_args(args: &[String]) -> Result<Option<ImportArgs>, String> {
    let mut parsed = ImportArgs {
        from: String::new(),
        models: None,
        user: None,
    };
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .cloned()
                .ok_or(format!("{flag} needs a value\n{IMPORT_USAGE}"))
        };
        match flag.as_str() {
            "--from" => parsed.from = value()?,
            "--models" => parsed.models = Some(value()?),
            "--as" => parsed.user = Some(value()?),
            "--help" | "-h" => {
                println!("{IMPORT_USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other:?}\n{IMPORT_USAGE}")),
        }
    }
    if parsed.from.is_empty() {
        return Err(format!("--from is required\n{IMPORT_USAGE}"));
    }
    Ok(Some(parsed))
}

async fn import_mlflow(args: Vec<String>) -> Result<(), String> {
    use model_registry::{
        domain::{mlflow_import::NamePattern, Username},
        server::{
            auth::principal::Principal,
            mlflow_import::{self, Client, TerminalProgress},
            repo::audit::Origin,
            services::Ctx,
        },
    };
    let Some(args) = import_args(&args)? else {
        return Ok(());
    };
    let pattern = NamePattern::parse(args.models.as_deref()).map_err(|e| e.to_string())?;
    let source = Client::new(&args.from).map_err(|e| e.to_string())?;
    let config = Config::from_env()?;
    let user = args
        .user
        .clone()
        .unwrap_or_else(|| config.admin_user.clone());
    let username = Username::parse(&user).map_err(|e| format!("--as: {e}"))?;
    let state = startup::prepare(config, placeholder_options()).await?;
    let principal = Principal::of_user(&state, &username)
        .await
        .map_err(|e| format!("--as {user}: {e}"))?;
    let origin = Origin {
        client_addr: None,
        request_id: Some(format!("import-mlflow {}", source.base())),
    };
    let cx = Ctx::new(state, principal, origin);
    let progress = TerminalProgress::new();
    let summary = mlflow_import::run(&cx, &source, &pattern, &progress).await;
    progress.finish();
    let summary = summary?;
    println!("{summary}");
    if !summary.not_copied.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
