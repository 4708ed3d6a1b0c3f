//! The heartbeat: one POST to a webhook's URL, now, and the verdict on what came back.

use std::io;
use std::time::{Duration, Instant};

use awc::error::{ConnectError, SendRequestError};
use awc::http::header::{HeaderName, HeaderValue};
use awc::{Client, Connector};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::config::HeartbeatSettings;
use crate::domain::{now_utc, HealthStatus, Heartbeat, Webhook};

pub const USER_AGENT: &str = concat!("webhook-manager/", env!("CARGO_PKG_VERSION"));

/// The outbound HTTP client. `awc::Client` is single-threaded, so each worker
/// builds one at start (in the app factory) and reuses its connection pool for
/// every heartbeat; no request builds its own.
pub struct HeartbeatClient {
    client: Client,
    timeout: Duration,
    connect_timeout: Duration,
}

impl HeartbeatClient {
    pub fn new(settings: &HeartbeatSettings) -> Self {
        let client = Client::builder()
            .connector(Connector::new().timeout(settings.connect_timeout()))
            .timeout(settings.timeout())
            // A redirect is an answer, not health: follow none, so 3xx is unhealthy.
            .disable_redirects()
            .no_default_headers()
            .finish();
        Self {
            client,
            timeout: settings.timeout(),
            connect_timeout: settings.connect_timeout(),
        }
    }

    /// Calls the webhook and judges it: healthy iff a 2xx status line arrives within
    /// the timeout. Never fails; every problem is part of the verdict.
    pub async fn check(&self, webhook: &Webhook) -> Heartbeat {
        let sent_at = OffsetDateTime::now_utc();
        let body = json!({"context": {
            "notificationType": "heartbeat",
            "webhookId": webhook.id.to_string(),
            "notificationTime": notification_time(sent_at),
        }});
        let mut request = self
            .client
            .post(webhook.config.url.as_str())
            .insert_header(("User-Agent", USER_AGENT));
        for (name, value) in webhook.config.custom_headers.iter() {
            // Names and values were validated on the way in; a pair the HTTP
            // library still refuses is skipped rather than failing the heartbeat.
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                request = request.insert_header((name, value));
            }
        }
        let started = Instant::now();
        let outcome = request.send_json(&body).await;
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
            Err(e) => (HealthStatus::Unhealthy, None, Some(self.describe(&e))),
        };
        Heartbeat {
            health_status,
            http_status,
            latency_ms,
            error,
            checked_time: now_utc(),
        }
    }

    /// A short reason a person can act on.
    fn describe(&self, error: &SendRequestError) -> String {
        match error {
            SendRequestError::Timeout => format!("timeout after {} ms", self.timeout.as_millis()),
            SendRequestError::Connect(ConnectError::Timeout) => {
                format!(
                    "connect timeout after {} ms",
                    self.connect_timeout.as_millis()
                )
            }
            SendRequestError::Connect(ConnectError::Io(e)) => describe_io(e),
            SendRequestError::Connect(
                ConnectError::Resolver(_) | ConnectError::NoRecords | ConnectError::Unresolved,
            ) => "host name could not be resolved".into(),
            SendRequestError::Connect(other) => format!("connection failed: {other}"),
            SendRequestError::Send(e) => format!("sending failed: {}", describe_io(e)),
            SendRequestError::Response(e) => format!("invalid HTTP response: {e}"),
            SendRequestError::Url(e) => format!("invalid URL: {e}"),
            other => other.to_string(),
        }
    }
}

fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::TimedOut => "connection timed out".into(),
        // rustls reports handshake and certificate failures as InvalidData.
        io::ErrorKind::InvalidData => format!("TLS handshake failed: {error}"),
        _ => error.to_string(),
    }
}

/// Notification times carry milliseconds: `2024-01-24T23:20:28.123Z`.
pub fn notification_time(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_else(|_| at.format(&Rfc3339).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_time_has_milliseconds() {
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(1_706_138_428_123_456_789).expect("valid");
        assert_eq!(notification_time(at), "2024-01-24T23:20:28.123Z");
    }

    #[test]
    fn io_errors_are_named() {
        let cases = [
            (io::ErrorKind::ConnectionRefused, "connection refused"),
            (io::ErrorKind::ConnectionReset, "connection reset"),
            (io::ErrorKind::TimedOut, "connection timed out"),
        ];
        for (kind, expected) in cases {
            assert_eq!(describe_io(&io::Error::from(kind)), expected, "{kind:?}");
        }
    }
}
