//! Scenarios: Thredd's documented flows as events that share their ids, so a
//! client's code that follows one token, one alert or one card through
//! several notifications can be exercised without writing each payload by
//! hand.
//!
//! - `token-provisioning`: 106 (authorisation request), 107 (activation
//!   code), 108 (tokenisation complete) for one token: the same
//!   `publicToken`, `paymentToken`, `dpan`, `networkTokenReference`,
//!   `tokenRequestorId` and `provisioningTraceId` (the documented envelope's
//!   correlation id).
//! - `fraud-alert`: a 101, whose alert then waits for its Fraud Alert
//!   Response (`domain::fraud`).
//! - `card-lifecycle`: 103s for one card (`tokenId`) through a plausible
//!   order of statuses, each `oldCardStatus` the previous `newCardStatus`,
//!   their `dateTime`s a minute apart in order (Thredd tells clients to order
//!   103s by it).

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::event::Event;
use super::event_code::EventCode;
use super::event_payload::{sample, EnvelopeForm};
use super::pm_code::PmCode;
use super::time::rfc3339_seconds;
use super::webhook::ProductId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    TokenProvisioning,
    FraudAlert,
    CardLifecycle,
}

/// The fields of 106 that name the token: shared by every event of a
/// token-provisioning.
const TOKEN_IDS: [&str; 6] = [
    "publicToken",
    "paymentToken",
    "dpan",
    "networkTokenReference",
    "tokenRequestorId",
    "provisioningTraceId",
];

/// A card's statuses, in order: (old, new, message).
const LIFECYCLE: [(&str, &str, &str); 4] = [
    ("02", "00", "Card activated"),
    ("00", "62", "Card temporarily blocked"),
    ("62", "00", "Card unblocked"),
    ("00", "41", "Card reported lost"),
];

impl Scenario {
    pub const ALL: [Self; 3] = [
        Self::TokenProvisioning,
        Self::FraudAlert,
        Self::CardLifecycle,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::TokenProvisioning => "token-provisioning",
            Self::FraudAlert => "fraud-alert",
            Self::CardLifecycle => "card-lifecycle",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// One line for people (the dashboard, the 404 that lists them).
    pub fn description(self) -> &'static str {
        match self {
            Self::TokenProvisioning => "106, 107, 108 for one token",
            Self::FraudAlert => "a 101 whose alert waits for its Fraud Alert Response",
            Self::CardLifecycle => "103s for one card: activated, blocked, unblocked, lost",
        }
    }

    /// The codes of its events, in the order they are sent.
    pub fn codes(self) -> Vec<EventCode> {
        match self {
            Self::TokenProvisioning => vec![
                EventCode::TOKENISATION_REQUEST,
                EventCode::ACTIVATION_CODE,
                EventCode::TOKENISATION_COMPLETE,
            ],
            Self::FraudAlert => vec![EventCode::FRAUD_RULE_TRIGGERED],
            Self::CardLifecycle => vec![EventCode::CARD_STATUS_CHANGE; LIFECYCLE.len()],
        }
    }

    /// The payload fields its events share, as its first event has them.
    pub fn shared(self) -> &'static [&'static str] {
        match self {
            Self::TokenProvisioning => &TOKEN_IDS,
            Self::FraudAlert => &["fraudAlertId"],
            Self::CardLifecycle => &["tokenId"],
        }
    }

    /// Whether its events may be sent in Thredd's documented envelope (105-110).
    pub fn has_documented_envelope(self) -> bool {
        self == Self::TokenProvisioning
    }

    /// Its events, in the order they are sent, at `now`.
    pub fn events(
        self,
        pm: &PmCode,
        product: Option<ProductId>,
        envelope: EnvelopeForm,
        now: OffsetDateTime,
    ) -> Vec<Event> {
        let event = |code: EventCode, payload: Value| Event {
            pm: pm.clone(),
            product,
            code,
            payload: Some(payload),
            envelope,
        };
        let generated = |code: EventCode| sample(code, pm, product, now);
        match self {
            Self::TokenProvisioning => {
                let first = generated(EventCode::TOKENISATION_REQUEST);
                self.codes()
                    .into_iter()
                    .map(|code| {
                        let mut payload = generated(code);
                        for key in TOKEN_IDS {
                            payload[key] = first[key].clone();
                        }
                        event(code, payload)
                    })
                    .collect()
            }
            Self::FraudAlert => vec![event(
                EventCode::FRAUD_RULE_TRIGGERED,
                generated(EventCode::FRAUD_RULE_TRIGGERED),
            )],
            Self::CardLifecycle => {
                let card = generated(EventCode::CARD_STATUS_CHANGE)["tokenId"].clone();
                let steps = LIFECYCLE.len() as i64;
                LIFECYCLE
                    .iter()
                    .zip(0..)
                    .map(|(&(old, new, message), i)| {
                        let mut payload = generated(EventCode::CARD_STATUS_CHANGE);
                        payload["tokenId"] = card.clone();
                        payload["oldCardStatus"] = json!(old);
                        payload["newCardStatus"] = json!(new);
                        payload["message"] = json!(message);
                        payload["dateTime"] = json!(rfc3339_seconds(
                            now - time::Duration::minutes(steps - 1 - i)
                        ));
                        event(EventCode::CARD_STATUS_CHANGE, payload)
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn events(s: Scenario) -> Vec<Event> {
        let pm = PmCode::parse("TRD").expect("pm");
        s.events(
            &pm,
            None,
            EnvelopeForm::Standard,
            datetime!(2026-12-07 10:00 UTC),
        )
    }

    fn payload(e: &Event) -> &Value {
        e.payload.as_ref().expect("payload")
    }

    #[test]
    fn names_round_trip_and_codes_are_what_is_sent() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.name()), Some(s));
            let sent: Vec<EventCode> = events(s).iter().map(|e| e.code).collect();
            assert_eq!(sent, s.codes(), "{}", s.name());
        }
        assert_eq!(Scenario::parse("Token-Provisioning"), None);
    }

    #[test]
    fn a_token_provisioning_shares_one_tokens_ids() {
        let sent = events(Scenario::TokenProvisioning);
        let codes: Vec<u16> = sent.iter().map(|e| e.code.value()).collect();
        assert_eq!(codes, [106, 107, 108]);
        for key in TOKEN_IDS {
            let first = &payload(&sent[0])[key];
            assert!(first.is_string(), "{key}");
            assert!(sent.iter().all(|e| payload(e)[key] == *first), "{key}");
        }
        assert!(
            payload(&sent[1]).get("otpValue").is_some(),
            "107 keeps its own fields"
        );
    }

    #[test]
    fn a_card_lifecycle_follows_one_card_in_time_order() {
        let sent = events(Scenario::CardLifecycle);
        assert_eq!(sent.len(), LIFECYCLE.len());
        let card = &payload(&sent[0])["tokenId"];
        assert!(sent.iter().all(|e| payload(e)["tokenId"] == *card));
        for pair in sent.windows(2) {
            assert_eq!(
                payload(&pair[0])["newCardStatus"],
                payload(&pair[1])["oldCardStatus"]
            );
            let (a, b) = (
                payload(&pair[0])["dateTime"].as_str(),
                payload(&pair[1])["dateTime"].as_str(),
            );
            assert!(a < b, "{a:?} before {b:?}");
        }
        assert_eq!(
            payload(&sent[3])["dateTime"],
            "2026-12-07T10:00:00Z",
            "the last is now"
        );
    }
}
