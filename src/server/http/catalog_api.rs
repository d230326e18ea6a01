//! REST API for the catalog: models, versions, metrics, search.

use axum::{
    extract::{DefaultBodyLimit, Path, RawQuery},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    desc,
    errors::ErrorBody,
    extract::ApiJson,
    params::{model_name, semver},
};
use crate::{
    domain::{
        catalog::{ModelEdit, NewModelForm, SeriesForm, VersionEdit, VersionForm, VersionStatus},
        CatalogQuery, Sort, Stage,
    },
    dto::{ModelDetail, SearchPage, VersionDetail, VersionSummary},
    error::AppError,
    server::{
        services::{
            catalog,
            lookup::{self, Lookup},
            Ctx,
        },
        state::AppState,
    },
};

/// Version registration carries params, metrics and series in one request.
const REGISTRATION_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// The 413 of those routes, for the OpenAPI document; keep it with the limit.
const REGISTRATION_TOO_LARGE: &str = "Request body over 16 MiB";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/models", get(search_models).post(create_model))
        .route("/models/{name}", get(get_model).patch(patch_model))
        .route(
            "/models/{name}/versions",
            get(list_versions)
                .post(register_version)
                .layer(DefaultBodyLimit::max(REGISTRATION_BODY_LIMIT)),
        )
        .route(
            "/models/{name}/versions/{version}",
            get(get_version).patch(patch_version).delete(delete_version),
        )
        .route(
            "/models/{name}/versions/{version}/registration",
            post(finish_registration),
        )
        .route(
            "/models/{name}/versions/{version}/metrics",
            post(append_metrics).layer(DefaultBodyLimit::max(REGISTRATION_BODY_LIMIT)),
        )
}

// ------------------------------------------------------------ path segments

/// A redirect to the model's new name, for GETs by an old name.
fn moved(new_path: String) -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, new_path)],
    )
        .into_response()
}

// ------------------------------------------------------------ models

/// Searches the catalog
///
/// Unknown parameters are refused (400) rather than ignored, so a typo
/// never silently widens a search.
#[utoipa::path(
    get,
    path = "/api/v1/models",
    tag = "models",
    params(
        ("q" = Option<String>, Query, description = "Words to match, by prefix, in names, descriptions, teams and tags", max_length = 256),
        ("stage" = Option<Stage>, Query, description = "Only models with a version in this stage (case-insensitive)"),
        ("team" = Option<String>, Query, description = "Only this team's models"),
        ("tag" = Option<String>, Query, description = "`key=value`: only models with this tag", example = "domain=payments"),
        ("framework" = Option<String>, Query, description = "Only models with a version of this framework (case-insensitive)"),
        ("dataset" = Option<String>, Query, description = "Only models with a version trained on this dataset hash, directly or through parent versions"),
        ("has_production" = Option<bool>, Query, description = "Only models with a production version (`true`/`false`, also `1`/`0`, `on`/`off`)"),
        ("sort" = Option<Sort>, Query, description = "Default `relevance`: best match with `q`, otherwise most recently updated"),
        ("page" = Option<u32>, Query, description = "1-based; default 1", minimum = 1, maximum = 10000),
        ("per_page" = Option<u32>, Query, description = "Default 20", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "One page of matching models, with the query as understood", body = SearchPage),
        (status = 400, description = "A bad or unknown parameter; `error.field` names it", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn search_models(cx: Ctx, RawQuery(raw): RawQuery) -> Result<impl IntoResponse, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| AppError::invalid("query", "is not a valid query string"))?;
    let query = CatalogQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(Json(catalog::search(&cx, query).await?))
}

/// Creates a model (contributors and up)
#[utoipa::path(
    post,
    path = "/api/v1/models",
    tag = "models",
    request_body = NewModelForm,
    responses(
        (status = 201, description = "Created", body = ModelDetail),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 409, description = "A model has this name", body = ErrorBody),
        (status = 413, description = desc::TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn create_model(
    cx: Ctx,
    ApiJson(form): ApiJson<NewModelForm>,
) -> Result<impl IntoResponse, AppError> {
    let model = catalog::create_model(&cx, form).await?;
    let detail = catalog::model_detail(&cx, model, None).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// A model with its versions
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}",
    tag = "models",
    params(("name" = String, Path, description = desc::MODEL_NAME)),
    responses(
        (status = 200, description = "The model", body = ModelDetail),
        (status = 308, description = desc::MOVED, headers(("Location" = String, description = "The model under its new name"))),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn get_model(cx: Ctx, Path(name): Path<String>) -> Result<Response, AppError> {
    match lookup::lookup(&cx, &name).await? {
        Lookup::Found(model) => {
            Ok(Json(catalog::model_detail(&cx, model, None).await?).into_response())
        }
        Lookup::Moved(new_name) => Ok(moved(format!("/api/v1/models/{new_name}"))),
    }
}

/// Renames or edits a model (contributors and up)
#[utoipa::path(
    patch,
    path = "/api/v1/models/{name}",
    tag = "models",
    params(("name" = String, Path, description = "The model's current name")),
    request_body = ModelEdit,
    responses(
        (status = 200, description = "The model after the change", body = ModelDetail),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 409, description = "The new name is taken", body = ErrorBody),
        (status = 413, description = desc::TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn patch_model(
    cx: Ctx,
    Path(name): Path<String>,
    ApiJson(edit): ApiJson<ModelEdit>,
) -> Result<impl IntoResponse, AppError> {
    let model = catalog::update_model(&cx, &model_name(&name)?, edit).await?;
    Ok(Json(catalog::model_detail(&cx, model, None).await?))
}

// ------------------------------------------------------------ versions

/// A model's versions, highest first
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/versions",
    tag = "versions",
    params(("name" = String, Path, description = desc::MODEL_NAME)),
    responses(
        (status = 200, description = "The versions (deleted ones left out)", body = Vec<VersionSummary>),
        (status = 308, description = desc::MOVED, headers(("Location" = String, description = "The versions under the model's new name"))),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_versions(cx: Ctx, Path(name): Path<String>) -> Result<Response, AppError> {
    match lookup::lookup(&cx, &name).await? {
        Lookup::Found(model) => {
            Ok(Json(catalog::model_detail(&cx, model, None).await?.versions).into_response())
        }
        Lookup::Moved(new_name) => Ok(moved(format!("/api/v1/models/{new_name}/versions"))),
    }
}

/// Registers a new version of a model (contributors and up)
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/versions",
    tag = "versions",
    params(("name" = String, Path, description = "The model")),
    request_body = VersionForm,
    responses(
        (status = 201, description = "Registered", body = VersionDetail),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 409, description = "The version exists (or existed: numbers are never reused)", body = ErrorBody),
        (status = 413, description = REGISTRATION_TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn register_version(
    cx: Ctx,
    Path(name): Path<String>,
    ApiJson(form): ApiJson<VersionForm>,
) -> Result<impl IntoResponse, AppError> {
    let (model, row) = catalog::register_version(&cx, &model_name(&name)?, form).await?;
    let detail = catalog::version_detail(&cx, &model, row).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// One version with lineage, params, metrics and series
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/versions/{version}",
    tag = "versions",
    params(
        ("name" = String, Path, description = "The model"),
        ("version" = String, Path, description = desc::VERSION),
    ),
    responses(
        (status = 200, description = "The version", body = VersionDetail),
        (status = 400, description = "`version` is not a semver", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn get_version(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
) -> Result<impl IntoResponse, AppError> {
    let version = semver(&version)?;
    let (model, row) = lookup::find_version(&cx, &name, &version).await?;
    Ok(Json(catalog::version_detail(&cx, &model, row).await?))
}

/// Edits a version's description or tags (contributors and up)
#[utoipa::path(
    patch,
    path = "/api/v1/models/{name}/versions/{version}",
    tag = "versions",
    params(
        ("name" = String, Path, description = "The model"),
        ("version" = String, Path, description = desc::VERSION),
    ),
    request_body = VersionEdit,
    responses(
        (status = 200, description = "The version after the change", body = VersionDetail),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 413, description = desc::TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn patch_version(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
    ApiJson(edit): ApiJson<VersionEdit>,
) -> Result<impl IntoResponse, AppError> {
    let (name, version) = (model_name(&name)?, semver(&version)?);
    catalog::update_version(&cx, &name, &version, edit).await?;
    let (model, row) = lookup::find_version(&cx, name.as_str(), &version).await?;
    Ok(Json(catalog::version_detail(&cx, &model, row).await?))
}

/// Deletes a version (admins only)
///
/// A soft delete: the version leaves listings, its number stays taken.
#[utoipa::path(
    delete,
    path = "/api/v1/models/{name}/versions/{version}",
    tag = "versions",
    params(
        ("name" = String, Path, description = "The model"),
        ("version" = String, Path, description = desc::VERSION),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn delete_version(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    catalog::delete_version(&cx, &model_name(&name)?, &semver(&version)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How a registration that began `registering` ends.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegistrationEnd {
    /// `ready` (every file is there) or `failed`.
    status: String,
}

/// Ends a registration (contributors and up)
///
/// A version registered with `"status": "registering"` (its files still
/// arriving; `push` does this) cannot be promoted or given a protected
/// alias until it is `ready`; `failed` records that it never will be.
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/versions/{version}/registration",
    tag = "versions",
    params(
        ("name" = String, Path, description = "The model"),
        ("version" = String, Path, description = desc::VERSION),
    ),
    request_body = RegistrationEnd,
    responses(
        (status = 200, description = "The version after the change", body = VersionDetail),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 409, description = "The version is not being registered", body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn finish_registration(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
    ApiJson(end): ApiJson<RegistrationEnd>,
) -> Result<impl IntoResponse, AppError> {
    let (name, version) = (model_name(&name)?, semver(&version)?);
    let status = VersionStatus::parse(&end.status)?;
    catalog::finish_registration(&cx, &name, &version, status, serde_json::Value::Null).await?;
    let (model, row) = lookup::find_version(&cx, name.as_str(), &version).await?;
    Ok(Json(catalog::version_detail(&cx, &model, row).await?))
}

#[derive(Serialize, ToSchema)]
struct Appended {
    /// How many points were stored.
    appended: usize,
}

/// Appends metric points to a version (contributors and up)
///
/// For series too long for one request: send them in batches.
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/versions/{version}/metrics",
    tag = "versions",
    params(
        ("name" = String, Path, description = "The model"),
        ("version" = String, Path, description = desc::VERSION),
    ),
    request_body = SeriesForm,
    responses(
        (status = 201, description = "Appended, all or nothing", body = Appended),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 409, description = "A step is already recorded; nothing was appended", body = ErrorBody),
        (status = 413, description = REGISTRATION_TOO_LARGE, body = ErrorBody),
        (status = 429, description = desc::RATE_LIMITED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn append_metrics(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
    ApiJson(form): ApiJson<SeriesForm>,
) -> Result<impl IntoResponse, AppError> {
    let (name, version) = (model_name(&name)?, semver(&version)?);
    let appended = catalog::append_points(&cx, &name, &version, form).await?;
    Ok((StatusCode::CREATED, Json(Appended { appended })))
}
