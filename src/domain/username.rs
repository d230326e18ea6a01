use serde::{Deserialize, Serialize};
use std::fmt;

use super::FieldError;

pub const USERNAME_MAX_LEN: usize = 64;

/// A login name: 1–64 characters of lowercase ASCII letters, digits, `.`,
/// `_`, `-`, starting with a letter or digit. Case-folded on parse so
/// `Alice` and `alice` are the same account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(FieldError::new("username", "is required"));
        }
        if name.len() > USERNAME_MAX_LEN {
            return Err(FieldError::new(
                "username",
                format!("must be at most {USERNAME_MAX_LEN} characters"),
            ));
        }
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if !name.chars().all(valid_char) {
            return Err(FieldError::new(
                "username",
                "may contain only letters, digits, '.', '_' and '-'",
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                "username",
                "must start with a letter or digit",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises_valid_names() {
        for (raw, parsed) in [
            ("alice", "alice"),
            ("  Bob ", "bob"),
            ("ci-bot_2.prod", "ci-bot_2.prod"),
            ("7", "7"),
        ] {
            assert_eq!(Username::parse(raw).unwrap().as_str(), parsed);
        }
        assert!(Username::parse(&"a".repeat(USERNAME_MAX_LEN)).is_ok());
    }

    #[test]
    fn refuses_invalid_names() {
        let long = "a".repeat(USERNAME_MAX_LEN + 1);
        for raw in [
            "", "   ", &long, "al ice", "-alice", ".x", "名前", "a/b", "a\0b", "é",
        ] {
            let err = Username::parse(raw).unwrap_err();
            assert_eq!(err.field, "username", "{raw:?}");
        }
    }
}
