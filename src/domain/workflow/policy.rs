//! The approval policy: how many distinct approvers must sign off a move
//! into each stage, request lifetimes, and which aliases are protected.

use serde::{Deserialize, Serialize};

use crate::domain::{
    alias::{check_rules, AliasRule, FIELD_PROTECTED_ALIASES},
    approvals::{check_count, parse_count},
    AliasName, FieldError, Stage,
};

/// Shortest request lifetime, in hours.
pub const MIN_REQUEST_TTL_HOURS: u32 = 1;
/// Longest request lifetime: one year. A request older than that is
/// reviewing a world that no longer exists.
pub const MAX_REQUEST_TTL_HOURS: u32 = 8760;

const HOUR_MS: i64 = 3_600_000;

/// Form and JSON field names, also used as the `field` of a [`FieldError`].
const FIELD_STAGING: &str = "staging";
const FIELD_PRODUCTION: &str = "production";
const FIELD_ARCHIVED: &str = "archived";
const FIELD_EXPERIMENTAL: &str = "experimental";
const FIELD_ARCHIVE_PREVIOUS: &str = "archive_previous_production";
const FIELD_TTL: &str = "request_ttl_hours";

/// How many distinct approvers (never the requester) must sign off a move
/// *into* each stage, plus what happens around a promotion.
///
/// The counts are keyed by the target stage only: the risk is in what a
/// version is about to become, not where it came from.
///
/// Fields are public so the settings page can bind them, which means a value
/// built by hand may be out of range; everything that comes from outside
/// goes through [`ApprovalPolicy::from_pairs`] or serde, which both check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(try_from = "ApprovalPolicyRepr")]
pub struct ApprovalPolicy {
    pub staging: u8,
    pub production: u8,
    pub archived: u8,
    pub experimental: u8,
    /// When a version reaches production, the version that was there leaves
    /// it in the same transaction, so "production" always names one version:
    /// to `Archived` when this is set (the default), otherwise back to
    /// `Staging`, kept warm for a quick rollback.
    pub archive_previous_production: bool,
    /// How long a request stays open before it expires unapplied.
    pub request_ttl_hours: u32,
    /// Aliases whose moves need sign-off, in precedence order (the first
    /// matching rule decides). Absent in a stored policy means the default.
    pub protected_aliases: Vec<AliasRule>,
}

impl Default for ApprovalPolicy {
    /// One reviewer for staging, two for production (four eyes plus one),
    /// none for archiving or demoting to experimental, which only ever take a
    /// version *out* of service; requests live for a week.
    fn default() -> Self {
        Self {
            staging: 1,
            production: 2,
            archived: 0,
            experimental: 0,
            archive_previous_production: true,
            request_ttl_hours: 168,
            protected_aliases: AliasRule::default_rules(),
        }
    }
}

impl ApprovalPolicy {
    /// Sign-offs needed to move a version into `to`.
    pub fn required_approvals(&self, to: Stage) -> u8 {
        match to {
            Stage::Experimental => self.experimental,
            Stage::Staging => self.staging,
            Stage::Production => self.production,
            Stage::Archived => self.archived,
        }
    }

    /// When a request opened at `created_at` (ms) expires. Saturates rather
    /// than wrapping, so a nonsense timestamp can never yield a deadline in
    /// the past.
    pub fn expires_at(&self, created_at: i64) -> i64 {
        created_at.saturating_add(i64::from(self.request_ttl_hours) * HOUR_MS)
    }

    /// Checks the ranges, naming the first offending field.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_count(FIELD_STAGING, self.staging)?;
        check_count(FIELD_PRODUCTION, self.production)?;
        check_count(FIELD_ARCHIVED, self.archived)?;
        check_count(FIELD_EXPERIMENTAL, self.experimental)?;
        check_ttl(self.request_ttl_hours)?;
        check_rules(&self.protected_aliases)
    }

    /// The rule protecting `alias`, if any.
    pub fn alias_rule(&self, alias: &AliasName) -> Option<&AliasRule> {
        AliasRule::find(&self.protected_aliases, alias)
    }

    /// Parses a submitted settings form (`application/x-www-form-urlencoded`
    /// pairs). Every count and the TTL are required. The flag follows HTML
    /// checkbox rules: absent or empty means `false`. Unknown keys (CSRF
    /// token, submit button) are ignored, and a repeated key takes its last
    /// value, so the hidden-input-before-checkbox idiom works.
    /// `protected_aliases` holds one rule per line (see
    /// [`AliasRule::parse_lines`]); absent means the default rules, present
    /// but empty means none.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Self, FieldError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let form = PolicyForm::collect(pairs);
        let count = |field: &'static str, raw: Option<String>| {
            raw.ok_or_else(|| FieldError::new(field, "is required"))
                .and_then(|raw| parse_count(field, &raw))
        };
        Ok(Self {
            staging: count(FIELD_STAGING, form.staging)?,
            production: count(FIELD_PRODUCTION, form.production)?,
            archived: count(FIELD_ARCHIVED, form.archived)?,
            experimental: count(FIELD_EXPERIMENTAL, form.experimental)?,
            archive_previous_production: match form.archive_previous_production {
                Some(raw) => parse_flag(FIELD_ARCHIVE_PREVIOUS, &raw)?,
                None => false,
            },
            request_ttl_hours: match form.request_ttl_hours {
                Some(raw) => parse_ttl(&raw)?,
                None => return Err(FieldError::new(FIELD_TTL, "is required")),
            },
            protected_aliases: match form.protected_aliases {
                Some(text) => AliasRule::parse_lines(&text)?,
                None => AliasRule::default_rules(),
            },
        })
    }
}

/// Whether a move into `to` must wait for sign-offs. When it is `false` the
/// caller applies the move at once (still recording who asked) instead of
/// opening a request.
pub fn needs_approval(policy: &ApprovalPolicy, to: Stage) -> bool {
    policy.required_approvals(to) > 0
}

/// The unchecked wire shape, so deserialisation runs [`ApprovalPolicy::validate`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalPolicyRepr {
    staging: u8,
    production: u8,
    archived: u8,
    experimental: u8,
    archive_previous_production: bool,
    request_ttl_hours: u32,
    #[serde(default = "AliasRule::default_rules")]
    protected_aliases: Vec<AliasRule>,
}

impl TryFrom<ApprovalPolicyRepr> for ApprovalPolicy {
    type Error = FieldError;
    fn try_from(r: ApprovalPolicyRepr) -> Result<Self, Self::Error> {
        let policy = Self {
            staging: r.staging,
            production: r.production,
            archived: r.archived,
            experimental: r.experimental,
            archive_previous_production: r.archive_previous_production,
            request_ttl_hours: r.request_ttl_hours,
            protected_aliases: r.protected_aliases,
        };
        policy.validate()?;
        Ok(policy)
    }
}

/// A per-model deviation from the global policy, set by an admin. `None`
/// means "inherit", so a later change to the global policy still reaches
/// every model that did not pin that particular field. Alias rules add to
/// the registry's and come first, so a model may protect more names, or
/// set its own count or stage for a registry-wide name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(try_from = "PolicyOverrideRepr")]
pub struct PolicyOverride {
    pub staging: Option<u8>,
    pub production: Option<u8>,
    pub archived: Option<u8>,
    pub experimental: Option<u8>,
    pub archive_previous_production: Option<bool>,
    pub request_ttl_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected_aliases: Vec<AliasRule>,
}

impl PolicyOverride {
    /// The effective policy for a model: each pinned field replaces the
    /// base's. A valid override on a valid base is valid.
    pub fn apply(&self, base: &ApprovalPolicy) -> ApprovalPolicy {
        ApprovalPolicy {
            staging: self.staging.unwrap_or(base.staging),
            production: self.production.unwrap_or(base.production),
            archived: self.archived.unwrap_or(base.archived),
            experimental: self.experimental.unwrap_or(base.experimental),
            archive_previous_production: self
                .archive_previous_production
                .unwrap_or(base.archive_previous_production),
            request_ttl_hours: self.request_ttl_hours.unwrap_or(base.request_ttl_hours),
            protected_aliases: self
                .protected_aliases
                .iter()
                .chain(&base.protected_aliases)
                .cloned()
                .collect(),
        }
    }

    /// True when nothing is pinned, so the caller can delete the row rather
    /// than store an override that changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks the pinned values with the same ranges as [`ApprovalPolicy`].
    pub fn validate(&self) -> Result<(), FieldError> {
        let counts = [
            (FIELD_STAGING, self.staging),
            (FIELD_PRODUCTION, self.production),
            (FIELD_ARCHIVED, self.archived),
            (FIELD_EXPERIMENTAL, self.experimental),
        ];
        for (field, value) in counts {
            if let Some(value) = value {
                check_count(field, value)?;
            }
        }
        if let Some(ttl) = self.request_ttl_hours {
            check_ttl(ttl)?;
        }
        check_rules(&self.protected_aliases)
    }

    /// Parses the per-model settings form. An absent or empty field means
    /// "inherit"; the flag is therefore a three-way select (`""`, `true`,
    /// `false`), not a checkbox. Unknown keys are ignored; the last of a
    /// repeated key wins.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Self, FieldError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let form = PolicyForm::collect(pairs);
        let count = |field: &'static str, raw: Option<String>| {
            raw.map(|raw| parse_count(field, &raw)).transpose()
        };
        Ok(Self {
            staging: count(FIELD_STAGING, form.staging)?,
            production: count(FIELD_PRODUCTION, form.production)?,
            archived: count(FIELD_ARCHIVED, form.archived)?,
            experimental: count(FIELD_EXPERIMENTAL, form.experimental)?,
            archive_previous_production: form
                .archive_previous_production
                .map(|raw| parse_flag(FIELD_ARCHIVE_PREVIOUS, &raw))
                .transpose()?,
            request_ttl_hours: form
                .request_ttl_hours
                .map(|raw| parse_ttl(&raw))
                .transpose()?,
            protected_aliases: match form.protected_aliases {
                Some(text) => AliasRule::parse_lines(&text)?,
                None => Vec::new(),
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyOverrideRepr {
    staging: Option<u8>,
    production: Option<u8>,
    archived: Option<u8>,
    experimental: Option<u8>,
    archive_previous_production: Option<bool>,
    request_ttl_hours: Option<u32>,
    #[serde(default)]
    protected_aliases: Vec<AliasRule>,
}

impl TryFrom<PolicyOverrideRepr> for PolicyOverride {
    type Error = FieldError;
    fn try_from(r: PolicyOverrideRepr) -> Result<Self, Self::Error> {
        let pinned = Self {
            staging: r.staging,
            production: r.production,
            archived: r.archived,
            experimental: r.experimental,
            archive_previous_production: r.archive_previous_production,
            request_ttl_hours: r.request_ttl_hours,
            protected_aliases: r.protected_aliases,
        };
        pinned.validate()?;
        Ok(pinned)
    }
}

/// The policy form's fields, trimmed, with empty values dropped, except the
/// alias rules, where an empty text (no rules) differs from an absent one.
#[derive(Default)]
struct PolicyForm {
    staging: Option<String>,
    production: Option<String>,
    archived: Option<String>,
    experimental: Option<String>,
    archive_previous_production: Option<String>,
    request_ttl_hours: Option<String>,
    protected_aliases: Option<String>,
}

impl PolicyForm {
    fn collect<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            if key.as_ref() == FIELD_PROTECTED_ALIASES {
                form.protected_aliases = Some(value.as_ref().to_owned());
                continue;
            }
            let slot = match key.as_ref() {
                FIELD_STAGING => &mut form.staging,
                FIELD_PRODUCTION => &mut form.production,
                FIELD_ARCHIVED => &mut form.archived,
                FIELD_EXPERIMENTAL => &mut form.experimental,
                FIELD_ARCHIVE_PREVIOUS => &mut form.archive_previous_production,
                FIELD_TTL => &mut form.request_ttl_hours,
                _ => continue,
            };
            let value = value.as_ref().trim();
            *slot = (!value.is_empty()).then(|| value.to_owned());
        }
        form
    }
}

fn check_ttl(hours: u32) -> Result<(), FieldError> {
    if (MIN_REQUEST_TTL_HOURS..=MAX_REQUEST_TTL_HOURS).contains(&hours) {
        Ok(())
    } else {
        Err(ttl_error())
    }
}

fn ttl_error() -> FieldError {
    FieldError::new(
        FIELD_TTL,
        format!(
            "must be a whole number of hours from {MIN_REQUEST_TTL_HOURS} to \
             {MAX_REQUEST_TTL_HOURS} (one year)"
        ),
    )
}

fn parse_ttl(raw: &str) -> Result<u32, FieldError> {
    let hours: u32 = raw.trim().parse().map_err(|_| ttl_error())?;
    check_ttl(hours)?;
    Ok(hours)
}

/// Accepts what browsers and people send for yes/no: `on` is a checked
/// checkbox's default value.
fn parse_flag(field: &'static str, raw: &str) -> Result<bool, FieldError> {
    let raw = raw.trim();
    let is = |options: [&str; 4]| options.iter().any(|o| o.eq_ignore_ascii_case(raw));
    if is(["true", "on", "1", "yes"]) {
        Ok(true)
    } else if is(["false", "off", "0", "no"]) {
        Ok(false)
    } else {
        Err(FieldError::new(field, "must be true or false"))
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
