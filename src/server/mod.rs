//! Everything that runs only on the server: configuration, database,
//! repositories, services, authentication and the HTTP surface.

pub mod auth;
pub mod backup;
pub mod client_cli;
pub mod config;
pub mod context;
pub mod db;
pub mod events;
pub mod evidence_cli;
pub mod export;
pub mod http;
pub mod markdown;
pub mod metrics;
pub mod mlflow;
pub mod mlflow_import;
pub mod repo;
pub mod seed;
pub mod services;
pub mod session_store;
pub mod signing;
pub mod startup;
pub mod state;
pub mod storage;
pub mod webhooks;
