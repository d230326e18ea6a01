//! The binary's command line: `--help` on every command, completions, and
//! the client commands against a live server on both databases (the exit
//! codes scripts rely on).

mod common;

use std::process::Command;

use common::{Auth, TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::json;

const COMMANDS: [&str; 20] = [
    "serve",
    "backup",
    "restore",
    "approve",
    "reject",
    "tokens",
    "push",
    "pull",
    "promote",
    "wait",
    "verify-audit",
    "anchor-audit",
    "verify-receipt",
    "rotate-signing-key",
    "seed",
    "import-mlflow",
    "whoami",
    "resolve",
    "completions",
    "help",
];

fn cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_model-registry"));
    // No developer's own config file or token leaks into a test.
    cmd.args(args)
        .env("RUST_LOG", "error")
        .env("HOME", "/nonexistent")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("REGISTRY_CONFIG")
        .env_remove("REGISTRY_URL")
        .env_remove("REGISTRY_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn every_command_has_help_and_completions_are_generated() {
    let (code, out, _) = cli(&["--help"], &[]);
    assert_eq!(code, 0, "{out}");
    for command in COMMANDS {
        assert!(
            out.contains(command),
            "top-level help lists {command}: {out}"
        );
        if command == "help" {
            continue;
        }
        let (code, help, err) = cli(&[command, "--help"], &[]);
        assert_eq!(code, 0, "{command} --help: {err}");
        assert!(help.contains("Usage: model-registry"), "{command}: {help}");
    }
    assert!(out.contains("Exit codes"), "{out}");
    let (code, script, _) = cli(&["completions", "bash"], &[]);
    assert_eq!(code, 0);
    assert!(
        script.contains("complete -F _model__registry") && script.contains("resolve"),
        "{script}"
    );
    // A wrong command or flag: one clear message, exit 1.
    let (code, _, err) = cli(&["deploy-everything"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("unrecognized subcommand"), "{err}");
    let (code, _, err) = cli(&["seed", "0"], &[]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn logs_can_be_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let json_env = [
        ("REGISTRY_DATA_DIR", data),
        ("REGISTRY_ADMIN_PASSWORD", "admin-password-1"),
        ("REGISTRY_LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ];
    let (code, out, err) = cli(&["anchor-audit"], &json_env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("published audit-checkpoints/"), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "{err}");
    for line in lines {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            event["level"].is_string() && event["fields"].is_object(),
            "{line}"
        );
    }
    assert!(err.contains("audit checkpoint published"), "{err}");
    let (code, _, err) = cli(
        &["verify-audit"],
        &[("REGISTRY_DATA_DIR", data), ("REGISTRY_LOG_FORMAT", "xml")],
    );
    assert_eq!(code, 1);
    assert!(err.contains("REGISTRY_LOG_FORMAT"), "{err}");
}

on_both_databases! {
    client_commands_answer_scripts_with_documented_exit_codes => client_commands;
    push_registers_uploads_in_parallel_and_resumes => push;
    backup_then_restore_gives_the_same_catalog_and_an_intact_chain => backup_restore;
}

/// The environment a maintenance command reads for `db`'s registry.
fn registry_env(db: &TestDb) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db.url.clone()),
        (
            "REGISTRY_DATA_DIR",
            db.data_dir.path().display().to_string(),
        ),
        ("REGISTRY_ADMIN_PASSWORD", "admin-password-1".into()),
    ]
}

fn run_on(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let env = registry_env(db);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tokio::task::block_in_place(|| cli(args, &env))
}

async fn backup_restore(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    let work = tempfile::tempdir().unwrap();
    let model_dir = work.path().join("model");
    std::fs::create_dir_all(model_dir.join("nested")).unwrap();
    std::fs::write(model_dir.join("model.pkl"), vec![7u8; 300_000]).unwrap();
    std::fs::write(model_dir.join("nested/config.json"), r#"{"depth": 6}"#).unwrap();
    let client_env = [
        ("REGISTRY_URL", s.base.clone()),
        ("REGISTRY_TOKEN", admin.clone()),
    ];
    let client = |args: &[&str], env: &[(&str, String)]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tokio::task::block_in_place(|| cli(args, &env))
    };
    for version in ["1.0.0", "1.1.0"] {
        let args = [
            "push",
            model_dir.to_str().unwrap(),
            "--model",
            "fraud",
            "--version",
            version,
        ];
        let (code, _, err) = client(&args, &client_env);
        assert_eq!(code, 0, "{err}");
    }
    let (status, body) = s.post("/api/v1/audit/checkpoints", &admin, json!({})).await;
    assert!(status.is_success(), "{body}");

    // Backed up while the server runs.
    let dest = work.path().join("backup");
    let (code, out, err) = run_on(db, &["backup", dest.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2 versions") && out.contains("copied and checked"),
        "{out}"
    );
    for file in ["backup.json", "SHA256SUMS", "keys/active.key"] {
        assert!(dest.join(file).is_file(), "{file} in the backup");
    }
    let sums = std::fs::read_to_string(dest.join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (sum, path) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(dest.join(path)).unwrap();
        assert_eq!(sum, hex_sha256(&bytes), "{path}");
    }
    assert!(sums.contains("audit-checkpoints/"), "{sums}");
    // Never over an existing backup.
    let (code, _, err) = run_on(db, &["backup", dest.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("not empty"), "{err}");

    let fresh = TestDb::new(backend_of(db)).await;
    let (code, out, err) = run_on(&fresh, &["restore", dest.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("audit chain intact"), "{out}");
    // Never over an existing registry.
    let (code, _, err) = run_on(&fresh, &["restore", dest.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("already holds"), "{err}");

    let restored = TestServer::start(fresh.config()).await;
    let restored_admin = restored.admin_token().await;
    for path in [
        "/api/v1/models",
        "/api/v1/models/fraud",
        "/api/v1/models/fraud/versions",
        "/api/v1/models/fraud/versions/1.1.0",
    ] {
        let before = s.get_json(path, Auth::Bearer(&admin)).await;
        let after = restored.get_json(path, Auth::Bearer(&restored_admin)).await;
        assert_eq!(before.0, StatusCode::OK, "{path}");
        assert_eq!(before, after, "{path} is the same after restore");
    }
    let (_, verified) = restored
        .get_json("/api/v1/audit/verify", Auth::Bearer(&restored_admin))
        .await;
    assert_eq!(verified["intact"], true, "{verified}");
    let (_, events) = restored
        .get_json(
            "/api/v1/audit?action=registry.restore",
            Auth::Bearer(&restored_admin),
        )
        .await;
    let events = events["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 1, "the restore is on the record: {events:?}");
    let pulled = work.path().join("pulled");
    let restored_env = [
        ("REGISTRY_URL", restored.base.clone()),
        ("REGISTRY_TOKEN", restored_admin.clone()),
    ];
    let (code, _, err) = client(
        &["pull", "fraud==1.1.0", pulled.to_str().unwrap()],
        &restored_env,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(pulled.join("nested/config.json")).unwrap(),
        std::fs::read(model_dir.join("nested/config.json")).unwrap()
    );
    restored.stop().await;
    fresh.drop_db().await;

    // A backup whose copy of an object was changed: named, exit 3, and the
    // bad object never enters the store.
    let object = sums
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, p)| p.to_owned()))
        .find(|p| !p.contains("audit-checkpoints"))
        .unwrap();
    let mut bytes = std::fs::read(dest.join(&object)).unwrap();
    bytes[0] ^= 1;
    std::fs::write(dest.join(&object), bytes).unwrap();
    let damaged = TestDb::new(backend_of(db)).await;
    let (code, _, err) = run_on(&damaged, &["restore", dest.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("SHA-256") && err.lines().count() == 1, "{err}");
    let key = object.trim_start_matches("objects/");
    assert!(!damaged.data_dir.path().join("artifacts").join(key).exists());
    damaged.drop_db().await;
    s.stop().await;
}

fn backend_of(db: &TestDb) -> common::Backend {
    if db.url.starts_with("sqlite") {
        common::Backend::Sqlite
    } else {
        common::Backend::Postgres
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn client_commands(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    let (status, body) = s
        .post("/api/v1/models", &admin, json!({"name": "fraud"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for v in ["2.0.0", "2.1.0", "3.0.0"] {
        let (status, body) = s
            .post(
                "/api/v1/models/fraud/versions",
                &admin,
                json!({"version": v}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = s
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/models/fraud/aliases/candidate",
            common::Auth::Bearer(&admin),
            json!({"version": "2.1.0"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let url = s.base.clone();
    // The server runs on the runtime's other worker while this one waits.
    let with = |args: &[&str], env: &[(&str, &str)]| tokio::task::block_in_place(|| cli(args, env));
    let env = [
        ("REGISTRY_URL", url.as_str()),
        ("REGISTRY_TOKEN", admin.as_str()),
    ];
    let run = |args: &[&str]| with(args, &env);

    let (code, out, err) = run(&["whoami"]);
    assert_eq!((code, out.trim()), (0, "admin (admin)"), "{err}");
    // Or from the config file; the environment and flags win over it.
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("registry.toml");
    std::fs::write(&file, format!("url = \"{url}\"\ntoken = \"{admin}\"\n")).unwrap();
    let file_env = |mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        [("REGISTRY_CONFIG", file.to_str().unwrap().to_owned())]
    };
    let env = file_env(0o600);
    let file_only = [(env[0].0, env[0].1.as_str())];
    let (code, out, err) = with(&["whoami"], &file_only);
    assert_eq!((code, out.trim()), (0, "admin (admin)"), "{err}");
    let (code, _, err) = with(&["whoami", "--token", "mr_wrong"], &file_only);
    assert_eq!(code, 5, "a flag wins over the file: {err}");
    let env = file_env(0o644);
    let (code, _, err) = with(&["whoami"], &[(env[0].0, env[0].1.as_str())]);
    assert_eq!(code, 1);
    assert!(
        err.contains("chmod 600"),
        "a token others can read is refused: {err}"
    );
    std::fs::write(&file, "url = \"http://x\"\ntokn = \"t\"\n").unwrap();
    let (code, _, err) = with(&["whoami"], &[(env[0].0, env[0].1.as_str())]);
    assert_eq!(code, 1);
    assert!(err.contains("tokn") && err.lines().count() == 1, "{err}");
    let (code, out, _) = run(&["resolve", "fraud@candidate"]);
    assert_eq!((code, out.trim()), (0, "2.1.0"));
    let (code, out, err) = run(&["resolve", "fraud:latest", "--matches", "^2"]);
    assert_eq!((code, out.trim()), (0, "2.1.0"), "{err}");
    let (code, out, err) = run(&["resolve", "fraud:experimental", "--matches", "<2.1"]);
    assert_eq!((code, out.trim()), (0, "2.0.0"), "{err}");
    let (code, out, _) = run(&["resolve", "fraud==3.0.0", "--output", "json"]);
    assert_eq!(code, 0);
    let parsed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(parsed["version"], "3.0.0");

    // Nothing in Production: "no such", exit 4. Bad references: exit 1,
    // naming the part. No token, or a bad one: exit 5. A server that is
    // down: exit 1, naming where.
    let (code, _, err) = run(&["resolve", "fraud:production"]);
    assert_eq!(code, 4, "{err}");
    let (code, _, err) = run(&["resolve", "nope@champion"]);
    assert_eq!(code, 4, "{err}");
    for (reference, part) in [
        ("fraud", "reference"),
        ("fraud:prod", "stage"),
        ("fraud==x", "version"),
    ] {
        let (code, _, err) = run(&["resolve", reference]);
        assert_eq!(code, 1, "{reference}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(part) && err.lines().count() == 1,
            "{err}"
        );
    }
    let (code, _, err) = run(&["resolve", "fraud@champion", "--matches", "^2"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = with(&["whoami"], &[("REGISTRY_URL", url.as_str())]);
    assert_eq!(code, 5, "{err}");
    let (code, _, err) = with(
        &["whoami"],
        &[
            ("REGISTRY_URL", url.as_str()),
            ("REGISTRY_TOKEN", "mr_nope"),
        ],
    );
    assert_eq!(code, 5, "{err}");
    let (code, _, err) = with(
        &["whoami"],
        &[
            ("REGISTRY_URL", "http://127.0.0.1:9"),
            ("REGISTRY_TOKEN", "x"),
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("127.0.0.1:9"), "{err}");

    // pull: every file, nested, each checksum verified.
    for (path, bytes) in [
        ("model/weights.bin", vec![1u8; 70_000]),
        ("config/a/b.json", b"{}".to_vec()),
    ] {
        let res = s
            .client
            .put(s.url(&format!(
                "/api/v1/models/fraud/versions/3.0.0/artifacts/{path}"
            )))
            .bearer_auth(&admin)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let into = tempfile::tempdir().unwrap();
    let dir = into.path().join("pulled");
    let dir = dir.to_str().unwrap();
    let (code, out, err) = run(&["pull", "fraud==3.0.0", dir]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 files verified"), "{out}");
    assert_eq!(
        std::fs::read(format!("{dir}/model/weights.bin")).unwrap(),
        vec![1u8; 70_000]
    );
    assert_eq!(
        std::fs::read(format!("{dir}/config/a/b.json")).unwrap(),
        b"{}"
    );
    // A stored file corrupted behind the registry's back: refused, nothing kept.
    let mut stored = Vec::new();
    let mut stack = vec![db.data_dir.path().join("artifacts").join("v")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                stored.push(p)
            }
        }
    }
    for p in &stored {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.write_all(b"X").unwrap();
    }
    let again = into.path().join("again");
    let again = again.to_str().unwrap();
    let (code, _, err) = run(&["pull", "fraud==3.0.0", again]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("checksum mismatch"), "{err}");
    let kept: Vec<_> = walk(std::path::Path::new(again));
    assert!(kept.is_empty(), "nothing unverified is kept: {kept:?}");

    // promote, then wait: each outcome has its exit code.
    s.create_user("alice", "approver-pass-1", "approver").await;
    let alice = s.token_for("alice", "approver-pass-1").await;
    let (code, out, err) = run(&[
        "promote",
        "fraud",
        "2.0.0",
        "--to",
        "staging",
        "--justification",
        "ship it",
        "--output",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let request: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(request["state"], "pending");
    let id = request["id"].to_string();
    let (code, _, err) = run(&["wait", "fraud", &id, "--timeout", "1s", "--every", "100ms"]);
    assert_eq!(code, 8, "{err}");
    let as_alice = [
        ("REGISTRY_URL", url.as_str()),
        ("REGISTRY_TOKEN", alice.as_str()),
    ];
    let (code, out, err) = with(&["approve", "fraud", &id, "--comment", "fine"], &as_alice);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("approved (1 of 1 sign-offs)"), "{out}");
    let (code, out, err) = run(&["wait", "fraud", &id, "--timeout", "10s", "--every", "100ms"]);
    assert_eq!(
        (code, out.trim()),
        (0, format!("request {id}: approved").as_str()),
        "{err}"
    );
    let (code, out, _) = run(&[
        "promote",
        "fraud",
        "2.1.0",
        "--to",
        "staging",
        "--justification",
        "and this",
        "--output",
        "json",
    ]);
    assert_eq!(code, 0);
    let id = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["id"].to_string();
    let (code, _, err) = with(&["reject", "fraud", &id, "--comment", " "], &as_alice);
    assert_eq!(code, 1, "a refusal says why: {err}");
    let (code, out, err) = with(&["reject", "fraud", &id, "--comment", "not yet"], &as_alice);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rejected"), "{out}");
    let (code, _, err) = run(&["wait", "fraud", &id, "--every", "100ms"]);
    assert_eq!(code, 6, "{err}");
    // Expired unanswered: 7; cancelled: 6.
    let open = |why: &str| {
        let (code, out, err) = run(&[
            "promote",
            "fraud",
            "2.1.0",
            "--to",
            "staging",
            "--justification",
            why,
            "--output",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["id"].to_string()
    };
    let id = open("will lapse");
    s.exec(&format!(
        "UPDATE transition_requests SET expires_at = 1 WHERE id = {id}"
    ))
    .await;
    let (code, out, err) = run(&["wait", "fraud", &id, "--every", "100ms"]);
    assert_eq!(code, 7, "{out}{err}");
    let id = open("will be withdrawn");
    let (status, body) = s
        .post(
            &format!("/api/v1/models/fraud/requests/{id}/cancel"),
            &admin,
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (code, _, err) = run(&["wait", "fraud", &id, "--every", "100ms"]);
    assert_eq!(code, 6, "{err}");
    let (code, _, err) = run(&[
        "promote",
        "fraud",
        "2.1.0",
        "--to",
        "live",
        "--justification",
        "x",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--to"), "{err}");
    let (code, _, _) = run(&["wait", "fraud", "999", "--timeout", "1s"]);
    assert_eq!(code, 4);

    // tokens: minted with the password (never with a token), listed, revoked.
    let mint = [
        ("REGISTRY_URL", url.as_str()),
        ("REGISTRY_PASSWORD", common::ADMIN_PASSWORD),
    ];
    let (code, secret, err) = with(
        &[
            "tokens", "create", "--name", "ci", "--scope", "deploy", "--user", "admin",
        ],
        &mint,
    );
    assert_eq!(code, 0, "{err}");
    let secret = secret.trim().to_owned();
    let as_ci = [
        ("REGISTRY_URL", url.as_str()),
        ("REGISTRY_TOKEN", secret.as_str()),
    ];
    assert_eq!(with(&["whoami"], &as_ci).0, 0);
    let (code, out, _) = run(&["tokens", "list", "--output", "json"]);
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let ci = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap();
    assert_eq!(ci["scope"], "deploy");
    let (code, _, err) = with(
        &["tokens", "create", "--name", "x", "--user", "admin"],
        &[
            ("REGISTRY_URL", url.as_str()),
            ("REGISTRY_PASSWORD", "wrong-password"),
        ],
    );
    assert_eq!(code, 5, "{err}");
    let (code, out, err) = run(&["tokens", "revoke", &ci["id"].to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked"), "{out}");
    assert_eq!(with(&["whoami"], &as_ci).0, 5);
    assert_eq!(run(&["tokens", "revoke", "99999"]).0, 4);
    s.stop().await;
}

async fn push(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let admin = s.admin_token().await;
    let url = s.base.clone();
    let with = |args: &[&str]| {
        tokio::task::block_in_place(|| {
            cli(
                args,
                &[
                    ("REGISTRY_URL", url.as_str()),
                    ("REGISTRY_TOKEN", admin.as_str()),
                ],
            )
        })
    };
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("model");
    std::fs::create_dir_all(dir.join("sub/dir")).unwrap();
    std::fs::write(dir.join("a.txt"), "hello").unwrap();
    std::fs::write(dir.join("sub/config.json"), "{}").unwrap();
    // 300 MB, written and hashed in pieces; uploaded last (files go in path order).
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(dir.join("sub/dir/weights.bin")).unwrap();
        let chunk: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        for _ in 0..300 {
            f.write_all(&chunk).unwrap();
            hasher.update(&chunk);
        }
    }
    let big_sha = hex::encode(hasher.finalize());
    let metrics = work.path().join("metrics.json");
    std::fs::write(&metrics, r#"{"auc": 0.93}"#).unwrap();
    let params = work.path().join("params.json");
    std::fs::write(&params, r#"{"lr": "0.01"}"#).unwrap();
    let d = dir.to_str().unwrap();
    let (m, p) = (metrics.to_str().unwrap(), params.to_str().unwrap());

    // A push killed while the big file is on its way: the version stays
    // `registering` (not promotable) with the files that made it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_model-registry"))
        .args(["push", d, "--model", "churn", "--version", "1.0.0"])
        .args(["--metrics", m, "--params", p, "--parallel", "1"])
        .env("REGISTRY_URL", &url)
        .env("REGISTRY_TOKEN", &admin)
        .env("HOME", "/nonexistent")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let files_of = |v: &'static str| {
        format!(
            "SELECT COUNT(*) FROM artifacts a JOIN model_versions v ON v.id = a.version_id \
             WHERE v.version = '{v}' AND a.sha256 IS NOT NULL"
        )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while s.count(&files_of("1.0.0")).await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the small files never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        s.count(&files_of("1.0.0")).await,
        2,
        "killed before the big file landed"
    );
    let (_, v) = s
        .get_json("/api/v1/models/churn/versions/1.0.0", Auth::Bearer(&admin))
        .await;
    assert_eq!(v["status"], "registering", "{v}");
    let (status, _) = s
        .post(
            "/api/v1/models/churn/versions/1.0.0/requests",
            &admin,
            json!({"to": "staging", "justification": "half pushed"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Rerun: what is there is skipped, the rest goes up, the version is ready.
    let (code, out, err) = with(&["push", d, "--model", "churn", "--version", "1.0.0"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("churn 1.0.0: 1 uploaded, 2 already there; content sha256:"),
        "{out}"
    );
    let (status, v) = s
        .get_json("/api/v1/models/churn/versions/1.0.0", Auth::Bearer(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["metrics"]["auc"], 0.93);
    assert_eq!(v["params"]["lr"], "0.01");
    let (_, files) = s
        .get_json(
            "/api/v1/models/churn/versions/1.0.0/artifacts",
            Auth::Bearer(&admin),
        )
        .await;
    let paths: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["a.txt", "sub/config.json", "sub/dir/weights.bin"]);
    let weights = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "sub/dir/weights.bin")
        .unwrap();
    assert_eq!(weights["sha256"], big_sha);

    // Resume (a push cut off before its last file): what is there with the
    // same checksum is skipped, the rest goes up.
    std::fs::write(dir.join("sub/late.txt"), "sent on the second run").unwrap();
    let (code, out, err) = with(&["push", d, "--model", "churn", "--version", "1.0.0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 uploaded, 3 already there"), "{out}");

    // A bump registers the next version.
    let (code, out, err) = with(&["push", d, "--model", "churn", "--bump", "minor"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("churn 1.1.0: 4 uploaded"), "{out}");

    // Bad input: one line, exit 1, nothing registered.
    let empty = work.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let odd = work.path().join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    std::fs::write(odd.join("back\\slash.txt"), "x").unwrap();
    let not_json = work.path().join("bad.json");
    std::fs::write(&not_json, "auc=1").unwrap();
    for (args, says) in [
        (vec!["push", d, "--model", "churn"], "--version X or --bump"),
        (
            vec![
                "push",
                d,
                "--model",
                "churn",
                "--version",
                "2.0.0",
                "--bump",
                "minor",
            ],
            "cannot be used with",
        ),
        (
            vec!["push", d, "--model", "churn", "--version", "two"],
            "--version",
        ),
        (
            vec!["push", d, "--model", "Churn Model", "--version", "2.0.0"],
            "--model",
        ),
        (
            vec![
                "push",
                empty.to_str().unwrap(),
                "--model",
                "churn",
                "--version",
                "2.0.0",
            ],
            "holds no files",
        ),
        (
            vec![
                "push",
                d,
                "--model",
                "churn",
                "--version",
                "2.0.0",
                "--metrics",
                not_json.to_str().unwrap(),
            ],
            "not JSON",
        ),
        (
            vec![
                "push",
                "/nonexistent/dir",
                "--model",
                "churn",
                "--version",
                "2.0.0",
            ],
            "cannot read",
        ),
        (
            vec![
                "push",
                odd.to_str().unwrap(),
                "--model",
                "churn",
                "--version",
                "2.0.0",
            ],
            "back\\slash.txt",
        ),
    ] {
        let (code, _, err) = with(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (status, _) = s
        .get_json("/api/v1/models/churn/versions/2.0.0", Auth::Bearer(&admin))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.stop().await;
}
