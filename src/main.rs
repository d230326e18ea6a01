//! The registry binary: the server, its maintenance and evidence commands,
//! and a client for scripts and CI jobs (`whoami`, `resolve`). Arguments
//! are parsed by clap (`--help` on every command, `completions SHELL`);
//! every failure is one line on stderr and a documented exit code.

use clap::{Parser, Subcommand};
use leptos::config::get_configuration;
use std::path::PathBuf;

use model_registry::server::{
    backup,
    client_cli::{self, ClientArgs},
    config::Config,
    db::Db,
    evidence_cli, startup,
};
use tracing_subscriber::EnvFilter;

const EXIT_CODES: &str = "Exit codes: 0 success; 1 error (bad arguments, unreadable files, a server \
that cannot be reached); 2 import-mlflow copied only part (listed); 3 evidence that does not verify \
(verify-audit, verify-receipt, a pulled file's checksum, backup and restore); 4 the registry has no such model, version \
or alias; 5 the token is missing or not allowed; wait: 6 rejected or cancelled, 7 expired, 8 still \
pending at --timeout.";

#[derive(Parser)]
#[command(
    name = "model-registry",
    version,
    about = "An auditable ML model registry: the server, its tools, and a client for CI jobs.",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the registry (the default): SQLite + local files unless DATABASE_URL and
    /// REGISTRY_ARTIFACTS say otherwise.
    Serve,
    /// Verify the audit trail's hash chain from genesis, then against the newest signed
    /// checkpoints (reads DATABASE_URL / REGISTRY_DATA_DIR).
    VerifyAudit,
    /// Publish a signed checkpoint of the audit chain now.
    AnchorAudit,
    /// Verify a release receipt offline, with the registry's published key set.
    VerifyReceipt {
        /// The receipt (a DSSE envelope, or a lookup answer holding one as `receipt`).
        file: String,
        /// The key set saved from /.well-known/model-registry/keys.json (default: the
        /// public keys in REGISTRY_SIGNING_KEYS).
        #[arg(long)]
        keys: Option<String>,
    },
    /// Start signing with a new key; the old one stays published for what it signed.
    RotateSigningKey,
    /// Copy the registry into DEST (a new directory): a consistent database snapshot
    /// (SQLite online; Postgres with pg_dump), every stored object checked against its
    /// recorded SHA-256, the signing keys, and a manifest (backup.json, SHA256SUMS).
    #[command(
        after_help = "Runs beside a live server. Exit codes: 0 done, 3 the store does not match \
the database (listed; the copy is kept for inspection), 1 error (nothing left in DEST)."
    )]
    Backup {
        dest: PathBuf,
        /// List the objects with their checksums but leave them in the store (an S3
        /// bucket replicated on its own); restore then expects them there.
        #[arg(long)]
        manifest_only: bool,
    },
    /// Restore a backup into the configured, empty database and store, then verify
    /// every object and the audit chain against the backup's head and checkpoints.
    #[command(
        after_help = "Exit codes: 0 restored and verified, 3 restored but something does not \
verify (listed), 1 error (an existing registry is never overwritten)."
    )]
    Restore { src: PathBuf },
    /// Add synthetic models and versions (through the same audit rules).
    Seed {
        /// How many models.
        #[arg(default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..))]
        models: u64,
        /// Versions per model, on average.
        #[arg(default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        versions_per_model: u64,
    },
    /// Copy an MLflow server's registry here (resumable, idempotent).
    #[command(
        after_help = "Credentials for the source: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME \
and MLFLOW_TRACKING_PASSWORD. Exit codes: 0 everything copied, 2 something could not be (listed), 1 error."
    )]
    ImportMlflow {
        /// The MLflow server, e.g. http://mlflow.internal:5000.
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// Only models whose name matches (`*` and `?`); default all.
        #[arg(long, value_name = "PATTERN")]
        models: Option<String>,
        /// The registry user the import acts as (a contributor or admin; default
        /// REGISTRY_ADMIN_USER).
        #[arg(long = "as", value_name = "USER")]
        user: Option<String>,
    },
    /// Who the token in REGISTRY_TOKEN belongs to (at REGISTRY_URL).
    Whoami {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print the version a reference names: NAME@ALIAS, NAME:STAGE, NAME:latest or
    /// NAME==VERSION.
    Resolve {
        /// e.g. fraud:production, fraud@champion, fraud==2.1.0.
        reference: String,
        /// For a stage or `latest`: the highest version matching this requirement (`^2.1`).
        #[arg(long)]
        matches: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Register a version and upload every file under DIR (parallel, each SHA-256
    /// checked by the registry); rerun with --version to resume a failed push.
    Push {
        dir: String,
        #[arg(long)]
        model: String,
        /// The exact version (needed to resume).
        #[arg(long, conflicts_with = "bump")]
        version: Option<String>,
        /// patch, minor or major above the highest existing version.
        #[arg(long)]
        bump: Option<String>,
        /// Record DIR's git commit and origin as the version's lineage.
        #[arg(long)]
        lineage_from_git: bool,
        /// A JSON object of final metric values.
        #[arg(long, value_name = "FILE")]
        metrics: Option<String>,
        /// A JSON object of hyperparameters.
        #[arg(long, value_name = "FILE")]
        params: Option<String>,
        /// Files uploaded at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallel: u16,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Download every file of a version into DIR, verifying each SHA-256 (exit 3 on a
    /// mismatch).
    Pull {
        /// e.g. fraud:production, fraud@champion, fraud==2.1.0.
        reference: String,
        /// Where to put the files (created; subdirectories as in the version).
        dir: String,
        /// For a stage or `latest`: the highest version matching this requirement.
        #[arg(long)]
        matches: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Ask for a version to move to a stage (applied at once where no sign-off is needed).
    Promote {
        name: String,
        version: String,
        #[arg(long)]
        to: String,
        /// Why, shown to the approvers.
        #[arg(long)]
        justification: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Wait for a request to be decided. Exit 0 approved, 6 rejected or cancelled, 7
    /// expired, 8 still pending at --timeout.
    Wait {
        name: String,
        request: i64,
        /// How long to wait: 2h, 30m, 90s.
        #[arg(long, default_value = "1h", value_parser = client_cli::parse_duration)]
        timeout: std::time::Duration,
        /// How often to ask.
        #[arg(long, default_value = "5s", value_parser = client_cli::parse_duration)]
        every: std::time::Duration,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Sign off a request (approvers).
    Approve {
        name: String,
        request: i64,
        #[arg(long, default_value = "")]
        comment: String,
        /// The content digest you reviewed (`sha256:…`); refused if the request is for other content.
        #[arg(long)]
        digest: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Refuse a request, saying why (approvers).
    Reject {
        name: String,
        request: i64,
        #[arg(long)]
        comment: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Your API tokens: create (with your password), list, revoke.
    Tokens {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Print a completion script for your shell (bash, zsh, fish, powershell, elvish).
    Completions { shell: clap_complete::Shell },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Mint a token with your password (REGISTRY_PASSWORD); prints the secret once.
    Create {
        #[arg(long)]
        name: String,
        /// read (default), deploy, write or admin.
        #[arg(long)]
        scope: Option<String>,
        #[arg(long)]
        expires_in_days: Option<i64>,
        /// Your username.
        #[arg(long)]
        user: String,
        #[arg(long, env = "REGISTRY_PASSWORD", hide_env_values = true)]
        password: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List your tokens (id, name, scope, state).
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revoke one of your tokens.
    Revoke {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[tokio::main]
async fn main() {
    let _ = dotenvy::dotenv();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: printed, success.
            let _ = e.print();
            return;
        }
        Err(e) => {
            let _ = e.print();
            std::process::exit(1);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr);
    // One JSON object per line for log shippers, or text for people.
    match std::env::var("REGISTRY_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => {
            eprintln!("error: REGISTRY_LOG_FORMAT must be text or json, not {other:?}");
            std::process::exit(1);
        }
    }
    let outcome: Result<(), (i32, String)> = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await.map_err(|e| (1, e)),
        Command::VerifyAudit => evidence_cli::verify_audit().await,
        Command::AnchorAudit => anchor_audit().await,
        Command::VerifyReceipt { file, keys } => {
            evidence_cli::verify_receipt(&file, keys.as_deref())
        }
        Command::RotateSigningKey => evidence_cli::rotate_signing_key(),
        Command::Backup {
            dest,
            manifest_only,
        } => backup::backup(&dest, manifest_only).await,
        Command::Restore { src } => backup::restore(&src).await,
        Command::Seed {
            models,
            versions_per_model,
        } => seed(models, versions_per_model).await.map_err(|e| (1, e)),
        Command::ImportMlflow { from, models, user } => import_mlflow(from, models, user).await,
        Command::Whoami { client } => client_cli::whoami(&client).await,
        Command::Resolve {
            reference,
            matches,
            client,
        } => client_cli::resolve(&client, &reference, matches.as_deref()).await,
        Command::Push {
            dir,
            model,
            version,
            bump,
            lineage_from_git,
            metrics,
            params,
            parallel,
            client,
        } => {
            let push = client_cli::PushArgs {
                dir: &dir,
                model: &model,
                version: version.as_deref(),
                bump: bump.as_deref(),
                lineage_from_git,
                metrics: metrics.as_deref(),
                params: params.as_deref(),
                parallel: usize::from(parallel),
            };
            client_cli::push(&client, push).await
        }
        Command::Pull {
            reference,
            dir,
            matches,
            client,
        } => client_cli::pull(&client, &reference, matches.as_deref(), &dir).await,
        Command::Promote {
            name,
            version,
            to,
            justification,
            client,
        } => client_cli::promote(&client, &name, &version, &to, &justification).await,
        Command::Wait {
            name,
            request,
            timeout,
            every,
            client,
        } => client_cli::wait(&client, &name, request, timeout, every).await,
        Command::Approve {
            name,
            request,
            comment,
            digest,
            client,
        } => client_cli::review(&client, &name, request, true, &comment, digest.as_deref()).await,
        Command::Reject {
            name,
            request,
            comment,
            client,
        } => client_cli::review(&client, &name, request, false, &comment, None).await,
        Command::Tokens { action } => match action {
            TokenAction::Create {
                name,
                scope,
                expires_in_days,
                user,
                password,
                client,
            } => {
                client_cli::tokens_create(
                    &client,
                    &user,
                    &password,
                    &name,
                    scope.as_deref(),
                    expires_in_days,
                )
                .await
            }
            TokenAction::List { client } => client_cli::tokens_list(&client).await,
            TokenAction::Revoke { id, client } => client_cli::tokens_revoke(&client, id).await,
        },
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "model-registry",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    if let Err((code, reason)) = outcome {
        eprintln!("error: {reason}");
        std::process::exit(code);
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

async fn seed(models: u64, versions_per_model: u64) -> Result<(), String> {
    let size = model_registry::server::seed::SeedSize {
        models,
        versions_per_model,
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

async fn import_mlflow(
    from: Option<String>,
    models: Option<String>,
    user: Option<String>,
) -> evidence_cli::Outcome {
    use model_registry::{
        domain::{mlflow_import::NamePattern, Username},
        server::{
            auth::principal::Principal,
            mlflow_import::{self, Client, TerminalProgress},
            repo::audit::Origin,
            services::Ctx,
        },
    };
    let fail = |e: String| (1, e);
    let from = from.ok_or_else(|| fail("--from is required (the MLflow server's URL)".into()))?;
    let pattern = NamePattern::parse(models.as_deref()).map_err(|e| fail(e.to_string()))?;
    let source = Client::new(&from).map_err(|e| fail(e.to_string()))?;
    let config = Config::from_env().map_err(fail)?;
    let user = user.unwrap_or_else(|| config.admin_user.clone());
    let username = Username::parse(&user).map_err(|e| fail(format!("--as: {e}")))?;
    let state = startup::prepare(config, placeholder_options())
        .await
        .map_err(fail)?;
    let principal = Principal::of_user(&state, &username)
        .await
        .map_err(|e| fail(format!("--as {user}: {e}")))?;
    let origin = Origin {
        client_addr: None,
        request_id: Some(format!("import-mlflow {}", source.base())),
    };
    let cx = Ctx::new(state, principal, origin);
    let progress = TerminalProgress::new();
    let summary = mlflow_import::run(&cx, &source, &pattern, &progress).await;
    progress.finish();
    let summary = summary.map_err(fail)?;
    println!("{summary}");
    if !summary.not_copied.is_empty() {
        return Err((
            2,
            "some of the registry could not be copied (listed above)".into(),
        ));
    }
    Ok(())
}
