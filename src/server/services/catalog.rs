//! The catalog: registering models and versions, editing what may be
//! edited, and reading it back as views. Each write is one transaction with
//! its audit event.

use std::collections::BTreeMap;

use serde_json::json;

use super::{commit, content, evaluations, lookup, stored, Ctx};
use crate::{
    domain::{
        catalog as limits, next_version, Bump, CatalogQuery, ModelName, Permission, SemVer,
        WebhookEvent,
    },
    dto::{
        LineageView, ModelDetail, ModelSummary, SearchPage, SeriesPoint, VersionDetail, VersionRef,
        VersionSummary,
    },
    error::AppError,
    server::{
        auth::Principal,
        db::{now_ms, OnUnique, Tx},
        markdown,
        repo::{
            audit::Origin,
            models::{self, ModelRow},
            search,
            versions::{self, Lineage, MetricPoint, VersionRow},
        },
        state::AppState,
    },
};

// ---------------------------------------------------------------- inputs

/// A new model, validated.
pub struct NewModelInput {
    pub name: ModelName,
    pub description: String,
    pub team: String,
    pub tags: BTreeMap<String, String>,
}

/// Changes to a model; `None` leaves a field as it is.
#[derive(Default)]
pub struct ModelPatch {
    pub new_name: Option<ModelName>,
    pub description: Option<String>,
    pub team: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub headline_metric: Option<Option<String>>,
}

pub enum VersionSpec {
    Exact(SemVer),
    Next(Bump),
}

/// Where a version came from, validated; the parent is still a name here.
#[derive(Default)]
pub struct LineageInput {
    pub lineage: Lineage,
    pub parent: Option<(ModelName, SemVer)>,
}

pub struct NewVersionInput {
    pub spec: VersionSpec,
    pub description: String,
    pub lineage: LineageInput,
    pub params: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub points: Vec<MetricPoint>,
    pub tags: BTreeMap<String, String>,
    pub status: VersionStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionStatus {
    Registering,
    Ready,
    Failed,
}

impl VersionStatus {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        match raw {
            "registering" => Ok(Self::Registering),
            "ready" => Ok(Self::Ready),
            "failed" => Ok(Self::Failed),
            _ => Err(AppError::invalid(
                "status",
                "must be registering, ready or failed",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registering => "registering",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }
}

/// Validates metric points: finite values, a bounded count, no duplicate (key, step).
pub fn check_points(points: &[MetricPoint]) -> Result<(), AppError> {
    if points.len() > limits::MAX_METRIC_POINTS {
        return Err(AppError::invalid(
            "metric_series",
            format!(
                "at most {} points per request; send larger series in batches",
                limits::MAX_METRIC_POINTS
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for p in points {
        limits::metric_value("metric_series", &p.key, p.value)?;
        if !seen.insert((p.key.as_str(), p.step)) {
            return Err(AppError::invalid(
                "metric_series",
                format!("step {} of {:?} appears twice", p.step, p.key),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- models

pub async fn create_model(cx: &Ctx, input: NewModelInput) -> Result<ModelRow, AppError> {
    cx.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let inserted = models::insert(
        &mut tx,
        models::NewModel {
            name: input.name.as_str(),
            description: &input.description,
            team: &input.team,
            created_by: &cx.by.username,
            now,
        },
    )
    .await;
    let id = inserted
        .on_unique(|| AppError::Conflict(format!("a model named {} already exists", input.name)))?;
    models::replace_tags(&mut tx, id, &input.tags).await?;
    models::reindex(&mut tx, cx.state.db.backend(), id).await?;
    let details = json!({ "team": input.team, "tags": input.tags });
    cx.audit(
        &mut tx,
        "model.create",
        ("model", input.name.as_str()),
        details,
    )
    .await?;
    commit(tx).await?;
    models::find_by_id(cx.state.db.pool(), id)
        .await?
        .ok_or(AppError::Internal)
}

pub async fn update_model(
    cx: &Ctx,
    name: &ModelName,
    patch: ModelPatch,
) -> Result<ModelRow, AppError> {
    cx.require(Permission::Contribute)?;
    let backend = cx.state.db.backend();
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let model = lookup::lock_model(&mut tx, &cx.state, name).await?;
    let description = patch
        .description
        .clone()
        .unwrap_or_else(|| model.description.clone());
    let team = patch.team.clone().unwrap_or_else(|| model.team.clone());
    let headline = patch
        .headline_metric
        .clone()
        .unwrap_or_else(|| model.headline_metric.clone());
    models::update(
        &mut tx,
        model.id,
        models::ModelChanges {
            description: &description,
            team: &team,
            headline_metric: headline.as_deref(),
            now,
        },
    )
    .await?;
    if let Some(tags) = &patch.tags {
        models::replace_tags(&mut tx, model.id, tags).await?;
    }
    let mut current_name = model.name.clone();
    if let Some(new_name) = &patch.new_name {
        if new_name.as_str() != model.name {
            models::rename(&mut tx, model.id, &model.name, new_name.as_str(), now)
                .await
                .on_unique(|| {
                    AppError::Conflict(format!("a model named {new_name} already exists"))
                })?;
            let details = json!({ "before": model.name, "after": new_name.as_str() });
            cx.audit(
                &mut tx,
                "model.rename",
                ("model", new_name.as_str()),
                details,
            )
            .await?;
            current_name = new_name.to_string();
        }
    }
    let changed_fields = json!({
        "description": patch.description.is_some().then_some(json!({ "before": model.description, "after": description })),
        "team": patch.team.is_some().then_some(json!({ "before": model.team, "after": team })),
        "tags": patch.tags,
        "headline_metric": patch.headline_metric.is_some().then_some(json!({ "before": model.headline_metric, "after": headline })),
    });
    let edited = patch.description.is_some()
        || patch.team.is_some()
        || patch.tags.is_some()
        || patch.headline_metric.is_some();
    if edited {
        cx.audit(
            &mut tx,
            "model.update",
            ("model", &current_name),
            changed_fields,
        )
        .await?;
    }
    models::reindex(&mut tx, backend, model.id).await?;
    commit(tx).await?;
    models::find_by_id(cx.state.db.pool(), model.id)
        .await?
        .ok_or(AppError::Internal)
}

pub async fn search(cx: &Ctx, query: CatalogQuery) -> Result<SearchPage, AppError> {
    cx.require(Permission::Read)?;
    let pool = cx.state.db.pool();
    let (hits, has_next) = search::search(pool, cx.state.db.backend(), &query).await?;
    let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
    let mut details = search::details(pool, &ids).await?;
    let models = hits
        .into_iter()
        .map(|h| {
            let d = details.remove(&h.id).unwrap_or_default();
            let mut stages = d.stages;
            stages.sort();
            ModelSummary {
                summary: summarize(&h.description),
                name: h.name,
                team: h.team,
                tags: d.tags,
                stages,
                latest_version: d.latest,
                version_count: d.versions,
                updated_at: h.updated_at,
            }
        })
        .collect();
    Ok(SearchPage {
        query,
        models,
        has_next,
    })
}

/// First paragraph that is not a heading, as plain text, at most 200 characters.
fn summarize(markdown: &str) -> String {
    let paragraphs = || {
        markdown
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
    };
    let first = paragraphs()
        .find(|p| !p.starts_with('#'))
        .or_else(|| paragraphs().next())
        .unwrap_or("");
    let plain: String = first
        .chars()
        .filter(|c| !"#*_`>[]".contains(*c))
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if plain.chars().count() > 200 {
        format!("{}…", plain.chars().take(199).collect::<String>())
    } else {
        plain
    }
}

/// A model's page data; `metric` picks the metric shown per version (default: the headline).
pub async fn model_detail(
    cx: &Ctx,
    model: ModelRow,
    metric: Option<&str>,
) -> Result<ModelDetail, AppError> {
    let pool = cx.state.db.pool();
    let tags = models::tags(pool, model.id).await?;
    let rows = versions::list_for_model(pool, model.id).await?;
    let metric_keys = versions::metric_keys(pool, model.id).await?;
    let headline_key = metric
        .filter(|m| metric_keys.iter().any(|k| k == m))
        .map(str::to_owned)
        .or_else(|| model.headline_metric.clone())
        .or_else(|| metric_keys.first().cloned());
    let headline: std::collections::HashMap<i64, f64> = match &headline_key {
        Some(k) => versions::metric_across_versions(pool, model.id, k)
            .await?
            .into_iter()
            .collect(),
        None => Default::default(),
    };
    let versions = rows
        .into_iter()
        .map(|v| VersionSummary {
            headline: headline.get(&v.id).copied(),
            stage: v.stage,
            version: v.version,
            seq: v.seq,
            status: v.status,
            created_at: v.created_at,
            created_by: v.created_by,
        })
        .collect();
    Ok(ModelDetail {
        description_html: markdown::render(&model.description),
        name: model.name,
        description: model.description,
        team: model.team,
        tags,
        created_by: model.created_by,
        created_at: model.created_at,
        updated_at: model.updated_at,
        headline_metric: headline_key,
        metric_keys,
        versions,
        can_edit: cx.by.can(Permission::Contribute),
        can_audit: cx.by.can(Permission::ReadAudit),
    })
}

// ---------------------------------------------------------------- versions

pub async fn register_version(
    cx: &Ctx,
    model_name: &ModelName,
    input: NewVersionInput,
) -> Result<(ModelRow, VersionRow), AppError> {
    cx.require(Permission::Contribute)?;
    check_points(&input.points)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    // Locks the model row on Postgres (SQLite has one writer): concurrent
    // registrations on one model queue here, so "next patch" never collides.
    let model = lookup::lock_model(&mut tx, &cx.state, model_name).await?;
    let version = match input.spec {
        VersionSpec::Exact(v) => v,
        VersionSpec::Next(bump) => {
            let existing: Vec<SemVer> = versions::all_version_strings(&mut tx, model.id)
                .await?
                .iter()
                .filter_map(|s| SemVer::parse(s).ok())
                .collect();
            next_version(&existing, bump)?
        }
    };
    let key = version.identity_key();
    if versions::exists_key(&mut tx, model.id, &key).await? {
        return Err(AppError::Conflict(format!(
            "{model_name} already has version {key}"
        )));
    }
    let mut lineage = input.lineage.lineage;
    if let Some((parent_model, parent_version)) = &input.lineage.parent {
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
    let seq = models::next_seq(&mut tx, model.id, now).await?;
    let version_string = version.to_string();
    let digest =
        content::of_new_version(&lineage, &input.params, &input.metrics, &input.points).to_string();
    let inserted = versions::insert(
        &mut tx,
        versions::NewVersion {
            model_id: model.id,
            seq,
            version: &version_string,
            version_key: &key,
            sort_key: &version.sort_key(),
            status: input.status.as_str(),
            description: &input.description,
            created_by: &cx.by.username,
            now,
            lineage: &lineage,
            content_digest: &digest,
        },
    )
    .await;
    let id = inserted
        .on_unique(|| AppError::Conflict(format!("{model_name} already has version {key}")))?;
    versions::insert_map(&mut tx, "version_params", id, &input.params).await?;
    versions::insert_map(&mut tx, "version_tags", id, &input.tags).await?;
    versions::insert_metrics(&mut tx, id, &input.metrics).await?;
    versions::insert_points(&mut tx, id, &input.points).await?;
    let details = json!({
        "seq": seq,
        "status": input.status.as_str(),
        "commit_sha": lineage.commit_sha,
        "dataset_hash": lineage.dataset_hash,
        "parent_version_id": lineage.parent_version_id,
        "content_digest": digest,
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
    let row = versions::find(cx.state.db.pool(), model.id, &key)
        .await?
        .ok_or(AppError::Internal)?;
    Ok((model, row))
}

pub async fn version_detail(
    cx: &Ctx,
    model: &ModelRow,
    row: VersionRow,
) -> Result<VersionDetail, AppError> {
    let pool = cx.state.db.pool();
    let parent = match row.parent_version_id {
        Some(id) => versions::name_and_version(pool, id).await?,
        None => None,
    };
    let children = versions::children(pool, row.id).await?;
    let params = versions::map_of(pool, "version_params", row.id).await?;
    let tags = versions::map_of(pool, "version_tags", row.id).await?;
    let metrics = versions::metrics(pool, row.id).await?;
    let mut series: BTreeMap<String, Vec<SeriesPoint>> = BTreeMap::new();
    for p in versions::points(pool, row.id).await? {
        series.entry(p.key).or_default().push(SeriesPoint {
            step: p.step,
            value: p.value,
        });
    }
    let artifacts = super::artifacts::list_for(&cx.state, &model.name, &row).await?;
    let mut conn = pool.acquire().await?;
    let frozen = content::freeze_of(&mut conn, &row).await?;
    drop(conn);
    let evaluations = evaluations::list_for(&cx.state, row.id).await?;
    let to_ref = |(model, version): (String, String)| VersionRef { model, version };
    Ok(VersionDetail {
        model: model.name.clone(),
        description_html: markdown::render(&row.description),
        stage: row.stage,
        content_digest: row.content_digest.clone(),
        frozen,
        evaluations,
        lineage: lineage_view(&row, parent.map(to_ref)),
        children: children.into_iter().map(to_ref).collect(),
        version: row.version,
        seq: row.seq,
        status: row.status,
        description: row.description,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
        params,
        metrics,
        series,
        tags,
        artifacts,
        can_edit: cx.by.can(Permission::Contribute),
    })
}

/// A version's provenance as shown to people (version and review pages).
pub(crate) fn lineage_view(row: &VersionRow, parent: Option<VersionRef>) -> LineageView {
    LineageView {
        source_repo: row.source_repo.clone(),
        commit_sha: row.commit_sha.clone(),
        training_script: row.training_script.clone(),
        dataset_name: row.dataset_name.clone(),
        dataset_version: row.dataset_version.clone(),
        dataset_uri: row.dataset_uri.clone(),
        dataset_hash: row.dataset_hash.clone(),
        parent,
        framework: row.framework.clone(),
        framework_version: row.framework_version.clone(),
        dependencies: row.dependencies.clone(),
    }
}

/// Description and tags are the only editable parts of a registered version.
pub async fn update_version(
    cx: &Ctx,
    model_name: &ModelName,
    version: &SemVer,
    description: Option<String>,
    tags: Option<BTreeMap<String, String>>,
) -> Result<(), AppError> {
    cx.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, &cx.state, model_name, version).await?;
    if let Some(d) = &description {
        versions::update_description(&mut tx, row.id, d, now).await?;
    }
    if let Some(t) = &tags {
        versions::replace_tags(&mut tx, row.id, t).await?;
    }
    models::touch(&mut tx, model.id, now).await?;
    let details = json!({
        "description": description.as_ref().map(|d| json!({ "before": row.description, "after": d })),
        "tags": tags,
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
    points: Vec<MetricPoint>,
) -> Result<usize, AppError> {
    cx.require(Permission::Contribute)?;
    check_points(&points)?;
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, &cx.state, model_name, version).await?;
    content::ensure_thawed(&mut tx, &model.name, &row).await?;
    let held = versions::point_count(&mut tx, row.id).await?;
    if held + points.len() as i64 > limits::MAX_POINTS_PER_VERSION {
        return Err(AppError::invalid(
            "metric_series",
            format!(
                "a version holds at most {} metric points; this one has {held}",
                limits::MAX_POINTS_PER_VERSION
            ),
        ));
    }
    let mut keys: Vec<String> = points.iter().map(|p| p.key.clone()).collect();
    keys.sort();
    keys.dedup();
    let existing = versions::existing_steps(&mut tx, row.id, &keys).await?;
    let existing: std::collections::HashSet<(String, i64)> = existing.into_iter().collect();
    if let Some(p) = points
        .iter()
        .find(|p| existing.contains(&(p.key.clone(), p.step)))
    {
        return Err(AppError::Conflict(format!(
            "step {} of {:?} is already recorded",
            p.step, p.key
        )));
    }
    versions::insert_points(&mut tx, row.id, &points).await?;
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

/// Soft deletion (admins): the version disappears from listings, its number stays taken.
pub async fn delete_version(
    cx: &Ctx,
    model_name: &ModelName,
    version: &SemVer,
) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, &cx.state, model_name, version).await?;
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
    retire_deleted_version(&cx.state, &mut tx, &cx.by, &cx.origin, &model, row.id, now).await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    Ok(())
}

/// A deleted version can never be applied: its open requests are cancelled
/// and the aliases naming it removed, each audited, in the deletion's
/// transaction.
async fn retire_deleted_version(
    state: &AppState,
    tx: &mut Tx,
    by: &Principal,
    origin: &Origin,
    model: &ModelRow,
    version_id: i64,
    now: i64,
) -> Result<(), AppError> {
    super::workflow::cancel_for_deleted_version(state, tx, origin, version_id, now).await?;
    for alias in crate::server::repo::aliases::names_for_version(tx, version_id).await? {
        let alias: crate::domain::AliasName = stored("alias", &alias)?;
        super::alias_moves::write(
            state,
            tx,
            origin,
            super::alias_moves::AliasMove {
                model,
                alias: &alias,
                to: None,
                actor: Some(&by.actor()),
                by: &by.username,
                request_id: None,
                reason: Some("the version it named was deleted"),
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// Soft deletion of a model and all its versions (admins). The name becomes
/// free for a new model; the audit trail keeps the history.
pub async fn delete_model(cx: &Ctx, model_name: &ModelName) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let model = lookup::lock_model(&mut tx, &cx.state, model_name).await?;
    let live_versions = versions::list_for_model_in(&mut tx, model.id).await?;
    for req in crate::server::repo::workflow::open_requests_of_model(&mut tx, model.id).await? {
        super::workflow::cancel_for_deleted_version(
            &cx.state,
            &mut tx,
            &cx.origin,
            req.version_id,
            now,
        )
        .await?;
    }
    models::soft_delete(&mut tx, model.id, now).await?;
    cx.audit(
        &mut tx,
        "model.delete",
        ("model", &model.name),
        json!({ "versions": live_versions }),
    )
    .await?;
    commit(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_plain_and_short() {
        assert_eq!(
            summarize("# Fraud *detector*\n\nScores *payments*."),
            "Scores payments."
        );
        assert_eq!(summarize("# Only a heading"), "Only a heading");
        assert_eq!(summarize(""), "");
        assert_eq!(summarize(&"word ".repeat(100)).chars().count(), 200);
    }

    #[test]
    fn points_are_checked() {
        let p = |k: &str, s: i64, v: f64| MetricPoint {
            key: k.into(),
            step: s,
            value: v,
        };
        assert!(check_points(&[p("loss", 1, 0.5), p("loss", 2, 0.4), p("acc", 1, 0.9)]).is_ok());
        assert_eq!(
            check_points(&[p("loss", 1, 0.5), p("loss", 1, 0.4)])
                .unwrap_err()
                .field(),
            Some("metric_series")
        );
        assert_eq!(
            check_points(&[p("loss", 1, f64::NAN)]).unwrap_err().field(),
            Some("metric_series")
        );
        let many: Vec<_> = (0..=limits::MAX_METRIC_POINTS as i64)
            .map(|i| p("x", i, 0.0))
            .collect();
        assert_eq!(
            check_points(&many).unwrap_err().field(),
            Some("metric_series")
        );
    }
}
