use leptos::prelude::*;

use crate::{
    dto::{CreatedTokenView, TokenView},
    error::AppError,
};

#[cfg(feature = "ssr")]
impl From<crate::server::repo::tokens::TokenRow> for TokenView {
    fn from(t: crate::server::repo::tokens::TokenRow) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            scope: t.scope,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[server(prefix = "/fn", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use crate::{
        domain::Password,
        server::{context, services::users},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let new = Password::parse("new_password", &new_password)?;
            if new_password != confirm_password {
                return Err(AppError::invalid(
                    "confirm_password",
                    "does not match the new password",
                ));
            }
            users::change_own_password(&cx, &current_password, new).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "list_my_tokens")]
pub async fn list_my_tokens() -> Result<Vec<TokenView>, AppError> {
    use crate::server::{context, services::tokens};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let rows = tokens::list_own(&cx).await?;
            Ok(rows.into_iter().map(TokenView::from).collect())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    expires_in_days: Option<String>,
    scope: Option<String>,
) -> Result<CreatedTokenView, AppError> {
    use crate::server::{context, services::tokens};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let name = tokens::parse_name(&name)?;
            let days = tokens::parse_expiry_days(expires_in_days.as_deref())?;
            let scope = tokens::parse_scope(scope.as_deref())?;
            let (row, secret) = tokens::create(&cx, name, scope, days).await?;
            Ok(CreatedTokenView {
                token: row.into(),
                secret,
            })
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    use crate::server::{context, services::tokens};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            tokens::revoke(&cx, id).await
        }
        .await,
    )
}
