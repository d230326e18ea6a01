//! Start-up: configuration, database, migrations, the first admin, then
//! serving until SIGTERM or Ctrl-C.

use std::{sync::Arc, time::Duration};

use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tower_sessions::session_store::ExpiredDeletion;

use super::{
    auth::throttle::LoginThrottle, config::Config, db::Db, http::router, services,
    session_store::DbSessionStore, state::AppState, storage::Store, webhooks,
};
use crate::domain::{Password, Username};

/// Connects, migrates and bootstraps; the error is a one-line reason.
pub async fn prepare(config: Config, leptos_options: LeptosOptions) -> Result<AppState, String> {
    let db = Db::connect_with(&config.database_url, config.timeouts.statement).await?;
    db.migrate().await?;
    let digested = services::content::backfill(&db)
        .await
        .map_err(|e| format!("cannot compute content digests of existing versions: {e}"))?;
    if digested > 0 {
        tracing::info!(
            versions = digested,
            "content digests recorded for existing versions"
        );
    }
    let store = Store::open(&config.artifacts).await?;
    tracing::info!("artifacts stored in the {}", store.describe());
    let throttle = LoginThrottle::new(Default::default(), config.password_verifications);
    let keys = super::signing::Keyring::open(&config.signing_keys)?;
    tracing::info!(
        key_id = keys.active_id(),
        "signing receipts and checkpoints"
    );
    let state = AppState {
        db,
        store,
        config: Arc::new(config),
        throttle: Arc::new(throttle),
        basic_cache: Arc::default(),
        leptos_options,
        webhook_wake: Arc::default(),
        chain_verification: Arc::default(),
        keys: Arc::new(keys),
        metrics: Arc::default(),
    };
    bootstrap_admin(&state).await?;
    Ok(state)
}

async fn bootstrap_admin(state: &AppState) -> Result<(), String> {
    let config = &state.config;
    let username =
        Username::parse(&config.admin_user).map_err(|e| format!("REGISTRY_ADMIN_USER: {e}"))?;
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.clone(), false),
        None => (random_password(), true),
    };
    let password =
        Password::parse("REGISTRY_ADMIN_PASSWORD", &password).map_err(|e| e.to_string())?;
    let created = services::users::bootstrap_admin(state, username.clone(), password.clone())
        .await
        .map_err(|e| format!("cannot create the first admin: {e}"))?;
    if created && generated {
        tracing::warn!(
            "created admin user '{username}' with password '{}' (shown once; change it after signing in)",
            password.expose()
        );
    } else if created {
        tracing::info!("created admin user '{username}' from REGISTRY_ADMIN_PASSWORD");
    }
    Ok(())
}

fn random_password() -> String {
    use rand::{distributions::Alphanumeric, Rng};
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Serves on `listener` until `shutdown` completes, then drains connections.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(maintenance(state.clone()));
    let expirer = tokio::spawn(expire_lapsed_requests(state.clone()));
    let anchorer = tokio::spawn(publish_checkpoints(state.clone()));
    let metrics_listener = match state.config.metrics_addr {
        Some(addr) => Some(serve_metrics(state.clone(), addr).await?),
        None => None,
    };
    let (stop_webhooks, webhooks_stopped) = tokio::sync::watch::channel(false);
    let webhook_worker = webhooks::worker::spawn(state.clone(), webhooks_stopped);
    let db = state.db.clone();
    let timeouts = state.config.timeouts;
    let app = router::build(state);
    let result = crate::server::http::serve::serve(app, listener, timeouts, shutdown).await;
    sweeper.abort();
    expirer.abort();
    anchorer.abort();
    if let Some(task) = metrics_listener {
        task.abort();
    }
    // Let the worker finish the batch in flight (each send times out), so
    // leases are released; whatever is still pending is sent after restart.
    let _ = stop_webhooks.send(true);
    webhooks::worker::stop(webhook_worker).await;
    // Closing the pool waits for every connection to come back; one held by
    // a task that never finishes would make shutdown hang forever.
    if tokio::time::timeout(timeouts.drain, db.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still in use at shutdown; closing anyway");
    }
    result
}

/// Housekeeping, at start-up and then periodically: expired sessions and
/// throttle counters, and what interrupted uploads left in the artifact
/// store. Each step is bounded and idempotent, so several servers may run
/// it at once.
async fn maintenance(state: AppState) {
    let sessions = DbSessionStore::new(state.db.clone());
    let period = state
        .config
        .orphan_age
        .clamp(Duration::from_secs(1), Duration::from_secs(15 * 60));
    let mut every = tokio::time::interval(period);
    loop {
        every.tick().await;
        if let Err(e) = sessions.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
        if let Err(e) =
            crate::server::auth::throttle::sweep(&state.db, state.throttle.limits()).await
        {
            tracing::warn!(error = %e, "could not sweep sign-in throttle counters");
        }
        match crate::server::services::artifacts::sweep_orphans(&state, state.config.orphan_age)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "swept leftovers of interrupted uploads"),
            Err(e) => tracing::warn!(error = %e, "could not sweep interrupted uploads"),
        }
    }
}

/// Closes promotion requests whose deadline passed, so the inbox and the
/// audit trail say "expired" without anyone having to touch them.
async fn expire_lapsed_requests(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        match crate::server::services::workflow::sweep_lapsed(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "closed lapsed promotion requests"),
            Err(e) => tracing::warn!(error = %e, "could not close lapsed promotion requests"),
        }
    }
}

/// `/metrics` without credentials on its own address (`REGISTRY_METRICS_ADDR`),
/// for a monitoring network the public cannot reach.
async fn serve_metrics(
    state: AppState,
    addr: std::net::SocketAddr,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!("metrics on http://{addr}/metrics");
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(super::http::ops::public_metrics),
        )
        .with_state(state);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    }))
}

/// Publishes a signed audit checkpoint every `anchor_interval` when events
/// were added since the last one (see `services::anchors`).
async fn publish_checkpoints(state: AppState) {
    let Some(period) = state.config.anchor_interval else {
        return;
    };
    let mut every = tokio::time::interval(period);
    every.tick().await; // not at start-up: the first after one period
    loop {
        every.tick().await;
        if let Err(e) = services::anchors::publish_scheduled(&state).await {
            tracing::warn!(error = %e, "could not publish an audit checkpoint");
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
