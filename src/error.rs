//! `ApiError`: every way a call can fail, mapped in one place to an HTTP status and
//! the JSON error envelope. Internals go to the log, never to the client.

use std::error::Error as StdError;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{error::JsonPayloadError, HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::{pm_code, ErrorCode, Problem, Refusal};
use crate::store::StoreError;

/// The most problems one answer lists: a request with 50,000 bad array elements
/// gets the first ones and a count, not a response larger than itself.
pub const MAX_PROBLEMS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: everything wrong with the request, reported together.
    #[error("bad request: {0:?}")]
    BadRequest(Vec<Problem>),
    /// 401: no valid bearer token while auth is on.
    #[error("unauthorized")]
    Unauthorized,
    /// 401: an access token that is expired, tampered with or not ours.
    #[error("invalid access token")]
    InvalidToken,
    /// 403: the token's program manager and a code in the request disagree.
    #[error("forbidden: {0}")]
    Forbidden(Problem),
    #[error("not found: {0}")]
    NotFound(Problem),
    #[error("conflict: {0}")]
    Conflict(Problem),
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A sandbox condition that did not hold (`408` for a wait, `406` for a
    /// verification), with what was found as the envelope's `response`.
    #[error("unmet: {problem}")]
    Unmet {
        status: StatusCode,
        problem: Problem,
        found: serde_json::Value,
    },
    /// 503 with `Retry-After`: the service cannot take this call now (too
    /// many waits at once, or it is stopping).
    #[error("busy: {0}")]
    Busy(Problem),
    /// 503: the storage cannot answer now; retrying later may work.
    #[error("storage unavailable")]
    Unavailable(#[source] StoreError),
    /// 500: a bug. The cause is logged; the client sees only `TECHNICAL_ERROR`.
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl ApiError {
    pub fn bad_request(problem: Problem) -> Self {
        Self::BadRequest(vec![problem])
    }

    pub fn webhook_not_registered() -> Self {
        Self::NotFound(Problem::new(
            ErrorCode::WebhookNotRegistered,
            "Webhook is not registered.",
        ))
    }

    pub fn path_not_found() -> Self {
        Self::NotFound(Problem::new(ErrorCode::NotFound, "No such resource."))
    }

    fn problems(&self) -> Vec<Problem> {
        match self {
            Self::BadRequest(problems) if problems.len() > MAX_PROBLEMS => {
                let mut shown = problems[..MAX_PROBLEMS].to_vec();
                shown.push(Problem::new(
                    ErrorCode::InvalidRequestBody,
                    format!(
                        "{} more problems not shown; fix these first.",
                        problems.len() - MAX_PROBLEMS
                    ),
                ));
                shown
            }
            Self::BadRequest(problems) => problems.clone(),
            Self::NotFound(problem)
            | Self::Conflict(problem)
            | Self::Forbidden(problem)
            | Self::Busy(problem)
            | Self::Unmet { problem, .. } => {
                vec![problem.clone()]
            }
            Self::Unauthorized => vec![Problem::new(
                ErrorCode::Unauthorized,
                "A valid token is required: Authorization: Bearer <token>.",
            )],
            Self::InvalidToken => vec![Problem::new(
                ErrorCode::Unauthorized,
                "The access token is expired or invalid; ask POST /connect/token for a new one.",
            )],
            Self::MethodNotAllowed { allow } => vec![Problem::new(
                ErrorCode::MethodNotAllowed,
                format!("Method not allowed here; allowed: {allow}."),
            )],
            Self::PayloadTooLarge { limit } => vec![Problem::new(
                ErrorCode::PayloadTooLarge,
                format!("Request body is larger than {limit} bytes."),
            )],
            Self::UnsupportedMediaType => vec![Problem::new(
                ErrorCode::UnsupportedMediaType,
                "Request body must be JSON (Content-Type: application/json).",
            )],
            Self::Unavailable(_) => vec![Problem::new(
                ErrorCode::UnableToGetResultsFromDatabase,
                "The database cannot answer right now; retry later.",
            )],
            Self::Internal(_) => vec![Problem::new(
                ErrorCode::TechnicalError,
                "Something went wrong on our side; the cause is in the service log.",
            )],
        }
    }

    /// Writes the whole cause chain of a fault to the log.
    fn log_cause(&self) {
        if matches!(self, Self::Unavailable(_) | Self::Internal(_)) {
            let mut chain = self.to_string();
            let mut source = self.source();
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            log::error!("{chain}");
        }
    }
}

#[derive(Serialize)]
struct FailureEnvelope {
    status: &'static str,
    errors: Vec<ErrorItem>,
    /// What a sandbox wait or verification found.
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<serde_json::Value>,
}

/// One error: Thredd's documented message for its code where Thredd
/// documents one (`ErrorCode::thredd_message`), and then what is specific to
/// this request in `detail`; our own message otherwise.
#[derive(Serialize)]
struct ErrorItem {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl From<Problem> for ErrorItem {
    fn from(p: Problem) -> Self {
        let (message, detail) = match p.code.thredd_message() {
            Some(thredd) if thredd == p.message => (p.message, None),
            Some(thredd) => (thredd.to_owned(), Some(p.message)),
            None => (p.message, None),
        };
        Self {
            code: p.code.as_str(),
            message,
            detail,
            field: p.field,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unmet { status, .. } => *status,
            Self::Unavailable(_) | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_cause();
        let errors = self.problems().into_iter().map(ErrorItem::from).collect();
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::MethodNotAllowed { allow } => {
                if let Ok(allow) = HeaderValue::from_str(allow) {
                    response.insert_header((header::ALLOW, allow));
                }
            }
            Self::Unavailable(_) | Self::Busy(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            Self::Unauthorized => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::InvalidToken => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                ));
            }
            _ => {}
        }
        let found = match self {
            Self::Unmet { found, .. } => Some(found.clone()),
            _ => None,
        };
        response.json(FailureEnvelope {
            status: "failure",
            errors,
            response: found,
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::webhook_not_registered(),
            StoreError::NotificationNotFound => Self::NotFound(Problem::new(
                ErrorCode::NotificationNotFound,
                "No notifications found.",
            )),
            StoreError::FraudAlertNotFound => Self::bad_request(Problem::at(
                ErrorCode::InvalidFraudAlertId,
                "fraudAlertId",
                "No fraud alert of this program manager has this id.",
            )),
            StoreError::ConfigurationNotFound => Self::NotFound(Problem::new(
                ErrorCode::ConfigurationNotFound,
                "No configuration with this configId was found for the program manager.",
            )),
            StoreError::Duplicate => Self::Conflict(Problem::new(
                ErrorCode::DuplicateWebhook,
                "A webhook for this program manager and productId is already registered.",
            )),
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Unavailable(_) => Self::Unavailable(error),
            // Only the delivery engine holds claims; no request can lose one.
            StoreError::ClaimLost => Self::Internal(Box::new(error)),
            StoreError::Internal(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::SameStatus(status) => Self::Conflict(Problem::at(
                ErrorCode::CurrentStatusIsSameAsEnteredStatus,
                "webhookStatus",
                format!("The webhook status is already {}.", status.as_str()),
            )),
            Refusal::AlreadySubscribed(code) => Self::Conflict(Problem::at(
                ErrorCode::SubscribedEventCode,
                "events",
                format!("The webhook is already subscribed to event {code}."),
            )),
            Refusal::NotSubscribed(code) => Self::NotFound(Problem::at(
                ErrorCode::EventCodeNotFound,
                "eventCode",
                format!("The webhook is not subscribed to event {code}."),
            )),
            Refusal::OwnerChange => Self::bad_request(Problem::at(
                ErrorCode::PmCodeNotValid,
                pm_code::FIELD,
                "programManagerCode cannot change; it must be the webhook's own.",
            )),
            Refusal::NotActive(status) => Self::Conflict(Problem::new(
                ErrorCode::WebhookIsNotActiveInStatus,
                format!(
                    "The webhook is {}; set it active to resend.",
                    status.as_str()
                ),
            )),
            Refusal::NotPending(status) => Self::Conflict(Problem::at(
                ErrorCode::NotificationNotPending,
                "notificationId",
                format!("The notification is {status}, not pending; resend it instead."),
            )),
            Refusal::ConfigurationStatus(status) => Self::Conflict(Problem::at(
                ErrorCode::CurrentStatusIsSameAsEnteredStatus,
                "status",
                format!("The configuration is already {status}."),
            )),
            Refusal::NotTheAlertsNotification => Self::bad_request(Problem::at(
                ErrorCode::InvalidFraudAlertId,
                "notificationId",
                "This notification did not carry this fraud alert; answer through the 101 that did.",
            )),
            Refusal::AlertAnswered(given) => Self::Conflict(Problem::at(
                ErrorCode::FraudAlertAnswered,
                "fraudAlertId",
                format!("The fraud alert was answered {given} already; it takes one answer."),
            )),
            Refusal::AlertExpired => Self::bad_request(Problem::at(
                ErrorCode::FraudAlertExpired,
                "fraudAlertId",
                "The fraud alert expired unanswered; a 102 Timeout was sent for it.",
            )),
            Refusal::TooManyConfigurations(most) => Self::Conflict(Problem::new(
                ErrorCode::TooManyConfigurations,
                format!(
                    "This program manager has {most} configurations, the most it may have; set one Inactive and change it back instead, or reset."
                ),
            )),
        }
    }
}

impl From<JsonPayloadError> for ApiError {
    fn from(error: JsonPayloadError) -> Self {
        match error {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => Self::PayloadTooLarge { limit },
            JsonPayloadError::ContentType => Self::UnsupportedMediaType,
            JsonPayloadError::Deserialize(e) => Self::bad_request(Problem::new(
                ErrorCode::InvalidRequestBody,
                format!("Request body is not valid JSON: {e}."),
            )),
            other => Self::bad_request(Problem::new(
                ErrorCode::InvalidRequestBody,
                format!("Request body could not be read: {other}."),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    fn body(error: &ApiError) -> serde_json::Value {
        let bytes = error
            .error_response()
            .into_body()
            .try_into_bytes()
            .expect("a whole body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    /// Thredd's documented message, and ours as the detail; our own codes
    /// keep our message alone.
    #[test]
    fn documented_codes_carry_thredds_message_and_ours_as_detail() {
        let bug = body(&ApiError::Internal("a bug".into()));
        assert_eq!(bug["errors"][0]["code"], "TECHNICAL_ERROR");
        assert_eq!(bug["errors"][0]["message"], "Technical error.");
        assert_eq!(
            bug["errors"][0]["detail"],
            "Something went wrong on our side; the cause is in the service log."
        );
        let same = body(&ApiError::NotFound(Problem::new(
            ErrorCode::NotificationNotFound,
            "No notifications found.",
        )));
        assert!(same["errors"][0].get("detail").is_none(), "{same}");
        let ours = body(&ApiError::NotFound(Problem::new(
            ErrorCode::EventNotFound,
            "No such event.",
        )));
        assert_eq!(ours["errors"][0]["message"], "No such event.");
        assert!(ours["errors"][0].get("detail").is_none(), "{ours}");
    }
}
