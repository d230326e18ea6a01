//! What a server function needs from its request: the app state, the
//! caller, and where the call came from. Server functions are public HTTP
//! endpoints, so each one resolves the caller here and authorizes it.

use axum::http::{header, request::Parts, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use super::{
    auth::{principal, Principal},
    http::client_origin,
    repo::audit::Origin,
    services::Ctx,
    state::AppState,
};
use crate::error::AppError;

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

fn parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request Parts missing from the Leptos context");
        AppError::Internal
    })
}

pub fn session() -> Result<Session, AppError> {
    parts()?
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("no session layer on this route");
            AppError::Internal
        })
}

pub fn origin() -> Result<Origin, AppError> {
    let state = state()?;
    Ok(client_origin(&parts()?, &state.config.trusted_proxies))
}

/// The signed-in user, if any.
pub async fn principal() -> Result<Option<Principal>, AppError> {
    principal::from_session(&state()?, &session()?).await
}

/// The signed-in user, or `Unauthenticated`.
pub async fn require_principal() -> Result<Principal, AppError> {
    principal().await?.ok_or(AppError::Unauthenticated)
}

/// The request context for a service call: the app, the signed-in caller
/// (or `Unauthenticated`) and where the call came from.
pub async fn ctx() -> Result<Ctx, AppError> {
    let state = state()?;
    let by = principal::from_session(&state, &session()?)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let origin = client_origin(&parts()?, &state.config.trusted_proxies);
    Ok(Ctx::new(state, by, origin))
}

/// Maps a server function's result for the HTTP response: sets the status
/// code, and for a plain HTML form post (no JavaScript yet) redirects back to
/// the form with the message in `?error=`, so pages work before hydration.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        let Some(response) = use_context::<ResponseOptions>() else {
            return result;
        };
        let parts = parts().ok();
        let form_post = parts.as_ref().is_some_and(|p| {
            p.headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        let referer = parts.as_ref().and_then(|p| {
            p.headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        match (form_post, referer) {
            (true, Some(referer)) => {
                leptos_axum::redirect(&with_error(&referer, &err.to_string()));
            }
            _ => {
                response.set_status(
                    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                );
                if let Some(secs) = err.retry_after() {
                    response.insert_header(header::RETRY_AFTER, secs.into());
                }
            }
        }
    }
    result
}

/// The path and query of `referer` with `error=<message>` replacing any old one.
fn with_error(referer: &str, message: &str) -> String {
    let path = referer
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("error="))
        .collect();
    let mut url = format!("{path}?");
    for kv in kept {
        url.push_str(kv);
        url.push('&');
    }
    url.push_str("error=");
    url.push_str(&percent_encode(message));
    url
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_redirects_stay_on_our_path_and_replace_old_errors() {
        assert_eq!(
            with_error(
                "http://h:3000/login?next=%2Fmodels&error=old",
                "invalid username or password"
            ),
            "/login?next=%2Fmodels&error=invalid%20username%20or%20password"
        );
        assert_eq!(with_error("garbage", "x"), "/?error=x");
        assert_eq!(
            with_error("https://h/admin/users", "a&b"),
            "/admin/users?error=a%26b"
        );
    }
}
