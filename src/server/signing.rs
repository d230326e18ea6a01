//! The registry's signing keys (Ed25519) and the signing and checking of
//! DSSE envelopes (`domain::receipt`).
//!
//! The private key never lives in the database. It is a file in the key
//! directory (`REGISTRY_SIGNING_KEYS`, default `<data dir>/keys`):
//! `active.key` (the 32-byte seed in hex, mode 0600), created on first
//! start. Every public key ever used stays beside it as `<key id>.pub`, so
//! rotating (`model-registry rotate-signing-key`) keeps old receipts and
//! checkpoints verifiable. Several instances behind a load balancer share
//! one key directory (a mounted secret). The published key set
//! (`/.well-known/model-registry/keys.json`) is a JWKS.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::receipt::{pae, Envelope, EnvelopeError, Unverified};

const ACTIVE: &str = "active.key";

/// The active signing key and every public key this registry has used.
pub struct Keyring {
    dir: PathBuf,
    active: SigningKey,
    active_id: String,
    public: BTreeMap<String, VerifyingKey>,
}

/// A key id: the first 16 hex digits of the SHA-256 of the public key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))[..16].to_owned()
}

fn new_key() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    SigningKey::from_bytes(&seed)
}

fn io_err(path: &Path, e: std::io::Error) -> String {
    format!("signing key {}: {e}", path.display())
}

/// Writes `bytes` to a new file readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| io_err(path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io_err(path, e))
}

fn write_public(dir: &Path, key: &VerifyingKey) -> Result<(), String> {
    let path = dir.join(format!("{}.pub", key_id(key)));
    if !path.exists() {
        std::fs::write(&path, format!("{}\n", hex::encode(key.as_bytes())))
            .map_err(|e| io_err(&path, e))?;
    }
    Ok(())
}

fn read_hex32(path: &Path) -> Result<[u8; 32], String> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let bytes =
        hex::decode(text.trim()).map_err(|_| format!("signing key {}: not hex", path.display()))?;
    bytes
        .try_into()
        .map_err(|_| format!("signing key {}: not 32 bytes", path.display()))
}

#[cfg(unix)]
fn check_private_mode(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| io_err(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "signing key {} can be read by other users (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_: &Path) -> Result<(), String> {
    Ok(())
}

impl Keyring {
    /// Opens the key directory, creating it and a first key when absent.
    pub fn open(dir: &Path) -> Result<Self, String> {
        create_dir_private(dir)?;
        let active_path = dir.join(ACTIVE);
        if !active_path.exists() {
            let key = new_key();
            write_private(&active_path, &format!("{}\n", hex::encode(key.to_bytes())))?;
            tracing::info!(key_id = %key_id(&key.verifying_key()), dir = %dir.display(), "created a signing key");
        }
        check_private_mode(&active_path)?;
        let active = SigningKey::from_bytes(&read_hex32(&active_path)?);
        write_public(dir, &active.verifying_key())?;
        let mut public = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
            let path = entry.map_err(|e| io_err(dir, e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pub") {
                continue;
            }
            let key = VerifyingKey::from_bytes(&read_hex32(&path)?)
                .map_err(|_| format!("{}: not an Ed25519 public key", path.display()))?;
            public.insert(key_id(&key), key);
        }
        Ok(Self {
            dir: dir.to_owned(),
            active_id: key_id(&active.verifying_key()),
            active,
            public,
        })
    }

    /// Replaces the active key with a new one; the old public key stays.
    /// Returns (old id, new id). Running servers pick it up when restarted.
    pub fn rotate(dir: &Path) -> Result<(String, String), String> {
        let old = Self::open(dir)?;
        let key = new_key();
        write_public(dir, &key.verifying_key())?;
        let next = dir.join("active.key.next");
        let _ = std::fs::remove_file(&next);
        write_private(&next, &format!("{}\n", hex::encode(key.to_bytes())))?;
        std::fs::rename(&next, dir.join(ACTIVE)).map_err(|e| io_err(&next, e))?;
        Ok((old.active_id, key_id(&key.verifying_key())))
    }

    pub fn active_id(&self) -> &str {
        &self.active_id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Signs `payload` of `payload_type` with the active key.
    pub fn sign(&self, payload_type: &str, payload: &[u8]) -> Envelope {
        let signature = self.active.sign(&pae(payload_type, payload));
        Envelope::new(
            payload_type,
            payload,
            &self.active_id,
            &signature.to_bytes(),
        )
    }

    /// The published key set.
    pub fn published(&self) -> KeySet {
        KeySet::of(&self.public, Some(&self.active_id))
    }

    pub fn verify(&self, raw: &[u8], payload_type: &str) -> Result<Verified, EnvelopeError> {
        verify_with(&self.public, raw, payload_type)
    }
}

fn create_dir_private(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| io_err(dir, e))
}

/// An envelope whose signature checked out against a known key.
#[derive(Debug, Clone)]
pub struct Verified {
    pub key_id: String,
    pub payload: Vec<u8>,
}

/// Checks `raw` (an envelope of `payload_type`) against `keys`.
pub fn verify_with(
    keys: &BTreeMap<String, VerifyingKey>,
    raw: &[u8],
    payload_type: &str,
) -> Result<Verified, EnvelopeError> {
    let Unverified {
        payload_type,
        payload,
        keyid,
        signature,
    } = Envelope::parse(raw, payload_type)?;
    let key = keys.get(&keyid).ok_or_else(|| {
        EnvelopeError::new(
            "signatures",
            format!("signed by key {keyid:?}, which this registry never published"),
        )
    })?;
    key.verify_strict(
        &pae(&payload_type, &payload),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| {
        EnvelopeError::new(
            "signatures",
            "the signature does not match the payload: it was changed or forged",
        )
    })?;
    Ok(Verified {
        key_id: keyid,
        payload,
    })
}

/// A JWKS of Ed25519 public keys (RFC 8037 `OKP` keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeySet {
    pub keys: Vec<PublishedKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PublishedKey {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    pub kid: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `active` for the key signing now, `retired` for older ones (still
    /// valid for what they signed).
    pub status: String,
}

impl KeySet {
    fn of(keys: &BTreeMap<String, VerifyingKey>, active: Option<&str>) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|(kid, key)| PublishedKey {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    kid: kid.clone(),
                    x: URL_SAFE_NO_PAD.encode(key.as_bytes()),
                    use_: "sig".into(),
                    status: if Some(kid.as_str()) == active {
                        "active".into()
                    } else {
                        "retired".into()
                    },
                })
                .collect(),
        }
    }

    /// The keys of a published set, for offline verification. A key whose
    /// id does not match its bytes is refused: a set cannot rename keys.
    pub fn verifying_keys(&self) -> Result<BTreeMap<String, VerifyingKey>, String> {
        let mut out = BTreeMap::new();
        for k in &self.keys {
            if k.kty != "OKP" || k.crv != "Ed25519" {
                return Err(format!("key {}: not an Ed25519 key", k.kid));
            }
            let bytes: [u8; 32] = URL_SAFE_NO_PAD
                .decode(k.x.as_bytes())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("key {}: `x` is not 32 bytes of base64url", k.kid))?;
            let key = VerifyingKey::from_bytes(&bytes)
                .map_err(|_| format!("key {}: not an Ed25519 public key", k.kid))?;
            if key_id(&key) != k.kid {
                return Err(format!("key {}: its id does not match its bytes", k.kid));
            }
            out.insert(k.kid.clone(), key);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::receipt::{CHECKPOINT_PAYLOAD_TYPE, RECEIPT_PAYLOAD_TYPE};

    #[test]
    fn a_key_is_created_once_private_and_signs_what_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let ring = Keyring::open(&keys).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(keys.join(ACTIVE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Keyring::open(&keys).unwrap();
        assert_eq!(ring.active_id(), again.active_id());

        let env = serde_json::to_vec(&ring.sign(RECEIPT_PAYLOAD_TYPE, b"{\"v\":1}")).unwrap();
        let ok = again.verify(&env, RECEIPT_PAYLOAD_TYPE).unwrap();
        assert_eq!(ok.payload, b"{\"v\":1}");
        assert_eq!(ok.key_id, ring.active_id());
        // The same bytes as another kind of statement do not verify.
        assert!(again.verify(&env, CHECKPOINT_PAYLOAD_TYPE).is_err());
    }

    #[test]
    fn a_changed_byte_or_an_unknown_key_fails() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::open(dir.path()).unwrap();
        let mut env = ring.sign(RECEIPT_PAYLOAD_TYPE, b"{\"version\":\"1.0.0\"}");
        env.payload = base64::engine::general_purpose::STANDARD.encode(b"{\"version\":\"1.0.1\"}");
        let err = ring
            .verify(&serde_json::to_vec(&env).unwrap(), RECEIPT_PAYLOAD_TYPE)
            .unwrap_err();
        assert!(err.message.contains("changed or forged"), "{err}");

        let other = tempfile::tempdir().unwrap();
        let stranger = Keyring::open(other.path()).unwrap();
        let forged = serde_json::to_vec(&stranger.sign(RECEIPT_PAYLOAD_TYPE, b"{}")).unwrap();
        let err = ring.verify(&forged, RECEIPT_PAYLOAD_TYPE).unwrap_err();
        assert!(err.message.contains("never published"), "{err}");
    }

    #[test]
    fn rotation_keeps_old_signatures_verifiable_through_the_published_set() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keyring::open(dir.path()).unwrap();
        let old = serde_json::to_vec(&first.sign(RECEIPT_PAYLOAD_TYPE, b"old")).unwrap();
        let (was, now) = Keyring::rotate(dir.path()).unwrap();
        assert_eq!(was, first.active_id());
        let second = Keyring::open(dir.path()).unwrap();
        assert_eq!(second.active_id(), now);
        assert_ne!(was, now);
        let set = second.published();
        assert_eq!(set.keys.len(), 2);
        assert!(set
            .keys
            .iter()
            .any(|k| k.kid == was && k.status == "retired"));
        assert!(set
            .keys
            .iter()
            .any(|k| k.kid == now && k.status == "active"));
        // Offline: only the published JSON.
        let json = serde_json::to_string(&set).unwrap();
        let keys = serde_json::from_str::<KeySet>(&json)
            .unwrap()
            .verifying_keys()
            .unwrap();
        assert_eq!(
            verify_with(&keys, &old, RECEIPT_PAYLOAD_TYPE)
                .unwrap()
                .payload,
            b"old"
        );
    }

    #[test]
    fn a_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Keyring::open(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join(ACTIVE);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = Keyring::open(dir.path()).err().unwrap();
            assert!(err.contains("chmod 600"), "{err}");
        }
    }

    #[test]
    fn a_key_set_cannot_rename_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = Keyring::open(dir.path()).unwrap().published();
        set.keys[0].kid = "0000000000000000".into();
        assert!(set.verifying_keys().is_err());
    }
}
