//! The dashboard's HTML pages: the delivery log with its filters and pages,
//! a notification's detail, escaping, the security headers, and when it is
//! not served.

use std::io::{Read, Write};
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

/// A live stream read as a browser's EventSource reads it, over a plain socket.
struct EventStream {
    socket: std::net::TcpStream,
    seen: String,
}

impl EventStream {
    fn open(app: &TestApp, path: &str) -> Self {
        let address = app.url("").trim_start_matches("http://").to_owned();
        let mut socket = std::net::TcpStream::connect(&address).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .expect("request");
        Self {
            socket,
            seen: String::new(),
        }
    }

    /// Reads (up to 10 s) until what arrived contains `needle`; answers all
    /// that arrived so far.
    async fn until(&mut self, needle: &str) -> &str {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut buffer = [0u8; 16 * 1024];
        while std::time::Instant::now() < deadline && !self.seen.contains(needle) {
            match self.socket.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
                Err(_) => actix_rt::time::sleep(Duration::from_millis(50)).await,
            }
        }
        &self.seen
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
        page.body.contains("ApiKey: ••••••••") && !page.body.contains("secret-1"),
        "with its custom header, masked"
    );
    let revealed = fetch(&app, &format!("{path}?reveal=1")).await;
    assert!(
        revealed.body.contains("ApiKey: secret-1"),
        "revealed on request"
    );

    let missing = fetch(
        &app,
        "/dashboard/webhooks/af2d48de-2ad7-42f8-a252-8422cd9e6078/notifications/af2d48de-2ad7-42f8-a252-8422cd9e6078",
    )
    .await;
    assert_eq!(missing.status, 404);
}

#[actix_rt::test]
async fn the_dashboard_is_not_served_when_off() {
    let off = TestApp::spawn_with(&[("WHM_DASHBOARD__ENABLED", "false")]).await;
    for path in ["/", "/dashboard/sign-in", "/dashboard/assets/app.js"] {
        let page = fetch(&off, path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.content_type.starts_with("text/html"), "{path}");
    }
}

/// A browser's request as the auth tests make it: no redirect followed, the
/// session cookie and the CSRF token when given.
async fn browse(
    app: &TestApp,
    method: awc::http::Method,
    path: &str,
    session: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<String>,
) -> (u16, awc::http::header::HeaderMap, String) {
    let client = awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(30))
        .finish();
    let mut request = client.request(method, app.url(path));
    if let Some(session) = session {
        request = request.insert_header(("Cookie", format!("wm_session={session}")));
    }
    for (name, value) in extra {
        request = request.insert_header((*name, *value));
    }
    let mut response = match body {
        Some(body) => request.send_body(body).await,
        None => request.send().await,
    }
    .expect("request reached the service");
    let body = response.body().limit(1 << 22).await.expect("body");
    (
        response.status().as_u16(),
        response.headers().clone(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn header(headers: &awc::http::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Signs in with a form; answers the status, the Location and the session.
async fn sign_in(app: &TestApp, form: &str, origin: Option<&str>) -> (u16, String, Option<String>) {
    let mut extra = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(origin) = origin {
        extra.push(("Origin", origin));
    }
    let (status, headers, _) = browse(
        app,
        awc::http::Method::POST,
        "/dashboard/sign-in",
        None,
        &extra,
        Some(form.to_owned()),
    )
    .await;
    let cookie = header(&headers, "set-cookie");
    let session = cookie
        .strip_prefix("wm_session=")
        .and_then(|rest| rest.split(';').next())
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    if session.is_some() {
        for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(part), "{part} in {cookie}");
        }
    }
    (status, header(&headers, "location"), session)
}

/// With auth on, no page and no stream is served without signing in (a
/// browser is sent to the sign-in form); a token or an OAuth client signs in
/// to a session cookie; a program manager sees only its own webhooks and
/// notifications; every change made with the cookie needs the page's CSRF
/// token, and one without it stores nothing.
#[actix_rt::test]
async fn with_auth_on_the_dashboard_needs_a_session_and_shows_one_program_manager() {
    use awc::http::Method;
    let tokens = r#"[{program_manager_code="TRD", token="trd-token-0123456789"}, {program_manager_code="ABC", token="abc-token-0123456789"}]"#;
    let clients = r#"[{client_id="trd-dash", client_secret="trd-secret-0123456789", program_manager_code="TRD"}]"#;
    let app = TestApp::spawn_with(&[
        ("WHM_AUTH__ENABLED", "true"),
        ("WHM_AUTH__TOKENS", tokens),
        ("WHM_AUTH__CLIENTS", clients),
    ])
    .await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let mut notifications = Vec::new();
    for (pm, token) in [
        ("TRD", "trd-token-0123456789"),
        ("ABC", "abc-token-0123456789"),
    ] {
        let bearer = format!("Bearer {token}");
        let auth = [
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ];
        let hook = hook(Some(7), &[101], &receiver.url).to_string();
        let (status, _, body) = browse(
            &app,
            Method::POST,
            "/api/v1/Webhooks",
            None,
            &auth,
            Some(hook),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let event = json!({"programManagerCode": pm, "productId": 7, "eventCode": 101}).to_string();
        let (status, _, body) = browse(
            &app,
            Method::POST,
            "/sandbox/v1/events",
            None,
            &auth,
            Some(event),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        let reply: serde_json::Value = serde_json::from_str(&body).expect("json");
        let n = &reply["response"]["notifications"][0];
        notifications.push((
            n["webhookId"].as_str().expect("webhookId").to_owned(),
            n["notificationId"].as_str().expect("id").to_owned(),
        ));
    }
    let detail = |(webhook, id): &(String, String)| {
        format!("/dashboard/webhooks/{webhook}/notifications/{id}")
    };

    // Nothing without a session: every page and stream sends the browser to
    // sign in and comes back after; the assets, holding no data, are served.
    for path in [
        "/".to_owned(),
        "/?status=Pending".to_owned(),
        "/dashboard/stream".to_owned(),
        "/dashboard/webhooks".to_owned(),
        "/dashboard/send".to_owned(),
        "/dashboard/inbox".to_owned(),
        "/dashboard/inbox/stream?name=x".to_owned(),
        "/dashboard/events".to_owned(),
        "/dashboard/events/stream".to_owned(),
        detail(&notifications[0]),
    ] {
        let (status, headers, body) = browse(&app, Method::GET, &path, None, &[], None).await;
        assert_eq!(status, 303, "{path}: {body}");
        let location = header(&headers, "location");
        assert!(
            location.starts_with("/dashboard/sign-in?next="),
            "{path}: {location}"
        );
        assert!(!body.contains(&notifications[0].1), "{path}");
        let (status, _, _) =
            browse(&app, Method::GET, &path, Some("not.a.session"), &[], None).await;
        assert_eq!(status, 303, "{path}: a forged session");
    }
    let (status, _, _) = browse(
        &app,
        Method::GET,
        "/?status=Pending",
        None,
        &[("Authorization", "Bearer wrong-token-0123456789")],
        None,
    )
    .await;
    assert_eq!(status, 401, "a wrong bearer token on a page is refused");
    for path in [
        "/dashboard/assets/app.css",
        "/dashboard/assets/app.js",
        "/dashboard/sign-in",
    ] {
        assert_eq!(fetch(&app, path).await.status, 200, "{path}");
    }

    // Signing in: an unknown token, another site's form, then a token and a client.
    let (status, _, session) = sign_in(&app, "token=nope-0123456789abcdef", None).await;
    assert_eq!((status, session), (401, None));
    let (status, _, session) = sign_in(
        &app,
        "token=trd-token-0123456789",
        Some("http://evil.example"),
    )
    .await;
    assert_eq!(
        (status, session),
        (403, None),
        "another site's page cannot sign a browser in"
    );
    let (status, location, session) = sign_in(
        &app,
        "client_id=trd-dash&client_secret=trd-secret-0123456789&next=%2Fdashboard%2Fwebhooks",
        None,
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/dashboard/webhooks"));
    assert!(session.is_some(), "a client signs in");
    let origin = app.url("");
    let (status, location, session) = sign_in(
        &app,
        "token=trd-token-0123456789&next=https%3A%2F%2Fevil.example%2F",
        Some(&origin),
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/"),
        "never sent to another site"
    );
    let session = session.expect("a session");

    // One program manager's view, whatever the URL asks for.
    let (status, _, log) = browse(&app, Method::GET, "/?pm=ABC", Some(&session), &[], None).await;
    assert_eq!(status, 200, "{log}");
    assert!(log.contains(&notifications[0].1), "TRD's notification");
    assert!(!log.contains(&notifications[1].1), "not ABC's");
    assert!(
        !log.contains(r#"data-test="strip""#),
        "no figures of the whole service"
    );
    let csrf = log
        .split(r#"<meta name="csrf-token" content=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries its CSRF token")
        .to_owned();
    let (status, _, _) = browse(
        &app,
        Method::GET,
        &detail(&notifications[0]),
        Some(&session),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = browse(
        &app,
        Method::GET,
        &detail(&notifications[1]),
        Some(&session),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 404, "ABC's notification is not there for TRD");
    assert!(!body.contains(&notifications[1].1));
    let (_, _, webhooks) = browse(
        &app,
        Method::GET,
        "/dashboard/webhooks?pm=ABC",
        Some(&session),
        &[],
        None,
    )
    .await;
    assert!(webhooks.contains(&notifications[0].0) && !webhooks.contains(&notifications[1].0));
    let (status, _, events) = browse(
        &app,
        Method::GET,
        "/dashboard/events?pm=ABC",
        Some(&session),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{events}");
    assert!(
        events.contains(&notifications[0].1) && !events.contains(&notifications[1].1),
        "TRD's event only: {events}"
    );

    // Changes through the API with the session: only with the CSRF token.
    let create = hook(Some(8), &[101], &receiver.url).to_string();
    let json_type = ("Content-Type", "application/json");
    let (status, _, body) = browse(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        Some(&session),
        &[json_type],
        Some(create.clone()),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("CSRF_TOKEN_INVALID"), "{body}");
    let (status, _, body) = browse(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        Some(&session),
        &[json_type, ("X-CSRF-Token", "forged")],
        Some(create.clone()),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _, list) = browse(
        &app,
        Method::GET,
        "/api/v1/Webhooks",
        Some(&session),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "reads need no CSRF token: {list}");
    assert_eq!(
        list.matches("\"webhookId\"").count(),
        1,
        "nothing was stored: {list}"
    );
    let (status, _, body) = browse(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        Some(&session),
        &[json_type, ("X-CSRF-Token", &csrf)],
        Some(create),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"programManagerCode\":\"TRD\""), "{body}");

    // Signing out ends the cookie.
    let (status, _, _) = browse(
        &app,
        Method::POST,
        "/dashboard/sign-out",
        Some(&session),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 403, "signing out is a change too");
    let (status, headers, _) = browse(
        &app,
        Method::POST,
        "/dashboard/sign-out",
        Some(&session),
        &[("X-CSRF-Token", &csrf)],
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        header(&headers, "set-cookie").contains("Max-Age=0"),
        "{headers:?}"
    );
}

/// The Events page: a send that skips a webhook shows its fan-out, the
/// skipped webhook with its reason, and the log's row links to the event.
#[actix_rt::test]
async fn the_events_page_shows_each_fan_out_with_the_skip_reasons() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let receiving = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let skipped = app
        .create_webhook("TRD", hook(Some(5), &[104], &receiver.url))
        .await;
    let reply = app
        .post(
            "/sandbox/v1/events",
            Some("TRD"),
            json!({"productId": 5, "eventCode": 103}),
        )
        .await;
    let event = reply.response()["eventId"]
        .as_str()
        .expect("eventId")
        .to_owned();
    let notification = reply.response()["notifications"][0]["notificationId"]
        .as_str()
        .expect("id")
        .to_owned();
    let page = fetch(&app, &format!("/dashboard/events?id={event}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains(&format!(r#"data-notification="{notification}""#)));
    assert!(page.body.contains(&receiving));
    let skipped_row = page
        .body
        .split(r#"data-test="skipped""#)
        .nth(1)
        .expect("a skipped row");
    assert!(skipped_row.contains(&skipped), "{skipped_row}");
    assert!(skipped_row.contains("NOT_SUBSCRIBED"), "{skipped_row}");
    let all = fetch(&app, "/dashboard/events?event=103").await;
    assert!(all.body.contains(&event));
    let none = fetch(&app, "/dashboard/events?event=101").await;
    assert!(none.body.contains(r#"data-test="no-events""#));
    let bad = fetch(&app, "/dashboard/events?id=nope").await;
    assert_eq!(bad.status, 400);
    let log = fetch(&app, "/").await;
    assert!(
        log.body
            .contains(&format!(r#"href="/dashboard/events?id={event}""#)),
        "the log's row links to its event"
    );
    let mut stream = EventStream::open(&app, "/dashboard/events/stream?event=103");
    assert!(stream.until(&notification).await.contains("event: events"));
}

/// The live log: `/dashboard/stream` sends the first page's rows as a `rows`
/// event when they change, so a notification triggered after the page was
/// opened appears without a reload (read here over a plain socket, as a
/// browser's EventSource would).
#[actix_rt::test]
async fn the_live_log_streams_a_new_notification() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    app.create_webhook("TRD", hook(Some(7), &[101], &receiver.url))
        .await;
    let mut stream = EventStream::open(&app, "/dashboard/stream?pm=TRD");
    let (_, id) = trigger(&app, "TRD", Some(7), 101).await.remove(0);
    let seen = stream.until(&id).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.contains("event: rows"), "{seen}");
    assert!(
        seen.contains(&id),
        "the new notification's row arrived: {seen}"
    );
}

/// The Send page's form is prefilled with the sample payload the service
/// would generate for the chosen event, program manager and product, and it
/// offers the scenarios.
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
    for scenario in ["token-provisioning", "fraud-alert", "card-lifecycle"] {
        assert!(
            page.body
                .contains(&format!(r#"data-scenario="{scenario}""#)),
            "the page offers {scenario}"
        );
    }
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

/// The Inbox page lists the inboxes and one inbox's requests, escaped; the
/// inbox survives a restart.
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

    // Kept in the database: there after a restart.
    let app = app.restart().await;
    let page = fetch(&app, "/dashboard/inbox?name=trd").await;
    assert_eq!(page.body.matches(r#"data-test="inbox-request""#).count(), 1);
    assert!(page.body.contains("&lt;b&gt;bold&lt;/b&gt;"));
}

/// The log's time range (relative, or from/until in UTC) and the status
/// strip, which counts what the engine attempted in the last hour.
#[actix_rt::test]
async fn the_log_filters_by_time_and_the_strip_counts_the_last_hour() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    app.create_webhook("TRD", hook(Some(7), &[101], &receiver.url))
        .await;
    let (_, id) = trigger(&app, "TRD", Some(7), 101).await.remove(0);
    let page = eventually(
        Duration::from_secs(10),
        || fetch(&app, "/?range=1h"),
        |p| p.body.contains("1 delivered"),
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&id), "created in the last hour");
    assert!(page.body.contains(r#"data-test="strip""#));
    assert!(page.body.contains("0 undelivered"), "{}", page.body);
    assert!(page.body.contains("0 pending now"), "{}", page.body);
    assert!(
        page.body.contains("class=\"spark-ok\""),
        "a bar for the minute"
    );

    let old = fetch(&app, "/?until=2000-01-01T00:00:00Z").await;
    assert_eq!((old.status, rows(&old)), (200, 0), "nothing that old");
    let window = fetch(
        &app,
        "/?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(rows(&window), 1);
    for bad in [
        "/?since=yesterday",
        "/?range=2y",
        "/?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
    ] {
        let page = fetch(&app, bad).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.body.contains(r#"data-test="problem""#), "{bad}");
    }
}

/// The inbox page's stream sends an inbox's requests as they arrive.
#[actix_rt::test]
async fn the_inbox_streams_new_requests() {
    let app = TestApp::spawn().await;
    let mut stream = EventStream::open(&app, "/dashboard/inbox/stream?name=live");
    let reply = app
        .post("/sandbox/v1/inbox/live", None, json!({"marker": "m-8731"}))
        .await;
    assert_eq!(reply.status, 200);
    let seen = stream.until("m-8731").await;
    assert!(seen.contains("event: requests"), "{seen}");
    assert!(seen.contains("m-8731"), "the request arrived live: {seen}");
}

/// An open live stream does not hold up a stop: on SIGTERM the service ends
/// its streams first, so it exits long before `server.shutdown_timeout_ms`
/// (two minutes here; `terminate` gives it 15 s).
#[actix_rt::test]
async fn a_live_stream_ends_when_the_service_stops() {
    let mut app = TestApp::spawn_with(&[("WHM_SERVER__SHUTDOWN_TIMEOUT_MS", "120000")]).await;
    let mut stream = EventStream::open(&app, "/dashboard/stream");
    let seen = stream.until("event: rows").await.to_owned();
    assert!(seen.contains("event: rows"), "the stream is open: {seen}");
    let status = app.terminate();
    assert!(status.success(), "{status:?}");
    assert!(app.log().contains("ending live streams"), "{}", app.log());
}

/// A tokenisation event's one-time password and card credentials are masked
/// on the notification page until a person asks to see them.
#[actix_rt::test]
async fn sensitive_fields_are_masked_until_revealed() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/sensitive");
    let webhook = app.create_webhook("TRD", hook(None, &[107], &url)).await;
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "TRD", "eventCode": 107,
                   "overrides": {"otpValue": "918273", "dpan": "4895370011223344",
                                 "paymentToken": "5555444433332222"}}),
        )
        .await;
    let id = reply.response()["notifications"][0]["notificationId"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/dashboard/webhooks/{webhook}/notifications/{id}");
    let page = fetch(&app, &path).await;
    assert_eq!(page.status, 200);
    for secret in ["918273", "4895370011223344", "5555444433332222"] {
        assert!(!page.body.contains(secret), "{secret} masked");
    }
    assert!(
        page.body.contains("••••••••••••3344"),
        "a dpan keeps its last four"
    );
    assert!(
        page.body.contains(r#"href="?reveal=1""#),
        "the reveal control"
    );
    let revealed = fetch(&app, &format!("{path}?reveal=1")).await;
    for secret in ["918273", "4895370011223344", "5555444433332222"] {
        assert!(revealed.body.contains(secret), "{secret} revealed");
    }
    crate::sandbox::waited(
        &app,
        json!({"notificationId": id, "outcome": "delivered"}),
        1,
    )
    .await;
    let inbox = fetch(&app, "/dashboard/inbox?name=sensitive").await;
    assert!(
        inbox.body.contains(r#"data-test="inbox-request""#),
        "{}",
        inbox.body
    );
    for secret in ["918273", "4895370011223344", "5555444433332222"] {
        assert!(!inbox.body.contains(secret), "{secret} masked in the inbox");
        assert!(!app.log().contains(secret), "{secret} never in the log");
    }
}
