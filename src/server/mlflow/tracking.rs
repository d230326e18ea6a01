//! MLflow's tracking endpoints, only those that logging and registering a
//! model call: experiments (get, by name, create, search), runs (create,
//! get, update, log-parameter, log-metric, set-tag, delete-tag, log-batch,
//! outputs), metric history and MLflow 3 logged models. Each decodes its
//! arguments into domain values and calls one `services::tracking` function.

use axum::{extract::Path, Json};
use serde_json::{json, Map, Value};

use super::{
    args::Args,
    error::{MlResult, MlflowError},
};
use crate::{
    domain::{
        mlflow_tracking::{
            experiment_id, logged_model_artifact_uri, run_artifact_uri, Batch, Entry,
            LoggedModelStatus, Point, RunStatus,
        },
        FieldError,
    },
    error::AppError,
    server::{
        db::now_ms,
        repo::tracking::{EntryRow, ExperimentRow, PointRow, RunRow},
        services::{
            tracking::{self, LoggedModelView, NewLoggedModel, NewRun, RunUpdate, RunView},
            Ctx,
        },
    },
};

type Who = Result<Ctx, AppError>;

fn invalid(e: FieldError) -> MlflowError {
    MlflowError::invalid(format!("{}: {}", e.field, e.message))
}

fn experiment_arg(args: &Args, key: &str) -> MlResult<i64> {
    experiment_id(&args.required(key)?).map_err(invalid)
}

fn entries(
    args: &Args,
    key: &str,
    parse: fn(&str, &str) -> Result<Entry, FieldError>,
) -> MlResult<Vec<Entry>> {
    args.objects(key)?
        .iter()
        .map(|item| {
            let k = item.required("key")?;
            let v = item.text("value")?.unwrap_or_default();
            parse(&k, &v).map_err(invalid)
        })
        .collect()
}

fn point(item: &Args) -> MlResult<Point> {
    let key = item.required("key")?;
    let value = item
        .float("value")?
        .ok_or_else(|| MlflowError::invalid("Missing value for required parameter 'value'."))?;
    let timestamp = item.integer("timestamp")?.unwrap_or_else(now_ms);
    let step = item.integer("step")?.unwrap_or(0);
    Point::parse(&key, value, timestamp, step).map_err(invalid)
}

fn run_id(args: &Args) -> MlResult<String> {
    match args.text("run_id")?.filter(|s| !s.is_empty()) {
        Some(id) => Ok(id),
        None => args.required("run_uuid"),
    }
}

// ------------------------------------------------------------ views

fn pairs(rows: &[EntryRow]) -> Vec<Value> {
    rows.iter()
        .map(|e| json!({ "key": e.key, "value": e.value }))
        .collect()
}

fn map_pairs(map: &std::collections::BTreeMap<String, String>) -> Vec<Value> {
    map.iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect()
}

fn point_json(p: &PointRow) -> Value {
    json!({ "key": p.key, "value": p.value, "timestamp": p.timestamp, "step": p.step })
}

fn run_info(row: &RunRow) -> Value {
    let mut info = json!({
        "run_id": row.run_id, "run_uuid": row.run_id, "run_name": row.name,
        "experiment_id": row.experiment_id.to_string(), "user_id": row.created_by,
        "status": row.status.as_str(), "start_time": row.start_time,
        "artifact_uri": run_artifact_uri(row.experiment_id, &row.run_id),
        "lifecycle_stage": "active",
    });
    if let Some(end) = row.end_time {
        info["end_time"] = json!(end);
    }
    info
}

fn run_json(view: &RunView) -> Json<Value> {
    let outputs: Vec<Value> = view
        .outputs
        .iter()
        .map(|(model_id, step)| json!({ "model_id": model_id, "step": step }))
        .collect();
    Json(json!({ "run": {
        "info": run_info(&view.row),
        "data": {
            "metrics": view.metrics.iter().map(point_json).collect::<Vec<_>>(),
            "params": pairs(&view.params),
            "tags": pairs(&view.tags),
        },
        "inputs": {},
        "outputs": { "model_outputs": outputs },
    }}))
}

fn logged_model_value(view: &LoggedModelView) -> Value {
    let row = &view.row;
    let mut info = json!({
        "model_id": row.model_id, "experiment_id": row.experiment_id.to_string(),
        "name": row.name, "creation_timestamp_ms": row.created_at,
        "last_updated_timestamp_ms": row.updated_at,
        "artifact_uri": logged_model_artifact_uri(row.experiment_id, &row.model_id),
        "status": row.status.as_str(), "tags": map_pairs(&view.tags),
    });
    if let Some(run) = &row.source_run_id {
        info["source_run_id"] = json!(run);
    }
    if let Some(t) = &row.model_type {
        info["model_type"] = json!(t);
    }
    json!({ "info": info, "data": { "params": map_pairs(&view.params), "metrics": [] } })
}

fn experiment_json(e: &ExperimentRow) -> Value {
    json!({
        "experiment_id": e.id.to_string(), "name": e.name,
        "artifact_location": format!("mlflow-artifacts:/{}", e.id),
        "lifecycle_stage": "active", "creation_time": e.created_at, "last_update_time": e.created_at,
    })
}

fn empty() -> Json<Value> {
    Json(json!({}))
}

// ------------------------------------------------------------ experiments

pub async fn get_experiment(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let e = tracking::experiment(&cx, experiment_arg(&args, "experiment_id")?).await?;
    Ok(Json(json!({ "experiment": experiment_json(&e) })))
}

pub async fn experiment_by_name(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let name = args.required("experiment_name")?;
    match tracking::experiment_by_name(&cx, &name).await {
        Ok(e) => Ok(Json(json!({ "experiment": experiment_json(&e) }))),
        Err(AppError::NotFound(_)) => Err(MlflowError::not_found(format!(
            "Could not find experiment with name '{name}'"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn create_experiment(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let id = tracking::create_experiment(&cx, &args.required("name")?).await?;
    Ok(Json(json!({ "experiment_id": id.to_string() })))
}

pub async fn search_experiments(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let limit = args
        .integer("max_results")?
        .unwrap_or(1000)
        .clamp(1, 50_000);
    let found = tracking::experiments(&cx, limit).await?;
    let items: Vec<Value> = found.iter().map(experiment_json).collect();
    Ok(Json(json!({ "experiments": items })))
}

// ------------------------------------------------------------ runs

pub async fn create_run(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let experiment_id = match args.text("experiment_id")?.filter(|s| !s.is_empty()) {
        Some(raw) => experiment_id(&raw).map_err(invalid)?,
        None => 0,
    };
    let new = NewRun {
        experiment_id,
        name: args.text("run_name")?,
        start_time: args.integer("start_time")?,
        tags: entries(&args, "tags", Entry::tag)?,
    };
    Ok(run_json(&tracking::create_run(&cx, new).await?))
}

pub async fn get_run(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    Ok(run_json(&tracking::run(&cx, &run_id(&args)?).await?))
}

pub async fn update_run(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let status = args
        .text("status")?
        .map(|s| RunStatus::parse(&s).map_err(invalid))
        .transpose()?;
    let update = RunUpdate {
        status,
        end_time: args.integer("end_time")?,
        name: args.text("run_name")?,
    };
    let row = tracking::update_run(&cx, &run_id(&args)?, update).await?;
    Ok(Json(json!({ "run_info": run_info(&row) })))
}

async fn log(cx: Ctx, args: &Args, batch: Batch) -> MlResult<Json<Value>> {
    tracking::log(&cx, &run_id(args)?, batch).await?;
    Ok(empty())
}

pub async fn log_param(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let value = args.text("value")?.unwrap_or_default();
    let param = Entry::param(&args.required("key")?, &value).map_err(invalid)?;
    let batch = Batch {
        params: vec![param],
        ..Batch::default()
    };
    log(cx, &args, batch).await
}

pub async fn log_metric(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let batch = Batch {
        metrics: vec![point(&args)?],
        ..Batch::default()
    };
    log(cx, &args, batch).await
}

pub async fn set_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let value = args.text("value")?.unwrap_or_default();
    let tag = Entry::tag(&args.required("key")?, &value).map_err(invalid)?;
    let batch = Batch {
        tags: vec![tag],
        ..Batch::default()
    };
    log(cx, &args, batch).await
}

pub async fn delete_tag(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    tracking::delete_run_tag(&cx, &run_id(&args)?, &args.required("key")?).await?;
    Ok(empty())
}

pub async fn log_batch(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let batch = Batch {
        params: entries(&args, "params", Entry::param)?,
        tags: entries(&args, "tags", Entry::tag)?,
        metrics: args
            .objects("metrics")?
            .iter()
            .map(point)
            .collect::<MlResult<_>>()?,
    };
    log(cx, &args, batch).await
}

pub async fn log_outputs(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let models = args
        .objects("models")?
        .iter()
        .map(|m| Ok((m.required("model_id")?, m.integer("step")?.unwrap_or(0))))
        .collect::<MlResult<Vec<_>>>()?;
    tracking::log_outputs(&cx, &run_id(&args)?, &models).await?;
    Ok(empty())
}

pub async fn metric_history(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let key = args.required("metric_key")?;
    let limit = args
        .integer("max_results")?
        .unwrap_or(25_000)
        .clamp(1, 25_000);
    let points = tracking::metric_history(&cx, &run_id(&args)?, &key, limit).await?;
    Ok(Json(
        json!({ "metrics": points.iter().map(point_json).collect::<Vec<_>>() }),
    ))
}

// ------------------------------------------------------------ logged models

fn model_json(view: &LoggedModelView) -> Json<Value> {
    Json(json!({ "model": logged_model_value(view) }))
}

pub async fn create_logged_model(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let new = NewLoggedModel {
        experiment_id: experiment_arg(&args, "experiment_id")?,
        name: args.text("name")?,
        source_run_id: args.text("source_run_id")?,
        model_type: args.text("model_type")?,
        params: entries(&args, "params", Entry::param)?,
        tags: entries(&args, "tags", Entry::tag)?,
    };
    Ok(model_json(&tracking::create_logged_model(&cx, new).await?))
}

pub async fn get_logged_model(who: Who, Path(id): Path<String>) -> MlResult<Json<Value>> {
    let cx = who?;
    Ok(model_json(&tracking::logged_model(&cx, &id).await?))
}

pub async fn finalize_logged_model(
    who: Who,
    Path(id): Path<String>,
    args: Args,
) -> MlResult<Json<Value>> {
    let cx = who?;
    let status = LoggedModelStatus::parse(&args.required("status")?).map_err(invalid)?;
    Ok(model_json(&tracking::finalize(&cx, &id, status).await?))
}

pub async fn set_logged_model_tags(
    who: Who,
    Path(id): Path<String>,
    args: Args,
) -> MlResult<Json<Value>> {
    let tags = entries(&args, "tags", Entry::tag)?;
    annotate(
        who?,
        &id,
        Batch {
            tags,
            ..Batch::default()
        },
    )
    .await
}

pub async fn log_logged_model_params(
    who: Who,
    Path(id): Path<String>,
    args: Args,
) -> MlResult<Json<Value>> {
    let params = entries(&args, "params", Entry::param)?;
    annotate(
        who?,
        &id,
        Batch {
            params,
            ..Batch::default()
        },
    )
    .await
}

async fn annotate(cx: Ctx, id: &str, batch: Batch) -> MlResult<Json<Value>> {
    tracking::annotate_logged_model(&cx, id, batch).await?;
    Ok(empty())
}

pub async fn delete_logged_model_tag(
    who: Who,
    Path((id, key)): Path<(String, String)>,
) -> MlResult<Json<Value>> {
    let cx = who?;
    tracking::delete_logged_model_tag(&cx, &id, &key).await?;
    Ok(empty())
}

/// The filter MLflow's client sends to find a run's model by name
/// (`name = 'model'`); other filters are refused rather than ignored.
fn name_filter(raw: &str) -> MlResult<Option<String>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let refuse = || {
        MlflowError::invalid(format!(
            "Unsupported logged-model filter {raw:?}: this registry answers only name = '<name>'."
        ))
    };
    let value = raw
        .strip_prefix("name")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('='))
        .map(str::trim)
        .ok_or_else(refuse)?;
    let quoted = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
        .filter(|v| !v.contains(['\'', '"']))
        .ok_or_else(refuse)?;
    Ok(Some(quoted.to_owned()))
}

pub async fn search_logged_models(who: Who, args: Args) -> MlResult<Json<Value>> {
    let cx = who?;
    let experiments = args
        .list("experiment_ids")?
        .iter()
        .map(|e| experiment_id(e).map_err(invalid))
        .collect::<MlResult<Vec<_>>>()?;
    let name = name_filter(&args.text("filter")?.unwrap_or_default())?;
    let limit = args.integer("max_results")?.unwrap_or(100).clamp(1, 1000);
    let offset = match args.text("page_token")?.filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| MlflowError::invalid("Invalid page token."))?,
        None => 0,
    };
    // One more than asked tells whether another page follows.
    let mut found =
        tracking::search_logged_models(&cx, &experiments, name.as_deref(), (limit + 1, offset))
            .await?;
    let more = found.len() as i64 > limit;
    found.truncate(usize::try_from(limit).unwrap_or(0));
    let mut body = Map::new();
    body.insert(
        "models".into(),
        Value::Array(found.iter().map(logged_model_value).collect()),
    );
    if more {
        body.insert(
            "next_page_token".into(),
            json!((offset + limit).to_string()),
        );
    }
    Ok(Json(Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::name_filter;

    #[test]
    fn only_a_name_filter_is_answered() {
        assert_eq!(name_filter("").unwrap(), None);
        assert_eq!(
            name_filter("name = 'model'").unwrap().as_deref(),
            Some("model")
        );
        assert_eq!(name_filter("name='m 1'").unwrap().as_deref(), Some("m 1"));
        assert_eq!(name_filter("name = \"m\"").unwrap().as_deref(), Some("m"));
        for bad in [
            "metrics.acc > 1",
            "name = model",
            "name = 'a' OR 1=1",
            "name = 'a''",
        ] {
            assert!(name_filter(bad).is_err(), "{bad}");
        }
    }
}
