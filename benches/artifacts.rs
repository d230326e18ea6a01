//! Artifact throughput: prints numbers, asserts nothing.
//!
//! `cargo bench --features ssr --bench artifacts`
//!
//! Uploads and downloads one file (`BENCH_ARTIFACT_MB`, default 2048) through
//! the registry's HTTP API, for the local backend and — when
//! `AWS_ENDPOINT_URL` (and credentials) point at an S3-compatible server —
//! for S3, side by side with the direct path: a plain file copy (local) and a
//! direct aws-sdk-s3 put/get (S3). Also prints the process's peak memory
//! growth during the upload (client and server share the process; the
//! client streams from disk, so the growth is the server's buffers).

use std::{path::Path, time::Instant};

use futures_util::StreamExt;
use leptos::prelude::LeptosOptions;
use model_registry::server::{
    config::Config,
    startup,
    storage::{S3Location, StoreConfig},
};
use reqwest::Client;
use tokio::io::AsyncWriteExt;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Resets the peak-RSS counter (Linux: write 5 to clear_refs).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0 / secs
}

#[tokio::main]
async fn main() {
    let mb: u64 = std::env::var("BENCH_ARTIFACT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.bin");
    write_file(&source, mb).await;
    let bytes = mb * 1024 * 1024;
    println!("artifact benchmark: one {mb} MiB file");

    // Direct path, local: a plain file copy.
    let t = Instant::now();
    tokio::fs::copy(&source, dir.path().join("copy.bin"))
        .await
        .unwrap();
    let copy = t.elapsed().as_secs_f64();
    let _ = tokio::fs::remove_file(dir.path().join("copy.bin")).await;
    println!(
        "[local] direct file copy: {:.0} MiB/s",
        mb_per_s(bytes, copy)
    );
    run("local", dir.path(), &source, bytes, None).await;

    if std::env::var("AWS_ENDPOINT_URL").is_ok() {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(true)
                .build(),
        );
        let bucket = format!("bench-{}", std::process::id());
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");
        let t = Instant::now();
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&source)
            .await
            .unwrap();
        s3.put_object()
            .bucket(&bucket)
            .key("direct.bin")
            .body(body)
            .send()
            .await
            .expect("direct put");
        let put = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = s3
            .get_object()
            .bucket(&bucket)
            .key("direct.bin")
            .send()
            .await
            .expect("direct get");
        let mut stream = out.body;
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            n += chunk.unwrap().len() as u64;
        }
        let get = t.elapsed().as_secs_f64();
        assert_eq!(n, bytes);
        println!(
            "[s3] direct aws-sdk-s3 put: {:.0} MiB/s, get: {:.0} MiB/s",
            mb_per_s(bytes, put),
            mb_per_s(bytes, get)
        );
        let location = S3Location::parse(&format!("s3://{bucket}/registry")).unwrap();
        run("s3", dir.path(), &source, bytes, Some(location)).await;
    } else {
        println!("[s3] skipped: set AWS_ENDPOINT_URL and credentials to an S3-compatible server");
    }
}

async fn write_file(path: &Path, mb: u64) {
    let mut f = tokio::fs::File::create(path).await.unwrap();
    let mut block = vec![0u8; 1024 * 1024];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..mb {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        f.write_all(&block).await.unwrap();
    }
    f.flush().await.unwrap();
}

async fn run(label: &str, dir: &Path, source: &Path, bytes: u64, s3: Option<S3Location>) {
    let data_dir = dir.join(format!("data-{label}"));
    let mut config = Config::for_tests(
        format!("sqlite://{}", dir.join(format!("{label}.db")).display()),
        data_dir.clone(),
    );
    config.max_artifact_bytes = u64::MAX;
    if let Some(location) = s3 {
        config.artifacts = StoreConfig::S3 {
            location,
            path_style: true,
        };
    }
    let state = startup::prepare(
        config,
        LeptosOptions::builder()
            .output_name("model-registry")
            .build(),
    )
    .await
    .expect("prepare");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(startup::serve(state, listener, async {
        let _ = rx.await;
    }));
    let client = Client::new();
    let auth = ("admin", Some("admin-password-1"));
    client
        .post(format!("{base}/api/v1/models"))
        .basic_auth(auth.0, auth.1)
        .json(&serde_json::json!({"name": "bench"}))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/api/v1/models/bench/versions"))
        .basic_auth(auth.0, auth.1)
        .json(&serde_json::json!({"version": "1.0.0"}))
        .send()
        .await
        .unwrap();
    let url = format!("{base}/api/v1/models/bench/versions/1.0.0/artifacts/model.bin");

    reset_peak();
    let before = peak_rss_kib();
    let file = tokio::fs::File::open(source).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    let t = Instant::now();
    let res = client
        .put(&url)
        .basic_auth(auth.0, auth.1)
        .header("content-length", bytes)
        .body(body)
        .send()
        .await
        .unwrap();
    let up = t.elapsed().as_secs_f64();
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let growth_mib = peak_rss_kib().saturating_sub(before) as f64 / 1024.0;

    let t = Instant::now();
    let res = client
        .get(&url)
        .basic_auth(auth.0, auth.1)
        .send()
        .await
        .unwrap();
    let mut stream = res.bytes_stream();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        n += chunk.unwrap().len() as u64;
    }
    let down = t.elapsed().as_secs_f64();
    assert_eq!(n, bytes);
    println!(
        "[{label}] registry upload: {:.0} MiB/s, download: {:.0} MiB/s, peak memory growth during upload: {:.1} MiB",
        mb_per_s(bytes, up),
        mb_per_s(bytes, down),
        growth_mib
    );
    let _ = tx.send(());
    let _ = server.await;
    let _ = tokio::fs::remove_dir_all(&data_dir).await;
}
