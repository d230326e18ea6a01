//! JSON REST API for machines (CI/CD), under `/api/v1`. Thin handlers:
//! extract the caller, call the service, map the result.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get, patch},
    Json, Router,
};
use serde::{Deserialize, Serialize};

use super::extract::{ApiJson, Caller, RequestOrigin};
use crate::{
    domain::{Password, Role, Username},
    error::AppError,
    server::{
        repo::{tokens::TokenRow, users::User},
        services,
        state::AppState,
    },
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{username}", patch(update_user))
        .merge(super::catalog_api::routes())
        .fallback(not_found)
}

async fn not_found() -> AppError {
    AppError::NotFound("API route".into())
}

#[derive(Serialize)]
struct Me {
    username: String,
    role: Role,
}

async fn me(Caller(p): Caller) -> Json<Me> {
    Json(Me {
        username: p.username,
        role: p.role,
    })
}

#[derive(Serialize)]
pub struct TokenJson {
    id: i64,
    name: String,
    prefix: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenRow> for TokenJson {
    fn from(t: TokenRow) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

async fn list_tokens(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Vec<TokenJson>>, AppError> {
    let rows = services::tokens::list_own(&state, &p).await?;
    Ok(Json(rows.into_iter().map(TokenJson::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTokenBody {
    name: String,
    expires_in_days: Option<i64>,
}

#[derive(Serialize)]
struct CreatedToken {
    token: TokenJson,
    /// Shown once; only its hash is stored.
    secret: String,
}

async fn create_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<CreateTokenBody>,
) -> Result<impl IntoResponse, AppError> {
    let name = services::tokens::parse_name(&body.name)?;
    let days = services::tokens::parse_expiry_days(
        body.expires_in_days.map(|d| d.to_string()).as_deref(),
    )?;
    let (row, secret) = services::tokens::create(&state, &p, &origin, name, days).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: row.into(),
            secret,
        }),
    ))
}

async fn revoke_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| AppError::invalid("id", "must be a token id"))?;
    services::tokens::revoke(&state, &p, &origin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct UserJson {
    username: String,
    role: Role,
    active: bool,
    created_at: i64,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            username: u.username,
            role: u.role,
            active: u.active,
            created_at: u.created_at,
        }
    }
}

async fn list_users(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Vec<UserJson>>, AppError> {
    let users = services::users::list(&state, &p).await?;
    Ok(Json(users.into_iter().map(UserJson::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    username: String,
    password: String,
    role: String,
}

async fn create_user(
    State(state): State<AppState>,
    Caller(p): Caller,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> Result<impl IntoResponse, AppError> {
    // Authorize before parsing, so a viewer learns nothing from validation errors.
    p.require(crate::domain::Permission::Administer)?;
    let username = Username::parse(&body.username)?;
    let password = Password::parse("password", &body.password)?;
    let role: Role = body.role.parse()?;
    let user = services::users::create(&state, &p, &origin, username, password, role).await?;
    Ok((StatusCode::CREATED, Json(UserJson::from(user))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUserBody {
    role: Option<String>,
    active: Option<bool>,
    password: Option<String>,
}

async fn update_user(
    State(state): State<AppState>,
    Caller(p): Caller,
    RequestOrigin(origin): RequestOrigin,
    Path(username): Path<String>,
    ApiJson(body): ApiJson<UpdateUserBody>,
) -> Result<StatusCode, AppError> {
    p.require(crate::domain::Permission::Administer)?;
    let username = Username::parse(&username)?;
    // Parse everything before changing anything.
    let role = body.role.as_deref().map(str::parse::<Role>).transpose()?;
    let password = body
        .password
        .as_deref()
        .map(|pw| Password::parse("password", pw))
        .transpose()?;
    if let Some(role) = role {
        services::users::set_role(&state, &p, &origin, username.clone(), role).await?;
    }
    if let Some(password) = password {
        services::users::reset_password(&state, &p, &origin, username.clone(), password).await?;
    }
    if let Some(active) = body.active {
        services::users::set_active(&state, &p, &origin, username, active).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
