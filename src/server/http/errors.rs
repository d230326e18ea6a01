//! `AppError` as an HTTP response for the REST API: a status code and
//! `{"error": {"code", "message", "field"}}`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::error::AppError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "error": {
                "code": self.code(),
                "message": self.to_string(),
                "field": self.field(),
            }
        });
        let mut response = (status, Json(body)).into_response();
        if matches!(
            self,
            AppError::Unauthenticated | AppError::InvalidCredentials
        ) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    "Bearer realm=\"model-registry\", Basic realm=\"model-registry\"",
                ),
            );
        }
        response
    }
}
