use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use super::{
    auth::{basic_cache::BasicAuthCache, throttle::LoginThrottle},
    config::Config,
    db::Db,
    storage::Store,
};

/// Shared by axum handlers and (through Leptos context) server functions.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub throttle: Arc<LoginThrottle>,
    /// Recently verified HTTP Basic credentials (see `auth::basic_cache`).
    pub basic_cache: Arc<BasicAuthCache>,
    pub store: Store,
    pub leptos_options: LeptosOptions,
    /// Wakes the webhook worker after a commit that enqueued deliveries.
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// One audit-chain verification at a time on this server.
    pub chain_verification: Arc<tokio::sync::Mutex<()>>,
    /// The signing key for receipts and checkpoints, and every public key
    /// this registry has used.
    pub keys: Arc<super::signing::Keyring>,
    /// Request counters and histograms for `/metrics`.
    pub metrics: Arc<super::metrics::Metrics>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
