//! A webhook's subscriptions: list, add, remove, and their error codes.

use awc::http::Method;
use serde_json::json;

use crate::helpers::{webhook_body, TestApp};

const URL: &str = "https://client.example/webhook";

#[actix_rt::test]
async fn subscriptions_are_listed_added_and_removed() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(None, URL)).await;
    let path = format!("/api/v1/Webhooks/{id}/subscriptions");

    let listed = app.get(&path, Some("TRD")).await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.response(),
        &json!({"webhookId": id, "content": [
            {"eventCode": 101, "description": "Fraud Rule Triggered by a Transaction"},
            {"eventCode": 102, "description": "Fraud Acknowledgement Notification"}
        ]})
    );

    let added = app
        .put(&path, Some("TRD"), json!({"events": [117, 103]}))
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(
        added.response(),
        &json!({"webhookId": id, "responseStatus": "Webhook events updated"})
    );
    let details = app.get(&format!("/api/v1/Webhooks/{id}"), None).await;
    assert_eq!(details.response()["events"], json!([101, 102, 103, 117]));

    let removed = app
        .request(Method::DELETE, &format!("{path}/102"), Some("TRD"), None)
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        removed.response(),
        &json!({"webhookId": id, "responseStatus": "Webhook event removed"})
    );
    let details = app.get(&format!("/api/v1/Webhooks/{id}"), None).await;
    assert_eq!(details.response()["events"], json!([101, 103, 117]));
}

#[actix_rt::test]
async fn bad_subscription_changes_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(None, URL)).await;
    let path = format!("/api/v1/Webhooks/{id}/subscriptions");
    let before = app
        .get(&format!("/api/v1/Webhooks/{id}"), None)
        .await
        .response()
        .clone();

    let cases = [
        (
            "empty array",
            json!({"events": []}),
            400,
            vec!["EMPTY_EVENTCODES"],
        ),
        ("events missing", json!({}), 400, vec!["EMPTY_EVENTCODES"]),
        (
            "code twice",
            json!({"events": [103, 103]}),
            400,
            vec!["DUPLICATE_EVENTCODE"],
        ),
        (
            "unknown code",
            json!({"events": [113]}),
            400,
            vec!["EVENTCODE_NOTFOUND"],
        ),
        (
            "not a code",
            json!({"events": ["x"]}),
            400,
            vec!["INVALID_EVENTCODE"],
        ),
        (
            "not an array",
            json!({"events": 103}),
            400,
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "one already subscribed",
            json!({"events": [103, 101]}),
            409,
            vec!["SUBSCRIBED_EVENTCODE"],
        ),
    ];
    for (name, body, status, codes) in cases {
        let reply = app.put(&path, Some("TRD"), body).await;
        assert_eq!(
            (reply.status, reply.error_codes()),
            (status, codes.iter().map(|c| c.to_string()).collect()),
            "case {name}"
        );
    }

    let deletes = [
        ("not subscribed", "103", 404, "EVENTCODE_NOTFOUND"),
        ("not a catalogued code", "113", 404, "EVENTCODE_NOTFOUND"),
        ("not a code", "abc", 400, "INVALID_EVENTCODE"),
    ];
    for (name, code, status, error) in deletes {
        let reply = app
            .request(Method::DELETE, &format!("{path}/{code}"), Some("TRD"), None)
            .await;
        assert_eq!(
            (reply.status, reply.error_codes()),
            (status, vec![error.to_owned()]),
            "case {name}"
        );
    }

    let after = app.get(&format!("/api/v1/Webhooks/{id}"), None).await;
    assert_eq!(
        after.response(),
        &before,
        "nothing changed, not even lastModifiedTime"
    );
}
