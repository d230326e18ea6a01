//! Reading the workflow back: request lists, the approvals inbox, a
//! version's stage history, and the approval policy (which admins edit).

use std::collections::BTreeMap;

use serde_json::json;

use super::{
    catalog, commit, lookup,
    workflow::{decode, effective_policy, view},
    Ctx,
};
use crate::{
    domain::{
        allowed_targets, AliasName, ApprovalPolicy, ModelName, Permission, PolicyOverride,
        RequestState, Stage,
    },
    dto::{
        Inbox, MetricsOf, PolicyView, RequestPage, RequestView, ReviewCard, StageEventView,
        VersionRef, VersionWorkflow,
    },
    error::{AppError, Missing},
    server::{
        db::now_ms,
        repo::{
            aliases,
            models::ModelRow,
            versions::{self, VersionRow},
            workflow::{self as repo, RequestFilter, RequestRow},
        },
        state::AppState,
    },
};

pub const MAX_PAGE: i64 = 100;

/// Filters of the request list, parsed at the edge.
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    pub state: Option<RequestState>,
    pub model: Option<ModelName>,
    /// Only the caller's own requests.
    pub mine: bool,
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

pub async fn list_requests(cx: &Ctx, query: RequestQuery) -> Result<RequestPage, AppError> {
    cx.require(Permission::Read)?;
    let model_id = match &query.model {
        Some(name) => Some(lookup::find_model(cx, name.as_str()).await?.id),
        None => None,
    };
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let filter = RequestFilter {
        state: query.state.map(|s| s.as_str().to_owned()),
        model_id,
        requested_by: query.mine.then_some(cx.by.user_id),
        before_id: query.before,
        limit: limit + 1,
    };
    let mut rows = repo::list_requests(cx.state.db.pool(), &filter).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(50));
    let requests = views(cx, &rows).await?;
    Ok(RequestPage {
        next_before: if has_more {
            rows.last().map(|r| r.id)
        } else {
            None
        },
        requests,
    })
}

pub(crate) async fn views(cx: &Ctx, rows: &[RequestRow]) -> Result<Vec<RequestView>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut conn = cx.state.db.pool().acquire().await?;
    let reviews = repo::reviews_of(&mut conn, &ids).await?;
    let now = now_ms();
    rows.iter()
        .map(|row| view(row, &reviews, &cx.by, now))
        .collect()
}

/// Open requests still before their deadline (the navigation badge).
pub async fn pending_count(cx: &Ctx) -> Result<i64, AppError> {
    cx.require(Permission::Read)?;
    repo::count_live_pending(cx.state.db.pool(), now_ms())
        .await
        .map_err(AppError::from)
}

/// The approvals page: every live pending request with the lineage and the
/// metrics a reviewer compares, and the reader's own requests.
pub async fn inbox(cx: &Ctx) -> Result<Inbox, AppError> {
    cx.require(Permission::Read)?;
    let pool = cx.state.db.pool();
    let pending_filter = RequestFilter {
        state: Some(RequestState::Pending.as_str().to_owned()),
        limit: MAX_PAGE,
        ..Default::default()
    };
    let mut pending_rows = repo::list_requests(pool, &pending_filter).await?;
    pending_rows.reverse();
    let mut pending = Vec::new();
    for request in views(cx, &pending_rows).await? {
        if !request.state.is_open() {
            continue; // lapsed; the sweeper will close it
        }
        let Some(row) = pending_rows.iter().find(|r| r.id == request.id) else {
            continue;
        };
        pending.push(card(&cx.state, row, request).await?);
    }
    let mine_filter = RequestFilter {
        requested_by: Some(cx.by.user_id),
        limit: 20,
        ..Default::default()
    };
    let mine_rows = repo::list_requests(pool, &mine_filter).await?;
    Ok(Inbox {
        pending,
        mine: views(cx, &mine_rows).await?,
        can_approve: cx.by.can(Permission::Approve),
    })
}

async fn card(
    state: &AppState,
    row: &RequestRow,
    request: RequestView,
) -> Result<ReviewCard, AppError> {
    let pool = state.db.pool();
    let version = versions::by_id(pool, row.version_id)
        .await?
        .ok_or(AppError::Internal)?;
    let parent = match version.parent_version_id {
        Some(id) => versions::name_and_version(pool, id)
            .await?
            .map(|(model, version)| VersionRef { model, version }),
        None => None,
    };
    let candidate = MetricsOf {
        version: version.version.clone(),
        metrics: versions::metrics(pool, version.id).await?,
    };
    // Never hold one pooled connection while waiting for another: under
    // load every request would hold one and wait forever for a second.
    let mut conn = pool.acquire().await?;
    let in_production = repo::production_version(&mut conn, row.model_id).await?;
    drop(conn);
    let production = match in_production {
        Some((id, v)) if id != version.id => Some(MetricsOf {
            version: v,
            metrics: versions::metrics(pool, id).await?,
        }),
        _ => None,
    };
    Ok(ReviewCard {
        lineage: catalog::lineage_view(&version, parent),
        request,
        candidate,
        production,
    })
}

/// A version's stage story for its page.
pub async fn version_workflow(
    cx: &Ctx,
    model: &ModelRow,
    row: &VersionRow,
) -> Result<VersionWorkflow, AppError> {
    cx.require(Permission::Read)?;
    let pool = cx.state.db.pool();
    let registered = StageEventView {
        from: None,
        to: Stage::Experimental,
        by: row.created_by.clone(),
        reason: "registered".to_owned(),
        at: row.created_at,
        request_id: None,
    };
    let mut history = vec![registered];
    for h in repo::history(pool, row.id).await? {
        history.push(StageEventView {
            from: h.from_stage,
            to: h.to_stage,
            by: h.changed_by,
            reason: h.reason,
            at: h.changed_at,
            request_id: h.request_id,
        });
    }
    let request_rows = repo::requests_for_version(pool, row.id).await?;
    let requests = views(cx, &request_rows).await?;
    let aliases: Vec<String> = aliases::list_for_model(pool, model.id)
        .await?
        .into_iter()
        .filter(|a| a.version == row.version)
        .map(|a| a.alias)
        .collect();
    let mut conn = pool.acquire().await?;
    let policy = effective_policy(&mut conn, model.id).await?;
    drop(conn);
    let protected_aliases = aliases
        .iter()
        .filter(|a| AliasName::parse(a).is_ok_and(|name| policy.alias_rule(&name).is_some()))
        .cloned()
        .collect();
    let current: Stage = row.stage;
    Ok(VersionWorkflow {
        history,
        requests,
        aliases,
        protected_aliases,
        required: allowed_targets(current)
            .map(|to| (to, policy.required_approvals(to)))
            .collect(),
        can_request: cx.by.can(Permission::Contribute),
    })
}

// ------------------------------------------------------------ policy

pub async fn policy(cx: &Ctx) -> Result<PolicyView, AppError> {
    cx.require(Permission::Read)?;
    let mut conn = cx.state.db.pool().acquire().await?;
    let registry = match repo::policy_json(&mut conn, repo::REGISTRY_SCOPE).await? {
        Some(json) => decode(&json)?,
        None => ApprovalPolicy::default(),
    };
    drop(conn);
    let mut overrides = BTreeMap::new();
    for (name, json) in repo::overrides(cx.state.db.pool()).await? {
        overrides.insert(name, decode::<PolicyOverride>(&json)?);
    }
    Ok(PolicyView {
        registry,
        overrides,
    })
}

/// Replaces the registry-wide policy (admins). Open requests keep the
/// sign-off count they were opened with.
pub async fn set_registry_policy(cx: &Ctx, policy: ApprovalPolicy) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    policy.validate()?;
    let json = serde_json::to_string(&policy).map_err(|_| AppError::Internal)?;
    let mut tx = cx.begin().await?;
    repo::put_policy(
        &mut tx,
        repo::REGISTRY_SCOPE,
        &json,
        &cx.by.username,
        now_ms(),
    )
    .await?;
    cx.audit(
        &mut tx,
        "policy.update",
        ("policy", "registry"),
        json!({ "policy": policy }),
    )
    .await?;
    commit(tx).await
}

/// Sets (or, when empty, removes) a model's override (admins).
pub async fn set_model_policy(
    cx: &Ctx,
    model_name: &ModelName,
    pinned: PolicyOverride,
) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    pinned.validate()?;
    let mut tx = cx.begin().await?;
    let model = lookup::lock_model(&mut tx, cx.db(), model_name).await?;
    if pinned.is_empty() {
        repo::delete_policy(&mut tx, model.id).await?;
    } else {
        let json = serde_json::to_string(&pinned).map_err(|_| AppError::Internal)?;
        repo::put_policy(&mut tx, model.id, &json, &cx.by.username, now_ms()).await?;
    }
    cx.audit(
        &mut tx,
        "policy.update",
        ("model", model_name.as_str()),
        json!({ "override": pinned }),
    )
    .await?;
    commit(tx).await
}

/// One request, which must belong to `model_name`.
pub async fn get_request(cx: &Ctx, model_name: &str, id: i64) -> Result<RequestView, AppError> {
    let model = lookup::find_model(cx, model_name).await?;
    let mut conn = cx.state.db.pool().acquire().await?;
    let row = repo::find_request(&mut conn, id)
        .await?
        .filter(|r| r.model_id == model.id)
        .ok_or_else(|| {
            AppError::NotFound(Missing::Request {
                model: model.name.clone(),
                id,
            })
        })?;
    let reviews = repo::reviews_of(&mut conn, &[id]).await?;
    view(&row, &reviews, &cx.by, now_ms())
}
