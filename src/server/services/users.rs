//! User administration and self-service password changes.

use serde_json::json;

use super::{audit, begin, commit, Ctx};
use crate::{
    domain::{NewUser, Password, Permission, Role, UserEdit, UserForm, Username},
    error::{AppError, Missing},
    server::{
        auth::password,
        db::{is_unique_violation, now_ms, OnUnique},
        repo::{audit::Origin, users},
        state::AppState,
    },
};

pub async fn list(cx: &Ctx) -> Result<Vec<users::User>, AppError> {
    cx.require(Permission::Administer)?;
    users::list(cx.state.db.pool())
        .await
        .map_err(AppError::from)
}

pub async fn create(cx: &Ctx, form: UserForm) -> Result<users::User, AppError> {
    // Authorize before parsing, so a viewer learns nothing from validation errors.
    cx.require(Permission::Administer)?;
    let NewUser {
        username,
        password,
        role,
    } = form.parse()?;
    let hash = password::hash(password.expose().to_owned()).await?;
    let mut tx = cx.begin().await?;
    let now = now_ms();
    let id = users::insert(&mut tx, &username, &hash, role, now)
        .await
        .on_unique(|| AppError::Conflict(format!("user {username} already exists")))?;
    let details = json!({ "role": role });
    cx.audit(&mut tx, "user.create", ("user", username.as_str()), details)
        .await?;
    commit(tx).await?;
    Ok(users::User {
        id,
        username: username.to_string(),
        password_hash: hash,
        role,
        active: true,
        created_at: now,
    })
}

/// Creates the first admin on an empty database (start-up only).
pub async fn bootstrap_admin(
    state: &AppState,
    username: Username,
    password: Password,
) -> Result<bool, AppError> {
    if users::count(state.db.pool()).await? > 0 {
        return Ok(false);
    }
    let hash = password::hash(password.expose().to_owned()).await?;
    let mut tx = begin(state).await?;
    let now = now_ms();
    match users::insert(&mut tx, &username, &hash, Role::Admin, now).await {
        Ok(_) => {}
        // Another server instance bootstrapped at the same moment.
        Err(e) if is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let details = json!({ "role": Role::Admin });
    audit(
        &mut tx,
        None,
        &Origin::default(),
        "user.bootstrap",
        ("user", username.as_str()),
        details,
    )
    .await?;
    commit(tx).await?;
    Ok(true)
}

/// Changes a user's role, password and active flag (each part given, in
/// that order; each is its own transaction and audit event). Everything is
/// parsed before anything changes.
pub async fn update(cx: &Ctx, username: &Username, edit: UserEdit) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    let changes = edit.parse()?;
    if let Some(role) = changes.role {
        set_role(cx, username, role).await?;
    }
    if let Some(password) = changes.password {
        reset_password(cx, username, password).await?;
    }
    if let Some(active) = changes.active {
        set_active(cx, username, active).await?;
    }
    Ok(())
}

async fn set_role(cx: &Ctx, username: &Username, role: Role) -> Result<(), AppError> {
    let mut tx = cx.begin().await?;
    users::serialize_admin_changes(&mut tx, cx.state.db.backend()).await?;
    let user = find_for_update(&mut tx, username).await?;
    if user.role == role {
        return Ok(());
    }
    if user.role == Role::Admin && user.active {
        ensure_another_admin(&mut tx).await?;
    }
    users::set_role(&mut tx, user.id, role, now_ms()).await?;
    let details = json!({ "before": user.role, "after": role });
    cx.audit(
        &mut tx,
        "user.role_change",
        ("user", username.as_str()),
        details,
    )
    .await?;
    commit(tx).await
}

async fn reset_password(
    cx: &Ctx,
    username: &Username,
    new_password: Password,
) -> Result<(), AppError> {
    // A leaked admin token must never be enough to take over an account.
    cx.by.require_password_sign_in("resetting a password")?;
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let user = find_for_update(&mut tx, username).await?;
    users::set_password_hash(&mut tx, user.id, &hash, now).await?;
    // A reset password ends the user's sessions and revokes their tokens:
    // whoever had the account before the reset has nothing left of it.
    users::delete_sessions(&mut tx, user.id).await?;
    let revoked = crate::server::repo::tokens::revoke_all_for_user(&mut tx, user.id, now).await?;
    cx.audit(
        &mut tx,
        "user.password_reset",
        ("user", username.as_str()),
        json!({ "tokens_revoked": revoked }),
    )
    .await?;
    commit(tx).await
}

async fn set_active(cx: &Ctx, username: &Username, active: bool) -> Result<(), AppError> {
    let mut tx = cx.begin().await?;
    users::serialize_admin_changes(&mut tx, cx.state.db.backend()).await?;
    let user = find_for_update(&mut tx, username).await?;
    if user.active == active {
        return Ok(());
    }
    if !active && user.role == Role::Admin {
        ensure_another_admin(&mut tx).await?;
    }
    users::set_active(&mut tx, user.id, active, now_ms()).await?;
    if !active {
        users::delete_sessions(&mut tx, user.id).await?;
    }
    let action = if active {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    cx.audit(&mut tx, action, ("user", username.as_str()), json!({}))
        .await?;
    commit(tx).await
}

pub async fn change_own_password(
    cx: &Ctx,
    current: &str,
    new_password: Password,
) -> Result<(), AppError> {
    // A leaked token must not be enough to take over the account.
    cx.by.require_password_sign_in("changing a password")?;
    let user = crate::server::repo::users::find_by_id(cx.state.db.pool(), cx.by.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !password::verify(current.to_owned(), Some(user.password_hash)).await? {
        return Err(AppError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let mut tx = cx.begin().await?;
    users::set_password_hash(&mut tx, cx.by.user_id, &hash, now_ms()).await?;
    cx.audit(
        &mut tx,
        "user.password_change",
        ("user", &cx.by.username),
        json!({}),
    )
    .await?;
    commit(tx).await
}

async fn find_for_update(
    conn: &mut sqlx::AnyConnection,
    username: &Username,
) -> Result<users::User, AppError> {
    users::lock_by_username(conn, username)
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::User(username.to_string())))
}

/// The registry must always keep one active admin.
async fn ensure_another_admin(conn: &mut sqlx::AnyConnection) -> Result<(), AppError> {
    if users::count_active_admins(conn).await? <= 1 {
        return Err(AppError::Conflict(
            "this is the last active admin; make another admin first".into(),
        ));
    }
    Ok(())
}
