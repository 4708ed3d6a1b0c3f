//! A corpus of hostile input sent to every route: malformed JSON, wrong types,
//! huge numbers, deep nesting, invalid UTF-8, very long strings, header values
//! and paths. No answer is a 5xx, every refusal is in the error envelope, and
//! nothing is stored. (Two routes are left out on purpose: the inbox keeps
//! whatever it is sent, and `POST /sandbox/v1/reset` reads no body.)

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{client, every_route, webhook_body, TestApp};

/// Every route that takes a body, with a real webhook id in it; but the inbox
/// (it keeps whatever it is sent) and the reset (it reads no body).
fn body_routes(id: &str) -> Vec<(Method, String)> {
    every_route(id)
        .into_iter()
        .filter(|(_, path, body)| {
            body.is_some() && !path.contains("/inbox/") && !path.ends_with("/reset")
        })
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// Every route without a body (the reset aside: it would delete the webhook).
fn other_routes(id: &str) -> Vec<(Method, String)> {
    every_route(id)
        .into_iter()
        .filter(|(_, path, body)| body.is_none() && !path.ends_with("/reset"))
        .map(|(method, path, _)| (method, path))
        .collect()
}

fn nested(depth: usize) -> Vec<u8> {
    let mut body = "[".repeat(depth);
    body.push_str(&"]".repeat(depth));
    body.into_bytes()
}

fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    let text = |v: Value| v.to_string().into_bytes();
    vec![
        ("empty", Vec::new()),
        ("truncated object", b"{\"events\": [101".to_vec()),
        ("trailing garbage", b"{} {}".to_vec()),
        ("not JSON", b"events=101".to_vec()),
        ("null", b"null".to_vec()),
        ("a string", b"\"webhook\"".to_vec()),
        ("an array", b"[1, 2, 3]".to_vec()),
        ("a number", b"12".to_vec()),
        (
            "wrong types",
            text(json!({"programManagerCode": 12, "productId": "x", "events": "101",
                        "webhookStatus": [], "config": "https://a.example/",
                        "notificationIds": {"a": 1}, "eventCode": "one", "payload": 3})),
        ),
        (
            "huge numbers",
            b"{\"productId\": 1e400, \"events\": [1e400], \"eventCode\": 123456789012345678901234567890}"
                .to_vec(),
        ),
        (
            "negative and fractional numbers",
            text(json!({"productId": -1, "events": [101.5], "eventCode": -103})),
        ),
        ("deep nesting (arrays)", nested(100_000)),
        (
            "deep nesting (objects)",
            format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)).into_bytes(),
        ),
        ("invalid UTF-8", b"{\"events\": [101], \"x\": \"\xff\xfe\"}".to_vec()),
        ("a NUL byte", b"{\"programManagerCode\": \"TR\x00\"}".to_vec()),
        (
            "very long strings",
            text(json!({"programManagerCode": "T".repeat(100_000),
                        "config": {"url": format!("https://{}.example/", "a".repeat(200_000)),
                                   "customHeaders": {
                                       format!("Bad Name {}", "b".repeat(100_000)): "v",
                                       "X-Long": 7,
                                   }},
                        "webhookStatus": "x".repeat(100_000),
                        "events": ["1".repeat(100_000)],
                        "notificationIds": ["n".repeat(100_000)]})),
        ),
        (
            "many elements",
            text(json!({"events": vec![101; 50_000], "notificationIds": vec!["x"; 50_000]})),
        ),
    ]
}

/// Sends raw bytes as JSON (or with another content type); asserts a 4xx in the
/// error envelope and returns the status.
async fn refused(
    app: &TestApp,
    method: &Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    what: &str,
) -> u16 {
    let mut response = client()
        .request(method.clone(), app.url(path))
        .insert_header(("X-PM-Code", "TRD"))
        .insert_header(("Content-Type", content_type))
        .send_body(body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path} {what}: {e}"));
    let status = response.status().as_u16();
    // Small: a refusal never echoes the input back, nor lists 50,000 problems.
    let bytes = response
        .body()
        .limit(64 * 1024)
        .await
        .unwrap_or_else(|e| panic!("{method} {path} {what}: answer over 64 KiB: {e}"));
    assert!(
        (400..500).contains(&status),
        "{method} {path} {what}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    let envelope: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{method} {path} {what}: not JSON: {bytes:?}"));
    assert_eq!(envelope["status"], "failure", "{method} {path} {what}");
    assert!(
        envelope["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{method} {path} {what}: {envelope}"
    );
    status
}

#[actix_rt::test]
async fn hostile_bodies_get_a_4xx_in_the_envelope_and_store_nothing() {
    let app = TestApp::spawn().await;
    let id = app
        .create_webhook("TRD", webhook_body(Some(1), "http://127.0.0.1:9/hook"))
        .await;
    let before = app
        .get(&format!("/api/v1/Webhooks/{id}"), Some("TRD"))
        .await;
    for (method, path) in body_routes(&id) {
        for (what, body) in corpus() {
            refused(&app, &method, &path, "application/json", body, what).await;
        }
        let too_large = vec![b' '; 2 * 1024 * 1024];
        let status = refused(&app, &method, &path, "application/json", too_large, "2 MiB").await;
        assert_eq!(status, 413, "{method} {path}");
        let status = refused(
            &app,
            &method,
            &path,
            "text/plain",
            b"{}".to_vec(),
            "text/plain",
        )
        .await;
        assert_eq!(status, 415, "{method} {path}");
    }
    let after = app
        .get(&format!("/api/v1/Webhooks/{id}"), Some("TRD"))
        .await;
    assert_eq!(after.body, before.body, "the webhook is unchanged");
    assert_eq!(app.list_ids("TRD").await, [id.as_str()], "nothing created");
    let notifications = app
        .get(
            &format!("/api/v1/Webhooks/{id}/events/101/notifications"),
            Some("TRD"),
        )
        .await;
    assert_eq!(
        notifications.status, 404,
        "no notification: {}",
        notifications.body
    );
}

#[actix_rt::test]
async fn long_header_values_and_paths_get_a_4xx_in_the_envelope() {
    let app = TestApp::spawn().await;
    let id = app
        .create_webhook("TRD", webhook_body(Some(1), "http://127.0.0.1:9/hook"))
        .await;
    let long = "x".repeat(16 * 1024);
    let mut routes = body_routes(&id);
    routes.extend(other_routes(&id));
    for (method, path) in &routes {
        // A 16 KiB program manager code: refused as not valid, wherever it is read.
        let mut response = client()
            .request(method.clone(), app.url(path))
            .insert_header(("X-PM-Code", long.as_str()))
            .insert_header(("X-Request-Id", long.as_str()))
            .send_json(&json!({}))
            .await
            .expect("request");
        let status = response.status().as_u16();
        assert!(status < 500, "{method} {path}: {status}");
        let bytes = response.body().limit(1 << 20).await.expect("body");
        // Routes that never read the header (metrics, the document) answer 200.
        if status >= 400 {
            let envelope: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "{method} {path}: not JSON: {}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            assert_eq!(envelope["status"], "failure", "{method} {path}");
        }
        // 16 KiB more path under every route.
        let deep = format!("{path}/{}", "a/".repeat(8 * 1024));
        let status = refused(
            &app,
            method,
            &deep,
            "application/json",
            b"{}".to_vec(),
            "long path",
        )
        .await;
        assert_eq!(status, 404, "{method} {deep:.60}");
    }
    let id_too_long = refused(
        &app,
        &Method::GET,
        &format!("/api/v1/Webhooks/{long}"),
        "application/json",
        Vec::new(),
        "a 16 KiB id",
    )
    .await;
    assert_eq!(id_too_long, 400);
    assert_eq!(app.list_ids("TRD").await, [id], "nothing created");
}
