//! REST API for promotion requests (open, review, cancel, list) and the
//! approval policy. Aliases and the CI/CD lookups are in `alias_api`.

use axum::{
    body::Bytes,
    extract::{Path, RawQuery},
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post, put},
    Json, Router,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    desc,
    errors::ErrorBody,
    extract::ApiJson,
    params::{model_name, optional_json, positive, query_pairs},
};
use crate::server::services::Ctx;
use crate::{
    domain::{
        ApprovalPolicy, ContentDigest, Decision, PolicyOverride, RequestState, SemVer, Stage,
    },
    dto::{PolicyView, RequestPage, RequestView},
    error::AppError,
    server::{
        services::{
            workflow::{self, Justification},
            workflow_views::{self, RequestQuery},
        },
        state::AppState,
    },
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/models/{name}/versions/{version}/requests",
            post(open_request),
        )
        .route("/models/{name}/requests/{id}", get(get_request))
        .route("/models/{name}/requests/{id}/approve", post(approve))
        .route("/models/{name}/requests/{id}/reject", post(reject))
        .route("/models/{name}/requests/{id}/cancel", post(cancel))
        .route("/requests", get(list_requests))
        .route("/policy", get(get_policy).put(put_policy))
        .route("/models/{name}/policy", put(put_model_policy))
}

// ------------------------------------------------------------ requests

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenRequestBody {
    /// The target stage.
    to: String,
    /// Why; shown to the approvers. 1 to 4000 characters.
    justification: String,
}

/// Asks to move a version to another stage (contributors and up)
///
/// When the policy needs no sign-off for the target stage (by default,
/// Archived), the move is applied at once and the request comes back
/// `approved`.
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/versions/{version}/requests",
    tag = "requests",
    params(
        ("name" = String, Path, description = "The model"),
        ("version" = String, Path, description = desc::VERSION),
    ),
    request_body = OpenRequestBody,
    responses(
        (status = 201, description = "Opened (or applied at once)", body = RequestView),
        (status = 400, description = "Unknown stage, a move the state machine forbids (`to`), or a bad justification", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 409, description = "The version already has an open request", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn open_request(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
    ApiJson(body): ApiJson<OpenRequestBody>,
) -> Result<impl IntoResponse, AppError> {
    let name = model_name(&name)?;
    let version = SemVer::parse(&version)?;
    let to: Stage = body
        .to
        .parse()
        .map_err(|e: crate::domain::FieldError| AppError::invalid("to", e.message))?;
    let justification = Justification::parse(&body.justification)?;
    let view = workflow::open_request(&cx, &name, &version, to, justification).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One request with its reviews
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/requests/{id}",
    tag = "requests",
    params(
        ("name" = String, Path, description = "The model"),
        ("id" = i64, Path, description = "The request"),
    ),
    responses(
        (status = 200, description = "The request", body = RequestView),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model, or no such request for this model", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn get_request(
    cx: Ctx,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<RequestView>, AppError> {
    let id = request_id(&id)?;
    Ok(Json(workflow_views::get_request(&cx, &name, id).await?))
}

fn request_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid("id", "must be a positive request number"))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    /// Optional when approving, required when rejecting; at most 2000 characters.
    #[serde(default)]
    comment: String,
    /// The content digest you reviewed (`sha256:…`): if the request is for
    /// anything else, the sign-off is refused with 409.
    #[serde(default)]
    content_digest: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    /// Optional; at most 2000 characters.
    #[serde(default)]
    reason: String,
}

async fn decide(
    cx: Ctx,
    (name, id): (String, String),
    decision: Decision,
    body: ReviewBody,
) -> Result<Json<RequestView>, AppError> {
    let name = model_name(&name)?;
    let id = request_id(&id)?;
    let seen = body
        .content_digest
        .as_deref()
        .map(ContentDigest::parse)
        .transpose()?;
    Ok(Json(
        workflow::review(&cx, &name, id, decision, &body.comment, seen.as_ref()).await?,
    ))
}

/// Signs off a request (approvers)
///
/// The last required sign-off applies the move in the same transaction:
/// the stage change, the previous production version's archiving, and the
/// history and audit records.
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/requests/{id}/approve",
    tag = "requests",
    params(
        ("name" = String, Path, description = "The model"),
        ("id" = i64, Path, description = "The request; one of another model is not found"),
    ),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "The request after the sign-off (`approved` once applied)", body = RequestView),
        (status = 400, description = "Comment too long", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "Not an approver (`forbidden`), or your own request (`not_allowed`)", body = ErrorBody),
        (status = 404, description = "No such model, or no such request for this model", body = ErrorBody),
        (status = 409, description = "Already signed off; the request is no longer pending (rejected, cancelled, expired, superseded); or the version's content changed since it was opened (the request is then closed as superseded) or differs from `content_digest`", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn approve(
    cx: Ctx,
    Path(path): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<RequestView>, AppError> {
    let body: ReviewBody = optional_json(&body)?;
    decide(cx, path, Decision::Approve, body).await
}

/// Rejects a request with a reason (approvers); this closes it
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/requests/{id}/reject",
    tag = "requests",
    params(
        ("name" = String, Path, description = "The model"),
        ("id" = i64, Path, description = "The request"),
    ),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "The rejected request", body = RequestView),
        (status = 400, description = "Missing or overlong comment", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "Not an approver, or your own request", body = ErrorBody),
        (status = 404, description = "No such model, or no such request for this model", body = ErrorBody),
        (status = 409, description = "The request is no longer pending", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn reject(
    cx: Ctx,
    Path(path): Path<(String, String)>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<Json<RequestView>, AppError> {
    decide(cx, path, Decision::Reject, body).await
}

/// Withdraws a request (its requester, or an admin)
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/requests/{id}/cancel",
    tag = "requests",
    params(
        ("name" = String, Path, description = "The model"),
        ("id" = i64, Path, description = "The request"),
    ),
    request_body = CancelBody,
    responses(
        (status = 200, description = "The cancelled request", body = RequestView),
        (status = 400, description = "Reason too long", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "Neither the requester nor an admin", body = ErrorBody),
        (status = 404, description = "No such model, or no such request for this model", body = ErrorBody),
        (status = 409, description = "The request is no longer pending", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn cancel(
    cx: Ctx,
    Path((name, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<RequestView>, AppError> {
    let name = model_name(&name)?;
    let id = request_id(&id)?;
    let reason = optional_json::<CancelBody>(&body)?.reason;
    Ok(Json(workflow::cancel(&cx, &name, id, &reason).await?))
}

/// Lists requests, newest first
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    params(
        ("state" = Option<RequestState>, Query, description = "Only requests in this state"),
        ("model" = Option<String>, Query, description = "Only this model's requests"),
        ("mine" = Option<bool>, Query, description = "Only the caller's own requests"),
        ("before" = Option<i64>, Query, description = "Paging: `next_before` of the previous page"),
        ("limit" = Option<i64>, Query, description = "Default 50", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "One page", body = RequestPage),
        (status = 400, description = "A bad or unknown parameter; `error.field` names it", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_requests(cx: Ctx, RawQuery(raw): RawQuery) -> Result<Json<RequestPage>, AppError> {
    let mut query = RequestQuery::default();
    for (key, value) in query_pairs(raw.as_deref())? {
        match key.as_str() {
            "state" => query.state = Some(value.parse()?),
            "model" => query.model = Some(model_name(&value)?),
            "mine" => {
                query.mine = match value.as_str() {
                    "true" | "1" | "on" => true,
                    "false" | "0" | "off" | "" => false,
                    _ => return Err(AppError::invalid("mine", "must be true or false")),
                }
            }
            "before" => query.before = Some(positive("before", &value)?),
            "limit" => {
                let limit = positive("limit", &value)?;
                if limit > workflow_views::MAX_PAGE {
                    return Err(AppError::invalid("limit", "must be at most 100"));
                }
                query.limit = Some(limit);
            }
            other => {
                return Err(AppError::invalid(
                    "query",
                    format!("unknown parameter {other:?}"),
                ))
            }
        }
    }
    Ok(Json(workflow_views::list_requests(&cx, query).await?))
}

// ------------------------------------------------------------ policy

/// The approval policy: registry-wide, and per-model overrides
#[utoipa::path(
    get,
    path = "/api/v1/policy",
    tag = "policy",
    responses(
        (status = 200, description = "The policy", body = PolicyView),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn get_policy(cx: Ctx) -> Result<Json<PolicyView>, AppError> {
    Ok(Json(workflow_views::policy(&cx).await?))
}

/// Replaces the registry-wide approval policy (admins)
///
/// Open requests keep the sign-off count they were opened with.
#[utoipa::path(
    put,
    path = "/api/v1/policy",
    tag = "policy",
    request_body = ApprovalPolicy,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn put_policy(
    cx: Ctx,
    ApiJson(policy): ApiJson<ApprovalPolicy>,
) -> Result<StatusCode, AppError> {
    workflow_views::set_registry_policy(&cx, policy).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a model's policy override (admins); all fields absent removes it
#[utoipa::path(
    put,
    path = "/api/v1/models/{name}/policy",
    tag = "policy",
    params(("name" = String, Path, description = "The model")),
    request_body = PolicyOverride,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn put_model_policy(
    cx: Ctx,
    Path(name): Path<String>,
    ApiJson(pinned): ApiJson<PolicyOverride>,
) -> Result<StatusCode, AppError> {
    let name = model_name(&name)?;
    workflow_views::set_model_policy(&cx, &name, pinned).await?;
    Ok(StatusCode::NO_CONTENT)
}
