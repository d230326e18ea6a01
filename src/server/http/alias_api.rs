//! REST API for aliases and the CI/CD lookups: "which version is in
//! production (or behind `champion`), and its files".

use axum::{
    body::Bytes,
    extract::{Path, RawQuery},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    desc,
    errors::ErrorBody,
    extract::ApiJson,
    params::{justification, model_name, optional_json, query_pairs},
};
use crate::{
    domain::{AliasName, SemVer, Stage, VersionRequirement},
    dto::{AliasOutcome, AliasView, RequestView, ResolvedVersion},
    error::AppError,
    server::{
        services::{
            aliases::{self, Resolution, Target},
            receipts, Ctx,
        },
        state::AppState,
    },
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/models/{name}/stages/{stage}", get(stage_lookup))
        .route("/models/{name}/aliases", get(list_aliases))
        .route(
            "/models/{name}/aliases/{alias}",
            get(alias_lookup).put(set_alias).delete(delete_alias),
        )
}

/// The lookups' parameters: `matches` (a semver requirement) and
/// `receipt=true` (also issue a signed release receipt; a `deploy` token).
struct LookupParams {
    matches: Option<VersionRequirement>,
    receipt: bool,
}

fn lookup_params(raw: Option<&str>) -> Result<LookupParams, AppError> {
    let mut params = LookupParams {
        matches: None,
        receipt: false,
    };
    for (key, value) in query_pairs(raw)? {
        match key.as_str() {
            "matches" => params.matches = Some(VersionRequirement::parse(&value)?),
            "receipt" => {
                params.receipt = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(AppError::invalid("receipt", "must be true or false")),
                }
            }
            other => {
                return Err(AppError::invalid(
                    "query",
                    format!("unknown parameter {other:?}; accepted: matches, receipt"),
                ))
            }
        }
    }
    Ok(params)
}

/// The resolved version, with a freshly issued receipt when asked for.
async fn answer(
    cx: &Ctx,
    resolution: Resolution,
    receipt: bool,
    rest: &str,
) -> Result<Response, AppError> {
    match resolution {
        Resolution::Found(v) if receipt => {
            let version = SemVer::parse(&v.version)?;
            let issued = receipts::issue(cx, &v.model, &version).await?;
            let mut body = serde_json::to_value(&v).map_err(|_| AppError::Internal)?;
            body["receipt_id"] = serde_json::Value::String(issued.receipt_id);
            body["receipt"] = issued.envelope;
            Ok(Json(body).into_response())
        }
        other => Ok(resolved(other, rest)),
    }
}

fn resolved(resolution: Resolution, rest: &str) -> Response {
    match resolution {
        Resolution::Found(v) => Json(v).into_response(),
        Resolution::Moved(new_name) => (
            StatusCode::PERMANENT_REDIRECT,
            [(
                header::LOCATION,
                format!("/api/v1/models/{new_name}/{rest}"),
            )],
        )
            .into_response(),
    }
}

/// The version in a stage, with its artifacts (for deployment pipelines)
///
/// Resolved in one indexed query. With `matches`, the highest version in
/// the stage that satisfies the semver requirement.
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/stages/{stage}",
    tag = "lookups",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("stage" = Stage, Path, description = "Case-insensitive"),
        ("matches" = Option<String>, Query, description = "A semver requirement, e.g. `^2.1` or `>=1.4, <2`"),
        ("receipt" = Option<bool>, Query, description = "`true`: also issue a signed release receipt (`receipt`, `receipt_id`); needs a `deploy` token"),
    ),
    responses(
        (status = 200, description = "The version and its files, each with SHA-256 and download URL", body = ResolvedVersion),
        (status = 308, description = desc::MOVED),
        (status = 400, description = "Unknown stage, bad `matches`, or an unknown parameter", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model, or no (matching) version in that stage", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn stage_lookup(
    cx: Ctx,
    Path((name, stage)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let stage: Stage = stage.parse()?;
    let params = lookup_params(raw.as_deref())?;
    let found =
        aliases::resolve(&cx, &name, &Target::Stage(stage), params.matches.as_ref()).await?;
    answer(&cx, found, params.receipt, &format!("stages/{stage}")).await
}

/// The version an alias names, with its artifacts
///
/// A stage name (`production`) resolves to the version in that stage, and
/// `latest` to the highest version; `matches` applies to those two.
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/aliases/{alias}",
    tag = "lookups",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("alias" = String, Path, description = "An alias, a stage name, or `latest`"),
        ("matches" = Option<String>, Query, description = "For a stage or `latest`: a semver requirement"),
        ("receipt" = Option<bool>, Query, description = "`true`: also issue a signed release receipt; needs a `deploy` token"),
    ),
    responses(
        (status = 200, description = "The version and its files", body = ResolvedVersion),
        (status = 308, description = desc::MOVED),
        (status = 400, description = "Not a valid alias, or a bad `matches`", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model or alias", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn alias_lookup(
    cx: Ctx,
    Path((name, alias)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let target = Target::from_alias_segment(&alias)?;
    let params = lookup_params(raw.as_deref())?;
    if params.matches.is_some() && matches!(target, Target::Alias(_)) {
        return Err(AppError::invalid(
            "matches",
            "applies only to a stage or `latest`; an alias names one version",
        ));
    }
    let found = aliases::resolve(&cx, &name, &target, params.matches.as_ref()).await?;
    answer(&cx, found, params.receipt, &format!("aliases/{alias}")).await
}

/// A model's aliases
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/aliases",
    tag = "aliases",
    params(("name" = String, Path, description = desc::MODEL_NAME)),
    responses(
        (status = 200, description = "Aliases by name", body = [AliasView]),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_aliases(cx: Ctx, Path(name): Path<String>) -> Result<Json<Vec<AliasView>>, AppError> {
    Ok(Json(aliases::list_aliases(&cx, &name).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetAliasBody {
    /// The version the alias should name.
    version: String,
    /// For a protected alias: why, shown to the approvers (1 to 4000 characters).
    #[serde(default)]
    justification: Option<String>,
}

/// The optional body of an alias removal.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct RemoveAliasBody {
    /// For a protected alias: why, shown to the approvers.
    #[serde(default)]
    justification: Option<String>,
}

/// Creates or moves an alias (contributors and up)
///
/// An alias the policy protects (`champion` by default) is not moved: a
/// request opens instead, answered with 202, and the alias moves when the
/// policy's sign-offs are in (or at once when its rule needs none).
#[utoipa::path(
    put,
    path = "/api/v1/models/{name}/aliases/{alias}",
    tag = "aliases",
    params(
        ("name" = String, Path, description = "The model"),
        ("alias" = String, Path, description = "Letters, digits, `_` and `-`; not a stage name, `latest` or `v<digits>`"),
    ),
    request_body = SetAliasBody,
    responses(
        (status = 200, description = "The alias as it now stands", body = AliasView),
        (status = 202, description = "A protected alias: the request that will move it", body = RequestView),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 409, description = "A request for this alias is already open, or the policy allows it only on a version in another stage", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn set_alias(
    cx: Ctx,
    Path((name, alias)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetAliasBody>,
) -> Result<Response, AppError> {
    let name = model_name(&name)?;
    let alias = AliasName::parse(&alias)?;
    let version = SemVer::parse(&body.version)?;
    let why = justification(body.justification)?;
    let outcome = aliases::set_alias(&cx, &name, &alias, &version, why).await?;
    Ok(alias_response(outcome))
}

fn alias_response(outcome: AliasOutcome) -> Response {
    match outcome {
        AliasOutcome::Moved { alias: Some(view) } => Json(view).into_response(),
        AliasOutcome::Moved { alias: None } => StatusCode::NO_CONTENT.into_response(),
        AliasOutcome::Requested { request } => {
            (StatusCode::ACCEPTED, Json(request)).into_response()
        }
    }
}

/// Removes an alias (contributors and up)
#[utoipa::path(
    delete,
    path = "/api/v1/models/{name}/aliases/{alias}",
    tag = "aliases",
    params(
        ("name" = String, Path, description = "The model"),
        ("alias" = String, Path, description = "The alias"),
    ),
    request_body = RemoveAliasBody,
    responses(
        (status = 204, description = "Removed"),
        (status = 202, description = "A protected alias: the request that will remove it", body = RequestView),
        (status = 400, description = "Not a valid alias name, or a bad justification", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model or alias", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn delete_alias(
    cx: Ctx,
    Path((name, alias)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AppError> {
    let name = model_name(&name)?;
    let alias = AliasName::parse(&alias)?;
    let why = justification(optional_json::<RemoveAliasBody>(&body)?.justification)?;
    let outcome = aliases::remove_alias(&cx, &name, &alias, why).await?;
    Ok(alias_response(outcome))
}
