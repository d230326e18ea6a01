//! The stage state machine.

use std::fmt;

use crate::domain::Stage;

/// Whether a version may move directly from `from` to `to`.
///
/// The graph is deliberately small: `Experimental → Staging → Production`
/// forwards; any live stage may be archived; `Staging → Experimental` and
/// `Production → Staging` demote (the latter to prepare a rollback); and
/// `Archived → Staging` brings an old version back for a rollback, through
/// staging so it is re-checked before it serves again. Skipping staging
/// (`Experimental → Production`) and moving to the stage a version is already
/// in are refused.
pub fn transition_allowed(from: Stage, to: Stage) -> bool {
    use Stage::*;
    matches!(
        (from, to),
        (Experimental, Staging)
            | (Experimental, Archived)
            | (Staging, Production)
            | (Staging, Archived)
            | (Staging, Experimental)
            | (Production, Archived)
            | (Production, Staging)
            | (Archived, Staging)
    )
}

/// The stages a version in `from` may move to, in [`Stage::ALL`] order, so a
/// page offers only the moves the server will accept.
pub fn allowed_targets(from: Stage) -> impl Iterator<Item = Stage> {
    Stage::ALL
        .into_iter()
        .filter(move |&to| transition_allowed(from, to))
}

/// The first move on the way from `from` to `to`: `to` itself when the
/// move is direct, else the one stage between (Experimental → Production
/// goes through Staging). `None` when already there or no path of two steps
/// exists.
pub fn step_towards(from: Stage, to: Stage) -> Option<Stage> {
    if transition_allowed(from, to) {
        return Some(to);
    }
    if from == to {
        return None;
    }
    allowed_targets(from).find(|&between| transition_allowed(between, to))
}

/// A stage move that the state machine allows. Holding one proves the check
/// was made, so code further in need not repeat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    from: Stage,
    to: Stage,
}

impl Transition {
    pub fn new(from: Stage, to: Stage) -> Result<Self, TransitionError> {
        if transition_allowed(from, to) {
            Ok(Self { from, to })
        } else {
            Err(TransitionError { from, to })
        }
    }

    pub fn from(self) -> Stage {
        self.from
    }

    pub fn to(self) -> Stage {
        self.to
    }
}

/// A refused stage move. The message names both stages and what *is*
/// allowed, so the user learns the way forward rather than just "no".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct TransitionError {
    pub from: Stage,
    pub to: Stage,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (from, to) = (self.from, self.to);
        write!(f, "cannot move a version from {from} to {to}: ")?;
        if from == to {
            return write!(f, "it is already in {from}");
        }
        f.write_str("from ")?;
        f.write_str(from.as_str())?;
        f.write_str(" it may move only to ")?;
        for (i, target) in allowed_targets(from).enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            f.write_str(target.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workflow::can_open;
    use Stage::*;

    // --- state machine ---------------------------------------------------

    #[test]
    fn the_way_to_a_stage_starts_with_an_allowed_move() {
        assert_eq!(step_towards(Experimental, Production), Some(Staging));
        assert_eq!(step_towards(Archived, Production), Some(Staging));
        assert_eq!(step_towards(Experimental, Staging), Some(Staging));
        assert_eq!(step_towards(Experimental, Archived), Some(Archived));
        assert_eq!(step_towards(Production, Production), None);
        for from in Stage::ALL {
            for to in Stage::ALL {
                if let Some(step) = step_towards(from, to) {
                    assert!(transition_allowed(from, step), "{from:?} -> {step:?}");
                    assert!(
                        step == to || transition_allowed(step, to),
                        "{step:?} -> {to:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn transition_table_is_exactly_as_documented() {
        let table = [
            (Experimental, Experimental, false),
            (Experimental, Staging, true),
            (Experimental, Production, false),
            (Experimental, Archived, true),
            (Staging, Experimental, true),
            (Staging, Staging, false),
            (Staging, Production, true),
            (Staging, Archived, true),
            (Production, Experimental, false),
            (Production, Staging, true),
            (Production, Production, false),
            (Production, Archived, true),
            (Archived, Experimental, false),
            (Archived, Staging, true),
            (Archived, Production, false),
            (Archived, Archived, false),
        ];
        assert_eq!(table.len(), Stage::ALL.len() * Stage::ALL.len());
        for (from, to, allowed) in table {
            assert_eq!(transition_allowed(from, to), allowed, "{from} -> {to}");
            assert_eq!(Transition::new(from, to).is_ok(), allowed, "{from} -> {to}");
            assert_eq!(can_open(from, to).is_ok(), allowed, "{from} -> {to}");
            assert_eq!(
                allowed_targets(from).any(|t| t == to),
                allowed,
                "{from} -> {to}"
            );
        }
    }

    #[test]
    fn transition_keeps_its_endpoints() {
        let t = Transition::new(Staging, Production).unwrap();
        assert_eq!((t.from(), t.to()), (Staging, Production));
    }

    #[test]
    fn refused_transitions_name_both_stages_and_the_way_forward() {
        for from in Stage::ALL {
            for to in Stage::ALL {
                if let Err(err) = Transition::new(from, to) {
                    let msg = err.to_string();
                    assert!(msg.contains(&format!("from {from} to {to}")), "{msg}");
                }
            }
        }
        assert_eq!(
            Transition::new(Experimental, Production)
                .unwrap_err()
                .to_string(),
            "cannot move a version from experimental to production: \
             from experimental it may move only to staging or archived"
        );
        assert_eq!(
            Transition::new(Archived, Production)
                .unwrap_err()
                .to_string(),
            "cannot move a version from archived to production: \
             from archived it may move only to staging"
        );
        assert_eq!(
            Transition::new(Production, Production)
                .unwrap_err()
                .to_string(),
            "cannot move a version from production to production: it is already in production"
        );
    }
}
