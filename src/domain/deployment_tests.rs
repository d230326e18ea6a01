use super::*;

fn event(id: i64, model: &str, version: &str, state: DeploymentState, at: i64) -> DeploymentEvent {
    DeploymentEvent {
        id,
        model: model.into(),
        version: version.into(),
        state,
        at,
        violation: None,
        receipt_id: None,
    }
}

use DeploymentState::{Serving, Stopped};

#[test]
fn environment_names_are_lowercase_words() {
    for ok in ["prod-eu", "staging", "shadow_us2", "a"] {
        assert_eq!(EnvironmentName::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(EnvironmentName::parse("  prod  ").unwrap().as_str(), "prod");
    for bad in [
        "",
        "Prod",
        "1prod",
        "-prod",
        "prod eu",
        "prod/eu",
        "prød",
        &"p".repeat(64),
    ] {
        let e = EnvironmentName::parse(bad).unwrap_err();
        assert_eq!(e.field, "environment", "{bad:?}");
    }
    assert!(EnvironmentName::parse(&"p".repeat(63)).is_ok());
}

#[test]
fn environment_forms_parse_their_stage_and_bound_their_description() {
    let env = EnvironmentForm {
        name: "prod-eu".into(),
        required_stage: "Production".into(),
        description: Some("  EU traffic ".into()),
    }
    .parse()
    .unwrap();
    assert_eq!(env.required_stage, Stage::Production);
    assert_eq!(env.description, "EU traffic");
    let bad_stage = EnvironmentForm {
        name: "x".into(),
        required_stage: "live".into(),
        description: None,
    }
    .parse()
    .unwrap_err();
    assert_eq!(bad_stage.field, "required_stage");
    let long = EnvironmentForm {
        name: "x".into(),
        required_stage: "staging".into(),
        description: Some("d".repeat(501)),
    }
    .parse()
    .unwrap_err();
    assert_eq!(long.field, "description");
}

fn form(at: Option<&str>) -> DeploymentReportForm {
    DeploymentReportForm {
        model: "fraud".into(),
        version: "1.2.0".into(),
        state: None,
        at: at.map(Into::into),
        receipt_id: None,
    }
}

#[test]
fn reports_default_to_serving_now_and_refuse_the_future() {
    let now = 1_800_000_000_000;
    let r = form(None).parse(now).unwrap();
    assert_eq!((r.state, r.at), (Serving, now));
    assert_eq!(
        form(Some("1700000000000")).parse(now).unwrap().at,
        1_700_000_000_000
    );
    assert_eq!(
        form(Some("2026-03-14T09:31:00Z")).parse(now).unwrap().at,
        "2026-03-14T09:31:00Z".parse::<Instant>().unwrap().millis()
    );
    // A little clock skew is tolerated; more is a future report.
    assert!(form(Some(&(now + MAX_CLOCK_SKEW_MS).to_string()))
        .parse(now)
        .is_ok());
    let e = form(Some(&(now + MAX_CLOCK_SKEW_MS + 1).to_string()))
        .parse(now)
        .unwrap_err();
    assert_eq!(e.field, "at");
    assert!(e.message.contains("future"), "{}", e.message);
    assert_eq!(form(Some("yesterday")).parse(now).unwrap_err().field, "at");
}

#[test]
fn reports_name_the_field_that_is_wrong() {
    let now = 1_800_000_000_000;
    let mut f = form(None);
    f.model = "Not A Model!".into();
    assert_eq!(f.parse(now).unwrap_err().field, "model");
    let mut f = form(None);
    f.version = "one".into();
    assert_eq!(f.parse(now).unwrap_err().field, "version");
    let mut f = form(None);
    f.state = Some("running".into());
    assert_eq!(f.parse(now).unwrap_err().field, "state");
    let mut f = form(None);
    f.state = Some("stopped".into());
    assert_eq!(f.parse(now).unwrap().state, Stopped);
    let mut f = form(None);
    f.receipt_id = Some("rcpt_123".into());
    assert_eq!(f.parse(now).unwrap_err().field, "receipt_id");
}

#[test]
fn receipt_ids_have_one_form() {
    let id = ReceiptId::from_random([0xab; 16]);
    assert_eq!(id.as_str(), format!("rcpt_{}", "ab".repeat(16)));
    assert_eq!(ReceiptId::parse(id.as_str()).unwrap(), id);
    for bad in [
        "",
        "rcpt_",
        "rcpt_ABABABABABABABABABABABABABABABAB",
        "rcpt_abababababababababababababababa",
        "rcpt_abababababababababababababababab0",
        "receipt_abababababababababababababababab",
        "rcpt_ababababababababababababababab\u{e9}",
    ] {
        assert!(ReceiptId::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_violation_names_the_stage_and_the_requirement() {
    assert_eq!(
        violation("prod-eu", Stage::Production, Stage::Production),
        None
    );
    let v = violation("prod-eu", Stage::Production, Stage::Staging).unwrap();
    assert!(
        v.contains("staging") && v.contains("prod-eu") && v.contains("production"),
        "{v}"
    );
}

#[test]
fn spans_run_from_a_report_to_the_next_of_the_same_model() {
    let events = [
        event(1, "fraud", "1.0.0", Serving, 100),
        event(2, "churn", "3.0.0", Serving, 150),
        event(3, "fraud", "1.1.0", Serving, 200),
        event(4, "fraud", "1.1.0", Stopped, 300),
        event(5, "fraud", "1.0.0", Serving, 400),
    ];
    let spans = serving_spans(&events);
    let summary: Vec<_> = spans
        .iter()
        .map(|s| (s.model.as_str(), s.version.as_str(), s.from, s.until))
        .collect();
    assert_eq!(
        summary,
        [
            ("fraud", "1.0.0", 100, Some(200)),
            ("churn", "3.0.0", 150, None),
            ("fraud", "1.1.0", 200, Some(300)),
            ("fraud", "1.0.0", 400, None),
        ]
    );
    let at = |t| {
        serving_at(&spans, t)
            .into_iter()
            .map(|s| format!("{} {}", s.model, s.version))
            .collect::<Vec<_>>()
    };
    assert!(at(99).is_empty());
    assert_eq!(at(100), ["fraud 1.0.0"]);
    assert_eq!(at(199), ["churn 3.0.0", "fraud 1.0.0"]);
    assert_eq!(at(200), ["churn 3.0.0", "fraud 1.1.0"]);
    assert_eq!(at(299), ["churn 3.0.0", "fraud 1.1.0"]);
    assert_eq!(at(300), ["churn 3.0.0"]);
    assert_eq!(at(400), ["churn 3.0.0", "fraud 1.0.0"]);
    assert_eq!(at(i64::MAX), ["churn 3.0.0", "fraud 1.0.0"]);
}

#[test]
fn the_later_of_two_reports_at_one_instant_wins() {
    let events = [
        event(1, "fraud", "1.0.0", Serving, 100),
        event(2, "fraud", "1.1.0", Serving, 100),
    ];
    let spans = serving_spans(&events);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].version, "1.1.0");
    assert_eq!(spans[0].deployment_id, 2);
}

#[test]
fn a_stop_without_a_serving_report_opens_nothing() {
    let spans = serving_spans(&[event(1, "fraud", "1.0.0", Stopped, 100)]);
    assert!(spans.is_empty());
}

#[test]
fn spans_keep_the_violation_and_receipt_of_the_report_that_opened_them() {
    let mut e = event(7, "fraud", "1.0.0", Serving, 100);
    e.violation = Some("bad".into());
    e.receipt_id = Some("rcpt_x".into());
    let span = &serving_spans(&[e])[0];
    assert_eq!(span.violation.as_deref(), Some("bad"));
    assert_eq!(span.receipt_id.as_deref(), Some("rcpt_x"));
    assert_eq!(span.deployment_id, 7);
}

#[test]
fn overlap_is_half_open() {
    let span = ServingSpan {
        model: "m".into(),
        version: "1.0.0".into(),
        from: 100,
        until: Some(200),
        deployment_id: 1,
        violation: None,
        receipt_id: None,
    };
    assert!(span.overlaps(None, None));
    assert!(span.overlaps(Some(199), None));
    assert!(!span.overlaps(Some(200), None));
    assert!(span.overlaps(None, Some(101)));
    assert!(!span.overlaps(None, Some(100)));
    assert!(span.overlaps(Some(150), Some(160)));
}
