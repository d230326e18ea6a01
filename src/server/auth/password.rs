//! Argon2id hashing, always off the async runtime's threads: a hash takes
//! tens of milliseconds of CPU and would stall every other request.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::sync::OnceLock;

use crate::error::AppError;

fn argon2() -> Argon2<'static> {
    // Argon2id v19 with the crate's defaults (19 MiB, t=2, p=1: OWASP's baseline).
    Argon2::default()
}

pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| internal("password hashing task failed", e))?
    .map_err(|e| internal("password hashing failed", e))
}

/// Verifies a password. With no stored hash (unknown user) a dummy hash is
/// checked anyway, so response time does not reveal which usernames exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let stored_ref = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let ok = PasswordHash::new(stored_ref)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && stored.is_some()
    })
    .await
    .map_err(|e| internal("password verification task failed", e))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"not-a-real-password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "{what}");
    AppError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_fail() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse battery".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
        assert!(!verify("x".into(), Some("garbage".into())).await.unwrap());
    }
}
