//! Signed statements the registry issues: release receipts ("this version,
//! with this content and these files, was approved by these people") and
//! audit checkpoints ("the chain had N events ending in hash H at time T").
//!
//! Both travel as DSSE envelopes (the Dead Simple Signing Envelope of the
//! in-toto/Sigstore projects): `{"payload": base64(body), "payloadType":
//! …, "signatures": [{"keyid": …, "sig": base64(Ed25519(PAE(type, body)))}]}`.
//! The signature covers the exact payload bytes and their type through the
//! pre-authentication encoding, so a verifier never re-serialises JSON and
//! a receipt cannot be replayed as a checkpoint. Pure: the signing itself
//! is in `server::signing`.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};

use super::Stage;

pub const RECEIPT_PAYLOAD_TYPE: &str = "application/vnd.model-registry.release-receipt+json";
pub const CHECKPOINT_PAYLOAD_TYPE: &str = "application/vnd.model-registry.audit-checkpoint+json";
pub const RECEIPT_SCHEMA: &str = "model-registry/release-receipt/v1";
pub const CHECKPOINT_SCHEMA: &str = "model-registry/audit-checkpoint/v1";
/// An envelope larger than this is refused before it is parsed.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;

/// DSSE's pre-authentication encoding of `(payload_type, payload)`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The statement, base64 (standard alphabet, padded).
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    pub keyid: String,
    /// The Ed25519 signature of `pae(payloadType, payload)`, base64.
    pub sig: String,
}

/// Why an envelope is not a valid statement; `field` names the part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError {
    pub field: &'static str,
    pub message: String,
}

impl EnvelopeError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An envelope taken apart: the payload bytes, and the one signature with
/// its key id and raw bytes. Nothing is trusted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub keyid: String,
    pub signature: [u8; 64],
}

impl Envelope {
    pub fn new(payload_type: &str, payload: &[u8], keyid: &str, signature: &[u8]) -> Self {
        Self {
            payload: STANDARD.encode(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                keyid: keyid.to_owned(),
                sig: STANDARD.encode(signature),
            }],
        }
    }

    /// Parses an envelope's text, expecting `payload_type` and exactly one
    /// signature (the registry signs with one key at a time).
    pub fn parse(raw: &[u8], payload_type: &str) -> Result<Unverified, EnvelopeError> {
        if raw.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::new("envelope", "is larger than 256 KiB"));
        }
        let env: Envelope = serde_json::from_slice(raw).map_err(|e| {
            EnvelopeError::new(
                "envelope",
                format!("is not a DSSE envelope (payload, payloadType, signatures): {e}"),
            )
        })?;
        if env.payload_type != payload_type {
            return Err(EnvelopeError::new(
                "payloadType",
                format!("is {:?}, expected {payload_type:?}", env.payload_type),
            ));
        }
        let payload = STANDARD
            .decode(env.payload.as_bytes())
            .map_err(|_| EnvelopeError::new("payload", "is not base64"))?;
        let [signature] = env.signatures.as_slice() else {
            return Err(EnvelopeError::new(
                "signatures",
                "must hold exactly one signature",
            ));
        };
        let sig = STANDARD
            .decode(signature.sig.as_bytes())
            .map_err(|_| EnvelopeError::new("signatures", "the signature is not base64"))?;
        let signature_bytes: [u8; 64] = sig
            .try_into()
            .map_err(|_| EnvelopeError::new("signatures", "an Ed25519 signature is 64 bytes"))?;
        Ok(Unverified {
            payload_type: env.payload_type,
            payload,
            keyid: signature.keyid.clone(),
            signature: signature_bytes,
        })
    }
}

/// A file of the released version, as the receipt names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceiptArtifact {
    pub path: String,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    /// For a file kept elsewhere (`s3://…`), its address instead of a hash.
    pub external_uri: Option<String>,
}

/// The sign-off that put the version where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceiptApproval {
    pub request_id: i64,
    pub to: Stage,
    pub requested_by: String,
    pub approvers: Vec<String>,
    /// The content digest the approvals were given on.
    pub content_digest: Option<String>,
    pub decided_at: Option<i64>,
}

/// The audit trail's newest event when the receipt was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChainHead {
    pub event_id: i64,
    pub hash: String,
}

/// What a release receipt states. Fields are only ever added within one
/// schema version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceiptStatement {
    /// `model-registry/release-receipt/v1`.
    pub schema: String,
    pub receipt_id: String,
    /// The registry that issued it (its public URL, when configured).
    pub issuer: String,
    pub model: String,
    pub version: String,
    pub stage: Stage,
    pub content_digest: String,
    pub artifacts: Vec<ReceiptArtifact>,
    /// `None` for a version that reached its stage without a sign-off
    /// (the policy asked for none).
    pub approval: Option<ReceiptApproval>,
    pub audit_head: Option<ChainHead>,
    pub issued_at: String,
    pub issued_at_ms: i64,
    pub issued_by: String,
    pub key_id: String,
}

/// What an audit checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckpointStatement {
    /// `model-registry/audit-checkpoint/v1`.
    pub schema: String,
    pub issuer: String,
    /// How many events the chain held, and its newest one.
    pub events: i64,
    pub head_id: i64,
    pub head_hash: String,
    pub at: String,
    pub at_ms: i64,
    pub key_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_dsse_v1() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn an_envelope_round_trips() {
        let env = Envelope::new(RECEIPT_PAYLOAD_TYPE, b"{\"a\":1}", "k1", &[7u8; 64]);
        let text = serde_json::to_vec(&env).unwrap();
        let u = Envelope::parse(&text, RECEIPT_PAYLOAD_TYPE).unwrap();
        assert_eq!(u.payload, b"{\"a\":1}");
        assert_eq!(u.keyid, "k1");
        assert_eq!(u.signature, [7u8; 64]);
    }

    #[test]
    fn malformed_envelopes_name_what_is_wrong() {
        let good =
            serde_json::to_value(Envelope::new(RECEIPT_PAYLOAD_TYPE, b"x", "k", &[1; 64])).unwrap();
        let field = |v: serde_json::Value, ty: &str| {
            Envelope::parse(v.to_string().as_bytes(), ty)
                .unwrap_err()
                .field
        };
        assert_eq!(field(good.clone(), CHECKPOINT_PAYLOAD_TYPE), "payloadType");
        let mut v = good.clone();
        v["payload"] = "***".into();
        assert_eq!(field(v, RECEIPT_PAYLOAD_TYPE), "payload");
        let mut v = good.clone();
        v["signatures"] = serde_json::json!([]);
        assert_eq!(field(v, RECEIPT_PAYLOAD_TYPE), "signatures");
        let mut v = good.clone();
        v["signatures"][0]["sig"] = STANDARD.encode([1u8; 63]).into();
        assert_eq!(field(v, RECEIPT_PAYLOAD_TYPE), "signatures");
        let mut v = good.clone();
        v["extra"] = 1.into();
        assert_eq!(field(v, RECEIPT_PAYLOAD_TYPE), "envelope");
        assert_eq!(
            Envelope::parse(b"not json", RECEIPT_PAYLOAD_TYPE)
                .unwrap_err()
                .field,
            "envelope"
        );
        let huge = vec![b' '; MAX_ENVELOPE_BYTES + 1];
        assert_eq!(
            Envelope::parse(&huge, RECEIPT_PAYLOAD_TYPE)
                .unwrap_err()
                .field,
            "envelope"
        );
    }
}
