//! Model versions with their lineage, parameters, metrics and tags.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::sql::{insert_rows, Sql, Value};
use crate::{
    domain::{
        catalog::{Lineage, MetricPoint, VersionStatus},
        Stage,
    },
    server::db::Backend,
};

#[derive(Debug, Clone, FromRow)]
pub struct VersionRow {
    pub id: i64,
    pub model_id: i64,
    pub seq: i64,
    pub version: String,
    pub stage: Stage,
    pub status: VersionStatus,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub source_repo: Option<String>,
    pub commit_sha: Option<String>,
    pub training_script: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_version: Option<String>,
    pub dataset_uri: Option<String>,
    pub dataset_hash: Option<String>,
    pub parent_version_id: Option<i64>,
    pub framework: Option<String>,
    pub framework_version: Option<String>,
    pub dependencies: Option<String>,
    pub source_uri: Option<String>,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    /// `sha256:…` over the version's release content (see `domain::content`).
    pub content_digest: Option<String>,
}

pub const COLUMNS: &str = "id, model_id, seq, version, stage, status, description, created_by, created_at, \
    updated_at, source_repo, commit_sha, training_script, dataset_name, dataset_version, dataset_uri, \
    dataset_hash, parent_version_id, framework, framework_version, dependencies, source_uri, run_id, run_link, \
    content_digest";

impl VersionRow {
    /// The lineage as recorded at registration.
    pub fn lineage(&self) -> Lineage {
        Lineage {
            source_repo: self.source_repo.clone(),
            commit_sha: self.commit_sha.clone(),
            training_script: self.training_script.clone(),
            dataset_name: self.dataset_name.clone(),
            dataset_version: self.dataset_version.clone(),
            dataset_uri: self.dataset_uri.clone(),
            dataset_hash: self.dataset_hash.clone(),
            parent_version_id: self.parent_version_id,
            framework: self.framework.clone(),
            framework_version: self.framework_version.clone(),
            dependencies: self.dependencies.clone(),
            source_uri: self.source_uri.clone(),
            run_id: self.run_id.clone(),
            run_link: self.run_link.clone(),
        }
    }
}

pub struct NewVersion<'a> {
    pub model_id: i64,
    pub seq: i64,
    pub version: &'a str,
    pub version_key: &'a str,
    pub sort_key: &'a str,
    pub status: VersionStatus,
    pub description: &'a str,
    pub created_by: &'a str,
    pub now: i64,
    pub lineage: &'a Lineage,
    pub content_digest: &'a str,
}

/// Inserts the version and answers its row as stored (the database fills
/// in the stage), so the caller needs no second read.
pub async fn insert(
    conn: &mut AnyConnection,
    v: NewVersion<'_>,
) -> Result<VersionRow, sqlx::Error> {
    let l = v.lineage;
    sqlx::query_as::<_, VersionRow>(&format!(
        "INSERT INTO model_versions (model_id, seq, version, version_key, sort_key, status, description, \
         created_by, created_at, updated_at, source_repo, commit_sha, training_script, dataset_name, \
         dataset_version, dataset_uri, dataset_hash, parent_version_id, framework, framework_version, dependencies, \
         source_uri, run_id, run_link, content_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
         $21, $22, $23, $24) \
         RETURNING {COLUMNS}"
    ))
    .bind(v.model_id)
    .bind(v.seq)
    .bind(v.version)
    .bind(v.version_key)
    .bind(v.sort_key)
    .bind(v.status)
    .bind(v.description)
    .bind(v.created_by)
    .bind(v.now)
    .bind(l.source_repo.as_deref())
    .bind(l.commit_sha.as_deref())
    .bind(l.training_script.as_deref())
    .bind(l.dataset_name.as_deref())
    .bind(l.dataset_version.as_deref())
    .bind(l.dataset_uri.as_deref())
    .bind(l.dataset_hash.as_deref())
    .bind(l.parent_version_id)
    .bind(l.framework.as_deref())
    .bind(l.framework_version.as_deref())
    .bind(l.dependencies.as_deref())
    .bind(l.source_uri.as_deref())
    .bind(l.run_id.as_deref())
    .bind(l.run_link.as_deref())
    .bind(v.content_digest)
    .fetch_one(conn)
    .await
}

/// All version strings of a model, deleted ones included (their numbers stay taken).
/// The model's highest version by semver precedence, deleted ones included
/// (a bump never reuses a number): one seek in `model_versions_model_sort`.
pub async fn highest_version(
    conn: &mut AnyConnection,
    model_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT version FROM model_versions WHERE model_id = $1 ORDER BY sort_key DESC LIMIT 1",
    )
    .bind(model_id)
    .fetch_optional(conn)
    .await
}

/// Live versions of a model, highest semver first.
pub async fn list_for_model(pool: &AnyPool, model_id: i64) -> Result<Vec<VersionRow>, sqlx::Error> {
    sqlx::query_as::<_, VersionRow>(&format!(
        "SELECT {COLUMNS} FROM model_versions WHERE model_id = $1 AND deleted_at IS NULL ORDER BY sort_key DESC"
    ))
    .bind(model_id)
    .fetch_all(pool)
    .await
}

pub async fn find(
    pool: &AnyPool,
    model_id: i64,
    version_key: &str,
) -> Result<Option<VersionRow>, sqlx::Error> {
    sqlx::query_as::<_, VersionRow>(&format!(
        "SELECT {COLUMNS} FROM model_versions WHERE model_id = $1 AND version_key = $2 AND deleted_at IS NULL"
    ))
    .bind(model_id)
    .bind(version_key)
    .fetch_optional(pool)
    .await
}

pub async fn by_id(pool: &AnyPool, id: i64) -> Result<Option<VersionRow>, sqlx::Error> {
    sqlx::query_as::<_, VersionRow>(&format!(
        "SELECT {COLUMNS} FROM model_versions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn find_in_tx(
    conn: &mut AnyConnection,
    model_id: i64,
    version_key: &str,
) -> Result<Option<VersionRow>, sqlx::Error> {
    sqlx::query_as::<_, VersionRow>(&format!(
        "SELECT {COLUMNS} FROM model_versions WHERE model_id = $1 AND version_key = $2 AND deleted_at IS NULL"
    ))
    .bind(model_id)
    .bind(version_key)
    .fetch_optional(conn)
    .await
}

/// A version by id with its model's name (for lineage links).
pub async fn name_and_version(
    pool: &AnyPool,
    version_id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.name, v.version FROM model_versions v JOIN models m ON m.id = v.model_id WHERE v.id = $1",
    )
    .bind(version_id)
    .fetch_optional(pool)
    .await
}

/// Versions whose parent is `version_id` (children in the lineage graph).
pub async fn children(
    pool: &AnyPool,
    version_id: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.name, v.version FROM model_versions v JOIN models m ON m.id = v.model_id \
         WHERE v.parent_version_id = $1 AND v.deleted_at IS NULL ORDER BY m.name, v.sort_key",
    )
    .bind(version_id)
    .fetch_all(pool)
    .await
}

pub async fn update_description(
    conn: &mut AnyConnection,
    id: i64,
    description: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE model_versions SET description = $1, updated_at = $2 WHERE id = $3")
        .bind(description)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn soft_delete(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE model_versions SET deleted_at = $1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// A new version's parameters, tags, metrics and metric points, in one
/// round trip (see `sql::insert_into_tables`).
pub async fn insert_children(
    conn: &mut AnyConnection,
    backend: Backend,
    version_id: i64,
    children: Children<'_>,
) -> Result<(), sqlx::Error> {
    use super::sql::{insert_into_tables, TableRows};
    let metrics = children
        .metrics
        .iter()
        .map(|(k, v)| {
            vec![
                Value::Int(version_id),
                Value::Text(k.clone()),
                Value::Float(*v),
            ]
        })
        .collect();
    let key_value = &["version_id", "key", "value"];
    insert_into_tables(
        conn,
        backend,
        vec![
            TableRows {
                table: "version_params",
                columns: key_value,
                rows: key_value_rows(version_id, children.params),
            },
            TableRows {
                table: "version_tags",
                columns: key_value,
                rows: key_value_rows(version_id, children.tags),
            },
            TableRows {
                table: "version_metrics",
                columns: key_value,
                rows: metrics,
            },
            TableRows {
                table: "version_metric_points",
                columns: POINT_COLUMNS,
                rows: point_rows(version_id, children.points),
            },
        ],
    )
    .await
}

/// What a new version is registered with besides its row.
pub struct Children<'a> {
    pub params: &'a BTreeMap<String, String>,
    pub tags: &'a BTreeMap<String, String>,
    pub metrics: &'a BTreeMap<String, f64>,
    pub points: &'a [MetricPoint],
}

pub async fn insert_map(
    conn: &mut AnyConnection,
    table: &str,
    version_id: i64,
    map: &BTreeMap<String, String>,
) -> Result<(), sqlx::Error> {
    let rows = key_value_rows(version_id, map);
    insert_rows(conn, table, &["version_id", "key", "value"], rows).await
}

fn key_value_rows(version_id: i64, map: &BTreeMap<String, String>) -> Vec<Vec<Value>> {
    map.iter()
        .map(|(k, v)| {
            vec![
                Value::Int(version_id),
                Value::Text(k.clone()),
                Value::Text(v.clone()),
            ]
        })
        .collect()
}

fn point_rows(version_id: i64, points: &[MetricPoint]) -> Vec<Vec<Value>> {
    points
        .iter()
        .map(|p| {
            vec![
                Value::Int(version_id),
                Value::Text(p.key.clone()),
                Value::Int(p.step),
                Value::Float(p.value),
            ]
        })
        .collect()
}

const POINT_COLUMNS: &[&str] = &["version_id", "key", "step", "value"];

pub async fn replace_tags(
    conn: &mut AnyConnection,
    version_id: i64,
    tags: &BTreeMap<String, String>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM version_tags WHERE version_id = $1")
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    insert_map(conn, "version_tags", version_id, tags).await
}

pub async fn insert_points(
    conn: &mut AnyConnection,
    version_id: i64,
    points: &[MetricPoint],
) -> Result<(), sqlx::Error> {
    let rows = point_rows(version_id, points);
    insert_rows(conn, "version_metric_points", POINT_COLUMNS, rows).await
}

pub async fn map_of(
    pool: &AnyPool,
    table: &str,
    version_id: i64,
) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT key, value FROM {table} WHERE version_id = $1"
    ))
    .bind(version_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

pub async fn metrics(
    pool: &AnyPool,
    version_id: i64,
) -> Result<BTreeMap<String, f64>, sqlx::Error> {
    let rows: Vec<(String, f64)> =
        sqlx::query_as("SELECT key, value FROM version_metrics WHERE version_id = $1")
            .bind(version_id)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

pub async fn points(pool: &AnyPool, version_id: i64) -> Result<Vec<MetricPoint>, sqlx::Error> {
    let rows: Vec<(String, i64, f64)> =
        sqlx::query_as("SELECT key, step, value FROM version_metric_points WHERE version_id = $1 ORDER BY key, step")
            .bind(version_id)
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(key, step, value)| MetricPoint { key, step, value })
        .collect())
}

/// One scalar metric for every live version of a model: version id → value.
pub async fn metric_across_versions(
    pool: &AnyPool,
    model_id: i64,
    key: &str,
) -> Result<Vec<(i64, f64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT v.id, m.value FROM version_metrics m JOIN model_versions v ON v.id = m.version_id \
         WHERE v.model_id = $1 AND m.key = $2 AND v.deleted_at IS NULL",
    )
    .bind(model_id)
    .bind(key)
    .fetch_all(pool)
    .await
}

/// The metric keys used by a model's versions (for choosing the chart metric).
pub async fn metric_keys(pool: &AnyPool, model_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT m.key FROM version_metrics m JOIN model_versions v ON v.id = m.version_id \
         WHERE v.model_id = $1 AND v.deleted_at IS NULL ORDER BY m.key",
    )
    .bind(model_id)
    .fetch_all(pool)
    .await
}

/// Existing (key, step) pairs among `points`, to refuse duplicates clearly.
pub async fn existing_steps(
    conn: &mut AnyConnection,
    version_id: i64,
    keys: &[String],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT key, step FROM version_metric_points WHERE version_id = ");
    sql.bind(Value::Int(version_id));
    sql.push(" AND key IN (");
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Value::Text(k.clone()));
    }
    sql.push(")");
    sql.query_as::<(String, i64)>()?.fetch_all(conn).await
}

/// How many metric points the version holds.
pub async fn point_count(conn: &mut AnyConnection, version_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM version_metric_points WHERE version_id = $1")
        .bind(version_id)
        .fetch_one(conn)
        .await
}

pub async fn touch(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE model_versions SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// The version strings of a model's live versions, inside a transaction.
pub async fn list_for_model_in(
    conn: &mut AnyConnection,
    model_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM model_versions WHERE model_id = $1 AND deleted_at IS NULL ORDER BY seq")
        .bind(model_id)
        .fetch_all(conn)
        .await
}

pub async fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    status: VersionStatus,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE model_versions SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
