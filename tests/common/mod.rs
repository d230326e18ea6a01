//! Test harness: a real server on a loopback port, over a real SQLite file
//! or a fresh Postgres database (created per test, dropped afterwards).

#![allow(dead_code)]

use std::path::PathBuf;

use leptos::prelude::LeptosOptions;
use model_registry::server::{config::Config, startup, state::AppState};
use reqwest::{header, Client, Response, StatusCode};
use serde_json::Value;
use tokio::{sync::oneshot, task::JoinHandle};

pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// No test may run longer than this. A hang (an await that never
/// completes) then fails loudly with the test's name instead of stalling
/// the whole run until CI's deadline.
pub const TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);
/// No single HTTP request in a test may take longer than this.
pub const REQUEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs a test body under `TEST_LIMIT`.
pub async fn within_limit<F: std::future::Future<Output = ()>>(name: &str, body: F) {
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!(
            "{name} did not finish within {} s: something awaits forever (a pool \
             connection, a lock, or a request without a timeout)",
            TEST_LIMIT.as_secs()
        );
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test. Postgres databases get a unique name so
/// concurrent runs never collide.
pub struct TestDb {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    pg_name: Option<String>,
}

fn pg_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let data_dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", data_dir.path().join("registry.db").display());
                Self {
                    url,
                    data_dir,
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("reg_test_{}", uuid_like());
                admin_exec(&format!("CREATE DATABASE {name}")).await;
                let base = pg_admin_url();
                let url = match base.rfind('/') {
                    Some(i) => format!("{}/{name}", &base[..i]),
                    None => panic!("TEST_POSTGRES_URL has no database part"),
                };
                Self {
                    url,
                    data_dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub async fn drop_db(self) {
        if let Some(name) = &self.pg_name {
            admin_exec(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }

    pub fn config(&self) -> Config {
        Config::for_tests(self.url.clone(), PathBuf::from(self.data_dir.path()))
    }
}

async fn admin_exec(sql: &str) {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&pg_admin_url())
        .await
        .expect("connect to Postgres");
    conn.execute(sql).await.expect(sql);
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub client: Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(config: Config) -> Self {
        let options = LeptosOptions::builder()
            .output_name("model-registry")
            .build();
        let state = startup::prepare(config, options).await.expect("prepare");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let serve_state = state.clone();
        let handle = tokio::spawn(async move {
            startup::serve(serve_state, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_LIMIT)
            .build()
            .unwrap();
        Self {
            base,
            state,
            client,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            // The server's own drain deadline is 30 s; past 60 s it is stuck.
            tokio::time::timeout(std::time::Duration::from_secs(60), h)
                .await
                .expect("the server did not stop within 60 s of its shutdown signal")
                .ok();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Calls a server function the way the hydrated UI does (form-encoded
    /// POST, same-origin), optionally with a session cookie.
    pub async fn server_fn(
        &self,
        name: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Response {
        let mut req = self
            .client
            .post(self.url(&format!("/fn/{name}")))
            .header(header::ORIGIN, &self.base)
            .form(form);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        req.send().await.expect("server fn request")
    }

    /// Signs in through the login server function; returns the session cookie.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<String, StatusCode> {
        let res = self
            .server_fn(
                "login",
                None,
                &[("username", username), ("password", password)],
            )
            .await;
        let status = res.status();
        let cookie = session_cookie(&res);
        match cookie {
            Some(c) if status.is_success() || status.is_redirection() => Ok(c),
            _ => Err(status),
        }
    }

    pub async fn get_json(&self, path: &str, auth: Auth<'_>) -> (StatusCode, Value) {
        let res = auth
            .apply(self.client.get(self.url(path)))
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
        body: Value,
    ) -> (StatusCode, Value) {
        // Browsers send Origin on same-origin POSTs; the CSRF guard needs it.
        let res = auth
            .apply(self.client.request(method, self.url(path)))
            .header(header::ORIGIN, &self.base)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Creates a user through the admin API; returns nothing.
    pub async fn create_user(&self, username: &str, password: &str, role: &str) {
        let (status, body) = self
            .send_json(
                reqwest::Method::POST,
                "/api/v1/users",
                Auth::Basic("admin", ADMIN_PASSWORD),
                serde_json::json!({ "username": username, "password": password, "role": role }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// Runs a statement directly, to set up what the API cannot (a deadline in the past).
    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.state.db.pool())
            .await
            .unwrap();
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(self.state.db.pool())
            .await
            .unwrap()
    }
}

pub fn session_cookie(res: &Response) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("registry_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Cookie(&'a str),
    Bearer(&'a str),
    Basic(&'a str, &'a str),
}

impl Auth<'_> {
    fn apply(self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::None => req,
            Auth::Cookie(c) => req.header(header::COOKIE, c),
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Basic(u, p) => req.basic_auth(u, Some(p)),
        }
    }
}

/// Runs an async test body once on SQLite and once on Postgres.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::TestDb::new($crate::common::Backend::Sqlite).await;
                    $crate::common::within_limit(
                        concat!("sqlite::", stringify!($name)),
                        super::$body(&db),
                    )
                    .await;
                    db.drop_db().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::TestDb::new($crate::common::Backend::Postgres).await;
                    $crate::common::within_limit(
                        concat!("postgres::", stringify!($name)),
                        super::$body(&db),
                    )
                    .await;
                    db.drop_db().await;
                }
            )*
        }
    };
}

impl TestServer {
    /// A `write`-scoped API token for `username` (signs in through the UI's
    /// server functions).
    pub async fn token_for(&self, username: &str, password: &str) -> String {
        self.scoped_token_for(username, password, "write").await
    }

    /// An API token of `scope` for `username`.
    pub async fn scoped_token_for(&self, username: &str, password: &str, scope: &str) -> String {
        let cookie = self.sign_in(username, password).await.expect("sign in");
        let res = self
            .server_fn(
                "create_token",
                Some(&cookie),
                &[("name", "tests"), ("scope", scope)],
            )
            .await;
        assert!(res.status().is_success(), "{}", res.status());
        let body: Value = res.json().await.unwrap();
        body["secret"].as_str().unwrap().to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.scoped_token_for("admin", ADMIN_PASSWORD, "admin")
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send_json(reqwest::Method::POST, path, Auth::Bearer(token), body)
            .await
    }
}

// ---------------------------------------------------------------- S3

/// A client of the S3-compatible server `.ci/test` starts (`AWS_ENDPOINT_URL`
/// and credentials in the environment).
pub async fn s3_client() -> aws_sdk_s3::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build(),
    )
}

/// A server whose artifact store is `bucket` (created here) on that S3 server.
pub async fn s3_server(db: &TestDb, bucket: &str) -> (TestServer, aws_sdk_s3::Client) {
    let client = s3_client().await;
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
    let mut config = db.config();
    config.artifacts = model_registry::server::storage::StoreConfig::S3 {
        location: model_registry::server::storage::S3Location::parse(&format!(
            "s3://{bucket}/registry"
        ))
        .unwrap(),
        path_style: true,
    };
    (TestServer::start(config).await, client)
}

/// A bucket name no other test (or earlier run) uses.
pub fn bucket_name(tag: &str) -> String {
    format!(
        "reg-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    )
}
