//! The MLflow model-registry REST API (`/api/2.0/mlflow/…` and
//! `/ajax-api/2.0/mlflow/…`), so `MlflowClient` works unchanged, on top of
//! our own model and rules: the same services, permissions, approval policy
//! and audit trail as the rest of the registry.
//!
//! Mapping: MLflow's string `version` is our per-model sequence number; our
//! semver is the version tag `mlflow.semver` (a create request may set it).
//! Stage `None` is our Experimental. `transition-stage` never bypasses the
//! approval policy: where sign-offs are needed it opens a transition request
//! and answers `PERMISSION_DENIED` naming the request.

mod args;
mod handlers;
mod views;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::json;

use crate::{
    error::{AppError, Missing},
    server::state::AppState,
};

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
        .fallback(|| async {
            MlflowError::new(
                StatusCode::NOT_FOUND,
                "ENDPOINT_NOT_FOUND",
                "No such MLflow registry endpoint",
            )
        })
}

/// An error as MLflow answers it: `{"error_code": …, "message": …}`.
#[derive(Debug)]
pub struct MlflowError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl MlflowError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
    }
}

impl From<AppError> for MlflowError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        match e {
            AppError::InvalidInput { .. } | AppError::BadRequest(_) => Self::invalid(message),
            AppError::Unauthenticated | AppError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
            }
            AppError::Forbidden | AppError::NotAllowed(_) => {
                Self::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
            }
            AppError::NotFound(missing) => Self::not_found(match missing {
                Missing::Model(name) => format!("Registered Model with name={name} not found"),
                Missing::VersionNumber { model, seq } => {
                    format!("Model Version (name={model}, version={seq}) not found")
                }
                _ => message,
            }),
            // MLflow answers an existing name with 400, not 409.
            AppError::Conflict(_) => {
                Self::new(StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS", message)
            }
            AppError::PayloadTooLarge | AppError::RangeNotSatisfiable(_) => Self::invalid(message),
            AppError::TimedOut(_) => {
                Self::new(StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT", message)
            }
            AppError::RateLimited { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "REQUEST_LIMIT_EXCEEDED",
                    message,
                )
            },
            AppError::Internal => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", message)
            }
        }
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error_code": self.code, "message": self.message })),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

pub type MlResult<T> = Result<T, MlflowError>;
