//! Time spans a version spent in a stage, derived from its recorded changes.
//! A change is in effect from its own instant on, and a span ends at the
//! instant of the version's next change (half-open `[from, until)`).

use serde::{Deserialize, Serialize};

use super::Stage;

/// One recorded stage change of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageChange {
    pub version: String,
    pub to: Stage,
    pub at: i64,
}

/// A version's stay in a stage; `until` is `None` while it is still there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSpan {
    pub version: String,
    pub stage: Stage,
    pub from: i64,
    pub until: Option<i64>,
}

impl StageSpan {
    pub fn contains(&self, at: i64) -> bool {
        self.from <= at && self.until.is_none_or(|u| at < u)
    }

    /// True when the span shares at least one instant with `[from, to)`.
    pub fn overlaps(&self, from: Option<i64>, to: Option<i64>) -> bool {
        let starts_before_end = to.is_none_or(|t| self.from < t);
        let ends_after_start = match (self.until, from) {
            (Some(u), Some(f)) => u > f,
            _ => true,
        };
        starts_before_end && ends_after_start
    }
}

/// The spans of every version in `stage`, ordered by start. `changes` must
/// be in the order they happened (ties keep their recorded order).
pub fn spans_in(changes: &[StageChange], stage: Stage) -> Vec<StageSpan> {
    let mut spans: Vec<StageSpan> = Vec::new();
    let mut open: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for change in changes {
        if let Some(index) = open.remove(change.version.as_str()) {
            spans[index].until = Some(change.at);
        }
        if change.to == stage {
            open.insert(&change.version, spans.len());
            spans.push(StageSpan {
                version: change.version.clone(),
                stage,
                from: change.at,
                until: None,
            });
        }
    }
    // A span closed at the instant it opened never held the stage.
    spans.retain(|s| s.until != Some(s.from));
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stage::*;

    fn change(version: &str, to: Stage, at: i64) -> StageChange {
        StageChange {
            version: version.into(),
            to,
            at,
        }
    }

    fn span(version: &str, from: i64, until: Option<i64>) -> StageSpan {
        StageSpan {
            version: version.into(),
            stage: Production,
            from,
            until,
        }
    }

    #[test]
    fn promotions_and_a_rollback_make_consecutive_production_spans() {
        let changes = [
            change("1.0.0", Staging, 10),
            change("1.0.0", Production, 20),
            change("1.1.0", Staging, 25),
            change("1.0.0", Archived, 30),
            change("1.1.0", Production, 30),
            change("1.1.0", Archived, 40),
            change("1.0.0", Staging, 40),
            change("1.0.0", Production, 45),
        ];
        assert_eq!(
            spans_in(&changes, Production),
            vec![
                span("1.0.0", 20, Some(30)),
                span("1.1.0", 30, Some(40)),
                span("1.0.0", 45, None),
            ]
        );
    }

    #[test]
    fn a_span_covers_its_start_but_not_its_end() {
        let s = span("1.0.0", 20, Some(30));
        assert!(!s.contains(19));
        assert!(s.contains(20));
        assert!(s.contains(29));
        assert!(!s.contains(30));
        assert!(span("1.0.0", 20, None).contains(i64::MAX));
    }

    #[test]
    fn overlap_with_a_range_is_half_open_on_both_sides() {
        let s = span("1.0.0", 20, Some(30));
        assert!(s.overlaps(None, None));
        assert!(s.overlaps(Some(29), Some(31)));
        assert!(!s.overlaps(Some(30), None));
        assert!(!s.overlaps(None, Some(20)));
        assert!(s.overlaps(None, Some(21)));
        assert!(span("1.0.0", 20, None).overlaps(Some(1_000), None));
    }

    #[test]
    fn no_changes_no_spans_and_other_stages_are_separate() {
        assert!(spans_in(&[], Production).is_empty());
        let changes = [change("2.0.0", Staging, 5), change("2.0.0", Production, 9)];
        assert_eq!(
            spans_in(&changes, Staging),
            vec![StageSpan {
                version: "2.0.0".into(),
                stage: Staging,
                from: 5,
                until: Some(9)
            }]
        );
    }

    #[test]
    fn a_stage_left_in_the_same_instant_is_not_a_span() {
        let changes = [change("1.0.0", Production, 7), change("1.0.0", Archived, 7)];
        assert!(spans_in(&changes, Production).is_empty());
    }
}
