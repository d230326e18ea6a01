//! Prometheus metrics (OpenMetrics text, from the `prometheus-client`
//! crate): requests and their latency by route template and status, bytes
//! uploaded, and — read when scraped — database pool use, the webhook
//! queue (pending and failed deliveries) and the audit chain's length.
//! Served at `/metrics` to admins, and without credentials on
//! `REGISTRY_METRICS_ADDR` when that is set (an address only the
//! monitoring network reaches).

use std::sync::atomic::AtomicI64;

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

use super::{db::Db, repo};
use crate::error::AppError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route template (`/api/v1/models/{name}`), never the raw path:
    /// the number of series stays bounded whatever clients send.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    upload_bytes: Counter,
    pool_connections: Gauge<i64, AtomicI64>,
    pool_idle: Gauge<i64, AtomicI64>,
    webhooks_pending: Gauge<i64, AtomicI64>,
    webhooks_failed: Gauge<i64, AtomicI64>,
    audit_events: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("registry");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to ~16 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let upload_bytes = Counter::default();
        let gauges: [Gauge<i64, AtomicI64>; 5] = Default::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (headers), by method and route template",
            latency.clone(),
        );
        registry.register(
            "upload_bytes",
            "Artifact bytes received into the store",
            upload_bytes.clone(),
        );
        let [pool_connections, pool_idle, webhooks_pending, webhooks_failed, audit_events] = gauges;
        for (name, help, gauge) in [
            (
                "db_pool_connections",
                "Open database connections",
                &pool_connections,
            ),
            (
                "db_pool_idle_connections",
                "Idle database connections",
                &pool_idle,
            ),
            (
                "webhook_deliveries_pending",
                "Webhook deliveries waiting to be sent",
                &webhooks_pending,
            ),
            (
                "webhook_deliveries_failed",
                "Webhook deliveries given up on",
                &webhooks_failed,
            ),
            (
                "audit_chain_events",
                "Events in the audit chain (the newest id)",
                &audit_events,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        Self {
            registry,
            requests,
            latency,
            upload_bytes,
            pool_connections,
            pool_idle,
            webhooks_pending,
            webhooks_failed,
            audit_events,
        }
    }
}

impl Metrics {
    pub fn uploaded(&self, bytes: usize) {
        self.upload_bytes.inc_by(bytes as u64);
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// The text exposition, with the gauges read now.
    pub async fn render(&self, db: &Db) -> Result<String, AppError> {
        let pool = db.pool();
        self.pool_connections.set(i64::from(pool.size()));
        self.pool_idle
            .set(i64::try_from(pool.num_idle()).unwrap_or(i64::MAX));
        let (pending, failed) = repo::webhooks::queue_counts(pool).await?;
        self.webhooks_pending.set(pending);
        self.webhooks_failed.set(failed);
        self.audit_events
            .set(repo::audit::count_events(pool).await?);
        let mut out = String::new();
        encode(&mut out, &self.registry).map_err(|_| AppError::Internal)?;
        Ok(out)
    }
}

/// The content type of the OpenMetrics text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
