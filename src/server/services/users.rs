//! User administration and self-service password changes.

use serde_json::json;

use super::{audit, begin, commit};
use crate::{
    domain::{Password, Permission, Role, Username},
    error::AppError,
    server::{
        auth::{password, Principal},
        db::{is_unique_violation, now_ms, OnUnique},
        repo::{audit::Origin, users},
        state::AppState,
    },
};

pub async fn list(state: &AppState, by: &Principal) -> Result<Vec<users::User>, AppError> {
    by.require(Permission::Administer)?;
    users::list(state.db.pool()).await.map_err(AppError::from)
}

pub async fn create(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    username: Username,
    password: Password,
    role: Role,
) -> Result<users::User, AppError> {
    by.require(Permission::Administer)?;
    let hash = password::hash(password.expose().to_owned()).await?;
    let mut tx = begin(state).await?;
    let now = now_ms();
    let id = users::insert(&mut tx, &username, &hash, role, now)
        .await
        .on_unique(|| AppError::Conflict(format!("user {username} already exists")))?;
    let details = json!({ "role": role });
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "user.create",
        ("user", username.as_str()),
        details,
    )
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
        state,
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

pub async fn set_role(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    username: Username,
    role: Role,
) -> Result<(), AppError> {
    by.require(Permission::Administer)?;
    let mut tx = begin(state).await?;
    users::serialize_admin_changes(&mut tx, state.db.backend()).await?;
    let user = find_for_update(&mut tx, &username).await?;
    if user.role == role {
        return Ok(());
    }
    if user.role == Role::Admin && user.active {
        ensure_another_admin(&mut tx).await?;
    }
    users::set_role(&mut tx, user.id, role, now_ms()).await?;
    let details = json!({ "before": user.role, "after": role });
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "user.role_change",
        ("user", username.as_str()),
        details,
    )
    .await?;
    commit(tx).await
}

pub async fn reset_password(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    username: Username,
    new_password: Password,
) -> Result<(), AppError> {
    by.require(Permission::Administer)?;
    // A leaked admin token must never be enough to take over an account.
    by.require_password_sign_in("resetting a password")?;
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let now = now_ms();
    let mut tx = begin(state).await?;
    let user = find_for_update(&mut tx, &username).await?;
    users::set_password_hash(&mut tx, user.id, &hash, now).await?;
    // A reset password ends the user's sessions and revokes their tokens:
    // whoever had the account before the reset has nothing left of it.
    users::delete_sessions(&mut tx, user.id).await?;
    let revoked = crate::server::repo::tokens::revoke_all_for_user(&mut tx, user.id, now).await?;
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "user.password_reset",
        ("user", username.as_str()),
        json!({ "tokens_revoked": revoked }),
    )
    .await?;
    commit(tx).await
}

pub async fn set_active(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    username: Username,
    active: bool,
) -> Result<(), AppError> {
    by.require(Permission::Administer)?;
    let mut tx = begin(state).await?;
    users::serialize_admin_changes(&mut tx, state.db.backend()).await?;
    let user = find_for_update(&mut tx, &username).await?;
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
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        action,
        ("user", username.as_str()),
        json!({}),
    )
    .await?;
    commit(tx).await
}

pub async fn change_own_password(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    current: &str,
    new_password: Password,
) -> Result<(), AppError> {
    // A leaked token must not be enough to take over the account.
    by.require_password_sign_in("changing a password")?;
    let user = crate::server::repo::users::find_by_id(state.db.pool(), by.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !password::verify(current.to_owned(), Some(user.password_hash)).await? {
        return Err(AppError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let mut tx = begin(state).await?;
    users::set_password_hash(&mut tx, by.user_id, &hash, now_ms()).await?;
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "user.password_change",
        ("user", &by.username),
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
        .ok_or_else(|| AppError::NotFound(format!("user {username}")))
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
