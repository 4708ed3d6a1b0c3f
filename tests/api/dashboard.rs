//! The dashboard's HTML pages: the delivery log with its filters and pages,
//! a notification's detail, escaping, the security headers, and when it is
//! not served.

use std::time::Duration;

use serde_json::json;

use crate::delivery::{hook, trigger};
use crate::helpers::{client, eventually, TestApp};
use crate::receiver::{Behaviour, Receiver};

/// A page: status, content type, CSP, body.
struct Page {
    status: u16,
    content_type: String,
    csp: String,
    body: String,
}

async fn fetch(app: &TestApp, path: &str) -> Page {
    let mut response = client()
        .get(app.url(path))
        .send()
        .await
        .expect("request reached the service");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, csp) = (header("content-type"), header("content-security-policy"));
    let body = response.body().limit(1 << 22).await.expect("body");
    Page {
        status: response.status().as_u16(),
        content_type,
        csp,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn rows(page: &Page) -> usize {
    page.body.matches(r#"data-test="row""#).count()
}

#[actix_rt::test]
async fn the_delivery_log_lists_notifications_with_filters_and_pages_in_the_url() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    app.create_webhook("TRD", hook(Some(7), &[101, 103], &receiver.url))
        .await;
    let mut ids = Vec::new();
    for i in 0..51 {
        let code = if i == 0 { 103 } else { 101 };
        ids.push(trigger(&app, "TRD", Some(7), code).await.remove(0).1);
    }
    receiver.wait_for(51, Duration::from_secs(10)).await;

    let first = eventually(
        Duration::from_secs(5),
        || fetch(&app, "/"),
        |p| p.body.matches("status-Delivered").count() >= 50,
    )
    .await;
    assert_eq!(first.status, 200);
    assert!(
        first.content_type.starts_with("text/html"),
        "{}",
        first.content_type
    );
    assert!(first.csp.contains("default-src 'none'"), "{}", first.csp);
    assert_eq!(rows(&first), 50, "a page of 50");
    assert!(first.body.contains(&ids[50]), "the newest first");
    assert!(
        !first.body.contains(&ids[0]),
        "the oldest is on the next page"
    );
    let older = first
        .body
        .split(r#"href=""#)
        .filter_map(|s| s.split('"').next())
        .find(|href| href.contains("before="))
        .expect("a link to older notifications")
        .replace("&amp;", "&");
    let second = fetch(&app, &older).await;
    assert_eq!(rows(&second), 1);
    assert!(second.body.contains(&ids[0]));

    let by_event = fetch(&app, "/?event=103").await;
    assert_eq!(rows(&by_event), 1, "filtered by event code");
    assert!(by_event.body.contains(&ids[0]));
    let by_id = fetch(&app, &format!("/?id={}", ids[7])).await;
    assert_eq!(rows(&by_id), 1);
    let undelivered = fetch(&app, "/?status=Undelivered").await;
    assert_eq!(rows(&undelivered), 0);
    assert!(undelivered.body.contains(r#"data-test="empty""#));
    let other_pm = fetch(&app, "/?pm=ABC").await;
    assert_eq!(rows(&other_pm), 0);

    let bad = fetch(&app, "/?status=Lost").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains(r#"data-test="problem""#), "{}", bad.body);
}

#[actix_rt::test]
async fn a_notification_shows_its_envelope_and_attempts_with_markup_as_text() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    app.create_webhook("TRD", hook(Some(7), &[103], &receiver.url))
        .await;
    let reply = app
        .post(
            "/sandbox/v1/events",
            Some("TRD"),
            json!({"productId": 7, "eventCode": 103, "payload": {"note": "<script>alert(1)</script>"}}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let n = &reply.response()["notifications"][0];
    let path = format!(
        "/dashboard/webhooks/{}/notifications/{}",
        n["webhookId"].as_str().expect("webhook"),
        n["notificationId"].as_str().expect("id")
    );
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let page = eventually(
        Duration::from_secs(5),
        || fetch(&app, &path),
        |p| p.body.contains(r#"data-test="attempt""#),
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("HTTP 200"), "attempt 1 with its status");
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !page.body.contains("<script>"),
        "markup from a payload is text"
    );
    assert!(
        page.body.contains("apikey: ***"),
        "custom header values masked in the attempts"
    );
    assert!(
        page.body.contains(r#"data-test="resend""#),
        "a delivered one can be resent"
    );
    assert!(!page.body.contains(r#"data-test="deliver-now""#));
    assert!(page.body.contains("curl -X POST"), "the request as cURL");
    assert!(
        page.body.contains("ApiKey: secret-1"),
        "with its custom header"
    );

    let missing = fetch(
        &app,
        "/dashboard/webhooks/af2d48de-2ad7-42f8-a252-8422cd9e6078/notifications/af2d48de-2ad7-42f8-a252-8422cd9e6078",
    )
    .await;
    assert_eq!(missing.status, 404);
}

#[actix_rt::test]
async fn the_dashboard_is_not_served_when_off_or_with_auth_on() {
    let off = TestApp::spawn_with(&[("WHM_DASHBOARD__ENABLED", "false")]).await;
    let page = fetch(&off, "/").await;
    assert_eq!(page.status, 404);
    assert!(!page.content_type.starts_with("text/html"));

    let tokens = r#"[{program_manager_code="TRD", token="trd-token-0123456789"}]"#;
    let auth =
        TestApp::spawn_with(&[("WHM_AUTH__ENABLED", "true"), ("WHM_AUTH__TOKENS", tokens)]).await;
    for path in ["/", "/dashboard/assets/app.css"] {
        let page = fetch(&auth, path).await;
        assert_eq!(page.status, 401, "{path}: no page without signing in");
    }
}

/// The live log: `/dashboard/stream` sends the first page's rows as a `rows`
/// event when they change, so a notification triggered after the page was
/// opened appears without a reload (read here over a plain socket, as a
/// browser's EventSource would).
#[actix_rt::test]
async fn the_live_log_streams_a_new_notification() {
    use std::io::{Read, Write};

    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    app.create_webhook("TRD", hook(Some(7), &[101], &receiver.url))
        .await;
    let address = app.url("").trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    write!(
        stream,
        "GET /dashboard/stream?pm=TRD HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("request");
    let (_, id) = trigger(&app, "TRD", Some(7), 101).await.remove(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    let mut buffer = [0u8; 16 * 1024];
    while std::time::Instant::now() < deadline && !seen.contains(&id) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
            Err(_) => actix_rt::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.contains("event: rows"), "{seen}");
    assert!(
        seen.contains(&id),
        "the new notification's row arrived: {seen}"
    );
}

/// The Send page's form is prefilled with the sample payload the service
/// would generate for the chosen event, program manager and product.
#[actix_rt::test]
async fn the_send_page_prefills_the_sample_payload() {
    let app = TestApp::spawn().await;
    let page = fetch(&app, "/dashboard/send?pm=ABC&product=42&event=103").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(r#"<option value="103" selected>"#),
        "{}",
        page.body
    );
    let payload = page
        .body
        .split(r#"data-test="payload">"#)
        .nth(1)
        .and_then(|rest| rest.split("</textarea>").next())
        .expect("a payload")
        .replace("&quot;", "\"");
    let sample: serde_json::Value = serde_json::from_str(&payload).expect("the sample is JSON");
    assert!(sample.is_object(), "{sample}");
    assert!(
        payload.contains("42"),
        "the product is in the sample: {payload}"
    );
    let other = fetch(&app, "/dashboard/send?event=101").await;
    assert!(other.body.contains(r#"<option value="101" selected>"#));
}

/// The Webhooks page lists a program manager's webhooks with their custom
/// header names, never the values, and only that program manager's.
#[actix_rt::test]
async fn the_webhooks_page_shows_header_names_not_values() {
    let app = TestApp::spawn().await;
    let id = app
        .create_webhook("TRD", hook(Some(7), &[101], "https://client.example/h"))
        .await;
    let other = app
        .create_webhook("ABC", hook(Some(7), &[101], "https://client.example/other"))
        .await;
    let page = fetch(&app, "/dashboard/webhooks?pm=TRD").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!(r#"data-webhook="{id}""#)));
    assert!(!page.body.contains(&other), "another program manager's");
    assert!(
        page.body.contains("<code>ApiKey</code>"),
        "the header's name"
    );
    assert!(!page.body.contains("secret-1"), "never its value");
    let bad = fetch(&app, "/dashboard/webhooks?pm=toolong").await;
    assert_eq!(bad.status, 400);
}

/// The Inbox page lists the inboxes and one inbox's requests, escaped.
#[actix_rt::test]
async fn the_inbox_page_shows_what_arrived() {
    let app = TestApp::spawn().await;
    let empty = fetch(&app, "/dashboard/inbox").await;
    assert!(empty.body.contains(r#"data-test="no-inbox""#));
    let reply = app
        .post(
            "/sandbox/v1/inbox/trd",
            None,
            json!({"note": "<b>bold</b>"}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let page = fetch(&app, "/dashboard/inbox?name=trd").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches(r#"data-test="inbox-request""#).count(), 1);
    assert!(page.body.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(!page.body.contains("<b>bold</b>"));
}
