//! Point-in-time answers and the compliance report: which version was where,
//! when, how it was trained, and who signed it off.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    domain::{spans_in, Permission, Stage, StageChange},
    dto::{
        ChainStatus, ComplianceReport, ReportArtifact, ReportModel, ReportScope, ReportStageChange,
        ReportVersion, StagesAt, VersionInStage, REPORT_SCHEMA,
    },
    error::AppError,
    server::{
        db::now_ms,
        repo::{timeline, versions, workflow as workflow_repo},
    },
};

use super::{catalog, lookup, workflow_views, Ctx};

/// Which version was in each stage of the model at `at` (one query).
pub async fn stages_at(cx: &Ctx, model_name: &str, at: i64) -> Result<StagesAt, AppError> {
    let model = lookup::find_model(cx, model_name).await?;
    let rows = timeline::stages_at(cx.state.db.pool(), model.id, at).await?;
    let mut stages: BTreeMap<Stage, Vec<VersionInStage>> =
        Stage::ALL.iter().map(|s| (*s, Vec::new())).collect();
    for row in rows {
        stages.entry(row.stage).or_default().push(VersionInStage {
            version: row.version,
            since: row.since,
        });
    }
    Ok(StagesAt {
        model: model.name,
        at,
        stages,
    })
}

/// The compliance report of a model, optionally narrowed to one version
/// and to `[from, to)`. Auditors and admins only.
pub async fn compliance_report(
    cx: &Ctx,
    model_name: &str,
    scope: ReportScope,
) -> Result<ComplianceReport, AppError> {
    cx.require(Permission::ReadAudit)?;
    if let (Some(from), Some(to)) = (scope.from, scope.to) {
        if from >= to {
            return Err(AppError::invalid("to", "must be later than `from`"));
        }
    }
    let pool = cx.state.db.pool();
    let model = lookup::find_model(cx, model_name).await?;
    let all_changes = timeline::model_changes(pool, model.id, None, None).await?;
    let in_version = |v: &str| scope.version.as_deref().is_none_or(|want| want == v);
    let changes: Vec<StageChange> = all_changes
        .iter()
        .map(|c| StageChange {
            version: c.version.clone(),
            to: c.to_stage,
            at: c.changed_at,
        })
        .collect();
    let overlapping = |stage| {
        spans_in(&changes, stage)
            .into_iter()
            .filter(|s| in_version(&s.version) && s.overlaps(scope.from, scope.to))
            .collect::<Vec<_>>()
    };
    let production_timeline = overlapping(Stage::Production);
    // Versions that were in Staging or Production at some instant of the scope.
    let reached: BTreeSet<String> = production_timeline
        .iter()
        .chain(overlapping(Stage::Staging).iter())
        .map(|s| s.version.clone())
        .collect();
    let in_range = |at: i64| scope.from.is_none_or(|f| at >= f) && scope.to.is_none_or(|t| at < t);
    let stage_changes = all_changes
        .iter()
        .filter(|c| in_version(&c.version) && in_range(c.changed_at))
        .map(|c| ReportStageChange {
            version: c.version.clone(),
            from: c.from_stage,
            to: c.to_stage,
            by: c.changed_by.clone(),
            at: c.changed_at,
            reason: c.reason.clone(),
            request_id: c.request_id,
        })
        .collect();

    let mut version_ids: Vec<(String, i64)> = all_changes
        .iter()
        .filter(|c| reached.contains(&c.version))
        .map(|c| (c.version.clone(), c.version_id))
        .collect();
    version_ids.sort_by_key(|(_, id)| *id);
    version_ids.dedup();
    let mut report_versions = Vec::with_capacity(version_ids.len());
    for (_, id) in version_ids {
        if let Some(row) = versions::by_id(pool, id).await? {
            report_versions.push(report_version(cx, &model.name, row).await?);
        }
    }
    let chain = super::audit_log::verify_incrementally(&cx.state).await?;
    Ok(ComplianceReport {
        schema: REPORT_SCHEMA.to_owned(),
        generated_at: now_ms(),
        generated_by: cx.by.username.clone(),
        scope,
        model: ReportModel {
            name: model.name,
            description: model.about.description,
            team: model.about.team,
            created_by: model.created_by,
            created_at: model.created_at,
        },
        production_timeline,
        stage_changes,
        versions: report_versions,
        audit_chain: ChainStatus {
            intact: chain.first_broken_id.is_none(),
            events_checked: chain.checked,
            first_broken_id: chain.first_broken_id,
        },
    })
}

async fn report_version(
    cx: &Ctx,
    model: &str,
    row: versions::VersionRow,
) -> Result<ReportVersion, AppError> {
    let pool = cx.state.db.pool();
    let parent = match row.parent_version_id {
        Some(id) => versions::name_and_version(pool, id)
            .await?
            .map(|(model, version)| crate::dto::VersionRef { model, version }),
        None => None,
    };
    let params = versions::map_of(pool, "version_params", row.id).await?;
    let metrics = versions::metrics(pool, row.id).await?;
    let artifacts = super::artifacts::list_for(&cx.state, model, &row)
        .await?
        .into_iter()
        .map(|a| ReportArtifact {
            path: a.path,
            size: a.size,
            sha256: a.sha256,
            external_uri: a.external_uri,
            created_by: a.created_by,
            created_at: a.created_at,
        })
        .collect();
    let request_rows = workflow_repo::requests_for_version(pool, row.id).await?;
    let requests = workflow_views::views(cx, &request_rows).await?;
    let evaluations = super::evaluations::list_for(&cx.state, row.id).await?;
    Ok(ReportVersion {
        lineage: catalog::lineage_view(&row, parent),
        stage: row.stage,
        content_digest: row.content_digest.clone(),
        evaluations,
        version: row.version,
        seq: row.seq,
        created_by: row.created_by,
        created_at: row.created_at,
        params,
        metrics,
        artifacts,
        requests,
    })
}
