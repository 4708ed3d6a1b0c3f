//! Notifications: one event sent to one webhook, and the attempts to deliver it.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use uuid::Uuid;

use super::event_code::EventCode;
use super::pm_code::PmCode;
use super::problem::{quote, ErrorCode, Problem};
use super::webhook::WebhookId;

/// A notification id: a UUID, written lower-case and hyphenated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationId(Uuid);

impl NotificationId {
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn parse(raw: &str) -> Result<Self, Problem> {
        Uuid::parse_str(raw).map(Self).map_err(|_| {
            Problem::at(
                ErrorCode::InvalidNotificationId,
                "notificationIds",
                format!("{} is not a valid notification id (a UUID).", quote(raw)),
            )
        })
    }
}

impl fmt::Display for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Where a notification stands: `Pending` until a receiver answers 2xx
/// (`Delivered`) or the last retry fails (`Undelivered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    Pending,
    Delivered,
    Undelivered,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Delivered => "Delivered",
            Self::Undelivered => "Undelivered",
        }
    }
}

impl FromStr for NotificationStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Pending" => Ok(Self::Pending),
            "Delivered" => Ok(Self::Delivered),
            "Undelivered" => Ok(Self::Undelivered),
            other => Err(format!("unknown notification status {other:?}")),
        }
    }
}

/// One event for one webhook. `body` is the exact JSON envelope sent on every
/// attempt, so a receiver that checks a signature or deduplicates by body sees
/// the same bytes each time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub webhook_id: WebhookId,
    pub pm_code: PmCode,
    pub event_code: EventCode,
    pub body: String,
    pub status: NotificationStatus,
    pub created_time: OffsetDateTime,
    pub last_sent_time: Option<OffsetDateTime>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Attempts made before the current delivery cycle (a resend starts a new
    /// one); the retry schedule counts from here.
    pub cycle_start: u32,
    /// When the next attempt is due; `None` once the notification is final.
    pub next_attempt: Option<OffsetDateTime>,
}

impl Notification {
    /// A new notification, due at once.
    pub fn new(
        webhook_id: WebhookId,
        pm_code: PmCode,
        event_code: EventCode,
        id: NotificationId,
        body: String,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            webhook_id,
            pm_code,
            event_code,
            body,
            status: NotificationStatus::Pending,
            created_time: now,
            last_sent_time: None,
            attempts: 0,
            cycle_start: 0,
            next_attempt: Some(now),
        }
    }

    /// Failed attempts in the current delivery cycle.
    pub fn failures_this_cycle(&self) -> u32 {
        self.attempts.saturating_sub(self.cycle_start)
    }
}

/// What one delivery attempt saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub time: OffsetDateTime,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed; try again at this time.
    RetryAt(OffsetDateTime),
    /// It failed and there is no retry left.
    Undelivered,
    /// The receiver answered `410 Gone`: no retry, and the webhook is suspended.
    Gone,
}

/// What a resend request did with one notification id, in Thredd's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resend {
    /// A new delivery cycle started; the notification, now `Pending` and due.
    Initiated(Notification),
    /// The notification is still `Pending`: it is being delivered already.
    Unable,
    /// No such notification for this webhook.
    Invalid,
}

impl Resend {
    /// Thredd's `resendStatus`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Initiated(_) => "Resend request initiated",
            Self::Unable => "Unable to resend request",
            Self::Invalid => "Invalid notification details",
        }
    }
}
