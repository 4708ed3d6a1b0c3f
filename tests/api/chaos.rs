//! Disorder on request (issue 25, part 5): a webhook's `duplicates` delivers
//! each notification twice with one id; its `reorder` holds 103s for a
//! window and delivers all of them shuffled, the same way for the same seed.

use awc::http::Method;
use serde_json::{json, Value};

use crate::delivery::hook;
use crate::helpers::TestApp;
use crate::sandbox::waited;

async fn set_chaos(app: &TestApp, webhook: &str, body: Value) -> Value {
    let reply = app
        .put(&format!("/sandbox/v1/webhooks/{webhook}/chaos"), None, body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.response().clone()
}

/// The bodies an inbox holds, oldest first, once it holds `count`.
async fn arrived(app: &TestApp, inbox: &str, count: usize) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/sandbox/v1/inbox/{inbox}/requests?count={count}&timeoutMs=30000"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.response()["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["body"].clone())
        .collect()
}

#[actix_rt::test]
async fn duplicates_delivers_each_notification_exactly_twice_with_one_id() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/twice");
    let webhook = app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let shown = set_chaos(
        &app,
        &webhook,
        json!({"duplicates": true, "reorder": false}),
    )
    .await;
    assert_eq!(shown["duplicates"], true);
    let id = crate::delivery::trigger(&app, "TRD", None, 103).await[0]
        .1
        .clone();
    let attempts = waited(
        &app,
        json!({"notificationId": id, "outcome": "delivered"}),
        2,
    )
    .await;
    assert_eq!(attempts.len(), 2, "journalled like any attempt");
    let bodies = arrived(&app, "twice", 2).await;
    assert_eq!(bodies.len(), 2, "exactly twice");
    for body in &bodies {
        assert_eq!(
            body["context"]["notificationId"],
            id.as_str(),
            "one id: {body}"
        );
    }
    let details = app
        .post(
            &format!("/api/v1/Webhooks/{webhook}/notifications/details"),
            Some("TRD"),
            json!({"notificationIds": [id]}),
        )
        .await;
    assert_eq!(
        details.response()["content"][0]["notificationStatus"],
        "Delivered",
        "{}",
        details.body
    );
}

/// Five 103s to a reordering webhook with `seed`, released by moving the
/// clock past the window: their `trackingId`s (t1..t5 in trigger order) in
/// the order they arrived.
async fn reordered(app: &TestApp, inbox: &str, seed: u64) -> Vec<String> {
    let url = app.url(&format!("/sandbox/v1/inbox/{inbox}"));
    let webhook = app.create_webhook("TRD", hook(None, &[103], &url)).await;
    set_chaos(
        app,
        &webhook,
        json!({"duplicates": false, "reorder": true, "seed": seed, "windowMs": 60000}),
    )
    .await;
    for i in 1..=5 {
        let reply = app
            .post(
                "/sandbox/v1/events",
                None,
                json!({"programManagerCode": "TRD", "eventCode": 103,
                       "overrides": {"trackingId": format!("t{i}")}}),
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.body);
    }
    let held = app
        .get(&format!("/sandbox/v1/inbox/{inbox}/requests"), None)
        .await;
    assert_eq!(
        held.response()["requests"].as_array().map(Vec::len),
        Some(0),
        "held for the window"
    );
    let moved = app
        .post("/sandbox/v1/clock/advance", None, json!({"ms": 62000}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    arrived(app, inbox, 5)
        .await
        .iter()
        .map(|b| {
            b["payload"]["trackingId"]
                .as_str()
                .expect("trackingId")
                .to_owned()
        })
        .collect()
}

#[actix_rt::test]
async fn reorder_delivers_every_103_shuffled_and_the_same_way_for_one_seed() {
    let app = TestApp::spawn().await;
    let first = reordered(&app, "shuffled-a", 7).await;
    let mut all = first.clone();
    all.sort();
    assert_eq!(all, ["t1", "t2", "t3", "t4", "t5"], "every one arrives");
    assert_ne!(first, all, "not in trigger order");
    let reset = app
        .post("/sandbox/v1/reset?programManagerCode=TRD", None, json!({}))
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let again = reordered(&app, "shuffled-b", 7).await;
    assert_eq!(again, first, "one seed, one order");
}

#[actix_rt::test]
async fn chaos_is_shown_checked_scoped_and_turned_off() {
    let app = TestApp::spawn().await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[103], "https://client.example/h"))
        .await;
    let path = format!("/sandbox/v1/webhooks/{webhook}/chaos");
    let off = app.get(&path, None).await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.response()["duplicates"], false);
    assert_eq!(off.response()["reorder"], false);
    let bad = app.put(&path, None, json!({"duplicates": "yes"})).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let other = app
        .put(
            &path,
            Some("ABC"),
            json!({"duplicates": true, "reorder": false}),
        )
        .await;
    assert_eq!(
        other.status, 404,
        "another program manager's webhook: {}",
        other.body
    );
    set_chaos(
        &app,
        &webhook,
        json!({"duplicates": false, "reorder": true, "seed": 3}),
    )
    .await;
    let page = awc::Client::new()
        .get(app.url("/dashboard/webhooks?pm=TRD"))
        .send()
        .await
        .expect("page")
        .body()
        .await
        .expect("body");
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("reorder (seed 3)"), "the dashboard shows it");
    let cleared = app.request(Method::DELETE, &path, None, None).await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(app.get(&path, None).await.response()["reorder"], false);
}
