//! The outbound guard (`[security] blocked_networks`): a literal blocked address
//! is refused at create and update; a host name that resolves into a blocked
//! network is not called by a heartbeat or a delivery.

use std::time::Duration;

use serde_json::{json, Value};

use crate::delivery::{hook, trigger};
use crate::helpers::{eventually, webhook_body, TestApp};
use crate::receiver::{Behaviour, Receiver};

const LOOPBACK: &str = r#"["127.0.0.0/8", "::1/128"]"#;

async fn guarded() -> TestApp {
    TestApp::spawn_with(&[("WHM_SECURITY__BLOCKED_NETWORKS", LOOPBACK)]).await
}

/// The receiver's URL with `localhost` for its literal address.
fn by_name(receiver: &Receiver) -> String {
    receiver.url.replace("127.0.0.1", "localhost")
}

async fn heartbeat(app: &TestApp, id: &str) -> Value {
    let reply = app
        .get(&format!("/api/v1/Webhooks/{id}/heartbeat"), Some("TRD"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.response().clone()
}

#[actix_rt::test]
async fn a_literal_blocked_address_is_refused_at_create_and_update() {
    let app = guarded().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]:9/hook",
        "http://127.9.9.9/",
    ] {
        let reply = app
            .post("/api/v1/Webhooks", Some("TRD"), webhook_body(Some(1), url))
            .await;
        assert_eq!(reply.status, 400, "{url}: {}", reply.body);
        assert_eq!(reply.error_codes(), ["INVALID_REQUEST_BODY"], "{url}");
        assert_eq!(reply.body["errors"][0]["field"], "config.url", "{url}");
    }
    assert!(app.list_ids("TRD").await.is_empty(), "nothing stored");

    let id = app
        .create_webhook("TRD", webhook_body(Some(2), "https://client.example/hook"))
        .await;
    let update = app
        .put(
            &format!("/api/v1/Webhooks/{id}"),
            Some("TRD"),
            webhook_body(Some(2), "http://127.0.0.1:8080/sandbox/v1/inbox/x"),
        )
        .await;
    assert_eq!(
        (update.status, update.error_codes()),
        (400, vec!["INVALID_REQUEST_BODY".to_owned()])
    );
    let kept = app
        .get(&format!("/api/v1/Webhooks/{id}"), Some("TRD"))
        .await;
    assert_eq!(
        kept.response()["config"]["url"],
        "https://client.example/hook"
    );
}

#[actix_rt::test]
async fn a_host_name_resolving_to_a_blocked_address_is_not_called() {
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    // Without the guard, the same name is healthy: the test can tell them apart.
    let open = TestApp::spawn().await;
    let id = open
        .create_webhook("TRD", hook(None, &[103], &by_name(&receiver)))
        .await;
    assert_eq!(heartbeat(&open, &id).await["healthStatus"], "healthy");
    assert_eq!(receiver.received().len(), 1);

    let app = guarded().await;
    let id = app
        .create_webhook("TRD", hook(None, &[103], &by_name(&receiver)))
        .await;
    let verdict = heartbeat(&app, &id).await;
    assert_eq!(verdict["healthStatus"], "unhealthy", "{verdict}");
    assert_eq!(verdict["error"], "blocked address", "{verdict}");
    assert_eq!(verdict["httpStatus"], Value::Null);

    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();
    let attempts = eventually(
        Duration::from_secs(5),
        || async {
            let reply = app
                .post(
                    &format!("/api/v1/Webhooks/{id}/notifications/details"),
                    Some("TRD"),
                    json!({"notificationIds": [notification]}),
                )
                .await;
            reply.response()["content"][0]["attempts"].clone()
        },
        |attempts| attempts.as_array().is_some_and(|a| !a.is_empty()),
    )
    .await;
    assert_eq!(attempts[0]["error"], "blocked address", "{attempts}");
    actix_rt::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "the guarded service called nothing"
    );
}

#[actix_rt::test]
async fn a_stored_literal_address_blocked_later_is_not_called() {
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let app = TestApp::spawn().await;
    let id = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let app = app
        .restart_with(&[("WHM_SECURITY__BLOCKED_NETWORKS", LOOPBACK)])
        .await;
    let verdict = heartbeat(&app, &id).await;
    assert_eq!(verdict["error"], "blocked address", "{verdict}");
    assert!(receiver.received().is_empty());
}
