//! Scenarios (issue 25, part 4): Thredd's documented flows as events that
//! share their ids, delivered like any event.

use serde_json::{json, Value};

use crate::delivery::hook;
use crate::helpers::TestApp;
use crate::sandbox::waited;

/// Runs a scenario for TRD; answers the 202's response.
async fn run(app: &TestApp, name: &str, body: Value) -> Value {
    let reply = app
        .post(&format!("/sandbox/v1/scenarios/{name}"), None, body)
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.response().clone()
}

/// The bodies delivered to `webhook`, `count` of them, in delivery order.
async fn delivered(app: &TestApp, webhook: &str, count: usize) -> Vec<Value> {
    waited(
        app,
        json!({"webhookId": webhook, "outcome": "delivered"}),
        count,
    )
    .await
    .iter()
    .map(|d| serde_json::from_str(d["body"].as_str().expect("body")).expect("JSON"))
    .collect()
}

#[actix_rt::test]
async fn token_provisioning_delivers_three_events_sharing_one_tokens_ids() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/tokens");
    let webhook = app
        .create_webhook("TRD", hook(None, &[106, 107, 108], &url))
        .await;
    let ran = run(
        &app,
        "token-provisioning",
        json!({"programManagerCode": "TRD", "productId": 12345}),
    )
    .await;
    let codes: Vec<u64> = ran["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["eventCode"].as_u64().expect("code"))
        .collect();
    assert_eq!(codes, [106, 107, 108]);
    let shared = &ran["shared"];
    let bodies = delivered(&app, &webhook, 3).await;
    let mut seen: Vec<u64> = bodies
        .iter()
        .map(|b| b["context"]["eventCode"].as_u64().expect("code"))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, [106, 107, 108]);
    for body in &bodies {
        for key in ["publicToken", "paymentToken", "dpan", "provisioningTraceId"] {
            assert!(shared[key].is_string(), "{key} in {shared}");
            assert_eq!(body["payload"][key], shared[key], "{key}: {body}");
        }
    }
}

#[actix_rt::test]
async fn token_provisioning_in_the_documented_envelope_correlates_by_the_trace_id() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/documented-tokens");
    let webhook = app
        .create_webhook("TRD", hook(None, &[106, 107, 108], &url))
        .await;
    let ran = run(
        &app,
        "token-provisioning",
        json!({"programManagerCode": "TRD", "envelope": "documented"}),
    )
    .await;
    let trace = ran["shared"]["provisioningTraceId"].clone();
    for body in delivered(&app, &webhook, 3).await {
        assert_eq!(body["context"]["correlationId"], trace, "{body}");
        assert!(body["context"].get("notificationId").is_none(), "{body}");
    }
    let refused = app
        .post(
            "/sandbox/v1/scenarios/card-lifecycle",
            None,
            json!({"programManagerCode": "TRD", "envelope": "documented"}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
}

#[actix_rt::test]
async fn a_card_lifecycle_follows_one_card_and_its_times_give_the_order() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/cards");
    let webhook = app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let ran = run(&app, "card-lifecycle", json!({"programManagerCode": "TRD"})).await;
    let card = ran["shared"]["tokenId"].clone();
    assert!(card.is_string(), "{ran}");
    let mut bodies = delivered(&app, &webhook, 4).await;
    bodies.sort_by_key(|b| b["payload"]["dateTime"].as_str().map(str::to_owned));
    let statuses: Vec<(&str, &str)> = bodies
        .iter()
        .map(|b| {
            assert_eq!(b["payload"]["tokenId"], card, "one card: {b}");
            (
                b["payload"]["oldCardStatus"].as_str().expect("old"),
                b["payload"]["newCardStatus"].as_str().expect("new"),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [("02", "00"), ("00", "62"), ("62", "00"), ("00", "41")]
    );
}

#[actix_rt::test]
async fn a_fraud_alert_scenario_raises_an_alert_that_takes_its_answer() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/fraud-scenario");
    app.create_webhook("TRD", hook(None, &[101, 102], &url))
        .await;
    let ran = run(&app, "fraud-alert", json!({"programManagerCode": "TRD"})).await;
    let alert = ran["shared"]["fraudAlertId"].as_str().expect("alert");
    let notification = ran["events"][0]["notifications"][0]["notificationId"]
        .as_str()
        .expect("notification");
    let answer = app
        .post(
            "/api/v1/FraudAlerts/Response",
            Some("TRD"),
            json!({"fraudAlertId": alert, "notificationId": notification, "response": "Yes"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[actix_rt::test]
async fn scenarios_are_listed_and_an_unknown_one_is_named_in_a_404() {
    let app = TestApp::spawn().await;
    let list = app.get("/sandbox/v1/scenarios", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let names: Vec<&str> = list
        .response()
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["token-provisioning", "fraud-alert", "card-lifecycle"]
    );
    let unknown = app
        .post(
            "/sandbox/v1/scenarios/onboarding",
            None,
            json!({"programManagerCode": "TRD"}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.error_codes(), ["SCENARIO_NOTFOUND"]);
    let no_pm = app
        .post("/sandbox/v1/scenarios/fraud-alert", None, json!({}))
        .await;
    assert_eq!(no_pm.status, 400, "{}", no_pm.body);
}
