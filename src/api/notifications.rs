//! A webhook's notifications (API.md section 8): Thredd's calls to list them by
//! event code, read them with their delivery attempts, summarise the undelivered
//! ones, and resend. The store runs the reads off the async workers; a resend is
//! one write, and the store hands the resent notifications to the delivery engine.

use std::collections::{BTreeMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use super::{object_body, parse_event_path, parse_id, success, Caller};
use crate::domain::time::rfc3339_millis;
use crate::domain::Clock;
use crate::domain::{
    quote, Attempt, ErrorCode, EventCode, GiveUp, Notification, NotificationId, NotificationStatus,
    Problem, Problems, QueueHealth, Waiting, WebhookId, WebhookStatus,
};
use crate::error::ApiError;
use crate::outbound::live::LiveSettings;
use crate::routes::Routes;
use crate::sandbox::Fixture;
use crate::store::{find_notification, Store, StoreError};

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/notifications/{notificationId}")
        .get(by_id)
        .served_if(on);
    r.resource("/api/v1/webhooks/{id}/events/{eventCode}/notifications")
        .get(by_event);
    r.resource("/api/v1/webhooks/{id}/notifications/details")
        .post(details);
    r.resource("/api/v1/webhooks/{id}/notifications/undelivered")
        .get(undelivered);
    r.resource("/api/v1/webhooks/{id}/notifications/resend")
        .post(resend);
}

/// The most ids one details call may name (Thredd's limit).
pub const DETAILS_LIMIT: usize = 100;
/// The most ids one resend call may name (Thredd's limit).
pub const RESEND_LIMIT: usize = 25;
/// `count` of the by-event call when the client gives none, and the most it may ask.
pub const DEFAULT_COUNT: u32 = 100;
pub const MAX_COUNT: u32 = 1000;

/// One notification on the wire. The details call adds the envelope as sent
/// and the attempts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationView<'a> {
    event_code: u16,
    notification_id: String,
    notification_status: &'static str,
    payload: Value,
    created_time: String,
    last_sent_time: Option<String>,
    /// Not Thredd's: the sandbox event that made it, while the fixture's
    /// journal holds it (the details call only).
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    /// Not Thredd's: why a pending notification waits (the details call only).
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting: Option<WaitingView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<Vec<AttemptView<'a>>>,
}

/// Why a pending notification waits (`domain::Waiting`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WaitingView {
    reason: &'static str,
    message: String,
    /// Backing off: when the next probe may go.
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    of: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gives_up_at: Option<String>,
}

impl WaitingView {
    fn new(waiting: &Waiting) -> Self {
        let step = waiting.schedule();
        Self {
            reason: waiting.reason(),
            message: waiting.message(rfc3339_millis),
            until: match waiting {
                Waiting::BackingOff { until, .. } => Some(rfc3339_millis(*until)),
                _ => None,
            },
            retry: step.map(|s| s.retry),
            of: step.map(|s| s.of),
            next_attempt: step.map(|s| rfc3339_millis(s.next_attempt)),
            gives_up_at: step.map(|s| rfc3339_millis(s.gives_up_at)),
        }
    }
}

/// What a pending notification's reason to wait depends on: its webhook's
/// status, its queue's health and the schedule in effect. Read only when a
/// notification found is pending.
struct WaitingContext {
    status: WebhookStatus,
    health: QueueHealth,
    rule: GiveUp,
}

impl WaitingContext {
    async fn read(
        store: &dyn Store,
        webhook: WebhookId,
        found: &[(Notification, Vec<Attempt>)],
        live: &LiveSettings,
    ) -> Result<Option<Self>, ApiError> {
        if found
            .iter()
            .all(|(n, _)| n.status != NotificationStatus::Pending)
        {
            return Ok(None);
        }
        let status = store.get(webhook, None).await?.status;
        let health = store.queue_health(webhook).await?;
        let rule = live.now().giving_up.rule.clone();
        Ok(Some(Self {
            status,
            health,
            rule,
        }))
    }

    fn of(&self, n: &Notification) -> Option<Waiting> {
        Waiting::of(
            n,
            self.status.as_str(),
            self.status == WebhookStatus::Active,
            &self.health,
            &self.rule,
        )
    }
}

impl<'a> NotificationView<'a> {
    fn new(n: &Notification, attempts: Option<&'a [Attempt]>) -> Self {
        // The body is the envelope the service built itself; it always parses.
        let body: Value = serde_json::from_str(&n.body).unwrap_or(Value::Null);
        Self {
            event_code: n.event_code.value(),
            notification_id: n.id.to_string(),
            notification_status: n.status.as_str(),
            payload: body.get("payload").cloned().unwrap_or(Value::Null),
            created_time: rfc3339_millis(n.created_time),
            last_sent_time: n.last_sent_time.map(rfc3339_millis),
            event_id: None,
            waiting: None,
            notification_body: attempts.map(|_| body),
            attempts: attempts.map(|all| {
                all.iter()
                    .zip(1..)
                    .map(|(a, number)| AttemptView::new(number, a))
                    .collect()
            }),
        }
    }
}

/// One attempt on the wire: Thredd's fields (`attempt`, `time`, `httpStatus`,
/// `error`, `latencyMs`), then what this service adds: the request headers it
/// set (custom header values masked) and what the receiver answered.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttemptView<'a> {
    attempt: u32,
    time: String,
    http_status: Option<u16>,
    error: Option<&'a str>,
    latency_ms: u64,
    request_headers: &'a BTreeMap<String, String>,
    /// `null` when no answer came.
    response_headers: Option<&'a BTreeMap<String, String>>,
    response_body: Option<&'a str>,
    response_body_truncated: bool,
}

impl<'a> AttemptView<'a> {
    fn new(attempt: u32, a: &'a Attempt) -> Self {
        let reply = a.reply.as_ref();
        Self {
            attempt,
            time: rfc3339_millis(a.time),
            http_status: a.http_status,
            error: a.error.as_deref(),
            latency_ms: a.latency_ms,
            request_headers: &a.request_headers,
            response_headers: reply.map(|r| &r.headers),
            response_body: reply.map(|r| r.body.as_str()),
            response_body_truncated: reply.is_some_and(|r| r.body_truncated),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationList<'a> {
    webhook_id: String,
    content: Vec<NotificationView<'a>>,
}

/// `GET /api/v1/Webhooks/{id}/events/{eventCode}/notifications?from=yyyy-MM-dd&count=N`
async fn by_event(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let id = parse_id(&id)?;
    let code = parse_event_path(&code)?;
    let (since, count) = parse_query(req.query_string(), clock.now().date())?;
    let found = store
        .by_event(id, caller.scope(), code, since, count)
        .await?;
    listed(id, found.iter().map(|n| NotificationView::new(n, None)))
}

/// `from` (a date, not after `today`; the start of that day in UTC) and `count`
/// from the query string. Without `from`, every notification counts; unknown
/// parameters are ignored.
fn parse_query(query: &str, today: Date) -> Result<(OffsetDateTime, u32), ApiError> {
    let mut problems = Problems::default();
    let mut since = OffsetDateTime::UNIX_EPOCH;
    let mut count = DEFAULT_COUNT;
    let mut seen = HashSet::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if !seen.insert(key.clone()) {
            continue;
        }
        match &*key {
            "from" => match Date::parse(&value, format_description!("[year]-[month]-[day]")) {
                Ok(date) if date > today => problems.push(Problem::at(
                    ErrorCode::FutureDate,
                    "from",
                    format!("from ({date}) is after today ({today}, UTC)."),
                )),
                Ok(date) => since = date.with_time(Time::MIDNIGHT).assume_utc(),
                Err(_) => problems.push(Problem::at(
                    ErrorCode::InvalidDate,
                    "from",
                    format!(
                        "from must be a date in the format yyyy-MM-dd, got {}.",
                        quote(&value)
                    ),
                )),
            },
            "count" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_COUNT).contains(&n) => count = n,
                _ => problems.push(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    "count",
                    format!(
                        "count must be an integer from 1 to {MAX_COUNT}, got {}.",
                        quote(&value)
                    ),
                )),
            },
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok((since, count))
    } else {
        Err(ApiError::BadRequest(problems.into_vec()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct IdsBody {
    notification_ids: Value,
}

/// The `notificationIds` of a details or resend body: 1 to `limit` distinct UUIDs.
/// Every problem is reported together.
fn parse_ids(
    body: Value,
    limit: usize,
    over_limit: ErrorCode,
) -> Result<Vec<NotificationId>, ApiError> {
    const FIELD: &str = "notificationIds";
    let body: IdsBody = object_body(body)?;
    let items = match body.notification_ids {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        _ => {
            return Err(ApiError::bad_request(Problem::at(
                ErrorCode::InvalidRequestBody,
                FIELD,
                "notificationIds must be an array of notification ids.",
            )))
        }
    };
    let mut problems = Problems::default();
    if items.is_empty() {
        problems.push(Problem::at(
            ErrorCode::IsRequiredNotificationId,
            FIELD,
            "At least one notification id is required.",
        ));
    }
    if items.len() > limit {
        problems.push(Problem::at(
            over_limit,
            FIELD,
            format!(
                "At most {limit} notification ids at once, got {}.",
                items.len()
            ),
        ));
    }
    let mut ids = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for item in &items {
        let parsed = match item {
            Value::String(raw) => NotificationId::parse(raw),
            other => NotificationId::parse(&other.to_string()),
        };
        let Some(id) = problems.take(parsed) else {
            continue;
        };
        if !seen.insert(id) {
            problems.push(Problem::at(
                ErrorCode::DuplicateNotificationId,
                FIELD,
                format!("Notification id {id} is given more than once."),
            ));
            continue;
        }
        ids.push(id);
    }
    if problems.is_empty() {
        Ok(ids)
    } else {
        Err(ApiError::BadRequest(problems.into_vec()))
    }
}

/// `POST /api/v1/Webhooks/{id}/notifications/details`: the notifications named,
/// with the envelope as sent and every attempt. Ids the webhook does not have
/// are left out; when none is found the answer is `404 NOTIFICATION_NOTFOUND`.
async fn details(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
    live: web::Data<LiveSettings>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let ids = parse_ids(
        body.into_inner(),
        DETAILS_LIMIT,
        ErrorCode::NotificationBulkGetLimitExceeded,
    )?;
    let found = store.details(id, caller.scope(), ids).await?;
    let waiting = WaitingContext::read(&**store, id, &found, &live).await?;
    listed(
        id,
        detailed(&found, fixture.as_ref().map(|f| &***f), waiting.as_ref()),
    )
}

/// The details call's items, each with its event when the journal knows it
/// and, when pending, why it waits.
fn detailed<'a>(
    found: &'a [(Notification, Vec<Attempt>)],
    fixture: Option<&'a Fixture>,
    waiting: Option<&'a WaitingContext>,
) -> impl Iterator<Item = NotificationView<'a>> {
    found.iter().map(move |(n, attempts)| {
        let mut view = NotificationView::new(n, Some(attempts));
        view.event_id = fixture
            .and_then(|f| f.journal.event_of(n.id))
            .map(|e| e.to_string());
        view.waiting = waiting.and_then(|w| w.of(n)).map(|w| WaitingView::new(&w));
        view
    })
}

/// `GET /sandbox/v1/notifications/{notificationId}` (not Thredd's): the
/// details call's answer for one notification, whichever webhook it belongs
/// to (within the caller's scope).
async fn by_id(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
    live: web::Data<LiveSettings>,
) -> Result<HttpResponse, ApiError> {
    let id = NotificationId::parse(&path).map_err(|mut p| {
        p.field = Some("notificationId".into());
        ApiError::bad_request(p)
    })?;
    let Some((n, _)) = find_notification(&**store, caller.scope(), id).await? else {
        return Err(StoreError::NotificationNotFound.into());
    };
    let webhook = n.webhook_id;
    let found = store.details(webhook, caller.scope(), vec![id]).await?;
    let waiting = WaitingContext::read(&**store, webhook, &found, &live).await?;
    listed(webhook, detailed(&found, Some(&fixture), waiting.as_ref()))
}

/// The webhook's notifications found; none is `404 NOTIFICATION_NOTFOUND`.
fn listed<'a>(
    webhook: WebhookId,
    found: impl Iterator<Item = NotificationView<'a>>,
) -> Result<HttpResponse, ApiError> {
    let content: Vec<NotificationView> = found.collect();
    if content.is_empty() {
        return Err(ApiError::NotFound(Problem::new(
            ErrorCode::NotificationNotFound,
            "No notifications found.",
        )));
    }
    Ok(success(
        StatusCode::OK,
        NotificationList {
            webhook_id: webhook.to_string(),
            content,
        },
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UndeliveredGroup {
    event_code: u16,
    count: usize,
    notification_id: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UndeliveredSummary {
    webhook_id: String,
    total_count: usize,
    content: Vec<UndeliveredGroup>,
}

/// `GET /api/v1/Webhooks/{id}/notifications/undelivered`: the `Undelivered`
/// notifications grouped by event code; none is `404 UNDELIVERED_NOTIFICATIONS_NOTFOUND`.
async fn undelivered(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let webhook = parse_id(&path)?;
    let found = store.undelivered(webhook, caller.scope()).await?;
    if found.is_empty() {
        return Err(ApiError::NotFound(Problem::new(
            ErrorCode::UndeliveredNotificationsNotFound,
            "No undelivered notifications found.",
        )));
    }
    Ok(success(
        StatusCode::OK,
        UndeliveredSummary {
            webhook_id: webhook.to_string(),
            total_count: found.len(),
            content: group_by_code(found),
        },
    ))
}

/// Consecutive runs of one code (the store answers them sorted by code).
fn group_by_code(found: Vec<(EventCode, NotificationId)>) -> Vec<UndeliveredGroup> {
    let mut groups: Vec<UndeliveredGroup> = Vec::new();
    for (code, id) in found {
        match groups.last_mut() {
            Some(group) if group.event_code == code.value() => {
                group.notification_id.push(id.to_string());
                group.count += 1;
            }
            _ => groups.push(UndeliveredGroup {
                event_code: code.value(),
                count: 1,
                notification_id: vec![id.to_string()],
            }),
        }
    }
    groups
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resent {
    /// Thredd names this field in the plural though it holds one id.
    notification_ids: String,
    resend_status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResendAnswer {
    webhook_id: String,
    content: Vec<Resent>,
}

/// `POST /api/v1/Webhooks/{id}/notifications/resend`: a new delivery cycle, with
/// the whole retry schedule, for each final notification named; per id, Thredd's
/// `resendStatus`. The webhook must be `active` (`409 WEBHOOK_IS_NOT_ACTIVE_IN_STATUS`).
async fn resend(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let ids = parse_ids(
        body.into_inner(),
        RESEND_LIMIT,
        ErrorCode::NotificationResendLimitExceeded,
    )?;
    let each = store.resend(id, caller.scope(), ids, clock.now()).await?;
    let content = each
        .iter()
        .map(|(id, resend)| Resent {
            notification_ids: id.to_string(),
            resend_status: resend.status(),
        })
        .collect();
    Ok(success(
        StatusCode::OK,
        ResendAnswer {
            webhook_id: id.to_string(),
            content,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    fn codes(result: Result<impl Sized, ApiError>) -> Vec<ErrorCode> {
        match result {
            Ok(_) => vec![],
            Err(ApiError::BadRequest(problems)) => problems.into_iter().map(|p| p.code).collect(),
            Err(other) => panic!("not a 400: {other}"),
        }
    }

    #[test]
    fn query_rules() {
        use ErrorCode::*;
        let today = date!(2024 - 01 - 24);
        let cases = [
            ("", vec![]),
            ("from=2024-01-24&count=5", vec![]),
            ("from=2023-02-28&other=x", vec![]),
            ("from=2024-01-25", vec![FutureDate]),
            ("from=24-01-2024", vec![InvalidDate]),
            ("from=2023-02-30", vec![InvalidDate]),
            ("from=", vec![InvalidDate]),
            ("count=0", vec![InvalidRequestBody]),
            ("count=1001", vec![InvalidRequestBody]),
            ("count=-1", vec![InvalidRequestBody]),
            ("from=x&count=y", vec![InvalidDate, InvalidRequestBody]),
        ];
        for (query, expected) in cases {
            assert_eq!(codes(parse_query(query, today)), expected, "case {query:?}");
        }
        let (since, count) = parse_query("from=2024-01-02&count=7", today).unwrap();
        assert_eq!(since, datetime!(2024-01-02 00:00 UTC));
        assert_eq!(count, 7);
        let (since, count) = parse_query("", today).unwrap();
        assert_eq!(since, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(count, DEFAULT_COUNT);
    }

    #[test]
    fn id_list_rules() {
        use ErrorCode::*;
        let a = "7b3e4b9e-8a52-4c1e-9d4f-3f1c2b8a9e01";
        let b = "0c6f8a3d-2e4b-4f9a-8c1d-5e7b9a2c4d6f";
        let many: Vec<String> = (0..26)
            .map(|_| NotificationId::generate().to_string())
            .collect();
        let cases = [
            (json!({"notificationIds": [a, b]}), vec![]),
            (
                json!({"notificationIds": []}),
                vec![IsRequiredNotificationId],
            ),
            (json!({}), vec![IsRequiredNotificationId]),
            (json!({"notificationIds": a}), vec![InvalidRequestBody]),
            (json!([a]), vec![InvalidRequestBody]),
            (
                json!({"notificationIds": ["nope", 7]}),
                vec![InvalidNotificationId, InvalidNotificationId],
            ),
            (
                json!({"notificationIds": [a, a]}),
                vec![DuplicateNotificationId],
            ),
            (
                json!({"notificationIds": many}),
                vec![NotificationResendLimitExceeded],
            ),
        ];
        for (body, expected) in cases {
            let got = codes(parse_ids(
                body.clone(),
                RESEND_LIMIT,
                NotificationResendLimitExceeded,
            ));
            assert_eq!(got, expected, "case {body}");
        }
        let ids = parse_ids(
            json!({"notificationIds": [b, a]}),
            2,
            NotificationBulkGetLimitExceeded,
        )
        .unwrap();
        assert_eq!(
            ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [b, a],
            "ids keep the order asked"
        );
    }

    #[test]
    fn undelivered_groups_follow_the_codes() {
        let code = |n| EventCode::from_number(n, "eventCode").unwrap();
        let ids: Vec<NotificationId> = (0..3).map(|_| NotificationId::generate()).collect();
        let groups = group_by_code(vec![
            (code(101), ids[0]),
            (code(101), ids[1]),
            (code(103), ids[2]),
        ]);
        let got: Vec<(u16, usize, Vec<String>)> = groups
            .into_iter()
            .map(|g| (g.event_code, g.count, g.notification_id))
            .collect();
        assert_eq!(
            got,
            [
                (101, 2, vec![ids[0].to_string(), ids[1].to_string()]),
                (103, 1, vec![ids[2].to_string()]),
            ]
        );
    }
}
