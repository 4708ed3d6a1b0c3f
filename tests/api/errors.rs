//! Bad input: every validation rule and HTTP-level error, in the error envelope,
//! with nothing stored.

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{webhook_body, TestApp};

const URL: &str = "https://client.example/webhook";

fn with(field: &str, value: Value) -> Value {
    let mut body = webhook_body(Some(1), URL);
    body[field] = value;
    body
}

fn with_config(config: Value) -> Value {
    let mut body = webhook_body(Some(1), URL);
    body["config"] = config;
    body
}

#[actix_rt::test]
async fn every_invalid_create_is_refused_with_its_code_and_nothing_is_stored() {
    let app = TestApp::spawn_with(&[("WHM_SECURITY__ALLOW_HTTP", "false")]).await;
    let long_url = format!("https://client.example/{}", "x".repeat(240));
    let cases: Vec<(&str, Option<&str>, Value, Vec<&str>)> = vec![
        (
            "no pm code anywhere",
            None,
            webhook_body(Some(1), URL),
            vec!["PMCODE_REQUIRED"],
        ),
        (
            "pm code too long",
            None,
            with("programManagerCode", json!("TOOLONG")),
            vec!["PMCODE_NOT_VALID"],
        ),
        (
            "pm code not a string",
            Some("TRD"),
            with("programManagerCode", json!(12)),
            vec!["PMCODE_NOT_VALID"],
        ),
        (
            "body and header differ",
            Some("TRD"),
            with("programManagerCode", json!("ABC")),
            vec!["PMCODE_NOT_VALID"],
        ),
        (
            "product id negative",
            Some("TRD"),
            with("productId", json!(-1)),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "product id above 2^53",
            Some("TRD"),
            with("productId", json!(9007199254740993u64)),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "product id a string",
            Some("TRD"),
            with("productId", json!("12")),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "unknown event code",
            Some("TRD"),
            with("events", json!([113])),
            vec!["EVENTCODE_NOTFOUND"],
        ),
        (
            "event code not 3 digits",
            Some("TRD"),
            with("events", json!([1010])),
            vec!["INVALID_EVENTCODE"],
        ),
        (
            "event code a string",
            Some("TRD"),
            with("events", json!(["101"])),
            vec!["INVALID_EVENTCODE"],
        ),
        (
            "event code twice",
            Some("TRD"),
            with("events", json!([101, 101])),
            vec!["DUPLICATE_EVENT_IN_EVENT_ARRAY"],
        ),
        (
            "events not an array",
            Some("TRD"),
            with("events", json!(101)),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "status suspended",
            Some("TRD"),
            with("webhookStatus", json!("suspended")),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "config missing",
            Some("TRD"),
            json!({"productId": 1}),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "url missing",
            Some("TRD"),
            with_config(json!({})),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "url empty",
            Some("TRD"),
            with_config(json!({"url": ""})),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "url relative",
            Some("TRD"),
            with_config(json!({"url": "/hook"})),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "url over 255",
            Some("TRD"),
            with_config(json!({"url": long_url})),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "plain http refused",
            Some("TRD"),
            with_config(json!({"url": "http://client.example/"})),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "four custom headers",
            Some("TRD"),
            with_config(
                json!({"url": URL, "customHeaders": {"A": "1", "B": "2", "C": "3", "D": "4"}}),
            ),
            vec!["EXCEEDS_MAXIMUM_CUSTOM_HEADER_LIMIT"],
        ),
        (
            "custom headers over 500 characters",
            Some("TRD"),
            with_config(json!({"url": URL, "customHeaders": {"A": "v".repeat(500)}})),
            vec!["EXCEEDS_MAXIMUM_CUSTOM_HEADER_LIMIT"],
        ),
        (
            "reserved header",
            Some("TRD"),
            with_config(json!({"url": URL, "customHeaders": {"Content-Type": "text/plain"}})),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "header name with a space",
            Some("TRD"),
            with_config(json!({"url": URL, "customHeaders": {"Api Key": "x"}})),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "header value with CRLF",
            Some("TRD"),
            with_config(json!({"url": URL, "customHeaders": {"ApiKey": "a\r\nX-Evil: 1"}})),
            vec!["INVALID_REQUEST_BODY"],
        ),
        (
            "everything wrong together",
            None,
            json!({"programManagerCode": "X", "events": [113, 113], "config": {"url": "ftp://x"}}),
            vec![
                "PMCODE_NOT_VALID",
                "EVENTCODE_NOTFOUND",
                "EVENTCODE_NOTFOUND",
                "INVALID_REQUEST_BODY",
            ],
        ),
        (
            "body an array",
            Some("TRD"),
            json!([1, 2]),
            vec!["INVALID_REQUEST_BODY"],
        ),
    ];
    for (name, pm, body, expected) in cases {
        let reply = app.post("/api/v1/Webhooks", pm, body).await;
        assert_eq!(reply.status, 400, "case {name}: {}", reply.body);
        assert_eq!(reply.error_codes(), expected, "case {name}: {}", reply.body);
        for error in reply.body["errors"].as_array().expect("errors") {
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "case {name}: a message for {error}"
            );
        }
    }
    for pm in ["TRD", "ABC"] {
        assert!(app.list_ids(pm).await.is_empty(), "nothing stored for {pm}");
    }
}

#[actix_rt::test]
async fn one_webhook_per_program_manager_and_product() {
    let app = TestApp::spawn().await;
    app.create_webhook("TRD", webhook_body(Some(5), URL)).await;
    app.create_webhook("TRD", webhook_body(None, URL)).await;

    for (name, body) in [
        ("same product", webhook_body(Some(5), URL)),
        ("second pm-level", webhook_body(None, URL)),
    ] {
        let reply = app.post("/api/v1/Webhooks", Some("TRD"), body).await;
        assert_eq!(
            (reply.status, reply.error_codes()),
            (409, vec!["DUPLICATE_WEBHOOK".to_owned()]),
            "case {name}"
        );
    }
    assert_eq!(app.list_ids("TRD").await.len(), 2);
}

#[actix_rt::test]
async fn malformed_bodies_get_400_413_415() {
    let app = TestApp::spawn_with(&[("WHM_LIMITS__MAX_BODY_BYTES", "2048")]).await;
    let path = "/api/v1/Webhooks";

    let malformed = app
        .raw(
            Method::POST,
            path,
            Some("application/json"),
            b"{\"config\": ".to_vec(),
        )
        .await;
    assert_eq!(
        (malformed.status, malformed.error_codes()),
        (400, vec!["INVALID_REQUEST_BODY".to_owned()])
    );
    let message = malformed.body["errors"][0]["message"]
        .as_str()
        .expect("message");
    assert!(
        message.contains("line 1 column"),
        "parser position in message: {message}"
    );

    let not_utf8 = app
        .raw(
            Method::POST,
            path,
            Some("application/json"),
            vec![b'"', 0xff, 0xfe, b'"'],
        )
        .await;
    assert_eq!(not_utf8.status, 400, "{}", not_utf8.body);

    let empty = app
        .raw(Method::POST, path, Some("application/json"), Vec::new())
        .await;
    assert_eq!(
        (empty.status, empty.error_codes()),
        (400, vec!["INVALID_REQUEST_BODY".to_owned()])
    );

    let text = app
        .raw(Method::POST, path, Some("text/plain"), b"{}".to_vec())
        .await;
    assert_eq!(
        (text.status, text.error_codes()),
        (415, vec!["UNSUPPORTED_MEDIA_TYPE".to_owned()])
    );

    let big = serde_json::to_vec(&json!({"config": {"url": URL}, "pad": "x".repeat(4096)}))
        .expect("json");
    let too_large = app
        .raw(Method::POST, path, Some("application/json"), big)
        .await;
    assert_eq!(
        (too_large.status, too_large.error_codes()),
        (413, vec!["PAYLOAD_TOO_LARGE".to_owned()])
    );

    assert!(app.list_ids("TRD").await.is_empty(), "nothing stored");
}

#[actix_rt::test]
async fn unknown_paths_unsupported_methods_and_bad_ids() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("TRD", webhook_body(None, URL)).await;

    let missing = app.get("/api/v2/nothing", None).await;
    assert_eq!(
        (missing.status, missing.error_codes()),
        (404, vec!["NOT_FOUND".to_owned()])
    );

    let cases = [
        (Method::DELETE, format!("/api/v1/Webhooks/{id}"), "GET, PUT"),
        (Method::PATCH, "/api/v1/Webhooks".to_owned(), "GET, POST"),
        (
            Method::POST,
            format!("/api/v1/Webhooks/{id}/heartbeat"),
            "GET",
        ),
        (
            Method::GET,
            format!("/api/v1/Webhooks/{id}/status"),
            "PATCH, PUT",
        ),
        (Method::POST, "/healthz".to_owned(), "GET"),
    ];
    for (method, path, allow) in cases {
        let reply = app.request(method.clone(), &path, Some("TRD"), None).await;
        assert_eq!(reply.status, 405, "{method} {path}");
        assert_eq!(
            reply.error_codes(),
            vec!["METHOD_NOT_ALLOWED"],
            "{method} {path}"
        );
        assert_eq!(
            reply.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }

    let bad = "not-a-uuid";
    let id_routes = [
        (Method::GET, format!("/api/v1/Webhooks/{bad}"), None),
        (
            Method::PUT,
            format!("/api/v1/Webhooks/{bad}"),
            Some(webhook_body(None, URL)),
        ),
        (
            Method::PATCH,
            format!("/api/v1/Webhooks/{bad}/status"),
            Some(json!({"webhookStatus": "inactive"})),
        ),
        (
            Method::GET,
            format!("/api/v1/Webhooks/{bad}/subscriptions"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/Webhooks/{bad}/subscriptions"),
            Some(json!({"events": [103]})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/Webhooks/{bad}/subscriptions/101"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/Webhooks/{bad}/heartbeat"),
            None,
        ),
    ];
    for (method, path, body) in id_routes {
        let reply = app.request(method.clone(), &path, Some("TRD"), body).await;
        assert_eq!(
            (reply.status, reply.error_codes()),
            (400, vec!["INVALID_WEBHOOK_ID".to_owned()]),
            "{method} {path}"
        );
    }

    let unknown = app
        .get(
            "/api/v1/Webhooks/af2d48de-2ad7-42f8-a252-8422cd9e6078",
            None,
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.error_codes()),
        (404, vec!["WEBHOOK_NOT_REGISTERED".to_owned()])
    );
}

#[actix_rt::test]
async fn program_manager_header_rules() {
    let app = TestApp::spawn().await;

    let list_without = app.get("/api/v1/Webhooks", None).await;
    assert_eq!(
        (list_without.status, list_without.error_codes()),
        (400, vec!["PMCODE_REQUIRED".to_owned()])
    );

    let bad_header = app.get("/api/v1/Webhooks", Some("T-1")).await;
    assert_eq!(
        (bad_header.status, bad_header.error_codes()),
        (400, vec!["PMCODE_NOT_VALID".to_owned()])
    );

    let bad_on_create = app
        .post("/api/v1/Webhooks", Some("TOOLONG"), webhook_body(None, URL))
        .await;
    assert_eq!(bad_on_create.status, 400);
    assert!(app.list_ids("TOOL").await.is_empty());
}
