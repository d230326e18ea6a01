//! Audit benchmark: prints numbers, asserts nothing.
//!
//! `cargo bench --features ssr --bench audit`
//!
//! - audit-write overhead per state change: a small write transaction with
//!   and without its chained audit event;
//! - verify time for `BENCH_AUDIT_EVENTS` events (default 1,000,000);
//! - activity export over HTTP (CSV and JSON): rows per second, and the
//!   server process's peak memory growth while streaming them.
//!
//! Runs on SQLite, and on Postgres when `BENCH_POSTGRES_URL` (a database the
//! bench may fill) is set.

use std::time::{Duration, Instant};

use leptos::prelude::LeptosOptions;
use model_registry::server::{
    config::Config,
    db::{now_ms, Db},
    repo::{
        audit::{self, EventRow, NewEvent, Origin, GENESIS_HASH},
        sql::{insert_rows, Value},
    },
    startup,
};
use serde_json::json;

const CHANGES: usize = 2_000;

#[tokio::main]
async fn main() {
    let events: usize = std::env::var("BENCH_AUDIT_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run(
        "sqlite",
        Config::for_tests(sqlite, dir.path().into()),
        events,
    )
    .await;
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        run(
            "postgres",
            Config::for_tests(url, dir.path().into()),
            events,
        )
        .await;
    }
}

async fn run(label: &str, config: Config, events: usize) {
    println!("\n== {label} ==");
    let options = LeptosOptions::builder()
        .output_name("model-registry")
        .build();
    let state = startup::prepare(config, options).await.expect("prepare");
    write_overhead(&state.db).await;
    fill(&state.db, events).await;
    let start = Instant::now();
    let report = audit::verify_chain(state.db.pool()).await.expect("verify");
    let took = start.elapsed();
    println!(
        "verify: {} events in {:.2} s ({:.0} events/s), intact: {}",
        report.checked,
        took.as_secs_f64(),
        report.checked as f64 / took.as_secs_f64(),
        report.first_broken_id.is_none()
    );
    export(state).await;
}

/// The same small write, committed alone and committed with its audit event.
async fn write_overhead(db: &Db) {
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_changes (id BIGINT, note TEXT)")
        .execute(db.pool())
        .await
        .expect("scratch table");
    let origin = Origin {
        client_addr: Some("127.0.0.1".into()),
        request_id: Some("bench".into()),
    };
    let mut per_change = [Duration::ZERO; 2];
    for (i, with_audit) in [false, true].into_iter().enumerate() {
        let start = Instant::now();
        for n in 0..CHANGES {
            let mut tx = db.begin().await.expect("begin");
            sqlx::query("INSERT INTO bench_changes (id, note) VALUES ($1, $2)")
                .bind(n as i64)
                .bind("a change")
                .execute(&mut *tx)
                .await
                .expect("insert");
            if with_audit {
                let event = NewEvent {
                    actor: None,
                    origin: &origin,
                    action: "bench.change",
                    target_type: "bench",
                    target_id: &n.to_string(),
                    details: json!({ "n": n, "before": "x", "after": "y" }),
                };
                audit::record(&mut tx, event, now_ms())
                    .await
                    .expect("audit");
            }
            tx.commit().await.expect("commit");
        }
        per_change[i] = start.elapsed() / CHANGES as u32;
    }
    println!(
        "write: {:.0} µs per change without audit, {:.0} µs with it: audit overhead {:.0} µs per state change",
        per_change[0].as_secs_f64() * 1e6,
        per_change[1].as_secs_f64() * 1e6,
        (per_change[1].as_secs_f64() - per_change[0].as_secs_f64()) * 1e6
    );
}

/// Appends chained events in bulk (hashes computed here, rows inserted in
/// multi-row statements) until the trail holds `target` events.
async fn fill(db: &Db, target: usize) {
    let start = Instant::now();
    let (existing, mut prev): (i64, String) = {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
            .fetch_one(db.pool())
            .await
            .expect("count");
        let last: Option<String> =
            sqlx::query_scalar("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
                .fetch_optional(db.pool())
                .await
                .expect("last");
        (count, last.unwrap_or_else(|| GENESIS_HASH.to_owned()))
    };
    let missing = target.saturating_sub(existing as usize);
    let base_time = now_ms() - missing as i64;
    let mut written = 0;
    while written < missing {
        let batch = (missing - written).min(20_000);
        let mut rows = Vec::with_capacity(batch);
        for k in 0..batch {
            let n = written + k;
            let mut row = EventRow {
                id: 0,
                at: base_time + n as i64,
                actor_user_id: Some(1),
                actor_username: Some("bench".into()),
                actor_token_id: Some(1),
                action: "bench.filler".into(),
                target_type: "model".into(),
                target_id: format!("model-{}", n % 5_000),
                details: json!({ "n": n, "before": "a", "after": "b" }).to_string(),
                client_addr: Some("10.0.0.1".into()),
                request_id: Some(format!("req-{n}")),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            row.hash = row.expected_hash();
            prev = row.hash.clone();
            rows.push(vec![
                Value::Int(row.at),
                Value::Int(1),
                Value::Text("bench".into()),
                Value::Int(1),
                Value::Text(row.action),
                Value::Text(row.target_type),
                Value::Text(row.target_id),
                Value::Text(row.details),
                Value::Text("10.0.0.1".into()),
                Value::Text(format!("req-{n}")),
                Value::Text(row.prev_hash),
                Value::Text(row.hash),
            ]);
        }
        let mut tx = db.begin().await.expect("begin");
        insert_rows(
            &mut tx,
            "audit_events",
            &[
                "at",
                "actor_user_id",
                "actor_username",
                "actor_token_id",
                "action",
                "target_type",
                "target_id",
                "details",
                "client_addr",
                "request_id",
                "prev_hash",
                "hash",
            ],
            rows,
        )
        .await
        .expect("insert events");
        tx.commit().await.expect("commit");
        written += batch;
    }
    println!(
        "setup: appended {missing} chained events in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// Peak resident memory of this process in KiB (Linux), after resetting it.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn memory_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn export(state: model_registry::server::state::AppState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serve_state = state.clone();
    let server = tokio::spawn(async move {
        startup::serve(serve_state, listener, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    let client = reqwest::Client::new();
    let password = "admin-password-1";
    for format in ["csv", "json"] {
        let before = memory_kib("VmRSS:").unwrap_or(0);
        reset_peak();
        let start = Instant::now();
        let mut res = client
            .get(format!("{base}/api/v1/audit/export?format={format}"))
            .basic_auth("admin", Some(password))
            .send()
            .await
            .expect("export");
        assert!(res.status().is_success(), "{}", res.status());
        let (mut bytes, mut lines) = (0usize, 0usize);
        while let Some(chunk) = res.chunk().await.expect("chunk") {
            bytes += chunk.len();
            lines += chunk.iter().filter(|b| **b == b'\n').count();
        }
        let took = start.elapsed().as_secs_f64();
        let peak = memory_kib("VmHWM:").unwrap_or(0);
        println!(
            "export {format}: {lines} lines, {:.0} MiB in {took:.2} s: {:.0} rows/s; peak RSS {:.0} MiB (+{:.1} MiB over the {:.0} MiB before)",
            bytes as f64 / 1_048_576.0,
            lines as f64 / took,
            peak as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0,
            before as f64 / 1024.0,
        );
    }
    let _ = tx.send(());
    let _ = server.await;
}
