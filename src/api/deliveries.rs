//! The delivery journal, which Thredd does not have: every attempt this node
//! made, as sent and as answered (`GET /sandbox/v1/deliveries`), and the two
//! calls a test asserts with instead of a polling loop: wait
//! (`POST /sandbox/v1/deliveries/wait`, which answers as soon as enough
//! attempts match, woken by each recorded attempt) and verify
//! (`POST /sandbox/v1/deliveries/verify`, which answers `406` with a message
//! a test runner prints as it is).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::events::{cursor, page_limit};
use super::{query, success, Caller};
use crate::domain::time::rfc3339_millis;
use crate::domain::{
    whole_number, ErrorCode, EventCode, EventId, NotificationId, NotificationStatus, Problem,
    Problems, WebhookId,
};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::sandbox::matching::{self, DeliveryMatch, Expected};
use crate::sandbox::{Delivery, Fixture, Outcome, Unmet, MAX_TIMEOUT_MS, MAX_WAITERS};
use crate::shutdown::Stopping;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/deliveries")
        .get(journal)
        .served_if(on);
    r.resource("/sandbox/v1/deliveries/wait")
        .post(wait)
        .served_if(on);
    r.resource("/sandbox/v1/deliveries/verify")
        .post(verify)
        .served_if(on);
}

/// One attempt on the wire.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView<'a> {
    notification_id: String,
    /// `null` when the journal no longer holds the event.
    event_id: Option<String>,
    event_code: u16,
    webhook_id: String,
    url: &'a str,
    attempt: u32,
    time: String,
    request_headers: &'a BTreeMap<String, String>,
    /// The envelope as sent, byte for byte (a signature covers these bytes).
    body: &'a str,
    outcome: &'static str,
    http_status: Option<u16>,
    error: Option<&'a str>,
    latency_ms: u64,
    notification_status: &'static str,
}

impl<'a> DeliveryView<'a> {
    pub fn new(d: &'a Delivery) -> Self {
        Self {
            notification_id: d.notification_id.to_string(),
            event_id: d.event_id.map(|e| e.to_string()),
            event_code: d.event_code.value(),
            webhook_id: d.webhook_id.to_string(),
            url: &d.url,
            attempt: d.attempt,
            time: rfc3339_millis(d.time),
            request_headers: &d.request_headers,
            body: &d.body,
            outcome: d.outcome.as_str(),
            http_status: d.http_status,
            error: d.error.as_deref(),
            latency_ms: d.latency_ms,
            notification_status: d.notification_status.as_str(),
        }
    }
}

fn views(found: &[Arc<Delivery>]) -> Vec<DeliveryView<'_>> {
    found.iter().map(|d| DeliveryView::new(d)).collect()
}

/// The criteria of a match, from a JSON object (a wait's or verify's
/// `match`) or a query string (the journal's filters, all text). Every
/// problem is reported together; an unknown criterion is one.
fn parse_match(fields: &Map<String, Value>, at: &str) -> Result<DeliveryMatch, ApiError> {
    let mut problems = Problems::default();
    let mut wanted = DeliveryMatch::default();
    let field = |name: &str| format!("{at}{name}");
    let bad = |name: &str, what: &str| {
        Problem::at(
            ErrorCode::InvalidRequestBody,
            field(name),
            format!("{} must be {what}.", field(name)),
        )
    };
    for (name, value) in fields {
        let text = value.as_str();
        match name.as_str() {
            "webhookId" => {
                wanted.webhook = problems.take(
                    text.ok_or_else(|| bad(name, "a webhook id"))
                        .and_then(|t| WebhookId::parse(t).map_err(|_| bad(name, "a webhook id"))),
                );
            }
            "eventId" => {
                wanted.event = problems.take(
                    text.ok_or_else(|| bad(name, "an event id"))
                        .and_then(|t| EventId::parse(t, &field(name))),
                );
            }
            "notificationId" => {
                wanted.notification =
                    problems.take(text.ok_or_else(|| bad(name, "a notification id")).and_then(
                        |t| NotificationId::parse(t).map_err(|_| bad(name, "a notification id")),
                    ));
            }
            "eventCode" => {
                let code = match value {
                    Value::String(t) => EventCode::from_path(t),
                    other => EventCode::from_json(other, &field(name)),
                };
                wanted.event_code = problems.take(code.map_err(|mut p| {
                    p.field = Some(field(name));
                    p
                }));
            }
            "outcome" => {
                wanted.outcome = problems.take(
                    text.and_then(Outcome::parse)
                        .ok_or_else(|| bad(name, "\"delivered\" or \"failed\"")),
                );
            }
            "since" => {
                wanted.since = problems.take(
                    text.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                        .ok_or_else(|| bad(name, "a time like 2026-12-07T10:00:00Z (RFC 3339)")),
                );
            }
            "notificationStatus" => {
                wanted.notification_status = problems.take(
                    text.and_then(|t| t.parse::<NotificationStatus>().ok())
                        .ok_or_else(|| bad(name, "Pending, Delivered or Undelivered")),
                );
            }
            "payload" => {
                wanted.payload = problems.take(match value {
                    Value::Object(_) => Ok(value.clone()),
                    _ => Err(bad(
                        name,
                        "a JSON object (contained in the payload delivered)",
                    )),
                });
            }
            other => {
                problems.push(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    field(other),
                    format!(
                        "{} is not a criterion; use webhookId, eventId, eventCode, notificationId, outcome, since, notificationStatus or payload.",
                        field(other)
                    ),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(wanted)
    } else {
        Err(ApiError::BadRequest(problems.into_vec()))
    }
}

/// The default page of the journal, and the most one page may hold.
const JOURNAL_PAGE: usize = 100;
const JOURNAL_PAGE_MAX: usize = 1000;

#[derive(Serialize)]
struct JournalPage<'a> {
    content: Vec<DeliveryView<'a>>,
    /// Pass as `cursor` for the next (newer) page; `null` on the last.
    next: Option<u64>,
}

/// `GET /sandbox/v1/deliveries?webhookId=&eventId=&eventCode=&notificationId=&outcome=&since=&limit=&cursor=`:
/// attempts oldest first, a page at a time.
async fn journal(
    caller: Caller,
    req: HttpRequest,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let mut fields: BTreeMap<String, String> = query(&req)?;
    let limit = fields
        .remove("limit")
        .map(|raw| raw.parse::<usize>().map_err(|_| limit_problem(&raw)))
        .transpose()?;
    let limit = page_limit(limit, JOURNAL_PAGE, JOURNAL_PAGE_MAX)?;
    // Not a number, or too large: the same answer as any unknown cursor.
    let cursor = match fields.remove("cursor") {
        None => None,
        Some(raw) => Some(cursor(raw.parse::<u64>().unwrap_or(u64::MAX))?),
    };
    let fields: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let wanted = parse_match(&fields, "")?;
    let (found, next) =
        fixture
            .journal
            .deliveries(caller.scope(), |d| wanted.matches(d), cursor, limit);
    Ok(success(
        StatusCode::OK,
        JournalPage {
            content: views(&found),
            next,
        },
    ))
}

fn limit_problem(raw: &str) -> ApiError {
    ApiError::bad_request(Problem::at(
        ErrorCode::InvalidRequestBody,
        "limit",
        format!("limit must be a whole number; {raw:?} is not."),
    ))
}

/// A request body that must be a JSON object, with only `allowed` keys.
fn body_fields(body: Value, allowed: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(fields) = body else {
        return Err(ApiError::bad_request(Problem::new(
            ErrorCode::InvalidRequestBody,
            "Request body must be a JSON object.",
        )));
    };
    let unknown: Vec<Problem> = fields
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| {
            Problem::at(
                ErrorCode::InvalidRequestBody,
                k.clone(),
                format!("{k} is not a field here; use {}.", allowed.join(", ")),
            )
        })
        .collect();
    if unknown.is_empty() {
        Ok(fields)
    } else {
        Err(ApiError::BadRequest(unknown))
    }
}

/// The `match` of a body: an object of criteria (absent: every attempt);
/// answers it with the text that describes it in messages.
fn match_of(fields: &Map<String, Value>) -> Result<(DeliveryMatch, String), ApiError> {
    match fields.get("match") {
        None => Ok((DeliveryMatch::default(), "{} (any attempt)".into())),
        Some(Value::Object(criteria)) => {
            let wanted = parse_match(criteria, "match.")?;
            Ok((wanted, Value::Object(criteria.clone()).to_string()))
        }
        Some(_) => Err(ApiError::bad_request(Problem::at(
            ErrorCode::InvalidRequestBody,
            "match",
            "match must be a JSON object of criteria.",
        ))),
    }
}

/// A whole number in `range` at `field`, or `default` when absent.
fn number(
    fields: &Map<String, Value>,
    field: &str,
    range: std::ops::RangeInclusive<u64>,
    default: Option<u64>,
) -> Result<Option<u64>, ApiError> {
    match fields.get(field) {
        None => Ok(default),
        Some(value) => match whole_number(value) {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::bad_request(Problem::at(
                ErrorCode::InvalidRequestBody,
                field,
                format!(
                    "{field} must be a whole number from {} to {}.",
                    range.start(),
                    range.end()
                ),
            ))),
        },
    }
}

/// A wait's time limit when the request gives none.
const DEFAULT_WAIT_MS: u64 = 10_000;

fn busy(problem: &str) -> ApiError {
    ApiError::Busy(Problem::new(ErrorCode::WaitLimitReached, problem))
}

/// What ending a wait unmet answers: `408 WAIT_TIMED_OUT` with what was
/// found, or `503 SERVICE_STOPPING`.
pub fn unmet(why: Unmet, message: String, found: Value) -> ApiError {
    match why {
        Unmet::TimedOut => ApiError::Unmet {
            status: StatusCode::REQUEST_TIMEOUT,
            problem: Problem::new(ErrorCode::WaitTimedOut, message),
            found,
        },
        Unmet::Stopping => ApiError::Busy(Problem::new(
            ErrorCode::ServiceStopping,
            "The service is stopping; the wait ended.",
        )),
    }
}

/// How long a wait that asked for `timeoutMs` lasts: [`DEFAULT_WAIT_MS`]
/// when absent, at most `sandbox.max_wait_ms`.
pub fn timeout_of(fixture: &Fixture, raw: Option<u64>) -> Duration {
    fixture.wait_time(raw.unwrap_or(DEFAULT_WAIT_MS))
}

/// Takes a place among the waits, or answers 503.
pub fn waiter(fixture: &Fixture) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    fixture.waiter().ok_or_else(|| {
        busy(&format!(
            "There are {MAX_WAITERS} waits already; retry when one has ended."
        ))
    })
}

/// The bounds of a wait's `timeoutMs`.
pub fn timeout_range() -> std::ops::RangeInclusive<u64> {
    0..=MAX_TIMEOUT_MS
}

/// `POST /sandbox/v1/deliveries/wait` with `{"match": {...}, "count": N,
/// "timeoutMs": T}`: `200` with every matching attempt as soon as at least
/// `count` (default 1) match, at once if they already do; `408
/// WAIT_TIMED_OUT` with what matched when `timeoutMs` (default 10,000,
/// capped to `sandbox.max_wait_ms`) passes.
async fn wait(
    caller: Caller,
    body: web::Json<Value>,
    fixture: web::Data<Fixture>,
    stopping: web::Data<Stopping>,
) -> Result<HttpResponse, ApiError> {
    let fields = body_fields(body.into_inner(), &["match", "count", "timeoutMs"])?;
    let (wanted, described) = match_of(&fields)?;
    let count = number(&fields, "count", 1..=1_000_000, Some(1))?.unwrap_or(1);
    let timeout = timeout_of(
        &fixture,
        number(&fields, "timeoutMs", timeout_range(), None)?,
    );
    let _place = waiter(&fixture)?;
    let scope = caller.scope();
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let mut found: Vec<Arc<Delivery>> = Vec::new();
    let mut mark = None;
    let waited = fixture
        .wait_for(false, timeout, &stopping, || {
            mark = Some(
                fixture
                    .journal
                    .scan(scope, |d| wanted.matches(d), mark, &mut found),
            );
            std::future::ready((found.len() >= count, ()))
        })
        .await;
    let answer = serde_json::json!({
        "matched": found.len(),
        "content": views(&found),
    });
    match waited {
        Ok(()) => Ok(success(StatusCode::OK, answer)),
        Err((why, ())) => Err(unmet(
            why,
            format!(
                "Waited {} ms for {count} delivery attempts matching {described}; {} matched.",
                timeout.as_millis(),
                found.len()
            ),
            answer,
        )),
    }
}

/// `POST /sandbox/v1/deliveries/verify` with `{"match": {...}}` and one of
/// `"count"`, `"atLeast"`, `"atMost"`: `200 {"verified": true, "matched": n}`,
/// or `406 VERIFICATION_FAILED` naming what was expected, what was found and
/// the near misses.
async fn verify(
    caller: Caller,
    body: web::Json<Value>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let fields = body_fields(body.into_inner(), &["match", "count", "atLeast", "atMost"])?;
    let (wanted, described) = match_of(&fields)?;
    let as_count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let range = 0..=u64::from(u32::MAX);
    let counts = [
        number(&fields, "count", range.clone(), None)?.map(|n| Expected::Exactly(as_count(n))),
        number(&fields, "atLeast", range.clone(), None)?.map(|n| Expected::AtLeast(as_count(n))),
        number(&fields, "atMost", range, None)?.map(|n| Expected::AtMost(as_count(n))),
    ];
    let mut given = counts.into_iter().flatten();
    let (Some(expected), None) = (given.next(), given.next()) else {
        return Err(ApiError::bad_request(Problem::new(
            ErrorCode::InvalidRequestBody,
            "Give exactly one of count, atLeast and atMost.",
        )));
    };
    let verdict = fixture.journal.with_deliveries(caller.scope(), |journal| {
        matching::verify(journal, &wanted, expected, &described)
    });
    match verdict {
        Ok(matched) => Ok(success(
            StatusCode::OK,
            serde_json::json!({"verified": true, "matched": matched}),
        )),
        Err((matched, message)) => Err(ApiError::Unmet {
            status: StatusCode::NOT_ACCEPTABLE,
            problem: Problem::new(ErrorCode::VerificationFailed, message),
            found: serde_json::json!({"verified": false, "matched": matched}),
        }),
    }
}
