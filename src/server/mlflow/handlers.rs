//! The MLflow endpoints: decode the caller and arguments, call one of our
//! services (which authorize, validate, write and audit), answer as MLflow.
//! Reads go through `services::mlflow`, writes through the same catalog,
//! tags, aliases and workflow services as every other edge.

use axum::{
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};

use super::{
    args::Args,
    error::{MlResult, MlflowError},
    views::{self, our_stage, SEMVER_TAG},
};
use crate::{
    domain::{
        catalog::{MlflowSource, ModelEdit, NewModelForm, Tags, VersionEdit, VersionForm},
        mlflow_search::{self, parse_order_by, Entity},
        AliasName, ModelName, RequestState, SemVer, Stage,
    },
    dto::AliasOutcome,
    error::{AppError, Missing},
    server::services::{
        aliases, catalog,
        mlflow::{self as reads, Window},
        tags::{self, Subject},
        tracking,
        workflow::{self, Justification},
        Ctx,
    },
};

type Who = Result<Ctx, AppError>;

/// A name as our services take it; a name we could never have stored does not exist.
fn model_name(raw: &str) -> MlResult<ModelName> {
    ModelName::parse(raw).map_err(|_| AppError::NotFound(Missing::Model(raw.to_owned())).into())
}

fn version_number(raw: &str) -> MlResult<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            MlflowError::invalid(format!(
                "Model version must be a positive integer, got {raw:?}."
            ))
        })
}

/// The `name` and `version` arguments: the model, its version number, and
/// the semver our other services address it by.
async fn address(cx: &Ctx, args: &Args) -> MlResult<(ModelName, SemVer, i64)> {
    let name = args.required("name")?;
    let seq = version_number(&args.required("version")?)?;
    let (model, version) = reads::address(cx, &name, seq).await?;
    Ok((model, version, seq))
}

async fn model_json(cx: &Ctx, name: &str) -> MlResult<Json<Value>> {
    let model = reads::model(cx, name).await?;
    Ok(Json(json!({ "registered_model": views::model(&model) })))
}

async fn version_json(cx: &Ctx, name: &str, seq: i64) -> MlResult<Json<Value>> {
    let version = reads::version(cx, name, seq).await?;
    Ok(Json(json!({ "model_version": views::version(&version) })))
}

fn empty() -> Json<Value> {
    Json(json!({}))
}

// ------------------------------------------------------------ registered models

pub async fn create_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let form = NewModelForm {
        name: name.clone(),
        description: args.text("description")?,
        team: None,
        tags: Some(Tags::Map(args.tags()?.into_iter().collect())),
    };
    match catalog::create_model(&cx, form).await {
        Ok(_) => model_json(&cx, &name).await,
        Err(AppError::Conflict(_)) => Err(MlflowError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "RESOURCE_ALREADY_EXISTS",
            format!("Registered Model (name={name}) already exists."),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn rename_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let new_name = args.required("new_name")?;
    let edit = ModelEdit {
        name: Some(new_name.clone()),
        ..ModelEdit::default()
    };
    catalog::update_model(&cx, &model_name(&name)?, edit).await?;
    model_json(&cx, &new_name).await
}

pub async fn update_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let edit = ModelEdit {
        description: args.text("description")?,
        ..ModelEdit::default()
    };
    catalog::update_model(&cx, &model_name(&name)?, edit).await?;
    model_json(&cx, &name).await
}

pub async fn delete_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    catalog::delete_model(&cx, &model_name(&args.required("name")?)?).await?;
    Ok(empty())
}

pub async fn get_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    model_json(&who?, &args.required("name")?).await
}

/// Opaque to clients: base64 of `{"offset": N}`, as MLflow does.
fn page_offset(args: &Args) -> MlResult<i64> {
    let Some(token) = args.text("page_token")?.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bad = || MlflowError::invalid("Invalid page token.");
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    value["offset"].as_i64().filter(|o| *o >= 0).ok_or_else(bad)
}

fn page_token(offset: i64) -> String {
    URL_SAFE_NO_PAD.encode(json!({ "offset": offset }).to_string())
}

fn max_results(args: &Args, default: i64, max: i64) -> MlResult<i64> {
    match args.integer("max_results")? {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(MlflowError::invalid(format!(
            "Invalid value for request parameter max_results. It must be at most {max}, but got value {n}"
        ))),
    }
}

/// A search's filter, order and page, as MLflow sends them.
struct Search {
    clauses: Vec<mlflow_search::Clause>,
    orders: Vec<mlflow_search::Order>,
    window: Window,
}

impl Search {
    fn decode(args: &Args, entity: Entity, default: i64, max: i64) -> MlResult<Self> {
        let filter = args.text("filter")?.unwrap_or_default();
        Ok(Search {
            clauses: mlflow_search::parse(&filter, entity).map_err(MlflowError::invalid)?,
            orders: parse_order_by(&args.list("order_by")?, entity)
                .map_err(MlflowError::invalid)?,
            window: Window {
                limit: max_results(args, default, max)?,
                offset: page_offset(args)?,
            },
        })
    }

    /// The answer's body: `items` under `key`, and a token when more follow.
    fn answer<'k, T>(
        &self,
        key: &'k str,
        items: Vec<T>,
        more: bool,
    ) -> Json<views::Listing<'k, T>> {
        Json(views::Listing {
            key,
            items,
            next_page_token: more.then(|| page_token(self.window.offset + self.window.limit)),
        })
    }
}

pub async fn search_models(who: Who, args: Args) -> MlResult<Response> {
    let cx = who?;
    let search = Search::decode(&args, Entity::Models, 100, 1_000)?;
    let page = reads::search_models(&cx, &search.clauses, &search.orders, search.window).await?;
    Ok(search
        .answer("registered_models", views::models(&page.items), page.more)
        .into_response())
}

pub async fn latest_versions(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let stages = args
        .list("stages")?
        .iter()
        .map(|s| {
            our_stage(s)
                .ok_or_else(|| MlflowError::invalid(format!("Invalid Model Version stage: {s}.")))
        })
        .collect::<MlResult<Vec<_>>>()?;
    let latest = reads::latest_versions(&cx, &name, &stages).await?;
    Ok(Json(json!({ "model_versions": views::versions(&latest) })))
}

pub async fn set_model_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = model_name(&args.required("name")?)?;
    let (key, value) = (
        args.required("key")?,
        args.text("value")?.unwrap_or_default(),
    );
    tags::set(&cx, Subject::Model(&name), &key, &value).await?;
    Ok(empty())
}

pub async fn delete_model_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = model_name(&args.required("name")?)?;
    tags::delete(&cx, Subject::Model(&name), &args.required("key")?).await?;
    Ok(empty())
}

/// MLflow reserves `latest` and `v<digits>`: they would shadow its own lookups.
fn alias_name(raw: &str) -> MlResult<AliasName> {
    let lower = raw.to_ascii_lowercase();
    let reserved = lower == "latest"
        || (lower.len() > 1
            && lower.starts_with('v')
            && lower[1..].bytes().all(|b| b.is_ascii_digit()));
    if reserved {
        return Err(MlflowError::invalid(format!(
            "'{raw}' is a reserved alias name."
        )));
    }
    AliasName::parse(raw).map_err(|e| MlflowError::invalid(e.to_string()))
}

/// Teams that replaced stages by aliases call them `production` and
/// `staging`; here those names are the stages themselves, so the approval
/// policy applies to them exactly as to `transition-stage`.
fn stage_alias(raw: &str) -> Option<Stage> {
    match raw.to_ascii_lowercase().as_str() {
        "production" => Some(Stage::Production),
        "staging" => Some(Stage::Staging),
        _ => None,
    }
}

pub async fn set_alias(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let raw = args.required("alias")?;
    if let Some(stage) = stage_alias(&raw) {
        let (name, semver, seq) = address(&cx, &args).await?;
        let why = "Requested through the MLflow API (set alias).";
        move_to_stage(&cx, (&name, &semver, seq), stage, &raw, why).await?;
        return Ok(empty());
    }
    let alias = alias_name(&raw)?;
    let (name, semver, _) = address(&cx, &args).await?;
    let why = Justification::stated_by_edge("Requested through the MLflow API (set alias).");
    let outcome = aliases::set_alias(&cx, &name, &alias, &semver, Some(why)).await?;
    alias_outcome(&name, &alias, outcome)?;
    Ok(empty())
}

/// A protected alias is moved by sign-off, never by the call itself: the
/// caller learns which request to have approved, as for `transition-stage`.
fn alias_outcome(name: &ModelName, alias: &AliasName, outcome: AliasOutcome) -> MlResult<()> {
    match outcome {
        AliasOutcome::Requested { request } if request.state == RequestState::Pending => {
            Err(MlflowError::new(
                axum::http::StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                format!(
                    "Alias {alias} of {name} is protected by the registry's policy and needs {} \
                     approval(s): request #{} is now open. Approvers sign it off at /approvals or \
                     with POST /api/v1/models/{name}/requests/{}/approve.",
                    request.required, request.id, request.id
                ),
            ))
        }
        _ => Ok(()),
    }
}

pub async fn delete_alias(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = model_name(&args.required("name")?)?;
    let raw = args.required("alias")?;
    if let Some(stage) = stage_alias(&raw) {
        return Err(MlflowError::invalid(format!(
            "Alias {raw} is the {stage} stage: it moves when another version is promoted there; \
             to empty it, transition its version to Archived (transition-stage)."
        )));
    }
    let alias = alias_name(&raw)?;
    let why = Justification::stated_by_edge("Requested through the MLflow API (delete alias).");
    let outcome = aliases::remove_alias(&cx, &name, &alias, Some(why)).await?;
    alias_outcome(&name, &alias, outcome)?;
    Ok(empty())
}

pub async fn get_by_alias(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let alias = args.required("alias")?;
    let found = match stage_alias(&alias) {
        Some(stage) => {
            reads::latest_versions(&cx, &name, &[stage])
                .await
                .and_then(|mut in_stage| {
                    in_stage.pop().ok_or_else(|| {
                        AppError::NotFound(Missing::Alias {
                            model: name.clone(),
                            alias: alias.clone(),
                        })
                    })
                })
        }
        None => reads::version_by_alias(&cx, &name, &alias).await,
    };
    match found {
        Ok(version) => Ok(Json(json!({ "model_version": views::version(&version) }))),
        // MLflow answers a missing alias of an existing model as a bad argument.
        Err(AppError::NotFound(Missing::Alias { alias, .. })) => Err(MlflowError::invalid(
            format!("Registered model alias {alias} not found."),
        )),
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------ model versions

/// Registers a version. When the source names files logged here (a
/// logged model `models:/m-…`, or a run's `runs:/<run>/<dir>`), the version
/// takes them as its artifacts, in the same transaction, and takes the
/// run's params, metrics and git commit as its lineage.
pub async fn create_version(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let source = args.required("source")?;
    let model_id = args.text("model_id")?.filter(|s| !s.is_empty());
    let logged = tracking::registration(&cx, &source, model_id.as_deref()).await?;
    let (files, run_id, provenance) = match logged {
        Some(r) => (r.files, r.run_id.map(|r| r.to_string()), r.provenance),
        None => (Vec::new(), None, None),
    };
    let provenance = provenance.unwrap_or_default();
    let mut tags = provenance.tags;
    // Our semver travels as a version tag; without one the next patch is taken.
    let mut version = None;
    for (key, value) in args.tags()? {
        if key == SEMVER_TAG {
            version = Some(value);
        } else {
            tags.insert(key, value);
        }
    }
    let form = VersionForm {
        version,
        description: args.text("description")?,
        lineage: Some(provenance.lineage),
        params: Some(provenance.params),
        metrics: Some(provenance.metrics),
        metric_series: Some(provenance.series),
        tags: Some(tags),
        mlflow: Some(MlflowSource {
            source,
            run_id: args.text("run_id")?.filter(|r| !r.is_empty()).or(run_id),
            run_link: args.text("run_link")?,
            number: None,
        }),
        ..VersionForm::default()
    };
    let registered =
        catalog::register_version_with_files(&cx, &model_name(&name)?, form, &files).await;
    let (model, row) = match registered {
        Err(AppError::InvalidInput { field, message }) if field == "version" => {
            return Err(MlflowError::invalid(format!("tag {SEMVER_TAG}: {message}")))
        }
        other => other?,
    };
    version_json(&cx, &model.name, row.seq).await
}

pub async fn update_version(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let (name, semver, seq) = address(&cx, &args).await?;
    let edit = VersionEdit {
        description: args.text("description")?,
        tags: None,
    };
    catalog::update_version(&cx, &name, &semver, edit).await?;
    version_json(&cx, name.as_str(), seq).await
}

/// Opens a transition request. Where the policy needs no sign-off it
/// applies at once; otherwise the answer names the request to approve.
pub async fn transition_stage(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let raw_stage = args.required("stage")?;
    let stage = our_stage(&raw_stage)
        .ok_or_else(|| MlflowError::invalid(format!("Invalid Model Version stage: {raw_stage}. Value must be one of None, Staging, Production, Archived.")))?;
    // The registry's policy decides whether the previous Production version is archived.
    args.boolean("archive_existing_versions")?;
    let (name, semver, seq) = address(&cx, &args).await?;
    let why = "Requested through the MLflow API (transition-stage).";
    move_to_stage(&cx, (&name, &semver, seq), stage, &raw_stage, why).await?;
    version_json(&cx, name.as_str(), seq).await
}

/// Opens the transition request; where the policy needs sign-offs the
/// answer is MLflow's `PERMISSION_DENIED`, naming the request to approve.
async fn move_to_stage(
    cx: &Ctx,
    (name, semver, seq): (&ModelName, &SemVer, i64),
    stage: Stage,
    asked: &str,
    why: &'static str,
) -> MlResult<()> {
    let justification = Justification::stated_by_edge(why);
    let request = workflow::open_request(cx, name, semver, stage, justification).await?;
    if request.state == RequestState::Pending {
        return Err(MlflowError::new(
            axum::http::StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            format!(
                "Moving {name} version {seq} to {asked} needs {} approval(s) under the registry's policy: \
                 transition request #{} is now open. Approvers sign it off at /approvals or with \
                 POST /api/v1/models/{name}/requests/{}/approve.",
                request.required, request.id, request.id
            ),
        ));
    }
    Ok(())
}

pub async fn delete_version(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let (name, semver, _) = address(&cx, &args).await?;
    catalog::delete_version(&cx, &name, &semver).await?;
    Ok(empty())
}

pub async fn get_version(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let seq = version_number(&args.required("version")?)?;
    version_json(&cx, &name, seq).await
}

pub async fn search_versions(who: Who, args: Args) -> MlResult<Response> {
    let cx = who?;
    let search = Search::decode(&args, Entity::Versions, 10_000, 200_000)?;
    let page = reads::search_versions(&cx, &search.clauses, &search.orders, search.window).await?;
    Ok(search
        .answer("model_versions", views::versions(&page.items), page.more)
        .into_response())
}

/// Where the client downloads the version's files from: this registry's
/// MLflow artifact protocol (`mlflow-artifacts:/models/<name>/<semver>`,
/// resolved against the client's tracking URI), or the version's object
/// store source when its files live there.
pub async fn download_uri(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let seq = version_number(&args.required("version")?)?;
    let uri = reads::download_uri(&cx, &name, seq).await?;
    Ok(Json(json!({ "artifact_uri": uri })))
}

pub async fn set_version_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let key = args.required("key")?;
    if key == SEMVER_TAG {
        return Err(MlflowError::invalid(format!(
            "{SEMVER_TAG} is set when a version is created and cannot change."
        )));
    }
    let value = args.text("value")?.unwrap_or_default();
    let (name, semver, _) = address(&cx, &args).await?;
    tags::set(&cx, Subject::Version(&name, &semver), &key, &value).await?;
    Ok(empty())
}

pub async fn delete_version_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let key = args.required("key")?;
    let (name, semver, _) = address(&cx, &args).await?;
    tags::delete(&cx, Subject::Version(&name, &semver), &key).await?;
    Ok(empty())
}
