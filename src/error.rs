//! The one error type of the application. It crosses the server-function
//! boundary (so the UI can show the message) and maps to an HTTP status and a
//! machine-readable code for the REST API. Internal causes are logged where
//! they happen and never shown: `Internal` carries no detail.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

use crate::domain::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("sign-in required")]
    Unauthenticated,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("you do not have permission to do this")]
    Forbidden,
    /// Your role allows the action, but a rule forbids it here (approving
    /// your own request); the message says which rule.
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0} not found")]
    NotFound(Missing),
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// The client was too slow (a stalled or trickling upload).
    #[error("{0}")]
    TimedOut(String),
    /// The requested byte range lies outside the file (its size is carried).
    #[error("requested range not satisfiable")]
    RangeNotSatisfiable(u64),
    /// Too many attempts (or the server is too busy to check one now).
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error; it has been logged")]
    Internal,
    /// The request could not be decoded into a server function's arguments.
    #[error("bad request: {0}")]
    BadRequest(String),
}

/// What a request named that does not exist. Each edge phrases it its own
/// way from the kind (MLflow's clients expect `Registered Model with
/// name=… not found`); the `Display` is ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Missing {
    #[error("model {0}")]
    Model(String),
    #[error("version {version} of model {model}")]
    Version { model: String, version: String },
    /// A version by MLflow's per-model sequence number.
    #[error("version #{seq} of model {model}")]
    VersionNumber { model: String, seq: i64 },
    #[error("alias {alias} of model {model}")]
    Alias { model: String, alias: String },
    #[error("request {id} of model {model}")]
    Request { model: String, id: i64 },
    #[error("artifact {0}")]
    Artifact(String),
    #[error("tag {0}")]
    Tag(String),
    #[error("user {0}")]
    User(String),
    #[error("token {0}")]
    Token(i64),
    #[error("webhook {0}")]
    Webhook(i64),
    #[error("delivery {id} of webhook {webhook}")]
    Delivery { webhook: i64, id: i64 },
    #[error("verification job {0}")]
    VerificationJob(i64),
    /// A client multipart upload that is not (or no longer) in progress.
    #[error("upload in progress")]
    Upload,
    /// No version answers a resolve query (`production`, an alias, a range).
    #[error("{wanted} of model {model}")]
    Resolved { model: String, wanted: String },
    #[error("model {name} (renamed to {new_name})")]
    Renamed { name: String, new_name: String },
    #[error("API route")]
    Route,
    /// MLflow tracking: a run, a logged model, an experiment (id or name).
    #[error("run {0}")]
    Run(String),
    #[error("logged model {0}")]
    LoggedModel(String),
    #[error("experiment {0}")]
    Experiment(String),
    #[error("environment {0}")]
    Environment(String),
    #[error("receipt {0}")]
    Receipt(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::InvalidInput { .. } | AppError::BadRequest(_) => 400,
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden | AppError::NotAllowed(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::PayloadTooLarge => 413,
            AppError::TimedOut(_) => 408,
            AppError::RangeNotSatisfiable(_) => 416,
            AppError::RateLimited { .. } => 429,
            AppError::Internal => 500,
        }
    }

    /// Stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidInput { .. } => "invalid_input",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Forbidden => "forbidden",
            AppError::NotAllowed(_) => "not_allowed",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::TimedOut(_) => "timed_out",
            AppError::RangeNotSatisfiable(_) => "range_not_satisfiable",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Internal => "internal",
        }
    }

    /// When a client may try again, for the `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::InvalidInput {
            field: e.field.to_owned(),
            message: e.message,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                // On the server this runs while decoding a request's arguments:
                // the caller sent something malformed, so answer 400, not 500.
                set_status(400);
                AppError::BadRequest(msg)
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                AppError::BadRequest("the server could not be reached".into())
            }
            _ => AppError::Internal,
        }
    }
}

/// Sets the HTTP status of the server-rendered page or server function
/// answer (a no-op in the browser).
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(options), Ok(status)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(code),
    ) {
        options.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_distinct_code_and_a_4xx_or_5xx_status() {
        let all = [
            AppError::invalid("name", "bad"),
            AppError::BadRequest("x".into()),
            AppError::Unauthenticated,
            AppError::InvalidCredentials,
            AppError::Forbidden,
            AppError::NotAllowed("own request".into()),
            AppError::NotFound(Missing::Model("m".into())),
            AppError::Conflict("exists".into()),
            AppError::PayloadTooLarge,
            AppError::TimedOut("slow".into()),
            AppError::RangeNotSatisfiable(10),
            AppError::RateLimited {
                retry_after_secs: 1,
            },
            AppError::Internal,
        ];
        let mut codes: Vec<_> = all.iter().map(AppError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(all.iter().all(|e| (400..600).contains(&e.status())));
    }

    #[test]
    fn field_errors_keep_the_field_name() {
        let e: AppError = FieldError::new("username", "is required").into();
        assert_eq!(e.field(), Some("username"));
        assert_eq!(e.to_string(), "username: is required");
        assert_eq!(e.status(), 400);
    }
}
