//! A client of an MLflow server's REST API, as much as an import reads:
//! registered models (paged), their versions (paged), download URIs, and
//! the artifact protocol (listing, streamed downloads). Credentials come
//! from MLflow's own variables: `MLFLOW_TRACKING_TOKEN`, or
//! `MLFLOW_TRACKING_USERNAME` with `MLFLOW_TRACKING_PASSWORD`.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Alias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelVersion {
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub current_stage: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub run_link: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileInfo {
    pub path: String,
    #[serde(default)]
    pub is_dir: bool,
    pub file_size: Option<i64>,
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
}

enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

/// What went wrong talking to the MLflow server, in one line.
#[derive(Debug)]
pub struct SourceError(pub String);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A page size MLflow's server accepts for both searches.
const PAGE: &str = "500";

impl Client {
    pub fn new(base: &str) -> Result<Self, SourceError> {
        let base = base.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| SourceError(format!("--from {base:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SourceError(format!(
                "--from {base:?} must be an http(s) URL"
            )));
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let auth = match (
            env("MLFLOW_TRACKING_TOKEN"),
            env("MLFLOW_TRACKING_USERNAME"),
            env("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(token), _, _) => Auth::Bearer(token),
            (None, Some(user), Some(password)) => Auth::Basic(user, password),
            _ => Auth::None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Per read, not per body: a large artifact streams as long as bytes keep coming.
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| SourceError(format!("HTTP client: {e}")))?;
        Ok(Self { http, base, auth })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.get(format!("{}{path}", self.base));
        match &self.auth {
            Auth::None => request,
            Auth::Bearer(t) => request.bearer_auth(t),
            Auth::Basic(u, p) => request.basic_auth(u, Some(p)),
        }
    }

    async fn json(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, SourceError> {
        let url = format!("{}{path}", self.base);
        let res = self
            .get(path)
            .query(query)
            .send()
            .await
            .map_err(|e| SourceError(format!("{url}: {e}")))?;
        let status = res.status();
        let body: Value = res
            .json()
            .await
            .map_err(|e| SourceError(format!("{url}: answered {status} without JSON ({e})")))?;
        if !status.is_success() {
            let message = body["message"].as_str().unwrap_or("no message");
            return Err(SourceError(format!("{url}: {status}: {message}")));
        }
        Ok(body)
    }

    /// Every page of a search: `key` holds the items.
    async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        filter: Option<&str>,
    ) -> Result<Vec<T>, SourceError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("max_results", PAGE)];
            if let Some(f) = filter {
                query.push(("filter", f));
            }
            if let Some(t) = &token {
                query.push(("page_token", t));
            }
            let mut page = self.json(path, &query).await?;
            let found: Vec<T> = serde_json::from_value(page[key].take()).unwrap_or_default();
            items.extend(found);
            match page["next_page_token"].as_str().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(items),
            }
        }
    }

    pub async fn models(&self) -> Result<Vec<RegisteredModel>, SourceError> {
        self.all_pages(
            "/api/2.0/mlflow/registered-models/search",
            "registered_models",
            None,
        )
        .await
    }

    /// The model with its aliases (a search does not always list them).
    pub async fn model(&self, name: &str) -> Result<RegisteredModel, SourceError> {
        let mut body = self
            .json("/api/2.0/mlflow/registered-models/get", &[("name", name)])
            .await?;
        serde_json::from_value(body["registered_model"].take())
            .map_err(|e| SourceError(format!("registered model {name}: {e}")))
    }

    pub async fn versions(&self, model: &str) -> Result<Vec<ModelVersion>, SourceError> {
        // MLflow's filter grammar: a quoted string, with ' doubled… not
        // supported there, so names with a quote are matched client-side.
        let filter = (!model.contains('\'')).then(|| format!("name='{model}'"));
        let all: Vec<(ModelVersion, String)> = self
            .all_pages::<Value>(
                "/api/2.0/mlflow/model-versions/search",
                "model_versions",
                filter.as_deref(),
            )
            .await?
            .into_iter()
            .filter_map(|v| {
                let name = v["name"].as_str()?.to_owned();
                serde_json::from_value(v).ok().map(|parsed| (parsed, name))
            })
            .collect();
        Ok(all
            .into_iter()
            .filter(|(_, name)| name == model)
            .map(|(v, _)| v)
            .collect())
    }

    pub async fn download_uri(&self, model: &str, version: &str) -> Result<String, SourceError> {
        let body = self
            .json(
                "/api/2.0/mlflow/model-versions/get-download-uri",
                &[("name", model), ("version", version)],
            )
            .await?;
        body["artifact_uri"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| SourceError(format!("{model} version {version}: no artifact_uri")))
    }

    /// Every file under `root` in the server's artifact store, with paths
    /// relative to `root`, walking directories breadth-first.
    pub async fn files(&self, root: &str) -> Result<Vec<FileInfo>, SourceError> {
        let mut out = Vec::new();
        let mut dirs = vec![String::new()];
        while let Some(dir) = dirs.pop() {
            let path = if dir.is_empty() {
                root.to_owned()
            } else {
                format!("{root}/{dir}")
            };
            let mut body = self
                .json("/api/2.0/mlflow-artifacts/artifacts", &[("path", &path)])
                .await?;
            let listed: Vec<FileInfo> =
                serde_json::from_value(body["files"].take()).unwrap_or_default();
            for f in listed {
                // MLflow lists names relative to the listed directory.
                let name = f.path.rsplit('/').next().unwrap_or(&f.path).to_owned();
                let rel = if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                };
                if f.is_dir {
                    dirs.push(rel);
                } else {
                    out.push(FileInfo { path: rel, ..f });
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// A file's bytes, streamed.
    pub async fn download(
        &self,
        path: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, String>> + Unpin, SourceError> {
        let route = format!(
            "/api/2.0/mlflow-artifacts/artifacts/{}",
            crate::server::services::artifacts::encode_path(path)
        );
        let res = self
            .get(&route)
            .send()
            .await
            .map_err(|e| SourceError(format!("{path}: {e}")))?;
        if !res.status().is_success() {
            return Err(SourceError(format!("{path}: {}", res.status())));
        }
        Ok(Box::pin(res.bytes_stream().map_err(|e| e.to_string())))
    }
}
