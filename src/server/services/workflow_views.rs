//! Reading the workflow back: request lists, the approvals inbox, a
//! version's stage history, and the approval policy (which admins edit).

use std::collections::BTreeMap;

use serde_json::json;

use super::{
    audit, begin, catalog, commit, lookup, stored,
    workflow::{decode, effective_policy, view},
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
    error::AppError,
    server::{
        auth::Principal,
        db::now_ms,
        repo::{
            aliases,
            audit::Origin,
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

pub async fn list_requests(
    state: &AppState,
    by: &Principal,
    query: RequestQuery,
) -> Result<RequestPage, AppError> {
    by.require(Permission::Read)?;
    let model_id = match &query.model {
        Some(name) => Some(lookup::find_model(state, by, name.as_str()).await?.id),
        None => None,
    };
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let filter = RequestFilter {
        state: query.state.map(|s| s.as_str().to_owned()),
        model_id,
        requested_by: query.mine.then_some(by.user_id),
        before_id: query.before,
        limit: limit + 1,
    };
    let mut rows = repo::list_requests(state.db.pool(), &filter).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(50));
    let requests = views(state, by, &rows).await?;
    Ok(RequestPage {
        next_before: if has_more {
            rows.last().map(|r| r.id)
        } else {
            None
        },
        requests,
    })
}

pub(crate) async fn views(
    state: &AppState,
    by: &Principal,
    rows: &[RequestRow],
) -> Result<Vec<RequestView>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut conn = state.db.pool().acquire().await?;
    let reviews = repo::reviews_of(&mut conn, &ids).await?;
    let now = now_ms();
    rows.iter()
        .map(|row| view(row, &reviews, by, now))
        .collect()
}

/// Open requests still before their deadline (the navigation badge).
pub async fn pending_count(state: &AppState, by: &Principal) -> Result<i64, AppError> {
    by.require(Permission::Read)?;
    repo::count_live_pending(state.db.pool(), now_ms())
        .await
        .map_err(AppError::from)
}

/// The approvals page: every live pending request with the lineage and the
/// metrics a reviewer compares, and the reader's own requests.
pub async fn inbox(state: &AppState, by: &Principal) -> Result<Inbox, AppError> {
    by.require(Permission::Read)?;
    let pool = state.db.pool();
    let pending_filter = RequestFilter {
        state: Some(RequestState::Pending.as_str().to_owned()),
        limit: MAX_PAGE,
        ..Default::default()
    };
    let mut pending_rows = repo::list_requests(pool, &pending_filter).await?;
    pending_rows.reverse();
    let mut pending = Vec::new();
    for request in views(state, by, &pending_rows).await? {
        if !request.state.is_open() {
            continue; // lapsed; the sweeper will close it
        }
        let Some(row) = pending_rows.iter().find(|r| r.id == request.id) else {
            continue;
        };
        pending.push(card(state, row, request).await?);
    }
    let mine_filter = RequestFilter {
        requested_by: Some(by.user_id),
        limit: 20,
        ..Default::default()
    };
    let mine_rows = repo::list_requests(pool, &mine_filter).await?;
    Ok(Inbox {
        pending,
        mine: views(state, by, &mine_rows).await?,
        can_approve: by.can(Permission::Approve),
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
    state: &AppState,
    by: &Principal,
    model: &ModelRow,
    row: &VersionRow,
) -> Result<VersionWorkflow, AppError> {
    by.require(Permission::Read)?;
    let pool = state.db.pool();
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
            from: h.from_stage.map(|s| stored("stage", &s)).transpose()?,
            to: stored("stage", &h.to_stage)?,
            by: h.changed_by,
            reason: h.reason,
            at: h.changed_at,
            request_id: h.request_id,
        });
    }
    let request_rows = repo::requests_for_version(pool, row.id).await?;
    let requests = views(state, by, &request_rows).await?;
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
    let current: Stage = stored("stage", &row.stage)?;
    Ok(VersionWorkflow {
        history,
        requests,
        aliases,
        protected_aliases,
        required: allowed_targets(current)
            .map(|to| (to, policy.required_approvals(to)))
            .collect(),
        can_request: by.can(Permission::Contribute),
    })
}

// ------------------------------------------------------------ policy

pub async fn policy(state: &AppState, by: &Principal) -> Result<PolicyView, AppError> {
    by.require(Permission::Read)?;
    let mut conn = state.db.pool().acquire().await?;
    let registry = match repo::policy_json(&mut conn, repo::REGISTRY_SCOPE).await? {
        Some(json) => decode(&json)?,
        None => ApprovalPolicy::default(),
    };
    drop(conn);
    let mut overrides = BTreeMap::new();
    for (name, json) in repo::overrides(state.db.pool()).await? {
        overrides.insert(name, decode::<PolicyOverride>(&json)?);
    }
    Ok(PolicyView {
        registry,
        overrides,
    })
}

/// Replaces the registry-wide policy (admins). Open requests keep the
/// sign-off count they were opened with.
pub async fn set_registry_policy(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    policy: ApprovalPolicy,
) -> Result<(), AppError> {
    by.require(Permission::Administer)?;
    policy.validate()?;
    let json = serde_json::to_string(&policy).map_err(|_| AppError::Internal)?;
    let mut tx = begin(state).await?;
    repo::put_policy(&mut tx, repo::REGISTRY_SCOPE, &json, &by.username, now_ms()).await?;
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "policy.update",
        ("policy", "registry"),
        json!({ "policy": policy }),
    )
    .await?;
    commit(tx).await
}

/// Sets (or, when empty, removes) a model's override (admins).
pub async fn set_model_policy(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    model_name: &ModelName,
    pinned: PolicyOverride,
) -> Result<(), AppError> {
    by.require(Permission::Administer)?;
    pinned.validate()?;
    let mut tx = begin(state).await?;
    let model = lookup::lock_model(&mut tx, state, model_name).await?;
    if pinned.is_empty() {
        repo::delete_policy(&mut tx, model.id).await?;
    } else {
        let json = serde_json::to_string(&pinned).map_err(|_| AppError::Internal)?;
        repo::put_policy(&mut tx, model.id, &json, &by.username, now_ms()).await?;
    }
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "policy.update",
        ("model", model_name.as_str()),
        json!({ "override": pinned }),
    )
    .await?;
    commit(tx).await
}

/// One request, which must belong to `model_name`.
pub async fn get_request(
    state: &AppState,
    by: &Principal,
    model_name: &str,
    id: i64,
) -> Result<RequestView, AppError> {
    let model = lookup::find_model(state, by, model_name).await?;
    let mut conn = state.db.pool().acquire().await?;
    let row = repo::find_request(&mut conn, id)
        .await?
        .filter(|r| r.model_id == model.id)
        .ok_or_else(|| AppError::NotFound(format!("request {id} of model {}", model.name)))?;
    let reviews = repo::reviews_of(&mut conn, &[id]).await?;
    view(&row, &reviews, by, now_ms())
}
