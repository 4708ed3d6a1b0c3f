//! The sandbox's events, which Thredd does not have. `POST /sandbox/v1/events`
//! triggers one now: one notification per webhook that receives it
//! (`Event::fan_out`), stored before the answer (the outbox hands them to the
//! delivery engine), and the event kept in the fixture's journal with what
//! became of it, the skipped webhooks and their reasons included.
//! `GET /sandbox/v1/events[/{eventId}]` reads them back, each notification
//! with its current status. `POST /sandbox/v1/scenarios/{name}` sends one of
//! Thredd's documented flows (`domain::scenario`) as events that share ids.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{object_body, pm_param, query, success, Caller};
use crate::domain::event_payload::{apply_overrides, sample, EnvelopeForm};
use crate::domain::scenario::Scenario;
use crate::domain::time::rfc3339_seconds;
use crate::domain::webhook_body::owner;
use crate::domain::Clock;
use crate::domain::{
    ErrorCode, Event, EventCode, EventId, NotificationId, PmCode, Problem, Problems, ProductId,
    WebhookId,
};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::sandbox::{notifications_now, send, EventRecord, Fixture, Sent};
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/events")
        .post(trigger)
        .get(list)
        .served_if(on);
    r.resource("/sandbox/v1/events/{eventId}")
        .get(one)
        .served_if(on);
    r.resource("/sandbox/v1/scenarios")
        .get(scenarios)
        .served_if(on);
    r.resource("/sandbox/v1/scenarios/{name}")
        .post(run_scenario)
        .served_if(on);
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct TriggerBody {
    program_manager_code: Value,
    product_id: Value,
    event_code: Value,
    payload: Value,
    /// Fields set in the generated (or given) payload, by dotted path.
    overrides: Value,
    /// `"standard"` or `"documented"` (105-110).
    envelope: Value,
}

impl TriggerBody {
    /// The event to send; with `overrides`, its payload is made here (at
    /// `now`) so that a path that cannot be set is refused before anything is
    /// stored.
    fn parse(self, caller: &Caller, now: OffsetDateTime) -> Result<Event, ApiError> {
        let mut problems = Problems::default();
        let pm = problems.take(
            PmCode::from_json(&self.program_manager_code)
                .and_then(|pm| owner(caller.scope(), pm.as_ref())),
        );
        let product = problems.take(ProductId::from_json(&self.product_id));
        let code = problems.take(match &self.event_code {
            Value::Null => Err(Problem::at(
                ErrorCode::InvalidEventCode,
                "eventCode",
                "eventCode is required.",
            )),
            value => EventCode::from_json(value, "eventCode"),
        });
        let payload = problems.take(match self.payload {
            Value::Null => Ok(None),
            value @ Value::Object(_) => Ok(Some(value)),
            _ => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                "payload",
                "payload must be a JSON object.",
            )),
        });
        let envelope = problems.take(EnvelopeForm::from_json(&self.envelope, code));
        let (Some(pm), Some(product), Some(code), Some(payload), Some(envelope)) =
            (pm, product, code, payload, envelope)
        else {
            return Err(ApiError::BadRequest(problems.into_vec()));
        };
        let payload = if self.overrides.is_null() {
            payload
        } else {
            let mut payload = payload.unwrap_or_else(|| sample(code, &pm, product, now));
            if let Err(found) = apply_overrides(&mut payload, &self.overrides) {
                for problem in found {
                    problems.push(problem);
                }
            }
            Some(payload)
        };
        if !problems.is_empty() {
            return Err(ApiError::BadRequest(problems.into_vec()));
        }
        Ok(Event {
            pm,
            product,
            code,
            payload,
            envelope,
        })
    }
}

/// Writes a value by its `Display`, without an intermediate `String`: a
/// trigger's answer lists every skipped webhook of its program manager.
fn shown<S: serde::Serializer>(value: &impl std::fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    #[serde(serialize_with = "shown")]
    webhook_id: WebhookId,
    #[serde(serialize_with = "shown")]
    notification_id: NotificationId,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Skipped {
    #[serde(serialize_with = "shown")]
    webhook_id: WebhookId,
    reason: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Triggered {
    event_id: String,
    notifications: Vec<Created>,
    skipped: Vec<Skipped>,
    /// Why nothing was sent, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

fn skipped(record: &EventRecord) -> Vec<Skipped> {
    record
        .skipped
        .iter()
        .map(|&(webhook_id, reason)| Skipped {
            webhook_id,
            reason: reason.as_str(),
        })
        .collect()
}

/// `POST /sandbox/v1/events`: one notification per receiving webhook, stored
/// (and so handed to the delivery engine) before the answer; the event is
/// kept in the journal, with each other webhook of the program manager and
/// why it got nothing.
async fn trigger(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    caller.check_body(&body)?;
    let now = clock.now_seconds();
    let event = object_body::<TriggerBody>(body.into_inner())?.parse(&caller, now)?;
    let Sent { record, webhooks } = send(&**store, &fixture, &event, now).await?;
    let created = record
        .notifications
        .iter()
        .map(|&(webhook_id, notification_id)| Created {
            webhook_id,
            notification_id,
        })
        .collect::<Vec<_>>();
    let message = if webhooks == 0 && created.is_empty() {
        Some(format!(
            "Program manager {} has no webhook; nothing was sent.",
            event.pm
        ))
    } else if created.is_empty() {
        Some(format!(
            "No webhook of program manager {} receives event {}; see skipped for why.",
            event.pm, event.code
        ))
    } else {
        None
    };
    // The access log has a line per trigger already.
    log::debug!(
        "event {} ({}) for program manager {}: {} notifications, {} webhooks skipped",
        record.id,
        event.code,
        event.pm,
        created.len(),
        record.skipped.len()
    );
    Ok(success(
        StatusCode::ACCEPTED,
        Triggered {
            event_id: record.id.to_string(),
            notifications: created,
            skipped: skipped(&record),
            message,
        },
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FanOutItem {
    webhook_id: String,
    notification_id: String,
    /// `null` once the notification is purged (retention) or reset.
    notification_status: Option<&'static str>,
    attempts: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventView {
    event_id: String,
    program_manager_code: String,
    product_id: Option<u64>,
    event_code: u16,
    time: String,
    payload: Value,
    notifications: Vec<FanOutItem>,
    skipped: Vec<Skipped>,
}

/// An event with each notification's status as stored now.
async fn view(
    record: &EventRecord,
    scope: Option<&PmCode>,
    store: &web::Data<dyn Store>,
) -> Result<EventView, ApiError> {
    let now = notifications_now(&***store, scope, record).await?;
    let notifications = record
        .notifications
        .iter()
        .zip(now)
        .map(|((webhook, id), found)| FanOutItem {
            webhook_id: webhook.to_string(),
            notification_id: id.to_string(),
            notification_status: found.as_ref().map(|n| n.status.as_str()),
            attempts: found.map(|n| n.attempts),
        })
        .collect();
    Ok(EventView {
        event_id: record.id.to_string(),
        program_manager_code: record.pm.to_string(),
        product_id: record.product.map(ProductId::value),
        event_code: record.code.value(),
        time: rfc3339_seconds(record.time),
        payload: record.payload.clone(),
        notifications,
        skipped: skipped(record),
    })
}

fn event_not_found() -> ApiError {
    ApiError::NotFound(Problem::new(
        ErrorCode::EventNotFound,
        "No such event (events are kept in memory, the most recent ones only).",
    ))
}

/// `GET /sandbox/v1/events/{eventId}`: the event, its fan-out with each
/// notification's current status, and the skipped webhooks with their reasons.
async fn one(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let id = EventId::parse(&path, "eventId").map_err(ApiError::bad_request)?;
    let record = fixture
        .journal
        .find_event(id, caller.scope())
        .ok_or_else(event_not_found)?;
    Ok(success(
        StatusCode::OK,
        view(&record, caller.scope(), &store).await?,
    ))
}

/// The default page of the events list, and the most one page may hold.
const EVENTS_PAGE: usize = 20;
const EVENTS_PAGE_MAX: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    program_manager_code: Option<String>,
    event_code: Option<String>,
    limit: Option<usize>,
    cursor: Option<u64>,
}

#[derive(Serialize)]
struct EventPage {
    content: Vec<EventView>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    next: Option<u64>,
}

/// `GET /sandbox/v1/events?programManagerCode=&eventCode=&limit=&cursor=`:
/// events newest first, a page at a time.
async fn list(
    caller: Caller,
    req: HttpRequest,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let q: ListQuery = query(&req)?;
    let pm = q
        .program_manager_code
        .as_deref()
        .map(pm_param)
        .transpose()?;
    let code = q
        .event_code
        .as_deref()
        .map(EventCode::from_path)
        .transpose()
        .map_err(ApiError::bad_request)?;
    let limit = page_limit(q.limit, EVENTS_PAGE, EVENTS_PAGE_MAX)?;
    let cursor = q.cursor.map(cursor).transpose()?;
    let (records, next) = fixture.journal.events(
        caller.scope(),
        |e| pm.as_ref().is_none_or(|pm| *pm == e.pm) && code.is_none_or(|c| c == e.code),
        cursor,
        limit,
    );
    let mut content = Vec::with_capacity(records.len());
    for record in records.iter().map(Arc::as_ref) {
        content.push(view(record, caller.scope(), &store).await?);
    }
    Ok(success(StatusCode::OK, EventPage { content, next }))
}

/// The largest `cursor` (a page's `next`): what JSON numbers hold exactly.
pub const MAX_CURSOR: u64 = (1 << 53) - 1;

/// A page's `cursor`, a previous page's `next`.
pub fn cursor(raw: u64) -> Result<u64, ApiError> {
    if raw > MAX_CURSOR {
        return Err(ApiError::bad_request(Problem::at(
            ErrorCode::InvalidRequestBody,
            "cursor",
            "cursor must be a previous page's next.",
        )));
    }
    Ok(raw)
}

/// A page's `limit`: `default` when absent, 1 to `max`.
pub fn page_limit(asked: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match asked {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(Problem::at(
            ErrorCode::InvalidRequestBody,
            "limit",
            format!("limit must be 1 to {max}; {n} is not."),
        ))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScenarioView {
    name: &'static str,
    description: &'static str,
    event_codes: Vec<u16>,
}

/// `GET /sandbox/v1/scenarios`: the scenarios, with the codes they send.
async fn scenarios() -> HttpResponse {
    let views: Vec<ScenarioView> = Scenario::ALL
        .into_iter()
        .map(|s| ScenarioView {
            name: s.name(),
            description: s.description(),
            event_codes: s.codes().into_iter().map(EventCode::value).collect(),
        })
        .collect();
    success(StatusCode::OK, views)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ScenarioBody {
    program_manager_code: Value,
    product_id: Value,
    /// `"standard"` or `"documented"` (token-provisioning only).
    envelope: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SentEvent {
    event_id: String,
    event_code: u16,
    notifications: Vec<Created>,
    skipped: Vec<Skipped>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScenarioRun {
    scenario: &'static str,
    /// The payload fields its events share (`Scenario::shared`).
    shared: serde_json::Map<String, Value>,
    events: Vec<SentEvent>,
}

/// `POST /sandbox/v1/scenarios/{name}` with `{"programManagerCode",
/// "productId"?, "envelope"?}`: its events, sent one after another (each
/// stored before the next), and their fan-outs.
async fn run_scenario(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let scenario = Scenario::parse(&path).ok_or_else(|| {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        ApiError::NotFound(Problem::new(
            ErrorCode::ScenarioNotFound,
            format!(
                "No scenario {:?}; there are {}.",
                path.as_str(),
                names.join(", ")
            ),
        ))
    })?;
    caller.check_body(&body)?;
    let body: ScenarioBody = object_body(body.into_inner())?;
    let mut problems = Problems::default();
    let pm = problems.take(
        PmCode::from_json(&body.program_manager_code)
            .and_then(|pm| owner(caller.scope(), pm.as_ref())),
    );
    let product = problems.take(ProductId::from_json(&body.product_id));
    let envelope = problems.take(
        EnvelopeForm::from_json(&body.envelope, None).and_then(|form| {
            if form == EnvelopeForm::Documented && !scenario.has_documented_envelope() {
                Err(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    EnvelopeForm::FIELD,
                    format!(
                        "{} sends no 105-110, so it has only the standard envelope.",
                        scenario.name()
                    ),
                ))
            } else {
                Ok(form)
            }
        }),
    );
    let (Some(pm), Some(product), Some(envelope)) = (pm, product, envelope) else {
        return Err(ApiError::BadRequest(problems.into_vec()));
    };
    let now = clock.now_seconds();
    let events = scenario.events(&pm, product, envelope, now);
    let shared = events
        .first()
        .and_then(|e| e.payload.as_ref())
        .map(|payload| {
            scenario
                .shared()
                .iter()
                .filter_map(|key| Some(((*key).to_owned(), payload.get(*key)?.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut sent = Vec::with_capacity(events.len());
    for event in &events {
        let Sent { record, .. } = send(&**store, &fixture, event, now).await?;
        sent.push(SentEvent {
            event_id: record.id.to_string(),
            event_code: record.code.value(),
            notifications: record
                .notifications
                .iter()
                .map(|&(webhook_id, notification_id)| Created {
                    webhook_id,
                    notification_id,
                })
                .collect(),
            skipped: skipped(&record),
        });
    }
    log::debug!(
        "scenario {} for program manager {}: {} events",
        scenario.name(),
        pm,
        sent.len()
    );
    Ok(success(
        StatusCode::ACCEPTED,
        ScenarioRun {
            scenario: scenario.name(),
            shared,
            events: sent,
        },
    ))
}
