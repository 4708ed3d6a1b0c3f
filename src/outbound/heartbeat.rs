//! The heartbeat: one POST to a webhook's URL, now, and the verdict on what came back.

use std::sync::Arc;
use std::time::Instant;

use awc::http::header::{HeaderValue, CONTENT_TYPE};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::HeartbeatSettings;
use crate::domain::time::rfc3339_millis;
use crate::domain::{BlockedNetworks, Clock, HealthStatus, Heartbeat, Webhook};
use crate::metrics::METRICS;
use crate::outbound::live::LiveSettings;
use crate::outbound::Outbound;

/// The heartbeat's outbound client. `awc::Client` is single-threaded, so each
/// worker builds one at start (in the app factory) and reuses its connection pool
/// for every heartbeat; no request builds its own.
pub struct HeartbeatClient {
    outbound: Outbound,
    /// With `delivery.signing_secret` (as in effect now): heartbeats are
    /// signed as deliveries are, so a receiver that requires signatures
    /// answers them too.
    delivery: Arc<LiveSettings>,
    /// The service's clock, for the times a heartbeat carries.
    clock: Arc<dyn Clock>,
}

impl HeartbeatClient {
    pub fn new(
        settings: &HeartbeatSettings,
        blocked: BlockedNetworks,
        delivery: Arc<LiveSettings>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            outbound: Outbound::new(settings.connect_timeout(), settings.timeout(), 100, blocked),
            delivery,
            clock,
        }
    }

    /// Calls the webhook and judges it: healthy iff a 2xx status line arrives within
    /// the timeout. Never fails; every problem is part of the verdict.
    pub async fn ping(&self, webhook: &Webhook) -> Heartbeat {
        let verdict = self.judge(webhook).await;
        METRICS.heartbeat(verdict.health_status == HealthStatus::Healthy);
        verdict
    }

    async fn judge(&self, webhook: &Webhook) -> Heartbeat {
        let sent_at = self.clock.now();
        let body = json!({"context": {
            "notificationType": "heartbeat",
            "webhookId": webhook.id.to_string(),
            "notificationTime": rfc3339_millis(sent_at),
        }});
        if let Some(blocked) = self.outbound.refuses(webhook) {
            return Heartbeat {
                health_status: HealthStatus::Unhealthy,
                http_status: None,
                latency_ms: 0,
                error: Some(blocked.into()),
                checked_time: self.clock.now_seconds(),
            };
        }
        let body = body.to_string();
        let mut request = self
            .outbound
            .post(webhook)
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        if let Some(signer) = &self.delivery.now().signer {
            // A heartbeat is a message of its own: a new id each time.
            let id = format!("heartbeat_{}", Uuid::new_v4().simple());
            // The wall clock, as for deliveries (see `delivery`).
            let wall = OffsetDateTime::now_utc().unix_timestamp();
            for header in signer.headers(&id, wall, &body) {
                request = request.insert_header(header);
            }
        }
        let started = Instant::now();
        let outcome = request.send_body(body).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (health_status, http_status, error) = match outcome {
            Ok(response) if response.status().is_success() => (
                HealthStatus::Healthy,
                Some(response.status().as_u16()),
                None,
            ),
            Ok(response) => (
                HealthStatus::Unhealthy,
                Some(response.status().as_u16()),
                Some(format!("HTTP {}", response.status().as_u16())),
            ),
            Err(e) => (
                HealthStatus::Unhealthy,
                None,
                Some(self.outbound.describe(&e)),
            ),
        };
        Heartbeat {
            health_status,
            http_status,
            latency_ms,
            error,
            checked_time: self.clock.now_seconds(),
        }
    }
}
