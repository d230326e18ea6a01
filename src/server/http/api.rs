//! JSON REST API for machines (CI/CD), under `/api/v1`. Thin handlers:
//! extract the caller, call the service, map the result.

use axum::{
    extract::Path,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get, patch},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    desc,
    errors::ErrorBody,
    extract::{ApiJson, Caller},
};
use crate::server::services::Ctx;
use crate::{
    domain::{Role, TokenScope, UserEdit, UserForm, Username},
    error::{AppError, Missing},
    server::{
        repo::{tokens::TokenRow, users::User},
        services,
        state::AppState,
    },
};

/// The REST API. Everything but streaming (artifact uploads and downloads,
/// audit exports) must answer within `request_timeout` (408 otherwise);
/// uploads have their own rule, a minimum transfer rate.
pub fn routes(request_timeout: std::time::Duration) -> Router<AppState> {
    let timed = Router::new()
        .route("/me", get(me))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{username}", patch(update_user))
        .merge(super::catalog_api::routes())
        .merge(super::release_api::routes())
        .merge(super::alias_api::routes())
        .merge(super::workflow_api::routes())
        .merge(super::webhook_api::routes())
        .merge(super::deploy_api::routes())
        .layer(super::layers::request_timeout(request_timeout));
    timed
        .merge(super::artifact_api::routes())
        .merge(super::audit_api::routes())
        .fallback(not_found)
}

async fn not_found() -> AppError {
    AppError::NotFound(Missing::Route)
}

#[derive(Serialize, ToSchema)]
struct Me {
    username: String,
    role: Role,
}

/// Who the credentials belong to
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    responses(
        (status = 200, description = "The authenticated caller", body = Me),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn me(Caller(p): Caller) -> Json<Me> {
    Json(Me {
        username: p.username,
        role: p.role,
    })
}

/// An API token's metadata; the secret itself is never returned again.
#[derive(Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenJson {
    id: i64,
    name: String,
    prefix: String,
    scope: TokenScope,
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
            scope: t.scope,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// The caller's own API tokens, revoked ones included
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "The caller's tokens", body = Vec<TokenJson>),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_tokens(cx: Ctx) -> Result<Json<Vec<TokenJson>>, AppError> {
    let rows = services::tokens::list_own(&cx).await?;
    Ok(Json(rows.into_iter().map(TokenJson::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateTokenBody {
    name: String,
    /// `read` (the default), `deploy`, `write` or `admin` (admins only).
    scope: Option<String>,
    /// Omit for a token that never expires.
    expires_in_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct CreatedToken {
    token: TokenJson,
    /// Shown once; only its hash is stored.
    secret: String,
}

/// Mints an API token for the caller
///
/// Only with HTTP Basic or a browser session, never with a token: a leaked
/// token must not be enough to mint more.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    request_body = CreateTokenBody,
    responses(
        (status = 201, description = "Created; `secret` is shown only in this response", body = CreatedToken),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "Authenticated with an API token (Bearer, or as the Basic password)", body = ErrorBody),
        (status = 413, description = desc::TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("basic" = [])),
)]
async fn create_token(
    cx: Ctx,
    ApiJson(body): ApiJson<CreateTokenBody>,
) -> Result<impl IntoResponse, AppError> {
    let name = services::tokens::parse_name(&body.name)?;
    let days = services::tokens::parse_expiry_days(
        body.expires_in_days.map(|d| d.to_string()).as_deref(),
    )?;
    let scope = services::tokens::parse_scope(body.scope.as_deref())?;
    let (row, secret) = services::tokens::create(&cx, name, scope, days).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: row.into(),
            secret,
        }),
    ))
}

/// Revokes a token: the caller's own, or anyone's for admins
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked (or already revoked)"),
        (status = 400, description = "`id` is not a number", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such token the caller may revoke", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn revoke_token(cx: Ctx, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| AppError::invalid("id", "must be a token id"))?;
    services::tokens::revoke(&cx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
#[schema(as = User)]
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

/// All users (admins only)
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    responses(
        (status = 200, description = "Every user, active or not", body = Vec<UserJson>),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_users(cx: Ctx) -> Result<Json<Vec<UserJson>>, AppError> {
    let users = services::users::list(&cx).await?;
    Ok(Json(users.into_iter().map(UserJson::from).collect()))
}

/// Creates a user (admins only)
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = UserForm,
    responses(
        (status = 201, description = "Created", body = UserJson),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
        (status = 413, description = desc::TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn create_user(
    cx: Ctx,
    ApiJson(form): ApiJson<UserForm>,
) -> Result<impl IntoResponse, AppError> {
    let user = services::users::create(&cx, form).await?;
    Ok((StatusCode::CREATED, Json(UserJson::from(user))))
}

/// Changes a user's role, active flag or password (admins only)
#[utoipa::path(
    patch,
    path = "/api/v1/users/{username}",
    tag = "users",
    params(("username" = String, Path, description = "The user to change")),
    request_body = UserEdit,
    responses(
        (status = 204, description = "Updated"),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Would leave no active admin", body = ErrorBody),
        (status = 413, description = desc::TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn update_user(
    cx: Ctx,
    Path(username): Path<String>,
    ApiJson(edit): ApiJson<UserEdit>,
) -> Result<StatusCode, AppError> {
    services::users::update(&cx, &Username::parse(&username)?, edit).await?;
    Ok(StatusCode::NO_CONTENT)
}
