//! Artifact endpoints: streaming upload (PUT), link or browser-form upload
//! (POST), list, ranged download, delete.

use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Multipart, Path, Query},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Json, Router,
};
use futures_util::TryStreamExt;
use serde::Deserialize;

use super::{desc, errors::ErrorBody};
use crate::server::services::Ctx;
use crate::{
    domain::{parse_sha256, ArtifactPath, ModelName, SemVer},
    dto::ArtifactView,
    error::AppError,
    server::{
        services::artifacts::{self, Download, UploadRequest},
        state::AppState,
    },
};

pub const CHECKSUM_HEADER: &str = "x-checksum-sha256";
/// A link's JSON body: a path, a URI of at most 2 KiB, a checksum, a size.
const LINK_BODY_LIMIT: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/models/{name}/versions/{version}/artifacts",
            get(list).post(create),
        )
        .route(
            "/models/{name}/versions/{version}/artifacts/{*path}",
            get(download).put(upload).delete(delete),
        )
        // Uploads stream with their own size limit (REGISTRY_MAX_ARTIFACT_BYTES).
        .layer(DefaultBodyLimit::disable())
}

fn parse(name: &str, version: &str) -> Result<(ModelName, SemVer), AppError> {
    Ok((ModelName::parse(name)?, SemVer::parse(version)?))
}

fn checksum(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    headers
        .get(CHECKSUM_HEADER)
        .map(|v| {
            v.to_str()
                .map_err(|_| AppError::invalid("X-Checksum-Sha256", "must be text"))
                .and_then(|s| parse_sha256("X-Checksum-Sha256", s).map_err(Into::into))
        })
        .transpose()
}

/// Streams the request body into the artifact store as `path`.
#[utoipa::path(
    put,
    path = "/api/v1/models/{name}/versions/{version}/artifacts/{path}",
    tag = "artifacts",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("version" = String, Path, description = desc::VERSION),
        ("path" = String, Path, description = "Relative path inside the version, e.g. `config/params.yaml`"),
        ("X-Checksum-Sha256" = Option<String>, Header, description = "Expected SHA-256 (hex); a mismatch refuses the upload"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, streamed"),
    responses(
        (status = 201, description = "Stored and recorded", body = ArtifactView),
        (status = 400, description = "Invalid path, checksum mismatch or interrupted upload", body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 409, description = "The path already exists in this version (artifacts are immutable)", body = ErrorBody),
        (status = 413, description = "Larger than REGISTRY_MAX_ARTIFACT_BYTES", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn upload(
    cx: Ctx,
    Path((name, version, path)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, AppError> {
    let (name, version) = parse(&name, &version)?;
    let request = UploadRequest {
        path: ArtifactPath::parse(&path)?,
        expected_sha256: checksum(&headers)?,
        declared_length: headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
    };
    let stream = body.into_data_stream();
    let view = artifacts::upload(&cx, &name, &version, request, stream).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The version's files with sizes, checksums and download URLs.
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/versions/{version}/artifacts",
    tag = "artifacts",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("version" = String, Path, description = desc::VERSION),
    ),
    responses(
        (status = 200, description = "The artifacts, by path", body = Vec<ArtifactView>),
        (status = 404, description = "No such model or version", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn list(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
) -> Result<impl IntoResponse, AppError> {
    let version = SemVer::parse(&version)?;
    Ok(Json(artifacts::list(&cx, &name, &version).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    path: String,
    uri: String,
    sha256: Option<String>,
    size: Option<i64>,
}

/// JSON: link an external file. multipart/form-data: the version page's
/// upload form before hydration (redirects back to the page).
/// With JSON: records a link to a file stored elsewhere. With
/// multipart/form-data: the version page's upload form (redirects back).
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/versions/{version}/artifacts",
    tag = "artifacts",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("version" = String, Path, description = desc::VERSION),
    ),
    request_body = LinkBody,
    responses(
        (status = 201, description = "The link was recorded", body = ArtifactView),
        (status = 303, description = "Form upload done (or failed, with `?error=`): back to the version page"),
        (status = 400, description = desc::BAD_INPUT, body = ErrorBody),
        (status = 403, description = desc::NOT_CONTRIBUTOR, body = ErrorBody),
        (status = 409, description = "The path already exists in this version", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn create(
    cx: Ctx,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    let (name, version) = parse(&name, &version)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        let page = format!("/models/{name}/versions/{version}");
        let multipart = Multipart::from_request(request, &cx.state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        return Ok(match form_upload(&cx, &name, &version, multipart).await {
            Ok(()) => Redirect::to(&page).into_response(),
            Err(e) => Redirect::to(&format!(
                "{page}?error={}",
                crate::components::guard::encode_component(&e.to_string())
            ))
            .into_response(),
        });
    }
    // The route takes unlimited bodies (uploads stream); a link is a small
    // JSON document, so it is read with a limit of its own.
    if !content_type.starts_with("application/json") {
        return Err(AppError::BadRequest(
            "expected Content-Type: application/json (a link) or multipart/form-data (files)"
                .into(),
        ));
    }
    let bytes = axum::body::to_bytes(request.into_body(), LINK_BODY_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let body: LinkBody = serde_json::from_slice(&bytes)
        .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?;
    let path = ArtifactPath::parse(&body.path)?;
    let sha = body
        .sha256
        .as_deref()
        .map(|s| parse_sha256("sha256", s))
        .transpose()?;
    let view = artifacts::link(&cx, &name, &version, path, body.uri, sha, body.size).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

use axum::extract::FromRequest;

async fn form_upload(
    cx: &Ctx,
    name: &ModelName,
    version: &SemVer,
    mut multipart: Multipart,
) -> Result<(), AppError> {
    let mut uploaded = 0;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(e.body_text()))?
    {
        let Some(file_name) = field
            .file_name()
            .map(str::to_owned)
            .filter(|f| !f.is_empty())
        else {
            continue;
        };
        // Browsers send a bare name; some old ones a full Windows path.
        let file_name = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&file_name)
            .to_owned();
        let request = UploadRequest {
            path: ArtifactPath::parse(&file_name)?,
            expected_sha256: None,
            declared_length: None,
        };
        let stream = field.map_err(|e| e.body_text());
        artifacts::upload(cx, name, version, request, Box::pin(stream)).await?;
        uploaded += 1;
    }
    if uploaded == 0 {
        return Err(AppError::invalid("file", "choose at least one file"));
    }
    Ok(())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DownloadQuery {
    /// `true`: answer with a redirect to a short-lived presigned URL (S3).
    presigned: Option<bool>,
}

/// Streams the file (or a `Range` of it); linked files redirect to their URI.
#[utoipa::path(
    get,
    path = "/api/v1/models/{name}/versions/{version}/artifacts/{path}",
    tag = "artifacts",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("version" = String, Path, description = desc::VERSION),
        ("path" = String, Path, description = "Relative path inside the version"),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
        DownloadQuery,
    ),
    responses(
        (status = 200, description = "The whole file; `X-Checksum-Sha256` carries its SHA-256", content_type = "application/octet-stream"),
        (status = 206, description = "The requested range (`Content-Range`)", content_type = "application/octet-stream"),
        (status = 307, description = "A linked file, or `presigned=true` on S3: follow `Location`"),
        (status = 404, description = "No such artifact", body = ErrorBody),
        (status = 416, description = "The range lies outside the file", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn download(
    cx: Ctx,
    Path((name, version, path)): Path<(String, String, String)>,
    Query(query): Query<DownloadQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let version = SemVer::parse(&version)?;
    let path = ArtifactPath::parse(&path)?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let outcome = artifacts::download(
        &cx,
        &name,
        &version,
        &path,
        range,
        query.presigned.unwrap_or(false),
    )
    .await?;
    Ok(file_response(&path, outcome))
}

/// The answer to a download: a redirect for a linked (or presigned) file,
/// else the bytes with their type, checksum, name and range headers. The
/// MLflow artifact protocol answers with the same.
pub fn file_response(path: &ArtifactPath, outcome: Download) -> Response {
    let (artifact, range, body) = match outcome {
        Download::Redirect(url) => return Redirect::temporary(&url).into_response(),
        Download::Stream {
            artifact,
            range,
            body,
        } => (artifact, range, body),
    };
    let size = u64::try_from(artifact.size.unwrap_or(0)).unwrap_or(0);
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    let value = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("invalid"));
    h.insert(header::CONTENT_TYPE, value(&artifact.media_type));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(sha) = &artifact.sha256 {
        h.insert(CHECKSUM_HEADER, value(sha));
        h.insert(header::ETAG, value(&format!("\"{sha}\"")));
    }
    let file_name = path.file_name().replace(['"', '\\'], "_");
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    h.insert(
        header::CONTENT_DISPOSITION,
        value(&format!(
            "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
            artifacts::encode_path(&file_name)
        )),
    );
    match range {
        Some((start, end)) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_RANGE,
                value(&format!("bytes {start}-{end}/{size}")),
            );
            h.insert(
                header::CONTENT_LENGTH,
                value(&(end - start + 1).to_string()),
            );
        }
        None => {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, value(&size.to_string()));
        }
    }
    response
}

/// Removes the bytes; the record stays (soft) and the path stays taken.
#[utoipa::path(
    delete,
    path = "/api/v1/models/{name}/versions/{version}/artifacts/{path}",
    tag = "artifacts",
    params(
        ("name" = String, Path, description = desc::MODEL_NAME),
        ("version" = String, Path, description = desc::VERSION),
        ("path" = String, Path, description = "Relative path inside the version"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = desc::NOT_ADMIN, body = ErrorBody),
        (status = 404, description = "No such artifact", body = ErrorBody),
        (status = 401, description = desc::UNAUTHENTICATED, body = ErrorBody),
        (status = 500, description = desc::INTERNAL, body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
async fn delete(
    cx: Ctx,
    Path((name, version, path)): Path<(String, String, String)>,
) -> Result<StatusCode, AppError> {
    let (name, version) = parse(&name, &version)?;
    let path = ArtifactPath::parse(&path)?;
    artifacts::delete(&cx, &name, &version, &path).await?;
    Ok(StatusCode::NO_CONTENT)
}
