use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::FieldError;

pub const MODEL_NAME_MAX_LEN: usize = 128;

/// A registered model's unique name: 1–128 characters of lowercase ASCII
/// letters, digits, `-`, `_` and `.`, starting with a letter or digit and
/// never containing `..`.
///
/// The alphabet is chosen so a name is always safe, unescaped, as a URL path
/// segment and as a storage key (no `/`, no `.`/`..` segments, no percent
/// encoding). Unlike `Username` it is *not* case-folded:
/// a name is an identifier that ends up in URLs, artifact paths and client
/// code, so we refuse `MyModel` rather than silently registering `mymodel`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModelName(String);

impl ModelName {
    /// Parses untrusted input. Only surrounding whitespace is removed; every
    /// other deviation is an error on field `name`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "is required"));
        }
        // Character set first, so a long non-ASCII name is told about the
        // real problem rather than about its byte length.
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(FieldError::new(
                "name",
                "must be lowercase (names are identifiers and are not case-folded)",
            ));
        }
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if !name.chars().all(valid_char) {
            return Err(FieldError::new(
                "name",
                "may contain only lowercase letters, digits, '.', '_' and '-'",
            ));
        }
        // All characters are ASCII from here on, so bytes == characters.
        if name.len() > MODEL_NAME_MAX_LEN {
            return Err(FieldError::new(
                "name",
                format!("must be at most {MODEL_NAME_MAX_LEN} characters"),
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new("name", "must start with a letter or digit"));
        }
        if name.contains("..") {
            return Err(FieldError::new("name", "must not contain '..'"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ModelName {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ModelName {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ModelName> for String {
    fn from(value: ModelName) -> Self {
        value.0
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for raw in [
            "resnet50",
            "a",
            "7",
            "0day",
            "bert-base-uncased",
            "gpt_2.small",
            "v1.2.3",
            "fraud-detector_v2.onnx",
            "a.b.c",
            "trailing-",
            "trailing_",
            "trailing.",
            "a-.b",
            "a._b",
        ] {
            assert_eq!(ModelName::parse(raw).unwrap().as_str(), raw, "{raw:?}");
        }
        let longest = "a".repeat(MODEL_NAME_MAX_LEN);
        assert_eq!(ModelName::parse(&longest).unwrap().as_str(), longest);
    }

    #[test]
    fn trims_surrounding_whitespace_only() {
        for (raw, parsed) in [
            ("  resnet50 ", "resnet50"),
            ("\tbert\n", "bert"),
            ("\r\n x-1 \r\n", "x-1"),
        ] {
            assert_eq!(ModelName::parse(raw).unwrap().as_str(), parsed);
        }
        // Trimming happens before the length check.
        let padded = format!("  {}  ", "a".repeat(MODEL_NAME_MAX_LEN));
        assert!(ModelName::parse(&padded).is_ok());
    }

    #[test]
    fn refuses_invalid_names() {
        let too_long = "a".repeat(MODEL_NAME_MAX_LEN + 1);
        for raw in [
            "",
            "   ",
            "\t\n",
            &too_long,
            "ResNet",
            "resnet50A",
            "A",
            "res net",
            "a/b",
            "/a",
            "a\\b",
            "a\0b",
            "\0",
            "modèle",
            "模型",
            "é",
            "a\u{200b}b",
            "-a",
            "_a",
            ".a",
            ".",
            "..",
            "a..b",
            "a..",
            "a...b",
            "a?b",
            "a#b",
            "a%2fb",
            "a:b",
            "a+b",
            "a~b",
            "a@b",
            "a*b",
            "a\nb",
        ] {
            let err = ModelName::parse(raw).unwrap_err();
            assert_eq!(err.field, "name", "{raw:?}");
        }
    }

    #[test]
    fn explains_each_kind_of_error() {
        let msg = |raw: &str| ModelName::parse(raw).unwrap_err().message;
        assert_eq!(msg(""), "is required");
        assert!(msg(&"a".repeat(MODEL_NAME_MAX_LEN + 1)).contains("at most 128"));
        assert!(msg("Model").contains("lowercase"));
        assert!(msg("a b").contains("may contain only"));
        assert!(msg("-a").contains("start with"));
        assert!(msg("a..b").contains(".."));
        // A long non-ASCII name is told about its characters, not its length.
        assert!(msg(&"é".repeat(100)).contains("may contain only"));
    }

    #[test]
    fn never_produces_an_unsafe_path_segment() {
        for raw in [".", "..", "a/../b", "%2e%2e", "a/b", "..a"] {
            assert!(ModelName::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn round_trips_through_string_serde_and_from_str() {
        let name = ModelName::parse("bert-base").unwrap();
        assert_eq!(name.to_string(), "bert-base");
        assert_eq!(String::from(name.clone()), "bert-base");
        assert_eq!(ModelName::try_from("bert-base".to_owned()).unwrap(), name);
        assert_eq!("bert-base".parse::<ModelName>().unwrap(), name);

        let json = serde_json::to_string(&name).unwrap();
        assert_eq!(json, "\"bert-base\"");
        assert_eq!(serde_json::from_str::<ModelName>(&json).unwrap(), name);
        assert!(serde_json::from_str::<ModelName>("\"Bert\"").is_err());
        assert!(serde_json::from_str::<ModelName>("\"../etc\"").is_err());
    }
}
