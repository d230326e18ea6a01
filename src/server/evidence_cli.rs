//! The evidence commands of the binary: `verify-audit` (the chain, and the
//! chain against the published checkpoints), `anchor-audit` (publish a
//! checkpoint now), `verify-receipt` (offline, with a published key set)
//! and `rotate-signing-key`. Each returns a one-line reason on failure and
//! its exit code.

use super::{
    config::Config,
    db::Db,
    repo::audit,
    services::anchors,
    signing::{verify_with, KeySet, Keyring},
    storage::Store,
};
use crate::domain::receipt::{ReceiptStatement, RECEIPT_PAYLOAD_TYPE};

/// Exit code of a verification that ran and found the evidence wanting.
pub const EXIT_INVALID: i32 = 3;

pub type Outcome = Result<(), (i32, String)>;

fn fail(reason: impl Into<String>) -> (i32, String) {
    (1, reason.into())
}

/// The hash chain from genesis, then the chain against the newest
/// published checkpoints.
pub async fn verify_audit() -> Outcome {
    let config = Config::from_env().map_err(fail)?;
    let db = Db::connect(&config.database_url).await.map_err(fail)?;
    let report = audit::verify_chain(db.pool())
        .await
        .map_err(|e| fail(format!("cannot read the audit trail: {e}")))?;
    if let Some(id) = report.first_broken_id {
        return Err((
            EXIT_INVALID,
            format!(
                "audit chain broken at event {id} ({} events verified before it)",
                report.checked
            ),
        ));
    }
    println!("audit chain intact: {} events verified", report.checked);
    let store = Store::open(&config.artifacts).await.map_err(fail)?;
    let keys = Keyring::open(&config.signing_keys).map_err(fail)?;
    let check = anchors::check_with(db.pool(), &store, &keys)
        .await
        .map_err(|e| fail(format!("cannot read the published checkpoints: {e}")))?;
    if !check.intact {
        return Err((EXIT_INVALID, check.problems.join("; ")));
    }
    match &check.newest {
        Some(newest) => println!(
            "matches the newest of {} published checkpoints: {} events, head #{} ({}), signed {}",
            check.checkpoints_found, newest.events, newest.head_id, newest.head_hash, newest.at
        ),
        None => println!(
            "no checkpoint published yet: run `model-registry anchor-audit` (or wait for \
             REGISTRY_ANCHOR_SECONDS) so deletions of the newest events can be detected"
        ),
    }
    Ok(())
}

/// Publishes a signed checkpoint of the chain now.
pub async fn anchor_audit(state: &super::state::AppState) -> Outcome {
    match anchors::publish_scheduled(state).await {
        Ok(Some(c)) => {
            println!(
                "published {}: {} events, head #{} ({})",
                c.key, c.statement.events, c.statement.head_id, c.statement.head_hash
            );
            Ok(())
        }
        Ok(None) => {
            println!("nothing to publish: the newest checkpoint covers the chain's head");
            Ok(())
        }
        Err(e) => Err(fail(format!("cannot publish a checkpoint: {e}"))),
    }
}

/// Verifies a receipt file offline, with `keys_file` (a published key set)
/// or the public keys of the local key directory.
pub fn verify_receipt(file: &str, keys_file: Option<&str>) -> Outcome {
    let raw = std::fs::read(file).map_err(|e| fail(format!("cannot read {file}: {e}")))?;
    let keys = match keys_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("cannot read {path}: {e}")))?;
            serde_json::from_str::<KeySet>(&text)
                .map_err(|e| fail(format!("{path} is not a key set: {e}")))?
                .verifying_keys()
                .map_err(|e| fail(format!("{path}: {e}")))?
        }
        None => {
            let config = Config::from_env().map_err(fail)?;
            Keyring::open(&config.signing_keys)
                .map_err(fail)?
                .published()
                .verifying_keys()
                .map_err(fail)?
        }
    };
    // A receipt wrapped in a lookup answer is accepted too: its `receipt`.
    let envelope = serde_json::from_slice::<serde_json::Value>(&raw)
        .ok()
        .and_then(|v| v.get("receipt").or(v.get("envelope")).cloned())
        .map(|v| v.to_string().into_bytes())
        .unwrap_or(raw);
    let verified = verify_with(&keys, &envelope, RECEIPT_PAYLOAD_TYPE)
        .map_err(|e| (EXIT_INVALID, format!("receipt INVALID: {e}")))?;
    let s: ReceiptStatement = serde_json::from_slice(&verified.payload).map_err(|_| {
        (
            EXIT_INVALID,
            "receipt INVALID: not a release receipt statement".into(),
        )
    })?;
    println!(
        "receipt {} valid: {} {} ({}), content {}, {} files, approved by {}, issued {} by {} with key {}",
        s.receipt_id,
        s.model,
        s.version,
        s.stage,
        s.content_digest,
        s.artifacts.len(),
        s.approval
            .as_ref()
            .map(|a| a.approvers.join(", "))
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "nobody (no sign-off was required)".into()),
        s.issued_at,
        s.issued_by,
        verified.key_id
    );
    Ok(())
}

/// Starts signing with a new key; the old public key stays published.
pub fn rotate_signing_key() -> Outcome {
    let config = Config::from_env().map_err(fail)?;
    let (old, new) = Keyring::rotate(&config.signing_keys).map_err(fail)?;
    println!(
        "signing key rotated: {old} -> {new} (in {}); restart every server to sign with it; \
         {old} stays published for what it signed",
        config.signing_keys.display()
    );
    Ok(())
}
