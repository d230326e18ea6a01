//! Environments and deployment reports: what actually ran where, and the
//! answers built on it. A report of a version that is not in the
//! environment's required stage is recorded all the same, flagged as a
//! violation (audit event, webhook, model page, report): evidence is never
//! dropped. For one environment and model, reports append in time order,
//! so the timeline never changes behind an answer already given.

use serde_json::json;

use super::{lookup, version_evidence, Ctx};
use crate::{
    domain::{
        serving_at, serving_spans, violation, DeploymentReportForm, DeploymentState,
        EnvironmentForm, EnvironmentName, Instant, Permission, ServingSpan, WebhookEvent,
    },
    dto::{
        AttributedVersion, Attribution, DatasetImpact, DeploymentView, EnvironmentTimeline,
        EnvironmentView, ImpactedSpan, ModelEnvironment, ServingAt, VersionRef,
    },
    error::{AppError, Missing},
    server::{
        db::{now_ms, OnUnique},
        events,
        repo::{
            deployments::{self as repo, DeploymentRow, EnvironmentRow, NewDeployment},
            timeline, versions,
        },
    },
};

fn environment_view(row: EnvironmentRow) -> EnvironmentView {
    EnvironmentView {
        name: row.name,
        required_stage: row.required_stage,
        description: row.description,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

fn deployment_view(row: &DeploymentRow) -> Result<DeploymentView, AppError> {
    Ok(DeploymentView {
        id: row.id,
        environment: row.environment.clone(),
        model: row.model.clone(),
        version: row.version.clone(),
        state: super::stored::<DeploymentState>("deployment state", &row.state)?,
        at: row.at,
        stage: row.stage,
        violation: row.violation.clone(),
        content_digest: row.content_digest.clone(),
        receipt_id: row.receipt_id.clone(),
        reported_by: row.reported_by.clone(),
        reported_at: row.reported_at,
    })
}

fn spans_of(rows: &[DeploymentRow]) -> Result<Vec<ServingSpan>, AppError> {
    let events = rows
        .iter()
        .map(|r| {
            r.event().map_err(|_| {
                tracing::error!(id = r.id, state = %r.state, "unknown deployment state");
                AppError::Internal
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(serving_spans(&events))
}

/// Defines an environment (admins).
pub async fn create_environment(
    cx: &Ctx,
    form: EnvironmentForm,
) -> Result<EnvironmentView, AppError> {
    cx.require(Permission::Administer)?;
    let env = form.parse()?;
    let mut tx = cx.begin().await?;
    let row = repo::insert_environment(
        &mut tx,
        env.name.as_str(),
        env.required_stage,
        &env.description,
        &cx.by.username,
        now_ms(),
    )
    .await
    .on_unique(|| AppError::Conflict(format!("environment {} already exists", env.name)))?;
    cx.audit(
        &mut tx,
        "environment.create",
        ("environment", env.name.as_str()),
        json!({ "required_stage": env.required_stage, "description": env.description }),
    )
    .await?;
    tx.commit().await?;
    Ok(environment_view(row))
}

pub async fn list_environments(cx: &Ctx) -> Result<Vec<EnvironmentView>, AppError> {
    cx.require(Permission::Read)?;
    let rows = repo::list_environments(cx.db().pool()).await?;
    Ok(rows.into_iter().map(environment_view).collect())
}

async fn find_environment(cx: &Ctx, raw: &str) -> Result<EnvironmentRow, AppError> {
    let name = EnvironmentName::parse(raw)?;
    repo::find_environment(cx.db().pool(), name.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Environment(name.to_string())))
}

/// Records a pipeline's report "`environment` serves (or stopped) this
/// version" (a `deploy` token or better).
pub async fn report(
    cx: &Ctx,
    environment: &str,
    form: DeploymentReportForm,
) -> Result<DeploymentView, AppError> {
    cx.require(Permission::Deploy)?;
    let env_name = EnvironmentName::parse(environment)?;
    let now = now_ms();
    let report = form.parse(now)?;
    let mut tx = cx.begin().await?;
    let env = repo::lock_environment(&mut tx, cx.db().backend(), env_name.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(Missing::Environment(env_name.to_string())))?;
    let (model, version) =
        lookup::lock_version(&mut tx, cx.db(), &report.model, &report.version).await?;
    if let Some((latest_at, latest_state, latest_version)) =
        repo::latest_report(&mut tx, env.id, model.id).await?
    {
        if report.at < latest_at {
            return Err(AppError::invalid(
                "at",
                format!(
                    "is before the newest report of {} in {} ({}); reports of one model \
                     in one environment arrive in time order",
                    model.name,
                    env.name,
                    Instant(latest_at).to_rfc3339()
                ),
            ));
        }
        if report.state == DeploymentState::Stopped
            && (latest_state != DeploymentState::Serving.as_str() || latest_version != version.id)
        {
            return Err(AppError::invalid(
                "state",
                format!(
                    "{} does not serve version {} of {}",
                    env.name, version.version, model.name
                ),
            ));
        }
    } else if report.state == DeploymentState::Stopped {
        return Err(AppError::invalid(
            "state",
            format!("{} never served {}", env.name, model.name),
        ));
    }
    if let Some(id) = &report.receipt_id {
        let receipt = repo::find_receipt(&mut tx, id.as_str())
            .await?
            .ok_or_else(|| AppError::invalid("receipt_id", "no receipt with this id was issued"))?;
        if receipt.version_id != version.id {
            return Err(AppError::invalid(
                "receipt_id",
                format!(
                    "was issued for another version, not {} {}",
                    model.name, version.version
                ),
            ));
        }
    }
    let stage = timeline::version_stage_at(&mut tx, version.id, report.at).await?;
    let violation = match report.state {
        DeploymentState::Serving => violation(&env.name, env.required_stage, stage),
        DeploymentState::Stopped => None,
    };
    let id = repo::insert_deployment(
        &mut tx,
        NewDeployment {
            environment_id: env.id,
            model_id: model.id,
            version_id: version.id,
            state: report.state,
            at: report.at,
            stage,
            violation: violation.as_deref(),
            content_digest: version.content_digest.as_deref(),
            receipt_id: report.receipt_id.as_ref().map(|r| r.as_str()),
            reported_by: &cx.by.username,
            now,
        },
    )
    .await?;
    let target = format!("{}@{}", model.name, version.version);
    let details = json!({
        "deployment_id": id, "environment": env.name, "state": report.state,
        "at": report.at, "stage": stage, "required_stage": env.required_stage,
        "content_digest": version.content_digest,
        "receipt_id": report.receipt_id.as_ref().map(|r| r.as_str()),
        "violation": violation,
    });
    cx.audit(
        &mut tx,
        "deployment.report",
        ("version", &target),
        details.clone(),
    )
    .await?;
    let mut event = details;
    event["model"] = json!(model.name);
    event["version"] = json!(version.version);
    event["reported_by"] = json!(cx.by.username);
    events::emit(
        &mut tx,
        WebhookEvent::DeploymentReported,
        event.clone(),
        now,
    )
    .await?;
    if let Some(reason) = &violation {
        cx.audit(
            &mut tx,
            "deployment.violation",
            ("version", &target),
            json!({ "deployment_id": id, "environment": env.name, "reason": reason }),
        )
        .await?;
        events::emit(&mut tx, WebhookEvent::DeploymentViolation, event, now).await?;
        tracing::warn!(environment = %env.name, version = %target, reason, "deployment violation recorded");
    }
    let row = repo::find_deployment(&mut tx, id)
        .await?
        .ok_or(AppError::Internal)?;
    tx.commit().await?;
    cx.state.webhook_wake.notify_one();
    deployment_view(&row)
}

/// An environment's whole timeline (optionally of one model).
pub async fn timeline(
    cx: &Ctx,
    environment: &str,
    model: Option<&str>,
) -> Result<EnvironmentTimeline, AppError> {
    cx.require(Permission::Read)?;
    let env = find_environment(cx, environment).await?;
    let model_id = match model {
        Some(name) => Some(lookup::find_model(cx, name).await?.id),
        None => None,
    };
    let rows = repo::environment_reports(cx.db().pool(), env.id, model_id).await?;
    Ok(EnvironmentTimeline {
        spans: spans_of(&rows)?,
        reports: rows.iter().map(deployment_view).collect::<Result<_, _>>()?,
        environment: environment_view(env),
    })
}

/// What served in the environment at `at` (optionally only `model`).
pub async fn serving(
    cx: &Ctx,
    environment: &str,
    at: i64,
    model: Option<&str>,
) -> Result<ServingAt, AppError> {
    let t = timeline(cx, environment, model).await?;
    Ok(ServingAt {
        environment: t.environment.name,
        at,
        serving: serving_at(&t.spans, at).into_iter().cloned().collect(),
    })
}

/// The model's deployments in every environment it ever ran in.
pub async fn for_model(cx: &Ctx, model_name: &str) -> Result<Vec<ModelEnvironment>, AppError> {
    let model = lookup::find_model(cx, model_name).await?;
    let pool = cx.db().pool();
    let rows = repo::model_reports(pool, model.id).await?;
    let mut out: Vec<ModelEnvironment> = Vec::new();
    let envs = repo::list_environments(pool).await?;
    for env in envs {
        let of_env: Vec<DeploymentRow> = rows
            .iter()
            .filter(|r| r.environment == env.name)
            .cloned()
            .collect();
        if of_env.is_empty() {
            continue;
        }
        out.push(ModelEnvironment {
            spans: spans_of(&of_env)?,
            violations: of_env
                .iter()
                .filter(|r| r.violation.is_some())
                .map(deployment_view)
                .collect::<Result<_, _>>()?,
            environment: environment_view(env),
        });
    }
    Ok(out)
}

/// Which version served in `environment` at `at`, with its lineage,
/// parameters, metrics, artifact digests, approval trail and the receipt
/// its deployment named (auditors and admins).
pub async fn attribution(
    cx: &Ctx,
    environment: &str,
    at: i64,
    model: Option<&str>,
) -> Result<Attribution, AppError> {
    cx.require(Permission::ReadAudit)?;
    let env = find_environment(cx, environment).await?;
    let model_id = match model {
        Some(name) => Some(lookup::find_model(cx, name).await?.id),
        None => None,
    };
    let pool = cx.db().pool();
    let rows = repo::environment_reports(pool, env.id, model_id).await?;
    let spans = spans_of(&rows)?;
    let mut answers = Vec::new();
    for span in serving_at(&spans, at) {
        let Some(row) = rows.iter().find(|r| r.id == span.deployment_id) else {
            continue;
        };
        let Some(version_row) = versions::by_id(pool, row.version_id).await? else {
            continue;
        };
        let receipt = match &row.receipt_id {
            Some(id) => {
                let mut conn = pool.acquire().await?;
                repo::find_receipt(&mut conn, id).await?.map(|r| r.envelope)
            }
            None => None,
        };
        answers.push(AttributedVersion {
            model: span.model.clone(),
            span: span.clone(),
            deployment: deployment_view(row)?,
            version: version_evidence::report_version(cx, &span.model, version_row).await?,
            receipt,
        });
    }
    Ok(Attribution {
        environment: environment_view(env),
        at,
        answers,
        generated_at: now_ms(),
        generated_by: cx.by.username.clone(),
    })
}

/// Which versions trained on dataset `hash` (directly or through parent
/// versions) ever served, and where and when.
pub async fn dataset_impact(
    cx: &Ctx,
    dataset_hash: &str,
    environment: Option<&str>,
) -> Result<DatasetImpact, AppError> {
    cx.require(Permission::Read)?;
    let hash = dataset_hash.trim();
    if hash.is_empty() || hash.len() > 200 {
        return Err(AppError::invalid(
            "dataset_hash",
            "is required (at most 200 characters)",
        ));
    }
    let env_id = match environment {
        Some(name) => Some(find_environment(cx, name).await?.id),
        None => None,
    };
    let pool = cx.db().pool();
    let trained: Vec<VersionRef> = repo::trained_on(pool, hash)
        .await?
        .into_iter()
        .map(|(_, model, version)| VersionRef { model, version })
        .collect();
    let is_trained = |s: &ServingSpan| {
        trained
            .iter()
            .any(|t| t.model == s.model && t.version == s.version)
    };
    // The environments where one of them ran; each environment's spans come
    // from its whole timeline, since a report of another version ends one.
    let environments = repo::environments_serving_trained(pool, hash, env_id).await?;
    let mut served = Vec::new();
    for (id, name) in environments {
        let rows = repo::environment_reports(pool, id, None).await?;
        for span in spans_of(&rows)?.into_iter().filter(|s| is_trained(s)) {
            served.push(ImpactedSpan {
                environment: name.clone(),
                span,
            });
        }
    }
    Ok(DatasetImpact {
        dataset_hash: hash.to_owned(),
        trained,
        served,
    })
}
