//! API token secrets: 32 random bytes, shown once, stored as SHA-256. A fast
//! hash is right here: the secret has 256 bits of entropy, unlike a password.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "mrt_";

pub struct GeneratedToken {
    pub secret: String,
    pub hash: String,
    /// The first characters, safe to display so users can tell tokens apart.
    pub display_prefix: String,
}

pub fn generate() -> GeneratedToken {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    GeneratedToken {
        hash: hash(&secret),
        display_prefix: secret.chars().take(TOKEN_PREFIX.len() + 6).collect(),
        secret,
    }
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Cheap shape check before touching the database.
pub fn looks_like_token(candidate: &str) -> bool {
    candidate.len() == TOKEN_PREFIX.len() + 64
        && candidate.starts_with(TOKEN_PREFIX)
        && candidate[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_unique_well_formed_and_hash_stably() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert!(looks_like_token(&a.secret));
        assert_eq!(hash(&a.secret), a.hash);
        assert!(a.secret.starts_with(&a.display_prefix));
        for bad in [
            "",
            "mrt_",
            "abc",
            &a.secret[1..],
            &format!("{}z", &a.secret[..a.secret.len() - 1]),
        ] {
            assert!(!looks_like_token(bad), "{bad}");
        }
    }
}
