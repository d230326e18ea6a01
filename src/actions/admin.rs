use leptos::prelude::*;

use crate::{dto::UserRowView, error::AppError};

#[server(prefix = "/fn", endpoint = "admin/list_users")]
pub async fn list_users() -> Result<Vec<UserRowView>, AppError> {
    use crate::server::{context, services::users};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let rows = users::list(&cx).await?;
            Ok(rows
                .into_iter()
                .map(|u| UserRowView {
                    username: u.username,
                    role: u.role,
                    active: u.active,
                    created_at: u.created_at,
                })
                .collect())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/create_user")]
pub async fn create_user(username: String, password: String, role: String) -> Result<(), AppError> {
    use crate::{
        domain::{Password, Permission, Role, Username},
        server::{context, services::users},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            cx.require(Permission::Administer)?;
            let username = Username::parse(&username)?;
            let password = Password::parse("password", &password)?;
            let role: Role = role.parse()?;
            users::create(&cx, username, password, role).await?;
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/set_role")]
pub async fn set_role(username: String, role: String) -> Result<(), AppError> {
    use crate::{
        domain::{Permission, Role, Username},
        server::{context, services::users},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            cx.require(Permission::Administer)?;
            let username = Username::parse(&username)?;
            let role: Role = role.parse()?;
            users::set_role(&cx, username, role).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/reset_password")]
pub async fn reset_password(username: String, new_password: String) -> Result<(), AppError> {
    use crate::{
        domain::{Password, Permission, Username},
        server::{context, services::users},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            cx.require(Permission::Administer)?;
            let username = Username::parse(&username)?;
            let password = Password::parse("new_password", &new_password)?;
            users::reset_password(&cx, username, password).await
        }
        .await,
    )
}

/// `active` is "true" or "false" (it comes from a form's hidden input).
#[server(prefix = "/fn", endpoint = "admin/set_active")]
pub async fn set_active(username: String, active: String) -> Result<(), AppError> {
    use crate::{
        domain::{Permission, Username},
        server::{context, services::users},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            cx.require(Permission::Administer)?;
            let username = Username::parse(&username)?;
            let active = match active.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(AppError::invalid("active", "must be true or false")),
            };
            users::set_active(&cx, username, active).await
        }
        .await,
    )
}
