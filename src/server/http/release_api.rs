//! REST API for what a release is: a version's canonical content document
//! (whose SHA-256 is its content digest) and the evaluations measured on it
//! after registration.

use std::collections::BTreeMap;

use axum::{
    extract::Path,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{desc, errors::ErrorBody, extract::ApiJson};
use crate::server::services::Ctx;
use crate::{
    domain::{ModelName, NewEvaluation, SemVer},
    dto::EvaluationView,
    error::AppError,
    server::{
        services::{content, evaluations},
        state::AppState,
    },
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/models/{name}/versions/{version}/content",
            get(get_content),
        )
        .route(
            "/models/{name}/versions/{version}/evaluations",
            get(list_evaluations).post(create_evaluation),
        )
}

/// A version's canonical content document
///
/// The exact bytes the content digest is the SHA-256 of: `sha256sum` of
/// this body equals the `X-Content-Digest` header (and the `content_digest`
/// of the version, its requests and the CI/CD lookups).
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/versions/{version}/content",
    tag = "versions",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("version" = String, Path, description = desc::VERSION),
    ),
    responses(
        (status = 200, description = "The canonical document (JSON); its digest in `X-Content-Digest`", body = Object),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn get_content(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let version = SemVer::parse(&version)?;
    let (digest, document) = content::document(&cx, &name, &version).await?;
    let digest = HeaderValue::from_str(&digest.to_string()).map_err(|_| AppError::Internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::HeaderName::from_static("x-content-digest"), digest),
        ],
        document,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EvaluationBody {
    /// What was measured, e.g. `staging-eval-2026-12` (1–128 characters).
    name: String,
    /// What it was measured on (a dataset name, URI or hash).
    #[serde(default)]
    dataset: Option<String>,
    /// At least one metric; finite values.
    metrics: BTreeMap<String, f64>,
    #[serde(default)]
    notes: String,
}

/// Records an evaluation of a version (contributors and up)
///
/// For results measured after registration, frozen versions included: each
/// evaluation records who, when and the content digest it was measured on,
/// and never changes the version's content or digest.
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/versions/{version}/evaluations",
    tag = "versions",
    params(
        ("name" = String, Path, description = "The model"),
        ("version" = String, Path, description = desc::VERSION),
    ),
    request_body = EvaluationBody,
    responses(
        (status = 201, description = "Recorded", body = EvaluationView),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn create_evaluation(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
    ApiJson(body): ApiJson<EvaluationBody>,
) -> Result<impl IntoResponse, AppError> {
    let name = ModelName::parse(&name)?;
    let version = SemVer::parse(&version)?;
    let input = NewEvaluation::parse(
        &body.name,
        body.dataset.as_deref(),
        &body.metrics,
        &body.notes,
    )?;
    let view = evaluations::record(&cx, &name, &version, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A version's evaluations, oldest first
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/versions/{version}/evaluations",
    tag = "versions",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("version" = String, Path, description = desc::VERSION),
    ),
    responses(
        (status = 200, description = "The evaluations", body = [EvaluationView]),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_evaluations(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Vec<EvaluationView>>, AppError> {
    let version = SemVer::parse(&version)?;
    Ok(Json(evaluations::list(&cx, &name, &version).await?))
}
