//! MLflow's artifact protocol (`/api/2.0/mlflow-artifacts/…`), as its
//! HTTP artifact client speaks it, over our own artifact service: the same
//! storage, checksums, permissions, freeze rules and audit events as
//! `/api/v1/…/artifacts`. Paths are `models/<model>/<semver>/<file>`
//! (`domain::mlflow_artifacts`); `get-download-uri` hands the client the
//! version's directory, so `mlflow.pyfunc.load_model("models:/m@alias")`
//! lists and downloads from here.
//!
//! The files of MLflow runs and logged models (`<experiment>/<run>/artifacts/…`,
//! `<experiment>/models/<id>/artifacts/…`) are served here too, through
//! `services::tracking`: `log_model` uploads there before registering.
//!
//! Multipart uploads (`mpu/create|complete|abort`) run on S3: the client
//! sends its parts to presigned URLs (`services::artifact_parts`). On a
//! local artifact directory they are answered "not supported", as MLflow's
//! own server answers for local storage, and the client sends one streamed
//! PUT instead (our PUT streams to storage with flat memory).

use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Path, Query},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{MlResult, MlflowError};
use crate::{
    domain::{
        mlflow_artifacts::{children, ArtifactAddress},
        mlflow_tracking::TrackingAddress,
        ArtifactPath,
    },
    error::AppError,
    server::{
        http::artifact_api::file_response,
        services::{
            artifact_parts,
            artifacts::{self, UploadRequest},
            tracking, Ctx,
        },
        state::AppState,
    },
};

type Who = Result<Ctx, AppError>;

/// What MLflow's client matches to fall back from multipart to one PUT.
const MULTIPART_UNSUPPORTED: &str =
    "Multipart upload is not supported for the current artifact repository";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/artifacts", get(list))
        .route(
            "/artifacts/{*path}",
            get(download).put(upload).delete(delete),
        )
        .route("/mpu/create/{*path}", post(multipart_create))
        .route("/mpu/complete/{*path}", post(multipart_complete))
        .route("/mpu/abort/{*path}", post(multipart_abort))
        // Uploads stream with their own size limit (REGISTRY_MAX_ARTIFACT_BYTES).
        .layer(DefaultBodyLimit::disable())
}

/// What a path names: a registered version's files (`models/<m>/<v>/…`)
/// or a run's or logged model's (`<experiment>/…/artifacts/…`).
enum Target {
    Version(ArtifactAddress),
    Tracking(TrackingAddress),
}

fn target(raw: &str) -> MlResult<Target> {
    let first = raw.trim_start_matches('/').split('/').next().unwrap_or("");
    if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
        return TrackingAddress::parse(raw)
            .map(Target::Tracking)
            .map_err(|e| MlflowError::invalid(format!("{}: {}", e.field, e.message)));
    }
    address(raw).map(Target::Version)
}

fn tracking_file(address: &TrackingAddress, raw: &str) -> MlResult<ArtifactPath> {
    address
        .inner
        .clone()
        .ok_or_else(|| MlflowError::invalid(format!("path {raw:?} names a directory, not a file")))
}

fn address(raw: &str) -> MlResult<ArtifactAddress> {
    ArtifactAddress::parse(raw)
        .map_err(|e| MlflowError::invalid(format!("{}: {}", e.field, e.message)))
}

/// A file path, for the calls that need one (download, upload, delete).
fn file_address(raw: &str) -> MlResult<(ArtifactAddress, crate::domain::ArtifactPath)> {
    let address = address(raw)?;
    let file = address.inner.clone().ok_or_else(|| {
        MlflowError::invalid(format!(
            "path {raw:?} names a version's directory, not a file in it"
        ))
    })?;
    Ok((address, file))
}

#[derive(Deserialize)]
struct ListQuery {
    path: Option<String>,
}

/// `GET /artifacts?path=models/<m>/<v>[/dir]`: one level of the version's files.
async fn list(who: Who, Query(query): Query<ListQuery>) -> MlResult<Json<Value>> {
    let cx = who?;
    let raw = query.path.as_deref().unwrap_or("");
    let entries = match target(raw)? {
        Target::Version(address) => {
            let files = artifacts::list(&cx, address.model.as_str(), &address.version).await?;
            children(
                files.iter().map(|f| (f.path.as_str(), f.size)),
                address.inner.as_ref(),
            )
        }
        Target::Tracking(address) => {
            let files = tracking::files(&cx, &address).await?;
            children(
                files.iter().map(|f| (f.path.as_str(), Some(f.size))),
                address.inner.as_ref(),
            )
        }
    };
    let files: Vec<Value> = entries
        .into_iter()
        .map(|e| match e.file_size {
            Some(size) => json!({ "path": e.path, "is_dir": e.is_dir, "file_size": size }),
            None => json!({ "path": e.path, "is_dir": e.is_dir }),
        })
        .collect();
    Ok(Json(json!({ "files": files })))
}

async fn download(who: Who, Path(raw): Path<String>, headers: HeaderMap) -> MlResult<Response> {
    let cx = who?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (file, outcome) = match target(&raw)? {
        Target::Version(_) => {
            let (address, file) = file_address(&raw)?;
            let outcome = artifacts::download(
                &cx,
                address.model.as_str(),
                &address.version,
                &file,
                range,
                false,
            )
            .await?;
            (file, outcome)
        }
        Target::Tracking(address) => {
            let file = tracking_file(&address, &raw)?;
            let outcome = tracking::download_file(&cx, &address, &file, range).await?;
            (file, outcome)
        }
    };
    Ok(file_response(&file, outcome))
}

/// `PUT /artifacts/models/<m>/<v>/<file>`: one streamed file. The version
/// must not be frozen (signed off or in a request); paths are immutable.
async fn upload(
    who: Who,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> MlResult<Json<Value>> {
    let cx = who?;
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    if let Target::Tracking(address) = target(&raw)? {
        tracking_file(&address, &raw)?;
        let stream = body.into_data_stream().map_err(|e| e.to_string());
        tracking::upload_file(&cx, &address, declared_length, Box::pin(stream)).await?;
        return Ok(Json(json!({})));
    }
    let (address, file) = file_address(&raw)?;
    let request = UploadRequest {
        path: file,
        expected_sha256: None,
        declared_length,
    };
    let stream = body.into_data_stream().map_err(|e| e.to_string());
    artifacts::upload(
        &cx,
        &address.model,
        &address.version,
        request,
        Box::pin(stream),
    )
    .await?;
    Ok(Json(json!({})))
}

async fn delete(who: Who, Path(raw): Path<String>) -> MlResult<Json<Value>> {
    let cx = who?;
    if let Target::Tracking(address) = target(&raw)? {
        let file = tracking_file(&address, &raw)?;
        tracking::delete_file(&cx, &address, &file).await?;
        return Ok(Json(json!({})));
    }
    let (address, file) = file_address(&raw)?;
    artifacts::delete(&cx, &address.model, &address.version, &file).await?;
    Ok(Json(json!({})))
}

/// The bodies of MLflow's multipart calls. `path` is the client's local
/// file; the artifact is its base name in the URL's directory, as MLflow's
/// server places it.
#[derive(Deserialize)]
struct CreateBody {
    path: String,
    num_parts: i64,
}

#[derive(Deserialize)]
struct Part {
    part_number: i32,
    etag: String,
}

#[derive(Deserialize)]
struct CompleteBody {
    path: String,
    upload_id: String,
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct AbortBody {
    path: String,
    upload_id: String,
}

/// Where a multipart upload goes: `local_file`'s base name under the
/// directory the URL names (the version's root, or a folder in it).
fn destination(
    raw_dir: &str,
    local_file: &str,
) -> MlResult<(ArtifactAddress, crate::domain::ArtifactPath)> {
    let address = address(raw_dir)?;
    let name = local_file.rsplit(['/', '\\']).next().unwrap_or(local_file);
    let inner = match &address.inner {
        Some(dir) => format!("{}/{name}", dir.as_str()),
        None => name.to_owned(),
    };
    let file = crate::domain::ArtifactPath::parse(&inner)
        .map_err(|e| MlflowError::invalid(format!("{}: {}", e.field, e.message)))?;
    Ok((address, file))
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> MlResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| MlflowError::invalid(format!("invalid JSON body: {e}")))
}

/// Multipart bodies are small JSON documents; anything longer is refused.
const MPU_BODY_LIMIT: usize = 2 * 1024 * 1024;

async fn small_body(body: Body) -> MlResult<axum::body::Bytes> {
    axum::body::to_bytes(body, MPU_BODY_LIMIT)
        .await
        .map_err(|_| MlflowError::from(AppError::PayloadTooLarge))
}

async fn multipart_create(who: Who, Path(raw): Path<String>, body: Body) -> MlResult<Response> {
    let cx = who?;
    let body: CreateBody = json_body(&small_body(body).await?)?;
    let unsupported = || {
        (
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({ "error_code": "NOT_IMPLEMENTED", "message": MULTIPART_UNSUPPORTED })),
        )
            .into_response()
    };
    // A run's or logged model's files arrive in one streamed PUT each.
    if let Target::Tracking(_) = target(&raw)? {
        return Ok(unsupported());
    }
    let (address, file) = destination(&raw, &body.path)?;
    let started =
        artifact_parts::begin(&cx, &address.model, &address.version, &file, body.num_parts).await?;
    let Some(started) = started else {
        return Ok(unsupported());
    };
    let credentials: Vec<Value> = started
        .urls
        .into_iter()
        .zip(1..)
        .map(|(url, n): (String, i32)| json!({ "url": url, "part_number": n, "headers": {} }))
        .collect();
    Ok(Json(json!({ "upload_id": started.upload_id, "credentials": credentials })).into_response())
}

async fn multipart_complete(
    who: Who,
    Path(raw): Path<String>,
    body: Body,
) -> MlResult<Json<Value>> {
    let cx = who?;
    let body: CompleteBody = json_body(&small_body(body).await?)?;
    let (address, file) = destination(&raw, &body.path)?;
    let parts: Vec<(i32, String)> = body
        .parts
        .into_iter()
        .map(|p| (p.part_number, p.etag))
        .collect();
    artifact_parts::complete(
        &cx,
        &address.model,
        &address.version,
        &file,
        &body.upload_id,
        &parts,
    )
    .await?;
    Ok(Json(json!({})))
}

async fn multipart_abort(who: Who, Path(raw): Path<String>, body: Body) -> MlResult<Json<Value>> {
    let cx = who?;
    let body: AbortBody = json_body(&small_body(body).await?)?;
    let (address, _) = destination(&raw, &body.path)?;
    artifact_parts::abort(&cx, &address.model, &address.version, &body.upload_id).await?;
    Ok(Json(json!({})))
}
