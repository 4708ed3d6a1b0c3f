//! An event as triggered, and which webhooks receive it (API.md section 8).

use serde_json::Value;
use time::OffsetDateTime;

use super::event_code::EventCode;
use super::event_payload::{envelope, sample};
use super::notification::{Notification, NotificationId};
use super::pm_code::PmCode;
use super::webhook::{ProductId, Webhook, WebhookStatus};

/// One event: whose, for which product, which code, and what it carries (a
/// sample with Thredd's documented fields when the trigger gave none).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub pm: PmCode,
    pub product: Option<ProductId>,
    pub code: EventCode,
    pub payload: Option<Value>,
}

impl Webhook {
    /// Whether this webhook receives `event`: active, the event's program
    /// manager, subscribed to the code, and program-manager-level or for the
    /// event's product.
    pub fn receives(&self, event: &Event) -> bool {
        self.status == WebhookStatus::Active
            && self.pm_code == event.pm
            && self.events.contains(event.code)
            && self
                .product_id
                .is_none_or(|product| Some(product) == event.product)
    }
}

impl Event {
    /// One new notification, due at once, for each webhook that receives the
    /// event. All of them carry the same payload and the same time `now`.
    pub fn fan_out<'a>(
        &self,
        webhooks: impl IntoIterator<Item = &'a Webhook>,
        now: OffsetDateTime,
    ) -> Vec<Notification> {
        let mut receivers = webhooks.into_iter().filter(|w| w.receives(self)).peekable();
        if receivers.peek().is_none() {
            return Vec::new();
        }
        let sampled;
        let payload = match &self.payload {
            Some(payload) => payload,
            None => {
                sampled = sample(self.code, &self.pm, self.product, now);
                &sampled
            }
        };
        receivers
            .map(|webhook| {
                let id = NotificationId::generate();
                let body = envelope(id, self.code, payload, now);
                Notification::new(webhook.id, self.pm.clone(), self.code, id, body, now)
            })
            .collect()
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
        assert_eq!(fanned.len(), 2);
        for n in &fanned {
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
        let body: Value = serde_json::from_str(&fanned[0].body).expect("json");
        assert_eq!(
            body["payload"],
            json!({"a": 1}),
            "a given payload is sent as given"
        );
    }
}
