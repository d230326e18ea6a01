//! Start-up: configuration, database, migrations, the first admin, then
//! serving until SIGTERM or Ctrl-C.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::serve::ListenerExt;
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
    let db = Db::connect(&config.database_url).await?;
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
    let state = AppState {
        db,
        store,
        config: Arc::new(config),
        throttle: Arc::new(LoginThrottle::default()),
        basic_cache: Arc::default(),
        leptos_options,
        webhook_wake: Arc::default(),
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
    let sweeper = tokio::spawn(sweep_expired_sessions(DbSessionStore::new(
        state.db.clone(),
    )));
    let expirer = tokio::spawn(expire_lapsed_requests(state.clone()));
    let (stop_webhooks, webhooks_stopped) = tokio::sync::watch::channel(false);
    let webhook_worker = webhooks::worker::spawn(state.clone(), webhooks_stopped);
    let db = state.db.clone();
    let app = router::build(state);
    // Without TCP_NODELAY, keep-alive clients can stall ~40 ms per small response.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    expirer.abort();
    // Let the worker finish the batch in flight (each send times out), so
    // leases are released; whatever is still pending is sent after restart.
    let _ = stop_webhooks.send(true);
    webhooks::worker::stop(webhook_worker).await;
    db.close().await;
    result
}

async fn sweep_expired_sessions(store: DbSessionStore) {
    let mut every = tokio::time::interval(Duration::from_secs(15 * 60));
    loop {
        every.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
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
