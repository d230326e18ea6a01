//! Aliases (`champion` → 2.1.0) and the lookups deployment pipelines make:
//! "which version is in production, and where are its files?".

use serde_json::json;

use super::{artifacts, audit, begin, catalog, commit};
use crate::{
    domain::{AliasName, ModelName, Permission, SemVer, Stage, VersionRequirement, WebhookEvent},
    dto::{AliasView, ResolvedVersion},
    error::AppError,
    server::{
        auth::{principal::db_error, Principal},
        db::now_ms,
        repo::{
            aliases::{self, ResolvedRow, Selector},
            artifacts::ArtifactRow,
            audit::Origin,
            models,
        },
        state::AppState,
    },
};

/// Points `alias` at `version`, creating or moving it.
pub async fn set_alias(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    model_name: &ModelName,
    alias: &AliasName,
    version: &SemVer,
) -> Result<AliasView, AppError> {
    by.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = begin(state).await?;
    let (model, row) = catalog::lock_version(&mut tx, state, model_name, version).await?;
    let before = aliases::set(&mut tx, model.id, alias.as_str(), row.id, &by.username, now)
        .await
        .map_err(db_error)?;
    let previous = match before {
        Some(id) if id == row.id => {
            // Already there: nothing changed, nothing to record.
            commit(tx).await?;
            return Ok(alias_view(alias, &row.version, &by.username, now));
        }
        Some(id) => crate::server::repo::workflow::version_string(&mut tx, id)
            .await
            .map_err(db_error)?,
        None => None,
    };
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "alias.set",
        ("model", model_name.as_str()),
        json!({ "alias": alias.as_str(), "from": previous, "to": row.version }),
    )
    .await?;
    let event = json!({
        "model": model.name, "alias": alias.as_str(), "from": previous, "to": row.version,
        "moved_by": by.username,
    });
    crate::server::events::emit(&mut tx, WebhookEvent::AliasMoved, event, now)
        .await
        .map_err(db_error)?;
    commit(tx).await?;
    state.webhook_wake.notify_one();
    Ok(alias_view(alias, &row.version, &by.username, now))
}

fn alias_view(alias: &AliasName, version: &str, by: &str, at: i64) -> AliasView {
    AliasView {
        alias: alias.to_string(),
        version: version.to_owned(),
        updated_by: by.to_owned(),
        updated_at: at,
    }
}

pub async fn remove_alias(
    state: &AppState,
    by: &Principal,
    origin: &Origin,
    model_name: &ModelName,
    alias: &AliasName,
) -> Result<(), AppError> {
    by.require(Permission::Contribute)?;
    let now = now_ms();
    let mut tx = begin(state).await?;
    let model = catalog::lock_model(&mut tx, state, model_name).await?;
    let removed = aliases::delete(&mut tx, model.id, alias.as_str())
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::NotFound(format!("alias {alias} of model {model_name}")))?;
    let previous = crate::server::repo::workflow::version_string(&mut tx, removed)
        .await
        .map_err(db_error)?;
    audit(
        state,
        &mut tx,
        Some(&by.actor()),
        origin,
        "alias.delete",
        ("model", model_name.as_str()),
        json!({ "alias": alias.as_str(), "from": previous }),
    )
    .await?;
    let event = json!({
        "model": model.name, "alias": alias.as_str(), "from": previous, "to": null,
        "moved_by": by.username,
    });
    crate::server::events::emit(&mut tx, WebhookEvent::AliasMoved, event, now)
        .await
        .map_err(db_error)?;
    commit(tx).await?;
    state.webhook_wake.notify_one();
    Ok(())
}

pub async fn list_aliases(
    state: &AppState,
    by: &Principal,
    model_name: &str,
) -> Result<Vec<AliasView>, AppError> {
    let model = catalog::find_model(state, by, model_name).await?;
    let rows = aliases::list_for_model(state.db.pool(), model.id)
        .await
        .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|r| AliasView {
            alias: r.alias,
            version: r.version,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        })
        .collect())
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
    state: &AppState,
    by: &Principal,
    model_name: &str,
    target: &Target,
    matches: Option<&VersionRequirement>,
) -> Result<Resolution, AppError> {
    by.require(Permission::Read)?;
    let pool = state.db.pool();
    let selector = match target {
        Target::Stage(stage) => Selector::Stage(stage.as_str().to_owned()),
        Target::Alias(alias) => Selector::Alias(alias.as_str().to_owned()),
        Target::Version(v) => Selector::Version(v.identity_key()),
        Target::Latest if matches.is_some() => Selector::All,
        Target::Latest => Selector::Latest,
    };
    let rows = aliases::resolve(pool, model_name, &selector)
        .await
        .map_err(db_error)?;
    if let Some(found) = pick(model_name, rows, matches) {
        return Ok(Resolution::Found(found));
    }
    // Nothing matched: say precisely what is missing.
    if models::find_by_name(pool, model_name)
        .await
        .map_err(db_error)?
        .is_none()
    {
        return match models::renamed_to(pool, model_name)
            .await
            .map_err(db_error)?
        {
            Some(new_name) => Ok(Resolution::Moved(new_name)),
            None => Err(AppError::NotFound(format!("model {model_name}"))),
        };
    }
    let wanted = match matches {
        Some(req) => format!("{} matching {req}", target.describe()),
        None => target.describe(),
    };
    Err(AppError::NotFound(format!(
        "{wanted} of model {model_name}"
    )))
}

/// The first (highest) version in `rows` that satisfies `matches`, with
/// its artifacts.
fn pick(
    model: &str,
    rows: Vec<ResolvedRow>,
    matches: Option<&VersionRequirement>,
) -> Option<ResolvedVersion> {
    let accepted = |version: &str| match matches {
        None => true,
        Some(req) => SemVer::parse(version).is_ok_and(|v| req.matches(&v)),
    };
    let chosen = rows.iter().find(|r| accepted(&r.version))?.version_id;
    let mut rows = rows
        .into_iter()
        .filter(|r| r.version_id == chosen)
        .peekable();
    let first = rows.peek()?.clone();
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
    Some(ResolvedVersion {
        model: model.to_owned(),
        stage: first.stage.parse().unwrap_or(Stage::Experimental),
        version: first.version,
        seq: first.seq,
        status: first.status,
        commit_sha: first.commit_sha,
        created_by: first.created_by,
        created_at: first.created_at,
        artifacts: files,
    })
}
