//! Server functions of the promotion workflow: the approvals inbox, a
//! version's stage story, requests and their reviews, aliases, the policy.

use leptos::prelude::*;

use crate::{
    dto::{AliasOutcome, Inbox, PolicyView, RequestView, VersionWorkflow},
    error::AppError,
};

/// Parses a request number from a form field.
#[cfg(feature = "ssr")]
fn request_id(raw: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid("id", "must be a positive request number"))
}

#[server(prefix = "/fn", endpoint = "workflow/inbox")]
pub async fn get_inbox() -> Result<Inbox, AppError> {
    use crate::server::{context, services::workflow_views};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            workflow_views::inbox(&cx).await
        }
        .await,
    )
}

/// Open requests, for the navigation badge; 0 when signed out.
#[server(prefix = "/fn", endpoint = "workflow/pending_count")]
pub async fn pending_count() -> Result<i64, AppError> {
    use crate::server::{context, services::workflow_views};
    context::respond(
        async move {
            match context::ctx().await {
                Ok(cx) => workflow_views::pending_count(&cx).await,
                Err(AppError::Unauthenticated) => Ok(0),
                Err(e) => Err(e),
            }
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "workflow/version")]
pub async fn get_version_workflow(
    name: String,
    version: String,
) -> Result<VersionWorkflow, AppError> {
    use crate::{
        domain::SemVer,
        server::{
            context,
            services::{lookup, workflow_views},
        },
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let _state = context::state()?;
            let version = SemVer::parse(&version)?;
            let (model, row) = lookup::find_version(&cx, &name, &version).await?;
            workflow_views::version_workflow(&cx, &model, &row).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "workflow/open")]
pub async fn open_transition(
    model: String,
    version: String,
    to: String,
    justification: String,
) -> Result<RequestView, AppError> {
    use crate::{
        domain::{FieldError, ModelName, SemVer, Stage},
        server::{
            context,
            services::workflow::{self, Justification},
        },
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let model = ModelName::parse(&model)?;
            let version = SemVer::parse(&version)?;
            let to: Stage = to
                .parse()
                .map_err(|e: FieldError| AppError::invalid("to", e.message))?;
            let justification = Justification::parse(&justification)?;
            workflow::open_request(&cx, &model, &version, to, justification).await
        }
        .await,
    )
}

/// Approve or reject: `decision` is `approve` or `reject`. The form carries
/// the content digest the reviewer was shown, so a sign-off is given on
/// exactly that content.
#[server(prefix = "/fn", endpoint = "workflow/review")]
pub async fn review_request(
    model: String,
    id: String,
    decision: String,
    comment: String,
    content_digest: Option<String>,
) -> Result<RequestView, AppError> {
    use crate::{
        domain::{ContentDigest, Decision, ModelName},
        server::{context, services::workflow},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let model = ModelName::parse(&model)?;
            let id = request_id(&id)?;
            let decision: Decision = decision.parse()?;
            let seen = content_digest
                .filter(|d| !d.trim().is_empty())
                .map(|d| ContentDigest::parse(&d))
                .transpose()?;
            workflow::review(&cx, &model, id, decision, &comment, seen.as_ref()).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "workflow/cancel")]
pub async fn cancel_request(
    model: String,
    id: String,
    reason: String,
) -> Result<RequestView, AppError> {
    use crate::{
        domain::ModelName,
        server::{context, services::workflow},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let model = ModelName::parse(&model)?;
            let id = request_id(&id)?;
            workflow::cancel(&cx, &model, id, &reason).await
        }
        .await,
    )
}

/// An optional justification from a form: empty means none given.
#[cfg(feature = "ssr")]
fn optional_justification(
    raw: Option<String>,
) -> Result<Option<crate::domain::Justification>, AppError> {
    Ok(raw
        .filter(|j| !j.trim().is_empty())
        .map(|j| crate::domain::Justification::parse(&j))
        .transpose()?)
}

/// Points an alias here; a protected alias opens a request instead.
#[server(prefix = "/fn", endpoint = "workflow/set_alias")]
pub async fn set_alias(
    model: String,
    version: String,
    alias: String,
    justification: Option<String>,
) -> Result<AliasOutcome, AppError> {
    use crate::{
        domain::{AliasName, ModelName, SemVer},
        server::{context, services::aliases},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let model = ModelName::parse(&model)?;
            let version = SemVer::parse(&version)?;
            let alias = AliasName::parse(&alias)?;
            let justification = optional_justification(justification)?;
            aliases::set_alias(&cx, &model, &alias, &version, justification).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "workflow/remove_alias")]
pub async fn remove_alias(
    model: String,
    alias: String,
    justification: Option<String>,
) -> Result<AliasOutcome, AppError> {
    use crate::{
        domain::{AliasName, ModelName},
        server::{context, services::aliases},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let model = ModelName::parse(&model)?;
            let alias = AliasName::parse(&alias)?;
            let justification = optional_justification(justification)?;
            aliases::remove_alias(&cx, &model, &alias, justification).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "workflow/policy")]
pub async fn get_policy() -> Result<PolicyView, AppError> {
    use crate::server::{context, services::workflow_views};
    context::respond(
        async move {
            let cx = context::ctx().await?;
            workflow_views::policy(&cx).await
        }
        .await,
    )
}

/// The registry-wide policy form; fields as in `ApprovalPolicy::from_pairs`.
#[server(prefix = "/fn", endpoint = "workflow/save_policy")]
pub async fn save_policy(
    staging: String,
    production: String,
    archived: String,
    experimental: String,
    request_ttl_hours: String,
    archive_previous_production: Option<String>,
    protected_aliases: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        domain::ApprovalPolicy,
        server::{context, services::workflow_views},
    };
    context::respond(
        async move {
            let cx = context::ctx().await?;
            let mut pairs = vec![
                ("staging", staging),
                ("production", production),
                ("archived", archived),
                ("experimental", experimental),
                ("request_ttl_hours", request_ttl_hours),
                (
                    "archive_previous_production",
                    archive_previous_production.unwrap_or_default(),
                ),
            ];
            if let Some(rules) = protected_aliases {
                pairs.push(("protected_aliases", rules));
            }
            let policy = ApprovalPolicy::from_pairs(pairs)?;
            workflow_views::set_registry_policy(&cx, policy).await
        }
        .await,
    )
}
