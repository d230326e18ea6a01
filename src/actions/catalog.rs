use leptos::prelude::*;

use crate::{
    dto::{CompareView, ModelDetail, SearchPage, VersionDetail},
    error::AppError,
};

/// The catalog search; `query` is the page's URL query string.
#[server(prefix = "/fn", endpoint = "catalog/search")]
pub async fn search_models(query: String) -> Result<SearchPage, AppError> {
    use crate::{
        domain::CatalogQuery,
        server::{context, services::catalog},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(query.trim_start_matches('?'))
                    .map_err(|_| AppError::invalid("query", "is not a valid query string"))?;
            let query =
                CatalogQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
            catalog::search(&cx, query).await
        }
        .await,
    )
}

/// A model page's data. An old name of a renamed model redirects.
#[server(prefix = "/fn", endpoint = "catalog/model")]
pub async fn get_model(name: String, metric: Option<String>) -> Result<ModelDetail, AppError> {
    use crate::server::{
        context,
        services::{catalog, lookup},
    };
    let found = async {
        let cx = context::ctx().await?;
        Ok::<_, AppError>((lookup::lookup(&cx, &name).await?, cx))
    };
    match context::respond(found.await)? {
        (lookup::Lookup::Found(model), cx) => {
            context::respond(catalog::model_detail(&cx, model, metric.as_deref()).await)
        }
        (lookup::Lookup::Moved(new_name), _) => {
            // A redirect, not an error status: old links keep working.
            leptos_axum::redirect(&format!("/models/{new_name}"));
            Err(AppError::NotFound(format!(
                "model {name} (renamed to {new_name})"
            )))
        }
    }
}

#[server(prefix = "/fn", endpoint = "catalog/version")]
pub async fn get_version(name: String, version: String) -> Result<VersionDetail, AppError> {
    use crate::{
        domain::SemVer,
        server::{
            context,
            services::{catalog, lookup},
        },
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let _state = context::state()?;
            let version = SemVer::parse(&version)?;
            let (model, row) = lookup::find_version(&cx, &name, &version).await?;
            if model.name != name {
                leptos_axum::redirect(&format!("/models/{}/versions/{}", model.name, row.version));
            }
            catalog::version_detail(&cx, &model, row).await
        }
        .await,
    )
}

/// 2–5 versions of one model side by side; `versions` is comma-separated.
#[server(prefix = "/fn", endpoint = "catalog/compare")]
pub async fn compare_versions(name: String, versions: String) -> Result<CompareView, AppError> {
    use crate::{
        domain::SemVer,
        server::{
            context,
            services::{catalog, lookup},
        },
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let _state = context::state()?;
            let wanted: Vec<&str> = versions
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect();
            if !(2..=5).contains(&wanted.len()) {
                return Err(AppError::invalid("v", "choose 2 to 5 versions to compare"));
            }
            let mut details = Vec::new();
            for v in wanted {
                let version = SemVer::parse(v).map_err(|e| AppError::invalid("v", e.message))?;
                let (model, row) = lookup::find_version(&cx, &name, &version).await?;
                details.push(catalog::version_detail(&cx, &model, row).await?);
            }
            Ok(CompareView {
                model: name,
                versions: details,
            })
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "catalog/create_model")]
pub async fn create_model(name: String, team: String, description: String) -> Result<(), AppError> {
    use crate::{
        domain::{catalog as limits, ModelName, Permission},
        server::{context, services::catalog},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            cx.require(Permission::Contribute)?;
            let input = catalog::NewModelInput {
                name: ModelName::parse(&name)?,
                description: limits::text(
                    "description",
                    &description,
                    limits::DESCRIPTION_MAX_BYTES,
                )?,
                team: limits::team(&team)?,
                tags: Default::default(),
            };
            let model = catalog::create_model(&cx, input).await?;
            leptos_axum::redirect(&format!("/models/{}", model.name));
            Ok(())
        }
        .await,
    )
}

/// Edits a model from its page. `tags` is one `key=value` per line.
#[server(prefix = "/fn", endpoint = "catalog/update_model")]
pub async fn update_model(
    name: String,
    new_name: String,
    team: String,
    description: String,
    tags: String,
) -> Result<(), AppError> {
    use crate::{
        domain::{catalog as limits, ModelName, Permission},
        server::{context, services::catalog},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            cx.require(Permission::Contribute)?;
            let name = ModelName::parse(&name)?;
            let new_name = ModelName::parse(&new_name)?;
            let mut tag_map = std::collections::BTreeMap::new();
            for line in tags.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let (k, v) = line.split_once('=').ok_or_else(|| {
                    AppError::invalid("tags", format!("{line:?} is not key=value"))
                })?;
                tag_map.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            let patch = catalog::ModelPatch {
                new_name: Some(new_name),
                description: Some(limits::text(
                    "description",
                    &description,
                    limits::DESCRIPTION_MAX_BYTES,
                )?),
                team: Some(limits::team(&team)?),
                tags: Some(limits::string_map(
                    "tags",
                    &tag_map,
                    limits::MAX_TAGS,
                    limits::TAG_VALUE_MAX_LEN,
                )?),
                headline_metric: None,
            };
            let model = catalog::update_model(&cx, &name, patch).await?;
            leptos_axum::redirect(&format!("/models/{}", model.name));
            Ok(())
        }
        .await,
    )
}

/// Records an evaluation of a version from the version page's form:
/// `metrics` holds one `key = value` per line.
#[server(prefix = "/fn", endpoint = "catalog/record_evaluation")]
pub async fn record_evaluation(
    model: String,
    version: String,
    name: String,
    dataset: Option<String>,
    metrics: String,
    notes: Option<String>,
) -> Result<crate::dto::EvaluationView, AppError> {
    use crate::{
        domain::{parse_metric_lines, ModelName, NewEvaluation, SemVer},
        server::{context, services::evaluations},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let model = ModelName::parse(&model)?;
            let version = SemVer::parse(&version)?;
            let metrics = parse_metric_lines(&metrics)?;
            let input = NewEvaluation::parse(
                &name,
                dataset.as_deref(),
                &metrics,
                notes.as_deref().unwrap_or(""),
            )?;
            evaluations::record(&cx, &model, &version, input).await
        }
        .await,
    )
}
