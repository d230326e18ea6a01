//! MLflow tracking records: experiments, runs with their params, tags and
//! metric points, and logged models (their files: `tracking_files`).
//! Upserts use `ON CONFLICT`, which SQLite and Postgres share.

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::sql::{Sql, Value, MAX_IN_LIST};
use crate::{
    domain::mlflow_tracking::{LoggedModelStatus, RunStatus},
    server::db::Backend,
};

#[derive(Debug, Clone, FromRow)]
pub struct ExperimentRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

pub async fn experiment(pool: &AnyPool, id: i64) -> Result<Option<ExperimentRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, created_at FROM mlflow_experiments WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn experiment_by_name(
    pool: &AnyPool,
    name: &str,
) -> Result<Option<ExperimentRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, created_at FROM mlflow_experiments WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
}

pub async fn experiments(pool: &AnyPool, limit: i64) -> Result<Vec<ExperimentRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, created_at FROM mlflow_experiments ORDER BY id LIMIT $1")
        .bind(limit)
        .fetch_all(pool)
        .await
}

pub async fn insert_experiment(
    conn: &mut AnyConnection,
    name: &str,
    by: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO mlflow_experiments (name, created_by, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(by)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub run_id: String,
    pub experiment_id: i64,
    pub name: String,
    pub created_by: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
}

const RUN_COLUMNS: &str = "run_id, experiment_id, name, created_by, status, start_time, end_time";

pub struct NewRun<'a> {
    pub run_id: &'a str,
    pub experiment_id: i64,
    pub name: &'a str,
    pub created_by: &'a str,
    pub start_time: i64,
}

pub async fn insert_run(conn: &mut AnyConnection, run: NewRun<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mlflow_runs (run_id, experiment_id, name, created_by, status, start_time) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(run.run_id)
    .bind(run.experiment_id)
    .bind(run.name)
    .bind(run.created_by)
    .bind(RunStatus::Running)
    .bind(run.start_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn run<'e, E>(executor: E, run_id: &str) -> Result<Option<RunRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM mlflow_runs WHERE run_id = $1"
    ))
    .bind(run_id)
    .fetch_optional(executor)
    .await
}

/// The run, locked on Postgres until the transaction ends (SQLite has one
/// writer), so its limits are counted and kept under concurrent batches.
pub async fn lock_run(
    conn: &mut AnyConnection,
    backend: Backend,
    run_id: &str,
) -> Result<Option<RunRow>, sqlx::Error> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM mlflow_runs WHERE run_id = $1{lock}"
    ))
    .bind(run_id)
    .fetch_optional(conn)
    .await
}

pub async fn update_run(
    conn: &mut AnyConnection,
    run_id: &str,
    status: RunStatus,
    end_time: Option<i64>,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE mlflow_runs SET status = $1, end_time = $2, name = $3 WHERE run_id = $4")
        .bind(status)
        .bind(end_time)
        .bind(name)
        .bind(run_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A parameter's stored value, if it was logged.
pub async fn param(
    conn: &mut AnyConnection,
    run_id: &str,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM mlflow_run_params WHERE run_id = $1 AND key = $2")
        .bind(run_id)
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// Logs a parameter; the same value again changes nothing.
pub async fn insert_param(
    conn: &mut AnyConnection,
    run_id: &str,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mlflow_run_params (run_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (run_id, key) DO NOTHING",
    )
    .bind(run_id)
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_run_tag(
    conn: &mut AnyConnection,
    run_id: &str,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mlflow_run_tags (run_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(run_id)
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_run_tag(
    conn: &mut AnyConnection,
    run_id: &str,
    key: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mlflow_run_tags WHERE run_id = $1 AND key = $2")
        .bind(run_id)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

pub async fn insert_point(
    conn: &mut AnyConnection,
    run_id: &str,
    (key, value, timestamp, step): (&str, f64, i64, i64),
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mlflow_run_metrics (run_id, key, value, timestamp, step) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(run_id)
    .bind(key)
    .bind(value)
    .bind(timestamp)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(())
}

/// How much a run holds: (params + tags, metric points).
pub async fn run_size(conn: &mut AnyConnection, run_id: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM mlflow_run_params WHERE run_id = $1) \
              + (SELECT COUNT(*) FROM mlflow_run_tags WHERE run_id = $1), \
                (SELECT COUNT(*) FROM mlflow_run_metrics WHERE run_id = $1)",
    )
    .bind(run_id)
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct EntryRow {
    pub key: String,
    pub value: String,
}

pub async fn run_params(pool: &AnyPool, run_id: &str) -> Result<Vec<EntryRow>, sqlx::Error> {
    sqlx::query_as("SELECT key, value FROM mlflow_run_params WHERE run_id = $1 ORDER BY key")
        .bind(run_id)
        .fetch_all(pool)
        .await
}

pub async fn run_tags(pool: &AnyPool, run_id: &str) -> Result<Vec<EntryRow>, sqlx::Error> {
    sqlx::query_as("SELECT key, value FROM mlflow_run_tags WHERE run_id = $1 ORDER BY key")
        .bind(run_id)
        .fetch_all(pool)
        .await
}

#[derive(Debug, Clone, FromRow)]
pub struct PointRow {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

/// Every point of a run (`key = None`) or of one metric, oldest first.
pub async fn run_points(
    pool: &AnyPool,
    run_id: &str,
    key: Option<&str>,
    limit: i64,
) -> Result<Vec<PointRow>, sqlx::Error> {
    let mut sql =
        Sql::new("SELECT key, value, timestamp, step FROM mlflow_run_metrics WHERE run_id = ");
    sql.bind(Value::Text(run_id.to_owned()));
    if let Some(key) = key {
        sql.push(" AND key = ");
        sql.bind(Value::Text(key.to_owned()));
    }
    sql.push(" ORDER BY key, step, timestamp LIMIT ");
    sql.bind(Value::Int(limit));
    sqlx::query_as_with(sql.text(), sql.arguments()?)
        .fetch_all(pool)
        .await
}

/// The newest point of each metric: what a run's `data.metrics` shows.
pub async fn latest_points(pool: &AnyPool, run_id: &str) -> Result<Vec<PointRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.key, m.value, m.timestamp, m.step FROM mlflow_run_metrics m \
         WHERE m.run_id = $1 AND NOT EXISTS (SELECT 1 FROM mlflow_run_metrics n \
           WHERE n.run_id = m.run_id AND n.key = m.key \
             AND (n.step > m.step OR (n.step = m.step AND n.timestamp > m.timestamp) \
                  OR (n.step = m.step AND n.timestamp = m.timestamp AND n.value > m.value))) \
         ORDER BY m.key",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
}

pub async fn insert_output(
    conn: &mut AnyConnection,
    run_id: &str,
    model_id: &str,
    step: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mlflow_run_outputs (run_id, model_id, step) VALUES ($1, $2, $3) \
         ON CONFLICT (run_id, model_id) DO UPDATE SET step = excluded.step",
    )
    .bind(run_id)
    .bind(model_id)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn outputs(pool: &AnyPool, run_id: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT model_id, step FROM mlflow_run_outputs WHERE run_id = $1 ORDER BY model_id",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct LoggedModelRow {
    pub model_id: String,
    pub experiment_id: i64,
    pub name: String,
    pub source_run_id: Option<String>,
    pub model_type: Option<String>,
    pub status: LoggedModelStatus,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const MODEL_COLUMNS: &str = "model_id, experiment_id, name, source_run_id, model_type, status, \
                             created_by, created_at, updated_at";

pub struct NewLoggedModel<'a> {
    pub model_id: &'a str,
    pub experiment_id: i64,
    pub name: &'a str,
    pub source_run_id: Option<&'a str>,
    pub model_type: Option<&'a str>,
    pub created_by: &'a str,
    pub now: i64,
}

pub async fn insert_logged_model(
    conn: &mut AnyConnection,
    m: NewLoggedModel<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mlflow_logged_models (model_id, experiment_id, name, source_run_id, model_type, \
         status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(m.model_id)
    .bind(m.experiment_id)
    .bind(m.name)
    .bind(m.source_run_id)
    .bind(m.model_type)
    .bind(LoggedModelStatus::Pending)
    .bind(m.created_by)
    .bind(m.now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn logged_model<'e, E>(
    executor: E,
    model_id: &str,
) -> Result<Option<LoggedModelRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {MODEL_COLUMNS} FROM mlflow_logged_models WHERE model_id = $1"
    ))
    .bind(model_id)
    .fetch_optional(executor)
    .await
}

/// Logged models of these experiments, optionally of one name, oldest first.
pub async fn logged_models(
    pool: &AnyPool,
    experiments: &[i64],
    name: Option<&str>,
    (limit, offset): (i64, i64),
) -> Result<Vec<LoggedModelRow>, sqlx::Error> {
    let mut sql = Sql::new(&format!(
        "SELECT {MODEL_COLUMNS} FROM mlflow_logged_models WHERE experiment_id IN "
    ));
    sql.push_in(experiments.iter().map(|e| Value::Int(*e)));
    if let Some(name) = name {
        sql.push(" AND name = ");
        sql.bind(Value::Text(name.to_owned()));
    }
    sql.push(" ORDER BY created_at, model_id LIMIT ");
    sql.bind(Value::Int(limit));
    sql.push(" OFFSET ");
    sql.bind(Value::Int(offset));
    sqlx::query_as_with(sql.text(), sql.arguments()?)
        .fetch_all(pool)
        .await
}

pub async fn set_logged_model_status(
    conn: &mut AnyConnection,
    model_id: &str,
    status: LoggedModelStatus,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE mlflow_logged_models SET status = $1, updated_at = $2 WHERE model_id = $3")
        .bind(status)
        .bind(now)
        .bind(model_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A logged model's param (`param`, kept once) or tag (`tag`, replaced).
pub async fn set_model_entry(
    conn: &mut AnyConnection,
    model_id: &str,
    kind: &str,
    (key, value): (&str, &str),
) -> Result<(), sqlx::Error> {
    let on_conflict = if kind == "param" {
        "DO NOTHING"
    } else {
        "DO UPDATE SET value = excluded.value"
    };
    sqlx::query(&format!(
        "INSERT INTO mlflow_logged_model_entries (model_id, kind, key, value) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (model_id, kind, key) {on_conflict}"
    ))
    .bind(model_id)
    .bind(kind)
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_model_tag(
    conn: &mut AnyConnection,
    model_id: &str,
    key: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM mlflow_logged_model_entries WHERE model_id = $1 AND kind = 'tag' AND key = $2",
    )
    .bind(model_id)
    .bind(key)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The (model_id, kind, key, value) entries of these logged models.
pub async fn model_entries(
    pool: &AnyPool,
    model_ids: &[&str],
) -> Result<Vec<(String, String, String, String)>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in model_ids.chunks(MAX_IN_LIST) {
        let mut sql = Sql::new(
            "SELECT model_id, kind, key, value FROM mlflow_logged_model_entries WHERE model_id IN ",
        );
        sql.push_in(chunk.iter().map(|id| Value::Text((*id).to_owned())));
        sql.push(" ORDER BY model_id, kind, key");
        out.extend(
            sqlx::query_as_with::<_, (String, String, String, String), _>(
                sql.text(),
                sql.arguments()?,
            )
            .fetch_all(pool)
            .await?,
        );
    }
    Ok(out)
}

pub async fn model_entry_count(
    conn: &mut AnyConnection,
    model_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM mlflow_logged_model_entries WHERE model_id = $1")
        .bind(model_id)
        .fetch_one(conn)
        .await
}
