//! Versions as every edge sends them, and what they parse into: the
//! registration form (the REST body; MLflow's handlers fill it too), the
//! edit form, and metric batches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    rules, Description, MetricSeries, Metrics, Params, PointForm, TagMap, DEPENDENCIES_MAX_BYTES,
    LINEAGE_FIELD_MAX_LEN,
};
use crate::domain::{Bump, FieldError, ModelName, SemVer};

/// Which number a new version gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    Exact(SemVer),
    Next(Bump),
}

/// Whether a version's files are complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VersionStatus {
    Registering,
    Ready,
    Failed,
}

impl VersionStatus {
    pub const ALL: [VersionStatus; 3] = [Self::Registering, Self::Ready, Self::Failed];

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| FieldError::new("status", "must be registering, ready or failed"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registering => "registering",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for VersionStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Where a version came from, checked. `parent_version_id` is filled in by
/// the service once it has found the parent named in [`NewVersion::parent`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    pub source_repo: Option<String>,
    pub commit_sha: Option<String>,
    pub training_script: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_version: Option<String>,
    pub dataset_uri: Option<String>,
    pub dataset_hash: Option<String>,
    pub parent_version_id: Option<i64>,
    pub framework: Option<String>,
    pub framework_version: Option<String>,
    pub dependencies: Option<String>,
    /// Where an MLflow client said the model files are (`source`).
    pub source_uri: Option<String>,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = DatasetBody))]
#[serde(deny_unknown_fields)]
pub struct DatasetForm {
    pub name: Option<String>,
    pub version: Option<String>,
    pub uri: Option<String>,
    pub hash: Option<String>,
}

/// The version this one was derived from (fine-tuned, distilled, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = ParentBody))]
#[serde(deny_unknown_fields)]
pub struct ParentForm {
    pub model: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = LineageBody))]
#[serde(deny_unknown_fields)]
pub struct LineageForm {
    pub source_repo: Option<String>,
    pub commit_sha: Option<String>,
    pub training_script: Option<String>,
    pub dataset: Option<DatasetForm>,
    pub parent: Option<ParentForm>,
    pub framework: Option<String>,
    pub framework_version: Option<String>,
    pub dependencies: Option<String>,
}

/// What an MLflow client says about a version's files; the REST API has no
/// such fields, so this part of the form is never decoded from JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MlflowSource {
    pub source: String,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    /// The version number it had in the MLflow registry it is imported from
    /// (`import-mlflow` keeps numbers); `None`: the next number.
    pub number: Option<i64>,
}

/// A new version of a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(as = RegisterVersionBody)
)]
#[serde(deny_unknown_fields)]
pub struct VersionForm {
    /// An exact semver, or omit it and give `bump`.
    pub version: Option<String>,
    /// `patch` (default), `minor` or `major` above the highest existing version.
    // A String parsed by hand, so a bad value names the field; documented as a Bump.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Bump>))]
    pub bump: Option<String>,
    /// Markdown.
    pub description: Option<String>,
    #[cfg_attr(feature = "ssr", schema(schema_with = schemas::version_status))]
    pub status: Option<String>,
    pub lineage: Option<LineageForm>,
    #[cfg_attr(feature = "ssr", schema(schema_with = schemas::params))]
    pub params: Option<BTreeMap<String, Value>>,
    /// Final metric values by key.
    pub metrics: Option<BTreeMap<String, f64>>,
    /// Per-step values by metric key; more can be appended later.
    pub metric_series: Option<BTreeMap<String, Vec<PointForm>>>,
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(skip)]
    pub mlflow: Option<MlflowSource>,
}

/// A new version, checked; the parent is still a name here.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    pub spec: VersionSpec,
    pub description: Description,
    pub lineage: Lineage,
    pub parent: Option<(ModelName, SemVer)>,
    pub params: Params,
    pub metrics: Metrics,
    pub series: MetricSeries,
    pub tags: TagMap,
    pub status: VersionStatus,
    /// The version number to take (an import keeps MLflow's); `None`: the next.
    pub seq: Option<i64>,
}

fn semver(field: &'static str, raw: &str) -> Result<SemVer, FieldError> {
    SemVer::parse(raw).map_err(|e| FieldError::new(field, e.message))
}

impl VersionForm {
    pub fn parse(&self) -> Result<NewVersion, FieldError> {
        let spec = match (self.version.as_deref(), self.bump.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "bump",
                    "give either version or bump, not both",
                ))
            }
            (Some(v), None) => VersionSpec::Exact(semver("version", v)?),
            (None, Some(b)) => VersionSpec::Next(b.parse()?),
            (None, None) => VersionSpec::Next(Bump::Patch),
        };
        let metrics = Metrics::parse(&self.metrics.clone().unwrap_or_default())?;
        let (mut lineage, parent) = self.lineage.clone().unwrap_or_default().parse()?;
        if let Some(m) = &self.mlflow {
            lineage.source_uri = Some(rules::line("source", &m.source, LINEAGE_FIELD_MAX_LEN)?);
            let optional = |field, raw: &Option<String>| {
                raw.as_deref()
                    .filter(|s| !s.is_empty())
                    .map(|s| rules::line(field, s, LINEAGE_FIELD_MAX_LEN))
                    .transpose()
            };
            lineage.run_id = optional("run_id", &m.run_id)?;
            lineage.run_link = optional("run_link", &m.run_link)?;
            if m.number.is_some_and(|n| n < 1) {
                return Err(FieldError::new("version", "numbers start at 1"));
            }
        }
        Ok(NewVersion {
            spec,
            description: Description::parse(self.description.as_deref().unwrap_or(""))?,
            lineage,
            parent,
            params: Params::parse(&self.params.clone().unwrap_or_default())?,
            metrics,
            series: MetricSeries::parse(&self.metric_series.clone().unwrap_or_default())?,
            tags: TagMap::from_map(&self.tags.clone().unwrap_or_default())?,
            status: self
                .status
                .as_deref()
                .map(VersionStatus::parse)
                .transpose()?
                .unwrap_or(VersionStatus::Ready),
            seq: self.mlflow.as_ref().and_then(|m| m.number),
        })
    }
}

impl LineageForm {
    fn parse(self) -> Result<(Lineage, Option<(ModelName, SemVer)>), FieldError> {
        use rules::optional_line as opt;
        const MAX: usize = LINEAGE_FIELD_MAX_LEN;
        let dataset = self.dataset.unwrap_or_default();
        let dependencies = self
            .dependencies
            .map(|d| rules::text("lineage.dependencies", &d, DEPENDENCIES_MAX_BYTES))
            .transpose()?;
        let parent = self
            .parent
            .map(|p| {
                let model = ModelName::parse(&p.model)
                    .map_err(|e| FieldError::new("lineage.parent", e.to_string()))?;
                Ok::<_, FieldError>((model, semver("lineage.parent", &p.version)?))
            })
            .transpose()?;
        let lineage = Lineage {
            source_repo: opt("lineage.source_repo", self.source_repo.as_deref(), MAX)?,
            commit_sha: self
                .commit_sha
                .as_deref()
                .map(rules::commit_sha)
                .transpose()?,
            training_script: opt(
                "lineage.training_script",
                self.training_script.as_deref(),
                MAX,
            )?,
            dataset_name: opt("lineage.dataset.name", dataset.name.as_deref(), MAX)?,
            dataset_version: opt("lineage.dataset.version", dataset.version.as_deref(), MAX)?,
            dataset_uri: opt("lineage.dataset.uri", dataset.uri.as_deref(), MAX)?,
            dataset_hash: opt("lineage.dataset.hash", dataset.hash.as_deref(), 256)?,
            framework: opt("lineage.framework", self.framework.as_deref(), 64)?
                .map(|f| f.to_ascii_lowercase()),
            framework_version: opt(
                "lineage.framework_version",
                self.framework_version.as_deref(),
                64,
            )?,
            dependencies,
            ..Lineage::default()
        };
        Ok((lineage, parent))
    }
}

/// Changes to a version's description or tags: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = PatchVersionBody))]
#[serde(deny_unknown_fields)]
pub struct VersionEdit {
    /// Markdown.
    pub description: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// Changes to a version, checked; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionChanges {
    pub description: Option<Description>,
    pub tags: Option<TagMap>,
}

impl VersionEdit {
    pub fn parse(&self) -> Result<VersionChanges, FieldError> {
        Ok(VersionChanges {
            description: self
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()?,
            tags: self.tags.as_ref().map(TagMap::from_map).transpose()?,
        })
    }
}

/// A batch of metric points for an existing version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = AppendMetricsBody))]
#[serde(deny_unknown_fields)]
pub struct SeriesForm {
    /// Per-step values by metric key; steps already recorded are refused.
    pub metric_series: BTreeMap<String, Vec<PointForm>>,
}

impl SeriesForm {
    pub fn parse(&self) -> Result<MetricSeries, FieldError> {
        MetricSeries::parse(&self.metric_series)
    }
}

/// OpenAPI schemas for fields decoded from looser JSON than they accept.
#[cfg(feature = "ssr")]
mod schemas {
    use utoipa::openapi::{schema::SchemaType, ObjectBuilder, Type};

    use super::VersionStatus;

    /// `status` as `VersionStatus::parse` accepts it.
    pub fn version_status() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(VersionStatus::ALL.map(VersionStatus::as_str)))
            .description(Some("Default `ready`."))
    }

    /// `params` values are scalars, stored as text.
    pub fn params() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(
                ObjectBuilder::new().schema_type(
                    [Type::String, Type::Number, Type::Boolean]
                        .into_iter()
                        .collect::<SchemaType>(),
                ),
            ))
            .description(Some(
                "Hyperparameters by name: strings, numbers or booleans, stored as text.",
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(json: serde_json::Value) -> VersionForm {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_version_comes_from_version_or_bump_never_both() {
        assert_eq!(
            form(serde_json::json!({})).parse().unwrap().spec,
            VersionSpec::Next(Bump::Patch)
        );
        assert_eq!(
            form(serde_json::json!({"bump": "minor"}))
                .parse()
                .unwrap()
                .spec,
            VersionSpec::Next(Bump::Minor)
        );
        let exact = form(serde_json::json!({"version": "1.2.3"}))
            .parse()
            .unwrap();
        assert!(matches!(exact.spec, VersionSpec::Exact(v) if v.to_string() == "1.2.3"));
        let both = form(serde_json::json!({"version": "1.0.0", "bump": "major"}));
        assert_eq!(both.parse().unwrap_err().field, "bump");
        assert_eq!(
            form(serde_json::json!({"version": "one"}))
                .parse()
                .unwrap_err()
                .field,
            "version"
        );
    }

    #[test]
    fn every_part_names_its_field() {
        for (json, field) in [
            (serde_json::json!({"status": "done"}), "status"),
            (
                serde_json::json!({"lineage": {"commit_sha": "xyz"}}),
                "lineage.commit_sha",
            ),
            (
                serde_json::json!({"lineage": {"parent": {"model": "m", "version": "x"}}}),
                "lineage.parent",
            ),
            (serde_json::json!({"params": {"a": [1]}}), "params"),
            (serde_json::json!({"metrics": {"": 1.0}}), "metrics"),
            (serde_json::json!({"tags": {"": "x"}}), "tags"),
            (serde_json::json!({"description": "\u{7}"}), "description"),
        ] {
            assert_eq!(form(json).parse().unwrap_err().field, field);
        }
    }

    #[test]
    fn lineage_is_trimmed_and_normalized() {
        let v = form(serde_json::json!({"lineage": {
            "commit_sha": "ABCDEF1", "framework": "PyTorch", "source_repo": "  ",
            "parent": {"model": "base", "version": "1.0.0"},
        }}))
        .parse()
        .unwrap();
        assert_eq!(v.lineage.commit_sha.as_deref(), Some("abcdef1"));
        assert_eq!(v.lineage.framework.as_deref(), Some("pytorch"));
        assert_eq!(v.lineage.source_repo, None);
        assert_eq!(v.parent.unwrap().0.as_str(), "base");
    }

    #[test]
    fn the_mlflow_part_is_never_decoded_from_json() {
        assert!(serde_json::from_str::<VersionForm>(r#"{"mlflow": {}}"#).is_err());
        let v = VersionForm {
            mlflow: Some(MlflowSource {
                source: "s3://bucket/model".into(),
                run_id: Some(String::new()),
                run_link: None,
                number: Some(7),
            }),
            ..VersionForm::default()
        }
        .parse()
        .unwrap();
        assert_eq!(v.lineage.source_uri.as_deref(), Some("s3://bucket/model"));
        assert_eq!(v.lineage.run_id, None);
        assert_eq!(v.seq, Some(7));
        let zero = VersionForm {
            mlflow: Some(MlflowSource {
                number: Some(0),
                ..MlflowSource::default()
            }),
            ..VersionForm::default()
        };
        assert_eq!(zero.parse().unwrap_err().field, "version");
    }

    #[test]
    fn statuses_round_trip() {
        for s in VersionStatus::ALL {
            assert_eq!(VersionStatus::parse(s.as_str()), Ok(s));
        }
    }
}
