//! Release content: the digest that sign-offs are given on, and the freeze
//! that keeps approved content from changing.
//!
//! Every service that changes content (registration, uploads, links,
//! artifact deletion, metric appends) calls [`ensure_thawed`] inside its
//! write transaction, after locking the version, and [`refresh`] before it
//! commits. The workflow recomputes the digest from the rows themselves
//! (never trusting the stored column) when it opens or applies a request.

use std::collections::BTreeMap;

use crate::{
    domain::{
        catalog::{Lineage, MetricPoint},
        ContentDigest, Freeze, ReleaseContent, SemVer, Stage,
    },
    error::AppError,
    server::{
        db::Db,
        repo::{content, versions::VersionRow, workflow as workflow_repo},
    },
};

use super::{lookup, stored, Ctx};

/// The digest of a version about to be registered, from its input.
pub fn of_new_version(
    lineage: &Lineage,
    params: &BTreeMap<String, String>,
    metrics: &BTreeMap<String, f64>,
    points: &[MetricPoint],
) -> ContentDigest {
    let mut c = ReleaseContent::new();
    content::add_lineage(&mut c, lineage);
    for (k, v) in params {
        c.param(k, v);
    }
    for (k, v) in metrics {
        c.metric(k, *v);
    }
    for p in points {
        c.point(&p.key, p.step, p.value);
    }
    c.digest()
}

/// Recomputes a version's digest from its rows.
pub async fn compute(
    conn: &mut sqlx::AnyConnection,
    version_id: i64,
) -> Result<ContentDigest, AppError> {
    let mut loaded = content::load(conn, &[version_id]).await?;
    loaded
        .remove(&version_id)
        .map(|c| c.digest())
        .ok_or(AppError::Internal)
}

/// Recomputes and stores a version's digest, inside the transaction that
/// changed its content.
pub async fn refresh(
    conn: &mut sqlx::AnyConnection,
    version_id: i64,
) -> Result<ContentDigest, AppError> {
    let digest = compute(conn, version_id).await?;
    content::set_digest(conn, version_id, &digest.to_string()).await?;
    Ok(digest)
}

/// Why the version's content is frozen, if it is.
pub async fn freeze_of(
    conn: &mut sqlx::AnyConnection,
    row: &VersionRow,
) -> Result<Option<Freeze>, AppError> {
    let stage: Stage = row.stage;
    let open = match workflow_repo::open_stage_target(conn, row.id).await? {
        Some((id, to)) => Some((id, stored::<Stage>("stage", &to)?)),
        None => None,
    };
    Ok(Freeze::of(stage, open))
}

/// Refuses a content change to a frozen version, for every role: a
/// released version is retired by archiving it, never edited.
pub async fn ensure_thawed(
    conn: &mut sqlx::AnyConnection,
    model: &str,
    row: &VersionRow,
) -> Result<(), AppError> {
    match freeze_of(conn, row).await? {
        None => Ok(()),
        Some(freeze) => Err(AppError::Conflict(format!(
            "{model} {} is frozen because {freeze}: its files, lineage, parameters and \
             training metrics can no longer change (its description and tags still can; \
             record later results as an evaluation, or register a new version)",
            row.version
        ))),
    }
}

/// The canonical content document of a version and its digest, for anyone
/// who wants to check a digest themselves.
pub async fn document(
    cx: &Ctx,
    model: &str,
    version: &SemVer,
) -> Result<(ContentDigest, String), AppError> {
    let (_, row) = lookup::find_version(cx, model, version).await?;
    let mut conn = cx.state.db.pool().acquire().await?;
    let mut loaded = content::load(&mut conn, &[row.id]).await?;
    let content = loaded.remove(&row.id).ok_or(AppError::Internal)?;
    Ok((content.digest(), content.canonical()))
}

/// Fills in the digest of versions recorded before digests existed (a
/// database from an older release). Runs at start-up; quick when there is
/// nothing to do (one indexed query), batched when there is.
pub async fn backfill(db: &Db) -> Result<u64, sqlx::Error> {
    let mut done = 0u64;
    loop {
        let ids = content::without_digest(db.pool(), 500).await?;
        if ids.is_empty() {
            break;
        }
        let mut tx = db.begin().await?;
        let loaded = content::load(&mut tx, &ids).await?;
        for id in &ids {
            // A version row always loads; the fallback keeps a vanished one
            // from looping forever (its digest is that of empty content).
            let digest = loaded
                .get(id)
                .cloned()
                .unwrap_or_else(ReleaseContent::new)
                .digest();
            content::set_digest(&mut tx, *id, &digest.to_string()).await?;
        }
        tx.commit().await?;
        done += ids.len() as u64;
        tracing::info!(
            versions = done,
            "content digests computed for existing versions"
        );
    }
    Ok(done)
}
