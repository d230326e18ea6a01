//! Extractors for API handlers: the authenticated caller and request origin,
//! and a JSON body whose rejections become our JSON errors.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use super::client_origin;
use crate::{
    error::AppError,
    server::{
        auth::{principal, Principal},
        repo::audit::Origin,
        services::Ctx,
        state::AppState,
    },
};

/// The caller of an API route: an `Authorization` header (Bearer token or
/// HTTP Basic) or, failing that, the browser session. 401 without either.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let origin = client_origin(parts, &state.config.trusted_proxies);
        if let Some(p) = principal::from_authorization(state, &parts.headers, &origin).await? {
            return Ok(Caller(p));
        }
        let session = parts.extensions.get::<Session>().cloned();
        match session {
            Some(session) => principal::from_session(state, &session)
                .await?
                .map(Caller)
                .ok_or(AppError::Unauthenticated),
            None => Err(AppError::Unauthenticated),
        }
    }
}

/// The request context of an authenticated API route (see [`Caller`]).
impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Caller(by) = Caller::from_request_parts(parts, state).await?;
        let origin = client_origin(parts, &state.config.trusted_proxies);
        Ok(Ctx::new(state.clone(), by, origin))
    }
}

/// Client address and request id.
pub struct RequestOrigin(pub Origin);

impl FromRequestParts<AppState> for RequestOrigin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(RequestOrigin(client_origin(
            parts,
            &state.config.trusted_proxies,
        )))
    }
}

/// `axum::Json` with errors in our format (naming the field when serde can).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                use axum::extract::rejection::JsonRejection::*;
                Err(match rejection {
                    MissingJsonContentType(_) => {
                        AppError::BadRequest("expected Content-Type: application/json".into())
                    }
                    JsonDataError(e) => AppError::BadRequest(e.body_text()),
                    JsonSyntaxError(e) => AppError::BadRequest(e.body_text()),
                    BytesRejection(e)
                        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
                    {
                        AppError::PayloadTooLarge
                    }
                    other => AppError::BadRequest(other.body_text()),
                })
            }
        }
    }
}
