//! `POST /sandbox/v1/webhooks/{id}/notifications/{notificationId}/deliver`,
//! which Thredd does not have: a notification waiting for its retry timer is
//! attempted now (`Notification::deliver_now`), for the dashboard's "Deliver
//! now" and for tests that would otherwise wait out a retry schedule.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{parse_id, success, Caller};
use crate::domain::time::rfc3339_millis;
use crate::domain::Clock;
use crate::domain::{ErrorCode, NotificationId, Problem};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::store::{Store, StoreError};

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/webhooks/{id}/notifications/{notificationId}/deliver")
        .post(deliver_now)
        .served_if(on);
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliverNowAnswer {
    webhook_id: String,
    notification_id: String,
    notification_status: &'static str,
    /// When it is due: now, or already earlier; absent while it is parked.
    next_attempt_time: Option<String>,
}

async fn deliver_now(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    path: web::Path<(String, String)>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let (webhook, notification) = path.into_inner();
    let webhook = parse_id(&webhook)?;
    let id = NotificationId::parse(&notification).map_err(ApiError::bad_request)?;
    // An unknown webhook is WEBHOOK_NOT_REGISTERED, as on every call by id.
    let n = store
        .deliver_now(webhook, caller.scope(), id, clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotificationNotFound => ApiError::NotFound(Problem::at(
                ErrorCode::NotificationNotFound,
                "notificationId",
                format!("No notification {id} for this webhook."),
            )),
            other => other.into(),
        })?;
    Ok(success(
        StatusCode::OK,
        DeliverNowAnswer {
            webhook_id: webhook.to_string(),
            notification_id: n.id.to_string(),
            notification_status: n.status.as_str(),
            next_attempt_time: n.next_attempt.map(rfc3339_millis),
        },
    ))
}
