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
        }
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
