//! The fraud loop (API.md section 10): a 101 (fraud rule triggered) raises a
//! fraud alert; the program manager answers it once through Fraud Alert
//! Response (`Yes`: the cardholder made the transaction, the card is
//! unblocked; `No`: fraud, the card stays blocked), and a 102
//! `Acknowledgement` follows. An alert not answered within its expiry (72
//! hours at Thredd) expires: a 102 `Timeout` follows, and a later answer is
//! refused with Thredd's documented message.

use std::fmt;

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::event::Event;
use super::event_code::EventCode;
use super::event_payload::EnvelopeForm;
use super::notification::NotificationId;
use super::pm_code::PmCode;
use super::problem::{ErrorCode, Problem, Problems};
use super::webhook::{ProductId, Refusal};

/// A fraud alert's id: the UUID in its 101's `fraudAlertId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FraudAlertId(Uuid);

impl FraudAlertId {
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }
}

impl fmt::Display for FraudAlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The program manager's answer: `Yes`, the cardholder made the transaction;
/// `No`, it is fraud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FraudAnswer {
    Yes,
    No,
}

impl FraudAnswer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "Yes",
            Self::No => "No",
        }
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "Yes" => Some(Self::Yes),
            "No" => Some(Self::No),
            _ => None,
        }
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// Waiting for an answer until it expires.
    Open,
    Answered(FraudAnswer),
    /// Not answered in time.
    Expired,
}

impl AlertState {
    /// `Open`, `Yes`, `No` or `Expired`: the stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Answered(answer) => answer.as_str(),
            Self::Expired => "Expired",
        }
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "Open" => Some(Self::Open),
            "Expired" => Some(Self::Expired),
            other => FraudAnswer::from_stored(other).map(Self::Answered),
        }
    }
}

/// One fraud alert: raised by a 101, carried by each of its notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudAlert {
    pub id: FraudAlertId,
    pub pm_code: PmCode,
    pub product_id: Option<ProductId>,
    /// The 101's notifications, one per webhook: an answer names one.
    pub notifications: Vec<NotificationId>,
    pub raised: OffsetDateTime,
    /// No answer is taken from then on.
    pub expires: OffsetDateTime,
    pub state: AlertState,
    /// When it was answered or expired.
    pub closed: Option<OffsetDateTime>,
}

impl FraudAlert {
    /// The alert a 101 raises, sent as `payload` in `notifications` at `now`:
    /// one whose payload carries a UUID `fraudAlertId` and that reached a
    /// webhook. Another event, or a given payload without a UUID there,
    /// raises none.
    pub fn raised_by(
        event: &Event,
        payload: &Value,
        notifications: Vec<NotificationId>,
        expiry: time::Duration,
        now: OffsetDateTime,
    ) -> Option<Self> {
        if event.code != EventCode::FRAUD_RULE_TRIGGERED || notifications.is_empty() {
            return None;
        }
        let id = payload
            .get("fraudAlertId")
            .and_then(Value::as_str)
            .and_then(FraudAlertId::parse)?;
        Some(Self {
            id,
            pm_code: event.pm.clone(),
            product_id: event.product,
            notifications,
            raised: now,
            expires: now + expiry,
            state: AlertState::Open,
            closed: None,
        })
    }

    /// Takes the answer given through `notification` at `now`: once, before
    /// the alert expires, through one of its own notifications.
    pub fn answer(
        &mut self,
        notification: NotificationId,
        answer: FraudAnswer,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        if !self.notifications.contains(&notification) {
            return Err(Refusal::NotTheAlertsNotification);
        }
        match self.state {
            AlertState::Answered(given) => Err(Refusal::AlertAnswered(given.as_str())),
            AlertState::Expired => Err(Refusal::AlertExpired),
            AlertState::Open if now >= self.expires => Err(Refusal::AlertExpired),
            AlertState::Open => {
                self.state = AlertState::Answered(answer);
                self.closed = Some(now);
                Ok(())
            }
        }
    }

    /// Whether it is open past its expiry at `now`.
    pub fn expired_by(&self, now: OffsetDateTime) -> bool {
        self.state == AlertState::Open && now >= self.expires
    }

    /// Marks it expired (as of its expiry time).
    pub fn expire(&mut self) {
        self.state = AlertState::Expired;
        self.closed = Some(self.expires);
    }

    /// The 102 that follows an answer (`Acknowledgement`) or the expiry
    /// (`Timeout`), with the same `fraudAlertId`; `None` while open.
    pub fn follow_up(&self) -> Option<Event> {
        let (kind, content) = match self.state {
            AlertState::Open => return None,
            AlertState::Answered(FraudAnswer::Yes) => (
                "Acknowledgement",
                "The cardholder confirmed the transaction; the card is unblocked.",
            ),
            AlertState::Answered(FraudAnswer::No) => (
                "Acknowledgement",
                "The cardholder reported the transaction as fraud; the card stays blocked.",
            ),
            AlertState::Expired => (
                "Timeout",
                "No response was received within the required time period; the fraud alert has expired.",
            ),
        };
        let product = self
            .product_id
            .map_or(Value::Null, |p| Value::String(p.value().to_string()));
        Some(Event {
            pm: self.pm_code.clone(),
            product: self.product_id,
            code: EventCode::FRAUD_ACKNOWLEDGEMENT,
            payload: Some(json!({
                "fraudAlertId": self.id.to_string(),
                "fraudAlertType": kind,
                "notificationMessageContent": content,
                "productId": product,
            })),
            envelope: EnvelopeForm::Standard,
        })
    }
}

/// A Fraud Alert Response body, checked with Thredd's documented errors:
/// `{"fraudAlertId": "...", "notificationId": "...", "response": "Yes"|"No"}`,
/// all strings, all required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FraudResponse {
    pub alert: FraudAlertId,
    pub notification: NotificationId,
    pub answer: FraudAnswer,
}

impl FraudResponse {
    pub fn from_json(body: &Value) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::default();
        let text = |field: &str| body.get(field).and_then(Value::as_str);
        let alert = problems.take(
            text("fraudAlertId")
                .and_then(FraudAlertId::parse)
                .ok_or_else(|| {
                    Problem::at(
                        ErrorCode::InvalidFraudAlertIdFormat,
                        "fraudAlertId",
                        "fraudAlertId is required: the UUID in the 101's payload.",
                    )
                }),
        );
        let notification = problems.take(
            text("notificationId")
                .and_then(|raw| NotificationId::parse(raw).ok())
                .ok_or_else(|| {
                    Problem::at(
                        ErrorCode::InvalidNotificationIdFormat,
                        "notificationId",
                        "notificationId is required: the UUID of the 101's notification.",
                    )
                }),
        );
        let answer = problems.take(
            text("response")
                .and_then(FraudAnswer::from_stored)
                .ok_or_else(|| {
                    Problem::at(
                        ErrorCode::InvalidRequestBody,
                        "response",
                        "response must be \"Yes\" (the cardholder made the transaction) or \"No\" (fraud).",
                    )
                }),
        );
        match (alert, notification, answer) {
            (Some(alert), Some(notification), Some(answer)) => Ok(Self {
                alert,
                notification,
                answer,
            }),
            _ => Err(problems.into_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn alert() -> FraudAlert {
        let event = Event {
            pm: PmCode::parse("TRD").expect("pm"),
            product: None,
            code: EventCode::FRAUD_RULE_TRIGGERED,
            payload: None,
            envelope: EnvelopeForm::Standard,
        };
        let payload = json!({"fraudAlertId": "0b6c3f0e-7d1e-4a8e-9c39-5d7f8a1c2b3d"});
        FraudAlert::raised_by(
            &event,
            &payload,
            vec![NotificationId::generate()],
            time::Duration::hours(72),
            datetime!(2026-01-01 00:00 UTC),
        )
        .expect("a 101 with a fraudAlertId raises an alert")
    }

    #[test]
    fn an_alert_takes_one_answer_through_its_own_notification_before_it_expires() {
        let mut a = alert();
        let n = a.notifications[0];
        let at = datetime!(2026-01-02 00:00 UTC);
        assert_eq!(
            a.answer(NotificationId::generate(), FraudAnswer::Yes, at),
            Err(Refusal::NotTheAlertsNotification)
        );
        assert_eq!(a.answer(n, FraudAnswer::No, at), Ok(()));
        assert_eq!(a.state, AlertState::Answered(FraudAnswer::No));
        assert_eq!(
            a.answer(n, FraudAnswer::Yes, at),
            Err(Refusal::AlertAnswered("No"))
        );
        let follow = a.follow_up().expect("a 102");
        assert_eq!(follow.code.value(), 102);
        let payload = follow.payload.expect("payload");
        assert_eq!(payload["fraudAlertType"], "Acknowledgement");
        assert_eq!(payload["fraudAlertId"], a.id.to_string());
    }

    #[test]
    fn an_unanswered_alert_expires_and_refuses_a_late_answer() {
        let mut a = alert();
        let n = a.notifications[0];
        let expiry = a.expires;
        assert!(!a.expired_by(expiry - time::Duration::milliseconds(1)));
        assert!(a.expired_by(expiry));
        assert_eq!(
            a.answer(n, FraudAnswer::Yes, expiry),
            Err(Refusal::AlertExpired),
            "late, even before the expiry is recorded"
        );
        a.expire();
        assert_eq!(
            a.answer(n, FraudAnswer::Yes, expiry),
            Err(Refusal::AlertExpired)
        );
        let payload = a.follow_up().and_then(|e| e.payload).expect("a 102");
        assert_eq!(payload["fraudAlertType"], "Timeout");
    }

    #[test]
    fn a_response_body_is_checked_with_thredds_errors() {
        let ok = FraudResponse::from_json(&json!({
            "fraudAlertId": "0b6c3f0e-7d1e-4a8e-9c39-5d7f8a1c2b3d",
            "notificationId": "af2d48de-2ad7-42f8-a252-8422cd9e6078",
            "response": "Yes"
        }))
        .expect("valid");
        assert_eq!(ok.answer, FraudAnswer::Yes);
        let codes: Vec<_> = FraudResponse::from_json(&json!({
            "fraudAlertId": "x", "notificationId": 7, "response": "yes"
        }))
        .expect_err("invalid")
        .into_iter()
        .map(|p| p.code)
        .collect();
        assert_eq!(
            codes,
            [
                ErrorCode::InvalidFraudAlertIdFormat,
                ErrorCode::InvalidNotificationIdFormat,
                ErrorCode::InvalidRequestBody
            ]
        );
    }
}
