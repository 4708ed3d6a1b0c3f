//! Which delivery attempts a test asks about: the journal's filters, the
//! conditions of wait and verify, and the near misses a failed verification
//! names. Pure rules over [`Delivery`] records; no I/O.

use serde_json::Value;
use time::OffsetDateTime;

use super::journal::{Delivery, Outcome};
use crate::domain::{EventCode, EventId, NotificationId, NotificationStatus, WebhookId};

/// Every criterion that is set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryMatch {
    pub webhook: Option<WebhookId>,
    pub event: Option<EventId>,
    pub event_code: Option<EventCode>,
    pub notification: Option<NotificationId>,
    pub outcome: Option<Outcome>,
    /// At or after this time.
    pub since: Option<OffsetDateTime>,
    /// The notification's status after the attempt.
    pub notification_status: Option<NotificationStatus>,
    /// Must be contained in the payload as delivered ([`contains`]).
    pub payload: Option<Value>,
}

/// One criterion of a [`DeliveryMatch`] that an attempt fails, named as the
/// request names it.
pub type Miss = &'static str;

impl DeliveryMatch {
    pub fn matches(&self, d: &Delivery) -> bool {
        self.misses(d).is_empty()
    }

    /// The criteria `d` fails, in the order of the fields.
    pub fn misses(&self, d: &Delivery) -> Vec<Miss> {
        let mut misses = Vec::new();
        let mut check = |name: Miss, holds: bool| {
            if !holds {
                misses.push(name);
            }
        };
        check("webhookId", self.webhook.is_none_or(|w| w == d.webhook_id));
        check("eventId", self.event.is_none_or(|e| Some(e) == d.event_id));
        check(
            "eventCode",
            self.event_code.is_none_or(|c| c == d.event_code),
        );
        check(
            "notificationId",
            self.notification.is_none_or(|n| n == d.notification_id),
        );
        check("outcome", self.outcome.is_none_or(|o| o == d.outcome));
        check("since", self.since.is_none_or(|t| d.time >= t));
        check(
            "notificationStatus",
            self.notification_status
                .is_none_or(|s| s == d.notification_status),
        );
        check(
            "payload",
            self.payload
                .as_ref()
                .is_none_or(|p| contains(&d.payload(), p)),
        );
        misses
    }
}

/// Whether `part` is contained in `whole`: an object's every key must be in
/// `whole` with a contained value (other keys may be there too); arrays must
/// have the same length with each element contained; anything else must be
/// equal.
pub fn contains(whole: &Value, part: &Value) -> bool {
    match (whole, part) {
        (Value::Object(whole), Value::Object(part)) => part
            .iter()
            .all(|(k, v)| whole.get(k).is_some_and(|w| contains(w, v))),
        (Value::Array(whole), Value::Array(part)) => {
            whole.len() == part.len() && whole.iter().zip(part).all(|(w, p)| contains(w, p))
        }
        (whole, part) => whole == part,
    }
}

/// How many attempts a verification expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Exactly(usize),
    AtLeast(usize),
    AtMost(usize),
}

impl Expected {
    pub fn holds(self, found: usize) -> bool {
        match self {
            Self::Exactly(n) => found == n,
            Self::AtLeast(n) => found >= n,
            Self::AtMost(n) => found <= n,
        }
    }

    fn describe(self) -> String {
        match self {
            Self::Exactly(n) => format!("exactly {n}"),
            Self::AtLeast(n) => format!("at least {n}"),
            Self::AtMost(n) => format!("at most {n}"),
        }
    }
}

/// The most near misses a failed verification names.
pub const NEAR_MISSES: usize = 3;

/// A verification over `journal` (oldest first): `Ok(found)` when the count
/// holds, else how many were found and the message a test runner prints as
/// it is: what was expected, what was found, and up to [`NEAR_MISSES`]
/// attempts that fail exactly one criterion, newest first, each with what
/// differs.
pub fn verify(
    journal: &mut dyn DoubleEndedIterator<Item = &Delivery>,
    wanted: &DeliveryMatch,
    expected: Expected,
    described: &str,
) -> Result<usize, (usize, String)> {
    let mut found = 0;
    let mut near = Vec::new();
    for d in journal.rev() {
        let misses = wanted.misses(d);
        match misses.as_slice() {
            [] => found += 1,
            [one] if near.len() < NEAR_MISSES => near.push((d, *one)),
            _ => {}
        }
    }
    if expected.holds(found) {
        return Ok(found);
    }
    let mut message = format!(
        "Expected {} delivery attempts matching {described}, found {found}.",
        expected.describe()
    );
    if near.is_empty() {
        message.push_str(" No attempt differs in only one criterion.");
    } else {
        message.push_str(" Near misses (one criterion differs):");
        for (d, miss) in near {
            message.push_str(&format!(
                " attempt {} of notification {} (event {}, webhook {}): {miss} was {};",
                d.attempt,
                d.notification_id,
                d.event_code,
                d.webhook_id,
                d.describe(miss)
            ));
        }
        message.pop();
        message.push('.');
    }
    Err((found, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containment_of_objects_arrays_and_values() {
        let whole = json!({"a": 1, "b": {"c": "x", "d": [1, 2]}, "e": null});
        let cases = [
            (json!({}), true),
            (json!({"a": 1}), true),
            (json!({"b": {"c": "x"}}), true),
            (json!({"b": {"d": [1, 2]}}), true),
            (json!({"b": {"d": [1]}}), false),
            (json!({"a": "1"}), false),
            (json!({"z": 1}), false),
            (json!({"e": null}), true),
        ];
        for (part, expected) in cases {
            assert_eq!(contains(&whole, &part), expected, "{part}");
        }
    }

    #[test]
    fn expected_counts() {
        assert!(Expected::Exactly(2).holds(2));
        assert!(!Expected::Exactly(2).holds(3));
        assert!(Expected::AtLeast(2).holds(3));
        assert!(!Expected::AtLeast(2).holds(1));
        assert!(Expected::AtMost(0).holds(0));
        assert!(!Expected::AtMost(0).holds(1));
    }
}
