//! The sandbox's clock and settings (issue 24): moving the clock runs what
//! falls due (retries, probes, expiry, the retention purge) at once; the
//! `[delivery]` settings change without a restart; a reset of everything
//! returns both to their start.

use std::time::Duration;

use awc::http::Method;
use serde_json::{json, Value};

use crate::delivery::{hook, trigger};
use crate::helpers::{client, eventually, into_reply, Reply, TestApp};
use crate::sandbox::waited;

const HOUR_MS: u64 = 3_600_000;

async fn advance(app: &TestApp, body: Value) -> Reply {
    app.post("/sandbox/v1/clock/advance", None, body).await
}

async fn always_failing_inbox(app: &TestApp, inbox: &str) -> String {
    let reply = app
        .request(
            Method::PUT,
            &format!("/sandbox/v1/inbox/{inbox}/script"),
            None,
            Some(json!({"steps": [], "then": {"status": 500}})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    app.url(&format!("/sandbox/v1/inbox/{inbox}"))
}

async fn attempts_of(app: &TestApp, notification: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/sandbox/v1/deliveries?notificationId={notification}"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.response()["content"]
        .as_array()
        .expect("content")
        .clone()
}

async fn settings(app: &TestApp) -> Value {
    let reply = app.get("/sandbox/v1/settings", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.response().clone()
}

async fn patch_settings(app: &TestApp, body: Value) -> Reply {
    app.request(Method::PATCH, "/sandbox/v1/settings", None, Some(body))
        .await
}

/// The default schedule (six retries over 1 h 43 min) against a receiver
/// that always answers 500: one jump of two hours runs every retry, in
/// order, and the notification ends `Undelivered` before the answer.
#[actix_rt::test]
async fn with_the_default_schedule_a_notification_runs_out_when_the_clock_moves() {
    let app = TestApp::spawn().await;
    let url = always_failing_inbox(&app, "down").await;
    app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();
    waited(&app, json!({"notificationId": notification}), 1).await;

    let jumped = advance(&app, json!({"ms": 2 * HOUR_MS})).await;
    assert_eq!(jumped.status, 200, "{}", jumped.body);
    assert_eq!(jumped.response()["settled"], true, "{}", jumped.body);
    assert!(
        jumped.response()["steps"].as_u64() >= Some(6),
        "a step per retry: {}",
        jumped.body
    );
    // Two hours ahead of the wall clock at the call (which has moved since).
    let offset = jumped.response()["offsetMs"].as_i64().expect("offsetMs");
    assert!(
        (2 * HOUR_MS as i64 - 60_000..=2 * HOUR_MS as i64).contains(&offset),
        "{offset}"
    );

    let attempts = attempts_of(&app, &notification).await;
    assert_eq!(attempts.len(), 7, "the first and six retries");
    let last = attempts.last().expect("attempts");
    assert_eq!(last["notificationStatus"], "Undelivered");
    // The attempts' times follow the clock: the last comes about 1 h 43 min
    // (plus at most 10% jitter) after the first.
    let time = |a: &Value| {
        time::OffsetDateTime::parse(
            a["time"].as_str().expect("time"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("RFC 3339")
    };
    let spread = time(last) - time(&attempts[0]);
    assert!(
        spread >= time::Duration::seconds(6_155) && spread <= time::Duration::seconds(6_800),
        "{spread}"
    );
    let shown = app
        .get(&format!("/sandbox/v1/notifications/{notification}"), None)
        .await;
    assert_eq!(
        shown.response()["content"][0]["notificationStatus"],
        "Undelivered",
        "{}",
        shown.body
    );
}

/// Times stamped after a jump follow the clock; a reset returns it to the
/// wall clock; the clock never moves back.
#[actix_rt::test]
async fn what_is_created_after_a_jump_carries_the_clocks_time_until_a_reset() {
    let app = TestApp::spawn().await;
    let to = "2031-06-01T12:00:00Z";
    let jumped = advance(&app, json!({"to": to})).await;
    assert_eq!(jumped.status, 200, "{}", jumped.body);
    let shown = app.get("/sandbox/v1/clock", None).await;
    assert!(
        shown.response()["now"].as_str() >= Some("2031-06-01T12:00:00.000Z"),
        "{}",
        shown.body
    );
    let id = app
        .create_webhook("TRD", hook(None, &[103], "http://127.0.0.1:9/x"))
        .await;
    let webhook = app
        .get(&format!("/api/v1/webhooks/{id}"), Some("TRD"))
        .await;
    let created = webhook.response()["createdTime"]
        .as_str()
        .expect("createdTime")
        .to_owned();
    assert!(created.starts_with("2031-06-01T12:0"), "{created}");

    let back = advance(&app, json!({"to": "2026-01-01T00:00:00Z"})).await;
    assert_eq!(back.status, 400, "{}", back.body);
    assert_eq!(back.body["errors"][0]["field"], "to", "{}", back.body);
    for bad in [
        json!({}),
        json!({"ms": -1}),
        json!({"ms": 1.5}),
        json!({"ms": 1, "to": to}),
        json!({"ms": 0, "to": null}),
        json!({"to": "tomorrow"}),
        json!({"minutes": 5}),
    ] {
        let reply = advance(&app, bad.clone()).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert_eq!(reply.error_codes(), ["INVALID_REQUEST_BODY"], "{bad}");
    }

    let reset = app.post("/sandbox/v1/reset", None, json!({})).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let shown = app.get("/sandbox/v1/clock", None).await;
    assert_eq!(shown.response()["offsetMs"], 0, "{}", shown.body);
}

/// An access token is refused once the clock passes its `exp`.
#[actix_rt::test]
async fn an_access_token_expires_when_the_clock_passes_its_exp() {
    let secret = "trd-client-secret-0123";
    let clients = format!(
        "[{{client_id=\"trd\", client_secret=\"{secret}\", program_manager_code=\"TRD\"}}]"
    );
    let app = TestApp::spawn_with(&[
        ("WHM_AUTH__ENABLED", "true"),
        ("WHM_AUTH__CLIENTS", &clients),
        ("WHM_AUTH__TOKEN_LIFETIME_S", "600"),
    ])
    .await;
    let token = || async {
        let reply = into_reply(
            client()
                .post(app.url("/connect/token"))
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .send_body(format!(
                    "grant_type=client_credentials&client_id=trd&client_secret={secret}"
                ))
                .await,
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    };
    let call = |method: Method, path: &'static str, token: String, body: Option<Value>| {
        let request = client()
            .request(method, app.url(path))
            .insert_header(("Authorization", format!("Bearer {token}")));
        async move {
            match body {
                Some(body) => into_reply(request.send_json(&body).await).await,
                None => into_reply(request.send().await).await,
            }
        }
    };
    let old = token().await;
    let listed = call(Method::GET, "/sandbox/v1/clock", old.clone(), None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let early = call(
        Method::POST,
        "/sandbox/v1/clock/advance",
        old.clone(),
        Some(json!({"ms": 599_000})),
    )
    .await;
    assert_eq!(early.status, 200, "{}", early.body);
    let still = call(Method::GET, "/sandbox/v1/clock", old.clone(), None).await;
    assert_eq!(still.status, 200, "not yet expired: {}", still.body);
    let past = call(
        Method::POST,
        "/sandbox/v1/clock/advance",
        old.clone(),
        Some(json!({"ms": 2_000})),
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    let expired = call(Method::GET, "/sandbox/v1/clock", old, None).await;
    assert_eq!(expired.status, 401, "{}", expired.body);
    let fresh = call(Method::GET, "/sandbox/v1/clock", token().await, None).await;
    assert_eq!(fresh.status, 200, "a new token works: {}", fresh.body);
}

/// The retention purge runs when the clock passes a final notification's age.
#[actix_rt::test]
async fn retention_purges_when_the_clock_passes_its_age() {
    let app = TestApp::spawn_with(&[("WHM_RETENTION__DAYS", "2")]).await;
    let url = app.url("/sandbox/v1/inbox/fine");
    app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();
    waited(
        &app,
        json!({"notificationId": notification, "notificationStatus": "Delivered"}),
        1,
    )
    .await;
    let path = format!("/sandbox/v1/notifications/{notification}");
    let day = advance(&app, json!({"ms": 24 * HOUR_MS})).await;
    assert_eq!(
        day.response()["purged"],
        0,
        "kept for two days: {}",
        day.body
    );
    assert_eq!(app.get(&path, None).await.status, 200);
    let more = advance(&app, json!({"ms": 25 * HOUR_MS})).await;
    assert_eq!(more.response()["purged"], 1, "{}", more.body);
    assert_eq!(app.get(&path, None).await.status, 404);
}

/// A settings change takes effect on the next attempt, a bad value gets the
/// configuration's error for its key and changes nothing, and a reset
/// restores the configured values.
#[actix_rt::test]
async fn settings_change_from_the_next_attempt_and_a_reset_restores_them() {
    let app = TestApp::spawn().await;
    let configured = settings(&app).await;
    assert_eq!(configured["changed"], json!([]));
    assert_eq!(
        configured["delivery"]["retry_schedule_ms"],
        json!([5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000])
    );

    for (bad, key) in [
        (
            json!({"delivery": {"timeout_ms": 0}}),
            "delivery.timeout_ms",
        ),
        (
            json!({"delivery": {"retry_schedule_ms": [100], "signing_secret": "plain"}}),
            "delivery.signing_secret",
        ),
        (
            json!({"delivery": {"concurrency": 1}}),
            "delivery.concurrency",
        ),
    ] {
        let refused = patch_settings(&app, bad.clone()).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], key, "{}", refused.body);
    }
    assert_eq!(settings(&app).await, configured, "nothing half-stored");

    let secret = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=";
    let changed = patch_settings(
        &app,
        json!({"delivery": {"retry_schedule_ms": [100, 100], "signing_secret": secret}}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        changed.response()["changed"],
        json!(["retry_schedule_ms", "signing_secret"])
    );
    assert_eq!(changed.response()["delivery"]["signing_secret"], "(set)");

    let url = always_failing_inbox(&app, "down").await;
    app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();
    let undelivered = waited(
        &app,
        json!({"notificationId": notification, "notificationStatus": "Undelivered"}),
        1,
    )
    .await;
    assert_eq!(undelivered[0]["attempt"], 3, "the short schedule, not 5 s");
    assert!(
        undelivered[0]["requestHeaders"]["webhook-signature"]
            .as_str()
            .is_some_and(|s| s.starts_with("v1,")),
        "signed with the new secret: {}",
        undelivered[0]
    );

    let reset = app.post("/sandbox/v1/reset", None, json!({})).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(settings(&app).await, configured, "the configured values");
}

async fn details(app: &TestApp, notification: &str) -> Value {
    let shown = app
        .get(&format!("/sandbox/v1/notifications/{notification}"), None)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    shown.response()["content"][0].clone()
}

/// A short schedule is honoured whatever `backoff_after` says: six
/// notifications to a receiver that always answers 500 each end
/// `Undelivered` within the schedule's steps (the default backoff starts
/// after five failures; its probes are at most the longest step apart, and
/// those that wait past their schedule give up without an attempt), and the
/// backoff still spares the receiver some attempts.
#[actix_rt::test]
async fn a_short_schedule_is_honoured_under_the_default_backoff() {
    let app = TestApp::spawn_with(&[
        ("WHM_DELIVERY__RETRY_SCHEDULE_MS", "[200, 300]"),
        ("WHM_DELIVERY__SUSPEND_AFTER", "10"),
    ])
    .await;
    let url = always_failing_inbox(&app, "down").await;
    let webhook = app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let mut notifications = Vec::new();
    for _ in 0..6 {
        notifications.extend(
            trigger(&app, "TRD", None, 103)
                .await
                .into_iter()
                .map(|(_, n)| n),
        );
    }
    let statuses = eventually(
        Duration::from_secs(30),
        || async {
            let mut statuses = Vec::new();
            for n in &notifications {
                statuses.push(details(&app, n).await);
            }
            statuses
        },
        |all| all.iter().all(|d| d["notificationStatus"] == "Undelivered"),
    )
    .await;
    let mut spent = 0;
    for d in &statuses {
        assert_eq!(d["notificationStatus"], "Undelivered", "{d}");
        let attempts = d["attempts"].as_array().expect("attempts").len();
        assert!((1..=3).contains(&attempts), "at most the schedule: {d}");
        spent += attempts;
    }
    assert!(
        spent < 18,
        "the backoff spared the receiver: {spent} attempts"
    );
    let hook = app
        .get(&format!("/api/v1/webhooks/{webhook}"), Some("TRD"))
        .await;
    assert_eq!(
        hook.response()["webhookStatus"],
        "active",
        "6 < suspend_after"
    );
}

/// A waiting notification says why: backing off until the next probe, with
/// its retry and when it gives up; parked while its webhook is not active.
#[actix_rt::test]
async fn a_waiting_notification_says_why() {
    let app = TestApp::spawn().await;
    let url = always_failing_inbox(&app, "down").await;
    let webhook = app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let mut notifications = Vec::new();
    for _ in 0..5 {
        notifications.extend(
            trigger(&app, "TRD", None, 103)
                .await
                .into_iter()
                .map(|(_, n)| n),
        );
    }
    // Five failures in a row: the queue backs off.
    waited(&app, json!({"webhookId": webhook}), 5).await;
    let waiting = details(&app, &notifications[0]).await["waiting"].clone();
    assert_eq!(waiting["reason"], "backingOff", "{waiting}");
    assert_eq!(
        (waiting["retry"].clone(), waiting["of"].clone()),
        (json!(1), json!(6))
    );
    assert!(
        waiting["until"].is_string() && waiting["givesUpAt"].is_string(),
        "{waiting}"
    );
    assert!(
        waiting["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("backing off until")),
        "{waiting}"
    );

    let inactive = app
        .request(
            Method::PATCH,
            &format!("/api/v1/Webhooks/{webhook}/status"),
            Some("TRD"),
            Some(json!({"webhookStatus": "inactive"})),
        )
        .await;
    assert_eq!(inactive.status, 200, "{}", inactive.body);
    let waiting = details(&app, &notifications[0]).await["waiting"].clone();
    assert_eq!(waiting["reason"], "parked", "{waiting}");
    assert_eq!(
        waiting["message"],
        "parked: webhook inactive; it is sent once the webhook is set active"
    );
    let delivered = details(&app, &notifications[0]).await;
    assert_eq!(delivered["notificationStatus"], "Pending");
    // The dashboard's notification page shows the same line.
    let page = client()
        .get(app.url(&format!(
            "/dashboard/webhooks/{webhook}/notifications/{}",
            notifications[0]
        )))
        .send()
        .await
        .expect("dashboard")
        .body()
        .await
        .expect("page");
    let page = String::from_utf8_lossy(&page);
    assert!(
        page.contains(r#"data-test="waiting" data-reason="parked""#)
            && page.contains("parked: webhook inactive"),
        "{page}"
    );
}

/// Then `suspend_after` suspends as documented, and nothing is left waiting
/// unseen: the notifications still pending at the suspension end
/// `Undelivered` as they come due, and the undelivered call lists them all.
#[actix_rt::test]
async fn a_suspension_leaves_every_notification_in_the_undelivered_call() {
    let app = TestApp::spawn_with(&[("WHM_DELIVERY__RETRY_SCHEDULE_MS", "[200, 300]")]).await;
    let url = always_failing_inbox(&app, "down").await;
    let webhook = app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let mut notifications = Vec::new();
    for _ in 0..8 {
        notifications.extend(
            trigger(&app, "TRD", None, 103)
                .await
                .into_iter()
                .map(|(_, n)| n),
        );
    }
    let path = format!("/api/v1/Webhooks/{webhook}/notifications/undelivered");
    let listed = eventually(
        Duration::from_secs(30),
        || app.get(&path, Some("TRD")),
        |reply| reply.status == 200 && reply.response()["totalCount"] == 8,
    )
    .await;
    assert_eq!(listed.response()["totalCount"], 8, "{}", listed.body);
    let hook = app
        .get(&format!("/api/v1/webhooks/{webhook}"), Some("TRD"))
        .await;
    assert_eq!(hook.response()["webhookStatus"], "suspended");
    for n in &notifications {
        assert_eq!(details(&app, n).await["notificationStatus"], "Undelivered");
    }
}
