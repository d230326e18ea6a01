//! Model aliases: the names (`champion` → 2.1.0) and the policy rules that
//! protect some of them (`champion`, `prod-*`), so that moving one goes
//! through sign-off like a stage change does.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

use super::{FieldError, Stage};

pub const ALIAS_NAME_MAX_LEN: usize = 64;

/// A movable name for one version of a model (`champion`, `canary-eu`):
/// 1–64 ASCII letters, digits, `_` and `-`, case-sensitive as given.
///
/// Names that clients already resolve to something else are reserved, in any
/// case: the stage names (they would shadow "the version in that stage"),
/// `latest`, and `v` followed by digits (MLflow reads `v3` as version 3).
/// Refusing them keeps a model URI meaning one thing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AliasName(String);

impl AliasName {
    /// Parses untrusted input. Surrounding whitespace is removed; anything
    /// else wrong is an error on field `alias`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError::new("alias", "is required"));
        }
        let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if !name.chars().all(valid_char) {
            return Err(FieldError::new(
                "alias",
                "may contain only letters, digits, '_' and '-'",
            ));
        }
        // All characters are ASCII from here on, so bytes == characters.
        if name.len() > ALIAS_NAME_MAX_LEN {
            return Err(FieldError::new(
                "alias",
                format!("must be at most {ALIAS_NAME_MAX_LEN} characters"),
            ));
        }
        if Self::is_reserved(name) {
            return Err(FieldError::new(
                "alias",
                format!(
                    "'{name}' is reserved (stage names, 'latest' and 'v' followed by \
                     digits already mean something)"
                ),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    fn is_reserved(name: &str) -> bool {
        let is_stage = Stage::ALL
            .into_iter()
            .any(|stage| stage.as_str().eq_ignore_ascii_case(name));
        let is_version = match name.strip_prefix(['v', 'V']) {
            Some(digits) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
            None => false,
        };
        is_stage || is_version || name.eq_ignore_ascii_case("latest")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AliasName {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for AliasName {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AliasName> for String {
    fn from(value: AliasName) -> Self {
        value.0
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------
// Protected aliases
// ---------------------------------------------------------------------------

/// The field protected-alias rules are reported under.
pub const FIELD_PROTECTED_ALIASES: &str = "protected_aliases";
/// More rules than this is a policy nobody can read.
pub const MAX_ALIAS_RULES: usize = 50;

/// Which aliases a rule covers: an exact name (`champion`) or a pattern in
/// which `*` stands for any run of alias characters (`prod-*`, `*-eu`, `*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AliasPattern(String);

impl AliasPattern {
    /// Parses untrusted input (field `protected_aliases`). A pattern without
    /// `*` must be a valid alias name, so a reserved name (`production`,
    /// `latest`, `v3`) is refused rather than silently never matching.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let pattern = raw.trim();
        let error = |message: String| FieldError::new(FIELD_PROTECTED_ALIASES, message);
        if !pattern.contains('*') {
            return AliasName::parse(pattern)
                .map(|name| Self(name.0))
                .map_err(|e| error(format!("alias pattern {pattern:?}: {}", e.message)));
        }
        let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '*';
        if !pattern.chars().all(valid_char) {
            return Err(error(format!(
                "alias pattern {pattern:?} may contain only letters, digits, '_', '-' and '*'"
            )));
        }
        if pattern.len() > ALIAS_NAME_MAX_LEN {
            return Err(error(format!(
                "alias pattern {pattern:?} must be at most {ALIAS_NAME_MAX_LEN} characters"
            )));
        }
        if pattern.contains("**") {
            return Err(error(format!(
                "alias pattern {pattern:?} has '**'; one '*' already matches any run of characters"
            )));
        }
        Ok(Self(pattern.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `alias` is covered. Case-sensitive, like alias names.
    pub fn matches(&self, alias: &AliasName) -> bool {
        glob(self.0.as_bytes(), alias.as_str().as_bytes())
    }
}

/// `*` matches any run of bytes; everything else matches itself. Iterative,
/// with one backtrack point, so it is linear-ish and cannot blow the stack.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

impl fmt::Display for AliasPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AliasPattern {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AliasPattern> for String {
    fn from(value: AliasPattern) -> Self {
        value.0
    }
}

/// A protected alias: moving or removing an alias the pattern covers needs
/// `approvals` sign-offs (through a request, like a stage change), and when
/// `stage` is set the alias may only point at a version in that stage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AliasRule {
    #[cfg_attr(feature = "ssr", schema(value_type = String, example = "champion"))]
    pub pattern: AliasPattern,
    pub approvals: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
}

impl AliasRule {
    /// `champion`: MLflow's conventional name for what serves. Two sign-offs,
    /// as for Production, because pipelines deploy what it names.
    pub fn default_rules() -> Vec<AliasRule> {
        vec![AliasRule {
            pattern: AliasPattern("champion".to_owned()),
            approvals: 2,
            stage: None,
        }]
    }

    /// Parses the policy form's text: one rule per line,
    /// `PATTERN APPROVALS [STAGE]`, e.g. `champion 2 production`. Blank lines
    /// and `#` comments are ignored. Errors name the line.
    pub fn parse_lines(text: &str) -> Result<Vec<AliasRule>, FieldError> {
        let mut rules = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at_line = |e: FieldError| {
                FieldError::new(
                    FIELD_PROTECTED_ALIASES,
                    format!("line {}: {}", i + 1, e.message),
                )
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let (pattern, approvals, stage) = match words.as_slice() {
                [p, n] => (*p, *n, None),
                [p, n, s] => (*p, *n, Some(*s)),
                _ => {
                    return Err(at_line(FieldError::new(
                        FIELD_PROTECTED_ALIASES,
                        "write PATTERN APPROVALS [STAGE], e.g. `champion 2 production`",
                    )))
                }
            };
            let approvals = super::approvals::parse_count(FIELD_PROTECTED_ALIASES, approvals)
                .map_err(at_line)?;
            let stage = stage
                .map(|s| s.parse::<Stage>())
                .transpose()
                .map_err(|e| at_line(FieldError::new(FIELD_PROTECTED_ALIASES, e.message)))?;
            rules.push(AliasRule {
                pattern: AliasPattern::parse(pattern).map_err(at_line)?,
                approvals,
                stage,
            });
        }
        check_rules(&rules)?;
        Ok(rules)
    }

    /// The rules as `parse_lines` reads them, for the settings form.
    pub fn to_lines(rules: &[AliasRule]) -> String {
        rules
            .iter()
            .map(|r| match r.stage {
                Some(stage) => format!("{} {} {stage}\n", r.pattern, r.approvals),
                None => format!("{} {}\n", r.pattern, r.approvals),
            })
            .collect()
    }

    /// The first rule covering `alias`: rule order is precedence.
    pub fn find<'a>(rules: &'a [AliasRule], alias: &AliasName) -> Option<&'a AliasRule> {
        rules.iter().find(|r| r.pattern.matches(alias))
    }

    /// Whether a version in `stage` may carry the alias under this rule.
    pub fn admits(&self, stage: Stage) -> bool {
        self.stage.is_none_or(|required| required == stage)
    }
}

/// Checks a rule list from any source: bounded, counts in range, no pattern twice.
pub fn check_rules(rules: &[AliasRule]) -> Result<(), FieldError> {
    if rules.len() > MAX_ALIAS_RULES {
        return Err(FieldError::new(
            FIELD_PROTECTED_ALIASES,
            format!("at most {MAX_ALIAS_RULES} rules"),
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        super::approvals::check_count(FIELD_PROTECTED_ALIASES, rule.approvals)?;
        if rules[..i].iter().any(|r| r.pattern == rule.pattern) {
            return Err(FieldError::new(
                FIELD_PROTECTED_ALIASES,
                format!("{} appears twice", rule.pattern),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_aliases_as_given() {
        for (raw, parsed) in [
            ("champion", "champion"),
            ("Champion", "Champion"),
            ("  canary-eu ", "canary-eu"),
            ("a_b-C_9", "a_b-C_9"),
            ("_", "_"),
            ("-", "-"),
            ("7", "7"),
            ("v", "v"),
            ("V", "V"),
            ("v1a", "v1a"),
            ("v-1", "v-1"),
            ("version1", "version1"),
            ("latest2", "latest2"),
            ("prod", "prod"),
            ("production-eu", "production-eu"),
        ] {
            let alias = AliasName::parse(raw).unwrap();
            assert_eq!(alias.as_str(), parsed, "{raw:?}");
            assert_eq!(alias.to_string(), parsed);
            assert_eq!(raw.parse::<AliasName>(), Ok(alias));
        }
        assert!(AliasName::parse(&"a".repeat(ALIAS_NAME_MAX_LEN)).is_ok());
        assert_ne!(AliasName::parse("Champion"), AliasName::parse("champion"));
    }

    #[test]
    fn refuses_invalid_aliases() {
        let long = "a".repeat(ALIAS_NAME_MAX_LEN + 1);
        for raw in [
            "", "   ", &long, "a b", "a.b", "a/b", "a@b", "a\0b", "é", "名前", "a:b", "a+b",
        ] {
            let err = AliasName::parse(raw).unwrap_err();
            assert_eq!(err.field, "alias", "{raw:?}");
        }
        assert_eq!(AliasName::parse("").unwrap_err().message, "is required");
        assert!(AliasName::parse(&long).unwrap_err().message.contains("64"));
    }

    #[test]
    fn refuses_reserved_aliases_in_any_case() {
        for raw in [
            "experimental",
            "Experimental",
            "EXPERIMENTAL",
            "staging",
            "StAgInG",
            "production",
            "PRODUCTION",
            "archived",
            "aRcHiVeD",
            "latest",
            "Latest",
            "LATEST",
            "v1",
            "v12",
            "v0",
            "v007",
            "V3",
        ] {
            let err = AliasName::parse(raw).unwrap_err();
            assert_eq!(err.field, "alias", "{raw:?}");
            assert!(err.message.contains("reserved"), "{raw:?}: {}", err.message);
        }
    }

    #[test]
    fn aliases_round_trip_through_serde() {
        let alias = AliasName::parse("champion").unwrap();
        let json = serde_json::to_string(&alias).unwrap();
        assert_eq!(json, "\"champion\"");
        assert_eq!(serde_json::from_str::<AliasName>(&json).unwrap(), alias);
        assert_eq!(String::from(alias.clone()), "champion");
        assert_eq!(AliasName::try_from("champion".to_string()), Ok(alias));
        for bad in ["\"latest\"", "\"v2\"", "\"\"", "\"a b\""] {
            assert!(serde_json::from_str::<AliasName>(bad).is_err(), "{bad}");
        }
    }

    // --- protected aliases ---------------------------------------------------

    fn alias(s: &str) -> AliasName {
        AliasName::parse(s).unwrap()
    }

    #[test]
    fn patterns_match_exactly_or_by_wildcard() {
        let cases = [
            ("champion", "champion", true),
            ("champion", "Champion", false),
            ("champion", "champion-eu", false),
            ("prod-*", "prod-eu", true),
            ("prod-*", "prod-", true),
            ("prod-*", "prod", false),
            ("prod-*", "preprod-eu", false),
            ("*-eu", "canary-eu", true),
            ("*-eu", "canary-us", false),
            ("a*b*c", "a-x-b-y-c", true),
            ("a*b*c", "a-x-c-y-b", false),
            ("*", "anything", true),
            ("*a*", "banana", true),
            ("*a", "ab", false),
        ];
        for (pattern, name, expected) in cases {
            let p = AliasPattern::parse(pattern).unwrap();
            assert_eq!(p.matches(&alias(name)), expected, "{pattern} ~ {name}");
        }
        // Worst case for backtracking stays quick and right.
        let p = AliasPattern::parse("*a*a*a*a*a*b").unwrap();
        assert!(!p.matches(&alias(&"a".repeat(64))));
    }

    #[test]
    fn bad_patterns_are_refused_naming_the_field() {
        for bad in [
            "",
            "production",
            "Latest",
            "v3",
            "a b",
            "prod.*",
            "prod-**",
            "é*",
            &"a*".repeat(40),
        ] {
            let err = AliasPattern::parse(bad).unwrap_err();
            assert_eq!(err.field, FIELD_PROTECTED_ALIASES, "{bad:?}");
        }
        assert!(AliasPattern::parse("production")
            .unwrap_err()
            .message
            .contains("reserved"));
    }

    #[test]
    fn rules_parse_from_lines_and_back() {
        let text =
            "# what serves\nchampion 2 production\n\n  prod-* 1  \ncanary 0 staging # shadow\n";
        let rules = AliasRule::parse_lines(text).unwrap();
        assert_eq!(
            rules,
            vec![
                AliasRule {
                    pattern: AliasPattern::parse("champion").unwrap(),
                    approvals: 2,
                    stage: Some(Stage::Production)
                },
                AliasRule {
                    pattern: AliasPattern::parse("prod-*").unwrap(),
                    approvals: 1,
                    stage: None
                },
                AliasRule {
                    pattern: AliasPattern::parse("canary").unwrap(),
                    approvals: 0,
                    stage: Some(Stage::Staging)
                },
            ]
        );
        let lines = AliasRule::to_lines(&rules);
        assert_eq!(lines, "champion 2 production\nprod-* 1\ncanary 0 staging\n");
        assert_eq!(AliasRule::parse_lines(&lines).unwrap(), rules);
        assert_eq!(AliasRule::parse_lines("").unwrap(), vec![]);
    }

    #[test]
    fn bad_rule_lines_name_the_line() {
        for (text, needle) in [
            ("champion", "line 1"),
            ("champion 2 production extra", "line 1"),
            ("\nchampion eleven", "line 2"),
            ("champion 11", "0 to 10"),
            ("champion 2 prod", "must be one of"),
            ("latest 1", "reserved"),
            ("champion 1\nchampion 2", "twice"),
        ] {
            let err = AliasRule::parse_lines(text).unwrap_err();
            assert_eq!(err.field, FIELD_PROTECTED_ALIASES);
            assert!(err.message.contains(needle), "{text:?}: {}", err.message);
        }
        let many: String = (0..=MAX_ALIAS_RULES).map(|i| format!("a{i} 1\n")).collect();
        assert!(AliasRule::parse_lines(&many).is_err());
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let rules = AliasRule::parse_lines("champion 3 production\nc* 1\n").unwrap();
        assert_eq!(
            AliasRule::find(&rules, &alias("champion"))
                .unwrap()
                .approvals,
            3
        );
        assert_eq!(
            AliasRule::find(&rules, &alias("canary")).unwrap().approvals,
            1
        );
        assert!(AliasRule::find(&rules, &alias("shadow")).is_none());
        let champion = AliasRule::find(&rules, &alias("champion")).unwrap();
        assert!(champion.admits(Stage::Production));
        assert!(!champion.admits(Stage::Staging));
        assert!(AliasRule::find(&rules, &alias("canary"))
            .unwrap()
            .admits(Stage::Staging));
    }

    #[test]
    fn rules_round_trip_through_json_and_refuse_bad_json() {
        let rules = AliasRule::default_rules();
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(json, r#"[{"pattern":"champion","approvals":2}]"#);
        assert_eq!(
            serde_json::from_str::<Vec<AliasRule>>(&json).unwrap(),
            rules
        );
        for bad in [
            r#"[{"pattern":"latest","approvals":1}]"#,
            r#"[{"pattern":"a b","approvals":1}]"#,
            r#"[{"pattern":"x","approvals":1,"extra":true}]"#,
            r#"[{"pattern":"x","approvals":1,"stage":"prod"}]"#,
        ] {
            assert!(
                serde_json::from_str::<Vec<AliasRule>>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
