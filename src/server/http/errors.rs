//! `AppError` as an HTTP response for the REST API: a status code and
//! `{"error": {"code", "message", "field"}}`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa::{
    openapi::{ObjectBuilder, Type},
    ToSchema,
};

use crate::error::AppError;

/// Every `AppError::code()`, listed for the OpenAPI schema (a test keeps
/// the list complete).
pub const ERROR_CODES: [&str; 13] = [
    "invalid_input",
    "bad_request",
    "unauthenticated",
    "invalid_credentials",
    "forbidden",
    "not_allowed",
    "not_found",
    "conflict",
    "payload_too_large",
    "timed_out",
    "range_not_satisfiable",
    "rate_limited",
    "internal",
];

// A typed struct rather than `json!`, so the OpenAPI schema is derived from
// what is actually sent.
/// The body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(schema_with = error_code_schema)]
    pub code: &'static str,
    /// Human-readable; may change between releases.
    pub message: String,
    /// The request field at fault, for `invalid_input`; otherwise null.
    // Always sent (as null when absent), so required despite the Option.
    #[schema(required = true)]
    pub field: Option<String>,
}

fn error_code_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ERROR_CODES))
        .description(Some(
            "Stable and machine-readable: branch on this, not on `message`.",
        ))
}

impl From<&AppError> for ErrorBody {
    fn from(e: &AppError) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: e.code(),
                message: e.to_string(),
                field: e.field().map(str::to_owned),
            },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(ErrorBody::from(&self))).into_response();
        // The `WWW-Authenticate` challenge of a 401 is set by the CSRF layer,
        // which knows whether the caller is a browser (see `auth::csrf`).
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        // A refused body is left unread: say the connection ends here, so a
        // keep-alive client does not send its next request into a socket the
        // server is about to close (it would fail as an incomplete message).
        if matches!(self, AppError::PayloadTooLarge) {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        if let AppError::RangeNotSatisfiable(size) = self {
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!("bytes */{size}")) {
                response
                    .headers_mut()
                    .insert(axum::http::header::CONTENT_RANGE, v);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Missing;

    #[test]
    fn every_error_code_is_documented() {
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
            AppError::RangeNotSatisfiable(1),
            AppError::RateLimited {
                retry_after_secs: 1,
            },
            AppError::Internal,
        ];
        for e in &all {
            // Exhaustive on purpose: a new variant stops this compiling
            // until it is added to `all` (and its code to ERROR_CODES).
            match e {
                AppError::InvalidInput { .. }
                | AppError::BadRequest(_)
                | AppError::Unauthenticated
                | AppError::InvalidCredentials
                | AppError::Forbidden
                | AppError::NotAllowed(_)
                | AppError::NotFound(_)
                | AppError::Conflict(_)
                | AppError::PayloadTooLarge
                | AppError::TimedOut(_)
                | AppError::RangeNotSatisfiable(_)
                | AppError::RateLimited { .. }
                | AppError::Internal => {}
            }
            assert!(ERROR_CODES.contains(&e.code()), "{:?}", e.code());
        }
        assert_eq!(all.len(), ERROR_CODES.len());
    }

    #[test]
    fn error_body_keeps_the_wire_shape() {
        let body =
            serde_json::to_value(ErrorBody::from(&AppError::invalid("name", "bad"))).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "invalid_input", "message": "name: bad", "field": "name"}})
        );
        let body = serde_json::to_value(ErrorBody::from(&AppError::Forbidden)).unwrap();
        assert_eq!(body["error"]["field"], serde_json::Value::Null);
    }
}
