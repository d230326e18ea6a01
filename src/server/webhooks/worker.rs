//! The delivery worker: leases due deliveries, POSTs them (signed, pinned
//! to addresses it has checked), and records the outcome, retrying with
//! exponential backoff. Delivery is at least once: a crash between sending
//! and recording means the lease expires and the delivery is sent again.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use futures_util::future::join_all;
use reqwest::{header, redirect::Policy, Client};
use tokio::{sync::watch, task::JoinHandle};
use url::{Host, Url};

use super::{backoff_ms, signature};
use crate::{
    domain::address_allowed,
    server::{
        config::WebhookConfig,
        db::now_ms,
        repo::webhooks::{self as repo, Claimed, Outcome, WebhookRow},
        state::AppState,
    },
};

/// Deliveries claimed (and sent concurrently) per round.
const BATCH: i64 = 64;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Well over a send's timeout, so a live worker never loses its lease, yet
/// short enough that a crashed one's deliveries resume soon after restart.
const LEASE_MS: i64 = 60_000;
const RETRY_CAP_MS: u64 = 60 * 60 * 1000;
/// Stored errors are for people reading the delivery log; keep them short.
const ERROR_MAX_CHARS: usize = 500;

pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(run(state, stop))
}

/// Waits for the worker to finish its round after `stop` was signalled;
/// a round ends within the send timeout, so this never hangs shutdown.
pub async fn stop(handle: JoinHandle<()>) {
    let abort = handle.abort_handle();
    if tokio::time::timeout(SEND_TIMEOUT + Duration::from_secs(5), handle)
        .await
        .is_err()
    {
        abort.abort();
    }
}

async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let sent = match run_once(&state).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "webhook worker: could not claim deliveries");
                0
            }
        };
        // After a busy round, look again at once: more may be due.
        if sent > 0 {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(state.config.webhooks.poll_interval) => {}
            _ = state.webhook_wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// One round: claim what is due, send it all, record every outcome in one
/// transaction (a write per delivery would compete with the registrations
/// that enqueue them for SQLite's one writer). Returns how many deliveries
/// were attempted.
pub async fn run_once(state: &AppState) -> Result<usize, sqlx::Error> {
    if !repo::any_due(state.db.pool(), now_ms()).await? {
        return Ok(0);
    }
    let mut tx = state.db.begin().await?;
    let claimed = repo::claim_due(&mut tx, state.db.backend(), now_ms(), LEASE_MS, BATCH).await?;
    tx.commit().await?;
    let count = claimed.len();
    // Each endpoint is read, resolved and given its pinned client once a
    // round, not once a delivery, all endpoints at once.
    let mut ids: Vec<i64> = claimed.iter().map(|d| d.webhook_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let endpoints: HashMap<i64, Endpoint> = join_all(ids.into_iter().map(|id| async move {
        match repo::find(state.db.pool(), id).await {
            Ok(Some(hook)) => Some((id, Endpoint::open(hook, &state.config.webhooks).await)),
            // Deleted meanwhile: its deliveries went with it.
            Ok(None) => None,
            // The lease expires and the delivery is tried again later.
            Err(e) => {
                tracing::warn!(error = %e, webhook = id, "webhook worker: cannot read the endpoint");
                None
            }
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    let sends = claimed.iter().filter_map(|d| {
        let endpoint = endpoints.get(&d.webhook_id)?;
        Some(async move { (d, endpoint.send(d).await) })
    });
    let results = join_all(sends).await;
    let now = now_ms();
    let outcomes: Vec<(i64, Outcome)> = results
        .iter()
        .map(|(delivery, result)| {
            (
                delivery.id,
                outcome(&state.config.webhooks, delivery, result, now),
            )
        })
        .collect();
    let recorded = async {
        let mut tx = state.db.begin().await?;
        for (id, outcome) in outcomes {
            repo::record_attempt(&mut tx, id, outcome, now).await?;
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = recorded {
        // Sent but not recorded: the leases expire and they are sent again
        // (receivers dedupe by delivery id).
        tracing::warn!(error = %e, deliveries = results.len(), "webhook worker: cannot record attempts");
    }
    Ok(count)
}

/// What a send's result means for the delivery: done, again later, or given up.
fn outcome<'a>(
    config: &WebhookConfig,
    delivery: &Claimed,
    result: &'a Result<i64, Failure>,
    now: i64,
) -> Outcome<'a> {
    match result {
        Ok(status) => Outcome::Delivered { status: *status },
        Err(f) => {
            tracing::info!(delivery = %delivery.delivery_uuid, attempt = delivery.attempts, error = %f.error, "webhook delivery failed");
            if delivery.attempts >= i64::from(config.max_attempts) {
                return Outcome::Failed {
                    status: f.status,
                    error: &f.error,
                };
            }
            let base_ms = u64::try_from(config.retry_base.as_millis()).unwrap_or(u64::MAX);
            let attempts = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
            let delay = backoff_ms(base_ms, attempts, RETRY_CAP_MS.max(base_ms), rand::random());
            Outcome::Retry {
                status: f.status,
                error: &f.error,
                next_attempt_at: now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX)),
            }
        }
    }
}

#[derive(Clone)]
struct Failure {
    status: Option<i64>,
    error: String,
}

fn failure(status: Option<i64>, error: impl Into<String>) -> Failure {
    let error: String = error.into();
    Failure {
        status,
        error: error.chars().take(ERROR_MAX_CHARS).collect(),
    }
}

/// A receiver for one round: its row and a client pinned to the addresses
/// it was checked to resolve to (or why there is none).
struct Endpoint {
    hook: WebhookRow,
    client: Result<(Url, Client), Failure>,
}

impl Endpoint {
    async fn open(hook: WebhookRow, config: &WebhookConfig) -> Self {
        let client = match Url::parse(&hook.url) {
            Ok(url) => pinned_client(&url, config.allow_link_local)
                .await
                .map(|client| (url, client)),
            Err(e) => Err(failure(None, format!("the stored URL is not valid: {e}"))),
        };
        Self { hook, client }
    }

    /// POSTs one delivery; `Ok` carries the 2xx status.
    async fn send(&self, d: &Claimed) -> Result<i64, Failure> {
        let (url, client) = self.client.as_ref().map_err(Clone::clone)?;
        let timestamp = now_ms() / 1000;
        let response = client
            .post(url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-Registry-Delivery", &d.delivery_uuid)
            .header("X-Registry-Event", &d.event_type)
            .header("X-Registry-Timestamp", timestamp.to_string())
            .header(
                "X-Registry-Signature",
                signature(&self.hook.secret, timestamp, &d.payload),
            )
            .body(d.payload.clone())
            .send()
            .await
            .map_err(|e| failure(None, describe(&e)))?;
        let status = response.status();
        let code = i64::from(status.as_u16());
        if status.is_success() {
            Ok(code)
        } else if status.is_redirection() {
            Err(failure(
                Some(code),
                format!("HTTP {code}: redirects are not followed; register the final URL"),
            ))
        } else {
            Err(failure(Some(code), format!("HTTP {code}")))
        }
    }
}

/// A client that connects only to addresses checked here: the host is
/// resolved once, every address must be allowed, and the connection is
/// pinned to them, so a DNS answer cannot change between check and use.
/// No proxy (it would connect on our behalf, unchecked), no redirects.
async fn pinned_client(url: &Url, allow_link_local: bool) -> Result<Client, Failure> {
    let refused = |what: &str, ip: IpAddr| {
        failure(
            None,
            format!("refused: {what} is {ip}, a link-local, metadata or unspecified address"),
        )
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| failure(None, "the URL has no port"))?;
    let mut builder = Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(Policy::none())
        .no_proxy()
        .user_agent(concat!(
            "model-registry-webhooks/",
            env!("CARGO_PKG_VERSION")
        ));
    match url.host() {
        None => return Err(failure(None, "the URL has no host")),
        Some(Host::Ipv4(ip)) if !address_allowed(IpAddr::V4(ip), allow_link_local) => {
            return Err(refused("the host", IpAddr::V4(ip)))
        }
        Some(Host::Ipv6(ip)) if !address_allowed(IpAddr::V6(ip), allow_link_local) => {
            return Err(refused("the host", IpAddr::V6(ip)))
        }
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => {}
        Some(Host::Domain(name)) => {
            let lookup = tokio::time::timeout(SEND_TIMEOUT, tokio::net::lookup_host((name, port)));
            let addrs: Vec<_> = lookup
                .await
                .map_err(|_| failure(None, format!("cannot resolve {name}: timed out")))?
                .map_err(|e| failure(None, format!("cannot resolve {name}: {e}")))?
                .collect();
            if addrs.is_empty() {
                return Err(failure(None, format!("{name} resolves to no address")));
            }
            if let Some(bad) = addrs
                .iter()
                .find(|a| !address_allowed(a.ip(), allow_link_local))
            {
                return Err(refused(&format!("an address of {name}"), bad.ip()));
            }
            builder = builder.resolve_to_addrs(name, &addrs);
        }
    }
    builder.build().map_err(|e| {
        failure(
            None,
            format!("cannot set up the HTTP client: {}", describe(&e)),
        )
    })
}

/// The error with its causes ("connection refused" sits a few levels down).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        format!("timed out after {} s", SEND_TIMEOUT.as_secs())
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
