//! The stable error codes of the contract (API.md section 6) and one problem found in a request.

use std::fmt;

/// A machine-readable code from API.md section 6. The string form is part of the
/// public contract: never rename a variant's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequestBody,
    InvalidWebhookId,
    PmCodeRequired,
    PmCodeNotValid,
    InvalidEventCode,
    EmptyEventCodes,
    DuplicateEventInEventArray,
    DuplicateEventCode,
    ExceedsMaximumCustomHeaderLimit,
    InvalidDate,
    FutureDate,
    IsRequiredNotificationId,
    InvalidNotificationId,
    DuplicateNotificationId,
    NotificationBulkGetLimitExceeded,
    NotificationResendLimitExceeded,
    Unauthorized,
    WebhookNotRegistered,
    WebhookDetailsNotFound,
    EventCodeNotFound,
    NotificationNotFound,
    UndeliveredNotificationsNotFound,
    NotFound,
    MethodNotAllowed,
    DuplicateWebhook,
    SubscribedEventCode,
    CurrentStatusIsSameAsEnteredStatus,
    WebhookIsNotActiveInStatus,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Not Thredd's: an `X-Region` header other than 0, 1 or 2.
    InvalidRegion,
    /// Not Thredd's: "deliver now" of a notification that is final.
    NotificationNotPending,
    /// Not Thredd's: a dashboard session's state-changing request without its
    /// CSRF token.
    CsrfTokenInvalid,
    /// Not Thredd's: the sandbox's event by id is unknown (or another
    /// program manager's).
    EventNotFound,
    /// Not Thredd's: a wait's condition did not hold in time.
    WaitTimedOut,
    /// Not Thredd's: a verification's count did not hold.
    VerificationFailed,
    /// Not Thredd's: too many waits at once.
    WaitLimitReached,
    /// Not Thredd's: the service stopped while a call waited.
    ServiceStopping,
    TechnicalError,
    /// A Fraud Alert Response whose `fraudAlertId` is not a UUID.
    InvalidFraudAlertIdFormat,
    /// A Fraud Alert Response whose `notificationId` is not a UUID.
    InvalidNotificationIdFormat,
    /// A Fraud Alert Response naming no alert of the caller's, or a
    /// notification that did not carry it.
    InvalidFraudAlertId,
    /// A Fraud Alert Response after the alert expired.
    FraudAlertExpired,
    /// A second Fraud Alert Response to one alert.
    FraudAlertAnswered,
    /// No scenario by that name.
    ScenarioNotFound,
    /// As many webhooks have disorder on as may.
    TooManyChaos,
    /// No Transaction Confirmation configuration by that id for the caller.
    ConfigurationNotFound,
    /// A program manager has the most configurations it may.
    TooManyConfigurations,
    UnableToGetResultsFromDatabase,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequestBody => "INVALID_REQUEST_BODY",
            Self::InvalidWebhookId => "INVALID_WEBHOOK_ID",
            Self::PmCodeRequired => "PMCODE_REQUIRED",
            Self::PmCodeNotValid => "PMCODE_NOT_VALID",
            Self::InvalidEventCode => "INVALID_EVENTCODE",
            Self::EmptyEventCodes => "EMPTY_EVENTCODES",
            Self::DuplicateEventInEventArray => "DUPLICATE_EVENT_IN_EVENT_ARRAY",
            Self::DuplicateEventCode => "DUPLICATE_EVENTCODE",
            Self::ExceedsMaximumCustomHeaderLimit => "EXCEEDS_MAXIMUM_CUSTOM_HEADER_LIMIT",
            Self::InvalidDate => "INVALID_DATE",
            Self::FutureDate => "FUTURE_DATE",
            Self::IsRequiredNotificationId => "IS_REQUIRED_NOTIFICATION_ID",
            Self::InvalidNotificationId => "INVALID_NOTIFICATION_ID",
            Self::DuplicateNotificationId => "DUPLICATE_NOTIFICATION_ID",
            Self::NotificationBulkGetLimitExceeded => "NOTIFICATION_BULK_GET_LIMIT_EXCEEDED",
            Self::NotificationResendLimitExceeded => "NOTIFICATION_RESEND_LIMIT_EXCEEDED",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::WebhookNotRegistered => "WEBHOOK_NOT_REGISTERED",
            Self::WebhookDetailsNotFound => "WEBHOOK_DETAILS_NOTFOUND",
            Self::EventCodeNotFound => "EVENTCODE_NOTFOUND",
            Self::NotificationNotFound => "NOTIFICATION_NOTFOUND",
            Self::UndeliveredNotificationsNotFound => "UNDELIVERED_NOTIFICATIONS_NOTFOUND",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::DuplicateWebhook => "DUPLICATE_WEBHOOK",
            Self::SubscribedEventCode => "SUBSCRIBED_EVENTCODE",
            Self::CurrentStatusIsSameAsEnteredStatus => "CURRENT_STATUS_IS_SAME_AS_ENTERED_STATUS",
            Self::WebhookIsNotActiveInStatus => "WEBHOOK_IS_NOT_ACTIVE_IN_STATUS",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::InvalidRegion => "INVALID_REGION",
            Self::NotificationNotPending => "NOTIFICATION_NOT_PENDING",
            Self::CsrfTokenInvalid => "CSRF_TOKEN_INVALID",
            Self::EventNotFound => "EVENT_NOTFOUND",
            Self::WaitTimedOut => "WAIT_TIMED_OUT",
            Self::VerificationFailed => "VERIFICATION_FAILED",
            Self::WaitLimitReached => "WAIT_LIMIT_REACHED",
            Self::ServiceStopping => "SERVICE_STOPPING",
            Self::TechnicalError => "TECHNICAL_ERROR",
            Self::UnableToGetResultsFromDatabase => "UNABLE_TO_GET_RESULTS_FROM_DATABASE",
            Self::InvalidFraudAlertIdFormat => "INVALID_FRAUD_ALERT_ID_FORMAT",
            Self::InvalidNotificationIdFormat => "INVALID_NOTIFICATION_ID_FORMAT",
            Self::InvalidFraudAlertId => "INVALID_FRAUD_ALERT_ID",
            Self::FraudAlertExpired => "FRAUD_ALERT_EXPIRED",
            Self::FraudAlertAnswered => "FRAUD_ALERT_ANSWERED",
            Self::ScenarioNotFound => "SCENARIO_NOTFOUND",
            Self::TooManyChaos => "TOO_MANY_CHAOS",
            Self::ConfigurationNotFound => "CONFIGURATION_NOTFOUND",
            Self::TooManyConfigurations => "TOO_MANY_CONFIGURATIONS",
        }
    }
}

impl ErrorCode {
    /// Thredd's documented message for this code (API.md sections 9 and 10), word
    /// for word: the envelope's `message`, with ours in `detail`. `None` for
    /// our own codes, and for `INVALID_REQUEST_BODY`, whose many causes
    /// Thredd documents one of (a missing `programManagerCode`, which this
    /// service answers with `PMCODE_REQUIRED` as API.md section 3 says).
    pub const fn thredd_message(self) -> Option<&'static str> {
        Some(match self {
            Self::TechnicalError => "Technical error.",
            Self::WebhookNotRegistered => {
                "The webhook referenced in the request isn't registered with Thredd."
            }
            Self::InvalidWebhookId => "Invalid webhookId format.",
            Self::EmptyEventCodes => "Event Codes cannot be empty.",
            Self::InvalidEventCode => "Event Code should be valid.",
            Self::DuplicateEventCode => "Event Code should be unique.",
            Self::SubscribedEventCode => "Cannot subscribe to the same Event Code multiple times.",
            Self::DuplicateEventInEventArray => {
                "Please ensure there are no duplicate event codes in the event array."
            }
            Self::DuplicateWebhook => {
                "Found duplicate registration with same ProgramManagerCode/ProductId"
            }
            Self::InvalidNotificationId => "Invalid notificationId.",
            Self::IsRequiredNotificationId => "Notification Id is required.",
            Self::NotificationNotFound => "No notifications found.",
            Self::NotificationBulkGetLimitExceeded => {
                "Cannot request notifications for more than 100 numbers at once."
            }
            Self::InvalidDate => "Please provide a valid date in the format yyyy-MM-dd.",
            Self::UndeliveredNotificationsNotFound => "No undelivered notifications found.",
            Self::FutureDate => "Future dates are not permitted.",
            Self::CurrentStatusIsSameAsEnteredStatus => {
                "Current webhook status is same as the entered status."
            }
            Self::ExceedsMaximumCustomHeaderLimit => {
                "Please ensure that the custom header count does not exceed three."
            }
            Self::WebhookIsNotActiveInStatus => "The webhook is not marked as active.",
            Self::PmCodeNotValid => "The Program manager code is invalid.",
            Self::NotificationResendLimitExceeded => {
                "Cannot resend notifications for more than 25 numbers at once."
            }
            Self::PmCodeRequired => "Program manager code is required.",
            Self::DuplicateNotificationId => {
                "Duplicate occurrence of NotificationId is not permitted."
            }
            Self::WebhookDetailsNotFound => {
                "No webhook details were found for the provided program manager code."
            }
            Self::EventCodeNotFound => "Event code not found within Thredd system.",
            // The Fraud Alert Response page's (API.md section 10).
            Self::InvalidFraudAlertIdFormat => "Invalid fraudAlertId format.",
            Self::InvalidNotificationIdFormat => "Invalid notificationId format.",
            Self::InvalidFraudAlertId => "Invalid fraudAlertId.",
            Self::FraudAlertExpired => {
                "Unable to process this request at this time. No response received within the required time period."
            }
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong with a request: a stable code, a sentence for people, and the
/// field at fault when there is exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

impl Problem {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn at(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

/// The longest piece of a client's input quoted back in a message.
const MAX_QUOTED: usize = 64;

/// A client's input quoted in a message: Debug-escaped, and cut to a few dozen
/// characters, so an answer never echoes a megabyte back.
pub fn quote(raw: &str) -> String {
    match raw.char_indices().nth(MAX_QUOTED) {
        None => format!("{raw:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &raw[..cut], raw.len()),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Collects every problem of a request so they can be reported together.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    /// Keeps the value when it parsed, records the problem otherwise.
    pub fn take<T>(&mut self, result: Result<T, Problem>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problem) => {
                self.0.push(problem);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// A JSON number that is a whole number from 0 (also written `12.0`: JSON
/// does not tell them apart), as a `u64`; `None` for anything else.
pub fn whole_number(value: &serde_json::Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=9.0e15).contains(f))
            .map(|f| f as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "x".repeat(100_000);
        let quoted = quote(&long);
        assert!(quoted.len() < 100, "{quoted}");
        assert!(quoted.ends_with("(100000 bytes)"), "{quoted}");
        assert_eq!(
            quote(&"é".repeat(70)).chars().filter(|c| *c == 'é').count(),
            64
        );
    }
}
