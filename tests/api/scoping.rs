//! Tenant scoping: another program manager's webhook is answered exactly as a missing one.

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{every_route, webhook_body, TestApp};

const URL: &str = "https://client.example/webhook";

/// Every call by id (every served route with `{id}` in it), against `id`.
fn calls(id: &str) -> Vec<(Method, String, Option<Value>)> {
    every_route(id)
        .into_iter()
        .filter(|(_, path, _)| path.contains(id))
        .collect()
}

#[actix_rt::test]
async fn another_program_managers_webhook_is_indistinguishable_from_a_missing_one() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(Some(1), URL)).await;
    let before = app
        .get(&format!("/api/v1/Webhooks/{id}"), Some("TRD"))
        .await
        .response()
        .clone();
    // Not the id `every_route` puts in `{notificationId}`.
    let missing = "5e0c0b3a-9d3e-4c1b-8f5a-2b7c6d4e1f00";

    for ((method, path, body), (_, missing_path, _)) in calls(&id).into_iter().zip(calls(missing)) {
        let other = app
            .request(method.clone(), &path, Some("ABC"), body.clone())
            .await;
        let absent = app
            .request(method.clone(), &missing_path, Some("ABC"), body)
            .await;
        assert_eq!(other.status, 404, "{method} {path}: {}", other.body);
        assert_eq!(
            other.error_codes(),
            vec!["WEBHOOK_NOT_REGISTERED"],
            "{method} {path}"
        );
        assert_eq!(
            (other.status, &other.body),
            (absent.status, &absent.body),
            "{method} {path}: same answer as missing"
        );
    }

    let after = app
        .get(&format!("/api/v1/Webhooks/{id}"), Some("TRD"))
        .await;
    assert_eq!(after.response(), &before, "nothing changed");
    assert!(app.list_ids("ABC").await.is_empty(), "not listed for ABC");
}

#[actix_rt::test]
async fn the_owner_can_make_every_call() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(Some(1), URL)).await;
    for (method, path, body) in calls(&id) {
        if path.ends_with("/heartbeat") || path.contains("/notifications") {
            // Covered by the heartbeat and notification tests: one needs a
            // receiver, the others answer 404 until something was delivered.
            continue;
        }
        let reply = app.request(method.clone(), &path, Some("TRD"), body).await;
        assert_eq!(reply.status, 200, "{method} {path}: {}", reply.body);
        if method == Method::PATCH {
            // Undo so the PUT status call that follows is a change too.
            let undo = app
                .put(&path, Some("TRD"), json!({"webhookStatus": "active"}))
                .await;
            assert_eq!(undo.status, 200, "{}", undo.body);
        }
    }
}
