//! `model-registry backup DEST` and `restore SRC`: a registry in one
//! directory, and back.
//!
//! A backup holds a consistent snapshot of the database (SQLite's
//! `VACUUM INTO` while the server runs; on Postgres `pg_dump` of a snapshot
//! this process exported, so the manifest is read from the very same data),
//! every stored object the snapshot refers to (artifacts, tracking files,
//! the signed audit checkpoints) checked against the SHA-256 recorded at
//! upload, the signing keys, and `backup.json` (the manifest, the chain's
//! length and head). `SHA256SUMS` lets anyone check the copy with
//! `sha256sum -c`. A restore goes into an empty database and store only,
//! checks every object on the way in, brings the schema up to date, and
//! verifies the audit chain against the backup's head and checkpoints.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    config::Config,
    db::{Backend, Db},
    evidence_cli::{Outcome, EXIT_INVALID},
    repo::{
        audit,
        backup::{self as repo, StoredObject},
    },
    services::anchors,
    signing::Keyring,
    storage::{is_safe_key, Store, StoreError},
};

const FORMAT: u32 = 1;
const INFO: &str = "backup.json";
const SUMS: &str = "SHA256SUMS";
const OBJECTS: &str = "objects";
const KEYS: &str = "keys";
const SQLITE_FILE: &str = "registry.db";
const PG_FILE: &str = "registry.pgdump";
/// A backup may run for hours on a big store: the snapshot's connection
/// must outlive it.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// `backup.json`: what the directory holds and what the chain looked like.
#[derive(Debug, Serialize, Deserialize)]
struct BackupInfo {
    format: u32,
    registry_version: String,
    created_at_ms: i64,
    database: String,
    database_file: String,
    models: i64,
    versions: i64,
    audit_events: i64,
    audit_head: Option<(i64, String)>,
    /// False for `--manifest-only`: the objects stay where they are (an S3
    /// bucket with its own replication) and a restore expects them there.
    objects_copied: bool,
    objects: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    key: String,
    sha256: String,
    size: Option<i64>,
}

fn fail(reason: impl Into<String>) -> (i32, String) {
    (1, reason.into())
}

pub async fn backup(dest: &Path, manifest_only: bool) -> Outcome {
    let config = Config::from_env().map_err(fail)?;
    prepare_empty_dir(dest)?;
    let result = write_backup(&config, dest, manifest_only).await;
    if result
        .as_ref()
        .is_err_and(|(code, _)| *code != EXIT_INVALID)
    {
        // Never leave something that looks like a backup and is not one.
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

async fn write_backup(config: &Config, dest: &Path, manifest_only: bool) -> Outcome {
    let started = Instant::now();
    let db = Db::connect_with(&config.database_url, SNAPSHOT_TIMEOUT)
        .await
        .map_err(fail)?;
    let store = Store::open(&config.artifacts).await.map_err(fail)?;
    let read = |e: sqlx::Error| fail(format!("cannot read the database: {e}"));
    let (database_file, snapshot) = match db.backend() {
        Backend::Sqlite => {
            let file = dest.join(SQLITE_FILE);
            let mut conn = db.pool().acquire().await.map_err(read)?;
            repo::sqlite_vacuum_into(&mut conn, &file.to_string_lossy())
                .await
                .map_err(|e| fail(format!("cannot copy the SQLite database: {e}")))?;
            drop(conn);
            let url = format!("sqlite://{}?mode=ro", file.display());
            let mut copy = AnyConnection::connect(&url).await.map_err(read)?;
            let snapshot = Snapshot::read(&mut copy).await.map_err(read)?;
            let _ = copy.close().await;
            (SQLITE_FILE, snapshot)
        }
        Backend::Postgres => {
            let mut tx = repo::begin_snapshot(db.pool()).await.map_err(read)?;
            let id = repo::export_snapshot(&mut tx).await.map_err(read)?;
            pg_dump(&config.database_url, &id, &dest.join(PG_FILE)).await?;
            let snapshot = Snapshot::read(&mut tx).await.map_err(read)?;
            tx.commit().await.map_err(read)?;
            (PG_FILE, snapshot)
        }
    };
    db.close().await;

    let mut objects: Vec<Entry> = snapshot.objects.iter().map(Entry::from).collect();
    let mut problems = Vec::new();
    let progress = bytes_bar("backing up", &objects);
    if !manifest_only {
        for entry in &objects {
            match copy_out(&store, entry, &dest.join(OBJECTS)).await {
                Ok(n) => progress.inc(n),
                Err(problem) => problems.push(problem),
            }
        }
    }
    // The signed checkpoints: small, never changed, copied always.
    for key in store.list(anchors::PREFIX).await.map_err(store_error)? {
        let bytes = store
            .read_small(&key, 1 << 20)
            .await
            .map_err(store_error)?
            .ok_or_else(|| fail(format!("checkpoint {key} vanished while being copied")))?;
        write_object(&dest.join(OBJECTS), &key, &bytes).await?;
        objects.push(Entry {
            sha256: hex::encode(Sha256::digest(&bytes)),
            size: i64::try_from(bytes.len()).ok(),
            key,
        });
    }
    progress.finish_and_clear();
    copy_dir_files(&config.signing_keys, &dest.join(KEYS))?;

    let info = BackupInfo {
        format: FORMAT,
        registry_version: env!("CARGO_PKG_VERSION").into(),
        created_at_ms: super::db::now_ms(),
        database: backend_name(db.backend()).into(),
        database_file: database_file.into(),
        models: snapshot.models,
        versions: snapshot.versions,
        audit_events: snapshot.events,
        audit_head: snapshot.head.clone(),
        objects_copied: !manifest_only,
        objects,
    };
    write_info(dest, &info)?;
    println!(
        "backup in {}: {} models, {} versions, {} audit events (head {}), {} objects{}, in {:.1} s",
        dest.display(),
        info.models,
        info.versions,
        info.audit_events,
        head_text(&info.audit_head),
        info.objects.len(),
        if manifest_only {
            " listed (not copied)"
        } else {
            " copied and checked"
        },
        started.elapsed().as_secs_f64()
    );
    if !problems.is_empty() {
        return Err((
            EXIT_INVALID,
            format!(
                "the store does not match the database: {}",
                problems.join("; ")
            ),
        ));
    }
    Ok(())
}

/// What the backup reads from the database's snapshot.
struct Snapshot {
    objects: Vec<StoredObject>,
    events: i64,
    head: Option<(i64, String)>,
    models: i64,
    versions: i64,
}

impl Snapshot {
    async fn read(conn: &mut AnyConnection) -> Result<Self, sqlx::Error> {
        let objects = repo::stored_objects(conn).await?;
        let (events, head) = repo::chain_head(conn).await?;
        let (models, versions) = repo::catalog_size(conn).await?;
        Ok(Self {
            objects,
            events,
            head,
            models,
            versions,
        })
    }
}

impl From<&StoredObject> for Entry {
    fn from(o: &StoredObject) -> Self {
        Self {
            key: o.storage_key.clone(),
            sha256: o.sha256.clone(),
            size: o.size,
        }
    }
}

pub async fn restore(src: &Path) -> Outcome {
    let started = Instant::now();
    // Connections are opened here before any pool (which would install them).
    sqlx::any::install_default_drivers();
    let config = Config::from_env().map_err(fail)?;
    let info = read_info(src)?;
    let backend = backend_of(&config.database_url)?;
    if info.database != backend_name(backend) {
        return Err(fail(format!(
            "the backup is of a {} database; DATABASE_URL is {}",
            info.database,
            backend_name(backend)
        )));
    }
    let db_file = src.join(&info.database_file);
    if !db_file.is_file() {
        return Err(fail(format!("{} is missing", db_file.display())));
    }
    match backend {
        Backend::Sqlite => restore_sqlite(&config.database_url, &db_file).await?,
        Backend::Postgres => restore_postgres(&config.database_url, &db_file).await?,
    }
    let db = Db::connect(&config.database_url).await.map_err(fail)?;
    db.migrate().await.map_err(fail)?;

    let store = Store::open(&config.artifacts).await.map_err(fail)?;
    let progress = bytes_bar("restoring", &info.objects);
    let mut problems = Vec::new();
    for entry in &info.objects {
        let outcome = if info.objects_copied {
            copy_in(&store, entry, &src.join(OBJECTS)).await
        } else {
            expect_present(&store, entry).await
        };
        match outcome {
            Ok(n) => progress.inc(n),
            Err(problem) => problems.push(problem),
        }
    }
    progress.finish_and_clear();
    copy_missing_keys(&src.join(KEYS), &config.signing_keys)?;

    let report = audit::verify_chain(db.pool())
        .await
        .map_err(|e| fail(format!("cannot read the restored audit trail: {e}")))?;
    if let Some(id) = report.first_broken_id {
        problems.push(format!("the restored audit chain is broken at event {id}"));
    } else if i64::try_from(report.checked).ok() != Some(info.audit_events)
        || report.last != info.audit_head
    {
        problems.push(format!(
            "the restored chain ({} events, head {}) is not the backup's ({} events, head {})",
            report.checked,
            head_text(&report.last),
            info.audit_events,
            head_text(&info.audit_head)
        ));
    }
    let keys = Keyring::open(&config.signing_keys).map_err(fail)?;
    let anchored = anchors::check_with(db.pool(), &store, &keys)
        .await
        .map_err(|e| fail(format!("cannot check the published checkpoints: {e}")))?;
    if !anchored.intact {
        problems.extend(anchored.problems);
    }
    if !problems.is_empty() {
        db.close().await;
        return Err((EXIT_INVALID, problems.join("; ")));
    }
    // The restore itself is on the record, after the chain it extends was
    // found to be the backup's.
    record_restore(&db, src, &info)
        .await
        .map_err(|e| fail(format!("cannot record the restore in the audit trail: {e}")))?;
    db.close().await;
    println!(
        "restored {} models, {} versions, {} objects from {} in {:.1} s; audit chain intact: {} \
         events, head {}, {} checkpoints match",
        info.models,
        info.versions,
        info.objects.len(),
        src.display(),
        started.elapsed().as_secs_f64(),
        report.checked,
        head_text(&report.last),
        anchored.checkpoints_found
    );
    Ok(())
}

async fn record_restore(db: &Db, src: &Path, info: &BackupInfo) -> Result<(), sqlx::Error> {
    let origin = audit::Origin {
        client_addr: None,
        request_id: Some(format!("restore {}", src.display())),
    };
    let event = audit::NewEvent {
        actor: None,
        origin: &origin,
        action: "registry.restore",
        target_type: "registry",
        target_id: &info.database,
        details: serde_json::json!({
            "backup_created_at_ms": info.created_at_ms,
            "backup_registry_version": info.registry_version,
            "audit_events": info.audit_events,
            "audit_head": info.audit_head,
            "objects": info.objects.len(),
            "objects_copied": info.objects_copied,
        }),
    };
    let mut tx = db.begin().await?;
    audit::record(&mut tx, event, super::db::now_ms()).await?;
    tx.commit().await
}

async fn restore_sqlite(url: &str, backup_file: &Path) -> Result<(), (i32, String)> {
    let target = sqlite_file(url)?;
    if target.exists() {
        let url = format!("sqlite://{}?mode=ro", target.display());
        let mut conn = AnyConnection::connect(&url)
            .await
            .map_err(|e| fail(format!("cannot open {}: {e}", target.display())))?;
        let used = repo::has_tables(&mut conn, Backend::Sqlite).await;
        let _ = conn.close().await;
        if used.map_err(|e| fail(format!("cannot read {}: {e}", target.display())))? {
            return Err(fail(format!(
                "{} already holds a registry: restore into an empty data directory",
                target.display()
            )));
        }
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| fail(format!("cannot create {}: {e}", parent.display())))?;
    }
    // Copied beside the target, then renamed: never a half-copied database.
    let partial = target.with_extension("restoring");
    std::fs::copy(backup_file, &partial)
        .and_then(|_| std::fs::rename(&partial, &target))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            fail(format!("cannot write {}: {e}", target.display()))
        })?;
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", target.display()));
    }
    Ok(())
}

async fn restore_postgres(url: &str, dump: &Path) -> Result<(), (i32, String)> {
    let mut conn = AnyConnection::connect(url)
        .await
        .map_err(|e| fail(format!("cannot connect to the database: {e}")))?;
    let used = repo::has_tables(&mut conn, Backend::Postgres)
        .await
        .map_err(|e| fail(format!("cannot read the database: {e}")))?;
    let _ = conn.close().await;
    if used {
        return Err(fail(
            "DATABASE_URL already holds tables: restore into an empty database (createdb)",
        ));
    }
    // One transaction: a failed restore leaves the database empty.
    run_tool(
        "pg_restore",
        &[
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            url,
            &dump.to_string_lossy(),
        ],
    )
    .await
}

async fn pg_dump(url: &str, snapshot: &str, file: &Path) -> Result<(), (i32, String)> {
    run_tool(
        "pg_dump",
        &[
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            &format!("--snapshot={snapshot}"),
            "--file",
            &file.to_string_lossy(),
            url,
        ],
    )
    .await
}

/// Runs a PostgreSQL client tool; its own message on failure.
async fn run_tool(tool: &str, args: &[&str]) -> Result<(), (i32, String)> {
    let out = tokio::process::Command::new(tool)
        .args(args)
        .output()
        .await
        .map_err(|e| {
            fail(format!(
                "cannot run {tool} ({e}): install the PostgreSQL client tools of the server's \
                 major version (Debian: postgresql-client)"
            ))
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or("no message");
    Err(fail(format!("{tool} failed: {first}")))
}

/// Streams one object out of the store, checking what was recorded.
async fn copy_out(store: &Store, entry: &Entry, dir: &Path) -> Result<u64, String> {
    let path = object_path(dir, &entry.key)?;
    let mut stream = match store.read(&entry.key, None).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => {
            return Err(format!("{} is missing from the store", entry.key))
        }
        Err(e) => return Err(format!("{}: {e}", entry.key)),
    };
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("{}: {e}", entry.key))?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.sync_all().await.map_err(io)?;
    check(entry, &hex::encode(hasher.finalize()), size)?;
    Ok(size)
}

/// Uploads one object from the backup unless the store has it already,
/// checking it on the way; a mismatch is aborted, never stored.
async fn copy_in(store: &Store, entry: &Entry, dir: &Path) -> Result<u64, String> {
    if store
        .exists(&entry.key)
        .await
        .map_err(|e| format!("{}: {e}", entry.key))?
    {
        return Ok(0);
    }
    let path = object_path(dir, &entry.key)?;
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    if entry.key.starts_with(anchors::PREFIX) {
        // A signed checkpoint goes back write-once, as it was published.
        let bytes = tokio::fs::read(&path).await.map_err(io)?;
        check(
            entry,
            &hex::encode(Sha256::digest(&bytes)),
            bytes.len() as u64,
        )?;
        store
            .put_once(&entry.key, &bytes)
            .await
            .map_err(|e| format!("{}: {e}", entry.key))?;
        return Ok(bytes.len() as u64);
    }
    let mut file = tokio::fs::File::open(&path).await.map_err(io)?;
    let mut upload = store
        .begin(&entry.key)
        .await
        .map_err(|e| format!("{}: {e}", entry.key))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                upload.abort().await;
                return Err(io(e));
            }
        };
        hasher.update(&buf[..n]);
        size += n as u64;
        if let Err(e) = upload.write(bytes::Bytes::copy_from_slice(&buf[..n])).await {
            upload.abort().await;
            return Err(format!("{}: {e}", entry.key));
        }
    }
    if let Err(problem) = check(entry, &hex::encode(hasher.finalize()), size) {
        upload.abort().await;
        return Err(problem);
    }
    upload
        .complete()
        .await
        .map_err(|e| format!("{}: {e}", entry.key))?;
    Ok(size)
}

async fn expect_present(store: &Store, entry: &Entry) -> Result<u64, String> {
    match store.exists(&entry.key).await {
        Ok(true) => Ok(0),
        Ok(false) => Err(format!(
            "{} is not in the artifact store (the backup listed it without copying it)",
            entry.key
        )),
        Err(e) => Err(format!("{}: {e}", entry.key)),
    }
}

fn check(entry: &Entry, sha256: &str, size: u64) -> Result<(), String> {
    if sha256 != entry.sha256 {
        return Err(format!(
            "{} has SHA-256 {sha256}, recorded {}",
            entry.key, entry.sha256
        ));
    }
    match entry.size {
        Some(expected) if u64::try_from(expected).ok() != Some(size) => Err(format!(
            "{} has {size} bytes, recorded {expected}",
            entry.key
        )),
        _ => Ok(()),
    }
}

fn object_path(dir: &Path, key: &str) -> Result<PathBuf, String> {
    if !is_safe_key(key) {
        return Err(format!("{key:?} is not a storage key this registry writes"));
    }
    Ok(dir.join(key))
}

async fn write_object(dir: &Path, key: &str, bytes: &[u8]) -> Result<(), (i32, String)> {
    let path = object_path(dir, key).map_err(fail)?;
    let io = |e: std::io::Error| fail(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    tokio::fs::write(&path, bytes).await.map_err(io)
}

fn write_info(dest: &Path, info: &BackupInfo) -> Result<(), (i32, String)> {
    let json = serde_json::to_vec_pretty(info).map_err(|e| fail(e.to_string()))?;
    std::fs::write(dest.join(INFO), json).map_err(|e| fail(format!("cannot write {INFO}: {e}")))?;
    let sums: String = if info.objects_copied {
        info.objects
            .iter()
            .map(|o| format!("{}  {OBJECTS}/{}\n", o.sha256, o.key))
            .collect()
    } else {
        String::new()
    };
    std::fs::write(dest.join(SUMS), sums).map_err(|e| fail(format!("cannot write {SUMS}: {e}")))
}

fn read_info(src: &Path) -> Result<BackupInfo, (i32, String)> {
    let path = src.join(INFO);
    let raw = std::fs::read(&path)
        .map_err(|e| fail(format!("{} is not a backup: {e}", path.display())))?;
    let info: BackupInfo = serde_json::from_slice(&raw)
        .map_err(|e| fail(format!("{}: not a backup manifest: {e}", path.display())))?;
    if info.format != FORMAT {
        return Err(fail(format!(
            "{}: format {} (this registry reads format {FORMAT})",
            path.display(),
            info.format
        )));
    }
    if let Some(bad) = info.objects.iter().find(|o| !is_safe_key(&o.key)) {
        return Err(fail(format!(
            "{}: {:?} is not a storage key",
            path.display(),
            bad.key
        )));
    }
    Ok(info)
}

fn prepare_empty_dir(dest: &Path) -> Result<(), (i32, String)> {
    let describe = |e: std::io::Error| fail(format!("DEST {}: {e}", dest.display()));
    if dest.exists() {
        if std::fs::read_dir(dest).map_err(describe)?.next().is_some() {
            return Err(fail(format!(
                "DEST {} is not empty: give a new directory",
                dest.display()
            )));
        }
    } else {
        std::fs::create_dir_all(dest).map_err(describe)?;
    }
    set_private(dest);
    Ok(())
}

/// A backup holds the signing key: only its owner reads it.
fn set_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
    }
}

/// Copies the files of `from` (the key directory) into `to`, keeping their
/// permissions (the private key's 0600).
fn copy_dir_files(from: &Path, to: &Path) -> Result<(), (i32, String)> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(()); // no keys yet: nothing signed
    };
    std::fs::create_dir_all(to).map_err(|e| fail(format!("{}: {e}", to.display())))?;
    set_private(to);
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name()))
                .map_err(|e| fail(format!("cannot copy {}: {e}", path.display())))?;
        }
    }
    Ok(())
}

/// The backup's keys where the target has none of that name: a fresh
/// server's own key stays active, the old ones verify what they signed.
fn copy_missing_keys(from: &Path, to: &Path) -> Result<(), (i32, String)> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    std::fs::create_dir_all(to).map_err(|e| fail(format!("{}: {e}", to.display())))?;
    set_private(to);
    for entry in entries.flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_file() && !target.exists() {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| fail(format!("cannot copy {}: {e}", target.display())))?;
        }
    }
    Ok(())
}

fn bytes_bar(what: &'static str, objects: &[Entry]) -> indicatif::ProgressBar {
    let total = objects
        .iter()
        .filter_map(|o| u64::try_from(o.size.unwrap_or(0)).ok())
        .sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:30}} {{bytes}}/{{total_bytes}} ({{bytes_per_sec}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn store_error(e: StoreError) -> (i32, String) {
    fail(format!("artifact store: {e}"))
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn backend_of(url: &str) -> Result<Backend, (i32, String)> {
    Backend::of_url(url)
        .ok_or_else(|| fail("DATABASE_URL must start with sqlite:// or postgres://"))
}

/// The file of a `sqlite://path?options` URL.
fn sqlite_file(url: &str) -> Result<PathBuf, (i32, String)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return Err(fail("DATABASE_URL names no SQLite file to restore into"));
    }
    Ok(PathBuf::from(path))
}

fn head_text(head: &Option<(i64, String)>) -> String {
    match head {
        Some((id, hash)) => format!("#{id} {}", hash.chars().take(16).collect::<String>()),
        None => "none".into(),
    }
}
