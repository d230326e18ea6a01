//! Resolving the caller: from the session cookie (browser) or from an
//! `Authorization` header (API: Bearer token, or HTTP Basic for MLflow
//! clients). Every resolution re-reads the user, so deactivation and role
//! changes take effect on the very next request.

use std::time::Instant;

use axum::http::{header, HeaderMap};
use base64::Engine;
use tower_sessions::Session;

use super::{password, throttle::LoginThrottle, token};
use crate::{
    domain::{Permission, Role, Username, PASSWORD_MAX_LEN, USERNAME_MAX_LEN},
    error::AppError,
    server::{
        db::now_ms,
        repo::{audit::Actor, tokens, users},
        state::AppState,
    },
};

pub const SESSION_USER_KEY: &str = "user_id";
pub const SESSION_SIGNED_IN_AT_KEY: &str = "signed_in_at";

#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub token_id: Option<i64>,
}

impl Principal {
    /// The one authorization guard: every server function and API route
    /// calls this (or `require_principal` + this) before doing anything.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            tracing::warn!(user = %self.username, ?permission, "permission denied");
            Err(AppError::Forbidden)
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            username: self.username.clone(),
            token_id: self.token_id,
        }
    }

    fn from_user(user: &users::User, token_id: Option<i64>) -> Self {
        let principal = Self {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role,
            token_id,
        };
        tracing::Span::current().record("user", principal.username.as_str());
        principal
    }
}

/// The signed-in user of a browser session, if the session is valid.
pub async fn from_session(
    state: &AppState,
    session: &Session,
) -> Result<Option<Principal>, AppError> {
    let user_id = session
        .get::<i64>(SESSION_USER_KEY)
        .await
        .map_err(session_error)?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let signed_in_at = session
        .get::<i64>(SESSION_SIGNED_IN_AT_KEY)
        .await
        .map_err(session_error)?
        .unwrap_or(0);
    let max_age_ms = i64::try_from(state.config.session_absolute.as_millis()).unwrap_or(i64::MAX);
    if now_ms().saturating_sub(signed_in_at) > max_age_ms {
        // Absolute expiry: the session ends however active it has been.
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    }
    let user = users::find_by_id(state.db.pool(), user_id)
        .await
        .map_err(db_error)?;
    match user {
        Some(user) if user.active => Ok(Some(Principal::from_user(&user, None))),
        _ => {
            session.flush().await.map_err(session_error)?;
            Ok(None)
        }
    }
}

/// The caller of an API request from its `Authorization` header.
/// `Ok(None)` when there is no such header; an error when it is malformed or wrong.
pub async fn from_authorization(
    state: &AppState,
    headers: &HeaderMap,
    client_addr: Option<&str>,
) -> Result<Option<Principal>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AppError::Unauthenticated)?;
    let (scheme, credentials) = value.split_once(' ').ok_or(AppError::Unauthenticated)?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => from_bearer(state, credentials.trim()).await.map(Some),
        "basic" => from_basic(state, credentials.trim(), client_addr)
            .await
            .map(Some),
        _ => Err(AppError::Unauthenticated),
    }
}

async fn from_bearer(state: &AppState, secret: &str) -> Result<Principal, AppError> {
    if !token::looks_like_token(secret) {
        return Err(AppError::Unauthenticated);
    }
    let now = now_ms();
    let pool = state.db.pool();
    let row = tokens::find_usable_by_hash(pool, &token::hash(secret), now)
        .await
        .map_err(db_error)?
        .ok_or(AppError::Unauthenticated)?;
    let user = users::find_by_id(pool, row.user_id)
        .await
        .map_err(db_error)?
        .filter(|u| u.active)
        .ok_or(AppError::Unauthenticated)?;
    if let Err(e) = tokens::touch(pool, row.id, now).await {
        tracing::warn!(error = %e, "could not record token use");
    }
    Ok(Principal::from_user(&user, Some(row.id)))
}

async fn from_basic(
    state: &AppState,
    encoded: &str,
    client_addr: Option<&str>,
) -> Result<Principal, AppError> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| AppError::Unauthenticated)?;
    let decoded = String::from_utf8(decoded).map_err(|_| AppError::Unauthenticated)?;
    let (username, password) = decoded.split_once(':').ok_or(AppError::Unauthenticated)?;
    // MLflow clients may send a token as the Basic password.
    if token::looks_like_token(password) {
        return from_bearer(state, password).await;
    }
    let now = Instant::now();
    if let Some(verified) = state.basic_cache.verified_hash(username, password, now) {
        if let Ok(name) = Username::parse(username) {
            let user = users::find_by_username(state.db.pool(), &name)
                .await
                .map_err(db_error)?
                .filter(|u| u.active && u.password_hash == verified);
            if let Some(user) = user {
                return Ok(Principal::from_user(&user, None));
            }
        }
    }
    let user = verify_credentials(state, username, password, client_addr).await?;
    state
        .basic_cache
        .remember(username, password, &user.password_hash, now);
    Ok(Principal::from_user(&user, None))
}

/// Checks a username and password, with throttling. Does not audit: callers
/// that sign a user in record the outcome.
pub async fn verify_credentials(
    state: &AppState,
    username: &str,
    password: &str,
    client_addr: Option<&str>,
) -> Result<users::User, AppError> {
    if username.len() > USERNAME_MAX_LEN || password.is_empty() || password.len() > PASSWORD_MAX_LEN
    {
        return Err(AppError::InvalidCredentials);
    }
    let Ok(username) = Username::parse(username) else {
        return Err(AppError::InvalidCredentials);
    };
    let throttle: &LoginThrottle = &state.throttle;
    if !throttle.allows(username.as_str(), client_addr, Instant::now()) {
        tracing::warn!(user = %username, client = ?client_addr, "sign-in throttled");
        return Err(AppError::RateLimited);
    }
    let user = users::find_by_username(state.db.pool(), &username)
        .await
        .map_err(db_error)?
        .filter(|u| u.active);
    let ok = password::verify(
        password.to_owned(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    match user {
        Some(user) if ok => {
            throttle.record_success(username.as_str());
            Ok(user)
        }
        _ => {
            throttle.record_failure(username.as_str(), client_addr, Instant::now());
            tracing::warn!(user = %username, client = ?client_addr, "failed sign-in");
            Err(AppError::InvalidCredentials)
        }
    }
}

pub fn db_error(e: sqlx::Error) -> AppError {
    AppError::from(e)
}

fn session_error(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::Internal
}
