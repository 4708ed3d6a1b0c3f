//! The webhook resource and the heartbeat verdict kept with it.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::custom_headers::CustomHeaders;
use super::event_code::{EventCode, EventSet};
use super::pm_code::PmCode;
use super::problem::{quote, whole_number, ErrorCode, Problem};
use super::webhook_url::WebhookUrl;

/// A webhook id: a UUID, written lower-case and hyphenated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookId(Uuid);

impl WebhookId {
    /// The greatest id: an upper bound for ordered keys that end in an id.
    pub const LAST: Self = Self(Uuid::max());

    /// A new id: time-ordered (UUID version 7), like notification ids, so a
    /// new webhook's row is appended to the end of the id index instead of
    /// dirtying a random page of it (the id carries nothing the resource's
    /// `createdTime` does not show already).
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
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
            // `12345.0` is the same JSON number (and a JSON Schema integer).
            Value::Number(n) => match whole_number(value) {
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
    /// "Deliver now" needs a pending notification; this one's status is
    /// named (by name: the notification's module depends on this one).
    #[error("the notification is {0}, not pending")]
    NotPending(&'static str),
    /// A Transaction Confirmation configuration's status change to the
    /// status it has (by name, as for `NotPending`).
    #[error("the configuration is already {0}")]
    ConfigurationStatus(&'static str),
    /// A Fraud Alert Response through a notification that did not carry the alert.
    #[error("the notification did not carry this fraud alert")]
    NotTheAlertsNotification,
    /// A second Fraud Alert Response (the first answer is named).
    #[error("the fraud alert was answered {0} already")]
    AlertAnswered(&'static str),
    /// A Fraud Alert Response after the alert expired.
    #[error("the fraud alert has expired")]
    AlertExpired,
    /// A program manager has as many configurations as it may.
    #[error("the program manager has {0} configurations, the most it may have")]
    TooManyConfigurations(usize),
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
    use crate::domain::WebhookUrl;
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
            (json!(12345.0), Ok(Some(12345))),
            (json!(-1.0), Err(ErrorCode::InvalidRequestBody)),
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

    fn webhook(status: WebhookStatus) -> Webhook {
        let spec = WebhookSpec {
            product_id: None,
            events: [101, 102]
                .into_iter()
                .map(|n| EventCode::from_number(n, "events").expect("code"))
                .collect(),
            status: Some(status),
            config: WebhookConfig {
                url: WebhookUrl::parse("https://a.example/", false).expect("url"),
                custom_headers: CustomHeaders::default(),
            },
        };
        let at = OffsetDateTime::UNIX_EPOCH;
        Webhook::create(
            WebhookId::generate(),
            PmCode::parse("TRD").expect("pm"),
            spec,
            at,
        )
    }

    /// Each change a client can ask for: what it does, what it refuses, and that
    /// a refused change leaves the webhook exactly as it was.
    #[test]
    fn change_rules() {
        use WebhookStatus::*;
        type Change = fn(&mut Webhook, OffsetDateTime) -> Result<(), Refusal>;
        let code = |n| EventCode::from_number(n, "events").expect("code");
        let set = |codes: &[i64]| codes.iter().map(|n| code(*n)).collect::<EventSet>();
        let cases: [(&str, WebhookStatus, Change, Result<(), Refusal>); 10] = [
            (
                "deactivate",
                Active,
                |w, t| w.set_status(Inactive, t),
                Ok(()),
            ),
            (
                "same status",
                Active,
                |w, t| w.set_status(Active, t),
                Err(Refusal::SameStatus(Active)),
            ),
            (
                "resume a suspended one",
                Suspended,
                |w, t| w.set_status(Active, t),
                Ok(()),
            ),
            (
                "subscribe",
                Active,
                |w, t| {
                    w.subscribe(
                        &[103, 117]
                            .iter()
                            .map(|n| EventCode::from_number(*n, "e").expect("code"))
                            .collect(),
                        t,
                    )
                },
                Ok(()),
            ),
            (
                "subscribe one already there",
                Active,
                |w, t| {
                    w.subscribe(
                        &[103, 102]
                            .iter()
                            .map(|n| EventCode::from_number(*n, "e").expect("code"))
                            .collect(),
                        t,
                    )
                },
                Err(Refusal::AlreadySubscribed(
                    EventCode::from_number(102, "e").expect("code"),
                )),
            ),
            (
                "unsubscribe",
                Active,
                |w, t| w.unsubscribe(EventCode::from_number(101, "e").expect("code"), t),
                Ok(()),
            ),
            (
                "unsubscribe one not there",
                Active,
                |w, t| w.unsubscribe(EventCode::from_number(103, "e").expect("code"), t),
                Err(Refusal::NotSubscribed(
                    EventCode::from_number(103, "e").expect("code"),
                )),
            ),
            (
                "replace, same owner",
                Active,
                |w, t| {
                    let spec = WebhookSpec {
                        product_id: Some(ProductId(4)),
                        events: EventSet::default(),
                        status: None,
                        config: w.config.clone(),
                    };
                    let owner = w.pm_code.clone();
                    w.replace(Some(&owner), spec, t)
                },
                Ok(()),
            ),
            (
                "replace, another owner",
                Active,
                |w, t| {
                    let spec = WebhookSpec {
                        product_id: None,
                        events: EventSet::default(),
                        status: None,
                        config: w.config.clone(),
                    };
                    w.replace(Some(&PmCode::parse("ABC").expect("pm")), spec, t)
                },
                Err(Refusal::OwnerChange),
            ),
            (
                "resend needs active",
                Inactive,
                |w, _| w.accepts_resend(),
                Err(Refusal::NotActive(Inactive)),
            ),
        ];
        let later = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(60);
        for (name, status, change, expected) in cases {
            let mut w = webhook(status);
            let before = w.clone();
            assert_eq!(change(&mut w, later), expected, "{name}");
            match expected {
                Ok(()) if name != "resend needs active" => {
                    assert_eq!(w.last_modified_time, later, "{name}: modified time");
                    assert_eq!(w.created_time, before.created_time, "{name}: created time");
                }
                _ => assert_eq!(w, before, "{name}: a refusal changes nothing"),
            }
        }
        let mut w = webhook(Active);
        w.subscribe(&set(&[103]), later).expect("subscribe");
        assert_eq!(w.events, set(&[101, 102, 103]));
    }

    #[test]
    fn only_an_active_webhook_is_suspended_and_a_heartbeat_is_not_a_change() {
        use WebhookStatus::*;
        let later = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(60);
        for (status, suspended) in [(Active, true), (Inactive, false), (Suspended, false)] {
            let mut w = webhook(status);
            assert_eq!(w.suspend(later), suspended, "{status:?}");
            let expected = if suspended { Suspended } else { status };
            assert_eq!(
                w.status, expected,
                "{status:?}: a client's inactive is kept"
            );
        }
        let mut w = webhook(Active);
        let heartbeat = Heartbeat {
            health_status: HealthStatus::Healthy,
            http_status: Some(200),
            latency_ms: 3,
            error: None,
            checked_time: later,
        };
        w.record_heartbeat(heartbeat.clone());
        assert_eq!(w.last_heartbeat, Some(heartbeat));
        assert_eq!(
            w.last_modified_time,
            OffsetDateTime::UNIX_EPOCH,
            "an observation, not a change"
        );
    }
}
