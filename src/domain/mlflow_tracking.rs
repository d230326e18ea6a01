//! MLflow tracking, only as much as logging and registering a model needs
//! (`start_run`, `log_param`/`log_metric`/`set_tag`, `log_model` with its
//! logged models, `register_model("runs:/…")`): the ids, states, keys and
//! values those calls carry, the artifact paths of runs and logged models,
//! and what a registered version takes from its run.
//!
//! This is a registry, not an experiment tracker: runs and logged models
//! are where a training job's files and numbers wait until a version is
//! registered from them. The version then holds its own copy of the
//! numbers and its own records of the files, and that is what sign-offs
//! cover.

use std::collections::BTreeMap;

use crate::domain::{
    catalog::{self, LineageForm, PointForm},
    ArtifactPath, FieldError,
};

/// MLflow's own limits on one `log-batch`.
pub const MAX_BATCH_METRICS: usize = 1000;
pub const MAX_BATCH_PARAMS: usize = 100;
pub const MAX_BATCH_TAGS: usize = 100;
/// MLflow's limit on a run tag's value (a parameter's is the catalog's 6000).
pub const RUN_TAG_VALUE_MAX_LEN: usize = 8000;
/// Runs and logged models: at most this many params, tags and metric keys.
pub const MAX_ENTRIES_PER_RUN: i64 = 10_000;
/// Metric points per run: a long training loop, not an unbounded log.
pub const MAX_POINTS_PER_RUN: i64 = 1_000_000;
pub const NAME_MAX_LEN: usize = 250;

fn hex32(raw: &str) -> bool {
    raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A run's id: 32 hexadecimal digits, as MLflow makes them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(String);

impl RunId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if !hex32(raw) {
            return Err(FieldError::new("run_id", "must be 32 hexadecimal digits"));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A logged model's id: `m-` and 32 hexadecimal digits, as MLflow 3 makes them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LoggedModelId(String);

impl LoggedModelId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        match raw.strip_prefix("m-") {
            Some(hex) if hex32(hex) => Ok(Self(format!("m-{}", hex.to_ascii_lowercase()))),
            _ => Err(FieldError::new(
                "model_id",
                "must be m- and 32 hexadecimal digits",
            )),
        }
    }

    pub fn new() -> Self {
        Self(format!("m-{}", uuid::Uuid::new_v4().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LoggedModelId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for LoggedModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An experiment's id: MLflow sends it as a string of digits; `0` is the
/// default experiment.
pub fn experiment_id(raw: &str) -> Result<i64, FieldError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| FieldError::new("experiment_id", "must be a non-negative integer"))
}

/// An experiment's or run's or logged model's name: one line.
pub fn name(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let name = catalog::line(field, raw, NAME_MAX_LEN)?;
    if name.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    Ok(name)
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|s| s.as_str() == raw)
                    .ok_or_else(|| FieldError::new(
                        "status",
                        format!("must be one of {}", Self::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                    ))
            }
        }

        impl std::str::FromStr for $name {
            type Err = FieldError;
            fn from_str(raw: &str) -> Result<Self, FieldError> {
                Self::parse(raw)
            }
        }
    };
}

wire_enum!(
    /// A run's status, by MLflow's names.
    RunStatus {
        Running = "RUNNING",
        Scheduled = "SCHEDULED",
        Finished = "FINISHED",
        Failed = "FAILED",
        Killed = "KILLED",
    }
);

wire_enum!(
    /// A logged model's status: pending while its files upload, then ready
    /// (or failed). Only a ready model's files can become a version's.
    LoggedModelStatus {
        Pending = "LOGGED_MODEL_PENDING",
        Ready = "LOGGED_MODEL_READY",
        UploadFailed = "LOGGED_MODEL_UPLOAD_FAILED",
    }
);

/// A parameter or tag key, by the catalog's key rule.
pub fn key(field: &'static str, raw: &str) -> Result<String, FieldError> {
    catalog::key(field, raw)
}

fn value(field: &'static str, key: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    if raw.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("value of {key:?} must be at most {max} characters"),
        ));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            format!("value of {key:?} must not contain control characters"),
        ));
    }
    Ok(raw.to_owned())
}

/// One `key = value` of a run or logged model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
}

impl Entry {
    pub fn param(key: &str, raw: &str) -> Result<Self, FieldError> {
        let key = self::key("params", key)?;
        let value = value("params", &key, raw, catalog::PARAM_VALUE_MAX_LEN)?;
        Ok(Self { key, value })
    }

    pub fn tag(key: &str, raw: &str) -> Result<Self, FieldError> {
        let key = self::key("tags", key)?;
        let value = value("tags", &key, raw, RUN_TAG_VALUE_MAX_LEN)?;
        Ok(Self { key, value })
    }
}

/// One logged metric value.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

impl Point {
    pub fn parse(key: &str, value: f64, timestamp: i64, step: i64) -> Result<Self, FieldError> {
        let key = self::key("metrics", key)?;
        if !value.is_finite() {
            return Err(FieldError::new(
                "metrics",
                format!("value of {key:?} must be a finite number"),
            ));
        }
        Ok(Self {
            key,
            value,
            timestamp,
            step,
        })
    }
}

/// A `log-batch`: MLflow's limits, and no parameter twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub params: Vec<Entry>,
    pub metrics: Vec<Point>,
    pub tags: Vec<Entry>,
}

impl Batch {
    pub fn check(self) -> Result<Self, FieldError> {
        let limits = [
            ("metrics", self.metrics.len(), MAX_BATCH_METRICS),
            ("params", self.params.len(), MAX_BATCH_PARAMS),
            ("tags", self.tags.len(), MAX_BATCH_TAGS),
        ];
        for (field, n, max) in limits {
            if n > max {
                return Err(FieldError::new(
                    field,
                    format!("at most {max} per batch, got {n}"),
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.params {
            if !seen.insert(p.key.as_str()) {
                return Err(FieldError::new(
                    "params",
                    format!("duplicate parameter key {:?} in one batch", p.key),
                ));
            }
        }
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty() && self.metrics.is_empty() && self.tags.is_empty()
    }
}

/// Whose files a tracking artifact path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOwner {
    Run(RunId),
    LoggedModel(LoggedModelId),
}

impl FileOwner {
    /// How the owner is stored: (`run` | `logged_model`, id).
    pub fn stored(&self) -> (&'static str, &str) {
        match self {
            FileOwner::Run(id) => ("run", id.as_str()),
            FileOwner::LoggedModel(id) => ("logged_model", id.as_str()),
        }
    }
}

/// A path in a run's or logged model's artifact space:
/// `<experiment>/<run_id>/artifacts[/<path>]` or
/// `<experiment>/models/<model_id>/artifacts[/<path>]`, the layout MLflow's
/// server gives them (so `artifact_uri` values look as they do there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingAddress {
    pub experiment: i64,
    pub owner: FileOwner,
    pub inner: Option<ArtifactPath>,
}

impl TrackingAddress {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let shape = || {
            FieldError::new(
                "path",
                "must be <experiment>/<run_id>/artifacts[/<file>] or \
                 <experiment>/models/<model_id>/artifacts[/<file>]",
            )
        };
        let trimmed = raw.trim_matches('/');
        let mut parts = trimmed.splitn(2, '/');
        let experiment = experiment_id(parts.next().ok_or_else(shape)?).map_err(|_| shape())?;
        let rest = parts.next().ok_or_else(shape)?;
        let (owner, rest) = match rest.split_once('/') {
            Some(("models", rest)) => {
                let (id, rest) = rest.split_once('/').unwrap_or((rest, ""));
                let id =
                    LoggedModelId::parse(id).map_err(|e| FieldError::new("path", e.message))?;
                (FileOwner::LoggedModel(id), rest)
            }
            Some((id, rest)) => {
                let id = RunId::parse(id).map_err(|e| FieldError::new("path", e.message))?;
                (FileOwner::Run(id), rest)
            }
            None => return Err(shape()),
        };
        let inner = match rest.split_once('/') {
            None if rest == "artifacts" => None,
            Some(("artifacts", inner)) => Some(ArtifactPath::parse(inner)?),
            _ => return Err(shape()),
        };
        Ok(Self {
            experiment,
            owner,
            inner,
        })
    }

    /// `mlflow-artifacts:/<experiment>/…/artifacts`: the owner's root URI.
    pub fn root_uri(experiment: i64, owner: &FileOwner) -> String {
        match owner {
            FileOwner::Run(id) => run_artifact_uri(experiment, id.as_str()),
            FileOwner::LoggedModel(id) => logged_model_artifact_uri(experiment, id.as_str()),
        }
    }
}

/// A run's artifact root, as MLflow's server lays it out.
pub fn run_artifact_uri(experiment: i64, run_id: &str) -> String {
    format!("mlflow-artifacts:/{experiment}/{run_id}/artifacts")
}

/// A logged model's artifact root, as MLflow's server lays it out.
pub fn logged_model_artifact_uri(experiment: i64, model_id: &str) -> String {
    format!("mlflow-artifacts:/{experiment}/models/{model_id}/artifacts")
}

/// Where a `model-versions/create` source says the version's files are,
/// when they are files logged here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedSource {
    /// `models:/m-…`: a logged model's files.
    LoggedModel(LoggedModelId),
    /// `runs:/<run>/<dir>` or `mlflow-artifacts:/<exp>/<run>/artifacts/<dir>`:
    /// the files under `dir` in a run's artifacts (`None`: all of them).
    RunFiles {
        run: RunId,
        dir: Option<ArtifactPath>,
    },
}

impl LoggedSource {
    /// `None` when `source` names no files of ours (an `s3://` source, a
    /// registered `models:/name/1`, …).
    pub fn parse(source: &str) -> Option<Result<Self, FieldError>> {
        if let Some(rest) = source.strip_prefix("models:/") {
            return rest
                .starts_with("m-")
                .then(|| LoggedModelId::parse(rest.trim_end_matches('/')).map(Self::LoggedModel));
        }
        if let Some(rest) = source.strip_prefix("runs:/") {
            let (run, dir) = rest.split_once('/').unwrap_or((rest, ""));
            return Some(Self::run_files(run, dir));
        }
        let rest = source.strip_prefix("mlflow-artifacts:/")?;
        let address = match TrackingAddress::parse(rest) {
            Ok(a) => a,
            // Our own version paths (`models/<name>/<semver>`) are not logged files.
            Err(_) if rest.trim_start_matches('/').starts_with("models/") => return None,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(match address.owner {
            FileOwner::Run(run) => Self::RunFiles {
                run,
                dir: address.inner,
            },
            FileOwner::LoggedModel(id) => Self::LoggedModel(id),
        }))
    }

    fn run_files(run: &str, dir: &str) -> Result<Self, FieldError> {
        let run = RunId::parse(run).map_err(|e| FieldError::new("source", e.message))?;
        let dir = dir.trim_matches('/');
        let dir = (!dir.is_empty())
            .then(|| ArtifactPath::parse(dir))
            .transpose()
            .map_err(|e| FieldError::new("source", e.message))?;
        Ok(Self::RunFiles { run, dir })
    }
}

/// The file paths a version takes from logged files under `dir`: each
/// path relative to `dir` (all of them when `dir` is `None`).
pub fn files_under<'a>(
    paths: impl IntoIterator<Item = &'a str>,
    dir: Option<&ArtifactPath>,
) -> Vec<(&'a str, String)> {
    paths
        .into_iter()
        .filter_map(|path| match dir {
            None => Some((path, path.to_owned())),
            Some(dir) => path
                .strip_prefix(dir.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .map(|rest| (path, rest.to_owned())),
        })
        .collect()
}

/// What a run says about how a model was made, in the catalog's words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRecord {
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Every logged point, in any order.
    pub points: Vec<Point>,
}

/// What a version registered from a run takes from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    pub lineage: LineageForm,
    pub params: BTreeMap<String, serde_json::Value>,
    /// The latest value of each metric (highest step, then newest).
    pub metrics: BTreeMap<String, f64>,
    /// Every step of metrics logged at more than one step.
    pub series: BTreeMap<String, Vec<PointForm>>,
    /// Who the training job said it ran as (`mlflow.user`), kept as a tag:
    /// the registry records who registered it, from the credentials.
    pub tags: BTreeMap<String, String>,
}

/// MLflow's system tags that the catalog has a place for.
pub const GIT_COMMIT_TAG: &str = "mlflow.source.git.commit";
pub const GIT_REPO_TAG: &str = "mlflow.source.git.repoURL";
pub const SOURCE_NAME_TAG: &str = "mlflow.source.name";
pub const USER_TAG: &str = "mlflow.user";
/// Set when a run logged more points than a version holds from one
/// registration: its series keep every n-th step (and the last).
pub const SERIES_EVERY_TAG: &str = "mlflow.series_every";

/// Keeps a version's series within the catalog's per-registration limit:
/// every n-th step of each series and its last, so the curves keep their
/// shape. Returns the series and n (1 when nothing was left out).
fn thinned(
    mut series: BTreeMap<String, Vec<PointForm>>,
) -> (BTreeMap<String, Vec<PointForm>>, usize) {
    let total: usize = series.values().map(Vec::len).sum();
    if total <= catalog::MAX_METRIC_POINTS {
        return (series, 1);
    }
    // Each series may keep up to two points beyond total / n (its first
    // partial stride and its last point).
    let room = catalog::MAX_METRIC_POINTS
        .saturating_sub(2 * series.len())
        .max(1);
    let every = total.div_ceil(room);
    for points in series.values_mut() {
        let last = points.len() - 1;
        let mut i = 0;
        points.retain(|_| {
            let keep = i % every == 0 || i == last;
            i += 1;
            keep
        });
    }
    (series, every)
}

impl RunRecord {
    pub fn provenance(&self, run: &RunId) -> Provenance {
        // Values the catalog could not hold are left out: the run is the
        // client's record, and the version is still worth registering.
        let tag = |k: &str| {
            self.tags
                .get(k)
                .filter(|v| !v.trim().is_empty())
                .filter(|v| v.chars().count() <= catalog::LINEAGE_FIELD_MAX_LEN)
                .filter(|v| !v.chars().any(char::is_control))
                .cloned()
        };
        let lineage = LineageForm {
            source_repo: tag(GIT_REPO_TAG),
            commit_sha: tag(GIT_COMMIT_TAG).filter(|c| catalog::commit_sha(c).is_ok()),
            training_script: tag(SOURCE_NAME_TAG),
            ..LineageForm::default()
        };
        let params = self
            .params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let mut latest: BTreeMap<&str, &Point> = BTreeMap::new();
        // One value per step: the newest logged at that step.
        let mut steps: BTreeMap<&str, BTreeMap<i64, (i64, f64)>> = BTreeMap::new();
        for p in &self.points {
            let newer = latest
                .get(p.key.as_str())
                .is_none_or(|q| (p.step, p.timestamp) >= (q.step, q.timestamp));
            if newer {
                latest.insert(&p.key, p);
            }
            let at = steps
                .entry(&p.key)
                .or_default()
                .entry(p.step)
                .or_insert((p.timestamp, p.value));
            if p.timestamp >= at.0 {
                *at = (p.timestamp, p.value);
            }
        }
        let metrics = latest
            .iter()
            .map(|(k, p)| ((*k).to_owned(), p.value))
            .collect();
        let series = steps
            .into_iter()
            .filter(|(_, by_step)| by_step.len() > 1)
            .map(|(k, by_step)| {
                let points = by_step
                    .into_iter()
                    .map(|(step, (_, value))| PointForm { step, value })
                    .collect();
                (k.to_owned(), points)
            })
            .collect();
        let mut tags = BTreeMap::new();
        let (series, every) = thinned(series);
        if every > 1 {
            tags.insert(SERIES_EVERY_TAG.to_owned(), every.to_string());
        }
        tags.insert("mlflow.run_id".to_owned(), run.to_string());
        if let Some(user) = tag(USER_TAG) {
            tags.insert(USER_TAG.to_owned(), user);
        }
        Provenance {
            lineage,
            params,
            metrics,
            series,
            tags,
        }
    }
}

#[cfg(test)]
#[path = "mlflow_tracking_tests.rs"]
mod tests;
