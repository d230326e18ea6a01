//! REST API for environments and deployments, release receipts, the
//! published keys, attribution ("which version decided at T in E") and
//! dataset impact; and the audit chain's signed checkpoints.

use axum::{
    body::Bytes,
    extract::{Path, RawQuery},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};

use super::{desc, errors::ErrorBody, extract::ApiJson, params::Query};
use crate::{
    domain::{DeploymentReportForm, EnvironmentForm, SemVer},
    dto::{
        Attribution, DatasetImpact, DeploymentView, EnvironmentTimeline, EnvironmentView, ServingAt,
    },
    error::AppError,
    server::{
        services::{
            anchors::{self, AnchorCheck, PublishedCheckpoint},
            deployments,
            receipts::{self, IssuedReceipt, ReceiptCheck},
            Ctx,
        },
        signing::KeySet,
        state::AppState,
    },
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/environments",
            get(list_environments).post(create_environment),
        )
        .route(
            "/environments/{env}/deployments",
            get(environment_timeline).post(report_deployment),
        )
        .route("/environments/{env}/serving", get(serving))
        .route("/attribution", get(attribution))
        .route("/impact", get(dataset_impact))
        .route(
            "/models/{name}/versions/{version}/receipts",
            post(issue_receipt),
        )
        .route("/receipts/verify", post(verify_receipt))
        .route("/receipts/{id}", get(get_receipt))
        .route("/keys", get(keys))
        .route(
            "/audit/checkpoints",
            get(list_checkpoints).post(publish_checkpoint),
        )
        .route("/audit/checkpoints/verify", get(verify_checkpoints))
}

/// The environments versions run in
#[utoipa::path(
    get,
    path = "/api/v1/environments",
    tag = "deployments",
    responses(
        (status = 200, description = "Every environment, by name", body = Vec<EnvironmentView>),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_environments(cx: Ctx) -> Result<Json<Vec<EnvironmentView>>, AppError> {
    Ok(Json(deployments::list_environments(&cx).await?))
}

/// Defines an environment (admins)
///
/// `required_stage` is the stage a version must be in to run there; a
/// report of any other version is recorded and flagged as a violation.
#[utoipa::path(
    post,
    path = "/api/v1/environments",
    tag = "deployments",
    request_body = EnvironmentForm,
    responses(
        (status = 201, description = "Created", body = EnvironmentView),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn create_environment(
    cx: Ctx,
    ApiJson(form): ApiJson<EnvironmentForm>,
) -> Result<(StatusCode, Json<EnvironmentView>), AppError> {
    let env = deployments::create_environment(&cx, form).await?;
    Ok((StatusCode::CREATED, Json(env)))
}

/// Reports what an environment serves (pipelines, a `deploy` token)
///
/// "Environment E serves version V of model M" (or `state: stopped`),
/// since `at` (now when absent; never in the future, never before the
/// newest report of that model there). A version not in the environment's
/// required stage is recorded with `violation` set, audited and sent to
/// webhook receivers as `deployment.violation`.
#[utoipa::path(
    post,
    path = "/api/v1/environments/{env}/deployments",
    tag = "deployments",
    params(("env" = String, Path, description = "Environment name")),
    request_body = DeploymentReportForm,
    responses(
        (status = 201, description = "Recorded", body = DeploymentView),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "The token's scope or the role does not allow deploy", body = ErrorBody),
        (status = 404, description = "No such environment, model or version", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn report_deployment(
    cx: Ctx,
    Path(env): Path<String>,
    ApiJson(form): ApiJson<DeploymentReportForm>,
) -> Result<(StatusCode, Json<DeploymentView>), AppError> {
    let recorded = deployments::report(&cx, &env, form).await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

/// An environment's deployment timeline
#[utoipa::path(
    get,
    path = "/api/v1/environments/{env}/deployments",
    tag = "deployments",
    params(
        ("env" = String, Path, description = "Environment name"),
        ("model" = Option<String>, Query, description = "Only this model"),
    ),
    responses(
        (status = 200, description = "Spans (half-open `[from, until)`) and the reports they come from", body = EnvironmentTimeline),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such environment or model", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn environment_timeline(
    cx: Ctx,
    Path(env): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EnvironmentTimeline>, AppError> {
    let q = Query::parse(raw.as_deref(), &["model"])?;
    let model = q.text("model")?;
    Ok(Json(
        deployments::timeline(&cx, &env, model.as_deref()).await?,
    ))
}

/// What served in an environment at an instant
#[utoipa::path(
    get,
    path = "/api/v1/environments/{env}/serving",
    tag = "deployments",
    params(
        ("env" = String, Path, description = "Environment name"),
        ("at" = Option<String>, Query, description = "RFC 3339, `YYYY-MM-DD` (UTC) or Unix ms; now when absent. A report is in effect from its own millisecond."),
        ("model" = Option<String>, Query, description = "Only this model"),
    ),
    responses(
        (status = 200, description = "At most one span per model", body = ServingAt),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such environment or model", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn serving(
    cx: Ctx,
    Path(env): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ServingAt>, AppError> {
    let q = Query::parse(raw.as_deref(), &["at", "model"])?;
    let at = q.instant("at")?.unwrap_or_else(crate::server::db::now_ms);
    let model = q.text("model")?;
    Ok(Json(
        deployments::serving(&cx, &env, at, model.as_deref()).await?,
    ))
}

/// Which version decided: attribution at an instant (auditors and admins)
///
/// For each model serving in `environment` at `at`: the deployment, the
/// version's lineage, parameters, metrics, artifact digests, approval
/// trail, and the release receipt the deployment named.
#[utoipa::path(
    get,
    path = "/api/v1/attribution",
    tag = "deployments",
    params(
        ("environment" = String, Query, description = "Environment name"),
        ("at" = String, Query, description = "RFC 3339, `YYYY-MM-DD` (UTC) or Unix ms"),
        ("model" = Option<String>, Query, description = "Only this model"),
    ),
    responses(
        (status = 200, description = "The evidence; `answers` is empty when nothing served then", body = Attribution),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
        (status = 404, description = "No such environment or model", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn attribution(cx: Ctx, RawQuery(raw): RawQuery) -> Result<Json<Attribution>, AppError> {
    let q = Query::parse(raw.as_deref(), &["environment", "at", "model"])?;
    let env = q
        .text("environment")?
        .ok_or_else(|| AppError::invalid("environment", "is required"))?;
    let at = q
        .instant("at")?
        .ok_or_else(|| AppError::invalid("at", "is required"))?;
    let model = q.text("model")?;
    Ok(Json(
        deployments::attribution(&cx, &env, at, model.as_deref()).await?,
    ))
}

/// Which served versions were trained on a dataset
///
/// Versions whose lineage names `dataset_hash`, or whose parent version
/// (at any depth) does, and every stay of them in an environment.
#[utoipa::path(
    get,
    path = "/api/v1/impact",
    tag = "deployments",
    params(
        ("dataset_hash" = String, Query, description = "The dataset hash recorded in lineage"),
        ("environment" = Option<String>, Query, description = "Only this environment"),
    ),
    responses(
        (status = 200, description = "The versions trained on it and where they served", body = DatasetImpact),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn dataset_impact(cx: Ctx, RawQuery(raw): RawQuery) -> Result<Json<DatasetImpact>, AppError> {
    let q = Query::parse(raw.as_deref(), &["dataset_hash", "environment"])?;
    let hash = q
        .text("dataset_hash")?
        .ok_or_else(|| AppError::invalid("dataset_hash", "is required"))?;
    let env = q.text("environment")?;
    Ok(Json(
        deployments::dataset_impact(&cx, &hash, env.as_deref()).await?,
    ))
}

/// Issues a signed release receipt for a version (a `deploy` token)
///
/// A DSSE envelope (Ed25519) stating the model, version, stage, content
/// digest, file SHA-256s, the approving request and its approvers, and the
/// audit chain's head. Verify it with the keys at `/api/v1/keys`.
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/versions/{version}/receipts",
    tag = "receipts",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("version" = String, Path, description = desc::VERSION),
    ),
    responses(
        (status = 201, description = "The receipt", body = IssuedReceipt),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "The token's scope or the role does not allow deploy", body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn issue_receipt(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
) -> Result<(StatusCode, Json<IssuedReceipt>), AppError> {
    let version = SemVer::parse(&version)?;
    let issued = receipts::issue(&cx, &name, &version).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// A receipt the registry issued, verified again now
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{id}",
    tag = "receipts",
    params(("id" = String, Path, description = "`rcpt_…`")),
    responses(
        (status = 200, description = "The verdict and the statement", body = ReceiptCheck),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 404, description = "No such receipt", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn get_receipt(cx: Ctx, Path(id): Path<String>) -> Result<Json<ReceiptCheck>, AppError> {
    Ok(Json(receipts::get(&cx, &id).await?))
}

/// Verifies a presented receipt (the envelope as the body)
///
/// A receipt that does not verify (a changed byte, an unknown key) is
/// recorded in the audit trail as `receipt.rejected` and answered 400
/// naming what failed.
#[utoipa::path(
    post,
    path = "/api/v1/receipts/verify",
    tag = "receipts",
    request_body(content = Object, description = "The DSSE envelope", content_type = "application/json"),
    responses(
        (status = 200, description = "Valid: the statement, whether the registry recorded it, and whether the version is unchanged", body = ReceiptCheck),
        (status = 400, description = "Malformed, changed or forged", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn verify_receipt(cx: Ctx, body: Bytes) -> Result<Json<ReceiptCheck>, AppError> {
    Ok(Json(receipts::verify_presented(&cx, &body).await?))
}

/// The public keys receipts and checkpoints are signed with (a JWKS)
///
/// Readable without credentials (public keys are no secret), here and at
/// `/.well-known/model-registry/keys.json`.
/// Retired keys stay listed: what they signed remains verifiable.
#[utoipa::path(
    get,
    path = "/api/v1/keys",
    tag = "receipts",
    responses((status = 200, description = "Ed25519 keys (`kty: OKP`)", body = KeySet)),
    security(()),
)]
pub(super) async fn keys(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    Json(state.keys.published()).into_response()
}

/// The newest published audit checkpoints (auditors and admins)
#[utoipa::path(
    get,
    path = "/api/v1/audit/checkpoints",
    tag = "audit",
    responses(
        (status = 200, description = "Newest first, at most 50", body = Vec<PublishedCheckpoint>),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list_checkpoints(cx: Ctx) -> Result<Json<Vec<PublishedCheckpoint>>, AppError> {
    Ok(Json(anchors::list(&cx, 50).await?))
}

/// Publishes a signed audit checkpoint now (auditors and admins)
///
/// Written once to the artifact store under `audit-checkpoints/`, sent to
/// webhook receivers as `audit.checkpoint`, and logged. 204 when the
/// newest checkpoint already covers the chain's head.
#[utoipa::path(
    post,
    path = "/api/v1/audit/checkpoints",
    tag = "audit",
    responses(
        (status = 201, description = "Published", body = PublishedCheckpoint),
        (status = 204, description = "Nothing new since the newest checkpoint"),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn publish_checkpoint(cx: Ctx) -> Result<Response, AppError> {
    Ok(match anchors::publish(&cx).await? {
        Some(c) => (StatusCode::CREATED, Json(c)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// Compares the audit chain with the newest published checkpoints
///
/// Detects and names deleted newest events and a chain rewritten
/// consistently, which the chain alone cannot show.
#[utoipa::path(
    get,
    path = "/api/v1/audit/checkpoints/verify",
    tag = "audit",
    responses(
        (status = 200, description = "`intact: false` lists the problems", body = AnchorCheck),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = desc::NOT_AUDITOR, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn verify_checkpoints(cx: Ctx) -> Result<Json<AnchorCheck>, AppError> {
    Ok(Json(anchors::verify(&cx).await?))
}
