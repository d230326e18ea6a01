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
        .filter(|_| reserve(&mut pair, Some(&mut client), &mut account, 0, &L) == Verdict::Admit)
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
