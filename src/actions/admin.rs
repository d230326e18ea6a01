use leptos::prelude::*;

use crate::{domain::UserForm, dto::UserRowView, error::AppError};

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

/// The admin page's new-user form; its fields are the REST API's body.
#[server(prefix = "/fn", endpoint = "admin/create_user")]
pub async fn create_user(#[server(flatten)] form: UserForm) -> Result<(), AppError> {
    use crate::server::{context, services::users};
    context::respond(
        async move {
            users::create(&context::ctx().await?, form).await?;
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/set_role")]
pub async fn set_role(username: String, role: String) -> Result<(), AppError> {
    use crate::domain::UserEdit;
    let edit = UserEdit {
        role: Some(role),
        ..UserEdit::default()
    };
    update_user(username, edit).await
}

#[server(prefix = "/fn", endpoint = "admin/reset_password")]
pub async fn reset_password(username: String, new_password: String) -> Result<(), AppError> {
    use crate::domain::UserEdit;
    let edit = UserEdit {
        password: Some(new_password),
        ..UserEdit::default()
    };
    update_user(username, edit).await
}

/// `active` is "true" or "false" (it comes from a form's hidden input).
#[server(prefix = "/fn", endpoint = "admin/set_active")]
pub async fn set_active(username: String, active: String) -> Result<(), AppError> {
    use crate::domain::UserEdit;
    let edit = UserEdit {
        active: Some(super::form_bool("active", &active)?),
        ..UserEdit::default()
    };
    update_user(username, edit).await
}

/// The one service call behind the admin page's user forms.
#[cfg(feature = "ssr")]
async fn update_user(username: String, edit: crate::domain::UserEdit) -> Result<(), AppError> {
    use crate::{
        domain::Username,
        server::{context, services::users},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            users::update(&cx, &Username::parse(&username)?, edit).await
        }
        .await,
    )
}
