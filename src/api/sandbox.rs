//! The sandbox routes, which Thredd does not have: trigger an event now, and a
//! capture inbox that answers 200 to anything and keeps what it was sent.
//! `[sandbox] enabled = false` leaves them out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::webhooks::{format_time, object_body, owner};
use super::{success, Caller};
use crate::delivery::Dispatcher;
use crate::domain::event_payload::{envelope, sample};
use crate::domain::{
    now_utc, ErrorCode, EventCode, Notification, NotificationId, PmCode, Problem, Problems,
    ProductId, Webhook, WebhookStatus,
};
use crate::error::ApiError;
use crate::seed::Seeds;
use crate::store::{Outbox, Repository};

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct TriggerBody {
    program_manager_code: Value,
    product_id: Value,
    event_code: Value,
    payload: Value,
}

/// An event as triggered: whose, which product, which code, and what it carries.
struct Event {
    pm: PmCode,
    product: Option<ProductId>,
    code: EventCode,
    payload: Option<Value>,
}

impl TriggerBody {
    fn parse(self, caller: &Caller) -> Result<Event, ApiError> {
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
        match (pm, product, code, payload) {
            (Some(pm), Some(product), Some(code), Some(payload)) if problems.is_empty() => {
                Ok(Event {
                    pm,
                    product,
                    code,
                    payload,
                })
            }
            _ => Err(ApiError::BadRequest(problems.into_vec())),
        }
    }
}

/// Whether `webhook` receives `event` (API.md section 8): active, the event's
/// program manager, subscribed to the code, and PM-level or for the event's product.
fn matches(webhook: &Webhook, event: &Event) -> bool {
    webhook.status == WebhookStatus::Active
        && webhook.pm_code == event.pm
        && webhook.events.contains(event.code)
        && webhook
            .product_id
            .is_none_or(|product| Some(product) == event.product)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    webhook_id: String,
    notification_id: String,
}

#[derive(Serialize)]
struct Triggered {
    notifications: Vec<Created>,
}

/// `POST /sandbox/v1/events`: one notification per matching webhook, stored before
/// the answer and then delivered.
pub async fn trigger(
    caller: Caller,
    body: web::Json<Value>,
    repo: web::Data<dyn Repository>,
    outbox: web::Data<dyn Outbox>,
    dispatcher: web::Data<Dispatcher>,
) -> Result<HttpResponse, ApiError> {
    caller.check_body(&body)?;
    let event = object_body::<TriggerBody>(body.into_inner())?.parse(&caller)?;
    let now = time::OffsetDateTime::now_utc();
    let payload = event
        .payload
        .clone()
        .unwrap_or_else(|| sample(event.code, &event.pm, event.product, now));
    let notifications: Vec<Notification> = repo
        .list(&event.pm)?
        .iter()
        .filter(|webhook| matches(webhook, &event))
        .map(|webhook| {
            let id = NotificationId::new_random();
            Notification::new(
                webhook.id,
                event.pm.clone(),
                event.code,
                id,
                envelope(id, event.code, &payload, now),
                now_utc(),
            )
        })
        .collect();
    if !notifications.is_empty() {
        outbox.enqueue(notifications.clone()).await?;
    }
    let created = notifications
        .iter()
        .map(|n| Created {
            webhook_id: n.webhook_id.to_string(),
            notification_id: n.id.to_string(),
        })
        .collect();
    log::info!(
        "event {} for program manager {}: {} notifications",
        event.code,
        event.pm,
        notifications.len()
    );
    dispatcher.deliver(notifications);
    Ok(success(
        StatusCode::ACCEPTED,
        Triggered {
            notifications: created,
        },
    ))
}

/// The most requests an inbox keeps (the oldest go first) and the most inboxes.
const INBOX_CAPACITY: usize = 1000;
const MAX_INBOXES: usize = 1000;
const MAX_NAME_LEN: usize = 64;

/// One request as it arrived at an inbox.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Captured {
    method: String,
    headers: BTreeMap<String, String>,
    /// The body as JSON when it parses, else as text (lossy UTF-8), else null.
    body: Value,
    received_time: String,
}

/// The capture inboxes, in memory: they are a debugging aid, not a record, so
/// they do not survive a restart.
#[derive(Default)]
pub struct Inbox {
    boxes: Mutex<HashMap<String, VecDeque<Captured>>>,
}

impl Inbox {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, VecDeque<Captured>>) -> T) -> T {
        let mut boxes = match self.boxes.lock() {
            Ok(boxes) => boxes,
            // A panic elsewhere cannot leave a half-written entry here; carry on.
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut boxes)
    }
}

fn inbox_name(raw: &str) -> Result<String, ApiError> {
    let valid = (1..=MAX_NAME_LEN).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::bad_request(Problem::at(
            ErrorCode::InvalidRequestBody,
            "name",
            format!("An inbox name is 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'."),
        )))
    }
}

/// Any method on `/sandbox/v1/inbox/{name}`: kept, and answered 200.
pub async fn capture(
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
    inbox: web::Data<Inbox>,
) -> Result<HttpResponse, ApiError> {
    let name = inbox_name(&name)?;
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let captured = Captured {
        method: req.method().to_string(),
        headers,
        body,
        received_time: format_time(now_utc()),
    };
    let kept = inbox.with(|boxes| {
        if !boxes.contains_key(&name) && boxes.len() >= MAX_INBOXES {
            return false;
        }
        let requests = boxes.entry(name).or_default();
        if requests.len() >= INBOX_CAPACITY {
            requests.pop_front();
        }
        requests.push_back(captured);
        true
    });
    if !kept {
        return Err(ApiError::Conflict(Problem::new(
            ErrorCode::InvalidRequestBody,
            format!("There are already {MAX_INBOXES} inboxes; empty one with DELETE first."),
        )));
    }
    Ok(success(
        StatusCode::OK,
        serde_json::json!({"received": true}),
    ))
}

#[derive(Serialize)]
struct Requests {
    name: String,
    count: usize,
    requests: Vec<Captured>,
}

/// `GET /sandbox/v1/inbox/{name}/requests`: what arrived, oldest first.
pub async fn requests(
    name: web::Path<String>,
    inbox: web::Data<Inbox>,
) -> Result<HttpResponse, ApiError> {
    let name = inbox_name(&name)?;
    let requests: Vec<Captured> = inbox.with(|boxes| {
        boxes
            .get(&name)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    });
    Ok(success(
        StatusCode::OK,
        Requests {
            count: requests.len(),
            name,
            requests,
        },
    ))
}

/// `DELETE /sandbox/v1/inbox/{name}/requests`: empties the inbox.
pub async fn clear(
    name: web::Path<String>,
    inbox: web::Data<Inbox>,
) -> Result<HttpResponse, ApiError> {
    let name = inbox_name(&name)?;
    let removed = inbox.with(|boxes| boxes.remove(&name).map_or(0, |r| r.len()));
    Ok(success(
        StatusCode::OK,
        serde_json::json!({"name": name, "removed": removed}),
    ))
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResetAnswer {
    webhooks_deleted: u64,
    notifications_deleted: u64,
    inbox_requests_deleted: usize,
    webhooks_seeded: usize,
}

/// `POST /sandbox/v1/reset`: deletes every webhook, notification and inbox
/// request, then creates the configured fixtures again, so a CI pipeline gets the
/// same starting point between tests. Only served while auth is off: it deletes
/// every program manager's data.
pub async fn reset(
    repo: web::Data<dyn Repository>,
    inbox: web::Data<Inbox>,
    seeds: web::Data<Seeds>,
) -> Result<HttpResponse, ApiError> {
    let cleared = repo.reset().await?;
    let inbox_requests = inbox.with(|boxes| {
        let count = boxes.values().map(VecDeque::len).sum();
        boxes.clear();
        count
    });
    let seeded = seeds.apply(&**repo).await?;
    log::info!(
        "reset: {} webhooks, {} notifications and {inbox_requests} inbox requests deleted; {} fixtures created",
        cleared.webhooks,
        cleared.notifications,
        seeded.created
    );
    Ok(success(
        StatusCode::OK,
        ResetAnswer {
            webhooks_deleted: cleared.webhooks,
            notifications_deleted: cleared.notifications,
            inbox_requests_deleted: inbox_requests,
            webhooks_seeded: seeded.created,
        },
    ))
}
