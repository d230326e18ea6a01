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
mod tests {
    use super::*;

    fn v(raw: &str) -> SemVer {
        SemVer::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
    }

    const MAX: u64 = u64::MAX;

    /// The ordered example from semver.org §11.
    const SPEC_ORDER: [&str; 8] = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ];

    /// Hand-picked versions covering every branch of the precedence rules.
    const HAND_PICKED: &[&str] = &[
        "0.0.0-0",
        "0.0.0-a",
        "0.0.0",
        "0.0.1",
        "0.1.0",
        "0.9.9",
        "0.10.0",
        "1.0.0-0",
        "1.0.0-0.0",
        "1.0.0-0.a",
        "1.0.0-1",
        "1.0.0-1.2.3",
        "1.0.0-1.2.3.4",
        "1.0.0-1.10",
        "1.0.0-1.a",
        "1.0.0-2",
        "1.0.0-9",
        "1.0.0-10",
        "1.0.0-99",
        "1.0.0-100",
        "1.0.0-18446744073709551615",
        "1.0.0-18446744073709551616",
        "1.0.0-123456789012345678901234567890",
        "1.0.0--",
        "1.0.0---",
        "1.0.0-0a",
        "1.0.0-A",
        "1.0.0-Alpha",
        "1.0.0-Z",
        "1.0.0-a",
        "1.0.0-a.0",
        "1.0.0-a.b",
        "1.0.0-a-b",
        "1.0.0-a0",
        "1.0.0-aB",
        "1.0.0-ab",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0-rc.1+build.5",
        "1.0.0",
        "1.0.0+build",
        "1.0.0+001",
        "1.0.1",
        "1.2.3",
        "1.10.0",
        "2.0.0",
        "10.0.0",
        "18446744073709551615.0.0",
        "18446744073709551615.18446744073709551615.18446744073709551615-rc",
        "18446744073709551615.18446744073709551615.18446744073709551615",
    ];

    // ---- parsing -----------------------------------------------------------

    #[test]
    fn parses_valid_versions_to_canonical_form() {
        for (raw, canonical) in [
            ("1.2.3", "1.2.3"),
            ("v1.2.3", "1.2.3"),
            (" 1.2.3 ", "1.2.3"),
            ("\t v1.2.3\n", "1.2.3"),
            ("0.0.0", "0.0.0"),
            ("1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"),
            ("v1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"),
            ("1.0.0-alpha", "1.0.0-alpha"),
            ("1.0.0-0", "1.0.0-0"),
            ("1.0.0-0A", "1.0.0-0A"),
            ("1.0.0-x-y-z.--", "1.0.0-x-y-z.--"),
            ("1.0.0+20130313144700", "1.0.0+20130313144700"),
            ("1.0.0+001", "1.0.0+001"),
            ("1.0.0-beta+exp.sha.5114f85", "1.0.0-beta+exp.sha.5114f85"),
            (
                "18446744073709551615.18446744073709551615.18446744073709551615",
                "18446744073709551615.18446744073709551615.18446744073709551615",
            ),
        ] {
            let parsed = v(raw);
            assert_eq!(parsed.to_string(), canonical, "{raw:?}");
            assert_eq!(String::from(parsed), canonical, "{raw:?}");
        }
    }

    #[test]
    fn length_limit_applies_to_the_version_itself() {
        let longest = format!("1.0.0-{}", "a".repeat(VERSION_MAX_LEN - 6));
        assert_eq!(longest.len(), VERSION_MAX_LEN);
        assert_eq!(v(&longest).to_string(), longest);
        // Neither the `v` nor surrounding whitespace counts.
        assert_eq!(v(&format!("  v{longest}  ")).to_string(), longest);

        let too_long = format!("{longest}a");
        let err = SemVer::parse(&too_long).unwrap_err();
        assert_eq!(err.field, "version");
        assert!(err.message.contains("at most 128"), "{}", err.message);
        assert!(SemVer::parse(&"9".repeat(10_000)).is_err());
    }

    #[test]
    fn refuses_invalid_versions() {
        let overlong = format!("1.0.0-{}", "a".repeat(VERSION_MAX_LEN));
        for raw in [
            "",
            "   ",
            "v",
            "vv1.2.3",
            "V1.2.3",
            "v 1.2.3",
            "1",
            "1.2",
            "1.2.",
            "1.2.3.4",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "00.0.0",
            "-1.2.3",
            "1.-2.3",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-+build",
            "1.2.3-rc.",
            "1.2.3-.rc",
            "1.2.3-rc..1",
            "1.2.3+build..1",
            "1.2.3+build+x",
            "a.b.c",
            "1.2.x",
            "1.2.*",
            "=1.2.3",
            "^1.2.3",
            ">=1.2.3",
            "1.2.3-01",
            "1.2.3-rc.01",
            "1.2.3-00",
            "1.2.3-rc_1",
            "1.2.3-é",
            "1.2.3 4",
            "1.2.3 -rc",
            "1 .2.3",
            "1.2.3\0",
            "\x001.2.3",
            "1.2.\x003",
            "1.2.3-rc\0",
            "18446744073709551616.0.0",
            "0.18446744073709551616.0",
            "0.0.18446744073709551616",
            "１.２.３",
            &overlong,
        ] {
            let err = SemVer::parse(raw).unwrap_err();
            assert_eq!(err.field, "version", "{raw:?}");
        }
        assert_eq!(SemVer::parse("").unwrap_err().message, "is required");
        assert!(SemVer::parse("1.2")
            .unwrap_err()
            .message
            .contains("semantic version"));
    }

    #[test]
    fn exposes_its_parts() {
        let x = v("v4.5.6-rc.1+build.7");
        assert_eq!((x.major(), x.minor(), x.patch()), (4, 5, 6));
        assert_eq!(x.pre_release(), "rc.1");
        assert_eq!(x.build(), "build.7");
        assert!(x.is_pre_release());
        assert_eq!(
            x.as_semver(),
            &semver::Version::parse("4.5.6-rc.1+build.7").unwrap()
        );

        let r = SemVer::new(1, 2, 3);
        assert_eq!(r, v("1.2.3"));
        assert!(!r.is_pre_release());
        assert_eq!((r.pre_release(), r.build()), ("", ""));
    }

    #[test]
    fn round_trips_through_serde_and_from_str() {
        let x = v("v1.2.3-rc.1+build.5");
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(json, "\"1.2.3-rc.1+build.5\"");
        assert_eq!(serde_json::from_str::<SemVer>(&json).unwrap(), x);
        assert_eq!(
            serde_json::from_str::<SemVer>("\"v1.2.3\"").unwrap(),
            v("1.2.3")
        );
        assert!(serde_json::from_str::<SemVer>("\"1.2\"").is_err());
        assert!(serde_json::from_str::<SemVer>("123").is_err());
        assert_eq!("1.2.3".parse::<SemVer>().unwrap(), SemVer::new(1, 2, 3));
        assert_eq!(
            SemVer::try_from("1.2.3".to_owned()).unwrap(),
            SemVer::new(1, 2, 3)
        );
    }

    // ---- ordering ----------------------------------------------------------

    #[test]
    fn spec_example_is_in_precedence_order() {
        let ordered: Vec<SemVer> = SPEC_ORDER.iter().map(|s| v(s)).collect();
        for pair in ordered.windows(2) {
            assert_eq!(pair[0].precedence_cmp(&pair[1]), Ordering::Less, "{pair:?}");
            assert!(pair[0] < pair[1], "{pair:?}");
        }
        let mut shuffled = ordered.clone();
        shuffled.reverse();
        shuffled.swap(1, 5);
        shuffled.swap(0, 3);
        shuffled.sort();
        assert_eq!(shuffled, ordered);
        shuffled.reverse();
        shuffled.sort_by(SemVer::precedence_cmp);
        assert_eq!(shuffled, ordered);
    }

    #[test]
    fn core_parts_compare_numerically() {
        assert!(v("1.9.0") < v("1.10.0"));
        assert!(v("1.0.9") < v("1.0.10"));
        assert!(v("9.0.0") < v("10.0.0"));
        assert!(v("1.0.0-rc.1") < v("1.0.0"));
        assert!(v("1.0.0") < v("1.0.1-alpha"));
        assert!(v("2.0.0-0") > v("1.999.999"));
        assert!(v("1.0.0-alpha.99") < v("1.0.0-alpha.100"));
        assert!(v("1.0.0-99999999999999999999") > v("1.0.0-18446744073709551615"));
    }

    #[test]
    fn build_metadata_is_ignored_for_precedence_but_breaks_ties_in_ord() {
        let (a, b) = (v("1.0.0+a"), v("1.0.0+b"));
        assert_eq!(a.precedence_cmp(&b), Ordering::Equal);
        assert_eq!(a.precedence_cmp(&v("1.0.0")), Ordering::Equal);
        assert_ne!(a, b);
        assert_eq!(a.cmp(&b), Ordering::Less);
        assert_eq!(b.cmp(&a), Ordering::Greater);
        // Build metadata never outweighs a real difference.
        assert!(v("1.0.0+zzz") < v("1.0.1+aaa"));
        assert!(v("1.0.0-alpha+zzz") < v("1.0.0-alpha.1+aaa"));
        assert!(v("1.0.0-rc.1+999") < v("1.0.0+0"));
    }

    #[test]
    fn ord_is_consistent_with_eq_and_precedence() {
        let all: Vec<SemVer> = HAND_PICKED.iter().map(|s| v(s)).collect();
        for a in &all {
            for b in &all {
                assert_eq!(a.cmp(b) == Ordering::Equal, a == b, "{a} vs {b}");
                assert_eq!(a.partial_cmp(b), Some(a.cmp(b)));
                if a.precedence_cmp(b) != Ordering::Equal {
                    assert_eq!(a.cmp(b), a.precedence_cmp(b), "{a} vs {b}");
                }
                assert_eq!(a.precedence_cmp(b), b.precedence_cmp(a).reverse());
            }
        }
    }

    // ---- identity key --------------------------------------------------------

    #[test]
    fn identity_key_drops_only_build_metadata() {
        for (raw, key) in [
            ("1.0.0", "1.0.0"),
            ("v1.0.0", "1.0.0"),
            ("1.0.0+a", "1.0.0"),
            ("1.0.0+b.2", "1.0.0"),
            ("1.0.0-rc.1", "1.0.0-rc.1"),
            ("1.0.0-rc.1+x", "1.0.0-rc.1"),
        ] {
            assert_eq!(v(raw).identity_key(), key, "{raw:?}");
        }
        assert_eq!(v("1.0.0+a").identity_key(), v("1.0.0+b").identity_key());
        assert_ne!(v("1.0.0").identity_key(), v("1.0.0-rc.1").identity_key());
        assert_ne!(v("1.0.0-a").identity_key(), v("1.0.0-A").identity_key());
    }

    #[test]
    fn identity_keys_collide_exactly_when_precedence_is_equal() {
        let all: Vec<SemVer> = HAND_PICKED.iter().map(|s| v(s)).collect();
        for a in &all {
            // The key is itself a valid version equal in precedence.
            assert_eq!(v(&a.identity_key()).precedence_cmp(a), Ordering::Equal);
            for b in &all {
                assert_eq!(
                    a.identity_key() == b.identity_key(),
                    a.precedence_cmp(b) == Ordering::Equal,
                    "{a} vs {b}"
                );
            }
        }
    }

    // ---- sort key ----------------------------------------------------------

    fn assert_sort_key_matches_precedence(a: &SemVer, b: &SemVer) {
        assert_eq!(
            a.sort_key().cmp(&b.sort_key()),
            a.precedence_cmp(b),
            "{a} vs {b}: {:?} vs {:?}",
            a.sort_key(),
            b.sort_key()
        );
    }

    #[test]
    fn sort_key_has_the_documented_layout() {
        let z = "0000000000000000000";
        assert_eq!(v("1.2.3").sort_key(), format!("{z}1.{z}2.{z}3~"));
        assert_eq!(v("1.2.3+build").sort_key(), format!("{z}1.{z}2.{z}3~"));
        assert_eq!(
            v("1.2.3-rc.10").sort_key(),
            format!("{z}1.{z}2.{z}3-1rc,000210")
        );
        assert_eq!(
            v("0.0.0-0.a-b.X").sort_key(),
            format!("{z}0.{z}0.{z}0-00010,1a-b,1X")
        );
        assert_eq!(
            v("18446744073709551615.0.0").sort_key(),
            format!("18446744073709551615.{z}0.{z}0~")
        );
    }

    #[test]
    fn sort_key_is_plain_ascii_without_sql_specials() {
        for raw in HAND_PICKED {
            let key = v(raw).sort_key();
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"'\"\\%_".contains(&b)),
                "{key:?}"
            );
        }
    }

    #[test]
    fn sort_key_order_equals_precedence_for_hand_picked_versions() {
        let all: Vec<SemVer> = HAND_PICKED.iter().map(|s| v(s)).collect();
        assert!(all.len() >= 40);
        for a in &all {
            for b in &all {
                assert_sort_key_matches_precedence(a, b);
            }
        }
        // And the list above is written in precedence order, so sorting the
        // keys must not move anything.
        for pair in all.windows(2) {
            assert_ne!(
                pair[0].precedence_cmp(&pair[1]),
                Ordering::Greater,
                "{pair:?}"
            );
        }
    }

    /// xorshift64*: deterministic, dependency-free, good enough to explore.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }
    }

    /// Core numbers cluster on a few values so that ties (and therefore
    /// pre-release comparisons) are frequent.
    fn random_number(rng: &mut Rng) -> u64 {
        match rng.below(6) {
            0 => 0,
            1 => 1,
            2 => rng.below(12),
            3 => MAX,
            4 => MAX - 1,
            _ => rng.next(),
        }
    }

    fn random_identifier(rng: &mut Rng) -> String {
        const ALPHABET: &[u8] = b"0123456789-AZaz";
        match rng.below(4) {
            0 => rng.below(12).to_string(),
            1 => rng
                .pick(&[
                    "18446744073709551615",
                    "18446744073709551616",
                    "99999999999999999999999",
                    "100000000000000000000000",
                ])
                .to_owned(),
            _ => {
                let len = 1 + rng.below(4) as usize;
                let mut id: String = (0..len)
                    .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize] as char)
                    .collect();
                // All digits with a leading zero is not a valid identifier;
                // make it alphanumeric instead.
                if id.len() > 1 && id.bytes().all(|b| b.is_ascii_digit()) {
                    id.push('x');
                }
                id
            }
        }
    }

    fn random_version(rng: &mut Rng) -> SemVer {
        // A third share one core, so pre-release identifiers decide often.
        let mut text = if rng.below(3) == 0 {
            "1.0.0".to_owned()
        } else {
            format!(
                "{}.{}.{}",
                random_number(rng),
                random_number(rng),
                random_number(rng)
            )
        };
        let ids = rng.below(5);
        for i in 0..ids {
            let id = random_identifier(rng);
            // Leave room for the longest build suffix below.
            if text.len() + 1 + id.len() + 8 > VERSION_MAX_LEN {
                break;
            }
            text.push(if i == 0 { '-' } else { '.' });
            text.push_str(&id);
        }
        if rng.below(4) == 0 {
            text.push_str(rng.pick(&["+b", "+build.1", "+001", "+Z-9"]));
        }
        v(&text)
    }

    #[test]
    fn sort_key_order_equals_precedence_for_random_versions() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut all: Vec<SemVer> = (0..5000).map(|_| random_version(&mut rng)).collect();

        // Every pair among the first few hundred, directly.
        for a in &all[..500] {
            for b in &all[..500] {
                assert_sort_key_matches_precedence(a, b);
            }
        }

        // All of them: sorted by precedence, neighbouring keys must compare
        // exactly as their versions do; transitivity covers every other pair.
        all.sort_by(SemVer::precedence_cmp);
        for pair in all.windows(2) {
            assert_sort_key_matches_precedence(&pair[0], &pair[1]);
        }
        let ties = all
            .windows(2)
            .filter(|p| p[0].precedence_cmp(&p[1]) == Ordering::Equal)
            .count();
        let pre = all.iter().filter(|x| x.is_pre_release()).count();
        assert!(
            ties > 10 && pre > 1000,
            "generator too weak: {ties} ties, {pre} pre-releases"
        );
    }

    // ---- bump --------------------------------------------------------------

    #[test]
    fn parses_bump_kinds() {
        for (raw, bump) in [
            ("major", Bump::Major),
            ("minor", Bump::Minor),
            ("patch", Bump::Patch),
            (" patch\n", Bump::Patch),
        ] {
            assert_eq!(raw.parse::<Bump>().unwrap(), bump);
        }
        for raw in [
            "",
            "Major",
            "PATCH",
            "prerelease",
            "premajor",
            "1",
            "major minor",
        ] {
            assert_eq!(raw.parse::<Bump>().unwrap_err().field, "bump", "{raw:?}");
        }
        for bump in [Bump::Major, Bump::Minor, Bump::Patch] {
            assert_eq!(bump.to_string().parse::<Bump>().unwrap(), bump);
            let json = serde_json::to_string(&bump).unwrap();
            assert_eq!(json, format!("\"{}\"", bump.as_str()));
            assert_eq!(serde_json::from_str::<Bump>(&json).unwrap(), bump);
        }
    }

    fn next(existing: &[&str], bump: Bump) -> String {
        let existing: Vec<SemVer> = existing.iter().map(|s| v(s)).collect();
        next_version(&existing, bump).unwrap().to_string()
    }

    #[test]
    fn first_version_of_a_model() {
        assert_eq!(next(&[], Bump::Major), "1.0.0");
        assert_eq!(next(&[], Bump::Minor), "0.1.0");
        assert_eq!(next(&[], Bump::Patch), "0.0.1");
    }

    #[test]
    fn bumps_a_release() {
        for (existing, major, minor, patch) in [
            ("1.2.3", "2.0.0", "1.3.0", "1.2.4"),
            ("0.0.0", "1.0.0", "0.1.0", "0.0.1"),
            ("1.0.0", "2.0.0", "1.1.0", "1.0.1"),
            ("1.2.3+build.9", "2.0.0", "1.3.0", "1.2.4"),
            ("9.99.999", "10.0.0", "9.100.0", "9.99.1000"),
        ] {
            assert_eq!(next(&[existing], Bump::Major), major, "{existing}");
            assert_eq!(next(&[existing], Bump::Minor), minor, "{existing}");
            assert_eq!(next(&[existing], Bump::Patch), patch, "{existing}");
        }
    }

    #[test]
    fn bumps_a_pre_release_npm_style() {
        for (existing, major, minor, patch) in [
            ("1.2.3-rc.1", "2.0.0", "1.3.0", "1.2.3"),
            ("1.2.0-rc.1", "2.0.0", "1.2.0", "1.2.0"),
            ("1.0.0-rc.1", "1.0.0", "1.0.0", "1.0.0"),
            ("2.0.0-alpha+build", "2.0.0", "2.0.0", "2.0.0"),
            ("0.1.0-beta", "1.0.0", "0.1.0", "0.1.0"),
            ("0.0.1-alpha", "1.0.0", "0.1.0", "0.0.1"),
            ("0.0.0-0", "0.0.0", "0.0.0", "0.0.0"),
            ("1.0.1-0", "2.0.0", "1.1.0", "1.0.1"),
        ] {
            assert_eq!(next(&[existing], Bump::Major), major, "{existing}");
            assert_eq!(next(&[existing], Bump::Minor), minor, "{existing}");
            assert_eq!(next(&[existing], Bump::Patch), patch, "{existing}");
        }
    }

    #[test]
    fn bumps_from_the_highest_version_by_precedence() {
        let existing = ["1.0.0", "3.0.0-rc.1", "2.5.9", "0.9.0", "3.0.0-beta.7"];
        assert_eq!(next(&existing, Bump::Patch), "3.0.0");
        assert_eq!(next(&existing, Bump::Minor), "3.0.0");
        assert_eq!(next(&existing, Bump::Major), "3.0.0");

        let existing = ["2.5.9+zzz", "1.0.0", "2.5.10-alpha", "2.5.9"];
        assert_eq!(next(&existing, Bump::Patch), "2.5.10");
        assert_eq!(next(&existing, Bump::Minor), "2.6.0");
        assert_eq!(next(&existing, Bump::Major), "3.0.0");

        // The release outranks its own pre-release.
        let existing = ["1.0.0-rc.1", "1.0.0", "1.0.0-rc.2"];
        assert_eq!(next(&existing, Bump::Patch), "1.0.1");
        assert_eq!(next(&existing, Bump::Minor), "1.1.0");
        assert_eq!(next(&existing, Bump::Major), "2.0.0");

        // Numeric, not textual, comparison picks the highest.
        let existing = ["1.9.0", "1.10.0", "1.2.0"];
        assert_eq!(next(&existing, Bump::Minor), "1.11.0");
    }

    #[test]
    fn bumped_version_is_a_plain_release_above_every_existing_one() {
        let mut rng = Rng(42);
        for _ in 0..500 {
            let existing: Vec<SemVer> = (0..rng.below(5))
                .map(|_| random_version(&mut rng))
                .collect();
            for bump in [Bump::Major, Bump::Minor, Bump::Patch] {
                // Random versions may sit at u64::MAX; overflow is tested below.
                let Ok(next) = next_version(&existing, bump) else {
                    continue;
                };
                assert!(!next.is_pre_release() && next.build().is_empty(), "{next}");
                for old in &existing {
                    assert_eq!(
                        next.precedence_cmp(old),
                        Ordering::Greater,
                        "{old} -> {next}"
                    );
                }
            }
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let max = MAX.to_string();
        let cases: [(String, Bump, Option<String>); 12] = [
            (format!("{max}.0.0"), Bump::Major, None),
            (
                format!("{max}.0.0"),
                Bump::Minor,
                Some(format!("{max}.1.0")),
            ),
            (
                format!("{max}.0.0"),
                Bump::Patch,
                Some(format!("{max}.0.1")),
            ),
            (format!("1.{max}.0"), Bump::Minor, None),
            (format!("1.{max}.0"), Bump::Major, Some("2.0.0".to_owned())),
            (format!("1.2.{max}"), Bump::Patch, None),
            (format!("1.2.{max}"), Bump::Minor, Some("1.3.0".to_owned())),
            (
                format!("{max}.{max}.{max}-rc"),
                Bump::Patch,
                Some(format!("{max}.{max}.{max}")),
            ),
            (format!("{max}.{max}.{max}-rc"), Bump::Minor, None),
            (format!("{max}.{max}.{max}-rc"), Bump::Major, None),
            (
                format!("{max}.{max}.0-rc"),
                Bump::Minor,
                Some(format!("{max}.{max}.0")),
            ),
            (
                format!("{max}.0.0-rc"),
                Bump::Major,
                Some(format!("{max}.0.0")),
            ),
        ];
        for (existing, bump, expected) in cases {
            let result = next_version(&[v(&existing)], bump);
            match expected {
                Some(expected) => assert_eq!(result.unwrap().to_string(), expected),
                None => {
                    let err = result.unwrap_err();
                    assert_eq!(err.field, "version");
                    assert!(err.message.contains("overflow"), "{}", err.message);
                }
            }
        }
    }

    #[test]
    fn requirements_parse_and_match_like_cargo() {
        let req = |s: &str| VersionRequirement::parse(s).unwrap();
        let v = |s: &str| SemVer::parse(s).unwrap();
        assert!(req("^2.1").matches(&v("2.1.0")));
        assert!(req("^2.1").matches(&v("2.9.3")));
        assert!(!req("^2.1").matches(&v("3.0.0")));
        assert!(!req("^2.1").matches(&v("2.0.9")));
        assert!(!req("^2.1").matches(&v("2.2.0-rc.1")));
        assert!(req(">=1.4, <2").matches(&v("1.9.0")));
        assert!(!req(">=1.4, <2").matches(&v("2.0.0")));
        assert!(req("~1.2.3").matches(&v("1.2.9")));
        assert!(req("=1.0.0-rc.1").matches(&v("1.0.0-rc.1")));
        for bad in ["", "   ", "^x", ">>1", "1.2.3.4", &"1".repeat(300)] {
            assert_eq!(
                VersionRequirement::parse(bad).unwrap_err().field,
                "matches",
                "{bad:?}"
            );
        }
    }
}
