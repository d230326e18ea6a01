//! The binary's client commands: talk to a running registry over its REST
//! API with a token, for scripts and CI jobs. Each prints a plain line
//! (`--output table`, the default) or the registry's JSON (`--output json`),
//! and fails with one line and an exit code: 1 the registry cannot be
//! reached or answered oddly, 4 no such model/version/alias, 5 no or a
//! refused token.

use serde_json::Value;

use crate::domain::{ModelRef, VersionRequirement};

pub type Outcome = Result<(), (i32, String)>;

pub const EXIT_INVALID: i32 = 3;
pub const EXIT_NOT_FOUND: i32 = 4;
pub const EXIT_NOT_ALLOWED: i32 = 5;
/// `wait`: the request was rejected or cancelled.
pub const EXIT_REJECTED: i32 = 6;
/// `wait`: the request expired unanswered.
pub const EXIT_EXPIRED: i32 = 7;
/// `wait`: still pending when `--timeout` ran out.
pub const EXIT_TIMEOUT: i32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Where the registry is and who is asking: a flag, else the environment,
/// else the config file (`ClientFile`), else the local default.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The registry's address [default: the config file's `url`, else http://127.0.0.1:3000].
    #[arg(long, env = "REGISTRY_URL")]
    pub url: Option<String>,
    /// An API token (create one on /account or with `tokens create`) [default: the config
    /// file's `token`].
    #[arg(long, env = "REGISTRY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

const DEFAULT_URL: &str = "http://127.0.0.1:3000";

fn usage(message: impl Into<String>) -> (i32, String) {
    (1, message.into())
}

/// The client's config file, for people who would rather not keep a token
/// in their shell's environment: `REGISTRY_CONFIG`, else
/// `$XDG_CONFIG_HOME/model-registry/config.toml`, else
/// `~/.config/model-registry/config.toml`:
///
/// ```toml
/// url = "https://registry.internal"
/// token = "mr_…"
/// ```
#[derive(Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    pub url: Option<String>,
    pub token: Option<String>,
}

impl ClientFile {
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().trim().to_owned())
    }

    /// Read once per process (a push makes many requests).
    fn get() -> Result<&'static Self, (i32, String)> {
        static FILE: std::sync::OnceLock<Result<ClientFile, String>> = std::sync::OnceLock::new();
        FILE.get_or_init(Self::load)
            .as_ref()
            .map_err(|e| usage(e.clone()))
    }

    fn load() -> Result<Self, String> {
        let named = std::env::var_os("REGISTRY_CONFIG").map(std::path::PathBuf::from);
        let Some(path) = named.clone().or_else(|| {
            std::env::var_os("XDG_CONFIG_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".config"))
                })
                .map(|dir| dir.join("model-registry/config.toml"))
        }) else {
            return Ok(Self::default());
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            // Only a file asked for by name must exist.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && named.is_none() => {
                return Ok(Self::default())
            }
            Err(e) => return Err(format!("config file {}: {e}", path.display())),
        };
        let file =
            Self::parse(&text).map_err(|e| format!("config file {}: {e}", path.display()))?;
        #[cfg(unix)]
        if file.token.is_some() {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode())
                .unwrap_or(0);
            if mode & 0o077 != 0 {
                return Err(format!(
                    "config file {0} holds a token and others can read it: chmod 600 {0}",
                    path.display()
                ));
            }
        }
        Ok(file)
    }
}

impl ClientArgs {
    fn base(&self) -> Result<url::Url, (i32, String)> {
        let raw = match &self.url {
            Some(url) => url.as_str(),
            None => ClientFile::get()?.url.as_deref().unwrap_or(DEFAULT_URL),
        };
        let url = url::Url::parse(raw.trim_end_matches('/'))
            .map_err(|e| usage(format!("--url / REGISTRY_URL {raw:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(usage("--url / REGISTRY_URL must be an http(s) URL"));
        }
        Ok(url)
    }

    fn token(&self) -> Result<&str, (i32, String)> {
        let token = match &self.token {
            Some(token) => Some(token.as_str()),
            None => ClientFile::get()?.token.as_deref(),
        };
        token.filter(|t| !t.trim().is_empty()).ok_or((
            EXIT_NOT_ALLOWED,
            "no token: set REGISTRY_TOKEN, pass --token, or put one in the config file".to_owned(),
        ))
    }

    /// A request to `path` (absolute under the registry, `/api/v1/…`).
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        timeout: std::time::Duration,
    ) -> Result<reqwest::Response, (i32, String)> {
        let token = self.token()?;
        let base = self.base()?;
        let url = format!("{}{path}", base.as_str().trim_end_matches('/'));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| usage(format!("HTTP client: {e}")))?;
        let mut req = client.request(method, &url).query(query).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send()
            .await
            .map_err(|e| usage(format!("cannot reach the registry at {base}: {e}")))
    }

    /// GET `/api/v1{path}` with the token; the JSON body of a 2xx.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, (i32, String)> {
        self.call(reqwest::Method::GET, path, query, None).await
    }

    /// A JSON call to `/api/v1{path}`; the body of a 2xx, else the error
    /// line and its exit code.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Value, (i32, String)> {
        let res = self
            .send(
                method,
                &format!("/api/v1{path}"),
                query,
                body,
                std::time::Duration::from_secs(30),
            )
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = body["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("the registry answered {status}"));
        let code = match status.as_u16() {
            401 | 403 => EXIT_NOT_ALLOWED,
            404 => EXIT_NOT_FOUND,
            _ => 1,
        };
        Err((code, message))
    }
}

fn print(output: Output, table: String, json: &Value) {
    match output {
        Output::Table => println!("{table}"),
        Output::Json => println!("{json}"),
    }
}

/// `whoami`: the token's user and role.
pub async fn whoami(args: &ClientArgs) -> Outcome {
    let me = args.get("/me", &[]).await?;
    let line = format!(
        "{} ({})",
        me["username"].as_str().unwrap_or("?"),
        me["role"].as_str().unwrap_or("?")
    );
    print(args.output, line, &me);
    Ok(())
}

/// `resolve REF [--matches REQ]`: the version REF names, printed alone so a
/// script can use it (`VERSION=$(model-registry resolve fraud:production)`).
pub async fn resolve(args: &ClientArgs, reference: &str, matches: Option<&str>) -> Outcome {
    let r = ModelRef::parse(reference).map_err(|e| usage(format!("{}: {}", e.field, e.message)))?;
    if let Some(m) = matches {
        VersionRequirement::parse(m).map_err(|e| usage(format!("--matches: {}", e.message)))?;
        if !r.takes_requirement() {
            return Err(usage("--matches applies only to NAME:STAGE or NAME:latest"));
        }
    }
    let query: Vec<(&str, &str)> = matches.map(|m| ("matches", m)).into_iter().collect();
    let found = args.get(&r.lookup_path(), &query).await?;
    let version = found["version"].as_str().unwrap_or_default().to_owned();
    print(args.output, version, &found);
    Ok(())
}

/// `pull REF DIR`: downloads every file of the version REF names into DIR
/// (subdirectories as in the version), checking each SHA-256; a mismatch
/// removes that file and fails with exit 3.
pub async fn pull(args: &ClientArgs, reference: &str, matches: Option<&str>, dir: &str) -> Outcome {
    use futures_util::StreamExt;
    use sha2::{Digest, Sha256};
    use tokio::io::AsyncWriteExt;

    let r = ModelRef::parse(reference).map_err(|e| usage(format!("{}: {}", e.field, e.message)))?;
    let query: Vec<(&str, &str)> = matches.map(|m| ("matches", m)).into_iter().collect();
    let found = args.get(&r.lookup_path(), &query).await?;
    let version = found["version"].as_str().unwrap_or_default().to_owned();
    let files = found["artifacts"].as_array().cloned().unwrap_or_default();
    let root = std::path::Path::new(dir);
    let mut pulled = 0;
    for file in &files {
        let path = file["path"].as_str().unwrap_or_default();
        // The registry checks paths; a client still never writes outside DIR.
        if let Err(e) = crate::domain::ArtifactPath::parse(path) {
            return Err((
                EXIT_INVALID,
                format!("refusing to write {path:?} into {dir}: {}", e.message),
            ));
        }
        let (Some(url), Some(expected)) = (file["download_url"].as_str(), file["sha256"].as_str())
        else {
            eprintln!(
                "skipping {path}: a link without a checksum ({})",
                file["external_uri"]
            );
            continue;
        };
        let target = root.join(path);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| usage(format!("cannot create {}: {e}", parent.display())))?;
        }
        let res = args
            .send(
                reqwest::Method::GET,
                url,
                &[],
                None,
                std::time::Duration::from_secs(24 * 3600),
            )
            .await?;
        if !res.status().is_success() {
            return Err((1, format!("{path}: the registry answered {}", res.status())));
        }
        let partial = target.with_extension("partial");
        let mut out = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| usage(format!("cannot write {}: {e}", partial.display())))?;
        let mut hasher = Sha256::new();
        let mut body = res.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| usage(format!("{path}: download cut off: {e}")))?;
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| usage(format!("cannot write {}: {e}", partial.display())))?;
        }
        out.flush().await.map_err(|e| usage(e.to_string()))?;
        let got = hex::encode(hasher.finalize());
        if got != expected {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err((
                EXIT_INVALID,
                format!("{path}: checksum mismatch (expected {expected}, got {got}); nothing kept"),
            ));
        }
        tokio::fs::rename(&partial, &target)
            .await
            .map_err(|e| usage(format!("cannot write {}: {e}", target.display())))?;
        pulled += 1;
    }
    let line = format!(
        "{} {version}: {pulled} files verified into {dir} (content {})",
        r.model,
        found["content_digest"].as_str().unwrap_or("-")
    );
    print(args.output, line, &found);
    Ok(())
}

/// `promote NAME VERSION --to STAGE --justification …`: opens the request
/// (applied at once where the policy needs no sign-off); prints its id.
pub async fn promote(
    args: &ClientArgs,
    model: &str,
    version: &str,
    to: &str,
    justification: &str,
) -> Outcome {
    let model = crate::domain::ModelName::parse(model)
        .map_err(|e| usage(format!("NAME: {}", e.message)))?;
    let version = crate::domain::SemVer::parse(version)
        .map_err(|e| usage(format!("VERSION: {}", e.message)))?;
    let to: crate::domain::Stage = to
        .parse()
        .map_err(|_| usage("--to: must be staging, production, archived or experimental"))?;
    let body = serde_json::json!({"to": to.as_str(), "justification": justification});
    let req = args
        .call(
            reqwest::Method::POST,
            &format!("/models/{model}/versions/{version}/requests"),
            &[],
            Some(body),
        )
        .await?;
    let line = format!(
        "request {} ({}): {} {version} -> {}",
        req["id"],
        req["state"].as_str().unwrap_or("?"),
        model,
        to.as_str()
    );
    print(args.output, line, &req);
    Ok(())
}

/// `wait NAME REQUEST --timeout 2h`: polls the request until it is decided.
/// Exit 0 approved, 6 rejected or cancelled, 7 expired, 8 still pending.
pub async fn wait(
    args: &ClientArgs,
    model: &str,
    id: i64,
    timeout: std::time::Duration,
    every: std::time::Duration,
) -> Outcome {
    let model = crate::domain::ModelName::parse(model)
        .map_err(|e| usage(format!("NAME: {}", e.message)))?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let req = args
            .get(&format!("/models/{model}/requests/{id}"), &[])
            .await?;
        let state = req["state"].as_str().unwrap_or_default().to_owned();
        let done = |code: i32| {
            print(args.output, format!("request {id}: {state}"), &req);
            if code == 0 {
                Ok(())
            } else {
                Err((code, format!("request {id} was {state}")))
            }
        };
        match state.as_str() {
            "approved" => return done(0),
            "rejected" | "cancelled" => return done(EXIT_REJECTED),
            "expired" => return done(EXIT_EXPIRED),
            _ => {}
        }
        if std::time::Instant::now() >= deadline {
            return Err((
                EXIT_TIMEOUT,
                format!("request {id} still {state} after {}s", timeout.as_secs()),
            ));
        }
        tokio::time::sleep(
            every
                .min(deadline.saturating_duration_since(std::time::Instant::now()))
                .max(std::time::Duration::from_millis(50)),
        )
        .await;
    }
}

/// `2h`, `30m`, `90s`, `1500ms` or plain seconds.
pub fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let raw = raw.trim();
    let (number, unit) = raw
        .find(|c: char| !c.is_ascii_digit())
        .map_or((raw, ""), |i| raw.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration such as 2h, 30m or 90s"))?;
    let secs = |m: u64| std::time::Duration::from_secs(n.saturating_mul(m));
    match unit {
        "" | "s" => Ok(secs(1)),
        "m" => Ok(secs(60)),
        "h" => Ok(secs(3600)),
        "ms" => Ok(std::time::Duration::from_millis(n)),
        _ => Err(format!("{raw:?} is not a duration such as 2h, 30m or 90s")),
    }
}

/// What `push` registers: the version (exact or a bump), and optional
/// lineage from git, metrics and params files.
pub struct PushArgs<'a> {
    pub dir: &'a str,
    pub model: &'a str,
    pub version: Option<&'a str>,
    pub bump: Option<&'a str>,
    pub lineage_from_git: bool,
    pub metrics: Option<&'a str>,
    pub params: Option<&'a str>,
    pub parallel: usize,
}

/// The files under `dir`, as (relative path with `/`, absolute path, size).
fn files_under(dir: &std::path::Path) -> Result<Vec<(String, std::path::PathBuf, u64)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", d.display()))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let rel = path
                    .strip_prefix(dir)
                    .map_err(|_| format!("{} is outside {}", path.display(), dir.display()))?;
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("{}: file names must be UTF-8", path.display()))?
                    .join("/");
                let size = entry
                    .metadata()
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .len();
                out.push((rel, path, size));
            }
        }
    }
    out.sort();
    Ok(out)
}

async fn sha256_of(path: &std::path::Path) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn read_json_file(field: &str, path: &str) -> Result<Value, (i32, String)> {
    let text = std::fs::read_to_string(path).map_err(|e| usage(format!("{field} {path}: {e}")))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("{field} {path}: not JSON: {e}")))?;
    if !value.is_object() {
        return Err(usage(format!("{field} {path}: must be a JSON object")));
    }
    Ok(value)
}

fn git(dir: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `push DIR --model NAME (--version X | --bump minor)`: registers the
/// version (creating the model if needed) and uploads every file, in
/// parallel, each with its SHA-256 for the registry to check. Rerunning
/// the same push with `--version` resumes: files already there with the
/// same checksum are skipped.
pub async fn push(args: &ClientArgs, p: PushArgs<'_>) -> Outcome {
    use futures_util::StreamExt;

    let model = crate::domain::ModelName::parse(p.model)
        .map_err(|e| usage(format!("--model: {}", e.message)))?;
    let files = files_under(std::path::Path::new(p.dir)).map_err(usage)?;
    if files.is_empty() {
        return Err(usage(format!("{} holds no files", p.dir)));
    }
    for (rel, _, _) in &files {
        crate::domain::ArtifactPath::parse(rel)
            .map_err(|e| usage(format!("{rel}: {}", e.message)))?;
    }
    // Registering until every file is there: it cannot be promoted before.
    let mut body = serde_json::json!({ "status": "registering" });
    match (p.version, p.bump) {
        (Some(v), None) => {
            let v = crate::domain::SemVer::parse(v)
                .map_err(|e| usage(format!("--version: {}", e.message)))?;
            body["version"] = v.to_string().into();
        }
        (None, Some(b)) => {
            let b: crate::domain::Bump = b
                .parse()
                .map_err(|e: crate::domain::FieldError| usage(format!("--bump: {}", e.message)))?;
            body["bump"] = b.as_str().into();
        }
        _ => return Err(usage("give --version X or --bump patch|minor|major")),
    }
    if let Some(path) = p.metrics {
        body["metrics"] = read_json_file("--metrics", path)?;
    }
    if let Some(path) = p.params {
        body["params"] = read_json_file("--params", path)?;
    }
    if p.lineage_from_git {
        let commit = git(p.dir, &["rev-parse", "HEAD"]).ok_or_else(|| {
            usage(format!(
                "--lineage-from-git: {} is not in a git checkout",
                p.dir
            ))
        })?;
        body["lineage"] = serde_json::json!({
            "commit_sha": commit,
            "source_repo": git(p.dir, &["remote", "get-url", "origin"]),
        });
    }
    // The model, created when new.
    if let Err((EXIT_NOT_FOUND, _)) = args.get(&format!("/models/{model}"), &[]).await {
        args.call(
            reqwest::Method::POST,
            "/models",
            &[],
            Some(serde_json::json!({"name": model.as_str()})),
        )
        .await?;
    }
    let (version, resumed) = match args
        .call(
            reqwest::Method::POST,
            &format!("/models/{model}/versions"),
            &[],
            Some(body.clone()),
        )
        .await
    {
        Ok(v) => (v["version"].as_str().unwrap_or_default().to_owned(), false),
        // The same version again: resume it.
        Err((1, m)) if p.version.is_some() && m.contains("already has version") => (
            body["version"].as_str().unwrap_or_default().to_owned(),
            true,
        ),
        Err(e) => return Err(e),
    };
    let registering = if resumed {
        let detail = args
            .get(&format!("/models/{model}/versions/{version}"), &[])
            .await?;
        detail["status"] == "registering"
    } else {
        true
    };
    let present: Vec<Value> = if resumed {
        args.get(
            &format!("/models/{model}/versions/{version}/artifacts"),
            &[],
        )
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    let total: u64 = files.iter().map(|f| f.2).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let uploads = files.into_iter().map(|(rel, path, size)| {
        let (bar, present, model, version) = (bar.clone(), &present, &model, &version);
        async move {
            let sha = sha256_of(&path).await.map_err(usage)?;
            let already = present.iter().any(|a| {
                a["path"].as_str() == Some(rel.as_str())
                    && a["sha256"].as_str() == Some(sha.as_str())
            });
            if !already {
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
                let token = args.token()?;
                let url = format!(
                    "{}/api/v1/models/{model}/versions/{version}/artifacts/{}",
                    args.base()?.as_str().trim_end_matches('/'),
                    crate::server::services::artifacts::encode_path(&rel)
                );
                let res = reqwest::Client::new()
                    .put(url)
                    .bearer_auth(token)
                    .header("x-checksum-sha256", &sha)
                    .header(reqwest::header::CONTENT_LENGTH, size)
                    .body(reqwest::Body::wrap_stream(stream))
                    .send()
                    .await
                    .map_err(|e| usage(format!("{rel}: upload failed: {e}")))?;
                if !res.status().is_success() {
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    return Err((
                        1,
                        format!(
                            "{rel}: {}",
                            body["error"]["message"]
                                .as_str()
                                .unwrap_or("upload refused")
                        ),
                    ));
                }
            }
            bar.inc(size);
            Ok::<bool, (i32, String)>(!already)
        }
    });
    let results: Vec<Result<bool, (i32, String)>> = futures_util::stream::iter(uploads)
        .buffer_unordered(p.parallel.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let failed: Vec<&(i32, String)> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some((code, first)) = failed.first() {
        return Err((
            *code,
            format!(
                "{first}; version {version} of {model} is left `registering` (it cannot be \
                 promoted) with {} of {} files: rerun `push {} --model {model} --version \
                 {version}` to resume",
                results.len() - failed.len(),
                results.len(),
                p.dir
            ),
        ));
    }
    let uploaded = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let path = format!("/models/{model}/versions/{version}");
    let detail = if registering {
        args.call(
            reqwest::Method::POST,
            &format!("{path}/registration"),
            &[],
            Some(serde_json::json!({ "status": "ready" })),
        )
        .await?
    } else {
        args.get(&path, &[]).await?
    };
    let line = format!(
        "{model} {version}: {uploaded} uploaded, {} already there; content {}",
        results.len() - uploaded,
        detail["content_digest"].as_str().unwrap_or("-")
    );
    print(args.output, line, &detail);
    Ok(())
}

/// `approve NAME REQUEST` / `reject NAME REQUEST --comment …`: a sign-off
/// (or refusal) as the token's user; `--digest` pins the content reviewed.
pub async fn review(
    args: &ClientArgs,
    model: &str,
    id: i64,
    approve: bool,
    comment: &str,
    digest: Option<&str>,
) -> Outcome {
    let model = crate::domain::ModelName::parse(model)
        .map_err(|e| usage(format!("NAME: {}", e.message)))?;
    if !approve && comment.trim().is_empty() {
        return Err(usage("--comment: say why the request is refused"));
    }
    let mut body = serde_json::json!({ "comment": comment });
    if let Some(d) = digest {
        body["content_digest"] = d.into();
    }
    let verb = if approve { "approve" } else { "reject" };
    let req = args
        .call(
            reqwest::Method::POST,
            &format!("/models/{model}/requests/{id}/{verb}"),
            &[],
            Some(body),
        )
        .await?;
    let line = format!(
        "request {id}: {} ({} of {} sign-offs)",
        req["state"].as_str().unwrap_or("?"),
        req["approvals"],
        req["required"]
    );
    print(args.output, line, &req);
    Ok(())
}

/// `tokens list`: the token owner's tokens.
pub async fn tokens_list(args: &ClientArgs) -> Outcome {
    let tokens = args.get("/tokens", &[]).await?;
    let lines: Vec<String> = tokens
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| {
            format!(
                "{}\t{}\t{}\t{}",
                t["id"],
                t["name"].as_str().unwrap_or(""),
                t["scope"].as_str().unwrap_or(""),
                if t["revoked_at"].is_null() {
                    "active"
                } else {
                    "revoked"
                }
            )
        })
        .collect();
    print(args.output, lines.join("\n"), &tokens);
    Ok(())
}

/// `tokens revoke ID`.
pub async fn tokens_revoke(args: &ClientArgs, id: i64) -> Outcome {
    let res = args
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &[],
            None,
            std::time::Duration::from_secs(30),
        )
        .await?;
    match res.status().as_u16() {
        200..=299 => {
            print(
                args.output,
                format!("token {id} revoked"),
                &serde_json::json!({"revoked": id}),
            );
            Ok(())
        }
        401 | 403 => Err((EXIT_NOT_ALLOWED, format!("token {id}: not allowed"))),
        404 => Err((EXIT_NOT_FOUND, format!("token {id} not found"))),
        s => Err((1, format!("token {id}: the registry answered {s}"))),
    }
}

/// `tokens create --name N [--scope S] [--expires-in-days D] --user U`:
/// minted with the user's password (`REGISTRY_PASSWORD`), never with a
/// token; prints the secret once.
pub async fn tokens_create(
    args: &ClientArgs,
    user: &str,
    password: &str,
    name: &str,
    scope: Option<&str>,
    expires_in_days: Option<i64>,
) -> Outcome {
    let base = args.base()?;
    let mut body = serde_json::json!({ "name": name });
    if let Some(s) = scope {
        body["scope"] = s.into();
    }
    if let Some(d) = expires_in_days {
        body["expires_in_days"] = d.into();
    }
    let res = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| usage(format!("HTTP client: {e}")))?
        .post(format!(
            "{}/api/v1/tokens",
            base.as_str().trim_end_matches('/')
        ))
        .basic_auth(user, Some(password))
        .json(&body)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach the registry at {base}: {e}")))?;
    let status = res.status();
    let created: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = created["error"]["message"]
            .as_str()
            .unwrap_or("refused")
            .to_owned();
        let code = match status.as_u16() {
            401 | 403 => EXIT_NOT_ALLOWED,
            _ => 1,
        };
        return Err((code, message));
    }
    let secret = created["secret"].as_str().unwrap_or_default().to_owned();
    print(args.output, secret, &created);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ClientFile;

    #[test]
    fn the_config_file_holds_a_url_and_a_token_and_nothing_else() {
        assert_eq!(ClientFile::parse("").unwrap(), ClientFile::default());
        let file = ClientFile::parse("url = \"https://r.example\"\ntoken = \"mr_x\"\n").unwrap();
        assert_eq!(file.url.as_deref(), Some("https://r.example"));
        assert_eq!(file.token.as_deref(), Some("mr_x"));
        let err = ClientFile::parse("url = \"x\"\ntokn = \"y\"").unwrap_err();
        assert!(err.contains("tokn"), "{err}");
        assert!(ClientFile::parse("url = 3").is_err());
        assert!(ClientFile::parse("url = ").is_err());
    }
}
