//! Thredd's words (issue 25): every code of API.md section 9 that a request
//! can provoke carries Thredd's documented message word for word, with what
//! is specific to the request in `detail`. (`TECHNICAL_ERROR` is a bug, so
//! no request provokes it; `error.rs`'s unit tests render it.)

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{webhook_body, TestApp};

/// API.md section 9, copied here so that a change of the service's own table
/// shows up as a failure.
const THREDD: [(&str, &str); 24] = [
    (
        "WEBHOOK_NOT_REGISTERED",
        "The webhook referenced in the request isn't registered with Thredd.",
    ),
    ("INVALID_WEBHOOK_ID", "Invalid webhookId format."),
    ("EMPTY_EVENTCODES", "Event Codes cannot be empty."),
    ("INVALID_EVENTCODE", "Event Code should be valid."),
    ("DUPLICATE_EVENTCODE", "Event Code should be unique."),
    (
        "SUBSCRIBED_EVENTCODE",
        "Cannot subscribe to the same Event Code multiple times.",
    ),
    (
        "DUPLICATE_EVENT_IN_EVENT_ARRAY",
        "Please ensure there are no duplicate event codes in the event array.",
    ),
    (
        "DUPLICATE_WEBHOOK",
        "Found duplicate registration with same ProgramManagerCode/ProductId",
    ),
    ("INVALID_NOTIFICATION_ID", "Invalid notificationId."),
    (
        "IS_REQUIRED_NOTIFICATION_ID",
        "Notification Id is required.",
    ),
    ("NOTIFICATION_NOTFOUND", "No notifications found."),
    (
        "NOTIFICATION_BULK_GET_LIMIT_EXCEEDED",
        "Cannot request notifications for more than 100 numbers at once.",
    ),
    (
        "INVALID_DATE",
        "Please provide a valid date in the format yyyy-MM-dd.",
    ),
    (
        "UNDELIVERED_NOTIFICATIONS_NOTFOUND",
        "No undelivered notifications found.",
    ),
    ("FUTURE_DATE", "Future dates are not permitted."),
    (
        "CURRENT_STATUS_IS_SAME_AS_ENTERED_STATUS",
        "Current webhook status is same as the entered status.",
    ),
    (
        "EXCEEDS_MAXIMUM_CUSTOM_HEADER_LIMIT",
        "Please ensure that the custom header count does not exceed three.",
    ),
    (
        "WEBHOOK_IS_NOT_ACTIVE_IN_STATUS",
        "The webhook is not marked as active.",
    ),
    ("PMCODE_NOT_VALID", "The Program manager code is invalid."),
    (
        "NOTIFICATION_RESEND_LIMIT_EXCEEDED",
        "Cannot resend notifications for more than 25 numbers at once.",
    ),
    ("PMCODE_REQUIRED", "Program manager code is required."),
    (
        "DUPLICATE_NOTIFICATION_ID",
        "Duplicate occurrence of NotificationId is not permitted.",
    ),
    (
        "WEBHOOK_DETAILS_NOTFOUND",
        "No webhook details were found for the provided program manager code.",
    ),
    (
        "EVENTCODE_NOTFOUND",
        "Event code not found within Thredd system.",
    ),
];

const URL: &str = "http://127.0.0.1:9/hook";

/// The code expected, and the request that provokes it.
type Case = (
    &'static str,
    Method,
    String,
    Option<&'static str>,
    Option<Value>,
);
const NOBODY: &str = "af2d48de-2ad7-42f8-a252-8422cd9e6078";

fn ids(n: usize) -> Value {
    let ids: Vec<String> = (0..n)
        .map(|i| format!("af2d48de-2ad7-42f8-a252-{i:012}"))
        .collect();
    json!({ "notificationIds": ids })
}

#[actix_rt::test]
async fn every_documented_code_carries_thredds_message_word_for_word() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(Some(1), URL)).await;
    let inactive = app.create_webhook("TRD", webhook_body(Some(2), URL)).await;
    let set_inactive = app
        .request(
            Method::PATCH,
            &format!("/api/v1/Webhooks/{inactive}/status"),
            Some("TRD"),
            Some(json!({"webhookStatus": "inactive"})),
        )
        .await;
    assert_eq!(set_inactive.status, 200, "{}", set_inactive.body);
    let hook = format!("/api/v1/Webhooks/{id}");
    let with = |field: &str, value: Value| {
        let mut body = webhook_body(Some(9), URL);
        body[field] = value;
        body
    };
    let cases: Vec<Case> = vec![
        (
            "WEBHOOK_NOT_REGISTERED",
            Method::GET,
            format!("/api/v1/Webhooks/{NOBODY}"),
            Some("TRD"),
            None,
        ),
        (
            "INVALID_WEBHOOK_ID",
            Method::GET,
            "/api/v1/Webhooks/not-an-id".into(),
            Some("TRD"),
            None,
        ),
        (
            "EMPTY_EVENTCODES",
            Method::PUT,
            format!("{hook}/subscriptions"),
            Some("TRD"),
            Some(json!({"events": []})),
        ),
        (
            "INVALID_EVENTCODE",
            Method::POST,
            "/api/v1/Webhooks".into(),
            Some("TRD"),
            Some(with("events", json!([1010]))),
        ),
        (
            "DUPLICATE_EVENTCODE",
            Method::PUT,
            format!("{hook}/subscriptions"),
            Some("TRD"),
            Some(json!({"events": [117, 117]})),
        ),
        (
            "SUBSCRIBED_EVENTCODE",
            Method::PUT,
            format!("{hook}/subscriptions"),
            Some("TRD"),
            Some(json!({"events": [101]})),
        ),
        (
            "DUPLICATE_EVENT_IN_EVENT_ARRAY",
            Method::POST,
            "/api/v1/Webhooks".into(),
            Some("TRD"),
            Some(with("events", json!([103, 103]))),
        ),
        (
            "DUPLICATE_WEBHOOK",
            Method::POST,
            "/api/v1/Webhooks".into(),
            Some("TRD"),
            Some(webhook_body(Some(1), URL)),
        ),
        (
            "INVALID_NOTIFICATION_ID",
            Method::POST,
            format!("{hook}/notifications/details"),
            Some("TRD"),
            Some(json!({"notificationIds": ["x"]})),
        ),
        (
            "IS_REQUIRED_NOTIFICATION_ID",
            Method::POST,
            format!("{hook}/notifications/details"),
            Some("TRD"),
            Some(json!({"notificationIds": []})),
        ),
        (
            "NOTIFICATION_NOTFOUND",
            Method::POST,
            format!("{hook}/notifications/details"),
            Some("TRD"),
            Some(json!({"notificationIds": [NOBODY]})),
        ),
        (
            "NOTIFICATION_BULK_GET_LIMIT_EXCEEDED",
            Method::POST,
            format!("{hook}/notifications/details"),
            Some("TRD"),
            Some(ids(101)),
        ),
        (
            "INVALID_DATE",
            Method::GET,
            format!("{hook}/events/101/notifications?from=2024-13-01"),
            Some("TRD"),
            None,
        ),
        (
            "UNDELIVERED_NOTIFICATIONS_NOTFOUND",
            Method::GET,
            format!("{hook}/notifications/undelivered"),
            Some("TRD"),
            None,
        ),
        (
            "FUTURE_DATE",
            Method::GET,
            format!("{hook}/events/101/notifications?from=2999-01-01"),
            Some("TRD"),
            None,
        ),
        (
            "CURRENT_STATUS_IS_SAME_AS_ENTERED_STATUS",
            Method::PATCH,
            format!("{hook}/status"),
            Some("TRD"),
            Some(json!({"webhookStatus": "active"})),
        ),
        (
            "EXCEEDS_MAXIMUM_CUSTOM_HEADER_LIMIT",
            Method::POST,
            "/api/v1/Webhooks".into(),
            Some("TRD"),
            Some(with(
                "config",
                json!({"url": URL, "customHeaders": {"A": "1", "B": "2", "C": "3", "D": "4"}}),
            )),
        ),
        (
            "WEBHOOK_IS_NOT_ACTIVE_IN_STATUS",
            Method::POST,
            format!("/api/v1/Webhooks/{inactive}/notifications/resend"),
            Some("TRD"),
            Some(json!({"notificationIds": [NOBODY]})),
        ),
        (
            "PMCODE_NOT_VALID",
            Method::GET,
            "/api/v1/Webhooks".into(),
            Some("TOOLONG"),
            None,
        ),
        (
            "NOTIFICATION_RESEND_LIMIT_EXCEEDED",
            Method::POST,
            format!("{hook}/notifications/resend"),
            Some("TRD"),
            Some(ids(26)),
        ),
        (
            "PMCODE_REQUIRED",
            Method::GET,
            "/api/v1/Webhooks".into(),
            None,
            None,
        ),
        (
            "DUPLICATE_NOTIFICATION_ID",
            Method::POST,
            format!("{hook}/notifications/details"),
            Some("TRD"),
            Some(json!({"notificationIds": [NOBODY, NOBODY]})),
        ),
        (
            "WEBHOOK_DETAILS_NOTFOUND",
            Method::GET,
            "/api/v1/Webhooks".into(),
            Some("ZZZ"),
            None,
        ),
        (
            "EVENTCODE_NOTFOUND",
            Method::POST,
            "/api/v1/Webhooks".into(),
            Some("TRD"),
            Some(with("events", json!([113]))),
        ),
    ];
    assert_eq!(cases.len(), THREDD.len(), "a case per documented code");
    for (code, method, path, pm, body) in cases {
        let reply = app.request(method.clone(), &path, pm, body).await;
        assert!(
            (400..500).contains(&reply.status),
            "{code}: {method} {path}: {}",
            reply.body
        );
        let error = &reply.body["errors"][0];
        assert_eq!(error["code"], code, "{method} {path}: {}", reply.body);
        let (_, documented) = THREDD.iter().find(|(c, _)| *c == code).expect("documented");
        assert_eq!(error["message"], *documented, "{code}: {}", reply.body);
        if let Some(detail) = error["detail"].as_str() {
            assert_ne!(detail, *documented, "detail adds something: {}", reply.body);
        }
    }
    assert_eq!(
        app.list_ids("TRD").await.len(),
        2,
        "nothing was stored by the refused calls"
    );
}

/// A program manager with no webhooks is `404 WEBHOOK_DETAILS_NOTFOUND`, as
/// Thredd documents; with one, the list answers it.
#[actix_rt::test]
async fn listing_a_program_manager_without_webhooks_is_webhook_details_notfound() {
    let app = TestApp::spawn().await;
    let none = app.get("/api/v1/Webhooks", Some("TRD")).await;
    assert_eq!(none.status, 404, "{}", none.body);
    assert_eq!(none.error_codes(), ["WEBHOOK_DETAILS_NOTFOUND"]);
    app.create_webhook("TRD", webhook_body(None, URL)).await;
    let one = app.get("/api/v1/Webhooks", Some("TRD")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.response()["content"].as_array().map(Vec::len), Some(1));
}
