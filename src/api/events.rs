//! `POST /sandbox/v1/events`, which Thredd does not have: trigger an event now.
//! One notification per webhook that receives it (`Webhook::receives`), stored
//! before the answer; the outbox hands them to the delivery engine.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::routes::Routes;
use super::{object_body, success, Caller};
use crate::domain::time::now_seconds;
use crate::domain::webhook_body::owner;
use crate::domain::{ErrorCode, Event, EventCode, PmCode, Problem, Problems, ProductId};
use crate::error::ApiError;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/events").post(trigger).served_if(on);
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct TriggerBody {
    program_manager_code: Value,
    product_id: Value,
    event_code: Value,
    payload: Value,
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

/// `POST /sandbox/v1/events`: one notification per receiving webhook, stored
/// (and so handed to the delivery engine) before the answer.
async fn trigger(
    caller: Caller,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    caller.check_body(&body)?;
    let event = object_body::<TriggerBody>(body.into_inner())?.parse(&caller)?;
    let webhooks = store.active_for(&event.pm, event.product).await?;
    let notifications = event.fan_out(webhooks.iter().map(|w| &**w), now_seconds());
    let created = notifications
        .iter()
        .map(|n| Created {
            webhook_id: n.webhook_id.to_string(),
            notification_id: n.id.to_string(),
        })
        .collect::<Vec<_>>();
    if !notifications.is_empty() {
        store.enqueue(notifications).await?;
    }
    // The access log has a line per trigger already.
    log::debug!(
        "event {} for program manager {}: {} notifications",
        event.code,
        event.pm,
        created.len()
    );
    Ok(success(
        StatusCode::ACCEPTED,
        Triggered {
            notifications: created,
        },
    ))
}
