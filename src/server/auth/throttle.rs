//! Failed sign-in throttling, per account and per client address, in memory.
//! Several app servers each keep their own counts: an attacker spreading
//! guesses over N servers gets N times the budget, still far below useful.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug)]
pub struct LoginThrottle {
    window: Duration,
    per_account: u32,
    per_address: u32,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

const MAX_TRACKED_KEYS: usize = 100_000;

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(Duration::from_secs(15 * 60), 5, 30)
    }
}

impl LoginThrottle {
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        Self {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether another attempt is allowed now for this account and address.
    pub fn allows(&self, account: &str, address: Option<&str>, now: Instant) -> bool {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let within = |key: &str, limit: u32| match map.get(key) {
            Some((count, since)) if now.duration_since(*since) < self.window => *count < limit,
            _ => true,
        };
        within(&account_key(account), self.per_account)
            && address.is_none_or(|a| within(&address_key(a), self.per_address))
    }

    pub fn record_failure(&self, account: &str, address: Option<&str>, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED_KEYS {
            map.retain(|_, (_, since)| now.duration_since(*since) < self.window);
        }
        let keys = [Some(account_key(account)), address.map(address_key)];
        for key in keys.into_iter().flatten() {
            let entry = map.entry(key).or_insert((0, now));
            if now.duration_since(entry.1) >= self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// A successful sign-in clears the account's count (not the address's).
    pub fn record_success(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&account_key(account));
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_its_limit_and_releases_after_the_window() {
        let t = LoginThrottle::new(Duration::from_secs(60), 3, 100);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(t.allows("alice", Some("10.0.0.1"), start));
            t.record_failure("alice", Some("10.0.0.1"), start);
        }
        assert!(!t.allows("alice", Some("10.0.0.2"), start));
        assert!(t.allows("bob", Some("10.0.0.1"), start));
        assert!(t.allows("alice", None, start + Duration::from_secs(61)));
    }

    #[test]
    fn limits_an_address_across_accounts() {
        let t = LoginThrottle::new(Duration::from_secs(60), 100, 2);
        let now = Instant::now();
        t.record_failure("a", Some("1.1.1.1"), now);
        t.record_failure("b", Some("1.1.1.1"), now);
        assert!(!t.allows("c", Some("1.1.1.1"), now));
        assert!(t.allows("c", Some("2.2.2.2"), now));
    }

    #[test]
    fn success_clears_the_account_count() {
        let t = LoginThrottle::new(Duration::from_secs(60), 2, 100);
        let now = Instant::now();
        t.record_failure("a", None, now);
        t.record_success("a");
        t.record_failure("a", None, now);
        assert!(t.allows("a", None, now));
    }
}
