//! Create, list, details, full replace and status change.

use serde_json::json;

use crate::helpers::{webhook_body, TestApp};

const URL: &str = "https://client.example/webhook";

#[actix_rt::test]
async fn create_returns_the_webhook_and_details_return_it_again() {
    let app = TestApp::spawn().await;

    let reply = app
        .post(
            "/api/v1/Webhooks",
            Some("TRD"),
            webhook_body(Some(12345), URL),
        )
        .await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let created = reply.response().clone();
    let id = created["webhookId"].as_str().expect("id");
    assert_eq!(id.len(), 36, "hyphenated uuid: {id}");
    assert_eq!(id, id.to_ascii_lowercase(), "lower-case uuid");
    assert_eq!(created["programManagerCode"], "TRD");
    assert_eq!(created["productId"], 12345);
    assert_eq!(created["events"], json!([101, 102]));
    assert_eq!(created["webhookStatus"], "active");
    assert_eq!(
        created["config"],
        json!({"url": URL, "customHeaders": {"ApiKey": "secret-1"}})
    );
    let created_time = created["createdTime"].as_str().expect("createdTime");
    assert!(
        created_time.ends_with('Z') && created_time.len() == 20,
        "second-precision UTC: {created_time}"
    );
    assert_eq!(created["lastModifiedTime"], created["createdTime"]);

    let details = app
        .get(&format!("/api/v1/Webhooks/{id}"), Some("TRD"))
        .await;
    assert_eq!(details.status, 200);
    assert_eq!(details.response(), &created);
    let unscoped = app.get(&format!("/api/v1/Webhooks/{id}"), None).await;
    assert_eq!(
        unscoped.status, 200,
        "auth off: a call by id without a PM code is unscoped"
    );
}

#[actix_rt::test]
async fn program_manager_comes_from_body_or_header() {
    let app = TestApp::spawn().await;
    let mut body = webhook_body(Some(1), URL);
    body["programManagerCode"] = json!("trd");

    let from_body = app.post("/api/v1/Webhooks", None, body.clone()).await;
    assert_eq!(from_body.status, 201, "{}", from_body.body);
    assert_eq!(
        from_body.response()["programManagerCode"],
        "TRD",
        "codes are upper-cased"
    );

    body["productId"] = json!(2);
    let both_agree = app.post("/api/v1/Webhooks", Some("TRD"), body).await;
    assert_eq!(both_agree.status, 201, "{}", both_agree.body);

    let header_only = app
        .post("/api/v1/Webhooks", Some("TRD"), webhook_body(Some(3), URL))
        .await;
    assert_eq!(header_only.status, 201, "{}", header_only.body);
    assert_eq!(app.list_ids("TRD").await.len(), 3);
}

#[actix_rt::test]
async fn list_shows_only_the_callers_webhooks_in_creation_order() {
    let app = TestApp::spawn().await;
    let first = app.create_webhook("TRD", webhook_body(Some(2), URL)).await;
    let second = app.create_webhook("TRD", webhook_body(None, URL)).await;
    let other = app.create_webhook("ABC", webhook_body(Some(2), URL)).await;

    assert_eq!(app.list_ids("TRD").await, vec![first, second]);
    assert_eq!(app.list_ids("ABC").await, vec![other]);
    let none = app.get("/api/v1/Webhooks", Some("ZZZ")).await;
    assert_eq!(
        (none.status, none.error_codes()),
        (404, vec!["WEBHOOK_DETAILS_NOTFOUND".to_owned()])
    );
}

#[actix_rt::test]
async fn full_replace_clears_what_is_left_out_and_keeps_the_owner() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(Some(7), URL)).await;
    let path = format!("/api/v1/Webhooks/{id}");
    let before = app.get(&path, Some("TRD")).await.response().clone();

    let reply = app
        .put(
            &path,
            Some("TRD"),
            json!({"config": {"url": "https://new.example/hook"}}),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let after = reply.response();
    assert_eq!(after["productId"], json!(null), "productId cleared");
    assert_eq!(after["events"], json!([]), "events cleared");
    assert_eq!(
        after["config"],
        json!({"url": "https://new.example/hook", "customHeaders": {}})
    );
    assert_eq!(
        after["webhookStatus"], "active",
        "status kept when not given"
    );
    assert_eq!(after["programManagerCode"], "TRD");
    assert_eq!(after["createdTime"], before["createdTime"]);
    assert!(after["lastModifiedTime"].as_str() >= before["lastModifiedTime"].as_str());
    assert_eq!(
        app.get(&path, None).await.response(),
        after,
        "stored as returned"
    );

    let with_status = app
        .put(
            &path,
            None,
            json!({"webhookStatus": "inactive", "events": [103], "config": {"url": URL}}),
        )
        .await;
    assert_eq!(with_status.status, 200, "{}", with_status.body);
    assert_eq!(with_status.response()["webhookStatus"], "inactive");
    assert_eq!(with_status.response()["events"], json!([103]));
}

#[actix_rt::test]
async fn full_replace_refuses_another_owner_and_a_taken_product() {
    let app = TestApp::spawn().await;
    app.create_webhook("TRD", webhook_body(Some(1), URL)).await;
    let id = app.create_webhook("TRD", webhook_body(Some(2), URL)).await;
    let path = format!("/api/v1/Webhooks/{id}");
    let before = app.get(&path, None).await.response().clone();

    let mut other_owner = webhook_body(Some(2), URL);
    other_owner["programManagerCode"] = json!("ABC");
    let reply = app.put(&path, None, other_owner).await;
    assert_eq!(
        (reply.status, reply.error_codes()),
        (400, vec!["PMCODE_NOT_VALID".to_owned()])
    );

    let reply = app
        .put(&path, Some("TRD"), webhook_body(Some(1), URL))
        .await;
    assert_eq!(
        (reply.status, reply.error_codes()),
        (409, vec!["DUPLICATE_WEBHOOK".to_owned()])
    );

    assert_eq!(
        app.get(&path, None).await.response(),
        &before,
        "nothing changed"
    );
}

#[actix_rt::test]
async fn status_changes_and_the_same_status_is_a_conflict() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(None, URL)).await;
    let path = format!("/api/v1/Webhooks/{id}/status");

    let same = app
        .request(
            awc::http::Method::PATCH,
            &path,
            Some("TRD"),
            Some(json!({"webhookStatus": "active"})),
        )
        .await;
    assert_eq!(
        (same.status, same.error_codes()),
        (
            409,
            vec!["CURRENT_STATUS_IS_SAME_AS_ENTERED_STATUS".to_owned()]
        )
    );

    let patched = app
        .request(
            awc::http::Method::PATCH,
            &path,
            Some("TRD"),
            Some(json!({"webhookStatus": "inactive"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.response()["webhookStatus"], "inactive");

    let put = app
        .put(&path, Some("TRD"), json!({"webhookStatus": "active"}))
        .await;
    assert_eq!(put.status, 200, "PUT is accepted too: {}", put.body);
    assert_eq!(put.response()["webhookStatus"], "active");

    for bad in [
        json!({"webhookStatus": "suspended"}),
        json!({}),
        json!({"webhookStatus": 1}),
    ] {
        let reply = app.put(&path, Some("TRD"), bad.clone()).await;
        assert_eq!(
            (reply.status, reply.error_codes()),
            (400, vec!["INVALID_REQUEST_BODY".to_owned()]),
            "body {bad}"
        );
    }
    let details = app.get(&format!("/api/v1/Webhooks/{id}"), None).await;
    assert_eq!(details.response()["webhookStatus"], "active");
}

#[actix_rt::test]
async fn paths_are_case_insensitive_and_the_eds_alias_works() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(None, URL)).await;

    for path in [
        format!("/api/v1/Webhooks/{id}"),
        format!("/api/v1/webhooks/{id}"),
        format!("/API/V1/WEBHOOKS/{id}/"),
        format!("/eds/api/v1/Webhooks/{id}"),
        format!("/api/v1/Webhooks/{}", id.to_ascii_uppercase()),
    ] {
        let reply = app.get(&path, Some("TRD")).await;
        assert_eq!(reply.status, 200, "path {path}: {}", reply.body);
        assert_eq!(reply.response()["webhookId"], id.as_str(), "path {path}");
    }
    let subscriptions = app
        .get(
            &format!("/eds/api/v1/Webhooks/{id}/Subscriptions"),
            Some("TRD"),
        )
        .await;
    assert_eq!(subscriptions.status, 200, "{}", subscriptions.body);
}

#[actix_rt::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let client = crate::helpers::client();

    let echoed = client
        .get(app.url("/healthz"))
        .insert_header(("X-Request-Id", "trace-123"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(
        echoed
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().ok()),
        Some(Some("trace-123"))
    );

    let not_found = app.get("/no/such/path", None).await;
    let generated = not_found
        .headers
        .get("x-request-id")
        .expect("generated id on a 404");
    assert_eq!(generated.len(), 36, "a fresh uuid");
    assert!(
        app.log_contains(generated.to_str().expect("ascii")).await,
        "the access log names the request id"
    );
}
