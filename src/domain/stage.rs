use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

use super::FieldError;

/// The lifecycle stage of a model version. Every new version starts in
/// `Experimental`; it moves only through the approval workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Experimental,
    Staging,
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Experimental,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Experimental => "experimental",
            Stage::Staging => "staging",
            Stage::Production => "production",
            Stage::Archived => "archived",
        }
    }

    /// Display name: `Production`.
    pub fn title(self) -> &'static str {
        match self {
            Stage::Experimental => "Experimental",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = FieldError;

    /// Case-insensitive: `production`, `Production` and `PRODUCTION` are one stage.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                FieldError::new(
                    "stage",
                    "must be one of experimental, staging, production, archived",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_case_insensitively_and_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(stage.as_str().parse::<Stage>(), Ok(stage));
            assert_eq!(stage.title().parse::<Stage>(), Ok(stage));
            assert_eq!(stage.as_str().to_uppercase().parse::<Stage>(), Ok(stage));
        }
        for bad in ["", "prod", "none", "stage", "production;"] {
            assert_eq!(bad.parse::<Stage>().unwrap_err().field, "stage");
        }
    }
}
