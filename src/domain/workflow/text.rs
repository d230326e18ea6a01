//! The words people attach to a request: the requester's justification and
//! a reviewer's comment. Both parse themselves, naming their field.

use crate::domain::{Decision, FieldError};

pub const JUSTIFICATION_MAX_CHARS: usize = 4000;
pub const COMMENT_MAX_CHARS: usize = 2000;

/// Why a version should move, as typed by the requester: 1 to 4000
/// characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Justification(String);

impl Justification {
    /// The text an edge records when its protocol cannot carry one (an
    /// MLflow client, say): fixed, so it is never mistaken for a person's words.
    pub fn stated_by_edge(text: &'static str) -> Self {
        Self(text.to_owned())
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(
                "justification",
                "is required: say why this version should move",
            ));
        }
        if text.chars().count() > JUSTIFICATION_MAX_CHARS {
            return Err(FieldError::new(
                "justification",
                format!("must be at most {JUSTIFICATION_MAX_CHARS} characters"),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A reviewer's comment: optional on approval, required on rejection, so
/// the requester always learns why.
pub fn parse_comment(raw: &str, decision: Decision) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.chars().count() > COMMENT_MAX_CHARS {
        return Err(FieldError::new(
            "comment",
            format!("must be at most {COMMENT_MAX_CHARS} characters"),
        ));
    }
    if text.is_empty() && decision == Decision::Reject {
        return Err(FieldError::new(
            "comment",
            "is required when rejecting: tell the requester why",
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn justifications_are_trimmed_required_and_bounded() {
        assert_eq!(
            Justification::parse("  because  ").unwrap().as_str(),
            "because"
        );
        for bad in ["", "   ", &"x".repeat(JUSTIFICATION_MAX_CHARS + 1)] {
            assert_eq!(
                Justification::parse(bad).unwrap_err().field,
                "justification"
            );
        }
        assert!(Justification::parse(&"é".repeat(JUSTIFICATION_MAX_CHARS)).is_ok());
    }

    #[test]
    fn comments_are_needed_to_reject_only() {
        assert_eq!(parse_comment("", Decision::Approve).unwrap(), "");
        assert_eq!(parse_comment(" ok ", Decision::Approve).unwrap(), "ok");
        assert_eq!(
            parse_comment(" ", Decision::Reject).unwrap_err().field,
            "comment"
        );
        let long = "x".repeat(COMMENT_MAX_CHARS + 1);
        assert_eq!(
            parse_comment(&long, Decision::Approve).unwrap_err().field,
            "comment"
        );
    }
}
