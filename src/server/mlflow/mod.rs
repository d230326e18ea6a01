//! The MLflow model-registry REST API (`/api/2.0/mlflow/…` and
//! `/ajax-api/2.0/mlflow/…`), so `MlflowClient` works unchanged, on top of
//! our own model and rules: the same services, permissions, approval policy
//! and audit trail as the rest of the registry.
//!
//! The tracking calls that logging a model needs (runs, logged models,
//! their files) are served too (`tracking`), as a staging area a version is
//! registered from; this is not an experiment tracker.
//!
//! Mapping: MLflow's string `version` is our per-model sequence number; our
//! semver is the version tag `mlflow.semver` (a create request may set it).
//! Stage `None` is our Experimental. `transition-stage` never bypasses the
//! approval policy: where sign-offs are needed it opens a transition request
//! and answers `PERMISSION_DENIED` naming the request.

mod args;
mod artifacts;
mod error;
mod handlers;
mod tracking;
mod views;

pub use artifacts::routes as artifact_routes;
pub use error::{MlResult, MlflowError};
pub use views::our_stage;

use axum::{
    http::StatusCode,
    routing::{get, post},
    Router,
};

use crate::server::state::AppState;

pub fn routes() -> Router<AppState> {
    use handlers::*;
    Router::new()
        .route("/registered-models/create", post(create_model))
        .route("/registered-models/rename", post(rename_model))
        .route(
            "/registered-models/update",
            axum::routing::patch(update_model),
        )
        .route(
            "/registered-models/delete",
            axum::routing::delete(delete_model),
        )
        .route("/registered-models/get", get(get_model))
        .route("/registered-models/search", get(search_models))
        .route(
            "/registered-models/get-latest-versions",
            get(latest_versions).post(latest_versions),
        )
        .route("/registered-models/set-tag", post(set_model_tag))
        .route(
            "/registered-models/delete-tag",
            axum::routing::delete(delete_model_tag),
        )
        .route(
            "/registered-models/alias",
            get(get_by_alias).post(set_alias).delete(delete_alias),
        )
        .route("/model-versions/create", post(create_version))
        .route(
            "/model-versions/update",
            axum::routing::patch(update_version),
        )
        .route("/model-versions/transition-stage", post(transition_stage))
        .route(
            "/model-versions/delete",
            axum::routing::delete(delete_version),
        )
        .route("/model-versions/get", get(get_version))
        .route("/model-versions/search", get(search_versions))
        .route("/model-versions/get-download-uri", get(download_uri))
        .route("/model-versions/set-tag", post(set_version_tag))
        .route(
            "/model-versions/delete-tag",
            axum::routing::delete(delete_version_tag),
        )
        .merge(tracking_routes())
        .fallback(|| async {
            MlflowError::new(
                StatusCode::NOT_FOUND,
                "ENDPOINT_NOT_FOUND",
                "No such MLflow registry endpoint",
            )
        })
}

/// The tracking calls `log_model` and `register_model` make (see `tracking`).
fn tracking_routes() -> Router<AppState> {
    use axum::routing::{delete, patch};
    use tracking::*;
    Router::new()
        .route("/experiments/get", get(get_experiment))
        .route("/experiments/get-by-name", get(experiment_by_name))
        .route("/experiments/create", post(create_experiment))
        .route(
            "/experiments/search",
            post(search_experiments).get(search_experiments),
        )
        .route("/runs/create", post(create_run))
        .route("/runs/get", get(get_run))
        .route("/runs/update", post(update_run))
        .route("/runs/log-parameter", post(log_param))
        .route("/runs/log-metric", post(log_metric))
        .route("/runs/set-tag", post(set_tag))
        .route("/runs/delete-tag", post(delete_tag))
        .route("/runs/log-batch", post(log_batch))
        .route("/runs/outputs", post(log_outputs))
        .route("/metrics/get-history", get(metric_history))
        .route("/logged-models", post(create_logged_model))
        .route("/logged-models/search", post(search_logged_models))
        .route(
            "/logged-models/{model_id}",
            get(get_logged_model).patch(finalize_logged_model),
        )
        .route(
            "/logged-models/{model_id}/tags",
            patch(set_logged_model_tags),
        )
        .route(
            "/logged-models/{model_id}/tags/{tag_key}",
            delete(delete_logged_model_tag),
        )
        .route(
            "/logged-models/{model_id}/params",
            post(log_logged_model_params),
        )
}
