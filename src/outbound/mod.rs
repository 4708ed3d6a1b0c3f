//! Calls from the service to webhook URLs (heartbeats and deliveries): one way to
//! build the client and its guard (no call to a blocked network, by address or
//! by name), send a webhook's custom headers, and name what went wrong. Beside
//! it: `signing` (the Standard Webhooks signature every call may carry) and
//! `heartbeat` (the thread that pings webhooks) and `live` (the delivery
//! settings in effect, which both read at each call).

pub mod heartbeat;
pub mod live;
pub mod signing;

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use std::{fmt, io};

use actix_tls::connect::{Connector as TcpConnector, Resolve, Resolver};
use awc::error::{ConnectError, SendRequestError};
use awc::http::header::{HeaderName, HeaderValue};
use awc::{Client, ClientRequest, Connector};

use crate::domain::{BlockedNetworks, Webhook};

pub const USER_AGENT: &str = concat!("webhook-manager/", env!("CARGO_PKG_VERSION"));

/// An outbound HTTP client with its timeouts. `awc::Client` is single-threaded:
/// build one per thread that sends, and reuse its connection pool.
pub struct Outbound {
    client: Client,
    timeout: Duration,
    connect_timeout: Duration,
    blocked: BlockedNetworks,
}

/// Why a call was not attempted: the URL's host is, or resolves only to,
/// addresses in `[security] blocked_networks`.
pub const BLOCKED: &str = "blocked address";

impl Outbound {
    /// `timeout` bounds a whole call, `connect_timeout` connecting (TCP and TLS)
    /// alone, `connections` the connections open at once. No call connects to an
    /// address in `blocked`.
    pub fn new(
        connect_timeout: Duration,
        timeout: Duration,
        connections: usize,
        blocked: BlockedNetworks,
    ) -> Self {
        // Host names are resolved here, and only the allowed addresses are handed
        // to the connector: the address checked is the address connected to, so a
        // name that resolves differently later (DNS rebinding) gains nothing.
        let resolver = Resolver::custom(GuardedResolver {
            blocked: blocked.clone(),
        });
        let tcp = TcpConnector::new(resolver).service();
        let client = Client::builder()
            .connector(
                Connector::new()
                    .connector(tcp)
                    .timeout(connect_timeout)
                    .limit(connections),
            )
            .timeout(timeout)
            // A redirect is an answer, not success: follow none, so 3xx is a failure.
            .disable_redirects()
            .no_default_headers()
            .finish();
        Self {
            client,
            timeout,
            connect_timeout,
            blocked,
        }
    }

    /// `Some(BLOCKED)` when the webhook's URL names a blocked address literally
    /// (the resolver never sees those); callers do not send then.
    pub fn refuses(&self, webhook: &Webhook) -> Option<&'static str> {
        self.blocked
            .literal_in(webhook.config.url.as_str())
            .map(|_| BLOCKED)
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
            SendRequestError::Connect(ConnectError::Resolver(e)) if e.is::<BlockedAddress>() => {
                BLOCKED.into()
            }
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

/// The resolver's refusal: every address the name resolved to is blocked.
#[derive(Debug)]
struct BlockedAddress;

impl fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(BLOCKED)
    }
}

impl StdError for BlockedAddress {}

/// Resolves host names like the system resolver, then drops blocked addresses.
struct GuardedResolver {
    blocked: BlockedNetworks,
}

type Lookup<'a> = Pin<Box<dyn Future<Output = Result<Vec<SocketAddr>, Box<dyn StdError>>> + 'a>>;

impl Resolve for GuardedResolver {
    fn lookup<'a>(&'a self, host: &'a str, port: u16) -> Lookup<'a> {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| !self.blocked.blocks(address.ip()))
                .collect();
            if allowed.is_empty() && !found.is_empty() {
                return Err(Box::new(BlockedAddress) as Box<dyn StdError>);
            }
            Ok(allowed)
        })
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
