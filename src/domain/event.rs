//! An event as triggered, and which webhooks receive it (API.md section 8).

use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::configuration::Configuration;
use super::event_code::EventCode;
use super::event_payload::{documented_envelope, envelope, sample, EnvelopeForm};
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
    /// The envelope its notifications are sent in.
    pub envelope: EnvelopeForm,
}

/// Why one of the program manager's webhooks got no notification of an event.
/// When several hold, the first in this order is given, the order in which
/// a webhook is picked for an event: its product, its status, then what it
/// is subscribed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// For another product than the event's (or the event has none).
    OtherProduct,
    /// Set inactive.
    WebhookInactive,
    /// Suspended (after failures, or a `410 Gone`).
    WebhookSuspended,
    /// Not subscribed to the event's code.
    NotSubscribed,
    /// A 112 that no active Transaction Confirmation configuration of the
    /// program manager admits (for its product and message type): it reaches
    /// none of the webhooks that would have received it.
    NoConfiguration,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotSubscribed => "NOT_SUBSCRIBED",
            Self::OtherProduct => "OTHER_PRODUCT",
            Self::WebhookInactive => "WEBHOOK_INACTIVE",
            Self::WebhookSuspended => "WEBHOOK_SUSPENDED",
            Self::NoConfiguration => "NO_CONFIGURATION",
        }
    }
}

/// What picking a webhook for an event needs before its subscriptions: what
/// a store keeps of every webhook without reading its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookKeys {
    pub id: WebhookId,
    pub product_id: Option<ProductId>,
    pub status: WebhookStatus,
}

impl WebhookKeys {
    /// The reason a webhook with these keys gets no notification of `event`
    /// whatever it is subscribed to; `None`: it depends on its subscriptions.
    pub fn skips(&self, event: &Event) -> Option<Skip> {
        if self
            .product_id
            .is_some_and(|product| Some(product) != event.product)
        {
            return Some(Skip::OtherProduct);
        }
        match self.status {
            WebhookStatus::Active => None,
            WebhookStatus::Inactive => Some(Skip::WebhookInactive),
            WebhookStatus::Suspended => Some(Skip::WebhookSuspended),
        }
    }
}

impl Webhook {
    pub fn keys(&self) -> WebhookKeys {
        WebhookKeys {
            id: self.id,
            product_id: self.product_id,
            status: self.status,
        }
    }

    /// Whether this webhook receives `event`: the event's program manager,
    /// program-manager-level or for the event's product, active, and
    /// subscribed to the code.
    pub fn receives(&self, event: &Event) -> bool {
        self.pm_code == event.pm && self.skips(event).is_none()
    }

    /// Why this webhook (of the event's program manager) gets no notification
    /// of `event`; `None` when it gets one.
    pub fn skips(&self, event: &Event) -> Option<Skip> {
        self.keys()
            .skips(event)
            .or_else(|| (!self.events.contains(event.code)).then_some(Skip::NotSubscribed))
    }
}

impl FanOut {
    /// For an event that [`Event::needs_configuration`], a configuration must
    /// admit it (`Configuration::admits`, by its product and the payload's
    /// `mtid`): without one, each webhook that would have received it is
    /// skipped instead, `NO_CONFIGURATION`. Other codes pass as they are.
    pub fn confirmed(mut self, event: &Event, configurations: &[Configuration]) -> Self {
        if !event.needs_configuration() {
            return self;
        }
        let mtid = self
            .payload
            .get("mtid")
            .and_then(Value::as_str)
            .unwrap_or("");
        if configurations
            .iter()
            .any(|c| c.pm_code == event.pm && c.admits(event.product, mtid))
        {
            return self;
        }
        let stopped = std::mem::take(&mut self.notifications);
        self.skipped.extend(
            stopped
                .into_iter()
                .map(|n| (n.webhook_id, Skip::NoConfiguration)),
        );
        self
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
    /// Whether it reaches a webhook only through a Transaction Confirmation
    /// configuration (`FanOut::confirmed`): a 112, as Thredd's pages say.
    pub fn needs_configuration(&self) -> bool {
        self.code.value() == 112
    }

    /// The event sent to its program manager, whose webhooks' `keys` (every
    /// one, oldest first) and whose `candidates` (the active ones
    /// program-manager-level or for the event's product, as read whole) are
    /// given: a notification, due at once, for each candidate that receives
    /// it, and for each other webhook the reason it gets none. Only the
    /// candidates are read whole: a program manager's other webhooks are
    /// judged on their keys. (A webhook whose keys make it a candidate but
    /// that the candidates miss changed between the two reads; it is left out.)
    pub fn fan_out<'a>(
        &self,
        keys: &[WebhookKeys],
        candidates: impl IntoIterator<Item = &'a Webhook>,
        now: OffsetDateTime,
    ) -> FanOut {
        let candidates: Vec<&Webhook> = candidates
            .into_iter()
            .filter(|w| w.pm_code == self.pm)
            .collect();
        let payload = match &self.payload {
            Some(payload) => payload.clone(),
            None => sample(self.code, &self.pm, self.product, now),
        };
        let notifications: Vec<Notification> = candidates
            .iter()
            .filter(|w| w.receives(self))
            .map(|webhook| {
                let id = NotificationId::generate();
                let body = match self.envelope {
                    EnvelopeForm::Standard => envelope(id, self.code, &payload, now),
                    EnvelopeForm::Documented => {
                        documented_envelope(self.code, &self.pm, self.product, &payload, now)
                    }
                };
                Notification::new(webhook.id, self.pm.clone(), self.code, id, body, now)
            })
            .collect();
        let skipped = keys
            .iter()
            .filter(|k| !notifications.iter().any(|n| n.webhook_id == k.id))
            .filter_map(|k| {
                let reason = k.skips(self).or_else(|| {
                    candidates
                        .iter()
                        .find(|w| w.id == k.id)
                        .and_then(|w| w.skips(self))
                })?;
                Some((k.id, reason))
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
            envelope: EnvelopeForm::default(),
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
            Some(Skip::WebhookInactive),
            "its status comes before what it is subscribed to"
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
        let keys: Vec<WebhookKeys> = cases
            .iter()
            .filter(|(_, w, _)| w.pm_code == event.pm)
            .map(|(_, w, _)| w.keys())
            .collect();
        let candidates = cases.iter().map(|(_, w, _)| w).filter(|w| {
            w.status == Active && w.product_id.is_none_or(|p| Some(p) == event.product)
        });
        let fanned = event.fan_out(&keys, candidates, now);
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
        let fanned = given.fan_out(&[cases[0].1.keys()], [&cases[0].1], now);
        assert_eq!(fanned.payload, json!({"a": 1}));
        let body: Value = serde_json::from_str(&fanned.notifications[0].body).expect("json");
        assert_eq!(
            body["payload"],
            json!({"a": 1}),
            "a given payload is sent as given"
        );
    }
}
