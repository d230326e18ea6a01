use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::FieldError;

/// Longest accepted version string (after trimming and dropping a leading
/// `v`). Bounds storage and, since no pre-release identifier can then be
/// longer than 122 characters, keeps [`SemVer::sort_key`]'s length prefix at
/// three digits.
pub const VERSION_MAX_LEN: usize = 128;

/// A model version: a [Semantic Versioning 2.0.0](https://semver.org) number
/// such as `1.2.3`, `1.0.0-rc.1` or `1.0.0+build.5`.
///
/// Equality is structural: `1.0.0+a` and `1.0.0+b` are different values.
/// Ordering is semver *precedence* ([`SemVer::precedence_cmp`], which ignores
/// build metadata) with build metadata as a final tie-break, so [`Ord`] is a
/// total order consistent with [`Eq`] and sorting is deterministic. Use
/// `precedence_cmp` (or [`SemVer::identity_key`]) whenever the question is
/// "is this the same or a newer release?".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SemVer(semver::Version);

impl SemVer {
    /// Parses untrusted input on field `version`: surrounding whitespace is
    /// trimmed and one leading `v` (as in git tags, `v1.2.3`) is dropped;
    /// everything else must be strict semver (no leading zeros, no missing
    /// parts). Pre-release and build metadata are allowed.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("version", "is required"));
        }
        let text = trimmed.strip_prefix('v').unwrap_or(trimmed);
        if text.len() > VERSION_MAX_LEN {
            return Err(FieldError::new(
                "version",
                format!("must be at most {VERSION_MAX_LEN} characters"),
            ));
        }
        semver::Version::parse(text).map(Self).map_err(|e| {
            FieldError::new(
                "version",
                format!("must be a semantic version such as 1.2.3 or 1.2.3-rc.1 ({e})"),
            )
        })
    }

    /// A release version with no pre-release or build metadata. Always valid:
    /// three `u64`s print in at most 62 characters.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self(semver::Version::new(major, minor, patch))
    }

    pub fn major(&self) -> u64 {
        self.0.major
    }

    pub fn minor(&self) -> u64 {
        self.0.minor
    }

    pub fn patch(&self) -> u64 {
        self.0.patch
    }

    /// The pre-release part without its `-`, or `""` for a release.
    pub fn pre_release(&self) -> &str {
        self.0.pre.as_str()
    }

    /// The build metadata without its `+`, or `""` if there is none.
    pub fn build(&self) -> &str {
        self.0.build.as_str()
    }

    pub fn is_pre_release(&self) -> bool {
        !self.0.pre.is_empty()
    }

    pub fn as_semver(&self) -> &semver::Version {
        &self.0
    }

    /// Semver precedence (spec §11): major, minor, patch numerically, then a
    /// pre-release sorts before its release, pre-release identifiers compare
    /// numerically or in ASCII order, numeric before alphanumeric, shorter
    /// list first. Build metadata is ignored, so `1.0.0+a` and `1.0.0+b` are
    /// `Equal` here although they are not `==`.
    pub fn precedence_cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        (a.major, a.minor, a.patch, &a.pre).cmp(&(b.major, b.minor, b.patch, &b.pre))
    }

    /// The version without build metadata. Build metadata does not change
    /// what a version *is*, so two versions of one model must not share this
    /// key: `1.0.0+a` and `1.0.0+b` collide. Equal keys ⇔ equal precedence.
    pub fn identity_key(&self) -> String {
        let v = &self.0;
        if v.pre.is_empty() {
            format!("{}.{}.{}", v.major, v.minor, v.patch)
        } else {
            format!("{}.{}.{}-{}", v.major, v.minor, v.patch, v.pre)
        }
    }

    /// An ASCII string whose plain byte-wise order (SQL `ORDER BY` under a
    /// binary / `C` collation) equals [`SemVer::precedence_cmp`], so the
    /// database can sort and range-scan versions without understanding
    /// semver. Build metadata is left out, like in precedence.
    ///
    /// Layout, e.g. `1.2.3-rc.10` →
    /// `00000000000000000001.00000000000000000002.00000000000000000003-1rc,000210`:
    ///
    /// * major, minor, patch as 20-digit zero-padded decimals (`u64::MAX` has
    ///   20 digits), so fixed width makes text order numeric order;
    /// * then `~` for a release, or `-` followed by the pre-release
    ///   identifiers for a pre-release: `-` (0x2D) < `~` (0x7E), so every
    ///   pre-release sorts before the release of the same core;
    /// * a numeric identifier is `0` + its digit count as 3 digits + its
    ///   digits: semver forbids leading zeros, so numeric order is (length,
    ///   digits), and the count fits in 3 digits because the whole version is
    ///   at most [`VERSION_MAX_LEN`] characters; numeric identifiers may
    ///   exceed `u64`, which this handles;
    /// * an alphanumeric identifier is `1` + its text, so numeric identifiers
    ///   (`0…`) sort before alphanumeric ones, which compare in ASCII order
    ///   as the spec requires;
    /// * identifiers are joined by `,` (0x2C), which sorts below every byte
    ///   an identifier can contain (`-` 0x2D is the smallest), and the key
    ///   simply ends after the last one; a string sorts before any longer
    ///   string it is a prefix of, so `alpha` < `alpha.1` and `a` < `a-b`.
    ///
    /// The format is persisted; changing it requires recomputing stored keys.
    pub fn sort_key(&self) -> String {
        let v = &self.0;
        let mut key = format!("{:020}.{:020}.{:020}", v.major, v.minor, v.patch);
        if v.pre.is_empty() {
            key.push('~');
            return key;
        }
        key.push('-');
        for (i, id) in v.pre.as_str().split('.').enumerate() {
            if i > 0 {
                key.push(',');
            }
            if id.bytes().all(|b| b.is_ascii_digit()) {
                key.push_str(&format!("0{:03}", id.len()));
            } else {
                key.push('1');
            }
            key.push_str(id);
        }
        key
    }

    /// The next version after this one (npm `semver.inc` rules). From a
    /// release: the usual increment, resetting the lower parts. From a
    /// pre-release, the bump that "finishes" it when it already is one:
    /// `1.2.3-rc.1` patch → `1.2.3`; `1.2.0-rc.1` minor → `1.2.0`;
    /// `2.0.0-rc.1` major → `2.0.0`; otherwise the usual increment. The
    /// result is always a plain release and always has higher precedence
    /// than `self`. Fails instead of wrapping when a part is at `u64::MAX`.
    pub fn bump(&self, bump: Bump) -> Result<Self, FieldError> {
        let v = &self.0;
        let pre = !v.pre.is_empty();
        let overflow = |part: &str| {
            FieldError::new(
                "version",
                format!("cannot bump {v}: the {part} number would overflow"),
            )
        };
        let (major, minor, patch) = match bump {
            Bump::Patch if pre => (v.major, v.minor, v.patch),
            Bump::Patch => (
                v.major,
                v.minor,
                v.patch.checked_add(1).ok_or_else(|| overflow("patch"))?,
            ),
            Bump::Minor if pre && v.patch == 0 => (v.major, v.minor, 0),
            Bump::Minor => (
                v.major,
                v.minor.checked_add(1).ok_or_else(|| overflow("minor"))?,
                0,
            ),
            Bump::Major if pre && v.minor == 0 && v.patch == 0 => (v.major, 0, 0),
            Bump::Major => (
                v.major.checked_add(1).ok_or_else(|| overflow("major"))?,
                0,
                0,
            ),
        };
        Ok(Self::new(major, minor, patch))
    }
}

/// The version a new upload gets when the user asks for a bump rather than
/// typing a version: [`SemVer::bump`] applied to the highest existing version
/// by precedence. A model with no versions yet bumps from `0.0.0`, giving
/// `1.0.0`, `0.1.0` or `0.0.1`. The result is higher than every existing
/// version, so it never collides with one.
pub fn next_version(existing: &[SemVer], bump: Bump) -> Result<SemVer, FieldError> {
    match existing.iter().max_by(|a, b| a.precedence_cmp(b)) {
        Some(highest) => highest.bump(bump),
        None => SemVer::new(0, 0, 0).bump(bump),
    }
}

impl Ord for SemVer {
    /// Precedence, then build metadata (semver's own total order for it) so
    /// that `Equal` means `==`. See [`SemVer::precedence_cmp`].
    fn cmp(&self, other: &Self) -> Ordering {
        self.precedence_cmp(other)
            .then_with(|| self.0.build.cmp(&other.0.build))
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for SemVer {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SemVer {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SemVer> for String {
    fn from(value: SemVer) -> Self {
        value.0.to_string()
    }
}

/// Canonical semver text, without the optional leading `v` parse accepts.
impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Which part of the version to increment; see [`SemVer::bump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
// The API doc gets its own description: the one above links Rust items.
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(description = "Which part of the highest existing version to increment")
)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    Major,
    Minor,
    Patch,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Major => "major",
            Bump::Minor => "minor",
            Bump::Patch => "patch",
        }
    }
}

/// Accepts exactly `major`, `minor` or `patch` (surrounding whitespace
/// trimmed), matching the serde form; anything else is an error on `bump`.
impl FromStr for Bump {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "major" => Ok(Bump::Major),
            "minor" => Ok(Bump::Minor),
            "patch" => Ok(Bump::Patch),
            _ => Err(FieldError::new(
                "bump",
                "must be one of 'major', 'minor' or 'patch'",
            )),
        }
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A semver requirement such as `^2.1`, `>=1.4, <2` or `~1.2.3`, as in
/// Cargo; used to pick "the highest production version compatible with 2.1".
/// Parsed from untrusted input on field `matches`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRequirement(semver::VersionReq);

/// Longest accepted requirement; real ones are a few dozen characters.
pub const REQUIREMENT_MAX_LEN: usize = 256;

impl VersionRequirement {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(
                "matches",
                "is empty; omit it to match any version",
            ));
        }
        if text.len() > REQUIREMENT_MAX_LEN {
            return Err(FieldError::new(
                "matches",
                format!("must be at most {REQUIREMENT_MAX_LEN} characters"),
            ));
        }
        semver::VersionReq::parse(text).map(Self).map_err(|e| {
            FieldError::new(
                "matches",
                format!("must be a semver requirement such as ^2.1 or >=1.4, <2 ({e})"),
            )
        })
    }

    /// Semver rules: pre-releases match only a comparator naming the same
    /// `major.minor.patch` with a pre-release, so `^2.1` never picks `3.0.0-rc.1`.
    pub fn matches(&self, version: &SemVer) -> bool {
        self.0.matches(&version.0)
    }
}

impl fmt::Display for VersionRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
#[path = "version_tests.rs"]
mod tests;
