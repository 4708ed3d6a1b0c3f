//! Thredd's notification calls (API.md section 8) against real deliveries: list
//! by event code, details with attempts, the undelivered summary, resend, their
//! limits and errors; and signed deliveries checked with an independent HMAC.

use std::time::Duration;

use awc::http::Method;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::delivery::{app_with_schedule, hook, trigger};
use crate::helpers::{eventually, TestApp};
use crate::receiver::{Behaviour, Receiver};

fn base(id: &str) -> String {
    format!("/api/v1/Webhooks/{id}")
}

async fn details(app: &TestApp, webhook: &str, ids: &[&str]) -> Value {
    let reply = app
        .post(
            &format!("{}/notifications/details", base(webhook)),
            Some("TRD"),
            json!({"notificationIds": ids}),
        )
        .await;
    assert_eq!(reply.status, 200, "details: {}", reply.body);
    reply.response()["content"].clone()
}

/// Polls the details call until the notification has `status`; returns it.
async fn wait_for_notification(app: &TestApp, webhook: &str, id: &str, status: &str) -> Value {
    let found = eventually(
        Duration::from_secs(5),
        || async { details(app, webhook, &[id]).await[0].clone() },
        |n| n["notificationStatus"] == status,
    )
    .await;
    assert_eq!(found["notificationStatus"], status, "{found}");
    found
}

fn attempt_statuses(notification: &Value) -> Vec<Value> {
    notification["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["httpStatus"].clone())
        .collect()
}

#[actix_rt::test]
async fn an_undelivered_notification_is_listed_and_resending_delivers_it() {
    let app = app_with_schedule("[50]", "5").await;
    // Two failures use up the schedule; the resend's first attempt succeeds.
    let receiver = Receiver::start(Behaviour::Sequence(&[500, 503, 200])).await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();

    let failed = wait_for_notification(&app, &webhook, &notification, "Undelivered").await;
    assert_eq!(attempt_statuses(&failed), [json!(500), json!(503)]);
    let first = &failed["attempts"][0];
    assert_eq!(first["attempt"], 1);
    assert_eq!(first["error"], "HTTP 500");
    assert!(first["latencyMs"].is_u64(), "{first}");
    assert!(
        first["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{first}"
    );
    assert_eq!(
        failed["notificationBody"]["context"]["notificationId"],
        notification.as_str()
    );
    assert_eq!(failed["payload"], failed["notificationBody"]["payload"]);
    assert!(failed["lastSentTime"].is_string(), "{failed}");

    let summary = app
        .get(
            &format!("{}/notifications/undelivered", base(&webhook)),
            Some("TRD"),
        )
        .await;
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert_eq!(
        summary.response(),
        &json!({"webhookId": webhook, "totalCount": 1,
                "content": [{"eventCode": 103, "count": 1, "notificationId": [notification]}]})
    );

    let resent = app
        .post(
            &format!("{}/notifications/resend", base(&webhook)),
            Some("TRD"),
            json!({"notificationIds": [notification]}),
        )
        .await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    assert_eq!(
        resent.response()["content"],
        json!([{"notificationIds": notification, "resendStatus": "Resend request initiated"}])
    );
    let received = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 3);
    assert_eq!(
        received[2].raw, received[0].raw,
        "a resend sends the same bytes"
    );

    let delivered = wait_for_notification(&app, &webhook, &notification, "Delivered").await;
    assert_eq!(
        attempt_statuses(&delivered),
        [json!(500), json!(503), json!(200)]
    );
    let none = app
        .get(
            &format!("{}/notifications/undelivered", base(&webhook)),
            Some("TRD"),
        )
        .await;
    assert_eq!(none.status, 404, "{}", none.body);
    assert_eq!(none.error_codes(), ["UNDELIVERED_NOTIFICATIONS_NOTFOUND"]);
}

#[actix_rt::test]
async fn notifications_are_listed_by_event_code_since_a_date() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[101, 103], &receiver.url))
        .await;
    let first = trigger(&app, "TRD", None, 103).await[0].1.clone();
    let second = trigger(&app, "TRD", None, 103).await[0].1.clone();
    trigger(&app, "TRD", None, 101).await;
    receiver.wait_for(3, Duration::from_secs(5)).await;

    let today = time::OffsetDateTime::now_utc().date();
    let list = |query: String| {
        let app = &app;
        let path = format!("{}/events/103/notifications{query}", base(&webhook));
        async move { app.get(&path, Some("TRD")).await }
    };
    let all = list(format!("?from={today}")).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.response()["webhookId"], webhook.as_str());
    let content = all.response()["content"]
        .as_array()
        .expect("content")
        .clone();
    let ids: Vec<&str> = content
        .iter()
        .map(|n| n["notificationId"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [first.as_str(), second.as_str()],
        "oldest first, code 103 only"
    );
    for n in &content {
        assert_eq!(n["eventCode"], 103);
        assert!(n["payload"]["newCardStatus"].is_string(), "{n}");
        let created = n["createdTime"].as_str().expect("createdTime");
        assert!(
            created.len() == 24 && created.ends_with('Z'),
            "milliseconds: {created}"
        );
        assert!(n.get("attempts").is_none(), "attempts only in details: {n}");
    }

    let one = list("?count=1".into()).await;
    assert_eq!(one.response()["content"].as_array().map(Vec::len), Some(1));
    let tomorrow = today.next_day().expect("tomorrow");
    let future = list(format!("?from={tomorrow}")).await;
    assert_eq!(
        (future.status, future.error_codes()),
        (400, vec!["FUTURE_DATE".to_owned()])
    );
    let bad = list("?from=24-01-2024&count=0".into()).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_codes(), ["INVALID_DATE", "INVALID_REQUEST_BODY"]);

    let path = |code: &str| format!("{}/Events/{code}/Notifications", base(&webhook));
    let none = app.get(&path("104"), Some("TRD")).await;
    assert_eq!(
        (none.status, none.error_codes()),
        (404, vec!["NOTIFICATION_NOTFOUND".to_owned()])
    );
    let unknown = app.get(&path("999"), Some("TRD")).await;
    assert_eq!(
        (unknown.status, unknown.error_codes()),
        (404, vec!["EVENTCODE_NOTFOUND".to_owned()])
    );
    let garbage = app.get(&path("abc"), Some("TRD")).await;
    assert_eq!(
        (garbage.status, garbage.error_codes()),
        (400, vec!["INVALID_EVENTCODE".to_owned()])
    );
    let other_pm = app.get(&path("103"), Some("ABC")).await;
    assert_eq!(
        (other_pm.status, other_pm.error_codes()),
        (404, vec!["WEBHOOK_NOT_REGISTERED".to_owned()]),
        "another program manager learns nothing"
    );
}

#[actix_rt::test]
async fn details_and_resend_refuse_bad_id_lists_and_resend_needs_an_active_webhook() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();
    wait_for_notification(&app, &webhook, &notification, "Delivered").await;

    let ids =
        |n: usize| -> Vec<String> { (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect() };
    let cases = [
        (
            "details",
            json!({"notificationIds": ids(101)}),
            "NOTIFICATION_BULK_GET_LIMIT_EXCEEDED",
        ),
        (
            "resend",
            json!({"notificationIds": ids(26)}),
            "NOTIFICATION_RESEND_LIMIT_EXCEEDED",
        ),
        (
            "details",
            json!({"notificationIds": []}),
            "IS_REQUIRED_NOTIFICATION_ID",
        ),
        ("resend", json!({}), "IS_REQUIRED_NOTIFICATION_ID"),
        (
            "details",
            json!({"notificationIds": ["not-a-uuid"]}),
            "INVALID_NOTIFICATION_ID",
        ),
        (
            "resend",
            json!({"notificationIds": [notification, notification]}),
            "DUPLICATE_NOTIFICATION_ID",
        ),
        (
            "resend",
            json!({"notificationIds": notification}),
            "INVALID_REQUEST_BODY",
        ),
    ];
    for (call, body, code) in cases {
        let reply = app
            .post(
                &format!("{}/notifications/{call}", base(&webhook)),
                Some("TRD"),
                body.clone(),
            )
            .await;
        assert_eq!(
            (reply.status, reply.error_codes()),
            (400, vec![code.to_owned()]),
            "{call} {body}"
        );
    }
    // Nothing was resent by the refused calls.
    actix_rt::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 1);

    let unknown = app
        .post(
            &format!("{}/notifications/details", base(&webhook)),
            Some("TRD"),
            json!({"notificationIds": ids(2)}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.error_codes()),
        (404, vec!["NOTIFICATION_NOTFOUND".to_owned()])
    );
    let stranger = ids(1)[0].clone();
    let mixed = app
        .post(
            &format!("{}/notifications/resend", base(&webhook)),
            Some("TRD"),
            json!({"notificationIds": [stranger, notification]}),
        )
        .await;
    assert_eq!(mixed.status, 200, "{}", mixed.body);
    assert_eq!(
        mixed.response()["content"],
        json!([{"notificationIds": stranger, "resendStatus": "Invalid notification details"},
               {"notificationIds": notification, "resendStatus": "Resend request initiated"}])
    );
    assert_eq!(
        receiver.wait_for(2, Duration::from_secs(5)).await.len(),
        2,
        "a delivered one can be resent"
    );

    let inactive = app
        .request(
            Method::PATCH,
            &format!("{}/status", base(&webhook)),
            Some("TRD"),
            Some(json!({"webhookStatus": "inactive"})),
        )
        .await;
    assert_eq!(inactive.status, 200, "{}", inactive.body);
    let refused = app
        .post(
            &format!("{}/notifications/resend", base(&webhook)),
            Some("TRD"),
            json!({"notificationIds": [notification]}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.error_codes()),
        (409, vec!["WEBHOOK_IS_NOT_ACTIVE_IN_STATUS".to_owned()])
    );
}

/// The receiver's check, written from the Standard Webhooks specification with
/// the `hmac` and `sha2` crates (the service signs with ring).
pub fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("prefix"))
        .expect("base64 key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[actix_rt::test]
async fn with_a_signing_secret_every_attempt_is_signed() {
    let secret = format!(
        "whsec_{}",
        STANDARD.encode(b"a key of thirty-two bytes, exact")
    );
    let app = TestApp::spawn_with(&[
        ("WHM_DELIVERY__SIGNING_SECRET", secret.as_str()),
        ("WHM_DELIVERY__RETRY_SCHEDULE_MS", "[1100]"),
    ])
    .await;
    let receiver = Receiver::start(Behaviour::Sequence(&[500, 200])).await;
    app.create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();
    let received = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 2);
    for r in &received {
        let header = |name: &str| r.headers.get(name).cloned().unwrap_or_default();
        assert_eq!(header("webhook-id"), notification);
        let timestamp = header("webhook-timestamp");
        let sent: i64 = timestamp.parse().expect("Unix seconds");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((now - 10..=now).contains(&sent), "{sent} vs {now}");
        assert_eq!(
            header("webhook-signature"),
            expected_signature(&secret, &notification, &timestamp, &r.raw),
        );
    }
    assert_ne!(
        received[0].headers.get("webhook-timestamp"),
        received[1].headers.get("webhook-timestamp"),
        "each attempt is signed at its own time"
    );
}

#[actix_rt::test]
async fn without_a_signing_secret_nothing_is_signed() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    app.create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    trigger(&app, "TRD", None, 103).await;
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        assert!(!received[0].headers.contains_key(name), "{name}");
    }
}

#[actix_rt::test]
async fn attempts_keep_what_was_sent_and_answered_without_custom_header_values() {
    let app = app_with_schedule("[60000]", "5").await;
    let receiver = Receiver::start(Behaviour::Body(503, 5000)).await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let found = eventually(
        Duration::from_secs(5),
        || async { details(&app, &webhook, &[&notification]).await[0].clone() },
        |n| !n["attempts"].as_array().is_none_or(Vec::is_empty),
    )
    .await;
    let attempt = &found["attempts"][0];
    assert_eq!(attempt["httpStatus"], 503, "{attempt}");
    assert_eq!(attempt["responseHeaders"]["x-receiver"], "yes", "{attempt}");
    let body = attempt["responseBody"].as_str().expect("responseBody");
    assert_eq!((body.len(), body.chars().all(|c| c == 'b')), (4096, true));
    assert_eq!(attempt["responseBodyTruncated"], true);
    let sent = &attempt["requestHeaders"];
    assert_eq!(sent["content-type"], "application/json", "{sent}");
    assert_eq!(
        (&sent["apikey"], &sent["x-tenant"]),
        (&json!("***"), &json!("***"))
    );
    // The receiver did get the real values; no API answer shows them.
    assert_eq!(receiver.received()[0].headers["apikey"], "secret-1");
    let reply = app
        .post(
            &format!("{}/notifications/details", base(&webhook)),
            Some("TRD"),
            json!({"notificationIds": [notification]}),
        )
        .await;
    assert!(
        !reply.body.to_string().contains("secret-1") && !reply.body.to_string().contains("t-42"),
        "{}",
        reply.body
    );
}
