//! MLflow's artifact protocol (`/api/2.0/mlflow-artifacts/…`), as its
//! HTTP artifact client speaks it, over our own artifact service: the same
//! storage, checksums, permissions, freeze rules and audit events as
//! `/api/v1/…/artifacts`. Paths are `models/<model>/<semver>/<file>`
//! (`domain::mlflow_artifacts`); `get-download-uri` hands the client the
//! version's directory, so `mlflow.pyfunc.load_model("models:/m@alias")`
//! lists and downloads from here.
//!
//! Multipart uploads are answered "not supported", which MLflow's client
//! reads as "send one streamed PUT" (it does so for any size; our PUT
//! streams to storage with flat memory).

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
    domain::mlflow_artifacts::{children, ArtifactAddress},
    error::AppError,
    server::{
        http::artifact_api::file_response,
        services::{
            artifacts::{self, UploadRequest},
            Ctx,
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
        .route("/mpu/create/{*path}", post(multipart_unsupported))
        .route("/mpu/complete/{*path}", post(multipart_unsupported))
        .route("/mpu/abort/{*path}", post(multipart_unsupported))
        // Uploads stream with their own size limit (REGISTRY_MAX_ARTIFACT_BYTES).
        .layer(DefaultBodyLimit::disable())
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
    let address = address(query.path.as_deref().unwrap_or(""))?;
    let files = artifacts::list(&cx, address.model.as_str(), &address.version).await?;
    let entries = children(
        files.iter().map(|f| (f.path.as_str(), f.size)),
        address.inner.as_ref(),
    );
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
    let (address, file) = file_address(&raw)?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let outcome = artifacts::download(
        &cx,
        address.model.as_str(),
        &address.version,
        &file,
        range,
        false,
    )
    .await?;
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
    let (address, file) = file_address(&raw)?;
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
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
    let (address, file) = file_address(&raw)?;
    artifacts::delete(&cx, &address.model, &address.version, &file).await?;
    Ok(Json(json!({})))
}

async fn multipart_unsupported(who: Who) -> MlResult<Response> {
    who?;
    Ok((
        StatusCode::NOT_IMPLEMENTED,
        Json(json!({ "error_code": "NOT_IMPLEMENTED", "message": MULTIPART_UNSUPPORTED })),
    )
        .into_response())
}
