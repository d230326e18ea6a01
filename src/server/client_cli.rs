//! The binary's client commands: talk to a running registry over its REST
//! API with a token, for scripts and CI jobs. Each prints a plain line
//! (`--output table`, the default) or the registry's JSON (`--output json`),
//! and fails with one line and an exit code: 1 the registry cannot be
//! reached or answered oddly, 4 no such model/version/alias, 5 no or a
//! refused token.

use serde_json::Value;

use crate::domain::{ModelRef, VersionRequirement};

pub type Outcome = Result<(), (i32, String)>;

pub const EXIT_NOT_FOUND: i32 = 4;
pub const EXIT_NOT_ALLOWED: i32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Where the registry is and who is asking.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The registry's address.
    #[arg(long, env = "REGISTRY_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// An API token (create one on /account or with POST /api/v1/tokens).
    #[arg(long, env = "REGISTRY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

fn usage(message: impl Into<String>) -> (i32, String) {
    (1, message.into())
}

impl ClientArgs {
    fn base(&self) -> Result<url::Url, (i32, String)> {
        let url = url::Url::parse(self.url.trim_end_matches('/'))
            .map_err(|e| usage(format!("--url / REGISTRY_URL {:?}: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(usage("--url / REGISTRY_URL must be an http(s) URL"));
        }
        Ok(url)
    }

    /// GET `/api/v1{path}` with the token; the JSON body of a 2xx.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, (i32, String)> {
        let token = self
            .token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .ok_or((
                EXIT_NOT_ALLOWED,
                "no token: set REGISTRY_TOKEN (or pass --token)".to_owned(),
            ))?;
        let base = self.base()?;
        let url = format!("{}/api/v1{path}", base.as_str().trim_end_matches('/'));
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| usage(format!("HTTP client: {e}")))?;
        let res = client
            .get(&url)
            .query(query)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| usage(format!("cannot reach the registry at {base}: {e}")))?;
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
