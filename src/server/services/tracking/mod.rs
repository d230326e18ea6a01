//! MLflow tracking, as a registry needs it: experiments, runs, logged
//! models and their files, so `log_model(..., registered_model_name=...)`
//! and `register_model("runs:/…")` work unchanged. Every write is
//! authorized (contributors log; viewers read) and audited in its own
//! transaction, like every other change. What a version takes from a run
//! (files, params, metrics, git commit) is decided by [`registration`].

mod files;
mod logged_models;
mod registration;

pub use files::{delete_file, download_file, files, upload_file};
pub use logged_models::{
    annotate_logged_model, create_logged_model, delete_logged_model_tag, finalize, logged_model,
    search_logged_models, LoggedModelView, NewLoggedModel,
};
pub use registration::{registration, Registration};

use serde_json::json;

use super::{commit, Ctx};
use crate::{
    domain::{
        mlflow_tracking::{
            Batch, Entry, LoggedModelId, RunId, RunStatus, MAX_ENTRIES_PER_RUN, MAX_POINTS_PER_RUN,
        },
        Permission,
    },
    error::{AppError, Missing},
    server::{
        db::{now_ms, OnUnique},
        repo::tracking::{self as repo, ExperimentRow, PointRow, RunRow},
    },
};

pub(super) fn missing_run(id: &str) -> AppError {
    AppError::NotFound(Missing::Run(id.to_owned()))
}

pub(super) fn missing_model(id: &str) -> AppError {
    AppError::NotFound(Missing::LoggedModel(id.to_owned()))
}

// ------------------------------------------------------------ experiments

pub async fn experiment(cx: &Ctx, id: i64) -> Result<ExperimentRow, AppError> {
    cx.require(Permission::Read)?;
    repo::experiment(cx.db().pool(), id)
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Experiment(id.to_string())))
}

pub async fn experiment_by_name(cx: &Ctx, name: &str) -> Result<ExperimentRow, AppError> {
    cx.require(Permission::Read)?;
    repo::experiment_by_name(cx.db().pool(), name)
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Experiment(name.to_owned())))
}

pub async fn experiments(cx: &Ctx, limit: i64) -> Result<Vec<ExperimentRow>, AppError> {
    cx.require(Permission::Read)?;
    Ok(repo::experiments(cx.db().pool(), limit).await?)
}

pub async fn create_experiment(cx: &Ctx, name: &str) -> Result<i64, AppError> {
    cx.require(Permission::Contribute)?;
    let name = crate::domain::mlflow_tracking::name("name", name)?;
    let mut tx = cx.begin().await?;
    let id = repo::insert_experiment(&mut tx, &name, &cx.by.username, now_ms())
        .await
        .on_unique(|| AppError::Conflict(format!("Experiment '{name}' already exists.")))?;
    let target = id.to_string();
    cx.audit(
        &mut tx,
        "experiment.create",
        ("experiment", &target),
        json!({ "name": name }),
    )
    .await?;
    commit(tx).await?;
    Ok(id)
}

// ------------------------------------------------------------ runs

/// A run as MLflow shows it: its record, params, tags, the newest point of
/// each metric and the models it output.
pub struct RunView {
    pub row: RunRow,
    pub params: Vec<repo::EntryRow>,
    pub tags: Vec<repo::EntryRow>,
    pub metrics: Vec<PointRow>,
    pub outputs: Vec<(String, i64)>,
}

pub struct NewRun {
    pub experiment_id: i64,
    pub name: Option<String>,
    pub start_time: Option<i64>,
    pub tags: Vec<Entry>,
}

pub async fn create_run(cx: &Ctx, new: NewRun) -> Result<RunView, AppError> {
    cx.require(Permission::Contribute)?;
    let id = RunId::new();
    let name = match new.name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(n) => crate::domain::mlflow_tracking::name("run_name", n)?,
        None => format!("run-{}", &id.as_str()[..8]),
    };
    if new.tags.len() > crate::domain::mlflow_tracking::MAX_BATCH_TAGS {
        return Err(AppError::invalid(
            "tags",
            "at most 100 tags when a run starts",
        ));
    }
    if repo::experiment(cx.db().pool(), new.experiment_id)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound(Missing::Experiment(
            new.experiment_id.to_string(),
        )));
    }
    let mut tx = cx.begin().await?;
    let start_time = new.start_time.unwrap_or_else(now_ms);
    repo::insert_run(
        &mut tx,
        repo::NewRun {
            run_id: id.as_str(),
            experiment_id: new.experiment_id,
            name: &name,
            created_by: &cx.by.username,
            start_time,
        },
    )
    .await?;
    for tag in &new.tags {
        repo::set_run_tag(&mut tx, id.as_str(), &tag.key, &tag.value).await?;
    }
    let details = json!({
        "experiment_id": new.experiment_id, "name": name,
        "tags": new.tags.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
    });
    cx.audit(&mut tx, "run.create", ("run", id.as_str()), details)
        .await?;
    commit(tx).await?;
    run(cx, id.as_str()).await
}

pub async fn run(cx: &Ctx, run_id: &str) -> Result<RunView, AppError> {
    cx.require(Permission::Read)?;
    let id = RunId::parse(run_id).map_err(|_| missing_run(run_id))?;
    let pool = cx.db().pool();
    let row = repo::run(pool, id.as_str())
        .await?
        .ok_or_else(|| missing_run(run_id))?;
    Ok(RunView {
        params: repo::run_params(pool, id.as_str()).await?,
        tags: repo::run_tags(pool, id.as_str()).await?,
        metrics: repo::latest_points(pool, id.as_str()).await?,
        outputs: repo::outputs(pool, id.as_str()).await?,
        row,
    })
}

/// Locks the run for a write; `None` → MLflow's "not found".
pub(super) async fn lock_run(
    cx: &Ctx,
    tx: &mut crate::server::db::Tx,
    run_id: &str,
) -> Result<RunRow, AppError> {
    let id = RunId::parse(run_id).map_err(|_| missing_run(run_id))?;
    repo::lock_run(tx, cx.db().backend(), id.as_str())
        .await?
        .ok_or_else(|| missing_run(run_id))
}

pub struct RunUpdate {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub name: Option<String>,
}

pub async fn update_run(cx: &Ctx, run_id: &str, update: RunUpdate) -> Result<RunRow, AppError> {
    cx.require(Permission::Contribute)?;
    let name = update
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| crate::domain::mlflow_tracking::name("run_name", n))
        .transpose()?;
    let mut tx = cx.begin().await?;
    let row = lock_run(cx, &mut tx, run_id).await?;
    let status = update.status.unwrap_or(row.status);
    let end_time = update.end_time.or(row.end_time);
    let name = name.unwrap_or(row.name.clone());
    repo::update_run(&mut tx, &row.run_id, status, end_time, &name).await?;
    let details = json!({ "status": status.as_str(), "end_time": end_time, "name": name });
    cx.audit(&mut tx, "run.update", ("run", &row.run_id), details)
        .await?;
    commit(tx).await?;
    Ok(RunRow {
        status,
        end_time,
        name,
        ..row
    })
}

/// `log-parameter`, `log-metric`, `set-tag` and `log-batch`: one audited
/// transaction. A parameter never changes once logged (MLflow's rule).
pub async fn log(cx: &Ctx, run_id: &str, batch: Batch) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let batch = batch.check()?;
    let mut tx = cx.begin().await?;
    let row = lock_run(cx, &mut tx, run_id).await?;
    let (entries, points) = repo::run_size(&mut tx, &row.run_id).await?;
    let added = (batch.params.len() + batch.tags.len()) as i64;
    if entries + added > MAX_ENTRIES_PER_RUN {
        return Err(AppError::invalid(
            "params",
            format!("a run holds at most {MAX_ENTRIES_PER_RUN} params and tags"),
        ));
    }
    if points + batch.metrics.len() as i64 > MAX_POINTS_PER_RUN {
        return Err(AppError::invalid(
            "metrics",
            format!("a run holds at most {MAX_POINTS_PER_RUN} metric points"),
        ));
    }
    for p in &batch.params {
        match repo::param(&mut tx, &row.run_id, &p.key).await? {
            Some(old) if old != p.value => {
                return Err(AppError::invalid(
                    "params",
                    format!(
                        "Changing param values is not allowed. Param with key='{}' was already \
                         logged with value='{old}' for run ID='{}'. Attempted logging new value '{}'.",
                        p.key, row.run_id, p.value
                    ),
                ))
            }
            Some(_) => {}
            None => repo::insert_param(&mut tx, &row.run_id, &p.key, &p.value).await?,
        }
    }
    for t in &batch.tags {
        repo::set_run_tag(&mut tx, &row.run_id, &t.key, &t.value).await?;
    }
    for m in &batch.metrics {
        repo::insert_point(&mut tx, &row.run_id, (&m.key, m.value, m.timestamp, m.step)).await?;
    }
    let keys = |e: &[Entry]| e.iter().map(|x| x.key.clone()).collect::<Vec<_>>();
    let metric_keys: std::collections::BTreeSet<&str> =
        batch.metrics.iter().map(|m| m.key.as_str()).collect();
    let details = json!({
        "params": keys(&batch.params), "tags": keys(&batch.tags),
        "metrics": metric_keys, "points": batch.metrics.len(),
    });
    cx.audit(&mut tx, "run.log", ("run", &row.run_id), details)
        .await?;
    commit(tx).await?;
    Ok(())
}

pub async fn delete_run_tag(cx: &Ctx, run_id: &str, key: &str) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let mut tx = cx.begin().await?;
    let row = lock_run(cx, &mut tx, run_id).await?;
    if repo::delete_run_tag(&mut tx, &row.run_id, key).await? == 0 {
        return Err(AppError::NotFound(Missing::Tag(key.to_owned())));
    }
    cx.audit(
        &mut tx,
        "run.delete_tag",
        ("run", &row.run_id),
        json!({ "key": key }),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

/// Every point of one metric, oldest step first (at most `limit`).
pub async fn metric_history(
    cx: &Ctx,
    run_id: &str,
    key: &str,
    limit: i64,
) -> Result<Vec<PointRow>, AppError> {
    let run = run_row(cx, run_id).await?;
    Ok(repo::run_points(cx.db().pool(), &run.run_id, Some(key), limit).await?)
}

pub(super) async fn run_row(cx: &Ctx, run_id: &str) -> Result<RunRow, AppError> {
    cx.require(Permission::Read)?;
    let id = RunId::parse(run_id).map_err(|_| missing_run(run_id))?;
    repo::run(cx.db().pool(), id.as_str())
        .await?
        .ok_or_else(|| missing_run(run_id))
}

/// `runs/outputs`: the logged models a run produced, at which step.
pub async fn log_outputs(cx: &Ctx, run_id: &str, models: &[(String, i64)]) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let mut tx = cx.begin().await?;
    let row = lock_run(cx, &mut tx, run_id).await?;
    for (model_id, step) in models {
        let id = LoggedModelId::parse(model_id).map_err(|_| missing_model(model_id))?;
        if repo::logged_model(&mut *tx, id.as_str()).await?.is_none() {
            return Err(missing_model(model_id));
        }
        repo::insert_output(&mut tx, &row.run_id, id.as_str(), *step).await?;
    }
    let details = json!({ "models": models.iter().map(|(m, _)| m).collect::<Vec<_>>() });
    cx.audit(&mut tx, "run.outputs", ("run", &row.run_id), details)
        .await?;
    commit(tx).await?;
    Ok(())
}
