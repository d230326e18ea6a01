//! MLflow tracking, as a registry needs it: experiments, runs, logged
//! models and their files, so `log_model(..., registered_model_name=...)`
//! and `register_model("runs:/…")` work unchanged. Every write is
//! authorized (contributors log; viewers read) and audited in its own
//! transaction, like every other change. What a version takes from a run
//! (files, params, metrics, git commit) is decided by [`registration`].

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::Stream;
use serde_json::json;

use super::{
    artifact_stream::{store_body, store_error, ObjectGuard, Streamed},
    artifacts::{remove_unused_object, Download},
    catalog::StoredFile,
    commit, Ctx,
};
use crate::{
    domain::{
        media_type,
        mlflow_tracking::{
            files_under, Batch, Entry, FileOwner, LoggedModelId, LoggedModelStatus, LoggedSource,
            Point, Provenance, RunId, RunRecord, RunStatus, TrackingAddress, MAX_ENTRIES_PER_RUN,
            MAX_POINTS_PER_RUN,
        },
        ArtifactFormat, ArtifactPath, Permission,
    },
    error::{AppError, Missing},
    server::{
        db::{now_ms, OnUnique},
        repo::{
            artifacts::ArtifactRow,
            tracking::{self as repo, ExperimentRow, FileRow, LoggedModelRow, PointRow, RunRow},
        },
        storage::StoreError,
    },
};

fn missing_run(id: &str) -> AppError {
    AppError::NotFound(Missing::Run(id.to_owned()))
}

fn missing_model(id: &str) -> AppError {
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
async fn lock_run(
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

async fn run_row(cx: &Ctx, run_id: &str) -> Result<RunRow, AppError> {
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

// ------------------------------------------------------------ logged models

pub struct LoggedModelView {
    pub row: LoggedModelRow,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
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

async fn model_row(cx: &Ctx, model_id: &str) -> Result<LoggedModelRow, AppError> {
    cx.require(Permission::Read)?;
    let id = LoggedModelId::parse(model_id).map_err(|_| missing_model(model_id))?;
    repo::logged_model(cx.db().pool(), id.as_str())
        .await?
        .ok_or_else(|| missing_model(model_id))
}

async fn view_of(cx: &Ctx, row: LoggedModelRow) -> Result<LoggedModelView, AppError> {
    let (mut params, mut tags) = (BTreeMap::new(), BTreeMap::new());
    for (kind, key, value) in repo::model_entries(cx.db().pool(), &row.model_id).await? {
        match kind.as_str() {
            "param" => params.insert(key, value),
            _ => tags.insert(key, value),
        };
    }
    Ok(LoggedModelView { row, params, tags })
}

pub async fn logged_model(cx: &Ctx, model_id: &str) -> Result<LoggedModelView, AppError> {
    let row = model_row(cx, model_id).await?;
    view_of(cx, row).await
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
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(view_of(cx, row).await?);
    }
    Ok(out)
}

/// Marks a logged model ready (its files are complete) or failed.
pub async fn finalize(
    cx: &Ctx,
    model_id: &str,
    status: LoggedModelStatus,
) -> Result<LoggedModelView, AppError> {
    cx.require(Permission::Contribute)?;
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

// ------------------------------------------------------------ files

/// The run or logged model exists (and the caller may read it).
async fn ensure_owner(cx: &Ctx, owner: &FileOwner) -> Result<(), AppError> {
    match owner {
        FileOwner::Run(id) => run_row(cx, id.as_str()).await.map(drop),
        FileOwner::LoggedModel(id) => model_row(cx, id.as_str()).await.map(drop),
    }
}

fn owner_target(owner: &FileOwner, path: &str) -> String {
    let (kind, id) = owner.stored();
    format!("{kind}:{id}/{path}")
}

/// Streams one file into a run's or logged model's artifacts; a file
/// logged again at the same path replaces the earlier one.
pub async fn upload_file<S, E>(
    cx: &Ctx,
    address: &TrackingAddress,
    declared_length: Option<u64>,
    body: S,
) -> Result<(), AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    cx.require(Permission::Contribute)?;
    let path = address
        .inner
        .as_ref()
        .ok_or_else(|| AppError::invalid("path", "names a directory, not a file"))?;
    ensure_owner(cx, &address.owner).await?;
    let max = cx.state.config.max_artifact_bytes;
    if declared_length.is_some_and(|n| n > max) {
        return Err(AppError::PayloadTooLarge);
    }
    let (kind, id) = address.owner.stored();
    let key = format!("t/{kind}/{id}/{}", uuid::Uuid::new_v4());
    let Streamed { sha256, size, .. } =
        store_body(&cx.state, &key, body, (max, None), path.as_str()).await?;
    let guard = ObjectGuard {
        store: cx.state.store.clone(),
        key: Some(key.clone()),
    };
    let mut tx = cx.begin().await?;
    let replaced = repo::file(&mut *tx, &address.owner, path.as_str()).await?;
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    repo::put_file(
        &mut tx,
        repo::NewFile {
            owner: &address.owner,
            path: path.as_str(),
            size,
            sha256: &sha256,
            storage_key: &key,
            created_by: &cx.by.username,
            now: now_ms(),
        },
    )
    .await?;
    let target = owner_target(&address.owner, path.as_str());
    let details = json!({ "size": size, "sha256": sha256, "replaced": replaced.is_some() });
    cx.audit(
        &mut tx,
        "tracking_file.upload",
        ("tracking_file", &target),
        details,
    )
    .await?;
    commit(tx).await?;
    guard.disarm();
    if let Some(old) = replaced {
        remove_unused_object(&cx.state, &old.storage_key).await;
    }
    Ok(())
}

pub async fn files(cx: &Ctx, owner: &FileOwner) -> Result<Vec<FileRow>, AppError> {
    ensure_owner(cx, owner).await?;
    Ok(repo::files(cx.db().pool(), owner).await?)
}

pub async fn download_file(
    cx: &Ctx,
    owner: &FileOwner,
    path: &ArtifactPath,
    range: Option<&str>,
) -> Result<Download, AppError> {
    ensure_owner(cx, owner).await?;
    let file = repo::file(cx.db().pool(), owner, path.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Artifact(path.to_string())))?;
    let size = u64::try_from(file.size).unwrap_or(0);
    let range =
        crate::domain::parse_range(range, size).map_err(|_| AppError::RangeNotSatisfiable(size))?;
    let body = match cx.state.store.read(&file.storage_key, range).await {
        Ok(body) => body,
        Err(StoreError::NotFound) => {
            tracing::error!(key = %file.storage_key, "a tracking file's object is missing");
            return Err(AppError::Internal);
        }
        Err(e) => return Err(store_error(e)),
    };
    // Downloads answer with the same headers as a version's artifacts.
    let artifact = ArtifactRow {
        id: 0,
        version_id: 0,
        media_type: media_type(path).to_owned(),
        format: ArtifactFormat::detect(path, &[], Some(size))
            .as_str()
            .to_owned(),
        path: file.path,
        size: Some(file.size),
        sha256: Some(file.sha256),
        storage_key: Some(file.storage_key),
        external_uri: None,
        created_by: String::new(),
        created_at: file.created_at,
    };
    Ok(Download::Stream {
        artifact: Box::new(artifact),
        range,
        body,
    })
}

pub async fn delete_file(cx: &Ctx, owner: &FileOwner, path: &ArtifactPath) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    ensure_owner(cx, owner).await?;
    let mut tx = cx.begin().await?;
    let file = repo::file(&mut *tx, owner, path.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Artifact(path.to_string())))?;
    repo::delete_file(&mut tx, owner, path.as_str()).await?;
    let target = owner_target(owner, path.as_str());
    cx.audit(
        &mut tx,
        "tracking_file.delete",
        ("tracking_file", &target),
        json!({ "sha256": file.sha256 }),
    )
    .await?;
    commit(tx).await?;
    remove_unused_object(&cx.state, &file.storage_key).await;
    Ok(())
}

// ------------------------------------------------------------ registration

/// What a version registered from logged files takes: the files, the run
/// that made them, and what that run recorded.
pub struct Registration {
    pub files: Vec<StoredFile>,
    pub run_id: Option<RunId>,
    pub provenance: Option<Provenance>,
}

/// Resolves a `model-versions/create` source (and `model_id`) to files
/// logged here. `None`: the source names no files of ours (an `s3://`
/// source, say), and the version is registered as MLflow's registry would.
pub async fn registration(
    cx: &Ctx,
    source: &str,
    model_id: Option<&str>,
) -> Result<Option<Registration>, AppError> {
    cx.require(Permission::Contribute)?;
    let logged = match (LoggedSource::parse(source), model_id) {
        (Some(parsed), _) => parsed.map_err(|e| AppError::invalid("source", e.message))?,
        (None, Some(id)) => LoggedSource::LoggedModel(
            LoggedModelId::parse(id).map_err(|e| AppError::invalid("model_id", e.message))?,
        ),
        (None, None) => return Ok(None),
    };
    let (owner, dir, run, extra_params) = match logged {
        LoggedSource::LoggedModel(id) => {
            let model = logged_model(cx, id.as_str()).await?;
            if model.row.status != LoggedModelStatus::Ready {
                return Err(AppError::invalid(
                    "source",
                    format!(
                        "logged model {id} is {}, not ready: its files may be incomplete",
                        model.row.status.as_str()
                    ),
                ));
            }
            let run = model
                .row
                .source_run_id
                .as_deref()
                .map(RunId::parse)
                .transpose()?;
            (FileOwner::LoggedModel(id), None, run, model.params)
        }
        LoggedSource::RunFiles { run, dir } => {
            run_row(cx, run.as_str()).await?;
            (FileOwner::Run(run.clone()), dir, Some(run), BTreeMap::new())
        }
    };
    let rows = repo::files(cx.db().pool(), &owner).await?;
    let by_path: BTreeMap<&str, &FileRow> = rows.iter().map(|f| (f.path.as_str(), f)).collect();
    let files = files_under(by_path.keys().copied(), dir.as_ref())
        .into_iter()
        .map(|(stored, relative)| {
            let f = by_path[stored];
            Ok(StoredFile {
                path: ArtifactPath::parse(&relative)?,
                size: f.size,
                sha256: f.sha256.clone(),
                storage_key: f.storage_key.clone(),
            })
        })
        .collect::<Result<Vec<_>, crate::domain::FieldError>>()?;
    if files.is_empty() {
        return Err(AppError::invalid(
            "source",
            format!("{source} holds no files: log the model's files before registering it"),
        ));
    }
    let provenance = match &run {
        Some(run) => {
            let mut record = run_record(cx, run).await?;
            record.params.extend(extra_params);
            Some(record.provenance(run))
        }
        None => None,
    };
    Ok(Some(Registration {
        files,
        run_id: run,
        provenance,
    }))
}

/// Everything a run recorded: params, tags and every metric point.
async fn run_record(cx: &Ctx, run: &RunId) -> Result<RunRecord, AppError> {
    let pool = cx.db().pool();
    let entries = |rows: Vec<repo::EntryRow>| rows.into_iter().map(|e| (e.key, e.value)).collect();
    let points = repo::run_points(pool, run.as_str(), None, MAX_POINTS_PER_RUN)
        .await?
        .into_iter()
        .map(|p| Point {
            key: p.key,
            value: p.value,
            timestamp: p.timestamp,
            step: p.step,
        })
        .collect();
    Ok(RunRecord {
        params: entries(repo::run_params(pool, run.as_str()).await?),
        tags: entries(repo::run_tags(pool, run.as_str()).await?),
        points,
    })
}
