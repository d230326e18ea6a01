//! Artifact storage end to end over HTTP: the local backend on SQLite and
//! Postgres, and the S3 backend against a real S3-compatible server
//! (`.ci/test` starts one and sets `AWS_ENDPOINT_URL`).

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{bucket_name, s3_server, Auth, Backend, TestDb, TestServer};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

on_both_databases! {
    local_round_trip_with_ranges_and_checksums => local_round_trip;
    bad_uploads_leave_nothing_behind_locally => local_failures;
    paths_are_validated_and_never_overwritten => paths;
    viewers_download_but_cannot_upload => permissions;
    external_links_and_deletion => links;
}

/// Deterministic pseudo-random bytes (incompressible, unlike zeros).
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn setup(s: &TestServer) -> String {
    let token = s.admin_token().await;
    let (status, body) = s
        .post("/api/v1/models", &token, json!({"name": "llm"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s
        .post(
            "/api/v1/models/llm/versions",
            &token,
            json!({"version": "1.0.0"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    token
}

const BASE: &str = "/api/v1/models/llm/versions/1.0.0/artifacts";

async fn put(
    s: &TestServer,
    token: &str,
    path: &str,
    body: Vec<u8>,
    checksum: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = s
        .client
        .put(s.url(&format!("{BASE}/{path}")))
        .bearer_auth(token)
        .body(body);
    if let Some(c) = checksum {
        req = req.header("X-Checksum-Sha256", c);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Files under the artifact root, not counting the empty uploads folder.
fn stored_files(db: &TestDb) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out)
                } else {
                    out.push(p)
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&db.data_dir.path().join("artifacts"), &mut out);
    out
}

async fn round_trip(s: &TestServer, token: &str, size: usize) {
    let data = payload(size, 7);
    let digest = sha(&data);
    let (status, view) = put(
        s,
        token,
        "weights/model.safetensors",
        data.clone(),
        Some(&digest),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(view["sha256"], digest);
    assert_eq!(view["size"], size);
    let (_, list) = s.get_json(BASE, Auth::Bearer(token)).await;
    assert_eq!(list[0]["path"], "weights/model.safetensors");
    assert_eq!(list[0]["sha256"], digest);

    let res = s
        .client
        .get(s.url(&format!("{BASE}/weights/model.safetensors")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-checksum-sha256"], digest.as_str());
    assert_eq!(
        res.headers()[header::CONTENT_LENGTH],
        size.to_string().as_str()
    );
    let got = res.bytes().await.unwrap();
    assert_eq!(sha(&got), digest);

    for (range, start, end) in [
        ("bytes=0-99", 0, 99),
        ("bytes=5000000-5000009", 5_000_000, 5_000_009),
        ("bytes=-10", size - 10, size - 1),
    ] {
        let res = s
            .client
            .get(s.url(&format!("{BASE}/weights/model.safetensors")))
            .bearer_auth(token)
            .header(header::RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            res.headers()[header::CONTENT_RANGE],
            format!("bytes {start}-{end}/{size}").as_str()
        );
        assert_eq!(
            res.bytes().await.unwrap().as_ref(),
            &data[start..=end],
            "{range}"
        );
    }
    let res = s
        .client
        .get(s.url(&format!("{BASE}/weights/model.safetensors")))
        .bearer_auth(token)
        .header(header::RANGE, format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

async fn local_round_trip(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let token = setup(&s).await;
    // Larger than several S3 parts (8 MiB), to use the same size on both backends.
    round_trip(&s, &token, 20 * 1024 * 1024 + 123).await;
    assert_eq!(stored_files(db).len(), 1);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_events WHERE action = 'artifact.upload'")
            .await,
        1
    );
    s.stop().await;
}

/// A body that sends `ok_bytes` and then fails, like a client that disconnects.
fn broken_body(ok_bytes: usize) -> reqwest::Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from(payload(ok_bytes, 3))),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ];
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

async fn local_failures(db: &TestDb) {
    let mut config = db.config();
    config.max_artifact_bytes = 3 * 1024 * 1024;
    let s = TestServer::start(config).await;
    let token = setup(&s).await;
    let data = payload(1024 * 1024, 9);
    // Wrong checksum: refused, nothing recorded or stored.
    let (status, err) = put(&s, &token, "a.bin", data.clone(), Some(&"0".repeat(64))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["field"], "X-Checksum-Sha256");
    // Malformed checksum header.
    let (status, _) = put(&s, &token, "a.bin", data.clone(), Some("xyz")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Too large, by declared length and by streaming.
    let (status, _) = put(&s, &token, "big.bin", payload(4 * 1024 * 1024, 1), None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..5)
        .map(|i| Ok(Bytes::from(payload(1024 * 1024, i))))
        .collect();
    let res = s
        .client
        .put(s.url(&format!("{BASE}/streamed.bin")))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A client that disconnects mid-upload.
    let _ = s
        .client
        .put(s.url(&format!("{BASE}/interrupted.bin")))
        .bearer_auth(&token)
        .body(broken_body(512 * 1024))
        .send()
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.count("SELECT COUNT(*) FROM artifacts").await, 0);
    assert!(stored_files(db).is_empty(), "{:?}", stored_files(db));
    // Afterwards the same paths upload fine.
    let (status, _) = put(&s, &token, "a.bin", data.clone(), Some(&sha(&data))).await;
    assert_eq!(status, StatusCode::CREATED);
    s.stop().await;
}

async fn paths(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let token = setup(&s).await;
    // (Plain "./" and "../" segments are normalised away by the HTTP client itself; the
    // encoded forms reach the server. ArtifactPath's unit tests cover every form.)
    for bad in [
        "..%2Fescape",
        "a/..%2F..%2Fb",
        "%2Fetc%2Fpasswd",
        "a%00b",
        "a%5Cb",
        "a//b",
        "a/",
        "%2E%2E",
        "x%2F%2Fy",
        "a%0Ab",
    ] {
        let (status, body) = put(&s, &token, bad, b"x".to_vec(), None).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{bad}: {status} {body}"
        );
    }
    let (status, _) = put(&s, &token, "config/params.yaml", b"lr: 0.1".to_vec(), None).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = put(&s, &token, "config/params.yaml", b"lr: 0.2".to_vec(), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(s.count("SELECT COUNT(*) FROM artifacts").await, 1);
    assert_eq!(stored_files(db).len(), 1);
    // Unknown model or version: 404 before any byte is stored.
    let res = s
        .client
        .put(s.url("/api/v1/models/llm/versions/9.9.9/artifacts/x.bin"))
        .bearer_auth(&token)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Pickles are flagged.
    let (_, view) = put(&s, &token, "model.pkl", vec![0x80, 0x04, 0x95, 0x00], None).await;
    assert_eq!(
        (view["format"].as_str(), view["unsafe_to_load"].as_bool()),
        (Some("pickle"), Some(true))
    );
    s.stop().await;
}

async fn permissions(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let token = setup(&s).await;
    put(&s, &token, "model.onnx", b"onnx bytes".to_vec(), None).await;
    s.create_user("val", "viewer-password-1", "viewer").await;
    let viewer = s.token_for("val", "viewer-password-1").await;
    let (status, _) = put(&s, &viewer, "sneaky.bin", b"x".to_vec(), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let res = s
        .client
        .get(s.url(&format!("{BASE}/model.onnx")))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"onnx bytes");
    let res = s
        .client
        .delete(s.url(&format!("{BASE}/model.onnx")))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s
        .client
        .get(s.url(&format!("{BASE}/model.onnx")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.count("SELECT COUNT(*) FROM artifacts").await, 1);
    s.stop().await;
}

async fn links(db: &TestDb) {
    let s = TestServer::start(db.config()).await;
    let token = setup(&s).await;
    let digest = "ab".repeat(32);
    let (status, view) = s.post(BASE, &token, json!({"path": "weights.bin", "uri": "https://files.example/w.bin", "sha256": digest, "size": 42})).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(view["external_uri"], "https://files.example/w.bin");
    let res = s
        .client
        .get(s.url(&format!("{BASE}/weights.bin")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        res.headers()[header::LOCATION],
        "https://files.example/w.bin"
    );
    for (body, field) in [
        (json!({"path": "x", "uri": "file:///etc/passwd"}), "uri"),
        (json!({"path": "x", "uri": "javascript:alert(1)"}), "uri"),
        (json!({"path": "../x", "uri": "s3://b/k"}), "path"),
        (
            json!({"path": "x", "uri": "s3://b/k", "sha256": "nope"}),
            "sha256",
        ),
    ] {
        let (status, err) = s.post(BASE, &token, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["error"]["field"], field);
    }
    // Deletion (admin): the record goes, the bytes go, the path stays taken.
    put(&s, &token, "old.bin", b"old".to_vec(), None).await;
    assert_eq!(stored_files(db).len(), 1);
    let res = s
        .client
        .delete(s.url(&format!("{BASE}/old.bin")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(stored_files(db).is_empty());
    assert_eq!(
        s.get_json(&format!("{BASE}/old.bin"), Auth::Bearer(&token))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = put(&s, &token, "old.bin", b"new".to_vec(), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    s.stop().await;
}

// ---------------------------------------------------------------- S3

fn s3_configured() -> bool {
    if std::env::var("AWS_ENDPOINT_URL").is_ok() {
        return true;
    }
    eprintln!("skipping: set AWS_ENDPOINT_URL (and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) to an S3-compatible server; .ci/test does");
    false
}

async fn objects(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_round_trip_of_a_multipart_file() {
    if !s3_configured() {
        return;
    }
    let db = TestDb::new(Backend::Sqlite).await;
    let bucket = bucket_name("rt");
    let (s, client) = s3_server(&db, &bucket).await;
    let token = setup(&s).await;
    round_trip(&s, &token, 20 * 1024 * 1024 + 123).await;
    let keys = objects(&client, &bucket).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("registry/v/"));
    // Presigned redirect works for S3.
    let res = s
        .client
        .get(s.url(&format!("{BASE}/weights/model.safetensors?presigned=true")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    let url = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let direct = reqwest::get(&url).await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
    assert_eq!(direct.bytes().await.unwrap().len(), 20 * 1024 * 1024 + 123);
    s.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_failed_uploads_leave_no_object() {
    if !s3_configured() {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let bucket = bucket_name("fail");
    let (s, client) = s3_server(&db, &bucket).await;
    let token = setup(&s).await;
    let data = payload(18 * 1024 * 1024, 5);
    let (status, _) = put(&s, &token, "w.bin", data.clone(), Some(&"1".repeat(64))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Interrupted after more than one part was sent.
    let _ = s
        .client
        .put(s.url(&format!("{BASE}/cut.bin")))
        .bearer_auth(&token)
        .body(broken_body(17 * 1024 * 1024))
        .send()
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(objects(&client, &bucket).await.is_empty());
    assert_eq!(s.count("SELECT COUNT(*) FROM artifacts").await, 0);
    let (status, _) = put(&s, &token, "w.bin", data.clone(), Some(&sha(&data))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(objects(&client, &bucket).await.len(), 1);
    s.stop().await;
    db.drop_db().await;
}
