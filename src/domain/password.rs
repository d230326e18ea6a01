use std::fmt;

use super::FieldError;

pub const PASSWORD_MIN_LEN: usize = 10;
pub const PASSWORD_MAX_LEN: usize = 256;

/// A new password that meets the policy. Only used when setting a password:
/// sign-in accepts whatever was typed (bounded in length) and lets the hash
/// decide. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_LEN {
            return Err(FieldError::new(
                field,
                format!("must be at least {PASSWORD_MIN_LEN} characters"),
            ));
        }
        if raw.len() > PASSWORD_MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("must be at most {PASSWORD_MAX_LEN} bytes"),
            ));
        }
        if raw.trim().is_empty() || raw.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "must not be blank or contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_policy_compliant_passwords() {
        for raw in ["correct horse", "0123456789", "pässwörd-ünïcode"] {
            assert_eq!(Password::parse("password", raw).unwrap().expose(), raw);
        }
        assert!(Password::parse("password", &"x".repeat(PASSWORD_MAX_LEN)).is_ok());
    }

    #[test]
    fn refuses_short_long_blank_and_control_characters() {
        let long = "x".repeat(PASSWORD_MAX_LEN + 1);
        for raw in [
            "",
            "short",
            "123456789",
            &long,
            "          ",
            "abcdefghij\0",
            "abc\ndefghijk",
        ] {
            let err = Password::parse("new_password", raw).unwrap_err();
            assert_eq!(err.field, "new_password", "{raw:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::parse("password", "super secret value").unwrap();
        assert!(!format!("{p:?}").contains("secret"));
    }
}
