//! Start-up and footprint of the server binary: prints numbers, asserts
//! nothing.
//!
//! `cargo bench --features ssr --bench startup`
//!
//! Runs the real binary (SQLite + local files in a new directory) and
//! prints: the time from spawn to the first healthy `/healthz` on a fresh
//! database (migrations, the admin's password hash, signing keys) and again
//! on the existing one (best of `BENCH_STARTS`, default 5), the resident
//! memory once it has idled for 3 s and after 2,000 authenticated reads, and
//! the binary's size. Goals (issue 16): < 1 s fresh, < 300 ms existing, idle
//! RSS < 30 MB.

mod common;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::env_number;

const EXE: &str = env!("CARGO_BIN_EXE_model-registry");

fn main() {
    let starts = env_number("BENCH_STARTS", 5).max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let mut fresh = Vec::new();
    let mut existing = Vec::new();
    for _ in 0..starts {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, took) = runtime.block_on(start(&client, dir.path()));
        fresh.push(took);
        stop(server);
        let (server, took) = runtime.block_on(start(&client, dir.path()));
        existing.push(took);
        stop(server);
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let worst = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
    println!(
        "start to first healthy /healthz, fresh database: best {:.0} ms, worst {:.0} ms ({starts} starts)",
        ms(best(&fresh)),
        ms(worst(&fresh))
    );
    println!(
        "start to first healthy /healthz, existing database: best {:.0} ms, worst {:.0} ms",
        ms(best(&existing)),
        ms(worst(&existing))
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _) = runtime.block_on(start(&client, dir.path()));
    std::thread::sleep(Duration::from_secs(3));
    let idle = rss_kib(server.child.id());
    let base = server.base.clone();
    runtime.block_on(async {
        for i in 0..2_000 {
            let res = client
                .get(format!("{base}/api/v1/models?q=m{i}"))
                .basic_auth("admin", Some("admin-password-1"))
                .send()
                .await
                .expect("read");
            assert!(res.status().is_success(), "{}", res.status());
        }
    });
    std::thread::sleep(Duration::from_secs(1));
    let busy = rss_kib(server.child.id());
    println!(
        "resident memory: idle {:.1} MB, after 2,000 authenticated reads {:.1} MB",
        idle as f64 / 1024.0,
        busy as f64 / 1024.0
    );
    stop(server);
    let size = std::fs::metadata(EXE).map(|m| m.len()).unwrap_or(0);
    // The bench profile keeps symbols (for perf); a release build strips them.
    let stripped = std::env::temp_dir().join("model-registry-stripped");
    let stripped_size = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(EXE)
        .status()
        .ok()
        .filter(|s| s.success())
        .and_then(|_| std::fs::metadata(&stripped).ok())
        .map(|m| m.len());
    let _ = std::fs::remove_file(&stripped);
    println!(
        "binary: {:.1} MB with symbols{}",
        size as f64 / 1e6,
        stripped_size.map_or(String::new(), |s| format!(
            ", {:.1} MB stripped as a release build is",
            s as f64 / 1e6
        ))
    );
}

struct Server {
    child: Child,
    base: String,
}

/// Spawns the server on a free port in `data`, and waits for `/healthz`.
async fn start(client: &reqwest::Client, data: &Path) -> (Server, Duration) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let child = Command::new(EXE)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("REGISTRY_DATA_DIR", data)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("REGISTRY_ADMIN_PASSWORD", "admin-password-1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the server");
    loop {
        if let Ok(res) = client.get(format!("{base}/healthz")).send().await {
            if res.status().is_success() {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no /healthz in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    (Server { child, base }, started.elapsed())
}

/// SIGTERM, then wait: the server shuts down gracefully.
fn stop(mut server: Server) {
    let _ = Command::new("kill")
        .arg(server.child.id().to_string())
        .status();
    let _ = server.child.wait();
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
