//! Signing in and out of the browser UI.

use serde_json::json;
use tower_sessions::Session;

use super::{audit, begin, commit};
use crate::{
    error::AppError,
    server::{
        auth::principal::{
            audit_failed_sign_in, verify_credentials, Principal, SESSION_SIGNED_IN_AT_KEY,
            SESSION_USER_KEY,
        },
        db::now_ms,
        repo::audit::{Actor, Origin},
        state::AppState,
    },
};

pub async fn sign_in(
    state: &AppState,
    session: &Session,
    origin: &Origin,
    username: &str,
    password: &str,
) -> Result<Principal, AppError> {
    let user = match verify_credentials(state, username, password, origin).await {
        Ok(user) => user,
        Err(AppError::InvalidCredentials) => {
            audit_failed_sign_in(&state.db, origin, username, "form").await?;
            return Err(AppError::InvalidCredentials);
        }
        // Throttled: the throttle audits the first refusal of each burst.
        Err(err) => return Err(err),
    };
    // A new session id at sign-in defeats session fixation.
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(SESSION_USER_KEY, user.id)
        .await
        .map_err(session_error)?;
    session
        .insert(SESSION_SIGNED_IN_AT_KEY, now_ms())
        .await
        .map_err(session_error)?;
    let actor = Actor {
        user_id: user.id,
        username: user.username.clone(),
        token_id: None,
    };
    let mut tx = begin(state).await?;
    audit(
        &mut tx,
        Some(&actor),
        origin,
        "auth.sign_in",
        ("user", &user.username),
        json!({}),
    )
    .await?;
    commit(tx).await?;
    tracing::info!(user = %user.username, "signed in");
    Ok(Principal {
        user_id: user.id,
        username: user.username,
        role: user.role,
        token_id: None,
        scope: None,
    })
}

pub async fn sign_out(
    state: &AppState,
    session: &Session,
    principal: Option<&Principal>,
    origin: &Origin,
) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)?;
    if let Some(p) = principal {
        let mut tx = begin(state).await?;
        audit(
            &mut tx,
            Some(&p.actor()),
            origin,
            "auth.sign_out",
            ("user", &p.username),
            json!({}),
        )
        .await?;
        commit(tx).await?;
    }
    Ok(())
}

fn session_error(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::Internal
}
