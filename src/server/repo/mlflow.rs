//! The MLflow API's reads: its registered models and versions, searched
//! with parsed filters (bound parameters only), and batched loads of tags,
//! aliases and latest versions, so a page of results costs a fixed number of
//! queries.

use std::collections::HashMap;

use sqlx::{AnyPool, FromRow};

use super::sql::{Sql, Value, MAX_IN_LIST};
use crate::{
    domain::{
        catalog::VersionStatus,
        mlflow_search::{like_to_glob, Clause, Field, Op, Operand, Order, SortKey},
        Stage,
    },
    server::db::Backend,
};

#[derive(Debug, Clone, FromRow)]
pub struct ModelRecord {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct VersionRecord {
    pub id: i64,
    pub model_id: i64,
    pub model_name: String,
    pub seq: i64,
    pub version: String,
    pub stage: Stage,
    pub status: VersionStatus,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub source_uri: Option<String>,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
}

const MODEL_COLUMNS: &str = "m.id, m.name, m.description, m.created_by, m.created_at, m.updated_at";
const VERSION_COLUMNS: &str =
    "v.id, v.model_id, m.name AS model_name, v.seq, v.version, v.stage, v.status, \
    v.description, v.created_by, v.created_at, v.updated_at, v.source_uri, v.run_id, v.run_link";
const VERSION_FROM: &str = "FROM model_versions v JOIN models m ON m.id = v.model_id \
    WHERE v.deleted_at IS NULL AND m.deleted_at IS NULL";

/// Appends `column op value` with MLflow's semantics on either database:
/// LIKE is case-sensitive, ILIKE is not.
fn compare(sql: &mut Sql, backend: Backend, column: &str, op: Op, value: &Operand) {
    match (op, value) {
        (Op::In, Operand::List(values)) => {
            sql.push(&format!("{column} IN ("));
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Value::Text(v.clone()));
            }
            sql.push(")");
        }
        (Op::Like, Operand::Text(v)) => match backend {
            Backend::Sqlite => {
                sql.push(&format!("{column} GLOB "));
                sql.bind(Value::Text(like_to_glob(v)));
            }
            Backend::Postgres => {
                sql.push(&format!("{column} LIKE "));
                sql.bind(Value::Text(v.clone()));
            }
        },
        (Op::ILike, Operand::Text(v)) => {
            sql.push(&format!("LOWER({column}) LIKE LOWER("));
            sql.bind(Value::Text(v.clone()));
            sql.push(")");
        }
        (op, value) => {
            let symbol = match op {
                Op::Eq => "=",
                Op::Ne => "<>",
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Gt => ">",
                _ => ">=",
            };
            sql.push(&format!("{column} {symbol} "));
            match value {
                Operand::Number(n) => sql.bind(Value::Int(*n)),
                Operand::Text(t) => sql.bind(Value::Text(t.clone())),
                Operand::List(_) => sql.bind(Value::Text(String::new())),
            };
        }
    }
}

/// Names compare and sort byte by byte on both databases (SQLite's BINARY,
/// Postgres's "C"), so a `LIKE 'prefix%'` with `ORDER BY name` walks just
/// that range of a name index (on Postgres, `models_name_c`).
fn name_column(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "m.name",
        Backend::Postgres => "(m.name COLLATE \"C\")",
    }
}

fn push_clauses(sql: &mut Sql, backend: Backend, clauses: &[Clause], tag_table: &str, owner: &str) {
    for clause in clauses {
        sql.push(" AND ");
        let column = match &clause.field {
            Field::Name => name_column(backend),
            Field::RunId => "v.run_id",
            Field::SourcePath => "v.source_uri",
            Field::VersionNumber => "v.seq",
            Field::Tag(key) => {
                // `!=` also matches objects without the tag, as MLflow's does
                // (its client filters prompts out with `tag.… != 'true'`).
                let (exists, op) = match clause.op {
                    Op::Ne => ("NOT EXISTS", Op::Eq),
                    op => ("EXISTS", op),
                };
                sql.push(&format!(
                    "{exists} (SELECT 1 FROM {tag_table} t WHERE t.{owner} AND t.key = "
                ));
                sql.bind(Value::Text(key.clone()));
                sql.push(" AND ");
                compare(sql, backend, "t.value", op, &clause.value);
                sql.push(")");
                continue;
            }
        };
        compare(sql, backend, column, clause.op, &clause.value);
    }
}

fn push_order(sql: &mut Sql, backend: Backend, orders: &[Order], versions: bool) {
    let name = name_column(backend);
    let mut parts: Vec<String> = orders
        .iter()
        .map(|o| {
            let column = match o.key {
                SortKey::Name => name,
                SortKey::Created if versions => "v.created_at",
                SortKey::Updated if versions => "v.updated_at",
                SortKey::Created => "m.created_at",
                SortKey::Updated => "m.updated_at",
                SortKey::VersionNumber => "v.seq",
            };
            format!("{column} {}", if o.descending { "DESC" } else { "ASC" })
        })
        .collect();
    // Ties break on name ascending (then version number, newest first).
    if !orders.iter().any(|o| o.key == SortKey::Name) {
        parts.push(format!("{name} ASC"));
    }
    if versions && !orders.iter().any(|o| o.key == SortKey::VersionNumber) {
        parts.push("v.seq DESC".into());
    }
    sql.push(&format!(" ORDER BY {}", parts.join(", ")));
}

/// Appends `(…)` with one bound placeholder per id.
fn push_ids(sql: &mut Sql, ids: &[i64]) {
    sql.push_in(ids.iter().map(|id| Value::Int(*id)));
}

fn push_page(sql: &mut Sql, limit: i64, offset: i64) {
    sql.push(" LIMIT ");
    sql.bind(Value::Int(limit));
    sql.push(" OFFSET ");
    sql.bind(Value::Int(offset));
}

pub async fn search_models(
    pool: &AnyPool,
    backend: Backend,
    clauses: &[Clause],
    orders: &[Order],
    limit: i64,
    offset: i64,
) -> Result<Vec<ModelRecord>, sqlx::Error> {
    models_statement(backend, clauses, orders, limit, offset)
        .query_as()?
        .fetch_all(pool)
        .await
}

/// The statement `search_models` runs; public so the benchmark can print its plan.
pub fn models_statement(
    backend: Backend,
    clauses: &[Clause],
    orders: &[Order],
    limit: i64,
    offset: i64,
) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {MODEL_COLUMNS} FROM models m WHERE m.deleted_at IS NULL"
    ));
    push_clauses(&mut sql, backend, clauses, "model_tags", "model_id = m.id");
    push_order(&mut sql, backend, orders, false);
    push_page(&mut sql, limit, offset);
    sql
}

pub async fn search_versions(
    pool: &AnyPool,
    backend: Backend,
    clauses: &[Clause],
    orders: &[Order],
    limit: i64,
    offset: i64,
) -> Result<Vec<VersionRecord>, sqlx::Error> {
    versions_statement(backend, clauses, orders, limit, offset)
        .query_as()?
        .fetch_all(pool)
        .await
}

/// The statement `search_versions` runs; public so the benchmark can print its plan.
pub fn versions_statement(
    backend: Backend,
    clauses: &[Clause],
    orders: &[Order],
    limit: i64,
    offset: i64,
) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {VERSION_COLUMNS} {VERSION_FROM}"));
    push_clauses(
        &mut sql,
        backend,
        clauses,
        "version_tags",
        "version_id = v.id",
    );
    push_order(&mut sql, backend, orders, true);
    push_page(&mut sql, limit, offset);
    sql
}

/// A live model by its exact name (MLflow does not follow renames).
pub async fn model(pool: &AnyPool, name: &str) -> Result<Option<ModelRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {MODEL_COLUMNS} FROM models m WHERE m.name = $1 AND m.deleted_at IS NULL"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await
}

/// A live version by model name and sequence number.
pub async fn version(
    pool: &AnyPool,
    name: &str,
    seq: i64,
) -> Result<Option<VersionRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} {VERSION_FROM} AND m.name = $1 AND v.seq = $2"
    ))
    .bind(name)
    .bind(seq)
    .fetch_optional(pool)
    .await
}

/// The version an alias names, in one query.
pub async fn version_by_alias(
    pool: &AnyPool,
    name: &str,
    alias: &str,
) -> Result<Option<VersionRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM model_aliases a JOIN model_versions v ON v.id = a.version_id \
         JOIN models m ON m.id = a.model_id \
         WHERE m.name = $1 AND a.alias = $2 AND v.deleted_at IS NULL AND m.deleted_at IS NULL"
    ))
    .bind(name)
    .bind(alias)
    .fetch_optional(pool)
    .await
}

/// The highest-numbered live version of each model in each stage.
pub async fn latest_versions(
    pool: &AnyPool,
    model_ids: &[i64],
) -> Result<Vec<VersionRecord>, sqlx::Error> {
    let mut out: Vec<VersionRecord> = Vec::new();
    for chunk in model_ids.chunks(MAX_IN_LIST) {
        let mut sql = Sql::new(&format!(
            "SELECT {VERSION_COLUMNS} {VERSION_FROM} AND v.seq = (SELECT MAX(w.seq) FROM model_versions w \
             WHERE w.model_id = v.model_id AND w.stage = v.stage AND w.deleted_at IS NULL) AND v.model_id IN "
        ));
        push_ids(&mut sql, chunk);
        out.extend(sql.query_as::<VersionRecord>()?.fetch_all(pool).await?);
    }
    out.sort_by_key(|v| v.seq);
    Ok(out)
}

/// `(owner id, key, value)` rows of `model_tags` or `version_tags` for many owners.
pub async fn tags_of(
    pool: &AnyPool,
    table: &str,
    owner_column: &str,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<(String, String)>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for chunk in ids.chunks(MAX_IN_LIST) {
        let mut sql = Sql::new(&format!(
            "SELECT {owner_column}, key, value FROM {table} WHERE {owner_column} IN "
        ));
        push_ids(&mut sql, chunk);
        sql.push(" ORDER BY key");
        let rows: Vec<(i64, String, String)> = sql.query_as()?.fetch_all(pool).await?;
        for (id, key, value) in rows {
            out.entry(id).or_default().push((key, value));
        }
    }
    Ok(out)
}

/// `model id → [(alias, version id, seq)]` for many models.
pub async fn aliases_of(
    pool: &AnyPool,
    model_ids: &[i64],
) -> Result<HashMap<i64, Vec<(String, i64, i64)>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<(String, i64, i64)>> = HashMap::new();
    for chunk in model_ids.chunks(MAX_IN_LIST) {
        let mut sql = Sql::new(
            "SELECT a.model_id, a.alias, v.id, v.seq FROM model_aliases a JOIN model_versions v ON v.id = a.version_id \
             WHERE v.deleted_at IS NULL AND a.model_id IN ",
        );
        push_ids(&mut sql, chunk);
        sql.push(" ORDER BY a.alias");
        let rows: Vec<(i64, String, i64, i64)> = sql.query_as()?.fetch_all(pool).await?;
        for (model_id, alias, version_id, seq) in rows {
            out.entry(model_id)
                .or_default()
                .push((alias, version_id, seq));
        }
    }
    Ok(out)
}
