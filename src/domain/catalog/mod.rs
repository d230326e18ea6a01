//! Catalog input: the limits on what a model or version may say, the
//! newtypes that hold a checked value, and the forms every edge sends (a
//! JSON body, an HTML form, MLflow's arguments) with the one parse from
//! each form into what the services store. Every limit is documented in the
//! README; input beyond it is refused with the field named, never truncated.
//!
//! - `rules`: the primitive checks (text, one-line values, keys, maps);
//! - `fields`: the newtypes (`Description`, `Team`, `TagMap`, `MetricKey`, …);
//! - `model`, `version`: the forms and the inputs they parse into.

mod fields;
mod model;
mod rules;
mod version;

pub use fields::{
    Description, MetricKey, MetricPoint, MetricSeries, Metrics, Params, PointForm, TagMap, Tags,
    Team,
};
pub use model::{ModelAbout, ModelChanges, ModelEdit, NewModel, NewModelForm};
pub use rules::{commit_sha, key, line, metric_value, optional_line, string_map, team, text};
pub use version::{
    DatasetForm, Lineage, LineageForm, MlflowSource, NewVersion, ParentForm, SeriesForm,
    VersionChanges, VersionEdit, VersionForm, VersionSpec, VersionStatus,
};

pub const DESCRIPTION_MAX_BYTES: usize = 64 * 1024;
pub const TEAM_MAX_LEN: usize = 64;
pub const KEY_MAX_LEN: usize = 250;
pub const TAG_VALUE_MAX_LEN: usize = 5000;
pub const PARAM_VALUE_MAX_LEN: usize = 6000;
pub const MAX_TAGS: usize = 100;
pub const MAX_PARAMS: usize = 1000;
pub const MAX_METRICS: usize = 1000;
pub const MAX_METRIC_POINTS: usize = 50_000;
/// Metric points one version may hold across all its requests.
pub const MAX_POINTS_PER_VERSION: i64 = 1_000_000;
pub const LINEAGE_FIELD_MAX_LEN: usize = 2048;
pub const DEPENDENCIES_MAX_BYTES: usize = 256 * 1024;
