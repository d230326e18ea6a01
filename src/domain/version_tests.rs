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
