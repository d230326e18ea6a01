//! A reference to one version the way people and scripts write it:
//! `fraud@champion` (an alias), `fraud:production` (a stage),
//! `fraud==2.1.0` (an exact version), or `fraud:latest`. Parsed here so the
//! command line names what is wrong before anything is sent.

use super::{AliasName, FieldError, ModelName, SemVer, Stage};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionTarget {
    Alias(AliasName),
    Stage(Stage),
    Latest,
    Exact(SemVer),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub model: ModelName,
    pub target: VersionTarget,
}

impl ModelRef {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let bad = || {
            FieldError::new(
                "reference",
                "must be NAME@ALIAS, NAME:STAGE, NAME:latest or NAME==VERSION",
            )
        };
        let (name, target) = if let Some((name, version)) = raw.split_once("==") {
            let version =
                SemVer::parse(version).map_err(|e| FieldError::new("version", e.message))?;
            (name, VersionTarget::Exact(version))
        } else if let Some((name, alias)) = raw.split_once('@') {
            let alias = AliasName::parse(alias).map_err(|e| FieldError::new("alias", e.message))?;
            (name, VersionTarget::Alias(alias))
        } else if let Some((name, stage)) = raw.split_once(':') {
            if stage.eq_ignore_ascii_case("latest") {
                (name, VersionTarget::Latest)
            } else {
                (name, VersionTarget::Stage(stage.parse()?))
            }
        } else {
            return Err(bad());
        };
        let model = ModelName::parse(name).map_err(|e| FieldError::new("model", e.message))?;
        Ok(Self { model, target })
    }

    /// Stages and `latest` pick the highest matching version; an alias or
    /// an exact version names one.
    pub fn takes_requirement(&self) -> bool {
        matches!(self.target, VersionTarget::Stage(_) | VersionTarget::Latest)
    }

    /// The registry's lookup path for it, under `/api/v1`.
    pub fn lookup_path(&self) -> String {
        let m = self.model.as_str();
        match &self.target {
            VersionTarget::Alias(a) => format!("/models/{m}/aliases/{}", a.as_str()),
            VersionTarget::Stage(s) => format!("/models/{m}/stages/{}", s.as_str()),
            VersionTarget::Latest => format!("/models/{m}/aliases/latest"),
            VersionTarget::Exact(v) => format!("/models/{m}/versions/{v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_to_its_lookup() {
        for (raw, path) in [
            ("fraud@champion", "/models/fraud/aliases/champion"),
            ("fraud:production", "/models/fraud/stages/production"),
            ("fraud:Staging", "/models/fraud/stages/staging"),
            ("fraud:latest", "/models/fraud/aliases/latest"),
            ("fraud==2.1.0", "/models/fraud/versions/2.1.0"),
            (" fraud==2.1.0-rc.1 ", "/models/fraud/versions/2.1.0-rc.1"),
        ] {
            assert_eq!(ModelRef::parse(raw).unwrap().lookup_path(), path, "{raw}");
        }
        assert!(ModelRef::parse("fraud:production")
            .unwrap()
            .takes_requirement());
        assert!(!ModelRef::parse("fraud@champion")
            .unwrap()
            .takes_requirement());
    }

    #[test]
    fn malformed_references_name_the_part() {
        for (raw, field) in [
            ("fraud", "reference"),
            ("", "reference"),
            ("fraud:prod", "stage"),
            ("fraud==two", "version"),
            ("fraud@", "alias"),
            ("Fraud Model@champion", "model"),
            ("@champion", "model"),
        ] {
            assert_eq!(ModelRef::parse(raw).unwrap_err().field, field, "{raw:?}");
        }
    }
}
