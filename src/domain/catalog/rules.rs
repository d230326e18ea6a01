//! The primitive checks every catalog field is built from: free text,
//! one-line values, keys, key → value maps, metric values and commits.

use std::collections::BTreeMap;

use super::{KEY_MAX_LEN, TEAM_MAX_LEN};
use crate::domain::FieldError;

/// Free text with a byte limit; newlines allowed, other control characters not.
pub fn text(field: &'static str, raw: &str, max_bytes: usize) -> Result<String, FieldError> {
    if raw.len() > max_bytes {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_bytes} bytes"),
        ));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(raw.to_owned())
}

/// A one-line value: trimmed, no control characters, at most `max` characters.
pub fn line(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// An optional one-line value: empty means absent.
pub fn optional_line(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match raw {
        None => Ok(None),
        Some(raw) => line(field, raw, max).map(|v| Some(v).filter(|v| !v.is_empty())),
    }
}

/// A team name: empty, or lowercase letters, digits, `-`, `_`, `.`, space.
pub fn team(raw: &str) -> Result<String, FieldError> {
    let team = line("team", raw, TEAM_MAX_LEN)?;
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_. ".contains(c);
    if !team.chars().all(ok) {
        return Err(FieldError::new(
            "team",
            "may contain only lowercase letters, digits, '-', '_', '.' and spaces",
        ));
    }
    Ok(team)
}

/// A key of a tag, parameter or metric: 1–250 characters of letters,
/// digits and `_ - . / : space` (MLflow's rule, plus `:`).
pub fn key(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(FieldError::new(field, "keys must not be empty"));
    }
    if key.chars().count() > KEY_MAX_LEN {
        return Err(FieldError::new(
            field,
            format!("keys must be at most {KEY_MAX_LEN} characters"),
        ));
    }
    let ok = |c: char| c.is_alphanumeric() || "_-./: ".contains(c);
    if !key.chars().all(ok) {
        return Err(FieldError::new(
            field,
            format!("key {key:?} may contain only letters, digits and _ - . / : space"),
        ));
    }
    Ok(key.to_owned())
}

/// Key → value maps (tags, parameters) with limits on count and sizes.
pub fn string_map(
    field: &'static str,
    raw: &BTreeMap<String, String>,
    max_entries: usize,
    max_value: usize,
) -> Result<BTreeMap<String, String>, FieldError> {
    if raw.len() > max_entries {
        return Err(FieldError::new(
            field,
            format!("at most {max_entries} entries"),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        let k = key(field, k)?;
        if v.chars().count() > max_value {
            return Err(FieldError::new(
                field,
                format!("value of {k:?} must be at most {max_value} characters"),
            ));
        }
        if v.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                format!("value of {k:?} must not contain control characters"),
            ));
        }
        if out.insert(k.clone(), v.clone()).is_some() {
            return Err(FieldError::new(field, format!("duplicate key {k:?}")));
        }
    }
    Ok(out)
}

/// A metric value: finite.
pub fn metric_value(field: &'static str, key: &str, value: f64) -> Result<f64, FieldError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("value of {key:?} must be a finite number"),
        ))
    }
}

/// A git commit: 7–64 hex digits (SHA-1 or SHA-256, abbreviated or full).
pub fn commit_sha(raw: &str) -> Result<String, FieldError> {
    let sha = raw.trim().to_ascii_lowercase();
    if !(7..=64).contains(&sha.len()) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FieldError::new(
            "lineage.commit_sha",
            "must be 7 to 64 hexadecimal digits",
        ));
    }
    Ok(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits_bytes_and_control_characters() {
        assert_eq!(text("description", "a\nb\tc", 10).unwrap(), "a\nb\tc");
        assert_eq!(
            text("description", &"x".repeat(11), 10).unwrap_err().field,
            "description"
        );
        assert!(text("description", "bell\u{7}", 100).is_err());
    }

    #[test]
    fn teams_and_keys() {
        assert_eq!(team(" risk ").unwrap(), "risk");
        assert_eq!(team("").unwrap(), "");
        for bad in ["Risk", "a/b", &"a".repeat(65)] {
            assert_eq!(team(bad).unwrap_err().field, "team");
        }
        assert_eq!(key("params", " learning_rate ").unwrap(), "learning_rate");
        assert!(key("params", "val/loss: epoch").is_ok());
        for bad in ["", " ", "a\nb", "a;drop", &"k".repeat(251), "a\"b"] {
            assert_eq!(key("params", bad).unwrap_err().field, "params", "{bad:?}");
        }
    }

    #[test]
    fn maps_enforce_count_sizes_and_keys() {
        let mut m = BTreeMap::new();
        m.insert("lr".to_owned(), "0.1".to_owned());
        assert_eq!(string_map("params", &m, 10, 10).unwrap(), m);
        m.insert("long".to_owned(), "x".repeat(11));
        assert!(string_map("params", &m, 10, 10).is_err());
        assert!(string_map("params", &m, 1, 100).is_err());
        let mut dupes = BTreeMap::new();
        dupes.insert("a".to_owned(), "1".to_owned());
        dupes.insert(" a".to_owned(), "2".to_owned());
        assert!(string_map("tags", &dupes, 10, 10).is_err());
    }

    #[test]
    fn metric_values_must_be_finite() {
        assert_eq!(metric_value("metrics", "acc", 0.5), Ok(0.5));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                metric_value("metrics", "acc", bad).unwrap_err().field,
                "metrics"
            );
        }
    }

    #[test]
    fn commit_shas() {
        assert_eq!(commit_sha("ABCDEF1").unwrap(), "abcdef1");
        assert!(commit_sha(&"a".repeat(40)).is_ok());
        for bad in ["", "abc", "xyz1234", &"a".repeat(65)] {
            assert!(commit_sha(bad).is_err());
        }
    }
}
