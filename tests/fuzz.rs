//! Property tests of every parser of untrusted text: whatever the input,
//! each returns a value or an error and never panics; what it accepts it
//! accepts consistently. `FUZZ_CASES` sets the number of inputs per parser
//! (default 20,000; `FUZZ_CASES=1000000 cargo test --release --features ssr
//! --test fuzz` runs a million each).

use model_registry::{
    actions::safe_next,
    domain::{
        mlflow_search::{self as filter, Entity},
        parse_metric_lines, parse_range, AliasName, AliasPattern, AliasRule, ArtifactPath,
        CatalogQuery, ContentDigest, Instant, ModelName, SemVer, VersionRequirement,
    },
    server::http::client_addr::TrustedProxies,
};
use proptest::{prelude::*, test_runner::Config};

fn config() -> Config {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text built from the pieces a parser looks for, so the inputs reach deep
/// into its grammar instead of failing on the first byte.
fn grammar(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(pieces).prop_map(str::to_owned),
            1 => any::<char>().prop_map(|c| c.to_string()),
            1 => "[ \t'\"`%_()=<>!,.]{1,3}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

const FILTER: &[&str] = &[
    "name",
    "tags.",
    "tag.",
    "`",
    "'",
    "\"",
    " = ",
    " != ",
    " LIKE ",
    " ILIKE ",
    " AND ",
    " IN ",
    "(",
    ")",
    ",",
    "run_id",
    "version_number",
    "source_path",
    " >= ",
    " < ",
    "%",
    "_",
    "fraud",
    "1",
    "-2",
    "9999999999999999999999",
    "\\",
    " OR ",
    ";",
    "--",
    "/*",
];
const SEMVER: &[&str] = &[
    "1",
    ".",
    "0",
    "2",
    "-",
    "+",
    "rc",
    "alpha",
    "^",
    "~",
    ">=",
    "<",
    "=",
    "*",
    "x",
    ",",
    " ",
    "||",
    "18446744073709551616",
    "v",
];
const PATH: &[&str] = &[
    "a", "/", "..", ".", "\\", "%2e", "%2F", "\0", "~", ":", "C:", "é", " ",
];
const INSTANT: &[&str] = &[
    "2026",
    "-",
    "12",
    "02",
    "T",
    ":",
    "09",
    "31",
    "Z",
    "+01:00",
    ".",
    "123456789",
    " ",
    "UTC",
    "1767225600000",
    "99999999999999999999",
    "-1",
];
const RULES: &[&str] = &[
    "champion",
    " ",
    "2",
    "*",
    "prod-",
    "production",
    "\n",
    "#",
    "11",
    "v3",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mlflow_filters_never_panic(raw in prop_oneof![any::<String>(), grammar(FILTER)]) {
        for entity in [Entity::Models, Entity::Versions] {
            let _ = filter::parse(&raw, entity);
        }
        let _ = filter::like_to_glob(&raw);
    }

    #[test]
    fn semver_and_requirements_never_panic(raw in prop_oneof![any::<String>(), grammar(SEMVER)]) {
        if let Ok(v) = SemVer::parse(&raw) {
            // What parses, prints back to itself.
            prop_assert_eq!(SemVer::parse(&v.to_string()).ok(), Some(v.clone()));
            let _ = v.sort_key();
        }
        if let Ok(req) = VersionRequirement::parse(&raw) {
            let _ = req.matches(&SemVer::new(1, 2, 3));
        }
    }

    #[test]
    fn artifact_paths_never_escape(raw in prop_oneof![any::<String>(), grammar(PATH)]) {
        if let Ok(p) = ArtifactPath::parse(&raw) {
            let s = p.as_str();
            prop_assert!(!s.starts_with('/') && !s.contains('\\') && !s.contains('\0'));
            prop_assert!(s.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".."));
        }
        let _ = parse_range(Some(&raw), 1000);
    }

    #[test]
    fn instants_never_panic(raw in prop_oneof![any::<String>(), grammar(INSTANT)]) {
        if let Ok(at) = raw.parse::<Instant>() {
            let _ = at.to_rfc3339();
        }
    }

    #[test]
    fn names_digests_and_rules_never_panic(raw in prop_oneof![any::<String>(), grammar(RULES)]) {
        let _ = ModelName::parse(&raw);
        let _ = AliasName::parse(&raw);
        if let Ok(p) = AliasPattern::parse(&raw) {
            if let Ok(name) = AliasName::parse("champion") {
                let _ = p.matches(&name);
            }
        }
        let _ = AliasRule::parse_lines(&raw);
        let _ = ContentDigest::parse(&raw);
        let _ = parse_metric_lines(&raw);
        let next = safe_next(Some(&raw));
        prop_assert!(next.starts_with('/') && !next.starts_with("//"));
        prop_assert!(next.bytes().all(|b| b.is_ascii_graphic()));
        let _ = CatalogQuery::from_pairs([("q", raw.as_str()), ("tag", raw.as_str())]);
    }

    #[test]
    fn forwarded_for_never_panics(raw in any::<String>(), cidrs in any::<String>()) {
        let trusted = TrustedProxies::parse("127.0.0.0/8").unwrap();
        let _ = trusted.client("127.0.0.1".parse().unwrap(), &[raw.as_str()]);
        let _ = TrustedProxies::parse(&cidrs);
    }
}
