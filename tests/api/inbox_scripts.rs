//! The capture inbox fails on cue (issue 24): statuses in turn, Retry-After,
//! a closed connection, a hang, and seeded random failures; each request keeps
//! what it was answered.

use awc::http::Method;
use serde_json::{json, Value};

use crate::delivery::{app_with_schedule, hook, trigger};
use crate::helpers::{client, TestApp};
use crate::sandbox::waited;

async fn script(app: &TestApp, inbox: &str, body: Value) {
    let reply = app
        .request(
            Method::PUT,
            &format!("/sandbox/v1/inbox/{inbox}/script"),
            None,
            Some(body),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn wait_for(app: &TestApp, criteria: Value) -> Vec<Value> {
    waited(app, criteria, 1).await
}

/// Triggers a 103 for TRD and waits until it is delivered; answers the
/// notification id and the delivering attempt.
async fn delivered_after_retries(app: &TestApp) -> (String, Value) {
    let notification = trigger(app, "TRD", None, 103).await[0].1.clone();
    let delivered = wait_for(
        app,
        json!({"notificationId": notification, "notificationStatus": "Delivered"}),
    )
    .await;
    (notification, delivered[0].clone())
}

async fn answers(app: &TestApp, inbox: &str) -> Vec<Value> {
    app.get(&format!("/sandbox/v1/inbox/{inbox}/requests"), None)
        .await
        .response()["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["answered"].clone())
        .collect()
}

#[actix_rt::test]
async fn a_scripted_inbox_fails_twice_then_the_retry_delivers() {
    let app = app_with_schedule("[100, 100]", "5").await;
    let url = app.url("/sandbox/v1/inbox/flaky");
    script(
        &app,
        "flaky",
        json!({"steps": [{"status": 500}, {"status": 500, "body": "not yet"}], "then": {"status": 200}}),
    )
    .await;
    app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let (_, delivered) = delivered_after_retries(&app).await;
    assert_eq!(delivered["attempt"], 3, "delivered on the third attempt");
    assert_eq!(
        answers(&app, "flaky").await,
        [
            json!({"answer": "500", "step": 1}),
            json!({"answer": "500", "step": 2}),
            json!({"answer": "200"}),
        ]
    );
    let shown = app.get("/sandbox/v1/inbox/flaky/script", None).await;
    assert_eq!(shown.response()["answered"], 3);
    assert_eq!(shown.response()["script"]["steps"][1]["body"], "not yet");
    let removed = app
        .request(Method::DELETE, "/sandbox/v1/inbox/flaky/script", None, None)
        .await;
    assert_eq!(removed.response()["removed"], true);
    let gone = app.get("/sandbox/v1/inbox/flaky/script", None).await;
    assert_eq!(gone.status, 404);
}

#[actix_rt::test]
async fn retry_after_from_a_script_is_honoured() {
    let app = app_with_schedule("[100]", "5").await;
    let url = app.url("/sandbox/v1/inbox/later");
    script(
        &app,
        "later",
        json!({"steps": [{"status": 503, "headers": {"Retry-After": "1"}}]}),
    )
    .await;
    app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let (notification, delivered) = delivered_after_retries(&app).await;
    let journal = app
        .get(
            &format!("/sandbox/v1/deliveries?notificationId={notification}"),
            None,
        )
        .await;
    let times: Vec<time::OffsetDateTime> = journal.response()["content"]
        .as_array()
        .expect("content")
        .iter()
        .map(|d| {
            time::OffsetDateTime::parse(
                d["time"].as_str().expect("time"),
                &time::format_description::well_known::Rfc3339,
            )
            .expect("RFC 3339")
        })
        .collect();
    assert_eq!((times.len(), delivered["attempt"].clone()), (2, json!(2)));
    assert!(
        times[1] - times[0] >= time::Duration::seconds(1),
        "the retry waited for Retry-After, not the 100 ms schedule: {times:?}"
    );
}

#[actix_rt::test]
async fn close_and_hang_fail_an_attempt_without_an_answer() {
    let app = TestApp::spawn_with(&[
        ("WHM_DELIVERY__RETRY_SCHEDULE_MS", "[]"),
        ("WHM_DELIVERY__TIMEOUT_MS", "300"),
    ])
    .await;
    script(&app, "closing", json!({"then": {"fault": "close"}})).await;
    let direct = client()
        .post(app.url("/sandbox/v1/inbox/closing"))
        .send_body("x")
        .await;
    assert!(
        direct.is_err(),
        "no answer: {:?}",
        direct.map(|r| r.status())
    );

    script(&app, "hanging", json!({"steps": [{"fault": "hang"}]})).await;
    app.create_webhook(
        "TRD",
        hook(None, &[103], &app.url("/sandbox/v1/inbox/hanging")),
    )
    .await;
    app.create_webhook(
        "ABC",
        hook(None, &[103], &app.url("/sandbox/v1/inbox/closing")),
    )
    .await;
    let hung = trigger(&app, "TRD", None, 103).await[0].1.clone();
    let closed = trigger(&app, "ABC", None, 103).await[0].1.clone();
    let timed_out = wait_for(&app, json!({"notificationId": hung})).await;
    assert_eq!(timed_out[0]["httpStatus"], Value::Null);
    assert_eq!(timed_out[0]["error"], "timeout after 300 ms");
    assert_eq!(timed_out[0]["notificationStatus"], "Undelivered");
    let cut = wait_for(&app, json!({"notificationId": closed})).await;
    assert_eq!(cut[0]["httpStatus"], Value::Null, "{}", cut[0]);
    assert!(cut[0]["error"].is_string(), "{}", cut[0]);
    assert_eq!(
        answers(&app, "closing").await,
        [json!({"answer": "close"}), json!({"answer": "close"})],
        "the direct request and the delivery, each closed"
    );
}

#[actix_rt::test]
async fn seeded_random_failures_repeat_for_the_same_seed() {
    let app = TestApp::spawn().await;
    let run = || async {
        script(
            &app,
            "dice",
            json!({"random": {"failRate": 0.5, "status": 503, "seed": 7}}),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let reply = client()
                .post(app.url("/sandbox/v1/inbox/dice"))
                .send_body("x")
                .await
                .expect("answered");
            statuses.push(reply.status().as_u16());
        }
        statuses
    };
    let first = run().await;
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
    assert_eq!(run().await, first, "the same seed, the same sequence");
    let bad = app
        .request(
            Method::PUT,
            "/sandbox/v1/inbox/dice/script",
            None,
            Some(json!({"random": {"failRate": 1.5}})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["errors"][0]["field"].clone()),
        (400, json!("random.failRate"))
    );
}

/// The inbox answers the methods the OpenAPI document declares; `TRACE` is
/// `405` with `Allow`, and nothing is kept.
#[actix_rt::test]
async fn the_inbox_refuses_trace() {
    let app = crate::helpers::TestApp::spawn().await;
    let reply = app
        .request(Method::TRACE, "/sandbox/v1/inbox/methods", None, None)
        .await;
    assert_eq!(reply.status, 405, "{}", reply.body);
    assert_eq!(reply.error_codes(), ["METHOD_NOT_ALLOWED"]);
    assert_eq!(
        reply.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD")
    );
    let kept = app.get("/sandbox/v1/inbox/methods/requests", None).await;
    assert_eq!(kept.response()["count"], 0);
    let put = app
        .request(
            Method::PUT,
            "/sandbox/v1/inbox/methods",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(put.status, 200);
}
