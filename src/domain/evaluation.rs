//! Evaluations: results measured after a version was registered (a Staging
//! evaluation, a shadow run, a fairness audit). They are recorded next to
//! the version, each tied to the content digest it was measured on, and
//! never change that content or its digest.

use std::collections::BTreeMap;

use super::{catalog, FieldError};

pub const EVALUATION_NAME_MAX_LEN: usize = 128;
pub const EVALUATION_NOTES_MAX_BYTES: usize = 8 * 1024;

/// A validated evaluation, ready to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvaluation {
    pub name: String,
    pub dataset: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    pub notes: String,
}

impl NewEvaluation {
    /// Checks untrusted input, naming the first offending field: a name,
    /// at least one finite metric with a valid key, an optional dataset
    /// reference and optional notes.
    pub fn parse(
        name: &str,
        dataset: Option<&str>,
        metrics: &BTreeMap<String, f64>,
        notes: &str,
    ) -> Result<Self, FieldError> {
        let name = catalog::line("name", name, EVALUATION_NAME_MAX_LEN)?;
        if name.is_empty() {
            return Err(FieldError::new(
                "name",
                "is required: say what was measured (e.g. staging-eval-2026-12)",
            ));
        }
        let dataset = catalog::optional_line("dataset", dataset, catalog::LINEAGE_FIELD_MAX_LEN)?;
        if metrics.is_empty() {
            return Err(FieldError::new("metrics", "must hold at least one metric"));
        }
        if metrics.len() > catalog::MAX_METRICS {
            return Err(FieldError::new(
                "metrics",
                format!("at most {} metrics", catalog::MAX_METRICS),
            ));
        }
        let mut checked = BTreeMap::new();
        for (key, value) in metrics {
            let key = catalog::key("metrics", key)?;
            let value = catalog::metric_value("metrics", &key, *value)?;
            if checked.insert(key.clone(), value).is_some() {
                return Err(FieldError::new("metrics", format!("duplicate key {key:?}")));
            }
        }
        let notes = catalog::text("notes", notes.trim(), EVALUATION_NOTES_MAX_BYTES)?;
        Ok(Self {
            name,
            dataset,
            metrics: checked,
            notes,
        })
    }
}

/// Parses a form's metrics text: one `key = value` (or `key: value`) per
/// line, blank lines ignored. Errors name the line.
pub fn parse_metric_lines(text: &str) -> Result<BTreeMap<String, f64>, FieldError> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = |message: &str| FieldError::new("metrics", format!("line {}: {message}", i + 1));
        let (key, value) = line
            .rsplit_once(['=', ':'])
            .ok_or_else(|| at("write key = value, e.g. auc = 0.91"))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| at("the value must be a number"))?;
        if out.insert(key.trim().to_owned(), value).is_some() {
            return Err(at("this metric appears twice"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn valid_evaluations_parse_trimmed() {
        let e = NewEvaluation::parse(
            " staging-eval ",
            Some(" s3://data/holdout-2026-12 "),
            &metrics(&[("auc", 0.91), ("latency_p95_ms", 12.0)]),
            "  shadow traffic, one week  ",
        )
        .unwrap();
        assert_eq!(e.name, "staging-eval");
        assert_eq!(e.dataset.as_deref(), Some("s3://data/holdout-2026-12"));
        assert_eq!(e.metrics.len(), 2);
        assert_eq!(e.notes, "shadow traffic, one week");
        let bare = NewEvaluation::parse("x", Some(""), &metrics(&[("a", 1.0)]), "").unwrap();
        assert_eq!(bare.dataset, None);
    }

    /// name, dataset, metrics, notes, and the field the error must name.
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        BTreeMap<String, f64>,
        &'a str,
        &'a str,
    );

    #[test]
    fn bad_evaluations_name_the_field() {
        let ok = metrics(&[("auc", 0.9)]);
        let cases: [Case; 7] = [
            ("", None, ok.clone(), "", "name"),
            (&"n".repeat(129), None, ok.clone(), "", "name"),
            ("x", Some("a\nb"), ok.clone(), "", "dataset"),
            ("x", None, BTreeMap::new(), "", "metrics"),
            ("x", None, metrics(&[("auc", f64::NAN)]), "", "metrics"),
            ("x", None, metrics(&[("a;b", 1.0)]), "", "metrics"),
            ("x", None, ok.clone(), "bell\u{7}", "notes"),
        ];
        for (name, dataset, m, notes, field) in cases {
            let err = NewEvaluation::parse(name, dataset, &m, notes).unwrap_err();
            assert_eq!(err.field, field, "{name:?} {dataset:?} {m:?} {notes:?}");
        }
        let many: BTreeMap<String, f64> = (0..=catalog::MAX_METRICS)
            .map(|i| (format!("m{i}"), 1.0))
            .collect();
        assert_eq!(
            NewEvaluation::parse("x", None, &many, "")
                .unwrap_err()
                .field,
            "metrics"
        );
    }

    #[test]
    fn metric_lines_parse_and_errors_name_the_line() {
        assert_eq!(
            parse_metric_lines("auc = 0.91\n\n  recall: 0.5 \nval/loss=1e-3").unwrap(),
            metrics(&[("auc", 0.91), ("recall", 0.5), ("val/loss", 0.001)])
        );
        for (text, needle) in [
            ("auc 0.9", "line 1"),
            ("auc = high", "number"),
            ("a = 1\n a = 2", "twice"),
        ] {
            let err = parse_metric_lines(text).unwrap_err();
            assert_eq!(err.field, "metrics");
            assert!(err.message.contains(needle), "{text:?}: {}", err.message);
        }
    }
}
