//! Server functions for deployments: a model's environment timelines,
//! "what served there at T", and attribution.

use leptos::prelude::*;

use crate::{
    dto::{Attribution, ModelEnvironment, ServingAt},
    error::AppError,
};

/// The model's deployment timeline in every environment it ran in.
#[server(prefix = "/fn", endpoint = "deployments/model")]
pub async fn get_model_deployments(name: String) -> Result<Vec<ModelEnvironment>, AppError> {
    use crate::server::{context, services::deployments};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            deployments::for_model(&cx, &name).await
        }
        .await,
    )
}

/// What served in `environment` at `at` (now when blank), optionally of one model.
#[server(prefix = "/fn", endpoint = "deployments/serving")]
pub async fn get_serving_at(
    environment: String,
    at: Option<String>,
    model: Option<String>,
) -> Result<ServingAt, AppError> {
    use super::reports::optional_instant;
    use crate::server::{context, db::now_ms, services::deployments};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let at = optional_instant(at, "at")?.unwrap_or_else(now_ms);
            let model = model.filter(|m| !m.trim().is_empty());
            deployments::serving(&cx, &environment, at, model.as_deref()).await
        }
        .await,
    )
}

/// Which version served in `environment` at `at`, with its evidence.
#[server(prefix = "/fn", endpoint = "deployments/attribution")]
pub async fn get_attribution(
    environment: String,
    at: String,
    model: Option<String>,
) -> Result<Attribution, AppError> {
    use super::reports::optional_instant;
    use crate::server::{context, services::deployments};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let at = optional_instant(Some(at), "at")?
                .ok_or_else(|| AppError::invalid("at", "is required"))?;
            let model = model.filter(|m| !m.trim().is_empty());
            deployments::attribution(&cx, &environment, at, model.as_deref()).await
        }
        .await,
    )
}
