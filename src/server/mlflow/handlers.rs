//! The MLflow endpoints: extract the caller and arguments, call our
//! services (which authorize, validate, write and audit), answer as MLflow.

use axum::{http::HeaderMap, Json};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};

use super::{
    args::Args,
    filter::{self, Entity},
    store::{self, ModelRecord, Order, SortKey, VersionRecord},
    views::{self, our_stage, SEMVER_TAG},
    MlResult, MlflowError,
};
use crate::{
    domain::{
        catalog::{MlflowSource, ModelEdit, NewModelForm, Tags, VersionEdit, VersionForm},
        AliasName, ModelName, Permission, RequestState, SemVer,
    },
    dto::AliasOutcome,
    error::AppError,
    server::{
        services::{
            aliases, catalog,
            tags::{self, Subject, Tag},
            workflow::{self, Justification},
            Ctx,
        },
        state::AppState,
    },
};

type Who = Result<Ctx, AppError>;

fn db(e: sqlx::Error) -> MlflowError {
    AppError::from(e).into()
}

fn reader(who: Who) -> MlResult<Ctx> {
    let cx = who?;
    cx.require(Permission::Read)?;
    Ok(cx)
}

/// A name as our services take it; a name we could never have stored does not exist.
fn model_name(raw: &str) -> MlResult<ModelName> {
    ModelName::parse(raw).map_err(|_| model_missing(raw))
}

fn model_missing(name: &str) -> MlflowError {
    MlflowError::not_found(format!("Registered Model with name={name} not found"))
}

fn version_missing(name: &str, version: &str) -> MlflowError {
    MlflowError::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

async fn find_model(state: &AppState, name: &str) -> MlResult<ModelRecord> {
    store::model(state.db.pool(), name)
        .await
        .map_err(db)?
        .ok_or_else(|| model_missing(name))
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

async fn find_version(state: &AppState, name: &str, version: &str) -> MlResult<VersionRecord> {
    let seq = version_number(version)?;
    store::version(state.db.pool(), name, seq)
        .await
        .map_err(db)?
        .ok_or_else(|| version_missing(name, version))
}

/// The model and the semver of version `seq`, as the services address them.
async fn address(state: &AppState, args: &Args) -> MlResult<(ModelName, SemVer, VersionRecord)> {
    let name = args.required("name")?;
    let version = args.required("version")?;
    let record = find_version(state, &name, &version).await?;
    let semver = SemVer::parse(&record.version).map_err(AppError::from)?;
    Ok((model_name(&name)?, semver, record))
}

async fn model_json(state: &AppState, name: &str) -> MlResult<Json<Value>> {
    let record = find_model(state, name).await?;
    let model = views::model(state.db.pool(), &record).await.map_err(db)?;
    Ok(Json(json!({ "registered_model": model })))
}

async fn version_json(state: &AppState, name: &str, seq: i64) -> MlResult<Json<Value>> {
    let record = find_version(state, name, &seq.to_string()).await?;
    let version = views::version(state.db.pool(), &record).await.map_err(db)?;
    Ok(Json(json!({ "model_version": version })))
}

fn empty() -> Json<Value> {
    Json(json!({}))
}

// ------------------------------------------------------------ registered models

pub async fn create_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let raw = args.required("name")?;
    // MLflow answers a bad name with INVALID_PARAMETER_VALUE, not "not found".
    let name = ModelName::parse(&raw).map_err(|e| MlflowError::invalid(e.to_string()))?;
    let form = NewModelForm {
        name: raw,
        description: args.text("description")?,
        team: None,
        tags: Some(Tags::Map(args.tags()?.into_iter().collect())),
    };
    match catalog::create_model(&cx, form).await {
        Ok(_) => model_json(&cx.state, name.as_str()).await,
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
    ModelName::parse(&new_name).map_err(|e| MlflowError::invalid(e.to_string()))?;
    find_model(&cx.state, &name).await?;
    let edit = ModelEdit {
        name: Some(new_name.clone()),
        ..ModelEdit::default()
    };
    catalog::update_model(&cx, &model_name(&name)?, edit).await?;
    model_json(&cx.state, &new_name).await
}

pub async fn update_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    find_model(&cx.state, &name).await?;
    let edit = ModelEdit {
        description: args.text("description")?,
        ..ModelEdit::default()
    };
    catalog::update_model(&cx, &model_name(&name)?, edit).await?;
    model_json(&cx.state, &name).await
}

pub async fn delete_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    cx.require(Permission::Administer)?;
    find_model(&cx.state, &name).await?;
    catalog::delete_model(&cx, &model_name(&name)?).await?;
    Ok(empty())
}

pub async fn get_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = reader(who)?;
    model_json(&cx.state, &args.required("name")?).await
}

/// `order_by` entries such as `name ASC` or `last_updated_timestamp DESC`.
fn orders(args: &Args, versions: bool) -> MlResult<Vec<Order>> {
    args.list("order_by")?
        .iter()
        .map(|raw| {
            let mut words = raw.split_whitespace();
            let column = words.next().unwrap_or("").trim_matches('`');
            let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASC") => false,
                Some("DESC") => true,
                Some(other) => {
                    return Err(MlflowError::invalid(format!(
                        "Invalid order_by direction {other:?} in {raw:?}."
                    )))
                }
            };
            if words.next().is_some() {
                return Err(MlflowError::invalid(format!(
                    "Invalid order_by clause {raw:?}."
                )));
            }
            let key = match column
                .strip_prefix("attributes.")
                .or_else(|| column.strip_prefix("attribute."))
                .unwrap_or(column)
            {
                "name" => SortKey::Name,
                "creation_timestamp" | "timestamp" => SortKey::Created,
                "last_updated_timestamp" => SortKey::Updated,
                "version_number" if versions => SortKey::VersionNumber,
                other => {
                    return Err(MlflowError::invalid(format!(
                        "Invalid order_by key {other:?}."
                    )))
                }
            };
            Ok(Order { key, descending })
        })
        .collect()
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

pub async fn search_models(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = reader(who)?;
    let clauses = filter::parse(&args.text("filter")?.unwrap_or_default(), Entity::Models)
        .map_err(MlflowError::invalid)?;
    let limit = max_results(&args, 100, 1_000)?;
    let orders = orders(&args, false)?;
    let offset = page_offset(&args)?;
    let pool = cx.state.db.pool();
    let mut records = store::search_models(
        pool,
        cx.state.db.backend(),
        &clauses,
        &orders,
        limit + 1,
        offset,
    )
    .await
    .map_err(db)?;
    let more = records.len() as i64 > limit;
    records.truncate(limit as usize);
    let models = views::models(pool, &records).await.map_err(db)?;
    let mut body = json!({ "registered_models": models });
    if more {
        body["next_page_token"] = Value::String(page_token(offset + limit));
    }
    Ok(Json(body))
}

pub async fn latest_versions(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = reader(who)?;
    let model = find_model(&cx.state, &args.required("name")?).await?;
    let stages = args
        .list("stages")?
        .iter()
        .map(|s| {
            our_stage(s)
                .ok_or_else(|| MlflowError::invalid(format!("Invalid Model Version stage: {s}.")))
        })
        .collect::<MlResult<Vec<_>>>()?;
    let pool = cx.state.db.pool();
    let latest: Vec<VersionRecord> = store::latest_versions(pool, &[model.id])
        .await
        .map_err(db)?
        .into_iter()
        .filter(|v| stages.is_empty() || stages.iter().any(|s| s.as_str() == v.stage))
        .collect();
    let versions = views::versions(pool, &latest).await.map_err(db)?;
    Ok(Json(json!({ "model_versions": versions })))
}

pub async fn set_model_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let tag = Tag::parse(
        &args.required("key")?,
        &args.text("value")?.unwrap_or_default(),
    )?;
    find_model(&cx.state, &name).await?;
    tags::set(&cx, Subject::Model(&model_name(&name)?), tag).await?;
    Ok(empty())
}

pub async fn delete_model_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("name")?;
    let key = args.required("key")?;
    find_model(&cx.state, &name).await?;
    tags::delete(&cx, Subject::Model(&model_name(&name)?), &key).await?;
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

pub async fn set_alias(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let alias = alias_name(&args.required("alias")?)?;
    let (name, semver, _) = address(&cx.state, &args).await?;
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
    let name = args.required("name")?;
    let alias = alias_name(&args.required("alias")?)?;
    find_model(&cx.state, &name).await?;
    let name = model_name(&name)?;
    let why = Justification::stated_by_edge("Requested through the MLflow API (delete alias).");
    let outcome = aliases::remove_alias(&cx, &name, &alias, Some(why)).await?;
    alias_outcome(&name, &alias, outcome)?;
    Ok(empty())
}

pub async fn get_by_alias(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = reader(who)?;
    let name = args.required("name")?;
    let alias = args.required("alias")?;
    let pool = cx.state.db.pool();
    let Some(record) = store::version_by_alias(pool, &name, &alias)
        .await
        .map_err(db)?
    else {
        find_model(&cx.state, &name).await?;
        return Err(MlflowError::invalid(format!(
            "Registered model alias {alias} not found."
        )));
    };
    let version = views::version(pool, &record).await.map_err(db)?;
    Ok(Json(json!({ "model_version": version })))
}

// ------------------------------------------------------------ model versions

pub async fn create_version(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let raw_name = args.required("name")?;
    let mut tags = args.tags()?;
    // Our semver travels as a version tag; without one the next patch is taken.
    let version = tags
        .iter()
        .position(|(k, _)| k == SEMVER_TAG)
        .map(|i| tags.remove(i).1);
    let form = VersionForm {
        version,
        description: args.text("description")?,
        tags: Some(tags.into_iter().collect()),
        mlflow: Some(MlflowSource {
            source: args.required("source")?,
            run_id: args.text("run_id")?,
            run_link: args.text("run_link")?,
        }),
        ..VersionForm::default()
    };
    find_model(&cx.state, &raw_name).await?;
    let (model, row) = match catalog::register_version(&cx, &model_name(&raw_name)?, form).await {
        Err(AppError::InvalidInput { field, message }) if field == "version" => {
            return Err(MlflowError::invalid(format!("tag {SEMVER_TAG}: {message}")))
        }
        other => other?,
    };
    version_json(&cx.state, &model.name, row.seq).await
}

pub async fn update_version(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let (name, semver, record) = address(&cx.state, &args).await?;
    let edit = VersionEdit {
        description: args.text("description")?,
        tags: None,
    };
    catalog::update_version(&cx, &name, &semver, edit).await?;
    version_json(&cx.state, name.as_str(), record.seq).await
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
    let (name, semver, record) = address(&cx.state, &args).await?;
    let justification =
        Justification::parse("Requested through the MLflow API (transition-stage).")?;
    let request = workflow::open_request(&cx, &name, &semver, stage, justification).await?;
    if request.state == RequestState::Pending {
        return Err(MlflowError::new(
            axum::http::StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            format!(
                "Moving {name} version {} to {raw_stage} needs {} approval(s) under the registry's policy: \
                 transition request #{} is now open. Approvers sign it off at /approvals or with \
                 POST /api/v1/models/{name}/requests/{}/approve.",
                record.seq, request.required, request.id, request.id
            ),
        ));
    }
    version_json(&cx.state, name.as_str(), record.seq).await
}

pub async fn delete_version(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    cx.require(Permission::Administer)?;
    let (name, semver, _) = address(&cx.state, &args).await?;
    catalog::delete_version(&cx, &name, &semver).await?;
    Ok(empty())
}

pub async fn get_version(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = reader(who)?;
    let name = args.required("name")?;
    let version = args.required("version")?;
    let record = find_version(&cx.state, &name, &version).await?;
    let json = views::version(cx.state.db.pool(), &record)
        .await
        .map_err(db)?;
    Ok(Json(json!({ "model_version": json })))
}

pub async fn search_versions(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = reader(who)?;
    let clauses = filter::parse(&args.text("filter")?.unwrap_or_default(), Entity::Versions)
        .map_err(MlflowError::invalid)?;
    let limit = max_results(&args, 10_000, 200_000)?;
    let orders = orders(&args, true)?;
    let offset = page_offset(&args)?;
    let pool = cx.state.db.pool();
    let mut records = store::search_versions(
        pool,
        cx.state.db.backend(),
        &clauses,
        &orders,
        limit + 1,
        offset,
    )
    .await
    .map_err(db)?;
    let more = records.len() as i64 > limit;
    records.truncate(limit as usize);
    let versions = views::versions(pool, &records).await.map_err(db)?;
    let mut body = json!({ "model_versions": versions });
    if more {
        body["next_page_token"] = Value::String(page_token(offset + limit));
    }
    Ok(Json(body))
}

/// Our artifact endpoint for the version: `GET` lists its files (JSON),
/// `GET …/artifacts/{path}` downloads one, with the same credentials.
pub async fn download_uri(
    who: Who,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    args: Args,
) -> MlResult<Json<Value>> {
    let cx = reader(who)?;
    let (name, semver, _) = address(&cx.state, &args).await?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| cx.state.config.site_addr.to_string());
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") if cx.state.config.trusted_proxies.contains(&peer.ip()) => "https",
        _ if cx.state.config.secure_cookies => "https",
        _ => "http",
    };
    Ok(Json(json!({
        "artifact_uri": format!("{scheme}://{host}/api/v1/models/{name}/versions/{semver}/artifacts")
    })))
}

pub async fn set_version_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let key = args.required("key")?;
    if key == SEMVER_TAG {
        return Err(MlflowError::invalid(format!(
            "{SEMVER_TAG} is set when a version is created and cannot change."
        )));
    }
    let tag = Tag::parse(&key, &args.text("value")?.unwrap_or_default())?;
    let (name, semver, _) = address(&cx.state, &args).await?;
    tags::set(&cx, Subject::Version(&name, &semver), tag).await?;
    Ok(empty())
}

pub async fn delete_version_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let key = args.required("key")?;
    let (name, semver, _) = address(&cx.state, &args).await?;
    tags::delete(&cx, Subject::Version(&name, &semver), &key).await?;
    Ok(empty())
}
