//! MLflow 3 logged models: created by `log_model` with the run that made
//! them, pending while their files upload, then finalized ready (or failed).

use std::collections::BTreeMap;

use serde_json::json;

use super::{lock_run, missing_model};
use crate::{
    domain::{
        mlflow_tracking::{Batch, Entry, LoggedModelId, LoggedModelStatus, MAX_ENTRIES_PER_RUN},
        Permission,
    },
    error::{AppError, Missing},
    server::{
        db::now_ms,
        repo::tracking::{self as repo, LoggedModelRow},
        services::{commit, Ctx},
    },
};
pub struct LoggedModelView {
    pub row: LoggedModelRow,
    pub params: Entries,
    pub tags: Entries,
}

pub struct NewLoggedModel {
    pub experiment_id: i64,
    pub name: Option<String>,
    pub source_run_id: Option<String>,
    pub model_type: Option<String>,
    pub params: Vec<Entry>,
    pub tags: Vec<Entry>,
}

pub async fn create_logged_model(
    cx: &Ctx,
    new: NewLoggedModel,
) -> Result<LoggedModelView, AppError> {
    cx.require(Permission::Contribute)?;
    let id = LoggedModelId::new();
    let name = match new.name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(n) => crate::domain::mlflow_tracking::name("name", n)?,
        None => "model".to_owned(),
    };
    let model_type = new
        .model_type
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| crate::domain::mlflow_tracking::name("model_type", t))
        .transpose()?;
    let batch = Batch {
        params: new.params,
        tags: new.tags,
        metrics: Vec::new(),
    }
    .check()?;
    if repo::experiment(cx.db().pool(), new.experiment_id)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound(Missing::Experiment(
            new.experiment_id.to_string(),
        )));
    }
    let mut tx = cx.begin().await?;
    let source_run = match new.source_run_id.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(lock_run(cx, &mut tx, r).await?.run_id),
        None => None,
    };
    let now = now_ms();
    repo::insert_logged_model(
        &mut tx,
        repo::NewLoggedModel {
            model_id: id.as_str(),
            experiment_id: new.experiment_id,
            name: &name,
            source_run_id: source_run.as_deref(),
            model_type: model_type.as_deref(),
            created_by: &cx.by.username,
            now,
        },
    )
    .await?;
    write_entries(&mut tx, id.as_str(), &batch).await?;
    let details = json!({
        "experiment_id": new.experiment_id, "name": name, "source_run_id": source_run,
        "model_type": model_type,
    });
    cx.audit(
        &mut tx,
        "logged_model.create",
        ("logged_model", id.as_str()),
        details,
    )
    .await?;
    commit(tx).await?;
    logged_model(cx, id.as_str()).await
}

async fn write_entries(
    tx: &mut crate::server::db::Tx,
    model_id: &str,
    batch: &Batch,
) -> Result<(), AppError> {
    let count = repo::model_entry_count(tx, model_id).await?;
    if count + (batch.params.len() + batch.tags.len()) as i64 > MAX_ENTRIES_PER_RUN {
        return Err(AppError::invalid(
            "params",
            format!("a logged model holds at most {MAX_ENTRIES_PER_RUN} params and tags"),
        ));
    }
    for p in &batch.params {
        repo::set_model_entry(tx, model_id, "param", (&p.key, &p.value)).await?;
    }
    for t in &batch.tags {
        repo::set_model_entry(tx, model_id, "tag", (&t.key, &t.value)).await?;
    }
    Ok(())
}

pub(super) async fn model_row(cx: &Ctx, model_id: &str) -> Result<LoggedModelRow, AppError> {
    cx.require(Permission::Read)?;
    let id = LoggedModelId::parse(model_id).map_err(|_| missing_model(model_id))?;
    repo::logged_model(cx.db().pool(), id.as_str())
        .await?
        .ok_or_else(|| missing_model(model_id))
}

type Entries = BTreeMap<String, String>;

/// The models with their params and tags, loaded in one query per page.
async fn views_of(cx: &Ctx, rows: Vec<LoggedModelRow>) -> Result<Vec<LoggedModelView>, AppError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.model_id.as_str()).collect();
    let mut entries: BTreeMap<String, (Entries, Entries)> = BTreeMap::new();
    for (model_id, kind, key, value) in repo::model_entries(cx.db().pool(), &ids).await? {
        let (params, tags) = entries.entry(model_id).or_default();
        match kind.as_str() {
            "param" => params.insert(key, value),
            _ => tags.insert(key, value),
        };
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let (params, tags) = entries.remove(&row.model_id).unwrap_or_default();
            LoggedModelView { row, params, tags }
        })
        .collect())
}

pub async fn logged_model(cx: &Ctx, model_id: &str) -> Result<LoggedModelView, AppError> {
    let row = model_row(cx, model_id).await?;
    views_of(cx, vec![row])
        .await?
        .pop()
        .ok_or(AppError::Internal)
}

/// Logged models of these experiments, optionally of one name.
pub async fn search_logged_models(
    cx: &Ctx,
    experiments: &[i64],
    name: Option<&str>,
    window: (i64, i64),
) -> Result<Vec<LoggedModelView>, AppError> {
    cx.require(Permission::Read)?;
    if experiments.is_empty() {
        return Err(AppError::invalid(
            "experiment_ids",
            "name at least one experiment",
        ));
    }
    if experiments.len() > 100 {
        return Err(AppError::invalid(
            "experiment_ids",
            "at most 100 experiments",
        ));
    }
    let rows = repo::logged_models(cx.db().pool(), experiments, name, window).await?;
    views_of(cx, rows).await
}

/// Marks a logged model ready (its files are complete) or failed.
pub async fn finalize(
    cx: &Ctx,
    model_id: &str,
    status: LoggedModelStatus,
) -> Result<LoggedModelView, AppError> {
    cx.require(Permission::Contribute)?;
    if status == LoggedModelStatus::Pending {
        return Err(AppError::invalid(
            "status",
            "a logged model is finalized as LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED",
        ));
    }
    let row = model_row(cx, model_id).await?;
    let mut tx = cx.begin().await?;
    repo::set_logged_model_status(&mut tx, &row.model_id, status, now_ms()).await?;
    let details = json!({ "status": status.as_str() });
    cx.audit(
        &mut tx,
        "logged_model.finalize",
        ("logged_model", &row.model_id),
        details,
    )
    .await?;
    commit(tx).await?;
    logged_model(cx, &row.model_id).await
}

/// Sets tags (`tags`) or logs params (`params`) of a logged model.
pub async fn annotate_logged_model(cx: &Ctx, model_id: &str, batch: Batch) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let batch = batch.check()?;
    let row = model_row(cx, model_id).await?;
    let mut tx = cx.begin().await?;
    write_entries(&mut tx, &row.model_id, &batch).await?;
    let keys = |e: &[Entry]| e.iter().map(|x| x.key.clone()).collect::<Vec<_>>();
    let details = json!({ "params": keys(&batch.params), "tags": keys(&batch.tags) });
    cx.audit(
        &mut tx,
        "logged_model.annotate",
        ("logged_model", &row.model_id),
        details,
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

pub async fn delete_logged_model_tag(cx: &Ctx, model_id: &str, key: &str) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let row = model_row(cx, model_id).await?;
    let mut tx = cx.begin().await?;
    if repo::delete_model_tag(&mut tx, &row.model_id, key).await? == 0 {
        return Err(AppError::NotFound(Missing::Tag(key.to_owned())));
    }
    let target = row.model_id.clone();
    cx.audit(
        &mut tx,
        "logged_model.delete_tag",
        ("logged_model", &target),
        json!({ "key": key }),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}
