//! Everything the registry knows about one version, as evidence: lineage,
//! parameters, metrics, artifact digests, the approval trail and later
//! evaluations. The compliance report and attribution both show it.

use super::{catalog, workflow_views, Ctx};
use crate::{
    dto::{ReportArtifact, ReportVersion},
    error::AppError,
    server::repo::{versions, workflow as workflow_repo},
};

pub(crate) async fn report_version(
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
