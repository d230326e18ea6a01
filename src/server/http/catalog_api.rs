//! REST API for the catalog: models, versions, metrics, search.

use std::collections::BTreeMap;

use axum::{
    extract::{DefaultBodyLimit, Path, RawQuery},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use utoipa::{
    openapi::{schema::SchemaType, ObjectBuilder, Type},
    ToSchema,
};

use super::{desc, errors::ErrorBody, extract::ApiJson};
use crate::server::services::Ctx;
use crate::{
    domain::{catalog as limits, Bump, CatalogQuery, ModelName, SemVer, Sort, Stage},
    dto::{ModelDetail, SearchPage, VersionDetail, VersionSummary},
    error::AppError,
    server::{
        repo::versions::{Lineage, MetricPoint},
        services::catalog::{
            self, LineageInput, ModelPatch, NewModelInput, NewVersionInput, VersionSpec,
            VersionStatus,
        },
        services::lookup::{self, Lookup},
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
            "/models/{name}/versions/{version}/metrics",
            post(append_metrics).layer(DefaultBodyLimit::max(REGISTRATION_BODY_LIMIT)),
        )
}

// ------------------------------------------------------------ parsing helpers

fn model_name(raw: &str) -> Result<ModelName, AppError> {
    Ok(ModelName::parse(raw)?)
}

fn semver(field: &'static str, raw: &str) -> Result<SemVer, AppError> {
    SemVer::parse(raw).map_err(|e| AppError::invalid(field, e.message))
}

fn description(raw: Option<&str>) -> Result<Option<String>, AppError> {
    raw.map(|d| limits::text("description", d, limits::DESCRIPTION_MAX_BYTES))
        .transpose()
        .map_err(Into::into)
}

fn tags(
    raw: Option<&BTreeMap<String, String>>,
) -> Result<Option<BTreeMap<String, String>>, AppError> {
    raw.map(|t| limits::string_map("tags", t, limits::MAX_TAGS, limits::TAG_VALUE_MAX_LEN))
        .transpose()
        .map_err(Into::into)
}

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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateModelBody {
    /// Lowercase letters, digits, `-`, `_` and `.`; unique.
    name: String,
    /// Markdown.
    description: Option<String>,
    team: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

/// Creates a model (contributors and up)
#[utoipa::path(
    post,
    path = "/api/v1/models",
    tag = "models",
    request_body = CreateModelBody,
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
    ApiJson(body): ApiJson<CreateModelBody>,
) -> Result<impl IntoResponse, AppError> {
    cx.require(crate::domain::Permission::Contribute)?;
    let input = NewModelInput {
        name: model_name(&body.name)?,
        description: description(body.description.as_deref())?.unwrap_or_default(),
        team: limits::team(body.team.as_deref().unwrap_or(""))?,
        tags: tags(body.tags.as_ref())?.unwrap_or_default(),
    };
    let model = catalog::create_model(&cx, input).await?;
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

/// Only the fields given change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchModelBody {
    /// A new name; the old one keeps redirecting GETs.
    name: Option<String>,
    description: Option<String>,
    team: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    /// A metric key, or "" to fall back to the first metric.
    headline_metric: Option<String>,
}

/// Renames or edits a model (contributors and up)
#[utoipa::path(
    patch,
    path = "/api/v1/models/{name}",
    tag = "models",
    params(("name" = String, Path, description = "The model's current name")),
    request_body = PatchModelBody,
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
    ApiJson(body): ApiJson<PatchModelBody>,
) -> Result<impl IntoResponse, AppError> {
    cx.require(crate::domain::Permission::Contribute)?;
    let name = model_name(&name)?;
    let patch = ModelPatch {
        new_name: body.name.as_deref().map(model_name).transpose()?,
        description: description(body.description.as_deref())?,
        team: body.team.as_deref().map(limits::team).transpose()?,
        tags: tags(body.tags.as_ref())?,
        headline_metric: body
            .headline_metric
            .as_deref()
            .map(|k| {
                if k.trim().is_empty() {
                    Ok(None)
                } else {
                    limits::key("headline_metric", k).map(Some)
                }
            })
            .transpose()?,
    };
    let model = catalog::update_model(&cx, &name, patch).await?;
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

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct DatasetBody {
    name: Option<String>,
    version: Option<String>,
    uri: Option<String>,
    hash: Option<String>,
}

/// The version this one was derived from (fine-tuned, distilled, ...).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ParentBody {
    model: String,
    version: String,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct LineageBody {
    source_repo: Option<String>,
    commit_sha: Option<String>,
    training_script: Option<String>,
    dataset: Option<DatasetBody>,
    parent: Option<ParentBody>,
    framework: Option<String>,
    framework_version: Option<String>,
    dependencies: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PointBody {
    step: i64,
    value: f64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterVersionBody {
    /// An exact semver, or omit it and give `bump`.
    version: Option<String>,
    /// `patch` (default), `minor` or `major` above the highest existing version.
    // A String parsed by hand, so a bad value names the field; documented as a Bump.
    #[schema(value_type = Option<Bump>)]
    bump: Option<String>,
    /// Markdown.
    description: Option<String>,
    #[schema(schema_with = version_status_schema)]
    status: Option<String>,
    lineage: Option<LineageBody>,
    #[schema(schema_with = params_schema)]
    params: Option<BTreeMap<String, Json_>>,
    /// Final metric values by key.
    metrics: Option<BTreeMap<String, f64>>,
    /// Per-step values by metric key; more can be appended later.
    metric_series: Option<BTreeMap<String, Vec<PointBody>>>,
    tags: Option<BTreeMap<String, String>>,
}

/// `status` as `VersionStatus::parse` accepts it.
fn version_status_schema() -> ObjectBuilder {
    let all = [
        VersionStatus::Registering,
        VersionStatus::Ready,
        VersionStatus::Failed,
    ];
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(all.map(VersionStatus::as_str)))
        .description(Some("Default `ready`."))
}

/// `params` values are scalars, stored as text (see `params` below).
fn params_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(
            ObjectBuilder::new().schema_type(
                [Type::String, Type::Number, Type::Boolean]
                    .into_iter()
                    .collect::<SchemaType>(),
            ),
        ))
        .description(Some(
            "Hyperparameters by name: strings, numbers or booleans, stored as text.",
        ))
}

fn lineage(body: LineageBody) -> Result<LineageInput, AppError> {
    use limits::{optional_line as opt, LINEAGE_FIELD_MAX_LEN as MAX};
    let dataset = body.dataset.unwrap_or_default();
    let dependencies = body
        .dependencies
        .map(|d| limits::text("lineage.dependencies", &d, limits::DEPENDENCIES_MAX_BYTES))
        .transpose()?;
    let parent = body
        .parent
        .map(|p| {
            Ok::<_, AppError>((
                model_name(&p.model)
                    .map_err(|e| AppError::invalid("lineage.parent", e.to_string()))?,
                semver("lineage.parent", &p.version)?,
            ))
        })
        .transpose()?;
    Ok(LineageInput {
        lineage: Lineage {
            source_repo: opt("lineage.source_repo", body.source_repo.as_deref(), MAX)?,
            commit_sha: body
                .commit_sha
                .as_deref()
                .map(limits::commit_sha)
                .transpose()?,
            training_script: opt(
                "lineage.training_script",
                body.training_script.as_deref(),
                MAX,
            )?,
            dataset_name: opt("lineage.dataset.name", dataset.name.as_deref(), MAX)?,
            dataset_version: opt("lineage.dataset.version", dataset.version.as_deref(), MAX)?,
            dataset_uri: opt("lineage.dataset.uri", dataset.uri.as_deref(), MAX)?,
            dataset_hash: opt("lineage.dataset.hash", dataset.hash.as_deref(), 256)?,
            parent_version_id: None,
            framework: opt("lineage.framework", body.framework.as_deref(), 64)?
                .map(|f| f.to_ascii_lowercase()),
            framework_version: opt(
                "lineage.framework_version",
                body.framework_version.as_deref(),
                64,
            )?,
            dependencies,
            ..Lineage::default()
        },
        parent,
    })
}

fn params(raw: Option<BTreeMap<String, Json_>>) -> Result<BTreeMap<String, String>, AppError> {
    let mut text = BTreeMap::new();
    for (k, v) in raw.unwrap_or_default() {
        let value = match v {
            Json_::String(s) => s,
            Json_::Number(n) => n.to_string(),
            Json_::Bool(b) => b.to_string(),
            _ => {
                return Err(AppError::invalid(
                    "params",
                    format!("value of {k:?} must be a string, number or boolean"),
                ))
            }
        };
        text.insert(k, value);
    }
    Ok(limits::string_map(
        "params",
        &text,
        limits::MAX_PARAMS,
        limits::PARAM_VALUE_MAX_LEN,
    )?)
}

fn series(raw: Option<BTreeMap<String, Vec<PointBody>>>) -> Result<Vec<MetricPoint>, AppError> {
    let raw = raw.unwrap_or_default();
    let total: usize = raw.values().map(Vec::len).sum();
    if total > limits::MAX_METRIC_POINTS {
        return Err(AppError::invalid(
            "metric_series",
            format!(
                "at most {} points per request; send larger series in batches",
                limits::MAX_METRIC_POINTS
            ),
        ));
    }
    let mut points = Vec::with_capacity(total);
    for (k, list) in raw {
        let key = limits::key("metric_series", &k)?;
        for p in list {
            points.push(MetricPoint {
                key: key.clone(),
                step: p.step,
                value: p.value,
            });
        }
    }
    Ok(points)
}

/// Registers a new version of a model (contributors and up)
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/versions",
    tag = "versions",
    params(("name" = String, Path, description = "The model")),
    request_body = RegisterVersionBody,
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
    ApiJson(body): ApiJson<RegisterVersionBody>,
) -> Result<impl IntoResponse, AppError> {
    cx.require(crate::domain::Permission::Contribute)?;
    let name = model_name(&name)?;
    let spec = match (body.version.as_deref(), body.bump.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "bump",
                "give either version or bump, not both",
            ))
        }
        (Some(v), None) => VersionSpec::Exact(semver("version", v)?),
        (None, Some(b)) => VersionSpec::Next(b.parse::<Bump>()?),
        (None, None) => VersionSpec::Next(Bump::Patch),
    };
    let metrics = body.metrics.unwrap_or_default();
    if metrics.len() > limits::MAX_METRICS {
        return Err(AppError::invalid(
            "metrics",
            format!("at most {} metrics", limits::MAX_METRICS),
        ));
    }
    let mut checked = BTreeMap::new();
    for (k, v) in metrics {
        let k = limits::key("metrics", &k)?;
        checked.insert(k.clone(), limits::metric_value("metrics", &k, v)?);
    }
    let input = NewVersionInput {
        spec,
        description: description(body.description.as_deref())?.unwrap_or_default(),
        lineage: lineage(body.lineage.unwrap_or_default())?,
        params: params(body.params)?,
        metrics: checked,
        points: series(body.metric_series)?,
        tags: tags(body.tags.as_ref())?.unwrap_or_default(),
        status: body
            .status
            .as_deref()
            .map(VersionStatus::parse)
            .transpose()?
            .unwrap_or(VersionStatus::Ready),
    };
    let (model, row) = catalog::register_version(&cx, &name, input).await?;
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
    let version = semver("version", &version)?;
    let (model, row) = lookup::find_version(&cx, &name, &version).await?;
    Ok(Json(catalog::version_detail(&cx, &model, row).await?))
}

/// Only the fields given change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchVersionBody {
    /// Markdown.
    description: Option<String>,
    tags: Option<BTreeMap<String, String>>,
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
    request_body = PatchVersionBody,
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
    ApiJson(body): ApiJson<PatchVersionBody>,
) -> Result<impl IntoResponse, AppError> {
    cx.require(crate::domain::Permission::Contribute)?;
    let name = model_name(&name)?;
    let version = semver("version", &version)?;
    catalog::update_version(
        &cx,
        &name,
        &version,
        description(body.description.as_deref())?,
        tags(body.tags.as_ref())?,
    )
    .await?;
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
    cx.require(crate::domain::Permission::Administer)?;
    let name = model_name(&name)?;
    let version = semver("version", &version)?;
    catalog::delete_version(&cx, &name, &version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AppendMetricsBody {
    /// Per-step values by metric key; steps already recorded are refused.
    metric_series: BTreeMap<String, Vec<PointBody>>,
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
    request_body = AppendMetricsBody,
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
    ApiJson(body): ApiJson<AppendMetricsBody>,
) -> Result<impl IntoResponse, AppError> {
    cx.require(crate::domain::Permission::Contribute)?;
    let name = model_name(&name)?;
    let version = semver("version", &version)?;
    let points = series(Some(body.metric_series))?;
    let appended = catalog::append_points(&cx, &name, &version, points).await?;
    Ok((StatusCode::CREATED, Json(Appended { appended })))
}
