//! Transaction Confirmation configurations (issue 25, part 2; API.md section
//! 10): Thredd's documented create replayed verbatim, the calls beside it, and
//! a 112 that reaches a webhook only through an active configuration that
//! admits its message type.

use awc::http::Method;
use serde_json::{json, Value};

use crate::delivery::hook;
use crate::helpers::TestApp;
use crate::sandbox::waited;

const DOCUMENTED: &str =
    r#"{"pmId": 20, "productId": 345678, "status": "Active", "messageTypeFilter": [1, 2, 3]}"#;

async fn patch(app: &TestApp, path: &str, pm: &str, body: Value) -> crate::helpers::Reply {
    app.request(Method::PATCH, path, Some(pm), Some(body)).await
}

async fn create(app: &TestApp, pm: &str, body: Value) -> Value {
    let reply = app.post("/eds/api/v1/Configs", Some(pm), body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.response()["content"][0].clone()
}

#[actix_rt::test]
async fn the_documented_create_answers_the_documented_shape() {
    let app = TestApp::spawn().await;
    let reply = app
        .post(
            "/eds/api/v1/Configs",
            Some("TRD"),
            serde_json::from_str(DOCUMENTED).expect("JSON"),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    let response = reply.response();
    assert_eq!(response["totalCount"], 1, "{response}");
    let created = &response["content"][0];
    let id = created["configId"].as_str().expect("configId");
    let (left, right) = id.split_once('-').expect("digits-digits");
    assert!(
        left.len() == 7
            && right.len() == 14
            && (left.to_owned() + right)
                .bytes()
                .all(|b| b.is_ascii_digit()),
        "an id like 5789653-20250602063331: {id}"
    );
    assert_eq!(created["pmId"], 20);
    assert_eq!(created["productId"], 345678);
    assert_eq!(created["status"], "Active");
    assert_eq!(created["messageTypeFilter"], json!([1, 2, 3]));
    assert_eq!(created["message"], "Configuration created successfully.");
}

#[actix_rt::test]
async fn configurations_are_listed_read_changed_and_scoped() {
    let app = TestApp::spawn().await;
    let list = app.get("/api/v1/Configs", Some("TRD")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.response(), &json!({"content": [], "totalCount": 0}));
    let first = create(&app, "TRD", json!({"pmId": 20, "messageTypeFilter": [3]})).await;
    let id = first["configId"].as_str().expect("id").to_owned();
    assert_eq!(first["productId"], Value::Null, "every product");
    assert_eq!(first["status"], "Active", "the default status");
    create(&app, "ABC", json!({"pmId": 21, "messageTypeFilter": [1]})).await;

    let list = app.get("/api/v1/configs", Some("TRD")).await;
    assert_eq!(list.response()["totalCount"], 1);
    assert_eq!(list.response()["content"][0]["configId"], id.as_str());
    let one = app.get(&format!("/api/v1/Configs/{id}"), Some("TRD")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.response()["messageTypeFilter"], json!([3]));
    let elsewhere = app.get(&format!("/api/v1/Configs/{id}"), Some("ABC")).await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.body);
    assert_eq!(elsewhere.error_codes(), ["CONFIGURATION_NOTFOUND"]);
    let malformed = app.get("/api/v1/Configs/not-an-id", Some("TRD")).await;
    assert_eq!(malformed.status, 404, "{}", malformed.body);

    let path = format!("/api/v1/Configs/{id}/status");
    let changed = patch(&app, &path, "TRD", json!({"status": "Inactive"})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.response()["status"], "Inactive");
    let same = patch(&app, &path, "TRD", json!({"status": "Inactive"})).await;
    assert_eq!(same.status, 409, "{}", same.body);
    assert_eq!(
        same.error_codes(),
        ["CURRENT_STATUS_IS_SAME_AS_ENTERED_STATUS"]
    );
    let lower = patch(&app, &path, "TRD", json!({"status": "active"})).await;
    assert_eq!(
        lower.status, 400,
        "capitalised, unlike a webhook's: {}",
        lower.body
    );
    let other = patch(&app, &path, "ABC", json!({"status": "Active"})).await;
    assert_eq!(other.status, 404, "{}", other.body);
    let one = app.get(&format!("/api/v1/Configs/{id}"), Some("TRD")).await;
    assert_eq!(
        one.response()["status"],
        "Inactive",
        "refused changes wrote nothing"
    );

    let reset = app
        .post("/sandbox/v1/reset?programManagerCode=TRD", None, json!({}))
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(reset.response()["configurationsDeleted"], 1);
    let list = app.get("/api/v1/Configs", Some("ABC")).await;
    assert_eq!(
        list.response()["totalCount"],
        1,
        "another program manager's stays"
    );
}

#[actix_rt::test]
async fn a_bad_create_names_every_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let reply = app
        .post(
            "/api/v1/Configs",
            Some("TRD"),
            json!({"pmId": "twenty", "productId": -1, "status": "Enabled", "messageTypeFilter": [0, 4]}),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["pmId", "productId", "status", "messageTypeFilter"],
        "{}",
        reply.body
    );
    let missing = app.post("/api/v1/Configs", Some("TRD"), json!({})).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    let list = app.get("/api/v1/Configs", Some("TRD")).await;
    assert_eq!(list.response()["totalCount"], 0);
}

/// The fan-out of a 112 as a trigger answers it: (notifications, skipped reasons).
async fn trigger_112(app: &TestApp, product: Option<u64>, mtid: &str) -> (Vec<Value>, Vec<String>) {
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "TRD", "productId": product, "eventCode": 112,
                   "overrides": {"mtid": mtid}}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let notifications = reply.response()["notifications"]
        .as_array()
        .expect("list")
        .clone();
    let skipped = reply.response()["skipped"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["reason"].as_str().expect("reason").to_owned())
        .collect();
    (notifications, skipped)
}

#[actix_rt::test]
async fn a_112_reaches_a_webhook_only_through_a_configuration_that_admits_it() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/confirmations");
    app.create_webhook("TRD", hook(None, &[112], &url)).await;

    let (sent, skipped) = trigger_112(&app, Some(7), "0100").await;
    assert!(sent.is_empty(), "no configuration: nothing sent");
    assert_eq!(skipped, ["NO_CONFIGURATION"]);

    let config = create(
        &app,
        "TRD",
        json!({"pmId": 20, "productId": 7, "messageTypeFilter": [2, 3]}),
    )
    .await;
    let (sent, skipped) = trigger_112(&app, Some(7), "0100").await;
    assert!(
        sent.is_empty() && skipped == ["NO_CONFIGURATION"],
        "0100 is type 1, not admitted"
    );
    let (sent, _) = trigger_112(&app, Some(8), "0120").await;
    assert!(sent.is_empty(), "the configuration is for product 7 only");
    let (sent, skipped) = trigger_112(&app, Some(7), "0120").await;
    assert_eq!(sent.len(), 1, "admitted: {skipped:?}");
    let id = sent[0]["notificationId"].as_str().expect("id");
    let delivered = waited(
        &app,
        json!({"notificationId": id, "outcome": "delivered"}),
        1,
    )
    .await;
    let body: Value =
        serde_json::from_str(delivered[0]["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(body["payload"]["mtid"], "0120");

    let config_id = config["configId"].as_str().expect("id");
    let inactive = patch(
        &app,
        &format!("/api/v1/Configs/{config_id}/status"),
        "TRD",
        json!({"status": "Inactive"}),
    )
    .await;
    assert_eq!(inactive.status, 200, "{}", inactive.body);
    let (sent, skipped) = trigger_112(&app, Some(7), "0120").await;
    assert!(
        sent.is_empty() && skipped == ["NO_CONFIGURATION"],
        "an inactive configuration admits nothing"
    );
}
