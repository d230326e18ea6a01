use super::*;
use crate::domain::alias::FIELD_PROTECTED_ALIASES;
use Stage::*;

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
    let pin = PolicyOverride::from_pairs([("protected_aliases", "champion 4 production")]).unwrap();
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
