use leptos::prelude::*;

use crate::{dto::UserInfo, error::AppError};

/// The signed-in user, or `None`.
#[server(prefix = "/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    use crate::server::context;
    context::respond(context::principal().await.map(|p| {
        p.map(|p| UserInfo {
            username: p.username,
            role: p.role,
        })
    }))
}

#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{context, services::sessions};
    context::respond(
        async move {
            let state = context::state()?;
            let session = context::session()?;
            let origin = context::origin()?;
            sessions::sign_in(&state, &session, &origin, &username, &password).await?;
            leptos_axum::redirect(&super::safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{context, services::sessions};
    context::respond(
        async move {
            let state = context::state()?;
            let principal = context::principal().await?;
            sessions::sign_out(
                &state,
                &context::session()?,
                principal.as_ref(),
                &context::origin()?,
            )
            .await?;
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
}
