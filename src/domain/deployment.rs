//! Environments and what they served: the pure rules behind "which version
//! made this decision". A deployment report says "environment E serves
//! version V of model M since `at`" (or "stopped serving M at `at`"); for
//! one environment and model a report holds until the next one, so the
//! timeline is a list of half-open spans `[from, until)`, and the answer at
//! an instant is the span that contains it.

use serde::{Deserialize, Serialize};

use super::{FieldError, Instant, ModelName, SemVer, Stage};

pub const ENVIRONMENT_NAME_MAX_LEN: usize = 63;
pub const ENVIRONMENT_DESCRIPTION_MAX_LEN: usize = 500;
/// How far ahead of the server's clock a reported instant may be (clock skew).
pub const MAX_CLOCK_SKEW_MS: i64 = 5_000;

/// `prod-eu`, `staging`, `shadow_us`: lowercase, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnvironmentName(String);

impl EnvironmentName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let err = |m: &str| Err(FieldError::new("environment", m));
        if s.is_empty() {
            return err("is required");
        }
        if s.len() > ENVIRONMENT_NAME_MAX_LEN {
            return err("must be at most 63 characters");
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return err("must start with a lowercase letter");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return err("may contain only lowercase letters, digits, '-' and '_'");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EnvironmentName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EnvironmentName {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EnvironmentName> for String {
    fn from(value: EnvironmentName) -> Self {
        value.0
    }
}

/// What a deployment report says about a version in an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeploymentState {
    /// The environment serves this version of the model from `at` on.
    Serving,
    /// The environment stopped serving the model at `at`.
    Stopped,
}

impl DeploymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Serving => "serving",
            DeploymentState::Stopped => "stopped",
        }
    }
}

impl std::str::FromStr for DeploymentState {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "serving" => Ok(DeploymentState::Serving),
            "stopped" => Ok(DeploymentState::Stopped),
            _ => Err(FieldError::new("state", "must be `serving` or `stopped`")),
        }
    }
}

impl std::fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An environment as an admin defines it (the wire form every edge decodes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnvironmentForm {
    pub name: String,
    /// The stage a version must be in to run there: `production`, `staging`…
    pub required_stage: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnvironment {
    pub name: EnvironmentName,
    pub required_stage: Stage,
    pub description: String,
}

impl EnvironmentForm {
    pub fn parse(self) -> Result<NewEnvironment, FieldError> {
        let name = EnvironmentName::parse(&self.name)?;
        let required_stage = self
            .required_stage
            .trim()
            .to_ascii_lowercase()
            .parse::<Stage>()
            .map_err(|_| {
                FieldError::new(
                    "required_stage",
                    "must be one of experimental, staging, production, archived",
                )
            })?;
        let description = self.description.unwrap_or_default().trim().to_owned();
        if description.len() > ENVIRONMENT_DESCRIPTION_MAX_LEN {
            return Err(FieldError::new("description", "must be at most 500 bytes"));
        }
        Ok(NewEnvironment {
            name,
            required_stage,
            description,
        })
    }
}

/// A pipeline's report (the wire form): "`environment` serves `version` of
/// `model`" (or stopped), optionally since an earlier instant and naming
/// the release receipt it deployed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeploymentReportForm {
    pub model: String,
    pub version: String,
    /// `serving` (the default) or `stopped`.
    #[serde(default)]
    pub state: Option<String>,
    /// When it started (or stopped): RFC 3339 or epoch milliseconds; now
    /// when absent. Never in the future.
    #[serde(default)]
    pub at: Option<String>,
    /// The release receipt the pipeline deployed with (`rcpt_…`).
    #[serde(default)]
    pub receipt_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentReport {
    pub model: ModelName,
    pub version: SemVer,
    pub state: DeploymentState,
    pub at: i64,
    pub receipt_id: Option<ReceiptId>,
}

impl DeploymentReportForm {
    /// Parses the report against the server's clock `now`.
    pub fn parse(self, now: i64) -> Result<DeploymentReport, FieldError> {
        let model =
            ModelName::parse(&self.model).map_err(|e| FieldError::new("model", e.message))?;
        let version =
            SemVer::parse(&self.version).map_err(|e| FieldError::new("version", e.message))?;
        let state = match self.state.as_deref().map(str::trim) {
            None | Some("") => DeploymentState::Serving,
            Some(s) => s.parse()?,
        };
        let at = match self.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => now,
            Some(raw) => raw
                .parse::<Instant>()
                .map_err(|m| FieldError::new("at", m))?
                .millis(),
        };
        if at > now + MAX_CLOCK_SKEW_MS {
            return Err(FieldError::new(
                "at",
                "is in the future; report a deployment when it has happened",
            ));
        }
        if at < 0 {
            return Err(FieldError::new("at", "is before 1970"));
        }
        let receipt_id = match self.receipt_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(ReceiptId::parse(raw)?),
        };
        Ok(DeploymentReport {
            model,
            version,
            state,
            at,
            receipt_id,
        })
    }
}

/// Why a version may not run in an environment, if it may not: it must be
/// in the environment's required stage at the instant it starts serving.
pub fn violation(environment: &str, required: Stage, stage_then: Stage) -> Option<String> {
    (stage_then != required)
        .then(|| format!("the version was in {stage_then}, but {environment} requires {required}"))
}

/// A release receipt's id: `rcpt_` and 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReceiptId(String);

impl ReceiptId {
    pub const PREFIX: &'static str = "rcpt_";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let hex = s.strip_prefix(Self::PREFIX).unwrap_or("");
        if hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "receipt_id",
                "must be `rcpt_` followed by 32 lowercase hex digits",
            ))
        }
    }

    /// A receipt id from 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        let mut s = String::with_capacity(37);
        s.push_str(Self::PREFIX);
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReceiptId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ReceiptId {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ReceiptId> for String {
    fn from(value: ReceiptId) -> Self {
        value.0
    }
}

/// One recorded report of one environment, as the timeline reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentEvent {
    pub id: i64,
    pub model: String,
    pub version: String,
    pub state: DeploymentState,
    pub at: i64,
    pub violation: Option<String>,
    pub receipt_id: Option<String>,
}

/// A stay of one version of a model in an environment; `until` is `None`
/// while it still serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServingSpan {
    pub model: String,
    pub version: String,
    pub from: i64,
    pub until: Option<i64>,
    /// The report that opened the span.
    pub deployment_id: i64,
    /// Set when the version was not in the environment's required stage.
    pub violation: Option<String>,
    pub receipt_id: Option<String>,
}

impl ServingSpan {
    pub fn contains(&self, at: i64) -> bool {
        self.from <= at && self.until.is_none_or(|u| at < u)
    }

    /// True when the span shares at least one instant with `[from, to)`.
    pub fn overlaps(&self, from: Option<i64>, to: Option<i64>) -> bool {
        to.is_none_or(|t| self.from < t) && self.until.is_none_or(|u| from.is_none_or(|f| u > f))
    }
}

/// The serving spans of an environment's reports, which must be ordered by
/// `(at, id)`. A report ends the model's open span; a `serving` report opens
/// the next. Zero-length spans (two reports at one instant) are dropped: the
/// later report is what served from that instant on.
pub fn serving_spans(events: &[DeploymentEvent]) -> Vec<ServingSpan> {
    let mut spans: Vec<ServingSpan> = Vec::new();
    let mut open: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for e in events {
        if let Some(index) = open.remove(e.model.as_str()) {
            spans[index].until = Some(e.at);
        }
        if e.state == DeploymentState::Serving {
            open.insert(&e.model, spans.len());
            spans.push(ServingSpan {
                model: e.model.clone(),
                version: e.version.clone(),
                from: e.at,
                until: None,
                deployment_id: e.id,
                violation: e.violation.clone(),
                receipt_id: e.receipt_id.clone(),
            });
        }
    }
    spans.retain(|s| s.until != Some(s.from));
    spans
}

/// What served at `at`: at most one span per model, in model order.
pub fn serving_at(spans: &[ServingSpan], at: i64) -> Vec<&ServingSpan> {
    let mut found: Vec<&ServingSpan> = spans.iter().filter(|s| s.contains(at)).collect();
    found.sort_by(|a, b| a.model.cmp(&b.model));
    found
}

#[cfg(test)]
#[path = "deployment_tests.rs"]
mod tests;
