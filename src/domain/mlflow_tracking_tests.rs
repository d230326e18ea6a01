use super::*;

const RUN: &str = "0123456789abcdef0123456789abcdef";
const MODEL: &str = "m-fedcba9876543210fedcba9876543210";

#[test]
fn ids_parse_in_mlflow_shapes_only() {
    assert_eq!(RunId::parse(RUN).unwrap().as_str(), RUN);
    assert_eq!(RunId::parse(&RUN.to_uppercase()).unwrap().as_str(), RUN);
    for bad in [
        "",
        "xyz",
        &RUN[1..],
        &format!("{RUN}0"),
        "../../etc/passwd",
        "0123456789abcdef0123456789abcdeg",
    ] {
        assert!(RunId::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(LoggedModelId::parse(MODEL).unwrap().as_str(), MODEL);
    for bad in [RUN, "m-", "m-xyz", &MODEL.replace("m-", "n-")] {
        assert!(LoggedModelId::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(RunId::new().as_str().len(), 32);
    assert!(LoggedModelId::parse(LoggedModelId::new().as_str()).is_ok());
}

#[test]
fn statuses_round_trip_and_unknown_ones_are_errors() {
    for s in RunStatus::ALL {
        assert_eq!(RunStatus::parse(s.as_str()).unwrap(), *s);
    }
    for s in LoggedModelStatus::ALL {
        assert_eq!(LoggedModelStatus::parse(s.as_str()).unwrap(), *s);
    }
    assert!(RunStatus::parse("running").is_err());
    assert!(LoggedModelStatus::parse("READY").is_err());
}

#[test]
fn tracking_paths_name_an_owner_and_a_file() {
    let a = TrackingAddress::parse(&format!("0/{RUN}/artifacts/model/MLmodel")).unwrap();
    assert_eq!(a.experiment, 0);
    assert_eq!(a.owner, FileOwner::Run(RunId::parse(RUN).unwrap()));
    assert_eq!(a.inner.unwrap().as_str(), "model/MLmodel");
    let b = TrackingAddress::parse(&format!("/3/models/{MODEL}/artifacts/")).unwrap();
    assert_eq!(
        b.owner,
        FileOwner::LoggedModel(LoggedModelId::parse(MODEL).unwrap())
    );
    assert!(b.inner.is_none());
    assert_eq!(
        TrackingAddress::root_uri(3, &b.owner),
        format!("mlflow-artifacts:/3/models/{MODEL}/artifacts")
    );
    for bad in [
        String::new(),
        "0".into(),
        format!("x/{RUN}/artifacts"),
        format!("-1/{RUN}/artifacts"),
        format!("0/{RUN}"),
        format!("0/{RUN}/other/x"),
        format!("0/{RUN}/artifacts/../../x"),
        format!("0/{RUN}/artifacts/a//b"),
        format!("0/models/{RUN}/artifacts"),
        "0/notarun/artifacts".into(),
    ] {
        assert!(TrackingAddress::parse(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn sources_that_name_logged_files() {
    let model = LoggedModelId::parse(MODEL).unwrap();
    let run = RunId::parse(RUN).unwrap();
    assert_eq!(
        LoggedSource::parse(&format!("models:/{MODEL}")),
        Some(Ok(LoggedSource::LoggedModel(model.clone())))
    );
    assert_eq!(
        LoggedSource::parse(&format!("runs:/{RUN}/model")),
        Some(Ok(LoggedSource::RunFiles {
            run: run.clone(),
            dir: Some(ArtifactPath::parse("model").unwrap())
        }))
    );
    assert_eq!(
        LoggedSource::parse(&format!("mlflow-artifacts:/0/{RUN}/artifacts")),
        Some(Ok(LoggedSource::RunFiles { run, dir: None }))
    );
    assert_eq!(
        LoggedSource::parse(&format!("mlflow-artifacts:/0/models/{MODEL}/artifacts")),
        Some(Ok(LoggedSource::LoggedModel(model)))
    );
    for elsewhere in [
        "s3://b/k",
        "models:/fraud/1",
        "models:/fraud@champion",
        "mlflow-artifacts:/models/fraud/1.0.0",
    ] {
        assert_eq!(LoggedSource::parse(elsewhere), None, "{elsewhere}");
    }
    for bad in [
        "runs:/nope/model",
        "runs:/{RUN}/../x",
        "models:/m-zz",
        "mlflow-artifacts:/0/x/artifacts",
    ] {
        assert!(
            matches!(
                LoggedSource::parse(&bad.replace("{RUN}", RUN)),
                Some(Err(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn files_under_a_directory_are_relative_to_it() {
    let dir = ArtifactPath::parse("model").unwrap();
    let paths = ["model/MLmodel", "model/sub/x.pkl", "modelx/y", "other"];
    assert_eq!(
        files_under(paths, Some(&dir)),
        vec![
            ("model/MLmodel", "MLmodel".to_owned()),
            ("model/sub/x.pkl", "sub/x.pkl".to_owned())
        ]
    );
    assert_eq!(files_under(paths, None).len(), 4);
}

#[test]
fn batches_keep_mlflow_limits() {
    let ok = Batch {
        params: vec![Entry::param("lr", "0.1").unwrap()],
        metrics: vec![Point::parse("loss", 0.5, 1, 0).unwrap()],
        tags: vec![Entry::tag("team", "fraud").unwrap()],
    };
    assert!(ok.clone().check().is_ok());
    let twice = Batch {
        params: vec![
            Entry::param("lr", "1").unwrap(),
            Entry::param("lr", "2").unwrap(),
        ],
        ..Batch::default()
    };
    assert_eq!(twice.check().unwrap_err().field, "params");
    let many = Batch {
        metrics: (0..=MAX_BATCH_METRICS)
            .map(|i| Point::parse("m", 1.0, 0, i as i64).unwrap())
            .collect(),
        ..Batch::default()
    };
    assert_eq!(many.check().unwrap_err().field, "metrics");
    assert!(Point::parse("loss", f64::NAN, 0, 0).is_err());
    assert!(Point::parse("bad key!", 1.0, 0, 0).is_err());
    assert!(Entry::param("k", &"x".repeat(6001)).is_err());
    assert!(Entry::tag("k", &"x".repeat(8000)).is_ok());
    assert!(Entry::tag("k", "a\u{0}b").is_err());
}

#[test]
fn a_run_becomes_lineage_params_metrics_and_series() {
    let run = RunId::parse(RUN).unwrap();
    let record = RunRecord {
        params: [("lr".to_owned(), "0.1".to_owned())].into(),
        tags: [
            (GIT_COMMIT_TAG.to_owned(), "ABCDEF1234567".to_owned()),
            (
                GIT_REPO_TAG.to_owned(),
                "https://git.example/fraud".to_owned(),
            ),
            (SOURCE_NAME_TAG.to_owned(), "train.py".to_owned()),
            (USER_TAG.to_owned(), "ana".to_owned()),
            ("team".to_owned(), "fraud".to_owned()),
        ]
        .into(),
        points: vec![
            Point::parse("loss", 0.9, 10, 0).unwrap(),
            Point::parse("loss", 0.5, 20, 1).unwrap(),
            Point::parse("loss", 0.4, 30, 1).unwrap(),
            Point::parse("auc", 0.8, 5, 0).unwrap(),
        ],
    };
    let p = record.provenance(&run);
    assert_eq!(p.lineage.commit_sha.as_deref(), Some("ABCDEF1234567"));
    assert_eq!(
        p.lineage.source_repo.as_deref(),
        Some("https://git.example/fraud")
    );
    assert_eq!(p.lineage.training_script.as_deref(), Some("train.py"));
    assert_eq!(p.params["lr"], serde_json::json!("0.1"));
    assert_eq!(p.metrics["loss"], 0.4);
    assert_eq!(p.metrics["auc"], 0.8);
    let loss: Vec<(i64, f64)> = p.series["loss"].iter().map(|x| (x.step, x.value)).collect();
    assert_eq!(loss, vec![(0, 0.9), (1, 0.4)]);
    assert!(
        !p.series.contains_key("auc"),
        "one step is a value, not a series"
    );
    assert_eq!(p.tags["mlflow.run_id"], RUN);
    assert_eq!(p.tags[USER_TAG], "ana");
    assert!(!p.tags.contains_key("team"));
    let odd = RunRecord {
        tags: [(GIT_COMMIT_TAG.to_owned(), "not a commit".to_owned())].into(),
        ..RunRecord::default()
    };
    assert_eq!(odd.provenance(&run).lineage.commit_sha, None);
}

#[test]
fn a_long_run_keeps_every_nth_step_within_the_catalog_limit() {
    let run = RunId::parse(RUN).unwrap();
    let n = catalog::MAX_METRIC_POINTS as i64 + 10_000;
    let record = RunRecord {
        points: (0..n)
            .map(|step| Point::parse("loss", 1.0 / (step + 1) as f64, step, step).unwrap())
            .collect(),
        ..RunRecord::default()
    };
    let p = record.provenance(&run);
    let loss = &p.series["loss"];
    assert!(loss.len() <= catalog::MAX_METRIC_POINTS, "{}", loss.len());
    assert_eq!(loss.first().unwrap().step, 0);
    assert_eq!(loss.last().unwrap().step, n - 1, "the last step is kept");
    assert_eq!(p.tags[SERIES_EVERY_TAG], "2");
    assert_eq!(
        p.metrics["loss"],
        1.0 / n as f64,
        "the final value is exact"
    );
    // Within the limit nothing is left out and no tag is set.
    let short = RunRecord {
        points: (0..10)
            .map(|s| Point::parse("loss", 1.0, s, s).unwrap())
            .collect(),
        ..RunRecord::default()
    };
    let p = short.provenance(&run);
    assert_eq!(p.series["loss"].len(), 10);
    assert!(!p.tags.contains_key(SERIES_EVERY_TAG));
}
