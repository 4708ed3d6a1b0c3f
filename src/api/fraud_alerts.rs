//! Fraud Alert Response (API.md section 10): the program manager's answer to
//! a 101's fraud alert, `Yes` (the cardholder made the transaction) or `No`
//! (fraud). The alert takes one answer, through one of its 101's
//! notifications, before it expires; a 102 `Acknowledgement` follows to the
//! program manager's webhooks subscribed to 102. Alerts are raised by the
//! sandbox's triggers, so with the sandbox off every id is unknown.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::{object_body, success, Caller};
use crate::domain::{Clock, FraudAlert, FraudResponse};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::sandbox::{send, Fixture};
use crate::store::{Store, StoreError};

pub fn routes(r: &mut Routes) {
    r.resource("/api/v1/fraudalerts/response").post(respond);
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Answered {
    fraud_alert_id: String,
    notification_id: String,
    response: &'static str,
    message: &'static str,
    /// The 102 `Acknowledgement` that follows (the sandbox's event id).
    event_id: String,
}

/// `POST /api/v1/FraudAlerts/Response` with `{"fraudAlertId",
/// "notificationId", "response": "Yes"|"No"}`.
async fn respond(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
) -> Result<HttpResponse, ApiError> {
    let body: Value = object_body(body.into_inner())?;
    let FraudResponse {
        alert,
        notification,
        answer,
    } = FraudResponse::from_json(&body).map_err(ApiError::BadRequest)?;
    let Some(fixture) = fixture else {
        return Err(StoreError::FraudAlertNotFound.into());
    };
    let now = clock.now();
    let change = Box::new(move |a: &mut FraudAlert| a.answer(notification, answer, now));
    let answered = store
        .modify_fraud_alert(alert, caller.scope(), change)
        .await?;
    let acknowledgement = answered
        .follow_up()
        .ok_or_else(|| ApiError::Internal("an answered fraud alert has no follow-up".into()))?;
    let sent = send(&**store, &fixture, &acknowledgement, clock.now_seconds()).await?;
    log::info!(
        "fraud alert {} of program manager {} answered {}: 102 Acknowledgement sent as event {}",
        answered.id,
        answered.pm_code,
        answer.as_str(),
        sent.record.id
    );
    Ok(success(
        StatusCode::OK,
        Answered {
            fraud_alert_id: answered.id.to_string(),
            notification_id: notification.to_string(),
            response: answer.as_str(),
            message: "Fraud alert response received.",
            event_id: sent.record.id.to_string(),
        },
    ))
}
