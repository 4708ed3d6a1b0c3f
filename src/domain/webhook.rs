//! The webhook resource and the heartbeat verdict kept with it.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::custom_headers::CustomHeaders;
use super::event_code::{EventCode, EventSet};
use super::pm_code::PmCode;
use super::problem::{quote, ErrorCode, Problem};
use super::webhook_url::WebhookUrl;

/// A webhook id: a UUID, written lower-case and hyphenated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookId(Uuid);

impl WebhookId {
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses a path segment; any UUID form is accepted, the hyphenated one is canonical.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        Uuid::parse_str(raw).map(Self).map_err(|_| {
            Problem::at(
                ErrorCode::InvalidWebhookId,
                "webhookId",
                format!("{} is not a valid webhook id (a UUID).", quote(raw)),
            )
        })
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A product id: an integer from 0 to 2^53, so that every JSON client reads it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductId(u64);

impl ProductId {
    pub const MAX: u64 = 1 << 53;
    pub const FIELD: &'static str = "productId";

    /// `null` or absent means a program-manager-level webhook.
    pub fn from_json(value: &Value) -> Result<Option<Self>, Problem> {
        match value {
            Value::Null => Ok(None),
            Value::Number(n) => match n.as_u64() {
                Some(id) if id <= Self::MAX => Ok(Some(Self(id))),
                _ => Err(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    Self::FIELD,
                    format!(
                        "productId must be an integer from 0 to {}; got {n}.",
                        Self::MAX
                    ),
                )),
            },
            _ => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                Self::FIELD,
                "productId must be an integer.",
            )),
        }
    }

    /// Rebuilds a product id read back from storage.
    pub fn from_stored(id: u64) -> Self {
        Self(id)
    }

    pub fn value(self) -> u64 {
        self.0
    }
}

/// Whether a webhook receives notifications. `Suspended` is only ever set by the
/// service itself; clients choose between `Active` and `Inactive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    Active,
    Inactive,
    Suspended,
}

impl WebhookStatus {
    pub const FIELD: &'static str = "webhookStatus";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Suspended => "suspended",
        }
    }

    /// A status a client may ask for: `active` or `inactive`.
    pub fn from_json(value: &Value) -> Result<Self, Problem> {
        match value.as_str() {
            Some("active") => Ok(Self::Active),
            Some("inactive") => Ok(Self::Inactive),
            _ => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                Self::FIELD,
                format!(
                    "webhookStatus must be \"active\" or \"inactive\"; got {}.",
                    quote(&value.to_string())
                ),
            )),
        }
    }
}

impl FromStr for WebhookStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            "suspended" => Ok(Self::Suspended),
            other => Err(format!("unknown webhook status {other:?}")),
        }
    }
}

/// Why a change to a webhook is refused: each is an expected outcome a client
/// can cause, answered as a 4xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the webhook already has status {}", .0.as_str())]
    SameStatus(WebhookStatus),
    #[error("the webhook is already subscribed to event {0}")]
    AlreadySubscribed(EventCode),
    #[error("the webhook is not subscribed to event {0}")]
    NotSubscribed(EventCode),
    /// A full update named another program manager than the webhook's.
    #[error("a webhook's program manager cannot change")]
    OwnerChange,
    /// Resend needs an active webhook.
    #[error("the webhook is {}, not active", .0.as_str())]
    NotActive(WebhookStatus),
}

/// Where and how the service calls the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub url: WebhookUrl,
    pub custom_headers: CustomHeaders,
}

/// What a client sets on create and replaces on a full update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    pub product_id: Option<ProductId>,
    pub events: EventSet,
    /// `None`: active on create, unchanged on update.
    pub status: Option<WebhookStatus>,
    pub config: WebhookConfig,
}

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub pm_code: PmCode,
    pub product_id: Option<ProductId>,
    pub events: EventSet,
    pub status: WebhookStatus,
    pub config: WebhookConfig,
    pub created_time: OffsetDateTime,
    pub last_modified_time: OffsetDateTime,
    pub last_heartbeat: Option<Heartbeat>,
}

impl Webhook {
    pub fn create(id: WebhookId, pm_code: PmCode, spec: WebhookSpec, now: OffsetDateTime) -> Self {
        Self {
            id,
            pm_code,
            product_id: spec.product_id,
            events: spec.events,
            status: spec.status.unwrap_or(WebhookStatus::Active),
            config: spec.config,
            created_time: now,
            last_modified_time: now,
            last_heartbeat: None,
        }
    }

    /// Replaces everything a client may set; what the spec leaves out is cleared,
    /// except the status, which is kept unless the spec names one. A body that
    /// names a program manager must name this webhook's own: the owner never changes.
    pub fn replace(
        &mut self,
        named_owner: Option<&PmCode>,
        spec: WebhookSpec,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        if named_owner.is_some_and(|pm| *pm != self.pm_code) {
            return Err(Refusal::OwnerChange);
        }
        self.product_id = spec.product_id;
        self.events = spec.events;
        if let Some(status) = spec.status {
            self.status = status;
        }
        self.config = spec.config;
        self.last_modified_time = now;
        Ok(())
    }

    /// Sets the status a client asked for; the status it already has is refused.
    pub fn set_status(
        &mut self,
        status: WebhookStatus,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        if self.status == status {
            return Err(Refusal::SameStatus(status));
        }
        self.status = status;
        self.last_modified_time = now;
        Ok(())
    }

    /// Adds every code of `events`; if any is subscribed already, adds none.
    pub fn subscribe(&mut self, events: &EventSet, now: OffsetDateTime) -> Result<(), Refusal> {
        if let Some(code) = events.iter().find(|code| self.events.contains(*code)) {
            return Err(Refusal::AlreadySubscribed(code));
        }
        for code in events.iter() {
            self.events.insert(code);
        }
        self.last_modified_time = now;
        Ok(())
    }

    /// Removes one subscribed code.
    pub fn unsubscribe(&mut self, code: EventCode, now: OffsetDateTime) -> Result<(), Refusal> {
        if !self.events.remove(code) {
            return Err(Refusal::NotSubscribed(code));
        }
        self.last_modified_time = now;
        Ok(())
    }

    /// Keeps the last heartbeat verdict. This is an observation, not a client's
    /// change, so `last_modified_time` stays as it was.
    pub fn record_heartbeat(&mut self, heartbeat: Heartbeat) {
        self.last_heartbeat = Some(heartbeat);
    }

    /// The service suspends an active webhook whose receiver is gone or keeps
    /// failing (see `notification::suspends`); any other status is left as it
    /// is, so a client's `inactive` is never overwritten. Answers whether it did.
    pub fn suspend(&mut self, now: OffsetDateTime) -> bool {
        if self.status != WebhookStatus::Active {
            return false;
        }
        self.status = WebhookStatus::Suspended;
        self.last_modified_time = now;
        true
    }

    /// Notifications are resent only to an active webhook.
    pub fn accepts_resend(&self) -> Result<(), Refusal> {
        match self.status {
            WebhookStatus::Active => Ok(()),
            status => Err(Refusal::NotActive(status)),
        }
    }

    /// Whether `caller` may see this webhook: `None` is an unscoped caller.
    pub fn visible_to(&self, caller: Option<&PmCode>) -> bool {
        caller.is_none_or(|pm| *pm == self.pm_code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

impl FromStr for HealthStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "healthy" => Ok(Self::Healthy),
            "unhealthy" => Ok(Self::Unhealthy),
            other => Err(format!("unknown health status {other:?}")),
        }
    }
}

/// The verdict of one heartbeat and what was seen on the way to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub health_status: HealthStatus,
    pub http_status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    pub checked_time: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn product_id_rules() {
        let cases = [
            (json!(null), Ok(None)),
            (json!(0), Ok(Some(0))),
            (json!(12345), Ok(Some(12345))),
            (json!(9007199254740992u64), Ok(Some(ProductId::MAX))),
            (
                json!(9007199254740993u64),
                Err(ErrorCode::InvalidRequestBody),
            ),
            (json!(-1), Err(ErrorCode::InvalidRequestBody)),
            (json!(1.5), Err(ErrorCode::InvalidRequestBody)),
            (json!("12345"), Err(ErrorCode::InvalidRequestBody)),
            (json!(true), Err(ErrorCode::InvalidRequestBody)),
        ];
        for (value, expected) in cases {
            let got = ProductId::from_json(&value)
                .map(|p| p.map(ProductId::value))
                .map_err(|p| p.code);
            assert_eq!(got, expected, "case {value}");
        }
    }

    #[test]
    fn status_rules() {
        let cases = [
            (json!("active"), Ok(WebhookStatus::Active)),
            (json!("inactive"), Ok(WebhookStatus::Inactive)),
            (json!("suspended"), Err(ErrorCode::InvalidRequestBody)),
            (json!("Active"), Err(ErrorCode::InvalidRequestBody)),
            (json!(1), Err(ErrorCode::InvalidRequestBody)),
            (json!(null), Err(ErrorCode::InvalidRequestBody)),
        ];
        for (value, expected) in cases {
            let got = WebhookStatus::from_json(&value).map_err(|p| p.code);
            assert_eq!(got, expected, "case {value}");
        }
    }

    #[test]
    fn webhook_id_rules() {
        let cases = [
            ("af2d48de-2ad7-42f8-a252-8422cd9e6078", true),
            ("AF2D48DE-2AD7-42F8-A252-8422CD9E6078", true),
            ("not-a-uuid", false),
            ("af2d48de-2ad7-42f8-a252-8422cd9e607", false),
            ("", false),
        ];
        for (raw, ok) in cases {
            let got = WebhookId::parse(raw);
            assert_eq!(got.is_ok(), ok, "case {raw:?}");
            if let Ok(id) = got {
                assert_eq!(
                    id.to_string(),
                    raw.to_ascii_lowercase(),
                    "canonical form of {raw:?}"
                );
            }
        }
    }
}
