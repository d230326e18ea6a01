//! Recently verified HTTP Basic credentials. Clients such as MLflow's send
//! Basic on every call; with this cache they pay for argon2 once every few
//! minutes instead of on each request.
//!
//! Entries are keyed by a salted SHA-256 of the username and password (the
//! salt is random per process, so the keys are useless elsewhere). A hit
//! still reads the user: it counts only while the user is active and the
//! stored password hash is the one the password was verified against, so a
//! password change or a deactivation takes effect at once.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use rand::RngCore;
use sha2::{Digest, Sha256};

const TTL: Duration = Duration::from_secs(300);
const MAX_ENTRIES: usize = 10_000;

pub struct BasicAuthCache {
    salt: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// Verifications in flight, by credentials: parallel requests with the
    /// same credentials wait for the first one's verdict instead of each
    /// spending an argon2 verification (and a throttle attempt).
    in_flight: Mutex<HashMap<[u8; 32], std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

struct Entry {
    password_hash: String,
    verified_at: Instant,
}

impl Default for BasicAuthCache {
    fn default() -> Self {
        let mut salt = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        Self {
            salt,
            entries: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        }
    }
}

impl BasicAuthCache {
    fn key(&self, username: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(username.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// The password hash these credentials were verified against, if that
    /// happened within the last few minutes.
    pub fn verified_hash(&self, username: &str, password: &str, now: Instant) -> Option<String> {
        let key = self.key(username, password);
        let entries = self.entries.lock().ok()?;
        entries
            .get(&key)
            .filter(|e| now.duration_since(e.verified_at) < TTL)
            .map(|e| e.password_hash.clone())
    }

    /// Waits until no other request is verifying these same credentials;
    /// hold the guard while verifying, then check the cache again.
    pub async fn one_at_a_time(
        &self,
        username: &str,
        password: &str,
    ) -> tokio::sync::OwnedMutexGuard<()> {
        let key = self.key(username, password);
        let lock = {
            let mut flights = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            // Drop locks nobody holds or waits for: the map stays as small
            // as the number of credentials being verified right now.
            flights.retain(|_, l| std::sync::Arc::strong_count(l) > 1);
            flights.entry(key).or_default().clone()
        };
        lock.lock_owned().await
    }

    pub fn remember(&self, username: &str, password: &str, password_hash: &str, now: Instant) {
        let key = self.key(username, password);
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now.duration_since(e.verified_at) < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                password_hash: password_hash.to_owned(),
                verified_at: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_a_while_and_only_the_exact_credentials() {
        let cache = BasicAuthCache::default();
        let t0 = Instant::now();
        cache.remember("alice", "pw-1", "$argon2id$h1", t0);
        assert_eq!(
            cache.verified_hash("alice", "pw-1", t0).as_deref(),
            Some("$argon2id$h1")
        );
        assert_eq!(cache.verified_hash("alice", "pw-2", t0), None);
        assert_eq!(cache.verified_hash("alicepw-1", "", t0), None);
        assert_eq!(cache.verified_hash("bob", "pw-1", t0), None);
        assert_eq!(cache.verified_hash("alice", "pw-1", t0 + TTL), None);
    }

    #[test]
    fn keys_differ_between_processes() {
        let (a, b) = (BasicAuthCache::default(), BasicAuthCache::default());
        assert_ne!(a.key("alice", "pw"), b.key("alice", "pw"));
    }
}
