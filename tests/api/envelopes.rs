//! What a trigger can ask of its payload and envelope (issue 25): fields of
//! the generated sample set by dotted path, and Thredd's documented envelope
//! of 105-110.

use serde_json::{json, Value};

use crate::delivery::hook;
use crate::helpers::TestApp;
use crate::sandbox::waited;

async fn delivered_body(app: &TestApp, trigger: Value) -> Value {
    let reply = app.post("/sandbox/v1/events", None, trigger).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let notification = reply.response()["notifications"][0]["notificationId"]
        .as_str()
        .expect("a notification")
        .to_owned();
    let delivered = waited(
        app,
        json!({"notificationId": notification, "outcome": "delivered"}),
        1,
    )
    .await;
    serde_json::from_str(delivered[0]["body"].as_str().expect("body")).expect("JSON")
}

#[actix_rt::test]
async fn overrides_set_fields_of_the_generated_sample() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/overrides");
    app.create_webhook("TRD", hook(None, &[103, 107], &url))
        .await;
    let body = delivered_body(
        &app,
        json!({"programManagerCode": "TRD", "eventCode": 107,
               "overrides": {"deviceInfo.deviceType": "WATCH", "otpValue": "123456"}}),
    )
    .await;
    let payload = &body["payload"];
    assert_eq!(payload["deviceInfo"]["deviceType"], "WATCH");
    assert!(
        payload["deviceInfo"]["deviceId"].is_string(),
        "the rest kept: {payload}"
    );
    assert_eq!(payload["otpValue"], "123456");
    assert!(
        payload["dpan"].is_string(),
        "the sample's other fields: {payload}"
    );

    let refused = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "TRD", "eventCode": 103,
                   "overrides": {"tokenId.digits": 1, "newCardStatus": "41"}}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["field"],
        "overrides.tokenId.digits"
    );
    let events = app
        .get("/sandbox/v1/events?programManagerCode=TRD", None)
        .await;
    assert_eq!(
        events.response()["content"].as_array().map(Vec::len),
        Some(1),
        "the refused trigger made no event"
    );
}

#[actix_rt::test]
async fn the_documented_envelope_of_106_has_every_context_field_and_no_notification_id() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/documented");
    app.create_webhook("TRD", hook(Some(12345), &[106], &url))
        .await;
    let body = delivered_body(
        &app,
        json!({"programManagerCode": "TRD", "productId": 12345, "eventCode": 106,
               "envelope": "documented"}),
    )
    .await;
    let context = &body["context"];
    for field in [
        "programManagerId",
        "eventCode",
        "notificationType",
        "creator",
        "productId",
        "correlationId",
        "eventVersion",
        "notificationTime",
    ] {
        assert!(context.get(field).is_some(), "{field}: {body}");
    }
    assert!(context.get("notificationId").is_none(), "{body}");
    assert_eq!(context["notificationType"], "TAR");
    assert_eq!(context["productId"], "12345");
    assert!(body["messageHeaders"]["schemaId"].is_string(), "{body}");
    let time = context["notificationTime"].as_str().expect("time");
    assert_eq!(
        (time.len(), &time[10..11], &time[19..20]),
        (23, " ", "."),
        "{time}"
    );

    let standard_only = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "TRD", "eventCode": 103, "envelope": "documented"}),
        )
        .await;
    assert_eq!(standard_only.status, 400, "{}", standard_only.body);
    assert_eq!(standard_only.body["errors"][0]["field"], "envelope");
}
