//! Configuration from environment variables (a `.env` file is read first).
//! Every variable is documented in the README with its default.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub site_addr: SocketAddr,
    pub admin_user: String,
    pub admin_password: Option<String>,
    pub secure_cookies: bool,
    /// Our load balancers (`REGISTRY_TRUSTED_PROXIES`): only requests from
    /// them have their `X-Forwarded-*` headers believed.
    pub trusted_proxies: crate::server::http::client_addr::TrustedProxies,
    /// At most this many password verifications run at once
    /// (`REGISTRY_MAX_PASSWORD_VERIFICATIONS`); more wait briefly, then 429.
    pub password_verifications: usize,
    pub timeouts: Timeouts,
    /// Temporary upload files and incomplete multipart uploads older than
    /// this are swept (`REGISTRY_ORPHAN_SECONDS`).
    pub orphan_age: Duration,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub max_body_bytes: usize,
    /// Where artifacts are stored (`REGISTRY_ARTIFACTS`).
    pub artifacts: crate::server::storage::StoreConfig,
    /// The largest artifact accepted (`REGISTRY_MAX_ARTIFACT_BYTES`).
    pub max_artifact_bytes: u64,
    /// Webhook delivery: retries, pacing, and which addresses may be called.
    pub webhooks: WebhookConfig,
    /// The signing key directory (`REGISTRY_SIGNING_KEYS`, default
    /// `<data dir>/keys`; see `server::signing`).
    pub signing_keys: PathBuf,
    /// How often a signed audit checkpoint is published, when events were
    /// added since the last (`REGISTRY_ANCHOR_SECONDS`, default 3600; `off`
    /// publishes only on demand).
    pub anchor_interval: Option<Duration>,
    /// The registry's public address, named as the issuer in what it signs
    /// (`REGISTRY_PUBLIC_URL`, default `http://<LEPTOS_SITE_ADDR>`).
    pub public_url: String,
    /// Where `/metrics` is also served without credentials
    /// (`REGISTRY_METRICS_ADDR`; unset: only to admins on the main address).
    pub metrics_addr: Option<SocketAddr>,
}

/// How long the server waits for slow or silent clients and queries.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A request's headers must arrive within this (`REGISTRY_HEADER_TIMEOUT_SECONDS`).
    pub header_read: Duration,
    /// A connection with nothing to read or write is closed after this
    /// (`REGISTRY_IDLE_TIMEOUT_SECONDS`).
    pub idle: Duration,
    /// A request (uploads and downloads excepted) must be answered within
    /// this (`REGISTRY_REQUEST_TIMEOUT_SECONDS`).
    pub request: Duration,
    /// An upload slower than this many bytes per second, averaged over
    /// `idle`, is cut off (`REGISTRY_MIN_UPLOAD_BYTES_PER_SECOND`).
    pub min_upload_rate: u64,
    /// Postgres' `statement_timeout` (`REGISTRY_STATEMENT_TIMEOUT_SECONDS`).
    pub statement: Duration,
    /// On SIGTERM, in-flight requests get this long to finish
    /// (`REGISTRY_DRAIN_SECONDS`).
    pub drain: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            request: Duration::from_secs(60),
            min_upload_rate: 16 * 1024,
            statement: Duration::from_secs(30),
            drain: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    fn from_env() -> Result<Self, String> {
        let d = Self::default();
        let min_upload_rate = match var("REGISTRY_MIN_UPLOAD_BYTES_PER_SECOND") {
            None => d.min_upload_rate,
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| "REGISTRY_MIN_UPLOAD_BYTES_PER_SECOND must be a whole number")?,
        };
        Ok(Self {
            header_read: seconds("REGISTRY_HEADER_TIMEOUT_SECONDS", 10.0)?,
            idle: seconds("REGISTRY_IDLE_TIMEOUT_SECONDS", 60.0)?,
            request: seconds("REGISTRY_REQUEST_TIMEOUT_SECONDS", 60.0)?,
            min_upload_rate,
            statement: seconds("REGISTRY_STATEMENT_TIMEOUT_SECONDS", 30.0)?,
            drain: seconds("REGISTRY_DRAIN_SECONDS", 30.0)?,
        })
    }
}

/// Twice the cores: verifications are CPU-bound, a little queueing keeps
/// the cores busy, and memory stays at a few dozen MiB.
fn default_verifications() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Deliver to link-local and metadata addresses too
    /// (`REGISTRY_WEBHOOK_ALLOW_LINK_LOCAL`); off, so a webhook cannot read
    /// cloud credentials.
    pub allow_link_local: bool,
    /// Attempts before a delivery is marked failed (`REGISTRY_WEBHOOK_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// The first retry delay, doubled per attempt (`REGISTRY_WEBHOOK_RETRY_BASE_SECONDS`).
    pub retry_base: Duration,
    /// How often the worker looks for due deliveries when nothing woke it
    /// (`REGISTRY_WEBHOOK_POLL_SECONDS`).
    pub poll_interval: Duration,
}

impl WebhookConfig {
    fn from_env() -> Result<Self, String> {
        let max_attempts = match var("REGISTRY_WEBHOOK_MAX_ATTEMPTS") {
            None => 8,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or("REGISTRY_WEBHOOK_MAX_ATTEMPTS must be a whole number from 1 to 100")?,
        };
        Ok(Self {
            allow_link_local: flag("REGISTRY_WEBHOOK_ALLOW_LINK_LOCAL")?,
            max_attempts,
            retry_base: seconds("REGISTRY_WEBHOOK_RETRY_BASE_SECONDS", 10.0)?,
            poll_interval: seconds("REGISTRY_WEBHOOK_POLL_SECONDS", 1.0)?,
        })
    }
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let data_dir = PathBuf::from(var("REGISTRY_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match var("DATABASE_URL") {
            Some(url) => url,
            None => {
                std::fs::create_dir_all(&data_dir).map_err(|e| {
                    format!(
                        "cannot create REGISTRY_DATA_DIR {}: {e}",
                        data_dir.display()
                    )
                })?;
                format!("sqlite://{}", data_dir.join("registry.db").display())
            }
        };
        let site_addr = var("LEPTOS_SITE_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .map_err(|e| format!("LEPTOS_SITE_ADDR is not an address (host:port): {e}"))?;
        let artifacts = crate::server::storage::StoreConfig::parse(
            var("REGISTRY_ARTIFACTS").as_deref(),
            &data_dir,
            flag("REGISTRY_S3_PATH_STYLE")?,
        )?;
        let max_artifact_bytes = match var("REGISTRY_MAX_ARTIFACT_BYTES") {
            None => 50 * 1024 * 1024 * 1024,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or("REGISTRY_MAX_ARTIFACT_BYTES must be a positive number of bytes")?,
        };
        if flag("REGISTRY_TRUST_PROXY")? && var("REGISTRY_TRUSTED_PROXIES").is_none() {
            return Err(
                "REGISTRY_TRUST_PROXY is replaced by REGISTRY_TRUSTED_PROXIES: list the \
                        CIDRs of your load balancers (e.g. 10.0.0.0/8), so a client cannot \
                        forge its address"
                    .into(),
            );
        }
        let trusted_proxies = crate::server::http::client_addr::TrustedProxies::parse(
            &var("REGISTRY_TRUSTED_PROXIES").unwrap_or_default(),
        )?;
        let password_verifications = match var("REGISTRY_MAX_PASSWORD_VERIFICATIONS") {
            None => default_verifications(),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or(
                    "REGISTRY_MAX_PASSWORD_VERIFICATIONS must be a whole number from 1 to 256",
                )?,
        };
        let signing_keys = var("REGISTRY_SIGNING_KEYS")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("keys"));
        let anchor_interval = match var("REGISTRY_ANCHOR_SECONDS").as_deref() {
            Some("off") => None,
            raw => Some(parse_seconds("REGISTRY_ANCHOR_SECONDS", raw, 3600.0)?),
        };
        let public_url = var("REGISTRY_PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{site_addr}"));
        let metrics_addr = var("REGISTRY_METRICS_ADDR")
            .map(|a| {
                a.parse().map_err(|e| {
                    format!("REGISTRY_METRICS_ADDR is not an address (host:port): {e}")
                })
            })
            .transpose()?;
        Ok(Self {
            metrics_addr,
            signing_keys,
            anchor_interval,
            public_url,
            artifacts,
            max_artifact_bytes,
            trusted_proxies,
            password_verifications,
            timeouts: Timeouts::from_env()?,
            orphan_age: seconds("REGISTRY_ORPHAN_SECONDS", 3600.0)?,
            database_url,
            data_dir,
            site_addr,
            admin_user: var("REGISTRY_ADMIN_USER").unwrap_or_else(|| "admin".into()),
            admin_password: var("REGISTRY_ADMIN_PASSWORD"),
            secure_cookies: flag("REGISTRY_SECURE_COOKIES")?,
            session_idle: Duration::from_secs(
                minutes("REGISTRY_SESSION_IDLE_MINUTES", 12 * 60)? * 60,
            ),
            session_absolute: Duration::from_secs(
                minutes("REGISTRY_SESSION_MAX_MINUTES", 7 * 24 * 60)? * 60,
            ),
            max_body_bytes: 2 * 1024 * 1024,
            webhooks: WebhookConfig::from_env()?,
        })
    }

    /// A configuration for tests and benchmarks: everything explicit.
    pub fn for_tests(database_url: String, data_dir: PathBuf) -> Self {
        Self {
            signing_keys: data_dir.join("keys"),
            metrics_addr: None,
            // Tests publish checkpoints on demand.
            anchor_interval: None,
            public_url: "http://registry.test".into(),
            artifacts: crate::server::storage::StoreConfig::Local(data_dir.join("artifacts")),
            max_artifact_bytes: 1024 * 1024 * 1024,
            database_url,
            data_dir,
            site_addr: ([127, 0, 0, 1], 0).into(),
            admin_user: "admin".into(),
            admin_password: Some("admin-password-1".into()),
            secure_cookies: false,
            trusted_proxies: Default::default(),
            password_verifications: 4,
            timeouts: Timeouts::default(),
            orphan_age: Duration::from_secs(3600),
            session_idle: Duration::from_secs(3600),
            session_absolute: Duration::from_secs(24 * 3600),
            max_body_bytes: 2 * 1024 * 1024,
            // Fast retries and polling, so webhook tests take milliseconds.
            webhooks: WebhookConfig {
                allow_link_local: false,
                max_attempts: 3,
                retry_base: Duration::from_millis(50),
                poll_interval: Duration::from_millis(100),
            },
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str) -> Result<bool, String> {
    match var(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(format!("{name} must be true or false, not {other:?}")),
    }
}

fn minutes(name: &str, default: u64) -> Result<u64, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|m| *m > 0)
            .ok_or_else(|| format!("{name} must be a positive number of minutes")),
    }
}

/// A positive number of seconds; fractions allowed (`0.05` is 50 ms).
fn seconds(name: &str, default: f64) -> Result<Duration, String> {
    parse_seconds(name, var(name).as_deref(), default)
}

fn parse_seconds(name: &str, raw: Option<&str>, default: f64) -> Result<Duration, String> {
    let value = match raw {
        None => default,
        Some(v) => v
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("{name} must be a number of seconds"))?,
    };
    Some(value)
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{name} must be more than 0 and at most 86400 seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_may_be_fractional_but_must_be_positive() {
        assert_eq!(parse_seconds("X", None, 10.0), Ok(Duration::from_secs(10)));
        assert_eq!(
            parse_seconds("X", Some(" 0.05 "), 10.0),
            Ok(Duration::from_millis(50))
        );
        for bad in ["0", "-1", "abc", "NaN", "inf", "86401"] {
            assert!(parse_seconds("X", Some(bad), 10.0).is_err(), "{bad}");
        }
    }
}
