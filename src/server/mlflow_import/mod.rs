//! `model-registry import-mlflow --from URL [--models PATTERN]`: copies an
//! MLflow server's registered models, their versions (numbers kept), tags,
//! descriptions, aliases, stages and files into this registry, through the
//! same services (and so the same permissions, approval policy and audit
//! trail) as every other edge.
//!
//! - Idempotent: what is already here is recognized (models by name,
//!   versions by number, files by path, aliases and stages by where they
//!   point) and left alone, so a second run copies nothing.
//! - Resumable: a version is registered `registering`, its files stream in
//!   (SHA-256 computed on the way, sizes checked against MLflow's listing),
//!   and only then does it become `ready`. An interrupted run leaves it
//!   `registering`; the next run uploads the files still missing.
//! - Stages and protected aliases never bypass sign-off: a version that was
//!   in Production there gets a transition request here, with a
//!   justification saying so; the audit trail marks it imported.
//!   MLflow's REST API exposes a version's current stage, not its history.

pub mod client;
mod progress;

use serde_json::json;

pub use client::Client;
pub use progress::{Progress, TerminalProgress};

use crate::{
    domain::{
        catalog::{MlflowSource, NewModelForm, Tags, VersionForm, VersionStatus},
        mlflow_import::{imported_semver, NamePattern, SourceFiles},
        step_towards, AliasName, ArtifactPath, ModelName, RequestState, SemVer, Stage,
    },
    dto::AliasOutcome,
    error::{AppError, Missing},
    server::{
        mlflow::our_stage,
        services::{
            aliases, artifacts, catalog, mlflow as reads,
            workflow::{self, Justification},
            Ctx,
        },
    },
};

/// The version tag that carries a semver (this registry's MLflow API sets it).
const SEMVER_TAG: &str = "mlflow.semver";
const IMPORTED_FROM_TAG: &str = "mlflow.imported_from";

/// What a run copied, recognized, and could not copy.
#[derive(Debug, Default)]
pub struct Summary {
    pub models_created: u64,
    pub models_present: u64,
    pub versions_imported: u64,
    pub versions_resumed: u64,
    pub versions_present: u64,
    pub files_copied: u64,
    pub bytes_copied: u64,
    pub aliases_set: u64,
    pub requests_opened: u64,
    pub stages_applied: u64,
    /// One line per thing left behind, saying why.
    pub not_copied: Vec<String>,
    /// What waits for someone (a stage reached in more than one step).
    pub follow_ups: Vec<String>,
}

impl Summary {
    pub fn copied_nothing(&self) -> bool {
        self.models_created
            + self.versions_imported
            + self.versions_resumed
            + self.files_copied
            + self.aliases_set
            + self.requests_opened
            + self.stages_applied
            == 0
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "models: {} created, {} already here",
            self.models_created, self.models_present
        )?;
        writeln!(
            f,
            "versions: {} imported, {} resumed, {} already here",
            self.versions_imported, self.versions_resumed, self.versions_present
        )?;
        writeln!(
            f,
            "files: {} copied ({} bytes, SHA-256 recorded)",
            self.files_copied, self.bytes_copied
        )?;
        writeln!(
            f,
            "aliases: {} set; stages: {} applied, {} transition or alias requests opened for sign-off",
            self.aliases_set, self.stages_applied, self.requests_opened
        )?;
        for line in &self.follow_ups {
            writeln!(f, "  next: {line}")?;
        }
        if self.not_copied.is_empty() {
            write!(f, "nothing left behind")
        } else {
            writeln!(f, "not copied ({}):", self.not_copied.len())?;
            for line in &self.not_copied {
                writeln!(f, "  - {line}")?;
            }
            Ok(())
        }
    }
}

/// One version to copy, as MLflow lists it.
struct Planned {
    model: client::RegisteredModel,
    versions: Vec<client::ModelVersion>,
}

/// Runs the import as `cx`'s user. An unreachable source fails the whole
/// run; a model or version that cannot be copied is listed in the summary
/// and the rest goes on.
pub async fn run(
    cx: &Ctx,
    source: &Client,
    pattern: &NamePattern,
    progress: &dyn Progress,
) -> Result<Summary, String> {
    // Refuse at once, not model by model: the import registers versions.
    cx.require(crate::domain::Permission::Contribute).map_err(|_| {
        format!(
            "{} has no permission to register models (role {}); import as a contributor or an admin (--as)",
            cx.by.username, cx.by.role
        )
    })?;
    let mut summary = Summary::default();
    let mut plan = Vec::new();
    for model in source.models().await.map_err(|e| e.to_string())? {
        if !pattern.matches(&model.name) {
            continue;
        }
        let mut versions = source
            .versions(&model.name)
            .await
            .map_err(|e| e.to_string())?;
        versions.sort_by_key(|v| v.version.parse::<i64>().unwrap_or(i64::MAX));
        plan.push(Planned { model, versions });
    }
    progress.planned(plan.iter().map(|p| p.versions.len() as u64).sum());
    for planned in plan {
        import_model(cx, source, planned, progress, &mut summary).await;
    }
    Ok(summary)
}

async fn import_model(
    cx: &Ctx,
    source: &Client,
    planned: Planned,
    progress: &dyn Progress,
    summary: &mut Summary,
) {
    let raw = planned.model.name.clone();
    let name = match ModelName::parse(&raw) {
        Ok(n) => n,
        Err(e) => {
            summary.not_copied.push(format!("model {raw:?}: {e}"));
            progress.skip(planned.versions.len() as u64);
            return;
        }
    };
    let form = NewModelForm {
        name: raw.clone(),
        description: Some(planned.model.description.clone()),
        team: None,
        tags: Some(Tags::Map(
            planned
                .model
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
        )),
    };
    match catalog::create_model(cx, form).await {
        Ok(_) => summary.models_created += 1,
        Err(AppError::Conflict(_)) => summary.models_present += 1,
        Err(e) => {
            summary.not_copied.push(format!("model {raw}: {e}"));
            progress.skip(planned.versions.len() as u64);
            return;
        }
    }
    for version in &planned.versions {
        progress.version(&raw, &version.version);
        if let Err(e) = import_version(cx, source, &name, version, progress, summary).await {
            summary
                .not_copied
                .push(format!("{raw} version {}: {e}", version.version));
        }
        progress.version_done();
    }
    match source.model(&raw).await {
        Ok(with_aliases) => {
            for a in &with_aliases.aliases {
                if let Err(e) = import_alias(cx, &name, a, source.base(), summary).await {
                    summary
                        .not_copied
                        .push(format!("{raw} alias {}: {e}", a.alias));
                }
            }
        }
        Err(e) => summary.not_copied.push(format!("{raw} aliases: {e}")),
    }
}

/// Our version with MLflow's number, if it was imported (or made) before.
async fn existing(
    cx: &Ctx,
    name: &ModelName,
    number: i64,
) -> Result<Option<reads::MlflowVersion>, AppError> {
    match reads::version(cx, name.as_str(), number).await {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(Missing::VersionNumber { .. })) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn import_version(
    cx: &Ctx,
    source: &Client,
    name: &ModelName,
    v: &client::ModelVersion,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<(), String> {
    let number: i64 = v
        .version
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or("not a positive version number")?;
    let semver_tag = v
        .tags
        .iter()
        .find(|t| t.key == SEMVER_TAG)
        .map(|t| t.value.as_str());
    let (semver, status, fresh) = match existing(cx, name, number)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(found) => {
            let semver = SemVer::parse(&found.record.version).map_err(|e| e.to_string())?;
            (semver, found.record.status, false)
        }
        None => {
            let semver = imported_semver(semver_tag, number).map_err(|e| e.to_string())?;
            register(cx, source, name, v, number, &semver).await?;
            summary.versions_imported += 1;
            (semver, VersionStatus::Registering, true)
        }
    };
    match status {
        VersionStatus::Ready | VersionStatus::Failed => summary.versions_present += 1,
        VersionStatus::Registering => {
            if !fresh {
                // Left `registering` by an interrupted run: finish it.
                summary.versions_resumed += 1;
            }
            copy_files(cx, source, name, &semver, v, progress, summary).await?;
            let note = json!({
                "imported_from": source.base(), "mlflow_version": number,
                "mlflow_stage": v.current_stage,
            });
            catalog::finish_registration(cx, name, &semver, VersionStatus::Ready, note)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    import_stage(cx, source, name, &semver, v, summary).await
}

async fn register(
    cx: &Ctx,
    source: &Client,
    name: &ModelName,
    v: &client::ModelVersion,
    number: i64,
    semver: &SemVer,
) -> Result<(), String> {
    let mut tags: std::collections::BTreeMap<String, String> = v
        .tags
        .iter()
        .filter(|t| t.key != SEMVER_TAG)
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    tags.insert(IMPORTED_FROM_TAG.to_owned(), source.base().to_owned());
    let optional = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let form = VersionForm {
        version: Some(semver.to_string()),
        description: Some(v.description.clone()),
        status: Some(VersionStatus::Registering.as_str().to_owned()),
        tags: Some(tags),
        mlflow: Some(MlflowSource {
            source: v.source.clone(),
            run_id: optional(&v.run_id),
            run_link: optional(&v.run_link),
            number: Some(number),
        }),
        ..VersionForm::default()
    };
    catalog::register_version(cx, name, form)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Streams every file MLflow serves for the version that is not here yet.
async fn copy_files(
    cx: &Ctx,
    source: &Client,
    name: &ModelName,
    semver: &SemVer,
    v: &client::ModelVersion,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<(), String> {
    let uri = source
        .download_uri(name.as_str(), &v.version)
        .await
        .map_err(|e| e.to_string())?;
    let root = match SourceFiles::of(&uri) {
        SourceFiles::Served(root) => root,
        SourceFiles::Elsewhere(uri) => {
            summary.not_copied.push(format!(
                "{name} version {}: its files stay at {uri} (not served by the MLflow server); \
                 the version's source points there",
                v.version
            ));
            return Ok(());
        }
    };
    let here: std::collections::HashSet<String> = artifacts::list(cx, name.as_str(), semver)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|a| a.path)
        .collect();
    let files = source.files(&root).await.map_err(|e| e.to_string())?;
    for f in files.into_iter().filter(|f| !here.contains(&f.path)) {
        let path = ArtifactPath::parse(&f.path).map_err(|e| format!("{}: {e}", f.path))?;
        let remote = if root.is_empty() {
            f.path.clone()
        } else {
            format!("{root}/{}", f.path)
        };
        let body = source.download(&remote).await.map_err(|e| e.to_string())?;
        let counted = futures_util::StreamExt::inspect(body, |chunk| {
            if let Ok(bytes) = chunk {
                progress.bytes(bytes.len() as u64);
            }
        });
        let request = artifacts::UploadRequest {
            path,
            expected_sha256: None,
            declared_length: f.file_size.and_then(|s| u64::try_from(s).ok()),
        };
        let stored = artifacts::upload(cx, name, semver, request, Box::pin(counted))
            .await
            .map_err(|e| format!("{}: {e}", f.path))?;
        if let (Some(listed), Some(got)) = (f.file_size, stored.size) {
            if listed != got {
                return Err(format!(
                    "{}: MLflow listed {listed} bytes, {got} arrived",
                    f.path
                ));
            }
        }
        summary.files_copied += 1;
        summary.bytes_copied += u64::try_from(stored.size.unwrap_or(0)).unwrap_or(0);
    }
    Ok(())
}

fn justification(source: &Client, what: &str) -> Result<Justification, String> {
    Justification::parse(&format!(
        "Imported from the MLflow server at {}: {what}.",
        source.base()
    ))
    .map_err(|e| e.to_string())
}

/// MLflow's current stage, through the approval policy: applied where no
/// sign-off is needed, else a request opened for approvers.
async fn import_stage(
    cx: &Ctx,
    source: &Client,
    name: &ModelName,
    semver: &SemVer,
    v: &client::ModelVersion,
    summary: &mut Summary,
) -> Result<(), String> {
    let Some(stage) = our_stage(&v.current_stage).filter(|s| *s != Stage::Experimental) else {
        return Ok(());
    };
    let number: i64 = v.version.parse().map_err(|_| "not a version number")?;
    let here = reads::version(cx, name.as_str(), number)
        .await
        .map_err(|e| e.to_string())?;
    // Experimental → Production goes through Staging: the first step now,
    // the rest once it is signed off (a later run opens the next request).
    let Some(step) = step_towards(here.record.stage, stage) else {
        return Ok(());
    };
    let why = justification(
        source,
        &format!("version {} was in {} there", v.version, v.current_stage),
    )?;
    match workflow::open_request(cx, name, semver, step, why).await {
        Ok(request) if request.state == RequestState::Pending => summary.requests_opened += 1,
        Ok(_) => summary.stages_applied += 1,
        // Already requested by an earlier run: waiting for sign-off.
        Err(AppError::Conflict(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    if step != stage {
        summary.follow_ups.push(format!(
            "{name} version {} was in {} there: it moves to {step} first; once that is signed \
             off, run the import again (or promote it) for {stage}",
            v.version, v.current_stage
        ));
    }
    Ok(())
}

async fn import_alias(
    cx: &Ctx,
    name: &ModelName,
    a: &client::Alias,
    from: &str,
    summary: &mut Summary,
) -> Result<(), String> {
    // `production`/`staging` name stages here: imported as the stage.
    if matches!(
        a.alias.to_ascii_lowercase().as_str(),
        "production" | "staging"
    ) {
        return Ok(());
    }
    let alias = AliasName::parse(&a.alias).map_err(|e| e.to_string())?;
    let number: i64 = a.version.parse().map_err(|_| "not a version number")?;
    let target = reads::version(cx, name.as_str(), number)
        .await
        .map_err(|e| e.to_string())?;
    match reads::version_by_alias(cx, name.as_str(), alias.as_str()).await {
        Ok(current) if current.record.seq == number => return Ok(()),
        Ok(_) | Err(AppError::NotFound(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    let semver = SemVer::parse(&target.record.version).map_err(|e| e.to_string())?;
    let why = Justification::parse(&format!(
        "Imported from the MLflow server at {from}: alias {} named version {number} there.",
        a.alias
    ))
    .map_err(|e| e.to_string())?;
    match aliases::set_alias(cx, name, &alias, &semver, Some(why)).await {
        Ok(AliasOutcome::Requested { request }) if request.state == RequestState::Pending => {
            summary.requests_opened += 1
        }
        Ok(_) => summary.aliases_set += 1,
        Err(AppError::Conflict(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    Ok(())
}
