//! Environments, their deployment reports (append-only) and the release
//! receipts issued; and the dataset-impact question answered from lineage
//! and the deployment timelines in one recursive query.

use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::{
    domain::{DeploymentEvent, DeploymentState, Stage},
    server::db::Backend,
};

#[derive(Debug, Clone, FromRow)]
pub struct EnvironmentRow {
    pub id: i64,
    pub name: String,
    pub required_stage: Stage,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
}

const ENV_COLUMNS: &str = "id, name, required_stage, description, created_by, created_at";

pub async fn insert_environment(
    conn: &mut AnyConnection,
    name: &str,
    required_stage: Stage,
    description: &str,
    by: &str,
    now: i64,
) -> Result<EnvironmentRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO environments (name, required_stage, description, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {ENV_COLUMNS}"
    ))
    .bind(name)
    .bind(required_stage)
    .bind(description)
    .bind(by)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn list_environments(pool: &AnyPool) -> Result<Vec<EnvironmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENV_COLUMNS} FROM environments ORDER BY name"
    ))
    .fetch_all(pool)
    .await
}

pub async fn find_environment(
    pool: &AnyPool,
    name: &str,
) -> Result<Option<EnvironmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENV_COLUMNS} FROM environments WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await
}

/// The environment, locked for the rest of the transaction on Postgres, so
/// two reports for one environment append in order (SQLite has one writer).
pub async fn lock_environment(
    conn: &mut AnyConnection,
    backend: Backend,
    name: &str,
) -> Result<Option<EnvironmentRow>, sqlx::Error> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    sqlx::query_as(&format!(
        "SELECT {ENV_COLUMNS} FROM environments WHERE name = $1{lock}"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await
}

pub struct NewDeployment<'a> {
    pub environment_id: i64,
    pub model_id: i64,
    pub version_id: i64,
    pub state: DeploymentState,
    pub at: i64,
    pub stage: Stage,
    pub violation: Option<&'a str>,
    pub content_digest: Option<&'a str>,
    pub receipt_id: Option<&'a str>,
    pub reported_by: &'a str,
    pub now: i64,
}

pub async fn insert_deployment(
    conn: &mut AnyConnection,
    d: NewDeployment<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO deployments (environment_id, model_id, version_id, state, at, stage, \
         violation, content_digest, receipt_id, reported_by, reported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(d.environment_id)
    .bind(d.model_id)
    .bind(d.version_id)
    .bind(d.state.as_str())
    .bind(d.at)
    .bind(d.stage)
    .bind(d.violation)
    .bind(d.content_digest)
    .bind(d.receipt_id)
    .bind(d.reported_by)
    .bind(d.now)
    .fetch_one(conn)
    .await
}

/// The newest report of `model` in the environment (its instant and state).
pub async fn latest_report(
    conn: &mut AnyConnection,
    environment_id: i64,
    model_id: i64,
) -> Result<Option<(i64, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at, state, version_id FROM deployments WHERE environment_id = $1 AND model_id = $2 \
         ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(environment_id)
    .bind(model_id)
    .fetch_optional(conn)
    .await
}

/// One report as read back, with the names it refers to.
#[derive(Debug, Clone, FromRow)]
pub struct DeploymentRow {
    pub id: i64,
    pub environment: String,
    pub model: String,
    pub version: String,
    pub version_id: i64,
    pub state: String,
    pub at: i64,
    pub stage: Stage,
    pub violation: Option<String>,
    pub content_digest: Option<String>,
    pub receipt_id: Option<String>,
    pub reported_by: String,
    pub reported_at: i64,
}

impl DeploymentRow {
    /// The timeline's view of the row; an unknown stored state is an error.
    pub fn event(&self) -> Result<DeploymentEvent, crate::domain::FieldError> {
        Ok(DeploymentEvent {
            id: self.id,
            model: self.model.clone(),
            version: self.version.clone(),
            state: self.state.parse()?,
            at: self.at,
            violation: self.violation.clone(),
            receipt_id: self.receipt_id.clone(),
        })
    }
}

const DEPLOYMENT_SELECT: &str = "SELECT d.id AS id, e.name AS environment, m.name AS model, \
    v.version AS version, d.version_id AS version_id, d.state AS state, d.at AS at, d.stage AS stage, \
    d.violation AS violation, d.content_digest AS content_digest, d.receipt_id AS receipt_id, \
    d.reported_by AS reported_by, d.reported_at AS reported_at \
    FROM deployments d JOIN environments e ON e.id = d.environment_id \
    JOIN models m ON m.id = d.model_id JOIN model_versions v ON v.id = d.version_id";

/// Every report of the environment (optionally of one model), in timeline
/// order: by instant, then by arrival.
pub async fn environment_reports(
    pool: &AnyPool,
    environment_id: i64,
    model_id: Option<i64>,
) -> Result<Vec<DeploymentRow>, sqlx::Error> {
    let sql = match model_id {
        Some(_) => format!(
            "{DEPLOYMENT_SELECT} WHERE d.environment_id = $1 AND d.model_id = $2 ORDER BY d.at, d.id"
        ),
        None => format!("{DEPLOYMENT_SELECT} WHERE d.environment_id = $1 ORDER BY d.at, d.id"),
    };
    let query = sqlx::query_as(&sql).bind(environment_id);
    match model_id {
        Some(id) => query.bind(id).fetch_all(pool).await,
        None => query.fetch_all(pool).await,
    }
}

/// Every report about the model, in every environment, in timeline order.
pub async fn model_reports(
    pool: &AnyPool,
    model_id: i64,
) -> Result<Vec<DeploymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{DEPLOYMENT_SELECT} WHERE d.model_id = $1 ORDER BY e.name, d.at, d.id"
    ))
    .bind(model_id)
    .fetch_all(pool)
    .await
}

pub async fn find_deployment(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<DeploymentRow>, sqlx::Error> {
    sqlx::query_as(&format!("{DEPLOYMENT_SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The versions trained on dataset `$1`, directly or through any chain of
/// parent versions (`UNION` stops at a cycle).
const TRAINED: &str = "trained(id) AS ( \
    SELECT id FROM model_versions WHERE dataset_hash = $1 \
    UNION \
    SELECT c.id FROM model_versions c JOIN trained t ON c.parent_version_id = t.id)";

/// The environments (id, name) where a version trained on dataset `hash`
/// (directly or through parents) was ever reported, optionally only one.
pub async fn environments_serving_trained(
    pool: &AnyPool,
    dataset_hash: &str,
    environment_id: Option<i64>,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let only_env = if environment_id.is_some() {
        " AND e.id = $2"
    } else {
        ""
    };
    let sql = format!(
        "WITH RECURSIVE {TRAINED} SELECT DISTINCT e.id, e.name FROM deployments d \
         JOIN environments e ON e.id = d.environment_id \
         WHERE d.version_id IN (SELECT id FROM trained){only_env} ORDER BY e.name"
    );
    let query = sqlx::query_as(&sql).bind(dataset_hash);
    match environment_id {
        Some(id) => query.bind(id).fetch_all(pool).await,
        None => query.fetch_all(pool).await,
    }
}

/// The live versions trained on dataset `hash`, directly or through
/// parents: (version id, model, version).
pub async fn trained_on(
    pool: &AnyPool,
    dataset_hash: &str,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "WITH RECURSIVE {TRAINED} SELECT v.id, m.name, v.version FROM model_versions v \
         JOIN models m ON m.id = v.model_id WHERE v.id IN (SELECT id FROM trained) \
         AND v.deleted_at IS NULL ORDER BY m.name, v.id"
    ))
    .bind(dataset_hash)
    .fetch_all(pool)
    .await
}

// ------------------------------------------------------------------ receipts

#[derive(Debug, Clone, FromRow)]
pub struct ReceiptRow {
    pub id: String,
    pub version_id: i64,
    pub key_id: String,
    pub envelope: String,
    pub issued_by: String,
    pub issued_at: i64,
}

pub async fn insert_receipt(conn: &mut AnyConnection, r: &ReceiptRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO release_receipts (id, version_id, key_id, envelope, issued_by, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&r.id)
    .bind(r.version_id)
    .bind(&r.key_id)
    .bind(&r.envelope)
    .bind(&r.issued_by)
    .bind(r.issued_at)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn find_receipt(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<ReceiptRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, version_id, key_id, envelope, issued_by, issued_at FROM release_receipts \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}
