//! Point-in-time answers and the compliance report: which version was where,
//! when, how it was trained, and who signed it off.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    domain::{spans_in, Permission, Stage, StageChange},
    dto::{
        ChainStatus, ComplianceReport, ReportModel, ReportScope, ReportStageChange, StagesAt,
        VersionInStage, REPORT_SCHEMA,
    },
    error::AppError,
    server::{
        db::now_ms,
        repo::{timeline, versions},
    },
};

use super::{lookup, version_evidence, Ctx};

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

    let deployments: Vec<crate::dto::ModelEnvironment> =
        super::deployments::for_model(cx, &model.name)
            .await?
            .into_iter()
            .map(|mut env| {
                env.spans
                    .retain(|s| in_version(&s.version) && s.overlaps(scope.from, scope.to));
                env.violations
                    .retain(|d| in_version(&d.version) && in_range(d.at));
                env
            })
            .filter(|env| !env.spans.is_empty() || !env.violations.is_empty())
            .collect();
    // Versions that served somewhere in scope are evidence too, whatever
    // their stage (a violation's version may never have been promoted).
    let served: BTreeSet<&str> = deployments
        .iter()
        .flat_map(|e| e.spans.iter().map(|s| s.version.as_str()))
        .collect();
    let mut version_ids: Vec<(String, i64)> = all_changes
        .iter()
        .filter(|c| reached.contains(&c.version))
        .map(|c| (c.version.clone(), c.version_id))
        .collect();
    for v in served {
        if reached.contains(v) {
            continue;
        }
        if let Ok(semver) = crate::domain::SemVer::parse(v) {
            if let Some(row) = versions::find(pool, model.id, &semver.identity_key()).await? {
                version_ids.push((row.version.clone(), row.id));
            }
        }
    }
    version_ids.sort_by_key(|(_, id)| *id);
    version_ids.dedup();
    let mut report_versions = Vec::with_capacity(version_ids.len());
    for (_, id) in version_ids {
        if let Some(row) = versions::by_id(pool, id).await? {
            report_versions.push(version_evidence::report_version(cx, &model.name, row).await?);
        }
    }
    let chain = super::audit_log::verify_incrementally(&cx.state).await?;
    let anchored = super::anchors::check(&cx.state).await?;
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
            intact: chain.first_broken_id.is_none() && anchored.intact,
            events_checked: chain.checked,
            first_broken_id: chain.first_broken_id,
            checkpoint_problems: anchored.problems,
            newest_checkpoint: anchored.newest.map(|c| {
                format!(
                    "{} events, head #{} ({}…), signed {} with key {}",
                    c.events,
                    c.head_id,
                    &c.head_hash[..c.head_hash.len().min(16)],
                    c.at,
                    c.key_id
                )
            }),
        },
        deployments,
    })
}
