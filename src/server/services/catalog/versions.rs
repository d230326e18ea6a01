//! Versions: register, edit, append metrics, delete.

use std::collections::HashSet;

use serde_json::json;

use super::super::{commit, content, lookup, stored, Ctx};
use crate::{
    domain::{
        catalog::{
            SeriesForm, VersionEdit, VersionForm, VersionSpec, VersionStatus,
            MAX_POINTS_PER_VERSION,
        },
        media_type, next_version, AliasName, ArtifactFormat, ArtifactPath, ModelName, Permission,
        SemVer, WebhookEvent,
    },
    error::{AppError, Missing},
    server::{
        db::{now_ms, OnUnique, Tx},
        repo::{
            artifacts::{self, NewArtifact},
            models::{self, ModelRow, NextVersion},
            tracking_files,
            versions::{self, VersionRow},
        },
    },
};

pub async fn register_version(
    cx: &Ctx,
    model_name: &ModelName,
    form: VersionForm,
) -> Result<(ModelRow, VersionRow), AppError> {
    register_version_with_files(cx, model_name, form, &[]).await
}

/// A file already in the artifact store that a new version takes as its
/// own (the files of an MLflow run or logged model): recorded with the
/// version, in its transaction, so the version never exists without them.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub path: ArtifactPath,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
}

/// Registers a version, with `files` as its first artifacts.
pub async fn register_version_with_files(
    cx: &Ctx,
    model_name: &ModelName,
    form: VersionForm,
    files: &[StoredFile],
) -> Result<(ModelRow, VersionRow), AppError> {
    cx.require(Permission::Contribute)?;
    let input = form.parse()?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let NextVersion {
        model,
        seq,
        highest,
    } = match input.seq {
        None => models::take_next_version(&mut tx, cx.db().backend(), model_name.as_str(), now)
            .await?
            .ok_or_else(|| AppError::NotFound(Missing::Model(model_name.to_string())))?,
        // An import keeps MLflow's number.
        Some(n) => {
            let model = lookup::lock_model(&mut tx, cx.db(), model_name).await?;
            let seq = models::claim_seq(&mut tx, model.id, n, now).await?;
            let highest = versions::highest_version(&mut tx, model.id).await?;
            NextVersion {
                model,
                seq,
                highest,
            }
        }
    };
    let version = match input.spec {
        VersionSpec::Exact(v) => v,
        VersionSpec::Next(bump) => {
            let highest: Vec<SemVer> = highest
                .and_then(|s| SemVer::parse(&s).ok())
                .into_iter()
                .collect();
            next_version(&highest, bump)?
        }
    };
    let key = version.identity_key();
    let mut lineage = input.lineage;
    if let Some((parent_model, parent_version)) = &input.parent {
        let parent = models::find_by_name_in(&mut tx, parent_model.as_str()).await?;
        let parent_row = match parent {
            Some(p) => versions::find_in_tx(&mut tx, p.id, &parent_version.identity_key()).await?,
            None => None,
        };
        let parent_row = parent_row.ok_or_else(|| {
            AppError::invalid(
                "lineage.parent",
                format!("no version {parent_version} of model {parent_model}"),
            )
        })?;
        lineage.parent_version_id = Some(parent_row.id);
    }
    let (params, metrics, points) = (
        input.params.as_map(),
        input.metrics.as_map(),
        input.series.points(),
    );
    let version_string = version.to_string();
    let digest = content::of_new_version(&lineage, params, metrics, points).to_string();
    let claimed = input.seq.is_some();
    let mut row = versions::insert(
        &mut tx,
        versions::NewVersion {
            model_id: model.id,
            seq,
            version: &version_string,
            version_key: &key,
            sort_key: &version.sort_key(),
            status: input.status,
            description: input.description.as_str(),
            created_by: &cx.by.username,
            now,
            lineage: &lineage,
            content_digest: &digest,
        },
    )
    .await
    // The unique (model, version key) index answers "already there": no
    // look-up first. Only an import claims a number, which may be taken too.
    .on_unique(|| {
        let number = if claimed {
            format!(" (or number {seq})")
        } else {
            String::new()
        };
        AppError::Conflict(format!("{model_name} already has version {key}{number}"))
    })?;
    let id = row.id;
    let children = versions::Children {
        params,
        tags: input.tags.as_map(),
        metrics,
        points,
    };
    versions::insert_children(&mut tx, cx.db().backend(), id, children).await?;
    let digest = if files.is_empty() {
        digest
    } else {
        record_files(cx, &mut tx, id, files, now).await?;
        content::refresh(&mut tx, id).await?.to_string()
    };
    let details = json!({
        "seq": seq,
        "status": input.status.as_str(),
        "commit_sha": lineage.commit_sha,
        "dataset_hash": lineage.dataset_hash,
        "parent_version_id": lineage.parent_version_id,
        "content_digest": digest,
        "files": files.iter().map(|f| json!({ "path": f.path.as_str(), "size": f.size, "sha256": f.sha256 })).collect::<Vec<_>>(),
    });
    let event = json!({
        "model": model_name.as_str(), "version": version_string, "seq": seq,
        "created_by": cx.by.username, "content_digest": digest,
    });
    crate::server::webhooks::enqueue(&mut tx, WebhookEvent::VersionRegistered, event, now).await?;
    let target = format!("{model_name}@{version_string}");
    cx.audit(&mut tx, "version.register", ("version", &target), details)
        .await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    row.content_digest = Some(digest);
    Ok((model, row))
}

async fn record_files(
    cx: &Ctx,
    tx: &mut Tx,
    version_id: i64,
    files: &[StoredFile],
    now: i64,
) -> Result<(), AppError> {
    for f in files {
        // The files were listed before this transaction began; each must
        // still be the logged file's object, held until the version commits.
        if !tracking_files::hold(tx, cx.db().backend(), &f.storage_key).await? {
            return Err(AppError::Conflict(format!(
                "the logged file {} changed while the version was being registered; register it again",
                f.path
            )));
        }
        let new = NewArtifact {
            version_id,
            path: f.path.as_str(),
            size: Some(f.size),
            sha256: Some(&f.sha256),
            media_type: media_type(&f.path),
            format: ArtifactFormat::detect(&f.path, &[], Some(u64::try_from(f.size).unwrap_or(0)))
                .as_str(),
            storage_key: Some(&f.storage_key),
            external_uri: None,
            created_by: &cx.by.username,
            now,
        };
        artifacts::insert(tx, new)
            .await
            .on_unique(|| AppError::invalid("source", format!("{} is listed twice", f.path)))?;
    }
    Ok(())
}

/// Description and tags are the only editable parts of a registered version.
pub async fn update_version(
    cx: &Ctx,
    model_name: &ModelName,
    version: &SemVer,
    edit: VersionEdit,
) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let changes = edit.parse()?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, cx.db(), model_name, version).await?;
    if let Some(d) = &changes.description {
        versions::update_description(&mut tx, row.id, d.as_str(), now).await?;
    }
    if let Some(t) = &changes.tags {
        versions::replace_tags(&mut tx, row.id, t.as_map()).await?;
    }
    models::touch(&mut tx, model.id, now).await?;
    let details = json!({
        "description": changes.description.as_ref().map(|d| json!({ "before": row.description, "after": d.as_str() })),
        "tags": changes.tags.as_ref().map(|t| t.as_map()),
    });
    let target = format!("{model_name}@{}", row.version);
    cx.audit(&mut tx, "version.update", ("version", &target), details)
        .await?;
    commit(tx).await
}

/// Appends metric points; a (key, step) that already exists is a conflict.
pub async fn append_points(
    cx: &Ctx,
    model_name: &ModelName,
    version: &SemVer,
    form: SeriesForm,
) -> Result<usize, AppError> {
    cx.require(Permission::Contribute)?;
    let series = form.parse()?;
    let points = series.points();
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, cx.db(), model_name, version).await?;
    content::ensure_thawed(&mut tx, &model.name, &row).await?;
    let held = versions::point_count(&mut tx, row.id).await?;
    if held + points.len() as i64 > MAX_POINTS_PER_VERSION {
        return Err(AppError::invalid(
            "metric_series",
            format!(
                "a version holds at most {MAX_POINTS_PER_VERSION} metric points; this one has {held}"
            ),
        ));
    }
    let mut keys: Vec<String> = points.iter().map(|p| p.key.clone()).collect();
    keys.sort();
    keys.dedup();
    let existing: HashSet<(String, i64)> = versions::existing_steps(&mut tx, row.id, &keys)
        .await?
        .into_iter()
        .collect();
    if let Some(p) = points
        .iter()
        .find(|p| existing.contains(&(p.key.clone(), p.step)))
    {
        return Err(AppError::Conflict(format!(
            "step {} of {:?} is already recorded",
            p.step, p.key
        )));
    }
    versions::insert_points(&mut tx, row.id, points).await?;
    let digest = content::refresh(&mut tx, row.id).await?;
    let target = format!("{model_name}@{}", row.version);
    let details = json!({ "points": points.len(), "keys": keys, "content_digest": digest });
    cx.audit(
        &mut tx,
        "version.metrics_append",
        ("version", &target),
        details,
    )
    .await?;
    commit(tx).await?;
    Ok(points.len())
}

/// Ends a registration that began `registering` (its files were still
/// arriving): the version becomes `ready` or `failed`. `note` joins the
/// audit event's details (an import says where the version came from).
pub async fn finish_registration(
    cx: &Ctx,
    model_name: &ModelName,
    version: &SemVer,
    status: VersionStatus,
    note: serde_json::Value,
) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    if status == VersionStatus::Registering {
        return Err(AppError::invalid("status", "must be ready or failed"));
    }
    let mut tx = cx.begin().await?;
    let (_, row) = lookup::lock_version(&mut tx, cx.db(), model_name, version).await?;
    if row.status != VersionStatus::Registering {
        return Err(AppError::Conflict(format!(
            "{model_name}@{version} is {}, not being registered",
            row.status.as_str()
        )));
    }
    versions::set_status(&mut tx, row.id, status, now_ms()).await?;
    let target = format!("{model_name}@{}", row.version);
    let details = json!({ "status": status.as_str(), "note": note });
    cx.audit(&mut tx, "version.registered", ("version", &target), details)
        .await?;
    commit(tx).await?;
    Ok(())
}

/// Soft deletion (admins): the version disappears from listings, its number stays taken.
pub async fn delete_version(
    cx: &Ctx,
    model_name: &ModelName,
    version: &SemVer,
) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, cx.db(), model_name, version).await?;
    versions::soft_delete(&mut tx, row.id, now).await?;
    models::touch(&mut tx, model.id, now).await?;
    let target = format!("{model_name}@{}", row.version);
    cx.audit(
        &mut tx,
        "version.delete",
        ("version", &target),
        json!({ "seq": row.seq, "stage": row.stage, "content_digest": row.content_digest }),
    )
    .await?;
    retire_deleted_version(cx, &mut tx, &model, row.id, now).await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    Ok(())
}

/// A deleted version can never be applied: its open requests are cancelled
/// and the aliases naming it removed, each audited, in the deletion's
/// transaction.
async fn retire_deleted_version(
    cx: &Ctx,
    tx: &mut Tx,
    model: &ModelRow,
    version_id: i64,
    now: i64,
) -> Result<(), AppError> {
    super::super::workflow::cancel_for_deleted_version(tx, &cx.origin, version_id, now).await?;
    for alias in crate::server::repo::aliases::names_for_version(tx, version_id).await? {
        let alias: AliasName = stored("alias", &alias)?;
        super::super::alias_moves::write(
            tx,
            &cx.origin,
            super::super::alias_moves::AliasMove {
                model,
                alias: &alias,
                to: None,
                actor: Some(&cx.by.actor()),
                by: &cx.by.username,
                request_id: None,
                reason: Some("the version it named was deleted"),
            },
            now,
        )
        .await?;
    }
    Ok(())
}
