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
#[path = "throttle_tests.rs"]
mod tests;
