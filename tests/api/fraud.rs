//! The fraud loop (issue 25, part 3; API.md section 10): a 101 raises a
//! fraud alert, Fraud Alert Response answers it once and a 102
//! `Acknowledgement` follows; an alert left unanswered expires (by the
//! sandbox setting or the moved clock), a 102 `Timeout` follows, and a late
//! answer gets Thredd's documented 400.

use serde_json::{json, Value};

use crate::delivery::hook;
use crate::helpers::{Reply, TestApp};
use crate::sandbox::waited;

const EXPIRED: &str =
    "Unable to process this request at this time. No response received within the required time period.";

/// A webhook for 101 and 102 on an inbox, and a 101 delivered to it:
/// (fraudAlertId, notificationId).
async fn alert(app: &TestApp, inbox: &str) -> (String, String) {
    let url = app.url(&format!("/sandbox/v1/inbox/{inbox}"));
    app.create_webhook("TRD", hook(Some(7), &[101, 102], &url))
        .await;
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "TRD", "productId": 7, "eventCode": 101}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let notification = reply.response()["notifications"][0]["notificationId"]
        .as_str()
        .expect("a 101 notification")
        .to_owned();
    let delivered = waited(
        app,
        json!({"notificationId": notification, "outcome": "delivered"}),
        1,
    )
    .await;
    let body: Value =
        serde_json::from_str(delivered[0]["body"].as_str().expect("body")).expect("JSON");
    let alert = body["payload"]["fraudAlertId"]
        .as_str()
        .expect("fraudAlertId")
        .to_owned();
    (alert, notification)
}

async fn respond(app: &TestApp, pm: &str, body: Value) -> Reply {
    app.post("/eds/api/v1/FraudAlerts/Response", Some(pm), body)
        .await
}

/// The one error of a refused answer: (status, code, message).
fn refused(reply: &Reply) -> (u16, String, String) {
    let codes = reply.error_codes();
    assert_eq!(codes.len(), 1, "{}", reply.body);
    let message = reply.body["errors"][0]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    (reply.status, codes[0].clone(), message)
}

/// The 102 delivered for `alert`, as its payload.
async fn follow_up(app: &TestApp, alert: &str, kind: &str) -> Value {
    let delivered = waited(
        app,
        json!({"eventCode": 102, "outcome": "delivered",
               "payload": {"fraudAlertId": alert, "fraudAlertType": kind}}),
        1,
    )
    .await;
    let body: Value =
        serde_json::from_str(delivered[0]["body"].as_str().expect("body")).expect("JSON");
    body["payload"].clone()
}

#[actix_rt::test]
async fn an_answer_is_acknowledged_by_a_102_and_a_second_answer_is_refused() {
    let app = TestApp::spawn().await;
    let (alert, notification) = alert(&app, "fraud-yes").await;
    let answer = json!({"fraudAlertId": alert, "notificationId": notification, "response": "Yes"});
    let reply = respond(&app, "TRD", answer.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.response()["fraudAlertId"], alert.as_str());
    assert_eq!(reply.response()["response"], "Yes");
    let payload = follow_up(&app, &alert, "Acknowledgement").await;
    assert_eq!(payload["productId"], "7");
    assert!(
        payload["notificationMessageContent"]
            .as_str()
            .is_some_and(|m| m.contains("unblocked")),
        "{payload}"
    );

    let again = respond(
        &app,
        "TRD",
        json!({"fraudAlertId": alert, "notificationId": notification, "response": "No"}),
    )
    .await;
    let (status, code, _) = refused(&again);
    assert_eq!(
        (status, code.as_str()),
        (409, "FRAUD_ALERT_ANSWERED"),
        "{}",
        again.body
    );
    let acknowledgements = app.get("/sandbox/v1/deliveries?eventCode=102", None).await;
    assert_eq!(
        acknowledgements.response()["content"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "one 102 only: {}",
        acknowledgements.body
    );
}

#[actix_rt::test]
async fn a_bad_answer_gets_thredds_documented_errors() {
    let app = TestApp::spawn().await;
    let (alert, notification) = alert(&app, "fraud-errors").await;
    let cases = [
        (
            json!({"fraudAlertId": "FA-1", "notificationId": notification, "response": "Yes"}),
            "TRD",
            (
                400,
                "INVALID_FRAUD_ALERT_ID_FORMAT",
                "Invalid fraudAlertId format.",
            ),
        ),
        (
            json!({"fraudAlertId": alert, "notificationId": "n-1", "response": "Yes"}),
            "TRD",
            (
                400,
                "INVALID_NOTIFICATION_ID_FORMAT",
                "Invalid notificationId format.",
            ),
        ),
        (
            json!({"fraudAlertId": "0b6c3f0e-7d1e-4a8e-9c39-5d7f8a1c2b3d", "notificationId": notification, "response": "Yes"}),
            "TRD",
            (400, "INVALID_FRAUD_ALERT_ID", "Invalid fraudAlertId."),
        ),
        (
            json!({"fraudAlertId": alert, "notificationId": notification, "response": "Yes"}),
            "ABC",
            (400, "INVALID_FRAUD_ALERT_ID", "Invalid fraudAlertId."),
        ),
        (
            json!({"fraudAlertId": alert, "notificationId": "af2d48de-2ad7-42f8-a252-8422cd9e6078", "response": "Yes"}),
            "TRD",
            (400, "INVALID_FRAUD_ALERT_ID", "Invalid fraudAlertId."),
        ),
    ];
    for (body, pm, (status, code, message)) in cases {
        let reply = respond(&app, pm, body.clone()).await;
        assert_eq!(
            refused(&reply),
            (status, code.to_owned(), message.to_owned()),
            "{body}: {}",
            reply.body
        );
    }
    let unsure = respond(
        &app,
        "TRD",
        json!({"fraudAlertId": alert, "notificationId": notification, "response": "Maybe"}),
    )
    .await;
    assert_eq!(unsure.status, 400, "{}", unsure.body);
    assert_eq!(unsure.error_codes(), ["INVALID_REQUEST_BODY"]);
    // None of those took the answer: the real one still does.
    let reply = respond(
        &app,
        "TRD",
        json!({"fraudAlertId": alert, "notificationId": notification, "response": "No"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let payload = follow_up(&app, &alert, "Acknowledgement").await;
    assert!(
        payload["notificationMessageContent"]
            .as_str()
            .is_some_and(|m| m.contains("fraud")),
        "{payload}"
    );
}

#[actix_rt::test]
async fn an_alert_unanswered_past_the_setting_times_out_and_refuses_a_late_answer() {
    let app = TestApp::spawn_with(&[("WHM_SANDBOX__FRAUD_ALERT_EXPIRY_MS", "300")]).await;
    let (alert, notification) = alert(&app, "fraud-timeout").await;
    let payload = follow_up(&app, &alert, "Timeout").await;
    assert_eq!(payload["fraudAlertId"], alert.as_str());
    let late = respond(
        &app,
        "TRD",
        json!({"fraudAlertId": alert, "notificationId": notification, "response": "Yes"}),
    )
    .await;
    assert_eq!(
        refused(&late),
        (400, "FRAUD_ALERT_EXPIRED".to_owned(), EXPIRED.to_owned()),
        "{}",
        late.body
    );
}

#[actix_rt::test]
async fn moving_the_clock_past_72_hours_times_an_alert_out() {
    let app = TestApp::spawn().await;
    let (alert, notification) = alert(&app, "fraud-clock").await;
    let early = app
        .post(
            "/sandbox/v1/clock/advance",
            None,
            json!({"ms": 71 * 3_600_000}),
        )
        .await;
    assert_eq!(early.status, 200, "{}", early.body);
    assert_eq!(early.response()["fraudAlertsExpired"], 0, "not yet");
    let reply = app
        .post("/sandbox/v1/clock/advance", None, json!({"ms": 3_600_000}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.response()["fraudAlertsExpired"], 1, "{}", reply.body);
    follow_up(&app, &alert, "Timeout").await;
    let late = respond(
        &app,
        "TRD",
        json!({"fraudAlertId": alert, "notificationId": notification, "response": "No"}),
    )
    .await;
    assert_eq!(refused(&late).1, "FRAUD_ALERT_EXPIRED", "{}", late.body);
}
