//! Resolving the caller: from the session cookie (browser) or from an
//! `Authorization` header (API: Bearer token, or HTTP Basic for MLflow
//! clients). Every resolution re-reads the user, so deactivation and role
//! changes take effect on the very next request.

use std::time::Instant;

use axum::http::{header, HeaderMap};
use base64::Engine;
use serde_json::json;
use tower_sessions::Session;

use super::{password, token};
use crate::{
    domain::{Permission, Role, TokenScope, Username, PASSWORD_MAX_LEN, USERNAME_MAX_LEN},
    error::{AppError, Missing},
    server::{
        db::{now_ms, Db},
        repo::{
            audit::{self, Actor, Origin},
            tokens, users,
        },
        state::AppState,
    },
};

pub const SESSION_USER_KEY: &str = "user_id";
pub const SESSION_SIGNED_IN_AT_KEY: &str = "signed_in_at";
/// When the session was last seen in use, to slide its idle expiry.
pub const SESSION_SEEN_AT_KEY: &str = "seen_at";
/// How stale "last seen" may get before a request refreshes it: the idle
/// expiry slides with use, at one session write per minute at most (or a
/// quarter of the idle timeout, if that is shorter).
const SLIDE_EVERY_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub token_id: Option<i64>,
    /// The token's scope; `None` for a session or a password.
    pub scope: Option<TokenScope>,
}

impl Principal {
    /// The one authorization guard: every server function and API route
    /// calls this (or `require_principal` + this) before doing anything.
    /// A token is held to its scope as well as its owner's role.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        let scoped = self.scope.is_none_or(|s| s.allows(permission));
        if self.role.allows(permission) && scoped {
            Ok(())
        } else {
            tracing::warn!(user = %self.username, ?permission, scope = ?self.scope, "permission denied");
            Err(AppError::Forbidden)
        }
    }

    /// For what a token must never do (reset a password, mint tokens): the
    /// caller must have signed in with a password.
    pub fn require_password_sign_in(&self, what: &str) -> Result<(), AppError> {
        if self.token_id.is_some() {
            tracing::warn!(user = %self.username, what, "refused to a token");
            return Err(AppError::NotAllowed(format!(
                "{what} needs a signed-in session (or a password), never an API token"
            )));
        }
        Ok(())
    }

    /// Whether the caller may do `permission` (for what a page offers).
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission) && self.scope.is_none_or(|s| s.allows(permission))
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            username: self.username.clone(),
            token_id: self.token_id,
        }
    }

    /// An operator acting as `username` from the command line (an import):
    /// whoever runs it holds the database already, so no password is asked;
    /// the user's role still limits what the services let it do, and the
    /// audit trail names the user.
    pub async fn of_user(state: &AppState, username: &Username) -> Result<Self, AppError> {
        let user = users::find_by_username(state.db.pool(), username)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| AppError::NotFound(Missing::User(username.to_string())))?;
        Ok(Self::from_user(&user))
    }

    fn from_user(user: &users::User) -> Self {
        Self {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role,
            token_id: None,
            scope: None,
        }
        .identified()
    }

    /// Names the caller in the request's log span.
    fn identified(self) -> Self {
        tracing::Span::current().record("user", self.username.as_str());
        self
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
    let user = users::find_by_id(state.db.pool(), user_id).await?;
    match user {
        Some(user) if user.active => {
            let now = now_ms();
            let seen_at = session
                .get::<i64>(SESSION_SEEN_AT_KEY)
                .await
                .map_err(session_error)?
                .unwrap_or(0);
            let idle_ms = i64::try_from(state.config.session_idle.as_millis()).unwrap_or(i64::MAX);
            if now.saturating_sub(seen_at) >= SLIDE_EVERY_MS.min(idle_ms / 4) {
                // A change makes the session layer save it, with a new expiry.
                session
                    .insert(SESSION_SEEN_AT_KEY, now)
                    .await
                    .map_err(session_error)?;
            }
            Ok(Some(Principal::from_user(&user)))
        }
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
    origin: &Origin,
) -> Result<Option<Principal>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AppError::Unauthenticated)?;
    let (scheme, credentials) = value.split_once(' ').ok_or(AppError::Unauthenticated)?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => from_bearer(state, credentials.trim()).await.map(Some),
        "basic" => from_basic(state, credentials.trim(), origin)
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
    let caller = tokens::find_caller(pool, &token::hash(secret), now)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // One write a minute per token, not one per request: a read stays a read.
    if tokens::use_is_due(caller.last_used_at, now) {
        if let Err(e) = tokens::touch(pool, caller.token_id, now).await {
            tracing::warn!(error = %e, "could not record token use");
        }
    }
    Ok(Principal {
        user_id: caller.user_id,
        username: caller.username,
        role: caller.role,
        token_id: Some(caller.token_id),
        scope: Some(caller.scope),
    }
    .identified())
}

async fn from_basic(
    state: &AppState,
    encoded: &str,
    origin: &Origin,
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
    if let Some(p) = cached_basic(state, username, password).await? {
        return Ok(p);
    }
    // Parallel requests with the same credentials (an MLflow client's
    // first burst) wait for one verification rather than each running one.
    let _flight = state.basic_cache.one_at_a_time(username, password).await;
    if let Some(p) = cached_basic(state, username, password).await? {
        return Ok(p);
    }
    let now = Instant::now();
    let user = match verify_credentials(state, username, password, origin).await {
        Ok(user) => user,
        Err(AppError::InvalidCredentials) => {
            // Audited like a failed form sign-in; the throttle bounds how
            // many there can be per client and account.
            audit_failed_sign_in(&state.db, origin, username, "basic").await?;
            return Err(AppError::InvalidCredentials);
        }
        Err(e) => return Err(e),
    };
    state
        .basic_cache
        .remember(username, password, &user.password_hash, now);
    Ok(Principal::from_user(&user))
}

/// The user of recently verified Basic credentials, while they still hold.
async fn cached_basic(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<Principal>, AppError> {
    let Some(verified) = state
        .basic_cache
        .verified_hash(username, password, Instant::now())
    else {
        return Ok(None);
    };
    let Ok(name) = Username::parse(username) else {
        return Ok(None);
    };
    let user = users::find_by_username(state.db.pool(), &name)
        .await?
        .filter(|u| u.active && u.password_hash == verified);
    Ok(user.map(|user| Principal::from_user(&user)))
}

/// Checks a username and password, throttled (`auth::throttle`): the
/// attempt is counted before it is verified, and verified only within the
/// bound on concurrent verifications. Does not audit the outcome: callers
/// record it (throttled bursts are audited by the throttle).
pub async fn verify_credentials(
    state: &AppState,
    username: &str,
    password: &str,
    origin: &Origin,
) -> Result<users::User, AppError> {
    if username.len() > USERNAME_MAX_LEN || password.is_empty() || password.len() > PASSWORD_MAX_LEN
    {
        return Err(AppError::InvalidCredentials);
    }
    let Ok(username) = Username::parse(username) else {
        return Err(AppError::InvalidCredentials);
    };
    let admission = state
        .throttle
        .admit(&state.db, username.as_str(), origin)
        .await?;
    let user = users::find_by_username(state.db.pool(), &username)
        .await?
        .filter(|u| u.active);
    let ok = password::verify(
        password.to_owned(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let user = user.filter(|_| ok);
    admission.finish(&state.db, user.is_some()).await?;
    match user {
        Some(user) => Ok(user),
        None => {
            tracing::warn!(user = %username, client = ?origin.client_addr, "failed sign-in");
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Records a failed password check (a verified wrong password or unknown
/// user). The throttle bounds how many a client can cause.
pub async fn audit_failed_sign_in(
    db: &Db,
    origin: &Origin,
    username: &str,
    via: &str,
) -> Result<(), AppError> {
    let attempted: String = username
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let mut tx = db.begin().await?;
    let event = audit::NewEvent {
        actor: None,
        origin,
        action: "auth.sign_in_failed",
        target_type: "user",
        target_id: &attempted,
        details: json!({ "username": attempted, "reason": "invalid_credentials", "via": via }),
    };
    audit::record(&mut tx, event, now_ms()).await?;
    Ok(tx.commit().await?)
}

fn session_error(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::Internal
}
