//! Event delivery: trigger, matching, envelope and headers, retries, suspension,
//! durability across a crash, and isolation from slow receivers.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{eventually, every_route, Reply, TestApp};
use crate::receiver::{Behaviour, Receiver};

const ALL_CODES: [u16; 14] = [
    101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 115, 117,
];

/// A service whose retries come after `schedule` (milliseconds).
pub async fn app_with_schedule(schedule: &str, suspend_after: &str) -> TestApp {
    TestApp::spawn_with(&[
        ("WHM_DELIVERY__RETRY_SCHEDULE_MS", schedule),
        ("WHM_DELIVERY__SUSPEND_AFTER", suspend_after),
    ])
    .await
}

pub fn hook(product: Option<u64>, events: &[u16], url: &str) -> Value {
    json!({
        "productId": product,
        "events": events,
        "config": {"url": url, "customHeaders": {"ApiKey": "secret-1", "X-Tenant": "t-42"}}
    })
}

/// Triggers an event; answers the whole reply, asserting 202.
pub async fn trigger_event(app: &TestApp, pm: &str, product: Option<u64>, code: u16) -> Reply {
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": pm, "productId": product, "eventCode": code}),
        )
        .await;
    assert_eq!(reply.status, 202, "trigger: {}", reply.body);
    reply
}

/// Triggers an event; returns the (webhookId, notificationId) pairs, asserting 202.
pub async fn trigger(
    app: &TestApp,
    pm: &str,
    product: Option<u64>,
    code: u16,
) -> Vec<(String, String)> {
    let reply = trigger_event(app, pm, product, code).await;
    reply.response()["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| {
            (
                n["webhookId"].as_str().expect("webhookId").to_owned(),
                n["notificationId"]
                    .as_str()
                    .expect("notificationId")
                    .to_owned(),
            )
        })
        .collect()
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let reply = app.get(&format!("/api/v1/webhooks/{id}"), None).await;
    reply.response()["webhookStatus"]
        .as_str()
        .expect("status")
        .to_owned()
}

async fn wait_for_status(app: &TestApp, id: &str, wanted: &str, within: Duration) -> String {
    eventually(within, || status_of(app, id), |status| status == wanted).await
}

#[actix_rt::test]
async fn every_event_code_arrives_in_thredds_envelope_with_the_custom_headers() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    app.create_webhook("TRD", hook(None, &ALL_CODES, &receiver.url))
        .await;
    // A 112 needs a Transaction Confirmation configuration, as at Thredd.
    let configured = app
        .post(
            "/api/v1/Configs",
            Some("TRD"),
            json!({"pmId": 20, "messageTypeFilter": [1, 2, 3]}),
        )
        .await;
    assert_eq!(configured.status, 201, "{}", configured.body);
    let mut sent = HashSet::new();
    for code in ALL_CODES {
        let created = trigger(&app, "TRD", None, code).await;
        assert_eq!(created.len(), 1, "event {code}");
        sent.insert((code, created[0].1.clone()));
    }
    let received = receiver
        .wait_for(ALL_CODES.len(), Duration::from_secs(10))
        .await;
    assert_eq!(received.len(), ALL_CODES.len());
    let mut arrived = HashSet::new();
    for r in &received {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.headers.get("apikey").map(String::as_str),
            Some("secret-1")
        );
        assert_eq!(r.headers.get("x-tenant").map(String::as_str), Some("t-42"));
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        let context = &r.body["context"];
        assert_eq!(context["eventVersion"], "v1", "{}", r.body);
        assert!(
            context["notificationTime"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{}",
            r.body
        );
        assert!(
            r.body["payload"].as_object().is_some_and(|p| p.len() >= 3),
            "a realistic payload: {}",
            r.body
        );
        arrived.insert((
            context["eventCode"].as_u64().expect("eventCode") as u16,
            context["notificationId"].as_str().expect("id").to_owned(),
        ));
    }
    assert_eq!(
        arrived, sent,
        "each notification once, under its own id and code"
    );
}

#[actix_rt::test]
async fn a_given_payload_is_delivered_as_given() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(204)).await;
    app.create_webhook("TRD", hook(Some(7), &[103], &receiver.url))
        .await;
    let payload = json!({"tokenId": "123456789", "newCardStatus": "41", "oldCardStatus": "00"});
    let reply = app
        .post(
            "/sandbox/v1/events",
            Some("TRD"),
            json!({"productId": 7, "eventCode": 103, "payload": payload}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body["payload"], payload);
}

#[actix_rt::test]
async fn only_matching_webhooks_receive_an_event() {
    let app = TestApp::spawn().await;
    let matching_product = Receiver::start(Behaviour::Status(200)).await;
    let matching_pm_level = Receiver::start(Behaviour::Status(200)).await;
    let others = Receiver::start(Behaviour::Status(200)).await;
    let product = app
        .create_webhook("TRD", hook(Some(1), &[103], &matching_product.url))
        .await;
    let pm_level = app
        .create_webhook("TRD", hook(None, &[101, 103], &matching_pm_level.url))
        .await;
    app.create_webhook("TRD", hook(Some(2), &[103], &others.url))
        .await;
    app.create_webhook("TRD", hook(Some(3), &[101], &others.url))
        .await;
    let mut inactive = hook(Some(4), &[103], &others.url);
    inactive["webhookStatus"] = json!("inactive");
    app.create_webhook("TRD", inactive).await;
    app.create_webhook("ABC", hook(None, &[103], &others.url))
        .await;

    let created = trigger(&app, "TRD", Some(1), 103).await;
    let targets: HashSet<String> = created.into_iter().map(|(w, _)| w).collect();
    assert_eq!(targets, HashSet::from([product.clone(), pm_level.clone()]));
    // Product 4's webhook is inactive, product 3's is not subscribed to 103.
    assert!(
        trigger(&app, "TRD", Some(4), 103).await.len() == 1,
        "PM-level only"
    );
    assert!(trigger(&app, "TRD", Some(3), 102).await.is_empty());
    assert!(trigger(&app, "XYZ", None, 103).await.is_empty());

    assert_eq!(
        matching_product
            .wait_for(1, Duration::from_secs(5))
            .await
            .len(),
        1
    );
    assert_eq!(
        matching_pm_level
            .wait_for(2, Duration::from_secs(5))
            .await
            .len(),
        2
    );
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert!(
        others.received().is_empty(),
        "no delivery to a non-matching webhook"
    );
}

#[actix_rt::test]
async fn a_failing_receiver_is_retried_with_the_same_body_until_it_recovers() {
    let app = app_with_schedule("[100, 100, 100]", "5").await;
    let receiver = Receiver::start(Behaviour::Sequence(&[500, 503, 200])).await;
    app.create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    trigger(&app, "TRD", None, 103).await;
    let received = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 3, "two failures, then delivered");
    assert!(
        received.iter().all(|r| r.raw == received[0].raw),
        "same bytes each time"
    );
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3, "nothing after the 200");
}

#[actix_rt::test]
async fn undelivered_notifications_in_a_row_suspend_the_webhook() {
    let app = app_with_schedule("[50]", "2").await;
    let receiver = Receiver::start(Behaviour::Status(500)).await;
    let id = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    trigger(&app, "TRD", None, 103).await;
    assert_eq!(receiver.wait_for(2, Duration::from_secs(5)).await.len(), 2);
    actix_rt::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        status_of(&app, &id).await,
        "active",
        "one Undelivered is not enough"
    );

    trigger(&app, "TRD", None, 103).await;
    assert_eq!(receiver.wait_for(4, Duration::from_secs(5)).await.len(), 4);
    assert_eq!(
        wait_for_status(&app, &id, "suspended", Duration::from_secs(5)).await,
        "suspended"
    );
    assert!(
        trigger(&app, "TRD", None, 103).await.is_empty(),
        "suspended receives nothing"
    );
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 4);
}

#[actix_rt::test]
async fn gone_suspends_at_once_without_retrying() {
    let app = app_with_schedule("[50, 50]", "5").await;
    let receiver = Receiver::start(Behaviour::Status(410)).await;
    let id = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    trigger(&app, "TRD", None, 103).await;
    assert_eq!(
        wait_for_status(&app, &id, "suspended", Duration::from_secs(5)).await,
        "suspended"
    );
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "no retry after 410");
}

#[actix_rt::test]
async fn a_pending_retry_survives_kill_9_and_is_delivered_after_restart() {
    let app = app_with_schedule("[1500]", "5").await;
    let receiver = Receiver::start(Behaviour::Sequence(&[500, 200])).await;
    app.create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    trigger(&app, "TRD", None, 103).await;
    assert_eq!(receiver.wait_for(1, Duration::from_secs(5)).await.len(), 1);
    // The retry is due in 1.5 s; crash before it.
    let app = app.restart().await;
    let received = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 2, "the retry came after the restart");
    assert_eq!(received[0].raw, received[1].raw);
    drop(app);
}

/// Not a timing test of the machine: the slow receivers hold every attempt for
/// 30 s (within a 60 s delivery timeout), so an engine that made the fast
/// receiver wait behind them could not deliver to it within the 20 s allowed,
/// however fast the machine; a concurrent one delivers in milliseconds.
#[actix_rt::test]
async fn fifty_slow_receivers_do_not_delay_a_fast_one() {
    let app = TestApp::spawn_with(&[("WHM_DELIVERY__TIMEOUT_MS", "60000")]).await;
    let slow = Receiver::start(Behaviour::Slow(Duration::from_secs(30))).await;
    let fast = Receiver::start(Behaviour::Status(200)).await;
    for i in 0..50 {
        let pm = format!("S{i:03}");
        app.create_webhook(&pm, hook(None, &[103], &slow.url)).await;
        trigger(&app, &pm, None, 103).await;
    }
    assert_eq!(
        slow.wait_for(50, Duration::from_secs(20)).await.len(),
        50,
        "all 50 in flight"
    );
    app.create_webhook("FAST", hook(None, &[103], &fast.url))
        .await;
    trigger(&app, "FAST", None, 103).await;
    assert_eq!(
        fast.wait_for(1, Duration::from_secs(20)).await.len(),
        1,
        "the fast receiver got its notification while the slow ones were held"
    );
}

#[actix_rt::test]
async fn the_inbox_keeps_what_it_receives_and_can_be_emptied() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/demo");
    app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let created = trigger(&app, "TRD", None, 103).await;
    let requests = eventually(
        Duration::from_secs(5),
        || async {
            let reply = app.get("/sandbox/v1/inbox/demo/requests", None).await;
            assert_eq!(reply.status, 200);
            reply.response()["requests"]
                .as_array()
                .expect("requests")
                .clone()
        },
        |requests| !requests.is_empty(),
    )
    .await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["headers"]["apikey"], "secret-1");
    assert_eq!(
        requests[0]["body"]["context"]["notificationId"],
        created[0].1.as_str()
    );

    let cleared = app
        .request(
            awc::http::Method::DELETE,
            "/sandbox/v1/inbox/demo/requests",
            None,
            None,
        )
        .await;
    assert_eq!(cleared.status, 200);
    let reply = app.get("/sandbox/v1/inbox/demo/requests", None).await;
    assert_eq!(reply.response()["count"], 0);
}

#[actix_rt::test]
async fn bad_triggers_are_refused_together_and_store_nothing() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    app.create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "TRD", "productId": -1, "eventCode": 999, "payload": [1]}),
        )
        .await;
    assert_eq!(reply.status, 400);
    let codes = reply.error_codes();
    assert_eq!(codes.len(), 3, "{codes:?}");
    assert!(
        codes.contains(&"EVENTCODE_NOTFOUND".to_owned()),
        "{codes:?}"
    );
    let reply = app
        .post(
            "/sandbox/v1/events",
            Some("ABC"),
            json!({"programManagerCode": "TRD", "eventCode": 103}),
        )
        .await;
    assert_eq!(reply.error_codes(), vec!["PMCODE_NOT_VALID"]);
    let reply = app
        .post("/sandbox/v1/events", None, json!({"eventCode": 103}))
        .await;
    assert_eq!(reply.error_codes(), vec!["PMCODE_REQUIRED"]);
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
}

#[actix_rt::test]
async fn sandbox_routes_can_be_turned_off() {
    let app = TestApp::spawn_with(&[("WHM_SANDBOX__ENABLED", "false")]).await;
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "TRD", "eventCode": 103}),
        )
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_codes(), vec!["NOT_FOUND"]);
    // Every sandbox call, the clock and the settings included.
    let id = "2a541560-0000-4000-8000-000000000000";
    for (method, path, body) in every_route(id) {
        if !path.starts_with("/sandbox/") {
            continue;
        }
        let reply = app.request(method.clone(), &path, None, body).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
    }
}

/// Delivery is at least once: the service dies (SIGKILL) while an attempt is in
/// flight, so its outcome is never recorded; on SQLite the claim died with
/// the process, so after a restart the notification is due again at once and
/// delivered, with the same body and id.
#[actix_rt::test]
async fn a_notification_claimed_when_the_service_dies_is_delivered_after_restart() {
    let app = TestApp::spawn_with(&[("WHM_DELIVERY__TIMEOUT_MS", "1000")]).await;
    let receiver = Receiver::start(Behaviour::HoldFirst(Duration::from_secs(60))).await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let notification = trigger(&app, "TRD", None, 103).await[0].1.clone();
    assert_eq!(
        receiver.wait_for(1, Duration::from_secs(5)).await.len(),
        1,
        "in flight"
    );
    let app = app.restart().await;
    let received = receiver.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(received.len(), 2, "delivered after the lease lapsed");
    assert_eq!(received[0].raw, received[1].raw, "the same notification");
    let status = eventually(
        Duration::from_secs(5),
        || async {
            let reply = app
                .post(
                    &format!("/api/v1/Webhooks/{webhook}/notifications/details"),
                    Some("TRD"),
                    json!({"notificationIds": [notification]}),
                )
                .await;
            reply.response()["content"][0]["notificationStatus"].clone()
        },
        |status| status == "Delivered",
    )
    .await;
    assert_eq!(status, "Delivered");
}

/// "Deliver now": a notification waiting an hour for its retry is attempted at
/// once; a delivered one is `409 NOTIFICATION_NOT_PENDING`; an unknown id is
/// `404 NOTIFICATION_NOTFOUND`; another program manager's webhook is `404`.
#[actix_rt::test]
async fn deliver_now_attempts_a_waiting_notification_at_once() {
    let app = app_with_schedule("[3600000]", "5").await;
    let receiver = Receiver::start(Behaviour::Sequence(&[503, 200])).await;
    app.create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let (webhook, notification) = trigger(&app, "TRD", None, 103).await.remove(0);
    receiver.wait_for(1, Duration::from_secs(5)).await;
    // The first attempt's outcome is recorded shortly after the receiver saw
    // it; until then the notification is being attempted, and "deliver now"
    // would leave it as it is.
    let details = format!("/api/v1/Webhooks/{webhook}/notifications/details");
    let recorded = eventually(
        Duration::from_secs(5),
        || {
            app.post(
                &details,
                Some("TRD"),
                json!({"notificationIds": [notification]}),
            )
        },
        |r| r.status == 200 && r.body.to_string().contains("HTTP 503"),
    )
    .await;
    assert!(
        recorded.body.to_string().contains("HTTP 503"),
        "{}",
        recorded.body
    );
    let path = format!("/sandbox/v1/webhooks/{webhook}/notifications/{notification}/deliver");
    let waiting = app.post(&path, Some("TRD"), json!({})).await;
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    assert_eq!(waiting.response()["notificationStatus"], "Pending");
    let received = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(
        received.len(),
        2,
        "attempted again without waiting the hour"
    );
    let delivered = eventually(
        Duration::from_secs(5),
        || app.post(&path, Some("TRD"), json!({})),
        |r| r.status == 409,
    )
    .await;
    assert_eq!(delivered.error_codes(), ["NOTIFICATION_NOT_PENDING"]);

    let unknown = format!(
        "/sandbox/v1/webhooks/{webhook}/notifications/af2d48de-2ad7-42f8-a252-8422cd9e6078/deliver"
    );
    let reply = app.post(&unknown, Some("TRD"), json!({})).await;
    assert_eq!(
        (reply.status, reply.error_codes()),
        (404, vec!["NOTIFICATION_NOTFOUND".to_owned()])
    );
    let reply = app.post(&path, Some("ABC"), json!({})).await;
    assert_eq!(reply.status, 404, "another program manager's webhook");
}

/// kill -9 on SQLite with attempts in flight: every acknowledged trigger is
/// delivered after the restart, and only the attempts that were in flight
/// (held unanswered by the receiver) arrive twice.
#[actix_rt::test]
async fn kill_9_with_attempts_in_flight_loses_no_acknowledged_trigger() {
    let app = TestApp::spawn_with(&[("WHM_DELIVERY__TIMEOUT_MS", "1000")]).await;
    let (open, held) = crate::receiver::gate();
    let receiver = Receiver::start(held).await;
    app.create_webhook("TRD", hook(Some(7), &[101], &receiver.url))
        .await;
    let ids = crate::postgres::trigger_across(&[&app], 300).await;
    eventually(
        Duration::from_secs(30),
        || async { receiver.count() },
        |n| *n >= 16,
    )
    .await;
    let in_flight = receiver.count();
    let _app = app.restart().await;
    let _ = open.send(true);
    crate::postgres::all_arrive_duplicates_bounded(
        &receiver,
        &ids,
        in_flight,
        Duration::from_secs(60),
    )
    .await;
}
