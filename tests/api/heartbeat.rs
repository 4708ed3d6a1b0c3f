//! Heartbeats against real local receivers: healthy, failing, closed and slow.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{client, webhook_body, TestApp};
use crate::receiver::{closed_port_url, Behaviour, Receiver};

async fn heartbeat(app: &TestApp, id: &str) -> Value {
    let reply = app
        .get(&format!("/api/v1/Webhooks/{id}/heartbeat"), Some("TRD"))
        .await;
    assert_eq!(
        reply.status, 200,
        "heartbeat answers 200 whatever the verdict: {}",
        reply.body
    );
    reply.response().clone()
}

#[actix_rt::test]
async fn a_2xx_receiver_is_healthy_and_gets_the_custom_headers() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let id = app
        .create_webhook("TRD", webhook_body(None, &receiver.url))
        .await;

    let verdict = heartbeat(&app, &id).await;

    assert_eq!(verdict["webhookId"], id.as_str());
    assert_eq!(verdict["healthStatus"], "healthy", "{verdict}");
    assert_eq!(verdict["httpStatus"], 200);
    assert_eq!(verdict["error"], Value::Null);
    assert!(verdict["latencyMs"].is_u64(), "{verdict}");
    assert!(
        verdict["checkedTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{verdict}"
    );

    let received = receiver.received();
    assert_eq!(received.len(), 1, "exactly one call");
    let call = &received[0];
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.headers.get("apikey").map(String::as_str),
        Some("secret-1"),
        "custom header sent"
    );
    assert_eq!(
        call.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert!(
        call.headers
            .get("user-agent")
            .is_some_and(|ua| ua.starts_with("webhook-manager/")),
        "{:?}",
        call.headers
    );
    assert_eq!(call.body["context"]["notificationType"], "heartbeat");
    assert_eq!(call.body["context"]["webhookId"], id.as_str());
    let sent = call.body["context"]["notificationTime"]
        .as_str()
        .expect("notificationTime");
    assert!(
        sent.len() == 24 && sent.ends_with('Z'),
        "milliseconds in notificationTime: {sent}"
    );

    let details = app.get(&format!("/api/v1/Webhooks/{id}"), None).await;
    let kept = &details.response()["lastHeartbeat"];
    assert_eq!(
        kept["healthStatus"], "healthy",
        "verdict kept with the webhook: {kept}"
    );
    assert_eq!(kept["checkedTime"], verdict["checkedTime"]);
}

#[actix_rt::test]
async fn a_503_receiver_is_unhealthy() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(503)).await;
    let id = app
        .create_webhook("TRD", webhook_body(None, &receiver.url))
        .await;

    let verdict = heartbeat(&app, &id).await;

    assert_eq!(verdict["healthStatus"], "unhealthy", "{verdict}");
    assert_eq!(verdict["httpStatus"], 503);
    assert_eq!(verdict["error"], "HTTP 503");
    assert_eq!(receiver.received().len(), 1);
    let details = app.get(&format!("/api/v1/Webhooks/{id}"), None).await;
    assert_eq!(details.response()["lastHeartbeat"]["error"], "HTTP 503");
}

#[actix_rt::test]
async fn a_receiver_that_is_not_listening_is_unhealthy() {
    let app = TestApp::spawn().await;
    let id = app
        .create_webhook("TRD", webhook_body(None, &closed_port_url()))
        .await;

    let verdict = heartbeat(&app, &id).await;

    assert_eq!(verdict["healthStatus"], "unhealthy", "{verdict}");
    assert_eq!(verdict["httpStatus"], Value::Null);
    assert_eq!(verdict["error"], "connection refused");
}

#[actix_rt::test]
async fn a_slow_receiver_times_out_without_delaying_other_requests() {
    // One worker: if the heartbeat blocked it, nothing else could be answered.
    let app = TestApp::spawn_with(&[("WHM_SERVER__WORKERS", "1")]).await;
    let receiver = Receiver::start(Behaviour::Slow(Duration::from_secs(6))).await;
    let id = app
        .create_webhook("TRD", webhook_body(None, &receiver.url))
        .await;

    let url = app.url(&format!("/api/v1/Webhooks/{id}/heartbeat"));
    let pending = actix_rt::spawn(async move {
        let mut response = client().get(url).send().await.expect("heartbeat answered");
        let body: Value = response.json().await.expect("json");
        (response.status().as_u16(), body)
    });
    for _ in 0..100 {
        if !receiver.received().is_empty() {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        receiver.received().len(),
        1,
        "the heartbeat reached the slow receiver"
    );

    let details = app
        .get(&format!("/api/v1/Webhooks/{id}"), Some("TRD"))
        .await;
    assert_eq!(details.status, 200);
    assert!(
        !pending.is_finished(),
        "another request was answered while the heartbeat still waited"
    );

    let (status, body) = pending.await.expect("heartbeat task");
    assert_eq!(status, 200);
    let verdict = &body["response"];
    assert_eq!(verdict["healthStatus"], "unhealthy", "{verdict}");
    assert_eq!(verdict["error"], "timeout after 2000 ms", "{verdict}");
    assert!(
        verdict["latencyMs"].as_u64().is_some_and(|ms| ms >= 1900),
        "{verdict}"
    );
}

/// With a signing secret, a heartbeat is signed as a delivery is, under an id
/// of its own, so a receiver that requires signatures answers it.
#[actix_rt::test]
async fn with_a_signing_secret_a_heartbeat_is_signed() {
    use base64::Engine;
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(b"a key of thirty-two bytes, exact")
    );
    let app = TestApp::spawn_with(&[("WHM_DELIVERY__SIGNING_SECRET", secret.as_str())]).await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let id = app
        .create_webhook("TRD", webhook_body(None, &receiver.url))
        .await;
    heartbeat(&app, &id).await;
    heartbeat(&app, &id).await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        let header = |name: &str| r.headers.get(name).cloned().unwrap_or_default();
        assert!(
            header("webhook-id").starts_with("heartbeat_"),
            "{:?}",
            r.headers
        );
        assert_eq!(
            header("webhook-signature"),
            crate::notifications::expected_signature(
                &secret,
                &header("webhook-id"),
                &header("webhook-timestamp"),
                &r.raw
            )
        );
        assert_eq!(r.body["context"]["notificationType"], "heartbeat");
    }
    assert_ne!(
        received[0].headers.get("webhook-id"),
        received[1].headers.get("webhook-id"),
        "each heartbeat is a message of its own"
    );
}
