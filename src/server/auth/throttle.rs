//! Sign-in throttling (rules in `domain::throttle`), with its counters in
//! the database so all app servers share them, and a global bound on how
//! many password verifications run at once: each takes ~19 MiB and tens of
//! milliseconds of CPU, so an unbounded burst would exhaust the machine.
//!
//! Every password check goes through [`LoginThrottle::admit`] before the
//! verification and [`Admission::finish`] after it. A refused attempt costs
//! one short transaction and no hashing; the first refusal of a burst is
//! audited (in that transaction), the rest only logged.

use std::time::Duration;

use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    domain::{self, Counter, ThrottleLimits, Verdict},
    error::AppError,
    server::{
        db::{now_ms, Db},
        repo::{
            audit::{self, NewEvent, Origin},
            throttle as repo,
        },
    },
};

/// How long an attempt waits for a verification slot before it is told to
/// come back later.
const SLOT_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct LoginThrottle {
    limits: ThrottleLimits,
    slots: std::sync::Arc<Semaphore>,
    capacity: usize,
    /// The most verifications ever seen running at once (for tests and metrics).
    peak: std::sync::atomic::AtomicUsize,
}

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits, concurrent_verifications: usize) -> Self {
        let capacity = concurrent_verifications.max(1);
        Self {
            limits,
            slots: std::sync::Arc::new(Semaphore::new(capacity)),
            capacity,
            peak: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The most password verifications that have run at once.
    pub fn peak_verifications(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn limits(&self) -> &ThrottleLimits {
        &self.limits
    }

    /// Counts an attempt for `account` from `origin` and, if the limits
    /// allow, reserves a verification slot for it.
    pub async fn admit(
        &self,
        db: &Db,
        account: &str,
        origin: &Origin,
    ) -> Result<Admission, AppError> {
        let keys = Keys::new(account, origin.client_addr.as_deref());
        let now = now_ms();
        let mut tx = db.begin().await?;
        let (mut pair, mut client, mut acct) = keys.lock(db, &mut tx).await?;
        let verdict = domain::reserve(&mut pair, client.as_mut(), &mut acct, now, &self.limits);
        keys.store(&mut tx, &pair, client.as_ref(), &acct).await?;
        match verdict {
            Verdict::Admit => {}
            Verdict::Refuse {
                limit,
                retry_after_ms,
                first_in_burst,
            } => {
                let retry_after_secs = u64::try_from((retry_after_ms + 999) / 1000).unwrap_or(1);
                tracing::warn!(
                    user = account, client = ?origin.client_addr, ?limit, retry_after_secs,
                    "sign-in throttled"
                );
                if first_in_burst {
                    let event = NewEvent {
                        actor: None,
                        origin,
                        action: "auth.throttled",
                        target_type: "user",
                        target_id: account,
                        details: json!({ "limit": limit, "retry_after_secs": retry_after_secs }),
                    };
                    audit::record(&mut tx, event, now).await?;
                }
                tx.commit().await?;
                return Err(AppError::RateLimited { retry_after_secs });
            }
        }
        tx.commit().await?;
        let slot = match tokio::time::timeout(SLOT_WAIT, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            _ => {
                // Too busy to verify: the attempt is given back, not counted.
                tracing::warn!(user = account, "no password verification slot free");
                let mut tx = db.begin().await?;
                let (mut pair, mut client, acct) = keys.lock(db, &mut tx).await?;
                domain::release(&mut pair, client.as_mut());
                keys.store(&mut tx, &pair, client.as_ref(), &acct).await?;
                tx.commit().await?;
                return Err(AppError::RateLimited {
                    retry_after_secs: 1,
                });
            }
        };
        let running = self.capacity - self.slots.available_permits();
        self.peak
            .fetch_max(running, std::sync::atomic::Ordering::Relaxed);
        Ok(Admission {
            keys,
            limits: self.limits,
            _slot: slot,
        })
    }
}

/// An admitted attempt: holds its verification slot until finished.
pub struct Admission {
    keys: Keys,
    limits: ThrottleLimits,
    _slot: OwnedSemaphorePermit,
}

impl Admission {
    /// Records the verification's outcome (and frees the slot).
    pub async fn finish(self, db: &Db, succeeded: bool) -> Result<(), AppError> {
        let Admission {
            keys,
            limits,
            _slot,
        } = self;
        drop(_slot);
        let mut tx = db.begin().await?;
        let (mut pair, mut client, mut acct) = keys.lock(db, &mut tx).await?;
        domain::record_outcome(
            &mut pair,
            client.as_mut(),
            &mut acct,
            succeeded,
            now_ms(),
            &limits,
        );
        keys.store(&mut tx, &pair, client.as_ref(), &acct).await?;
        Ok(tx.commit().await?)
    }
}

/// The counter keys of one attempt. An unknown client address shares one
/// client counter and one pair per account, which is the safe side.
#[derive(Debug, Clone)]
struct Keys {
    pair: String,
    client: Option<String>,
    account: String,
}

impl Keys {
    fn new(account: &str, client: Option<&str>) -> Self {
        let client = client.unwrap_or("unknown");
        Self {
            pair: format!("pair:{account}|{client}"),
            client: Some(format!("client:{client}")),
            account: format!("account:{account}"),
        }
    }

    fn all(&self) -> Vec<&str> {
        let mut keys = vec![self.pair.as_str(), self.account.as_str()];
        if let Some(c) = &self.client {
            keys.push(c);
        }
        keys
    }

    /// Locks the three counters in `tx`: (pair, client, account).
    async fn lock(
        &self,
        db: &Db,
        tx: &mut sqlx::AnyConnection,
    ) -> Result<(Counter, Option<Counter>, Counter), AppError> {
        let mut counters = repo::lock(tx, db.backend(), &self.all()).await?;
        let pair = counters.remove(&self.pair).unwrap_or_default();
        let client = self
            .client
            .as_ref()
            .map(|k| counters.remove(k).unwrap_or_default());
        let account = counters.remove(&self.account).unwrap_or_default();
        Ok((pair, client, account))
    }

    async fn store(
        &self,
        conn: &mut sqlx::AnyConnection,
        pair: &Counter,
        client: Option<&Counter>,
        account: &Counter,
    ) -> Result<(), AppError> {
        repo::store(conn, &self.pair, pair).await?;
        if let (Some(key), Some(c)) = (&self.client, client) {
            repo::store(conn, key, c).await?;
        }
        repo::store(conn, &self.account, account).await?;
        Ok(())
    }
}

/// Drops counters that have expired; run periodically.
pub async fn sweep(db: &Db, limits: &ThrottleLimits) -> Result<u64, AppError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let removed = repo::sweep(&mut tx, now - limits.window_ms, now).await?;
    tx.commit().await?;
    Ok(removed)
}
