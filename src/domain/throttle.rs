//! Sign-in throttling, pure: which password attempts may be verified, and
//! what each outcome does to the counters.
//!
//! Three counters decide, each keyed and stored by the caller (one locked
//! row each, so several servers share them):
//! - the **pair** (account, client address): at most `per_pair` attempts per
//!   window, so one client cannot grind one account;
//! - the **client**: at most `per_client` attempts per window across
//!   accounts, so one client cannot spray many accounts;
//! - the **account**: after `account_free` failed verifications (from any
//!   clients) each further attempt must wait a delay that doubles per
//!   failure, up to `account_max_delay_ms`. A growing delay, never a hard
//!   lock: one client's burst can never lock the owner out (the pair limit
//!   stops it first), and a distributed one only slows everybody down.
//!
//! An attempt is *counted before it is verified* ([`reserve`]): parallel
//! guesses cannot slip through between the check and the count.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    pub window_ms: i64,
    pub per_pair: u32,
    pub per_client: u32,
    pub account_free: u32,
    pub account_base_delay_ms: i64,
    pub account_max_delay_ms: i64,
}

impl Default for ThrottleLimits {
    /// 5 attempts per (account, client) and 30 per client in 15 minutes;
    /// an account slows down after 10 failures (more than one client's
    /// pair limit), from 1 s doubling to 15 minutes.
    fn default() -> Self {
        Self {
            window_ms: 15 * 60 * 1000,
            per_pair: 5,
            per_client: 30,
            account_free: 10,
            account_base_delay_ms: 1000,
            account_max_delay_ms: 15 * 60 * 1000,
        }
    }
}

/// One counter's state. `count` is attempts (pair, client) or failures
/// (account) since `window_start`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub count: u32,
    pub window_start: i64,
    /// The account's next free slot, while it is slowed down.
    pub next_allowed_at: i64,
    /// Whether this window's refusals have been audited already: one event
    /// per burst, not one per refused attempt.
    pub refusal_logged: bool,
}

impl Counter {
    /// Starts a new window once the old one has passed.
    fn roll(&mut self, now: i64, window_ms: i64) {
        if now.saturating_sub(self.window_start) >= window_ms {
            *self = Counter {
                count: 0,
                window_start: now,
                next_allowed_at: self.next_allowed_at,
                refusal_logged: false,
            };
        }
    }

    /// True once nothing in it matters any more, so the row can be dropped.
    pub fn expired(&self, now: i64, limits: &ThrottleLimits) -> bool {
        now.saturating_sub(self.window_start) >= limits.window_ms && now >= self.next_allowed_at
    }
}

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Pair,
    Client,
    Account,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Verify the password, then call [`record_outcome`].
    Admit,
    Refuse {
        limit: Limit,
        retry_after_ms: i64,
        /// The first refusal of this burst: the one worth an audit event.
        first_in_burst: bool,
    },
}

/// The delay an account waits after `failures` failed verifications.
pub fn account_delay(failures: u32, limits: &ThrottleLimits) -> i64 {
    if failures < limits.account_free {
        return 0;
    }
    let doublings = (failures - limits.account_free).min(40);
    limits
        .account_base_delay_ms
        .saturating_mul(1i64 << doublings)
        .min(limits.account_max_delay_ms)
}

/// Decides whether an attempt may be verified, and counts it if so. The
/// caller holds all three counters locked and writes them back.
pub fn reserve(
    pair: &mut Counter,
    client: Option<&mut Counter>,
    account: &mut Counter,
    now: i64,
    limits: &ThrottleLimits,
) -> Verdict {
    pair.roll(now, limits.window_ms);
    account.roll(now, limits.window_ms);
    let mut client = client;
    if let Some(c) = client.as_deref_mut() {
        c.roll(now, limits.window_ms);
    }
    let refuse = |counter: &mut Counter, limit, retry_after_ms: i64| {
        let first_in_burst = !counter.refusal_logged;
        counter.refusal_logged = true;
        Verdict::Refuse {
            limit,
            retry_after_ms: retry_after_ms.max(1),
            first_in_burst,
        }
    };
    if pair.count >= limits.per_pair {
        let retry = pair.window_start + limits.window_ms - now;
        return refuse(pair, Limit::Pair, retry);
    }
    if let Some(c) = client.as_deref_mut() {
        if c.count >= limits.per_client {
            let retry = c.window_start + limits.window_ms - now;
            return refuse(c, Limit::Client, retry);
        }
    }
    if account.count >= limits.account_free && now < account.next_allowed_at {
        let retry = account.next_allowed_at - now;
        return refuse(account, Limit::Account, retry);
    }
    pair.count += 1;
    if let Some(c) = client {
        c.count += 1;
    }
    if account.count >= limits.account_free {
        // This attempt takes the slot; the next one waits the delay.
        account.next_allowed_at = now.saturating_add(account_delay(account.count, limits));
    }
    Verdict::Admit
}

/// Applies a verified attempt's outcome. A success clears the pair and the
/// account and gives the client its attempt back (people mistype); a
/// failure counts against the account.
pub fn record_outcome(
    pair: &mut Counter,
    client: Option<&mut Counter>,
    account: &mut Counter,
    succeeded: bool,
    now: i64,
    limits: &ThrottleLimits,
) {
    if succeeded {
        *pair = Counter::default();
        *account = Counter::default();
        if let Some(c) = client {
            c.count = c.count.saturating_sub(1);
        }
        return;
    }
    account.roll(now, limits.window_ms);
    if account.count == 0 {
        account.window_start = now;
    }
    account.count = account.count.saturating_add(1);
    let delay = account_delay(account.count, limits);
    if delay > 0 {
        account.next_allowed_at = account.next_allowed_at.max(now.saturating_add(delay));
    }
}

/// Gives back an admitted attempt that was never verified (the server was
/// too busy to verify it).
pub fn release(pair: &mut Counter, client: Option<&mut Counter>) {
    pair.count = pair.count.saturating_sub(1);
    if let Some(c) = client {
        c.count = c.count.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ThrottleLimits = ThrottleLimits {
        window_ms: 60_000,
        per_pair: 3,
        per_client: 5,
        account_free: 4,
        account_base_delay_ms: 1_000,
        account_max_delay_ms: 8_000,
    };

    struct World {
        pairs: std::collections::HashMap<(String, String), Counter>,
        clients: std::collections::HashMap<String, Counter>,
        accounts: std::collections::HashMap<String, Counter>,
    }

    impl World {
        fn new() -> Self {
            Self {
                pairs: Default::default(),
                clients: Default::default(),
                accounts: Default::default(),
            }
        }

        /// One attempt, verified as `correct` if admitted.
        fn attempt(&mut self, account: &str, client: &str, correct: bool, now: i64) -> Verdict {
            let key = (account.to_owned(), client.to_owned());
            let mut pair = self.pairs.get(&key).copied().unwrap_or_default();
            let mut c = self.clients.get(client).copied().unwrap_or_default();
            let mut a = self.accounts.get(account).copied().unwrap_or_default();
            let verdict = reserve(&mut pair, Some(&mut c), &mut a, now, &L);
            if verdict == Verdict::Admit {
                record_outcome(&mut pair, Some(&mut c), &mut a, correct, now, &L);
            }
            self.pairs.insert(key, pair);
            self.clients.insert(client.to_owned(), c);
            self.accounts.insert(account.to_owned(), a);
            verdict
        }
    }

    fn refused(v: Verdict) -> Option<Limit> {
        match v {
            Verdict::Refuse { limit, .. } => Some(limit),
            Verdict::Admit => None,
        }
    }

    #[test]
    fn a_burst_from_one_client_gets_only_the_pair_limit_verified() {
        let mut w = World::new();
        let admitted = (0..200)
            .filter(|_| w.attempt("admin", "10.0.0.9", false, 0) == Verdict::Admit)
            .count();
        assert_eq!(admitted, 3);
        // …and the owner, from their own address, still gets in at once.
        assert_eq!(w.attempt("admin", "10.0.0.1", true, 1), Verdict::Admit);
    }

    #[test]
    fn attempts_are_counted_before_they_are_verified() {
        // Reservations without outcomes (verifications still running) count.
        let mut pair = Counter::default();
        let mut client = Counter::default();
        let mut account = Counter::default();
        let admitted = (0..10)
            .filter(|_| {
                reserve(&mut pair, Some(&mut client), &mut account, 0, &L) == Verdict::Admit
            })
            .count();
        assert_eq!(admitted, 3);
    }

    #[test]
    fn only_the_first_refusal_of_a_burst_is_worth_an_event() {
        let mut w = World::new();
        for _ in 0..3 {
            w.attempt("a", "c", false, 0);
        }
        let firsts: Vec<bool> = (0..5)
            .map(|_| match w.attempt("a", "c", false, 1) {
                Verdict::Refuse { first_in_burst, .. } => first_in_burst,
                Verdict::Admit => panic!("admitted"),
            })
            .collect();
        assert_eq!(firsts, [true, false, false, false, false]);
        // A new window is a new burst.
        for _ in 0..3 {
            assert_eq!(w.attempt("a", "c", false, 60_001), Verdict::Admit);
        }
        assert!(matches!(
            w.attempt("a", "c", false, 60_002),
            Verdict::Refuse {
                first_in_burst: true,
                ..
            }
        ));
    }

    #[test]
    fn a_client_spraying_accounts_is_stopped_at_its_limit() {
        let mut w = World::new();
        let admitted = (0..20)
            .filter(|i| w.attempt(&format!("user{i}"), "6.6.6.6", false, 0) == Verdict::Admit)
            .count();
        assert_eq!(admitted, 5);
        assert_eq!(
            refused(w.attempt("user99", "6.6.6.6", true, 1)),
            Some(Limit::Client)
        );
        assert_eq!(w.attempt("user99", "7.7.7.7", true, 1), Verdict::Admit);
    }

    #[test]
    fn a_distributed_attack_slows_the_account_with_a_growing_delay() {
        let mut w = World::new();
        // Four clients, one failure each: the free failures are used up.
        for i in 0..4 {
            assert_eq!(
                w.attempt("admin", &format!("10.0.1.{i}"), false, 0),
                Verdict::Admit
            );
        }
        // From now on each attempt waits: 1 s, then 2 s, 4 s, 8 s (capped).
        let mut now = 0;
        for expected in [1_000, 2_000, 4_000, 8_000, 8_000] {
            match w.attempt("admin", "10.0.2.1", false, now + 1) {
                Verdict::Refuse {
                    limit: Limit::Account,
                    retry_after_ms,
                    ..
                } => {
                    assert!(retry_after_ms <= expected, "{retry_after_ms} > {expected}");
                    now += retry_after_ms + 1;
                }
                other => panic!("{other:?}"),
            }
            let client = format!("10.0.3.{expected}-{now}");
            assert_eq!(w.attempt("admin", &client, false, now), Verdict::Admit);
        }
        // The owner is delayed too, never locked out: after the wait they get in.
        let wait = match w.attempt("admin", "10.0.0.1", true, now) {
            Verdict::Refuse { retry_after_ms, .. } => retry_after_ms,
            Verdict::Admit => 0,
        };
        assert!(wait <= 8_000);
        assert_eq!(
            w.attempt("admin", "10.0.0.1", true, now + wait),
            Verdict::Admit
        );
        // A success clears the account.
        assert_eq!(w.accounts["admin"], Counter::default());
    }

    #[test]
    fn a_success_clears_the_pair_and_gives_the_client_its_attempt_back() {
        let mut w = World::new();
        w.attempt("a", "c", false, 0);
        w.attempt("a", "c", false, 0);
        assert_eq!(w.attempt("a", "c", true, 0), Verdict::Admit);
        assert_eq!(w.pairs[&("a".into(), "c".into())], Counter::default());
        assert_eq!(w.clients["c"].count, 2);
    }

    #[test]
    fn windows_end_and_expired_counters_can_be_dropped() {
        let mut w = World::new();
        for _ in 0..3 {
            w.attempt("a", "c", false, 0);
        }
        assert!(refused(w.attempt("a", "c", false, 59_999)).is_some());
        assert_eq!(w.attempt("a", "c", false, 60_000), Verdict::Admit);
        let pair = w.pairs[&("a".into(), "c".into())];
        assert!(!pair.expired(60_000, &L));
        assert!(pair.expired(120_000, &L));
    }

    #[test]
    fn released_attempts_are_not_counted() {
        let mut pair = Counter::default();
        let mut client = Counter::default();
        let mut account = Counter::default();
        for _ in 0..10 {
            assert_eq!(
                reserve(&mut pair, Some(&mut client), &mut account, 0, &L),
                Verdict::Admit
            );
            release(&mut pair, Some(&mut client));
        }
        assert_eq!((pair.count, client.count), (0, 0));
    }

    #[test]
    fn delays_double_and_saturate() {
        assert_eq!(account_delay(0, &L), 0);
        assert_eq!(account_delay(3, &L), 0);
        assert_eq!(account_delay(4, &L), 1_000);
        assert_eq!(account_delay(5, &L), 2_000);
        assert_eq!(account_delay(7, &L), 8_000);
        assert_eq!(account_delay(u32::MAX, &L), 8_000);
        let d = ThrottleLimits::default();
        assert_eq!(account_delay(u32::MAX, &d), d.account_max_delay_ms);
    }
}
