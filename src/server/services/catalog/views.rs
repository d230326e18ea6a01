//! Reading the catalog back: search results, a model's page and a
//! version's page, each in a bounded number of queries.

use std::collections::BTreeMap;

use super::super::{content, evaluations, Ctx};
use crate::{
    domain::{CatalogQuery, Permission},
    dto::{
        LineageView, ModelDetail, ModelSummary, SearchPage, SeriesPoint, VersionDetail, VersionRef,
        VersionSummary,
    },
    error::AppError,
    server::{
        markdown,
        repo::{
            models::{self, ModelRow},
            search,
            versions::{self, VersionRow},
        },
    },
};

pub async fn search(cx: &Ctx, query: CatalogQuery) -> Result<SearchPage, AppError> {
    cx.require(Permission::Read)?;
    let pool = cx.state.db.pool();
    let (hits, has_next) = search::search(pool, cx.state.db.backend(), &query).await?;
    let models = hits
        .into_iter()
        .map(|found| {
            let mut stages: Vec<_> = found.stages.iter().map(|(stage, _)| *stage).collect();
            stages.sort();
            let h = found.hit;
            ModelSummary {
                summary: summarize(&h.description),
                name: h.name,
                team: h.team,
                tags: found.tags.into_iter().collect(),
                stages,
                latest_version: found.latest,
                version_count: found.stages.iter().map(|(_, n)| n).sum(),
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
    let parts = models::parts(cx.state.db.pool(), cx.state.db.backend(), &model, metric).await?;
    let versions = parts
        .versions
        .into_iter()
        .map(|v| VersionSummary {
            headline: v.headline,
            stage: v.stage,
            version: v.version,
            seq: v.seq,
            status: v.status,
            created_at: v.created_at,
            created_by: v.created_by,
        })
        .collect();
    let (tags, metric_keys, headline_key) = (parts.tags, parts.metric_keys, parts.headline_key);
    Ok(ModelDetail {
        description_html: markdown::render(&model.about.description),
        name: model.name,
        about: model.about,
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
    let artifacts = super::super::artifacts::list_for(&cx.state, &model.name, &row).await?;
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
pub fn lineage_view(row: &VersionRow, parent: Option<VersionRef>) -> LineageView {
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
}
