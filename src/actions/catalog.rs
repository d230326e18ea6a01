use leptos::prelude::*;

use crate::{
    domain::catalog::{ModelEdit, NewModelForm},
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
            Err(AppError::NotFound(crate::error::Missing::Renamed {
                name,
                new_name,
            }))
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

/// Creates a model from the new-model page; the form's fields are the
/// REST API's body.
#[server(prefix = "/fn", endpoint = "catalog/create_model")]
pub async fn create_model(#[server(flatten)] form: NewModelForm) -> Result<(), AppError> {
    use crate::server::{context, services::catalog};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let model = catalog::create_model(&cx, form).await?;
            leptos_axum::redirect(&format!("/models/{}", model.name));
            Ok(())
        }
        .await,
    )
}

/// Edits a model from its page: `model` is its current name, the rest are
/// the REST API's PATCH body (`tags` as one `key=value` per line).
#[server(prefix = "/fn", endpoint = "catalog/update_model")]
pub async fn update_model(
    model: String,
    #[server(flatten)] edit: ModelEdit,
) -> Result<(), AppError> {
    use crate::{
        domain::ModelName,
        server::{context, services::catalog},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let model = catalog::update_model(&cx, &ModelName::parse(&model)?, edit).await?;
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
