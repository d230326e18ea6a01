//! MLflow's error shape (`{"error_code", "message"}`) and how our typed
//! errors map onto its codes, so the official client raises what it expects.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::error::{AppError, Missing};

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
                Missing::Run(id) => format!("Run with id={id} not found"),
                Missing::LoggedModel(id) => format!("Logged model with ID '{id}' not found."),
                Missing::Experiment(id) => format!("Could not find experiment with ID {id}"),
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
