//! Newtypes for catalog values. Each parses itself, naming the field in
//! its error, and holds only a value that passed: a service that receives a
//! `TagMap` never checks tags again.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    rules, DESCRIPTION_MAX_BYTES, MAX_METRICS, MAX_METRIC_POINTS, MAX_PARAMS, MAX_TAGS,
    PARAM_VALUE_MAX_LEN, TAG_VALUE_MAX_LEN,
};
use crate::domain::FieldError;

/// Markdown, at most 64 KiB; no control characters but newlines and tabs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        rules::text("description", raw, DESCRIPTION_MAX_BYTES).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A team: empty, or lowercase letters, digits, `-`, `_`, `.` and spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Team(String);

impl Team {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        rules::team(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Tags as an edge sends them: a JSON object, or the edit form's
/// `key=value` lines (one per line, blank lines ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Tags {
    Map(BTreeMap<String, String>),
    Lines(String),
}

/// Tags, checked: at most 100, keys by the key rule, values of at most
/// 5000 characters without control characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagMap(BTreeMap<String, String>);

impl TagMap {
    pub fn parse(tags: &Tags) -> Result<Self, FieldError> {
        match tags {
            Tags::Map(map) => Self::from_map(map),
            Tags::Lines(text) => {
                let mut map = BTreeMap::new();
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let (k, v) = line.split_once('=').ok_or_else(|| {
                        FieldError::new("tags", format!("{line:?} is not key=value"))
                    })?;
                    map.insert(k.trim().to_owned(), v.trim().to_owned());
                }
                Self::from_map(&map)
            }
        }
    }

    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, FieldError> {
        rules::string_map("tags", map, MAX_TAGS, TAG_VALUE_MAX_LEN).map(Self)
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// Hyperparameters by name, stored as text: JSON strings, numbers and
/// booleans are accepted, anything else is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn parse(raw: &BTreeMap<String, Value>) -> Result<Self, FieldError> {
        let mut text = BTreeMap::new();
        for (k, v) in raw {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(FieldError::new(
                        "params",
                        format!("value of {k:?} must be a string, number or boolean"),
                    ))
                }
            };
            text.insert(k.clone(), value);
        }
        rules::string_map("params", &text, MAX_PARAMS, PARAM_VALUE_MAX_LEN).map(Self)
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// A key of a metric (or a tag, or a parameter): 1–250 characters of
/// letters, digits and `_ - . / : space`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricKey(String);

impl MetricKey {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        rules::key(field, raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Final metric values by key: at most 1000, each finite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics(BTreeMap<String, f64>);

impl Metrics {
    pub fn parse(raw: &BTreeMap<String, f64>) -> Result<Self, FieldError> {
        if raw.len() > MAX_METRICS {
            return Err(FieldError::new(
                "metrics",
                format!("at most {MAX_METRICS} metrics"),
            ));
        }
        let mut checked = BTreeMap::new();
        for (k, v) in raw {
            let k = rules::key("metrics", k)?;
            let v = rules::metric_value("metrics", &k, *v)?;
            checked.insert(k, v);
        }
        Ok(Self(checked))
    }

    pub fn as_map(&self) -> &BTreeMap<String, f64> {
        &self.0
    }
}

/// One value of a metric at a training step.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub key: String,
    pub step: i64,
    pub value: f64,
}

/// One point of a metric series as the edges send it (`{"step", "value"}`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = PointBody))]
#[serde(deny_unknown_fields)]
pub struct PointForm {
    pub step: i64,
    pub value: f64,
}

/// Per-step metric values of one request: at most 50 000 points, finite
/// values, no (key, step) twice. Longer series arrive in batches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSeries(Vec<MetricPoint>);

impl MetricSeries {
    pub fn parse(raw: &BTreeMap<String, Vec<PointForm>>) -> Result<Self, FieldError> {
        let total: usize = raw.values().map(Vec::len).sum();
        if total > MAX_METRIC_POINTS {
            return Err(too_many_points());
        }
        let mut points = Vec::with_capacity(total);
        for (k, list) in raw {
            let key = rules::key("metric_series", k)?;
            points.extend(list.iter().map(|p| MetricPoint {
                key: key.clone(),
                step: p.step,
                value: p.value,
            }));
        }
        Self::from_points(points)
    }

    pub fn from_points(points: Vec<MetricPoint>) -> Result<Self, FieldError> {
        if points.len() > MAX_METRIC_POINTS {
            return Err(too_many_points());
        }
        let mut seen = HashSet::new();
        for p in &points {
            rules::metric_value("metric_series", &p.key, p.value)?;
            if !seen.insert((p.key.as_str(), p.step)) {
                return Err(FieldError::new(
                    "metric_series",
                    format!("step {} of {:?} appears twice", p.step, p.key),
                ));
            }
        }
        Ok(Self(points))
    }

    pub fn points(&self) -> &[MetricPoint] {
        &self.0
    }
}

fn too_many_points() -> FieldError {
    FieldError::new(
        "metric_series",
        format!("at most {MAX_METRIC_POINTS} points per request; send larger series in batches"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn tags_parse_from_a_map_or_from_lines() {
        let from_map = TagMap::parse(&Tags::Map(map(&[("domain", "payments")]))).unwrap();
        let from_lines = TagMap::parse(&Tags::Lines(" domain = payments \n\n".into())).unwrap();
        assert_eq!(from_map, from_lines);
        let err = TagMap::parse(&Tags::Lines("no equals sign".into())).unwrap_err();
        assert_eq!(err.field, "tags");
        assert!(err.message.contains("is not key=value"), "{err}");
        let too_many: BTreeMap<String, String> = (0..=MAX_TAGS)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        assert_eq!(TagMap::from_map(&too_many).unwrap_err().field, "tags");
    }

    #[test]
    fn tags_deserialize_untagged() {
        let t: Tags = serde_json::from_str(r#"{"a": "1"}"#).unwrap();
        assert_eq!(t, Tags::Map(map(&[("a", "1")])));
        let t: Tags = serde_json::from_str(r#""a=1""#).unwrap();
        assert_eq!(t, Tags::Lines("a=1".into()));
        assert!(serde_json::from_str::<Tags>("[1]").is_err());
    }

    #[test]
    fn params_are_scalars_stored_as_text() {
        let raw: BTreeMap<String, Value> =
            serde_json::from_str(r#"{"lr": 0.001, "name": "adam", "warm": true}"#).unwrap();
        let p = Params::parse(&raw).unwrap();
        assert_eq!(
            p.as_map(),
            &map(&[("lr", "0.001"), ("name", "adam"), ("warm", "true")])
        );
        let raw: BTreeMap<String, Value> = serde_json::from_str(r#"{"layers": [1, 2]}"#).unwrap();
        assert_eq!(Params::parse(&raw).unwrap_err().field, "params");
    }

    #[test]
    fn metrics_are_bounded_and_finite() {
        let ok: BTreeMap<String, f64> = [(" acc ".to_owned(), 0.9)].into();
        assert_eq!(Metrics::parse(&ok).unwrap().as_map()["acc"], 0.9);
        let nan: BTreeMap<String, f64> = [("acc".to_owned(), f64::NAN)].into();
        assert_eq!(Metrics::parse(&nan).unwrap_err().field, "metrics");
        let many: BTreeMap<String, f64> =
            (0..=MAX_METRICS).map(|i| (format!("m{i}"), 1.0)).collect();
        assert!(Metrics::parse(&many)
            .unwrap_err()
            .message
            .contains("at most"));
    }

    #[test]
    fn series_refuse_duplicates_non_finite_values_and_excess() {
        let point = |step, value| PointForm { step, value };
        let ok: BTreeMap<String, Vec<PointForm>> =
            [("loss".to_owned(), vec![point(0, 1.0), point(1, 0.5)])].into();
        assert_eq!(MetricSeries::parse(&ok).unwrap().points().len(), 2);
        let dupe: BTreeMap<String, Vec<PointForm>> =
            [("loss".to_owned(), vec![point(0, 1.0), point(0, 0.5)])].into();
        assert!(MetricSeries::parse(&dupe)
            .unwrap_err()
            .message
            .contains("appears twice"));
        // Keys that trim to the same name collide too.
        let trimmed: BTreeMap<String, Vec<PointForm>> = [
            ("loss".to_owned(), vec![point(0, 1.0)]),
            (" loss".to_owned(), vec![point(0, 2.0)]),
        ]
        .into();
        assert!(MetricSeries::parse(&trimmed).is_err());
        let inf: BTreeMap<String, Vec<PointForm>> =
            [("loss".to_owned(), vec![point(0, f64::INFINITY)])].into();
        assert_eq!(
            MetricSeries::parse(&inf).unwrap_err().field,
            "metric_series"
        );
        let many = (0..=MAX_METRIC_POINTS as i64)
            .map(|s| MetricPoint {
                key: "l".into(),
                step: s,
                value: 0.0,
            })
            .collect();
        assert!(MetricSeries::from_points(many)
            .unwrap_err()
            .message
            .contains("batches"));
    }

    #[test]
    fn descriptions_and_teams() {
        assert_eq!(Description::parse("a\nb").unwrap().as_str(), "a\nb");
        assert_eq!(
            Description::parse("\u{7}").unwrap_err().field,
            "description"
        );
        assert_eq!(Team::parse(" risk ").unwrap().as_str(), "risk");
        assert_eq!(Team::parse("Risk").unwrap_err().field, "team");
        assert_eq!(
            MetricKey::parse("headline_metric", "").unwrap_err().field,
            "headline_metric"
        );
    }
}
