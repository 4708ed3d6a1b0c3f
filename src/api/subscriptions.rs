//! A webhook's subscriptions: which event codes it receives.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{find_webhook, object_body, parse_event_path, parse_id, success, Caller};
use crate::domain::Clock;
use crate::domain::{ErrorCode, EventSet, Problem, Webhook};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    r.resource("/api/v1/webhooks/{id}/subscriptions")
        .get(list)
        .put(subscribe);
    r.resource("/api/v1/webhooks/{id}/subscriptions/{eventCode}")
        .delete(unsubscribe);
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    event_code: u16,
    description: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionList {
    webhook_id: String,
    content: Vec<Subscription>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionChange {
    webhook_id: String,
    response_status: &'static str,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SubscribeBody {
    events: Value,
}

/// `GET /api/v1/Webhooks/{id}/subscriptions`
async fn list(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let webhook = find_webhook(&caller, &path, &store).await?;
    let content = webhook
        .events
        .iter()
        .map(|code| Subscription {
            event_code: code.value(),
            description: code.description(),
        })
        .collect();
    Ok(success(
        StatusCode::OK,
        SubscriptionList {
            webhook_id: webhook.id.to_string(),
            content,
        },
    ))
}

/// `PUT /api/v1/Webhooks/{id}/subscriptions`: adds codes, all or none.
async fn subscribe(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body: SubscribeBody = object_body(body.into_inner())?;
    let events = parse_events(&body.events).map_err(ApiError::BadRequest)?;
    let now = clock.now_seconds();
    let change = Box::new(move |w: &mut Webhook| w.subscribe(&events, now));
    let webhook = store.modify(id, caller.scope(), change).await?;
    Ok(success(
        StatusCode::OK,
        SubscriptionChange {
            webhook_id: webhook.id.to_string(),
            response_status: "Webhook events updated",
        },
    ))
}

/// The codes to add: a non-empty array; a code twice is `DUPLICATE_EVENTCODE`.
fn parse_events(value: &Value) -> Result<EventSet, Vec<Problem>> {
    let empty = || {
        vec![Problem::at(
            ErrorCode::EmptyEventCodes,
            "events",
            "At least one event code is required.",
        )]
    };
    match value {
        Value::Null => Err(empty()),
        Value::Array(items) if items.is_empty() => Err(empty()),
        value => EventSet::from_json(value, "events", ErrorCode::DuplicateEventCode),
    }
}

/// `DELETE /api/v1/Webhooks/{id}/subscriptions/{eventCode}`
async fn unsubscribe(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    path: web::Path<(String, String)>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let id = parse_id(&id)?;
    let code = parse_event_path(&code)?;
    let now = clock.now_seconds();
    let change = Box::new(move |w: &mut Webhook| w.unsubscribe(code, now));
    let webhook = store.modify(id, caller.scope(), change).await?;
    Ok(success(
        StatusCode::OK,
        SubscriptionChange {
            webhook_id: webhook.id.to_string(),
            response_status: "Webhook event removed",
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscribe_body_rules() {
        use ErrorCode::*;
        let cases = [
            (json!([101]), vec![]),
            (json!([101, 117]), vec![]),
            (json!(null), vec![EmptyEventCodes]),
            (json!([]), vec![EmptyEventCodes]),
            (json!([101, 101]), vec![DuplicateEventCode]),
            (json!([113]), vec![EventCodeNotFound]),
            (json!(["a"]), vec![InvalidEventCode]),
            (json!("101"), vec![InvalidRequestBody]),
        ];
        for (events, expected) in cases {
            let got: Vec<ErrorCode> = parse_events(&events)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.code)
                .collect();
            assert_eq!(got, expected, "case {events}");
        }
    }
}
