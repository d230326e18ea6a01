//! The MLflow API's reads: its registered models and versions, searched
//! with parsed filters (bound parameters only). A page comes back as one
//! row: the database assembles each model's tags, aliases and latest
//! versions (and each version's tags and aliases) as JSON (see `json.rs`),
//! so a page of 100 models is one statement and one row, not six queries
//! and hundreds of rows.

use serde::Deserialize;
use sqlx::{AnyPool, FromRow};

use super::{
    json,
    sql::{self, Sql, Value},
    tags,
};
use crate::{
    domain::{
        catalog::VersionStatus,
        mlflow_search::{like_range, like_to_glob, Clause, Field, Op, Operand, Order, SortKey},
        Stage,
    },
    server::db::Backend,
};

#[derive(Debug, Clone, FromRow, Deserialize)]
pub struct ModelRecord {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow, Deserialize)]
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
fn name_column(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => column.to_owned(),
        Backend::Postgres => format!("({column} COLLATE \"C\")"),
    }
}

/// Appends the clauses; `drive` is a model tag clause to read from the tag
/// index first (see `tags::SELECTIVE_TAG`), the others are checked per row.
fn push_clauses(
    sql: &mut Sql,
    backend: Backend,
    clauses: &[Clause],
    tag_table: &str,
    owner: &str,
    drive: Option<usize>,
) {
    let name = name_column(backend, "m.name");
    for (i, clause) in clauses.iter().enumerate() {
        sql.push(" AND ");
        if let (Some(_), Field::Tag(key)) = (drive.filter(|d| *d == i), &clause.field) {
            sql.push("m.id IN (SELECT t.model_id FROM model_tags t WHERE t.key = ");
            sql.bind(Value::Text(key.clone()));
            sql.push(" AND ");
            compare(sql, backend, "t.value", clause.op, &clause.value);
            sql.push(")");
            continue;
        }
        let column = match &clause.field {
            Field::Name => name.as_str(),
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
        if let (Field::Name, Op::Like, Operand::Text(pattern)) =
            (&clause.field, clause.op, &clause.value)
        {
            if let Some((low, high)) = like_range(pattern) {
                sql.push(&format!(" AND {column} >= "));
                sql.bind(Value::Text(low));
                sql.push(&format!(" AND {column} < "));
                sql.bind(Value::Text(high));
            }
        }
    }
}

fn push_order(sql: &mut Sql, backend: Backend, orders: &[Order], versions: bool) {
    sql.push(&format!(
        " ORDER BY {}",
        order_by(backend, orders, versions, "m.name")
    ));
}

/// The sort as SQL (`name` is the column holding the model's name), the
/// same for the search and for the page assembled from its rows.
fn order_by(backend: Backend, orders: &[Order], versions: bool, name: &str) -> String {
    let name = name_column(backend, name);
    let mut parts: Vec<String> = orders
        .iter()
        .map(|o| {
            let column = match o.key {
                SortKey::Name => name.as_str(),
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
    parts.join(", ")
}

fn push_page(sql: &mut Sql, limit: i64, offset: i64) {
    sql.push(" LIMIT ");
    sql.bind(Value::Int(limit));
    sql.push(" OFFSET ");
    sql.bind(Value::Int(offset));
}

/// A model with its tags (by key), its aliases (`(alias, seq)`) and the
/// newest live version in each stage (by number).
#[derive(Debug, Clone, Deserialize)]
pub struct ModelWith {
    pub record: ModelRecord,
    pub tags: Vec<(String, String)>,
    pub aliases: Vec<(String, i64)>,
    pub latest: Vec<VersionWith>,
}

/// A version with its tags (by key) and the aliases naming it.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionWith {
    pub record: VersionRecord,
    pub tags: Vec<(String, String)>,
    pub aliases: Vec<String>,
}

/// One page of models matching `clauses`, each with its parts: one statement.
pub async fn search_models(
    pool: &AnyPool,
    backend: Backend,
    clauses: &[Clause],
    orders: &[Order],
    limit: i64,
    offset: i64,
) -> Result<Vec<ModelWith>, sqlx::Error> {
    let page = models_statement(pool, backend, clauses, orders, limit, offset).await?;
    let order = order_by(backend, orders, false, "m.name");
    json::fetch(pool, models_page(backend, page, &order)).await
}

/// `page` (rows of `MODEL_COLUMNS`) as one JSON text of `ModelWith`.
fn models_page(backend: Backend, page: Sql, order: &str) -> Sql {
    let b = backend;
    let record = json::object(
        b,
        &[
            ("id", "m.id"),
            ("name", "m.name"),
            ("description", "m.description"),
            ("created_by", "m.created_by"),
            ("created_at", "m.created_at"),
            ("updated_at", "m.updated_at"),
        ],
    );
    let tags = json::key_values(b, "model_tags t WHERE t.model_id = m.id", "t");
    let aliases = json::list(
        b,
        &json::array(b, &["a.alias", "av.seq"]),
        "model_aliases a JOIN model_versions av ON av.id = a.version_id \
         WHERE a.model_id = m.id AND av.deleted_at IS NULL",
        "a.alias",
    );
    // One seek per stage in `model_versions_live_stage`.
    let stages: Vec<String> = Stage::ALL
        .iter()
        .map(|s| format!("SELECT '{}' AS stage", s.as_str()))
        .collect();
    let latest = json::list(
        b,
        &version_object(b, "m.name"),
        &format!(
            "model_versions v WHERE v.id IN (SELECT (SELECT w.id FROM model_versions w \
             WHERE w.model_id = m.id AND w.stage = s.stage AND w.deleted_at IS NULL \
             ORDER BY w.seq DESC LIMIT 1) FROM ({}) s)",
            stages.join(" UNION ALL ")
        ),
        "v.seq",
    );
    let item = json::object(
        b,
        &[
            ("record", &record),
            ("tags", &tags),
            ("aliases", &aliases),
            ("latest", &latest),
        ],
    );
    json::page(b, page, &item, "m", order)
}

/// A `VersionWith` of the version row `v` (`model_name`: its model's name).
fn version_object(backend: Backend, model_name: &str) -> String {
    let b = backend;
    let record = json::object(
        b,
        &[
            ("id", "v.id"),
            ("model_id", "v.model_id"),
            ("model_name", model_name),
            ("seq", "v.seq"),
            ("version", "v.version"),
            ("stage", "v.stage"),
            ("status", "v.status"),
            ("description", "v.description"),
            ("created_by", "v.created_by"),
            ("created_at", "v.created_at"),
            ("updated_at", "v.updated_at"),
            ("source_uri", "v.source_uri"),
            ("run_id", "v.run_id"),
            ("run_link", "v.run_link"),
        ],
    );
    let tags = json::key_values(b, "version_tags vt WHERE vt.version_id = v.id", "vt");
    let aliases = json::list(
        b,
        "va.alias",
        "model_aliases va WHERE va.version_id = v.id",
        "va.alias",
    );
    json::object(
        b,
        &[("record", &record), ("tags", &tags), ("aliases", &aliases)],
    )
}

/// `page` (rows of `VERSION_COLUMNS`) as one JSON text of `VersionWith`.
fn versions_page(backend: Backend, page: Sql, order: &str) -> Sql {
    json::page(
        backend,
        page,
        &version_object(backend, "v.model_name"),
        "v",
        order,
    )
}

/// The statement that finds `search_models`' page (it first asks whether a
/// tag filter is selective); public so the benchmark can print its plan.
pub async fn models_statement(
    pool: &AnyPool,
    backend: Backend,
    clauses: &[Clause],
    orders: &[Order],
    limit: i64,
    offset: i64,
) -> Result<Sql, sqlx::Error> {
    let mut drive = None;
    for (i, clause) in clauses.iter().enumerate() {
        if let (Field::Tag(key), Op::Eq, Operand::Text(value)) =
            (&clause.field, clause.op, &clause.value)
        {
            if tags::selective(pool, key, value).await? {
                drive = Some(i);
                break;
            }
        }
    }
    let mut sql = Sql::new(&format!(
        "SELECT {MODEL_COLUMNS} FROM models m WHERE m.deleted_at IS NULL"
    ));
    push_clauses(
        &mut sql,
        backend,
        clauses,
        "model_tags",
        "model_id = m.id",
        drive,
    );
    if drive.is_some() {
        sql = sql::fenced(backend, sql);
    }
    push_order(&mut sql, backend, orders, false);
    push_page(&mut sql, limit, offset);
    Ok(sql)
}

/// One page of versions matching `clauses`, each with its parts: one statement.
pub async fn search_versions(
    pool: &AnyPool,
    backend: Backend,
    clauses: &[Clause],
    orders: &[Order],
    limit: i64,
    offset: i64,
) -> Result<Vec<VersionWith>, sqlx::Error> {
    let page = versions_statement(backend, clauses, orders, limit, offset);
    let order = order_by(backend, orders, true, "v.model_name");
    json::fetch(pool, versions_page(backend, page, &order)).await
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
        None,
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

/// The version an alias names, with its parts, in one statement.
pub async fn version_by_alias(
    pool: &AnyPool,
    backend: Backend,
    name: &str,
    alias: &str,
) -> Result<Option<VersionWith>, sqlx::Error> {
    let mut page = Sql::new(&format!(
        "SELECT {VERSION_COLUMNS} FROM model_aliases a JOIN model_versions v ON v.id = a.version_id \
         JOIN models m ON m.id = a.model_id \
         WHERE v.deleted_at IS NULL AND m.deleted_at IS NULL AND m.name = "
    ));
    page.bind(Value::Text(name.to_owned()));
    page.push(" AND a.alias = ");
    page.bind(Value::Text(alias.to_owned()));
    let found: Vec<VersionWith> = json::fetch(pool, versions_page(backend, page, "v.seq")).await?;
    Ok(found.into_iter().next())
}
