//! Calls from the service to webhook URLs (heartbeats and deliveries): one way to
//! build the client, send a webhook's custom headers, and name what went wrong.

use std::io;
use std::time::Duration;

use awc::error::{ConnectError, SendRequestError};
use awc::http::header::{HeaderName, HeaderValue};
use awc::{Client, ClientRequest, Connector};

use crate::domain::Webhook;

pub const USER_AGENT: &str = concat!("webhook-manager/", env!("CARGO_PKG_VERSION"));

/// An outbound HTTP client with its timeouts. `awc::Client` is single-threaded:
/// build one per thread that sends, and reuse its connection pool.
pub struct Outbound {
    client: Client,
    timeout: Duration,
    connect_timeout: Duration,
}

impl Outbound {
    /// `timeout` bounds a whole call, `connect_timeout` connecting (TCP and TLS)
    /// alone, `connections` the connections open at once.
    pub fn new(connect_timeout: Duration, timeout: Duration, connections: usize) -> Self {
        let client = Client::builder()
            .connector(Connector::new().timeout(connect_timeout).limit(connections))
            .timeout(timeout)
            // A redirect is an answer, not success: follow none, so 3xx is a failure.
            .disable_redirects()
            .no_default_headers()
            .finish();
        Self {
            client,
            timeout,
            connect_timeout,
        }
    }

    /// A POST to the webhook's URL with its custom headers.
    pub fn post(&self, webhook: &Webhook) -> ClientRequest {
        let mut request = self
            .client
            .post(webhook.config.url.as_str())
            .insert_header(("User-Agent", USER_AGENT));
        for (name, value) in webhook.config.custom_headers.iter() {
            // Names and values were validated on the way in; a pair the HTTP
            // library still refuses is skipped rather than failing the call.
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                request = request.insert_header((name, value));
            }
        }
        request
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A short reason a person can act on.
    pub fn describe(&self, error: &SendRequestError) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
