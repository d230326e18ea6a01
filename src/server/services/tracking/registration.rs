//! What a version registered from logged files takes: the files (their
//! stored objects, shared), the run that made them and what it recorded.

use std::collections::BTreeMap;

use super::{logged_model, run_row};
use crate::{
    domain::{
        mlflow_tracking::{
            files_under, FileOwner, LoggedModelId, LoggedModelStatus, LoggedSource, Point,
            Provenance, RunId, RunRecord, MAX_POINTS_PER_RUN,
        },
        ArtifactPath, Permission,
    },
    error::AppError,
    server::{
        repo::{
            tracking as repo,
            tracking_files::{self, FileRow},
        },
        services::{catalog::StoredFile, Ctx},
    },
};
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
    let rows = tracking_files::files(cx.db().pool(), &owner).await?;
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
