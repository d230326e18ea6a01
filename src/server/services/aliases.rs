//! Aliases (`champion` → 2.1.0) and the lookups deployment pipelines make:
//! "which version is in production, and where are its files?".
//!
//! An alias the policy protects moves only through a request and its
//! sign-offs (`workflow::open_alias_request`); an unprotected one moves at
//! once. Either way the change itself is written by `alias_moves`.

use super::{
    alias_moves::{self, AliasMove},
    artifacts, commit, lookup, stored,
    workflow::{self, effective_policy, Justification},
    Ctx,
};
use crate::{
    domain::{AliasName, ModelName, Permission, RequestKind, SemVer, Stage, VersionRequirement},
    dto::{AliasOutcome, AliasView, ResolvedVersion},
    error::{AppError, Missing},
    server::{
        db::now_ms,
        repo::{
            aliases::{self, ResolvedRow, Selector},
            artifacts::ArtifactRow,
            models,
        },
    },
};

/// Points `alias` at `version`: at once for an unprotected alias, through a
/// request for a protected one (which applies at once only when its rule
/// needs no sign-off).
pub async fn set_alias(
    cx: &Ctx,
    model_name: &ModelName,
    alias: &AliasName,
    version: &SemVer,
    justification: Option<Justification>,
) -> Result<AliasOutcome, AppError> {
    cx.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let (model, row) = lookup::lock_version(&mut tx, cx.db(), model_name, version).await?;
    let current = aliases::find(&mut tx, model.id, alias.as_str()).await?;
    let policy = effective_policy(&mut tx, model.id).await?;
    let view = |protected| AliasView {
        alias: alias.to_string(),
        version: row.version.clone(),
        updated_by: cx.by.username.clone(),
        updated_at: now,
        protected,
    };
    let Some(rule) = policy.alias_rule(alias) else {
        alias_moves::write(
            &mut tx,
            &cx.origin,
            AliasMove {
                model: &model,
                alias,
                to: Some((row.id, &row.version)),
                actor: Some(&cx.by.actor()),
                by: &cx.by.username,
                request_id: None,
                reason: None,
            },
            now,
        )
        .await?;
        commit(tx).await?;
        cx.state.webhook_wake.notify_one();
        return Ok(AliasOutcome::Moved {
            alias: Some(view(false)),
        });
    };
    if current == Some(row.id) {
        // Already there: nothing to ask for.
        return Ok(AliasOutcome::Moved {
            alias: Some(view(true)),
        });
    }
    let stage: Stage = row.stage;
    if !rule.admits(stage) {
        let wanted = rule.stage.map(Stage::title).unwrap_or_default();
        return Err(AppError::Conflict(format!(
            "alias {alias} may only point at a version in {wanted} under the policy \
             (rule `{}`); {model_name} {} is in {}",
            rule.pattern,
            row.version,
            stage.title()
        )));
    }
    let previous = match current {
        Some(id) => crate::server::repo::workflow::version_string(&mut tx, id).await?,
        None => None,
    };
    let justification = justification.unwrap_or_else(|| {
        Justification::stated_by_edge("No justification was given for this alias move.")
    });
    let id = workflow::open_alias_request(
        &mut tx,
        &cx.by,
        &cx.origin,
        &model,
        &row,
        RequestKind::AliasSet,
        alias,
        previous.as_deref(),
        rule.approvals,
        &justification,
        &policy,
        now,
    )
    .await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    Ok(AliasOutcome::Requested {
        request: workflow::reload(cx, id).await?,
    })
}

/// Removes `alias`: at once when unprotected, through a request when protected.
pub async fn remove_alias(
    cx: &Ctx,
    model_name: &ModelName,
    alias: &AliasName,
    justification: Option<Justification>,
) -> Result<AliasOutcome, AppError> {
    cx.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let model = lookup::lock_model(&mut tx, cx.db(), model_name).await?;
    let missing = || {
        AppError::NotFound(Missing::Alias {
            model: model_name.to_string(),
            alias: alias.to_string(),
        })
    };
    let current = aliases::find(&mut tx, model.id, alias.as_str())
        .await?
        .ok_or_else(missing)?;
    let policy = effective_policy(&mut tx, model.id).await?;
    let Some(rule) = policy.alias_rule(alias) else {
        alias_moves::write(
            &mut tx,
            &cx.origin,
            AliasMove {
                model: &model,
                alias,
                to: None,
                actor: Some(&cx.by.actor()),
                by: &cx.by.username,
                request_id: None,
                reason: None,
            },
            now,
        )
        .await?;
        commit(tx).await?;
        cx.state.webhook_wake.notify_one();
        return Ok(AliasOutcome::Moved { alias: None });
    };
    let row = crate::server::repo::versions::by_id(cx.state.db.pool(), current)
        .await?
        .ok_or_else(missing)?;
    let justification = justification.unwrap_or_else(|| {
        Justification::stated_by_edge("No justification was given for removing this alias.")
    });
    let id = workflow::open_alias_request(
        &mut tx,
        &cx.by,
        &cx.origin,
        &model,
        &row,
        RequestKind::AliasRemove,
        alias,
        Some(&row.version),
        rule.approvals,
        &justification,
        &policy,
        now,
    )
    .await?;
    commit(tx).await?;
    cx.state.webhook_wake.notify_one();
    Ok(AliasOutcome::Requested {
        request: workflow::reload(cx, id).await?,
    })
}

pub async fn list_aliases(cx: &Ctx, model_name: &str) -> Result<Vec<AliasView>, AppError> {
    let model = lookup::find_model(cx, model_name).await?;
    let rows = aliases::list_for_model(cx.state.db.pool(), model.id).await?;
    let mut conn = cx.state.db.pool().acquire().await?;
    let policy = effective_policy(&mut conn, model.id).await?;
    drop(conn);
    rows.into_iter()
        .map(|r| {
            let protected = policy.alias_rule(&stored("alias", &r.alias)?).is_some();
            Ok(AliasView {
                alias: r.alias,
                version: r.version,
                updated_by: r.updated_by,
                updated_at: r.updated_at,
                protected,
            })
        })
        .collect()
}

// ------------------------------------------------------------ lookups

/// What a pipeline asks for.
#[derive(Debug, Clone)]
pub enum Target {
    Stage(Stage),
    Alias(AliasName),
    Version(SemVer),
    /// The highest live version.
    Latest,
}

impl Target {
    /// The `{alias}` path segment: a stage name or `latest` means what it
    /// says; anything else must be a valid alias name.
    pub fn from_alias_segment(raw: &str) -> Result<Self, AppError> {
        if let Ok(stage) = raw.parse::<Stage>() {
            return Ok(Target::Stage(stage));
        }
        if raw.trim().eq_ignore_ascii_case("latest") {
            return Ok(Target::Latest);
        }
        Ok(Target::Alias(AliasName::parse(raw)?))
    }

    fn describe(&self) -> String {
        match self {
            Target::Stage(stage) => format!("version in {stage}"),
            Target::Alias(alias) => format!("alias {alias}"),
            Target::Version(v) => format!("version {v}"),
            Target::Latest => "version".to_owned(),
        }
    }
}

pub enum Resolution {
    Found(ResolvedVersion),
    /// The model was renamed; ask again under this name.
    Moved(String),
}

/// Resolves a lookup in one indexed query (version and artifacts together).
/// `matches` picks the highest version satisfying a semver requirement.
pub async fn resolve(
    cx: &Ctx,
    model_name: &str,
    target: &Target,
    matches: Option<&VersionRequirement>,
) -> Result<Resolution, AppError> {
    cx.require(Permission::Read)?;
    let pool = cx.state.db.pool();
    let selector = match target {
        Target::Stage(stage) => Selector::Stage(stage.as_str().to_owned()),
        Target::Alias(alias) => Selector::Alias(alias.as_str().to_owned()),
        Target::Version(v) => Selector::Version(v.identity_key()),
        Target::Latest if matches.is_some() => Selector::All,
        Target::Latest => Selector::Latest,
    };
    let rows = aliases::resolve(pool, model_name, &selector).await?;
    if let Some(found) = pick(model_name, rows, matches)? {
        return Ok(Resolution::Found(found));
    }
    // Nothing matched: say precisely what is missing.
    if models::find_by_name(pool, model_name).await?.is_none() {
        return match models::renamed_to(pool, model_name).await? {
            Some(new_name) => Ok(Resolution::Moved(new_name)),
            None => Err(AppError::NotFound(Missing::Model(model_name.to_string()))),
        };
    }
    let wanted = match matches {
        Some(req) => format!("{} matching {req}", target.describe()),
        None => target.describe(),
    };
    Err(AppError::NotFound(Missing::Resolved {
        model: model_name.to_string(),
        wanted,
    }))
}

/// The first (highest) version in `rows` that satisfies `matches`, with
/// its artifacts.
fn pick(
    model: &str,
    rows: Vec<ResolvedRow>,
    matches: Option<&VersionRequirement>,
) -> Result<Option<ResolvedVersion>, AppError> {
    let accepted = |version: &str| match matches {
        None => true,
        Some(req) => SemVer::parse(version).is_ok_and(|v| req.matches(&v)),
    };
    let Some(chosen) = rows.iter().find(|r| accepted(&r.version)) else {
        return Ok(None);
    };
    let chosen = chosen.version_id;
    let mut rows = rows
        .into_iter()
        .filter(|r| r.version_id == chosen)
        .peekable();
    let Some(first) = rows.peek().cloned() else {
        return Ok(None);
    };
    let files = rows
        .filter_map(|r| {
            Some(ArtifactRow {
                id: r.artifact_id?,
                version_id: r.version_id,
                path: r.path?,
                size: r.size,
                sha256: r.sha256,
                media_type: r.media_type?,
                format: r.format?,
                storage_key: r.storage_key,
                external_uri: r.external_uri,
                created_by: r.artifact_created_by?,
                created_at: r.artifact_created_at?,
            })
        })
        .map(|a| artifacts::view(model, &first.version, a))
        .collect();
    Ok(Some(ResolvedVersion {
        model: model.to_owned(),
        stage: first.stage,
        content_digest: first.content_digest,
        version: first.version,
        seq: first.seq,
        status: first.status,
        commit_sha: first.commit_sha,
        created_by: first.created_by,
        created_at: first.created_at,
        artifacts: files,
    }))
}
