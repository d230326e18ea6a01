//! The promotion workflow, pure: which stage moves exist, how many sign-offs
//! each needs, how a sign-off changes a pending request, and what a model
//! alias may be called.
//!
//! Nothing here reads a clock or a database. The caller loads a
//! [`RequestSnapshot`] inside its transaction, passes `now` in milliseconds,
//! and acts on the returned [`Outcome`] or [`WorkflowError`]; that keeps every
//! rule testable here and identical on the server and in the wasm client.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

use super::{
    alias::{check_rules, AliasRule, FIELD_PROTECTED_ALIASES},
    AliasName, ContentDigest, FieldError, Stage,
};

// ---------------------------------------------------------------------------
// Stage state machine
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Approval policy
// ---------------------------------------------------------------------------

/// Most sign-offs a policy may demand. More than this is a typo, and a
/// policy nobody can satisfy would strand every request.
pub const MAX_REQUIRED_APPROVALS: u8 = 10;
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

pub(super) fn check_count(field: &'static str, value: u8) -> Result<(), FieldError> {
    if value <= MAX_REQUIRED_APPROVALS {
        Ok(())
    } else {
        Err(count_error(field))
    }
}

fn count_error(field: &'static str) -> FieldError {
    FieldError::new(
        field,
        format!("must be a whole number of approvals from 0 to {MAX_REQUIRED_APPROVALS}"),
    )
}

pub(super) fn parse_count(field: &'static str, raw: &str) -> Result<u8, FieldError> {
    // Parse wide first so "300" is reported as out of range, not as junk.
    let value: u32 = raw.trim().parse().map_err(|_| count_error(field))?;
    let value = u8::try_from(value).map_err(|_| count_error(field))?;
    check_count(field, value)?;
    Ok(value)
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

// ---------------------------------------------------------------------------
// Requests and decisions
// ---------------------------------------------------------------------------

/// Where a promotion request stands. Only `Pending` is open; every other
/// state is final, so a closed request is an immutable audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Waiting for sign-offs.
    Pending,
    /// Enough sign-offs arrived and the stage change was applied.
    Approved,
    /// An approver refused it.
    Rejected,
    /// The requester or an admin withdrew it.
    Cancelled,
    /// Its deadline passed before enough sign-offs arrived.
    Expired,
    /// Made moot: the version changed stage by another route meanwhile, so
    /// the sign-offs no longer describe the move that would happen.
    Superseded,
}

impl RequestState {
    pub const ALL: [RequestState; 6] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Rejected,
        RequestState::Cancelled,
        RequestState::Expired,
        RequestState::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Cancelled => "cancelled",
            RequestState::Expired => "expired",
            RequestState::Superseded => "superseded",
        }
    }

    /// Whether the request still accepts sign-offs and cancellation.
    pub fn is_open(self) -> bool {
        matches!(self, RequestState::Pending)
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestState {
    type Err = FieldError;

    /// Exact lowercase, as stored; this parses database values and query
    /// filters, which are machine-written.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestState::ALL
            .into_iter()
            .find(|state| state.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "state",
                    "must be one of pending, approved, rejected, cancelled, expired, superseded",
                )
            })
    }
}

/// What a request asks for. Every kind goes through the same sign-off,
/// expiry, cancellation and apply-once rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum RequestKind {
    /// Move the version from one stage to another.
    #[serde(rename = "stage")]
    Stage,
    /// Point a protected alias at the version.
    #[serde(rename = "alias.set")]
    AliasSet,
    /// Remove a protected alias, which points at the version.
    #[serde(rename = "alias.remove")]
    AliasRemove,
}

impl RequestKind {
    pub const ALL: [RequestKind; 3] = [
        RequestKind::Stage,
        RequestKind::AliasSet,
        RequestKind::AliasRemove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Stage => "stage",
            RequestKind::AliasSet => "alias.set",
            RequestKind::AliasRemove => "alias.remove",
        }
    }

    pub fn is_alias(self) -> bool {
        !matches!(self, RequestKind::Stage)
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestKind {
    type Err = FieldError;
    /// Exact, as stored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new("kind", "must be stage, alias.set or alias.remove"))
    }
}

/// Everything [`decide`] and [`can_cancel`] need about one request, loaded by
/// the caller in the same transaction that will act on the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSnapshot {
    pub state: RequestState,
    /// User id of whoever opened the request.
    pub requested_by: i64,
    /// The version's stage when the request was opened.
    pub from: Stage,
    pub to: Stage,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch; the request is expired from this
    /// instant on (inclusive).
    pub expires_at: i64,
    /// User ids of the approvers who have signed off so far.
    pub approvals: Vec<i64>,
    /// Sign-offs needed, frozen from the policy when the request was opened,
    /// so an admin editing the policy cannot change the rules mid-review.
    pub required: u8,
    /// The version's stage right now.
    pub version_stage_now: Stage,
    /// The version's content digest when the request was opened (absent for
    /// requests opened before digests were recorded).
    pub digest_at_open: Option<ContentDigest>,
    /// The version's content digest right now.
    pub digest_now: Option<ContentDigest>,
    /// False once the version has been deleted.
    pub version_live: bool,
}

/// Why a pending request no longer describes a move that may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lapse {
    /// Its deadline passed.
    Expired,
    /// The version was deleted.
    VersionDeleted,
    /// The version changed stage by another route.
    Moved { from: Stage, now: Stage },
    /// The version's content is no longer what the reviewers were shown.
    ContentChanged {
        then: ContentDigest,
        now: ContentDigest,
    },
}

impl Lapse {
    /// The final state to close the request with.
    pub fn state(&self) -> RequestState {
        match self {
            Lapse::Expired => RequestState::Expired,
            Lapse::VersionDeleted => RequestState::Cancelled,
            Lapse::Moved { .. } | Lapse::ContentChanged { .. } => RequestState::Superseded,
        }
    }

    /// Why, in a sentence, for the request's close note.
    pub fn note(&self) -> String {
        match self {
            Lapse::Expired => "its deadline passed before enough sign-offs arrived".to_owned(),
            Lapse::VersionDeleted => "the version was deleted".to_owned(),
            Lapse::Moved { from, now } => {
                format!("the version moved from {from} to {now} by another route")
            }
            Lapse::ContentChanged { then, now } => format!(
                "the version's content changed after the request was opened \
                 (content digest {then} then, {now} now)"
            ),
        }
    }

    fn error(&self) -> WorkflowError {
        match self {
            Lapse::Expired => WorkflowError::Expired,
            Lapse::VersionDeleted => WorkflowError::VersionDeleted,
            Lapse::Moved { from, now } => WorkflowError::Moot {
                from: *from,
                now: *now,
            },
            Lapse::ContentChanged { then, now } => WorkflowError::ContentChanged {
                then: then.clone(),
                now: now.clone(),
            },
        }
    }
}

impl RequestSnapshot {
    /// Why a still-pending request has lapsed, if it has, checked in this
    /// order: its deadline, the version's deletion, a stage change by another
    /// route, a content change. `None` while it is live, or already closed.
    /// Sweepers and page loads use this; [`decide`] applies the same rule.
    pub fn lapse(&self, now: i64) -> Option<Lapse> {
        if !self.state.is_open() {
            return None;
        }
        if now >= self.expires_at {
            return Some(Lapse::Expired);
        }
        if !self.version_live {
            return Some(Lapse::VersionDeleted);
        }
        if self.version_stage_now != self.from {
            return Some(Lapse::Moved {
                from: self.from,
                now: self.version_stage_now,
            });
        }
        match (&self.digest_at_open, &self.digest_now) {
            (Some(then), Some(now)) if then != now => Some(Lapse::ContentChanged {
                then: then.clone(),
                now: now.clone(),
            }),
            _ => None,
        }
    }

    /// The final state a lapsed request should be closed with (see [`Self::lapse`]).
    pub fn lapsed(&self, now: i64) -> Option<RequestState> {
        self.lapse(now).map(|l| l.state())
    }

    /// Distinct sign-offs, never counting the requester. Both are already
    /// guaranteed by [`decide`]; counting defensively means a duplicated or
    /// hand-edited row can never meet the policy early.
    fn distinct_approvals(&self) -> usize {
        self.approvals
            .iter()
            .enumerate()
            .filter(|&(i, id)| *id != self.requested_by && !self.approvals[..i].contains(id))
            .count()
    }
}

/// An approver's answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "approve" => Ok(Decision::Approve),
            "reject" => Ok(Decision::Reject),
            _ => Err(FieldError::new("decision", "must be approve or reject")),
        }
    }
}

/// What the caller must do after a valid decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Record the sign-off; the request stays pending. `approvals` counts
    /// this one.
    Recorded { approvals: u8, required: u8 },
    /// Record the sign-off, set the request `Approved` and apply the stage
    /// change, all in one transaction (and archive the previous production
    /// version if the policy says so).
    Apply,
    /// Record the refusal and set the request `Rejected`.
    Rejected,
}

/// Why a workflow action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("this request is no longer pending: it is {0}")]
    NotOpen(RequestState),
    #[error("this request has expired; open a new one")]
    Expired,
    #[error(
        "the version has moved from {from} to {now} since this request was opened, \
         so it no longer applies; open a new one"
    )]
    Moot { from: Stage, now: Stage },
    #[error(
        "the version's content changed since this request was opened (content digest \
         {then} then, {now} now), so the sign-offs no longer describe it; open a new one"
    )]
    ContentChanged {
        then: ContentDigest,
        now: ContentDigest,
    },
    #[error("the version was deleted, so this request can never apply")]
    VersionDeleted,
    #[error(
        "you opened this request, so you cannot approve or reject it; another \
         approver must (you may cancel it instead)"
    )]
    SelfApproval,
    #[error("you have already signed off this request")]
    AlreadySignedOff,
    #[error("only the requester or an admin may cancel this request")]
    NotAllowedToCancel,
}

impl WorkflowError {
    /// For the errors that mean the request itself has lapsed, the state the
    /// caller should now close it with, so the next visitor sees the truth.
    pub fn closes_request(&self) -> Option<RequestState> {
        match self {
            WorkflowError::Expired => Some(RequestState::Expired),
            WorkflowError::Moot { .. } | WorkflowError::ContentChanged { .. } => {
                Some(RequestState::Superseded)
            }
            WorkflowError::VersionDeleted => Some(RequestState::Cancelled),
            _ => None,
        }
    }
}

/// Whether a version currently in `current` may be asked to move to `to`.
/// Only the state machine is consulted; the caller checks permissions and
/// whether another request is already open for the version.
pub fn can_open(current: Stage, to: Stage) -> Result<(), WorkflowError> {
    Transition::new(current, to)?;
    Ok(())
}

/// Applies one approver's decision to a request.
///
/// Checks run in this order: the request is open; it has not lapsed
/// (expired first, then moot, as in [`RequestSnapshot::lapsed`]); the
/// approver is not the requester; the approver has not already signed off.
/// Request-level failures come first so a lapsed request gets closed no
/// matter who stumbles on it.
///
/// The requester may neither approve nor *reject* their own request: a
/// rejection is a reviewer's verdict and lands in the audit trail as one.
/// A requester who changed their mind uses [`can_cancel`] instead.
/// Likewise an approver gives one verdict per request; one who approved and
/// now objects must ask for the request to be cancelled.
///
/// A `required` of 0 should never reach here (the caller applies such moves
/// at once), but if it does, any approval applies.
pub fn decide(
    req: &RequestSnapshot,
    approver: i64,
    decision: Decision,
    now: i64,
) -> Result<Outcome, WorkflowError> {
    if !req.state.is_open() {
        return Err(WorkflowError::NotOpen(req.state));
    }
    if let Some(lapse) = req.lapse(now) {
        return Err(lapse.error());
    }
    if approver == req.requested_by {
        return Err(WorkflowError::SelfApproval);
    }
    if req.approvals.contains(&approver) {
        return Err(WorkflowError::AlreadySignedOff);
    }
    match decision {
        Decision::Reject => Ok(Outcome::Rejected),
        Decision::Approve => {
            let approvals = req.distinct_approvals().saturating_add(1);
            if approvals >= usize::from(req.required) {
                Ok(Outcome::Apply)
            } else {
                // Below `required`, itself a u8, so this always fits.
                let approvals = u8::try_from(approvals).unwrap_or(u8::MAX);
                Ok(Outcome::Recorded {
                    approvals,
                    required: req.required,
                })
            }
        }
    }
}

/// Whether `by_user` may withdraw the request: the requester or an admin,
/// while it is open. An open request past its deadline may still be
/// cancelled; either way it ends up closed.
pub fn can_cancel(
    req: &RequestSnapshot,
    by_user: i64,
    by_is_admin: bool,
) -> Result<(), WorkflowError> {
    if !req.state.is_open() {
        return Err(WorkflowError::NotOpen(req.state));
    }
    if by_user == req.requested_by || by_is_admin {
        Ok(())
    } else {
        Err(WorkflowError::NotAllowedToCancel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stage::*;

    // --- state machine ---------------------------------------------------

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

    #[test]
    fn can_open_reports_the_refused_transition() {
        assert_eq!(
            can_open(Production, Experimental),
            Err(WorkflowError::Transition(TransitionError {
                from: Production,
                to: Experimental
            }))
        );
        assert_eq!(can_open(Archived, Staging), Ok(()));
    }

    // --- policy -------------------------------------------------------------

    #[test]
    fn default_policy_is_as_documented() {
        let p = ApprovalPolicy::default();
        assert_eq!(
            p,
            ApprovalPolicy {
                staging: 1,
                production: 2,
                archived: 0,
                experimental: 0,
                archive_previous_production: true,
                request_ttl_hours: 168,
                protected_aliases: AliasRule::default_rules(),
            }
        );
        assert_eq!(p.validate(), Ok(()));
        let table = [
            (Experimental, 0, false),
            (Staging, 1, true),
            (Production, 2, true),
            (Archived, 0, false),
        ];
        for (to, required, needs) in table {
            assert_eq!(p.required_approvals(to), required, "{to}");
            assert_eq!(needs_approval(&p, to), needs, "{to}");
        }
    }

    #[test]
    fn required_approvals_reads_the_field_for_each_target() {
        let p = ApprovalPolicy {
            staging: 3,
            production: 4,
            archived: 5,
            experimental: 6,
            ..ApprovalPolicy::default()
        };
        let actual = Stage::ALL.map(|s| p.required_approvals(s));
        assert_eq!(actual, [6, 3, 4, 5]);
    }

    #[test]
    fn expires_at_adds_the_ttl_and_saturates() {
        let p = ApprovalPolicy::default();
        assert_eq!(p.expires_at(1_000), 1_000 + 168 * 3_600_000);
        let one_hour = ApprovalPolicy {
            request_ttl_hours: 1,
            ..p.clone()
        };
        assert_eq!(one_hour.expires_at(0), 3_600_000);
        assert_eq!(p.expires_at(i64::MAX - 5), i64::MAX);
    }

    #[test]
    fn empty_override_changes_nothing() {
        let base = ApprovalPolicy {
            staging: 4,
            archive_previous_production: false,
            ..ApprovalPolicy::default()
        };
        let none = PolicyOverride::default();
        assert!(none.is_empty());
        assert_eq!(none.apply(&base), base);
        assert_eq!(none.validate(), Ok(()));
    }

    #[test]
    fn override_replaces_only_pinned_fields() {
        let base = ApprovalPolicy::default();
        let pin = PolicyOverride {
            production: Some(3),
            archive_previous_production: Some(false),
            ..PolicyOverride::default()
        };
        assert!(!pin.is_empty());
        assert_eq!(
            pin.apply(&base),
            ApprovalPolicy {
                production: 3,
                archive_previous_production: false,
                ..base.clone()
            }
        );

        let all = PolicyOverride {
            staging: Some(0),
            production: Some(10),
            archived: Some(1),
            experimental: Some(2),
            archive_previous_production: Some(false),
            request_ttl_hours: Some(24),
            protected_aliases: AliasRule::parse_lines("prod-* 1").unwrap(),
        };
        assert_eq!(
            all.apply(&base),
            ApprovalPolicy {
                staging: 0,
                production: 10,
                archived: 1,
                experimental: 2,
                archive_previous_production: false,
                request_ttl_hours: 24,
                protected_aliases: AliasRule::parse_lines("prod-* 1\nchampion 2").unwrap(),
            }
        );
    }

    #[test]
    fn validation_checks_every_range_and_names_the_field() {
        let ok = ApprovalPolicy::default();
        let bad_policies = [
            (
                ApprovalPolicy {
                    staging: 11,
                    ..ok.clone()
                },
                "staging",
            ),
            (
                ApprovalPolicy {
                    production: 11,
                    ..ok.clone()
                },
                "production",
            ),
            (
                ApprovalPolicy {
                    archived: 255,
                    ..ok.clone()
                },
                "archived",
            ),
            (
                ApprovalPolicy {
                    experimental: 11,
                    ..ok.clone()
                },
                "experimental",
            ),
            (
                ApprovalPolicy {
                    request_ttl_hours: 0,
                    ..ok.clone()
                },
                "request_ttl_hours",
            ),
            (
                ApprovalPolicy {
                    request_ttl_hours: 8761,
                    ..ok.clone()
                },
                "request_ttl_hours",
            ),
        ];
        for (policy, field) in bad_policies {
            assert_eq!(policy.validate().unwrap_err().field, field);
        }
        let edges = ApprovalPolicy {
            staging: 10,
            production: 0,
            request_ttl_hours: 8760,
            ..ok.clone()
        };
        assert_eq!(edges.validate(), Ok(()));
        assert_eq!(
            ApprovalPolicy {
                request_ttl_hours: 1,
                ..ok.clone()
            }
            .validate(),
            Ok(())
        );

        let none = PolicyOverride::default();
        let bad_overrides = [
            (
                PolicyOverride {
                    staging: Some(11),
                    ..none.clone()
                },
                "staging",
            ),
            (
                PolicyOverride {
                    production: Some(11),
                    ..none.clone()
                },
                "production",
            ),
            (
                PolicyOverride {
                    archived: Some(11),
                    ..none.clone()
                },
                "archived",
            ),
            (
                PolicyOverride {
                    experimental: Some(11),
                    ..none.clone()
                },
                "experimental",
            ),
            (
                PolicyOverride {
                    request_ttl_hours: Some(0),
                    ..none.clone()
                },
                "request_ttl_hours",
            ),
            (
                PolicyOverride {
                    request_ttl_hours: Some(9000),
                    ..none.clone()
                },
                "request_ttl_hours",
            ),
        ];
        for (pin, field) in bad_overrides {
            assert_eq!(pin.validate().unwrap_err().field, field);
        }
    }

    fn form<'a>(pairs: &'a [(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        pairs.to_vec()
    }

    const FULL_FORM: [(&str, &str); 7] = [
        ("csrf", "token"),
        ("staging", "1"),
        ("production", " 3 "),
        ("archived", "0"),
        ("experimental", "10"),
        ("archive_previous_production", "on"),
        ("request_ttl_hours", "72"),
    ];

    #[test]
    fn protected_aliases_come_from_the_form_json_and_overrides() {
        // Absent from the form: the default rules; present but empty: none.
        assert_eq!(
            ApprovalPolicy::from_pairs(FULL_FORM)
                .unwrap()
                .protected_aliases,
            AliasRule::default_rules()
        );
        let mut with = FULL_FORM.to_vec();
        with.push(("protected_aliases", "  "));
        assert!(ApprovalPolicy::from_pairs(with.clone())
            .unwrap()
            .protected_aliases
            .is_empty());
        with.push(("protected_aliases", "prod-* 1 production\nchampion 3"));
        let p = ApprovalPolicy::from_pairs(with.clone()).unwrap();
        let prod_eu = AliasName::parse("prod-eu").unwrap();
        let rule = p.alias_rule(&prod_eu).unwrap();
        assert_eq!((rule.approvals, rule.stage), (1, Some(Production)));
        assert!(p.alias_rule(&AliasName::parse("shadow").unwrap()).is_none());
        with.push(("protected_aliases", "latest 1"));
        assert_eq!(
            ApprovalPolicy::from_pairs(with).unwrap_err().field,
            FIELD_PROTECTED_ALIASES
        );
        // A policy stored before alias rules existed reads with the defaults.
        let old = r#"{"staging":1,"production":2,"archived":0,"experimental":0,
            "archive_previous_production":true,"request_ttl_hours":168}"#;
        assert_eq!(
            serde_json::from_str::<ApprovalPolicy>(old).unwrap(),
            ApprovalPolicy::default()
        );
        // A model's rules come first, then the registry's.
        let pin =
            PolicyOverride::from_pairs([("protected_aliases", "champion 4 production")]).unwrap();
        let effective = pin.apply(&ApprovalPolicy::default());
        let champion = AliasName::parse("champion").unwrap();
        assert_eq!(effective.alias_rule(&champion).unwrap().approvals, 4);
        assert_eq!(effective.protected_aliases.len(), 2);
        assert_eq!(
            PolicyOverride::from_pairs([("protected_aliases", "x 99")])
                .unwrap_err()
                .field,
            FIELD_PROTECTED_ALIASES
        );
    }

    #[test]
    fn policy_parses_from_form_pairs() {
        let p = ApprovalPolicy::from_pairs(FULL_FORM).unwrap();
        assert_eq!(
            p,
            ApprovalPolicy {
                staging: 1,
                production: 3,
                archived: 0,
                experimental: 10,
                archive_previous_production: true,
                request_ttl_hours: 72,
                protected_aliases: AliasRule::default_rules(),
            }
        );
        // Owned pairs, as a form decoder yields them, work too.
        let owned: Vec<(String, String)> = FULL_FORM
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(ApprovalPolicy::from_pairs(owned), Ok(p));
    }

    #[test]
    fn policy_form_checkbox_follows_html_rules() {
        let without: Vec<_> = FULL_FORM
            .into_iter()
            .filter(|(k, _)| *k != "archive_previous_production")
            .collect();
        assert!(
            !ApprovalPolicy::from_pairs(without.clone())
                .unwrap()
                .archive_previous_production
        );

        for (raw, expected) in [
            ("on", true),
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("off", false),
            ("false", false),
            ("0", false),
            ("No", false),
            ("", false),
        ] {
            let mut pairs = without.clone();
            pairs.push(("archive_previous_production", raw));
            let p = ApprovalPolicy::from_pairs(pairs).unwrap();
            assert_eq!(p.archive_previous_production, expected, "{raw:?}");
        }

        // Hidden "false" before the checkbox: the checked box wins.
        let mut pairs = without.clone();
        pairs.push(("archive_previous_production", "false"));
        pairs.push(("archive_previous_production", "on"));
        assert!(
            ApprovalPolicy::from_pairs(pairs)
                .unwrap()
                .archive_previous_production
        );

        let mut pairs = without;
        pairs.push(("archive_previous_production", "maybe"));
        assert_eq!(
            ApprovalPolicy::from_pairs(pairs).unwrap_err().field,
            "archive_previous_production"
        );
    }

    #[test]
    fn policy_form_refuses_missing_and_bad_values_naming_the_field() {
        for field in [
            "staging",
            "production",
            "archived",
            "experimental",
            "request_ttl_hours",
        ] {
            let missing: Vec<_> = FULL_FORM.into_iter().filter(|(k, _)| *k != field).collect();
            let err = ApprovalPolicy::from_pairs(missing.clone()).unwrap_err();
            assert_eq!((err.field, err.message.as_str()), (field, "is required"));

            let mut empty = missing;
            empty.push((field, "  "));
            let err = ApprovalPolicy::from_pairs(empty).unwrap_err();
            assert_eq!((err.field, err.message.as_str()), (field, "is required"));
        }

        let counts = ["staging", "production", "archived", "experimental"];
        for field in counts {
            for bad in ["11", "-1", "abc", "256", "300", "1.5", "1e1", "+-2"] {
                let mut pairs = form(&FULL_FORM);
                pairs.push((field, bad));
                let err = ApprovalPolicy::from_pairs(pairs).unwrap_err();
                assert_eq!(err.field, field, "{field}={bad}");
                assert!(err.message.contains("from 0 to 10"), "{}", err.message);
            }
            for good in ["0", "10", "007"] {
                let mut pairs = form(&FULL_FORM);
                pairs.push((field, good));
                assert!(ApprovalPolicy::from_pairs(pairs).is_ok(), "{field}={good}");
            }
        }
        for bad in ["0", "8761", "-1", "week", "4294967296"] {
            let mut pairs = form(&FULL_FORM);
            pairs.push(("request_ttl_hours", bad));
            let err = ApprovalPolicy::from_pairs(pairs).unwrap_err();
            assert_eq!(err.field, "request_ttl_hours", "{bad}");
            assert!(err.message.contains("from 1 to 8760"), "{}", err.message);
        }
        for (good, hours) in [("1", 1), ("8760", 8760)] {
            let mut pairs = form(&FULL_FORM);
            pairs.push(("request_ttl_hours", good));
            assert_eq!(
                ApprovalPolicy::from_pairs(pairs).unwrap().request_ttl_hours,
                hours
            );
        }
    }

    #[test]
    fn override_form_treats_absent_and_empty_as_inherit() {
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            PolicyOverride::from_pairs(none),
            Ok(PolicyOverride::default())
        );
        let blanks = [
            ("staging", ""),
            ("production", " "),
            ("archived", ""),
            ("experimental", ""),
            ("archive_previous_production", ""),
            ("request_ttl_hours", ""),
        ];
        assert_eq!(
            PolicyOverride::from_pairs(blanks),
            Ok(PolicyOverride::default())
        );
        let some = [
            ("production", "4"),
            ("archive_previous_production", "false"),
            ("request_ttl_hours", "24"),
            ("submit", "Save"),
        ];
        assert_eq!(
            PolicyOverride::from_pairs(some),
            Ok(PolicyOverride {
                production: Some(4),
                archive_previous_production: Some(false),
                request_ttl_hours: Some(24),
                ..PolicyOverride::default()
            })
        );
    }

    #[test]
    fn override_form_refuses_bad_values_naming_the_field() {
        let table = [
            ("staging", "11"),
            ("production", "x"),
            ("archived", "-1"),
            ("experimental", "256"),
            ("archive_previous_production", "sometimes"),
            ("request_ttl_hours", "0"),
            ("request_ttl_hours", "8761"),
        ];
        for (field, bad) in table {
            let err = PolicyOverride::from_pairs([(field, bad)]).unwrap_err();
            assert_eq!(err.field, field, "{field}={bad}");
        }
    }

    #[test]
    fn policies_round_trip_through_json_and_refuse_invalid_json() {
        let p = ApprovalPolicy::default();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<ApprovalPolicy>(&json).unwrap(), p);
        let bad = json.replace("\"production\":2", "\"production\":11");
        assert_ne!(bad, json);
        assert!(serde_json::from_str::<ApprovalPolicy>(&bad).is_err());

        let pin = PolicyOverride {
            staging: Some(2),
            ..PolicyOverride::default()
        };
        let json = serde_json::to_string(&pin).unwrap();
        assert_eq!(serde_json::from_str::<PolicyOverride>(&json).unwrap(), pin);
        assert_eq!(
            serde_json::from_str::<PolicyOverride>("{}").unwrap(),
            PolicyOverride::default()
        );
        assert!(serde_json::from_str::<PolicyOverride>(r#"{"request_ttl_hours":0}"#).is_err());
    }

    // --- request state ------------------------------------------------------

    #[test]
    fn request_kinds_round_trip() {
        for kind in RequestKind::ALL {
            assert_eq!(kind.as_str().parse::<RequestKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.is_alias(), kind != RequestKind::Stage);
        }
        assert!("alias".parse::<RequestKind>().is_err());
    }

    #[test]
    fn request_states_round_trip_and_only_pending_is_open() {
        for state in RequestState::ALL {
            assert_eq!(state.as_str().parse::<RequestState>(), Ok(state));
            assert_eq!(state.to_string(), state.as_str());
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{}\"", state.as_str())
            );
            assert_eq!(state.is_open(), state == RequestState::Pending, "{state}");
        }
        for bad in ["", "open", "Pending", "approve", "done"] {
            assert_eq!(bad.parse::<RequestState>().unwrap_err().field, "state");
        }
    }

    #[test]
    fn decisions_round_trip() {
        for d in [Decision::Approve, Decision::Reject] {
            assert_eq!(d.as_str().parse::<Decision>(), Ok(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{d}\""));
        }
        for bad in ["", "yes", "Approve", "approved"] {
            assert_eq!(bad.parse::<Decision>().unwrap_err().field, "decision");
        }
    }

    // --- decide ---------------------------------------------------------------

    const REQUESTER: i64 = 1;
    const ALICE: i64 = 2;
    const BOB: i64 = 3;
    const CAROL: i64 = 4;
    const ADMIN: i64 = 99;
    const CREATED: i64 = 1_000;
    const EXPIRES: i64 = 10_000;
    const NOW: i64 = 5_000;

    /// A pending Staging → Production request needing two sign-offs, none yet.
    fn pending() -> RequestSnapshot {
        RequestSnapshot {
            state: RequestState::Pending,
            requested_by: REQUESTER,
            from: Staging,
            to: Production,
            created_at: CREATED,
            expires_at: EXPIRES,
            approvals: vec![],
            required: 2,
            version_stage_now: Staging,
            digest_at_open: Some(digest('a')),
            digest_now: Some(digest('a')),
            version_live: true,
        }
    }

    fn digest(c: char) -> ContentDigest {
        ContentDigest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    #[test]
    fn changed_content_makes_the_request_moot() {
        let req = RequestSnapshot {
            digest_now: Some(digest('b')),
            ..pending()
        };
        let err = decide(&req, ALICE, Decision::Approve, NOW).unwrap_err();
        assert_eq!(
            err,
            WorkflowError::ContentChanged {
                then: digest('a'),
                now: digest('b')
            }
        );
        assert_eq!(err.closes_request(), Some(RequestState::Superseded));
        assert!(err.to_string().contains("content changed"), "{err}");
        assert_eq!(req.lapsed(NOW), Some(RequestState::Superseded));
        let note = req.lapse(NOW).unwrap().note();
        assert!(note.contains(&digest('a').to_string()), "{note}");
        // A request opened before digests were kept is not judged by them.
        let old = RequestSnapshot {
            digest_at_open: None,
            ..req
        };
        assert_eq!(old.lapse(NOW), None);
    }

    #[test]
    fn a_deleted_version_never_applies() {
        let req = RequestSnapshot {
            version_live: false,
            // Deletion is reported before any other reason but the deadline.
            digest_now: Some(digest('b')),
            version_stage_now: Archived,
            ..pending()
        };
        let err = decide(&req, ALICE, Decision::Approve, NOW).unwrap_err();
        assert_eq!(err, WorkflowError::VersionDeleted);
        assert_eq!(err.closes_request(), Some(RequestState::Cancelled));
        assert_eq!(req.lapse(NOW), Some(Lapse::VersionDeleted));
        assert_eq!(req.lapse(EXPIRES), Some(Lapse::Expired));
    }

    #[test]
    fn first_of_two_approvals_is_recorded() {
        assert_eq!(
            decide(&pending(), ALICE, Decision::Approve, NOW),
            Ok(Outcome::Recorded {
                approvals: 1,
                required: 2
            })
        );
    }

    #[test]
    fn the_last_approval_applies() {
        let req = RequestSnapshot {
            approvals: vec![ALICE],
            ..pending()
        };
        assert_eq!(
            decide(&req, BOB, Decision::Approve, NOW),
            Ok(Outcome::Apply)
        );

        let three = RequestSnapshot { required: 3, ..req };
        assert_eq!(
            decide(&three, BOB, Decision::Approve, NOW),
            Ok(Outcome::Recorded {
                approvals: 2,
                required: 3
            })
        );
        let three = RequestSnapshot {
            approvals: vec![ALICE, BOB],
            ..three
        };
        assert_eq!(
            decide(&three, CAROL, Decision::Approve, NOW),
            Ok(Outcome::Apply)
        );
    }

    #[test]
    fn a_single_required_approval_applies_at_once() {
        let req = RequestSnapshot {
            required: 1,
            ..pending()
        };
        assert_eq!(
            decide(&req, ALICE, Decision::Approve, NOW),
            Ok(Outcome::Apply)
        );
    }

    #[test]
    fn zero_required_applies_on_any_approval() {
        let req = RequestSnapshot {
            required: 0,
            ..pending()
        };
        assert_eq!(
            decide(&req, ALICE, Decision::Approve, NOW),
            Ok(Outcome::Apply)
        );
        assert!(!needs_approval(&ApprovalPolicy::default(), Archived));
    }

    #[test]
    fn duplicate_and_self_entries_in_approvals_are_not_counted() {
        let req = RequestSnapshot {
            approvals: vec![ALICE, ALICE, REQUESTER],
            required: 3,
            ..pending()
        };
        assert_eq!(
            decide(&req, BOB, Decision::Approve, NOW),
            Ok(Outcome::Recorded {
                approvals: 2,
                required: 3
            })
        );
    }

    #[test]
    fn a_rejection_closes_the_request_even_after_approvals() {
        assert_eq!(
            decide(&pending(), ALICE, Decision::Reject, NOW),
            Ok(Outcome::Rejected)
        );
        let req = RequestSnapshot {
            approvals: vec![ALICE],
            ..pending()
        };
        assert_eq!(
            decide(&req, BOB, Decision::Reject, NOW),
            Ok(Outcome::Rejected)
        );
    }

    #[test]
    fn closed_requests_refuse_every_decision() {
        for state in RequestState::ALL.into_iter().filter(|s| !s.is_open()) {
            let req = RequestSnapshot { state, ..pending() };
            for d in [Decision::Approve, Decision::Reject] {
                // Even past the deadline, "closed" is the truer answer.
                for now in [NOW, EXPIRES + 1] {
                    assert_eq!(
                        decide(&req, ALICE, d, now),
                        Err(WorkflowError::NotOpen(state)),
                        "{state} {d}"
                    );
                }
            }
            let msg = WorkflowError::NotOpen(state).to_string();
            assert!(msg.contains(state.as_str()), "{msg}");
        }
    }

    #[test]
    fn expiry_starts_exactly_at_expires_at() {
        let req = pending();
        assert!(decide(&req, ALICE, Decision::Approve, EXPIRES - 1).is_ok());
        for now in [EXPIRES, EXPIRES + 1, i64::MAX] {
            for d in [Decision::Approve, Decision::Reject] {
                assert_eq!(decide(&req, ALICE, d, now), Err(WorkflowError::Expired));
            }
        }
        assert_eq!(req.lapsed(EXPIRES - 1), None);
        assert_eq!(req.lapsed(EXPIRES), Some(RequestState::Expired));
        assert_eq!(
            WorkflowError::Expired.closes_request(),
            Some(RequestState::Expired)
        );
    }

    #[test]
    fn a_moved_version_makes_the_request_moot() {
        for moved in [Experimental, Production, Archived] {
            let req = RequestSnapshot {
                version_stage_now: moved,
                ..pending()
            };
            let err = decide(&req, ALICE, Decision::Approve, NOW).unwrap_err();
            assert_eq!(
                err,
                WorkflowError::Moot {
                    from: Staging,
                    now: moved
                }
            );
            assert_eq!(err.closes_request(), Some(RequestState::Superseded));
            assert!(err
                .to_string()
                .contains(&format!("from staging to {moved}")));
            assert_eq!(decide(&req, ALICE, Decision::Reject, NOW), Err(err.clone()));
            assert_eq!(req.lapsed(NOW), Some(RequestState::Superseded));
            // Past the deadline as well: expiry is reported first.
            assert_eq!(
                decide(&req, ALICE, Decision::Approve, EXPIRES),
                Err(WorkflowError::Expired)
            );
            assert_eq!(req.lapsed(EXPIRES), Some(RequestState::Expired));
        }
    }

    #[test]
    fn the_requester_may_neither_approve_nor_reject() {
        for d in [Decision::Approve, Decision::Reject] {
            assert_eq!(
                decide(&pending(), REQUESTER, d, NOW),
                Err(WorkflowError::SelfApproval)
            );
        }
        assert_eq!(WorkflowError::SelfApproval.closes_request(), None);
    }

    #[test]
    fn lapse_is_reported_before_who_is_asking() {
        let expired_self = decide(&pending(), REQUESTER, Decision::Approve, EXPIRES);
        assert_eq!(expired_self, Err(WorkflowError::Expired));
        let req = RequestSnapshot {
            version_stage_now: Production,
            approvals: vec![ALICE],
            ..pending()
        };
        assert!(matches!(
            decide(&req, ALICE, Decision::Approve, NOW),
            Err(WorkflowError::Moot { .. })
        ));
    }

    #[test]
    fn an_approver_signs_off_only_once() {
        let req = RequestSnapshot {
            approvals: vec![ALICE],
            ..pending()
        };
        for d in [Decision::Approve, Decision::Reject] {
            assert_eq!(
                decide(&req, ALICE, d, NOW),
                Err(WorkflowError::AlreadySignedOff)
            );
        }
    }

    #[test]
    fn lapsed_is_none_for_live_or_closed_requests() {
        assert_eq!(pending().lapsed(NOW), None);
        let closed = RequestSnapshot {
            state: RequestState::Approved,
            version_stage_now: Production,
            ..pending()
        };
        assert_eq!(closed.lapsed(EXPIRES + 1), None);
    }

    // --- cancel ---------------------------------------------------------------

    #[test]
    fn cancel_rules() {
        let req = pending();
        let table = [
            (REQUESTER, false, Ok(())),
            (REQUESTER, true, Ok(())),
            (ADMIN, true, Ok(())),
            (ALICE, false, Err(WorkflowError::NotAllowedToCancel)),
        ];
        for (user, is_admin, expected) in table {
            assert_eq!(
                can_cancel(&req, user, is_admin),
                expected,
                "{user} {is_admin}"
            );
        }
        // Lapsed but still pending: cancelling is still allowed.
        let moved = RequestSnapshot {
            version_stage_now: Archived,
            ..pending()
        };
        assert_eq!(can_cancel(&moved, REQUESTER, false), Ok(()));

        for state in RequestState::ALL.into_iter().filter(|s| !s.is_open()) {
            let req = RequestSnapshot { state, ..pending() };
            for (user, is_admin) in [(REQUESTER, false), (ADMIN, true), (ALICE, false)] {
                assert_eq!(
                    can_cancel(&req, user, is_admin),
                    Err(WorkflowError::NotOpen(state)),
                    "{state} {user}"
                );
            }
        }
    }

    #[test]
    fn error_messages_are_sentences_for_users() {
        for (err, needle) in [
            (WorkflowError::Expired, "expired"),
            (WorkflowError::SelfApproval, "cancel it instead"),
            (WorkflowError::AlreadySignedOff, "already signed off"),
            (WorkflowError::NotAllowedToCancel, "requester or an admin"),
        ] {
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
