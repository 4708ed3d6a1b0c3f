//! `GET /metrics`: the service's counters in the Prometheus (OpenMetrics) text
//! format. One process-wide registry, since requests, the writer thread, the
//! delivery engine and heartbeats all report to it; labels have bounded values
//! (route templates, not paths).

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::LazyLock;
use std::time::Duration;

use actix_web::http::Method;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
    heartbeats: Family<VerdictLabels, Counter>,
    deliveries: Family<OutcomeLabels, Counter>,
    delivery_queue: Gauge<i64, AtomicI64>,
    backlog_pending: Gauge<i64, AtomicI64>,
    backlog_overdue: Gauge<f64, AtomicU64>,
    backing_off: Gauge<i64, AtomicI64>,
    dead_tuples: Gauge<i64, AtomicI64>,
    claims_taken_over: Counter,
    batch_size: Histogram,
    commit_seconds: Histogram,
    streams: Gauge<i64, AtomicI64>,
    streams_dropped: Counter,
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// 100 us to about 6.5 s, doubling.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Metrics {
    fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_buckets as fn() -> Histogram,
        );
        let heartbeats = Family::<VerdictLabels, Counter>::default();
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        let delivery_queue = Gauge::<i64, AtomicI64>::default();
        let backlog_pending = Gauge::<i64, AtomicI64>::default();
        let backlog_overdue = Gauge::<f64, AtomicU64>::default();
        let backing_off = Gauge::<i64, AtomicI64>::default();
        let dead_tuples = Gauge::<i64, AtomicI64>::default();
        let claims_taken_over = Counter::default();
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        let commit_seconds = latency_buckets();
        let streams = Gauge::<i64, AtomicI64>::default();
        let streams_dropped = Counter::default();
        let mut registry = Registry::with_prefix("webhook_manager");
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            request_seconds.clone(),
        );
        registry.register(
            "heartbeats",
            "Heartbeats sent, by verdict",
            heartbeats.clone(),
        );
        registry.register(
            "deliveries",
            "Delivery attempts, by outcome (delivered, retry, undelivered, gone)",
            deliveries.clone(),
        );
        registry.register(
            "delivery_queue_depth",
            "Notifications claimed by this engine whose attempt is in flight",
            delivery_queue.clone(),
        );
        registry.register(
            "delivery_backlog_pending",
            "Pending notifications in the outbox, parked ones included (refreshed every 10 s)",
            backlog_pending.clone(),
        );
        registry.register(
            "delivery_backlog_overdue_seconds",
            "How long the most overdue pending notification has been due (refreshed every 10 s)",
            backlog_overdue.clone(),
        );
        registry.register(
            "delivery_webhooks_backing_off",
            "Webhooks whose queue backs off after failed attempts in a row (refreshed every 10 s)",
            backing_off.clone(),
        );
        registry.register(
            "store_dead_tuples",
            "PostgreSQL: dead row versions waiting for vacuum in the outbox's tables \
             (notifications, webhook_queues, queue_signals; refreshed every 10 s)",
            dead_tuples.clone(),
        );
        registry.register(
            "delivery_claims_taken_over",
            "Notifications claimed after another claim's lease lapsed (its engine stopped)",
            claims_taken_over.clone(),
        );
        registry.register(
            "db_write_batch_size",
            "Writes committed together in one transaction",
            batch_size.clone(),
        );
        registry.register(
            "db_commit_duration_seconds",
            "Time to run and commit one batch of writes",
            commit_seconds.clone(),
        );
        registry.register(
            "sandbox_streams",
            "Readers of the live JSON stream (GET /sandbox/v1/stream) now",
            streams.clone(),
        );
        registry.register(
            "sandbox_streams_dropped",
            "Live JSON streams ended because their reader fell behind",
            streams_dropped.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            heartbeats,
            deliveries,
            delivery_queue,
            backlog_pending,
            backlog_overdue,
            backing_off,
            dead_tuples,
            claims_taken_over,
            batch_size,
            commit_seconds,
            streams,
            streams_dropped,
        }
    }

    /// A live stream opened (`true`) or ended.
    pub fn stream(&self, opened: bool) {
        self.streams.inc_by(if opened { 1 } else { -1 });
    }

    /// A live stream dropped for falling behind.
    pub fn stream_dropped(&self) {
        self.streams_dropped.inc();
    }

    /// One answered request. `route` is the matched template, or `None` for a
    /// path no route matched.
    pub fn request(&self, route: Option<String>, method: &Method, status: u16, took: Duration) {
        let route = route.unwrap_or_else(|| "unmatched".to_owned());
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method: method_label(method),
                status,
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    pub fn heartbeat(&self, healthy: bool) {
        let verdict = if healthy { "healthy" } else { "unhealthy" };
        self.heartbeats
            .get_or_create(&VerdictLabels { verdict })
            .inc();
    }

    pub fn delivery(&self, outcome: &'static str) {
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn delivery_queue(&self, depth: usize) {
        self.delivery_queue
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    pub fn backlog(&self, pending: u64, overdue_seconds: f64, backing_off: u64) {
        self.backlog_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
        self.backlog_overdue.set(overdue_seconds);
        self.backing_off
            .set(i64::try_from(backing_off).unwrap_or(i64::MAX));
    }

    pub fn dead_tuples(&self, dead: u64) {
        self.dead_tuples
            .set(i64::try_from(dead).unwrap_or(i64::MAX));
    }

    pub fn claim_taken_over(&self) {
        self.claims_taken_over.inc();
    }

    pub fn commit(&self, batch: usize, took: Duration) {
        self.batch_size.observe(batch as f64);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    /// Everything, in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Methods as a bounded label: anything unusual is `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
