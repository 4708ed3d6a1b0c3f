//! An event as triggered, and which webhooks receive it (API.md section 8).

use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::event_code::EventCode;
use super::event_payload::{envelope, sample};
use super::notification::{Notification, NotificationId};
use super::pm_code::PmCode;
use super::problem::{quote, ErrorCode, Problem};
use super::webhook::{ProductId, Webhook, WebhookId, WebhookStatus};

/// An event id: a time-ordered UUID (version 7), like a notification's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Uuid);

impl EventId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// `field` names where it was read, for the problem.
    pub fn parse(raw: &str, field: &str) -> Result<Self, Problem> {
        Uuid::parse_str(raw).map(Self).map_err(|_| {
            Problem::at(
                ErrorCode::InvalidRequestBody,
                field,
                format!("{} is not a valid event id (a UUID).", quote(raw)),
            )
        })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// One event: whose, for which product, which code, and what it carries (a
/// sample with Thredd's documented fields when the trigger gave none).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub pm: PmCode,
    pub product: Option<ProductId>,
    pub code: EventCode,
    pub payload: Option<Value>,
}

/// Why one of the program manager's webhooks got no notification of an event.
/// When several hold, the first in this order is given: what the webhook is
/// set up to receive, then its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not subscribed to the event's code.
    NotSubscribed,
    /// For another product than the event's (or the event has none).
    OtherProduct,
    /// Set inactive.
    WebhookInactive,
    /// Suspended (after failures, or a `410 Gone`).
    WebhookSuspended,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotSubscribed => "NOT_SUBSCRIBED",
            Self::OtherProduct => "OTHER_PRODUCT",
            Self::WebhookInactive => "WEBHOOK_INACTIVE",
            Self::WebhookSuspended => "WEBHOOK_SUSPENDED",
        }
    }
}

impl Webhook {
    /// Whether this webhook receives `event`: active, the event's program
    /// manager, subscribed to the code, and program-manager-level or for the
    /// event's product.
    pub fn receives(&self, event: &Event) -> bool {
        self.pm_code == event.pm && self.skips(event).is_none()
    }

    /// Why this webhook (of the event's program manager) gets no notification
    /// of `event`; `None` when it gets one.
    pub fn skips(&self, event: &Event) -> Option<Skip> {
        if !self.events.contains(event.code) {
            Some(Skip::NotSubscribed)
        } else if self
            .product_id
            .is_some_and(|product| Some(product) != event.product)
        {
            Some(Skip::OtherProduct)
        } else {
            match self.status {
                WebhookStatus::Active => None,
                WebhookStatus::Inactive => Some(Skip::WebhookInactive),
                WebhookStatus::Suspended => Some(Skip::WebhookSuspended),
            }
        }
    }
}

/// What became of one event: the payload it carried (the sample, when the
/// trigger gave none), a notification for each webhook that receives it, and
/// for each other webhook of its program manager, why not.
#[derive(Debug, Clone, PartialEq)]
pub struct FanOut {
    pub payload: Value,
    pub notifications: Vec<Notification>,
    pub skipped: Vec<(WebhookId, Skip)>,
}

impl Event {
    /// The event sent to the program manager's `webhooks`: a notification,
    /// due at once, for each one that receives it, and the reason for each
    /// one that does not. Webhooks of other program managers are left out.
    pub fn fan_out<'a>(
        &self,
        webhooks: impl IntoIterator<Item = &'a Webhook>,
        now: OffsetDateTime,
    ) -> FanOut {
        let mut receivers = Vec::new();
        let mut skipped = Vec::new();
        for webhook in webhooks.into_iter().filter(|w| w.pm_code == self.pm) {
            match webhook.skips(self) {
                None => receivers.push(webhook),
                Some(reason) => skipped.push((webhook.id, reason)),
            }
        }
        let payload = match &self.payload {
            Some(payload) => payload.clone(),
            None => sample(self.code, &self.pm, self.product, now),
        };
        let notifications = receivers
            .into_iter()
            .map(|webhook| {
                let id = NotificationId::generate();
                let body = envelope(id, self.code, &payload, now);
                Notification::new(webhook.id, self.pm.clone(), self.code, id, body, now)
            })
            .collect();
        FanOut {
            payload,
            notifications,
            skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        CustomHeaders, EventSet, WebhookConfig, WebhookId, WebhookSpec, WebhookUrl,
    };
    use serde_json::json;
    use time::macros::datetime;

    fn code(n: i64) -> EventCode {
        EventCode::from_number(n, "events").expect("catalogued")
    }

    fn webhook(pm: &str, product: Option<u64>, events: &[i64], status: WebhookStatus) -> Webhook {
        let spec = WebhookSpec {
            product_id: product.map(ProductId::from_stored),
            events: events.iter().map(|n| code(*n)).collect::<EventSet>(),
            status: Some(status),
            config: WebhookConfig {
                url: WebhookUrl::parse("https://a.example/", false).expect("url"),
                custom_headers: CustomHeaders::default(),
            },
        };
        let at = datetime!(2024-01-24 00:00 UTC);
        Webhook::create(
            WebhookId::generate(),
            PmCode::parse(pm).expect("pm"),
            spec,
            at,
        )
    }

    #[test]
    fn who_receives_an_event() {
        use WebhookStatus::*;
        let event = Event {
            pm: PmCode::parse("TRD").expect("pm"),
            product: Some(ProductId::from_stored(7)),
            code: code(101),
            payload: None,
        };
        let cases = [
            (
                "pm-level, subscribed",
                webhook("TRD", None, &[101], Active),
                true,
            ),
            (
                "same product",
                webhook("TRD", Some(7), &[101, 102], Active),
                true,
            ),
            (
                "other product",
                webhook("TRD", Some(8), &[101], Active),
                false,
            ),
            (
                "not subscribed",
                webhook("TRD", None, &[102], Active),
                false,
            ),
            ("other pm", webhook("ABC", None, &[101], Active), false),
            ("inactive", webhook("TRD", None, &[101], Inactive), false),
            ("suspended", webhook("TRD", None, &[101], Suspended), false),
        ];
        let not_subscribed_and_inactive = webhook("TRD", None, &[102], Inactive);
        assert_eq!(
            not_subscribed_and_inactive.skips(&event),
            Some(Skip::NotSubscribed),
            "what it is set up to receive comes before its status"
        );
        for (name, w, expected) in &cases {
            assert_eq!(w.receives(&event), *expected, "{name}");
        }
        let pm_level_only = Event {
            product: None,
            ..event.clone()
        };
        assert!(
            !webhook("TRD", Some(7), &[101], Active).receives(&pm_level_only),
            "a product webhook needs the product"
        );
        assert!(webhook("TRD", None, &[101], Active).receives(&pm_level_only));

        let now = datetime!(2024-01-24 23:20:28 UTC);
        let fanned = event.fan_out(cases.iter().map(|(_, w, _)| w), now);
        assert_eq!(fanned.notifications.len(), 2);
        let reasons: Vec<&str> = fanned.skipped.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "OTHER_PRODUCT",
                "NOT_SUBSCRIBED",
                "WEBHOOK_INACTIVE",
                "WEBHOOK_SUSPENDED"
            ],
            "every other webhook of the program manager, with its reason; another program manager's are left out"
        );
        for n in &fanned.notifications {
            assert_eq!(
                (n.created_time, n.next_attempt),
                (now, Some(now)),
                "one clock"
            );
            let body: Value = serde_json::from_str(&n.body).expect("json");
            assert_eq!(body["context"]["notificationTime"], "2024-01-24T23:20:28Z");
            assert_eq!(body["context"]["notificationId"], n.id.to_string());
        }
        let given = Event {
            payload: Some(json!({"a": 1})),
            ..event
        };
        let fanned = given.fan_out([&cases[0].1], now);
        assert_eq!(fanned.payload, json!({"a": 1}));
        let body: Value = serde_json::from_str(&fanned.notifications[0].body).expect("json");
        assert_eq!(
            body["payload"],
            json!({"a": 1}),
            "a given payload is sent as given"
        );
    }
}
