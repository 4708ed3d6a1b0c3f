//! The test fixture's calls (issue 23): events and their fan-out with skip
//! reasons, a notification by id, the delivery journal, wait and verify, the
//! inbox's wait, and the reset as a barrier, scoped and unscoped.

use std::time::Duration;

use awc::http::Method;
use serde_json::{json, Value};

use crate::delivery::{app_with_schedule, hook, trigger, trigger_event};
use crate::helpers::{client, eventually, into_reply, Reply, TestApp};
use crate::receiver::{gate, Behaviour, Receiver};

/// Long enough never to end a wait in a test that expects it to be met.
const PATIENT_MS: u64 = 30_000;

async fn wait(app: &TestApp, body: Value) -> Reply {
    app.post("/sandbox/v1/deliveries/wait", None, body).await
}

/// Waits (server side) until `count` attempts match; asserts it was met.
pub async fn waited(app: &TestApp, criteria: Value, count: usize) -> Vec<Value> {
    let reply = wait(
        app,
        json!({"match": criteria, "count": count, "timeoutMs": PATIENT_MS}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.response()["content"]
        .as_array()
        .expect("content")
        .clone()
}

#[actix_rt::test]
async fn a_wait_answers_when_the_held_delivery_lands_and_408_with_what_matched_when_it_never_does()
{
    let app = TestApp::spawn().await;
    let (open, held) = gate();
    let receiver = Receiver::start(held).await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let event = trigger_event(&app, "TRD", None, 103).await;
    let event_id = event.response()["eventId"]
        .as_str()
        .expect("eventId")
        .to_owned();

    let waiting = wait(
        &app,
        json!({"match": {"webhookId": webhook, "notificationStatus": "Delivered"},
               "timeoutMs": PATIENT_MS}),
    );
    let mut waiting = Box::pin(waiting);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    assert!(
        tokio::time::timeout(Duration::ZERO, &mut waiting)
            .await
            .is_err(),
        "no answer while the receiver holds the only attempt"
    );
    open.send(true).expect("open the gate");
    let reply = waiting.await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let content = &reply.response()["content"];
    assert_eq!(reply.response()["matched"], 1);
    assert_eq!(content[0]["eventId"], event_id.as_str());
    assert_eq!(content[0]["outcome"], "delivered");
    assert_eq!(content[0]["notificationStatus"], "Delivered");
    assert_eq!(content[0]["body"], receiver.received()[0].raw.as_str());

    let reply = wait(
        &app,
        json!({"match": {"webhookId": webhook}, "count": 2, "timeoutMs": 200}),
    )
    .await;
    assert_eq!(reply.status, 408, "{}", reply.body);
    assert_eq!(reply.error_codes(), ["WAIT_TIMED_OUT"]);
    assert_eq!(
        reply.body["response"]["matched"], 1,
        "the partial match comes back"
    );
    assert_eq!(
        reply.body["response"]["content"][0]["notificationId"],
        event.response()["notifications"][0]["notificationId"]
    );
}

#[actix_rt::test]
async fn verify_passes_on_the_count_and_fails_naming_the_near_miss() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[103, 104], &receiver.url))
        .await;
    for code in [103, 103, 104] {
        trigger_event(&app, "TRD", None, code).await;
    }
    waited(&app, json!({"webhookId": webhook}), 3).await;

    let ok = app
        .post(
            "/sandbox/v1/deliveries/verify",
            None,
            json!({"match": {"webhookId": webhook, "eventCode": 103}, "count": 2}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.response(), &json!({"verified": true, "matched": 2}));

    let failed = app
        .post(
            "/sandbox/v1/deliveries/verify",
            None,
            json!({"match": {"webhookId": webhook, "eventCode": 103}, "count": 3}),
        )
        .await;
    assert_eq!(failed.status, 406, "{}", failed.body);
    assert_eq!(failed.error_codes(), ["VERIFICATION_FAILED"]);
    let message = failed.body["errors"][0]["message"]
        .as_str()
        .expect("message");
    assert!(message.contains("Expected exactly 3"), "{message}");
    assert!(message.contains("found 2"), "{message}");
    assert!(message.contains("eventCode was 104"), "{message}");
    assert_eq!(failed.body["response"]["matched"], 2);

    let at_most = app
        .post(
            "/sandbox/v1/deliveries/verify",
            None,
            json!({"match": {"payload": {"no-such-field": 1}}, "atMost": 0}),
        )
        .await;
    assert_eq!(at_most.status, 200, "{}", at_most.body);
    let both = app
        .post(
            "/sandbox/v1/deliveries/verify",
            None,
            json!({"count": 1, "atLeast": 1}),
        )
        .await;
    assert_eq!(both.status, 400, "{}", both.body);
    let unknown = app
        .post(
            "/sandbox/v1/deliveries/verify",
            None,
            json!({"match": {"colour": "red"}, "count": 1}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["errors"][0]["field"].clone()),
        (400, json!("match.colour"))
    );
}

#[actix_rt::test]
async fn every_skip_reason_is_given_and_a_program_manager_without_webhooks_is_told_so() {
    let app = TestApp::spawn().await;
    let ok = Receiver::start(Behaviour::Status(200)).await;
    let gone = Receiver::start(Behaviour::Status(410)).await;
    let receiving = app.create_webhook("TRD", hook(None, &[103], &ok.url)).await;
    let not_subscribed = app
        .create_webhook("TRD", hook(Some(5), &[104], &ok.url))
        .await;
    let other_product = app
        .create_webhook("TRD", hook(Some(7), &[103], &ok.url))
        .await;
    let mut inactive = hook(Some(8), &[103], &ok.url);
    inactive["webhookStatus"] = json!("inactive");
    let inactive = app.create_webhook("TRD", inactive).await;
    // A 410 Gone suspends at once.
    let suspended = app
        .create_webhook("TRD", hook(Some(9), &[103], &gone.url))
        .await;
    trigger_event(&app, "TRD", Some(9), 103).await;
    waited(&app, json!({"webhookId": suspended}), 1).await;
    let path = format!("/api/v1/Webhooks/{suspended}");
    let status = eventually(
        Duration::from_secs(10),
        || async { app.get(&path, Some("TRD")).await.response()["webhookStatus"].clone() },
        |status| status == "suspended",
    )
    .await;
    assert_eq!(status, "suspended");

    let reply = trigger_event(&app, "TRD", Some(5), 103).await;
    let skipped = |reply: &Reply| -> Vec<(String, String)> {
        reply.response()["skipped"]
            .as_array()
            .expect("skipped")
            .iter()
            .map(|s| {
                (
                    s["webhookId"].as_str().expect("id").to_owned(),
                    s["reason"].as_str().expect("reason").to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        reply.response()["notifications"][0]["webhookId"],
        receiving.as_str()
    );
    let mut reasons = skipped(&reply);
    reasons.sort();
    let mut expected = vec![
        (not_subscribed.clone(), "NOT_SUBSCRIBED".to_owned()),
        (other_product.clone(), "OTHER_PRODUCT".to_owned()),
        (inactive.clone(), "OTHER_PRODUCT".to_owned()),
        (suspended.clone(), "OTHER_PRODUCT".to_owned()),
    ];
    expected.sort();
    assert_eq!(reasons, expected);
    assert!(reply.response().get("message").is_none());

    let eight = trigger_event(&app, "TRD", Some(8), 103).await;
    assert!(skipped(&eight).contains(&(inactive, "WEBHOOK_INACTIVE".to_owned())));
    let nine = trigger_event(&app, "TRD", Some(9), 103).await;
    assert!(skipped(&nine).contains(&(suspended, "WEBHOOK_SUSPENDED".to_owned())));

    let nobody = trigger_event(&app, "NON", None, 103).await;
    assert_eq!(nobody.response()["notifications"], json!([]));
    assert_eq!(nobody.response()["skipped"], json!([]));
    assert!(
        nobody.response()["message"]
            .as_str()
            .is_some_and(|m| m.contains("has no webhook")),
        "{}",
        nobody.body
    );

    // The event keeps its fan-out, each notification with its status now.
    let id = eight.response()["eventId"].as_str().expect("eventId");
    waited(&app, json!({"eventId": id}), 1).await;
    let event = app.get(&format!("/sandbox/v1/events/{id}"), None).await;
    assert_eq!(event.status, 200, "{}", event.body);
    let event = event.response();
    assert_eq!(event["eventCode"], 103);
    assert_eq!(event["productId"], 8);
    assert_eq!(event["notifications"][0]["webhookId"], receiving.as_str());
    assert_eq!(event["notifications"][0]["notificationStatus"], "Delivered");
    assert_eq!(event["notifications"][0]["attempts"], 1);
    assert!(event["payload"].is_object());
    let listed = app
        .get("/sandbox/v1/events?programManagerCode=TRD&limit=2", None)
        .await;
    let page = listed.response();
    assert_eq!(page["content"].as_array().expect("content").len(), 2);
    assert_eq!(
        page["content"][0]["eventId"],
        nine.response()["eventId"],
        "newest first"
    );
    let next = page["next"].as_u64().expect("a next page");
    let older = app
        .get(
            &format!("/sandbox/v1/events?programManagerCode=TRD&limit=2&cursor={next}"),
            None,
        )
        .await;
    assert_eq!(
        older.response()["content"][0]["eventId"],
        reply.response()["eventId"]
    );
    let unknown = app
        .get(
            "/sandbox/v1/events/0190f6a3-0000-7000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.error_codes()),
        (404, vec!["EVENT_NOTFOUND".to_owned()])
    );
}

#[actix_rt::test]
async fn the_journal_and_a_notification_by_id_show_what_was_sent() {
    let app = app_with_schedule("[100, 100]", "5").await;
    let receiver = Receiver::start(Behaviour::Sequence(&[500, 200])).await;
    let webhook = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let created = trigger(&app, "TRD", None, 103).await;
    let notification = &created[0].1;
    waited(&app, json!({"notificationStatus": "Delivered"}), 1).await;

    let journal = app
        .get(&format!("/sandbox/v1/deliveries?webhookId={webhook}"), None)
        .await;
    let content = journal.response()["content"].as_array().expect("content");
    assert_eq!(content.len(), 2, "{}", journal.body);
    assert_eq!(
        (content[0]["attempt"].clone(), content[0]["outcome"].clone()),
        (json!(1), json!("failed"))
    );
    assert_eq!(content[0]["httpStatus"], 500);
    assert_eq!(content[0]["notificationStatus"], "Pending");
    assert_eq!(
        (content[1]["attempt"].clone(), content[1]["outcome"].clone()),
        (json!(2), json!("delivered"))
    );
    assert_eq!(
        content[1]["requestHeaders"]["apikey"], "***",
        "custom values masked"
    );
    let received = receiver.received();
    assert_eq!(
        content[1]["body"],
        received[1].raw.as_str(),
        "the body as sent"
    );
    let first = app
        .get("/sandbox/v1/deliveries?outcome=failed&limit=1", None)
        .await;
    assert_eq!(first.response()["content"][0]["attempt"], 1);
    let bad = app
        .get("/sandbox/v1/deliveries?outcome=maybe&eventCode=abc", None)
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_codes().len(), 2, "every bad filter is named");

    let by_id = app
        .get(&format!("/sandbox/v1/notifications/{notification}"), None)
        .await;
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    let found = by_id.response();
    assert_eq!(found["webhookId"], webhook.as_str());
    assert_eq!(found["content"][0]["notificationStatus"], "Delivered");
    assert_eq!(
        found["content"][0]["attempts"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(found["content"][0]["eventId"], content[0]["eventId"]);
    let details = app
        .post(
            &format!("/api/v1/Webhooks/{webhook}/notifications/details"),
            None,
            json!({"notificationIds": [notification]}),
        )
        .await;
    assert_eq!(
        details.response()["content"][0]["eventId"],
        content[0]["eventId"],
        "the details call names the event too"
    );
    let missing = app
        .get(
            "/sandbox/v1/notifications/af2d48de-2ad7-42f8-a252-8422cd9e6078",
            None,
        )
        .await;
    assert_eq!(
        (missing.status, missing.error_codes()),
        (404, vec!["NOTIFICATION_NOTFOUND".to_owned()])
    );
}

#[actix_rt::test]
async fn an_inbox_wait_answers_at_the_count_and_408_with_what_it_holds() {
    let app = TestApp::spawn().await;
    let path = format!("/sandbox/v1/inbox/ci/requests?count=2&timeoutMs={PATIENT_MS}");
    let waiting = app.get(&path, None);
    let mut waiting = Box::pin(waiting);
    for n in 0..2 {
        assert!(
            tokio::time::timeout(Duration::ZERO, &mut waiting)
                .await
                .is_err(),
            "no answer before the second request"
        );
        let captured = app
            .post("/sandbox/v1/inbox/ci", None, json!({"n": n}))
            .await;
        assert_eq!(captured.status, 200);
    }
    let reply = waiting.await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.response()["count"], 2);

    let short = app
        .get("/sandbox/v1/inbox/ci/requests?count=5&timeoutMs=100", None)
        .await;
    assert_eq!(short.status, 408, "{}", short.body);
    assert_eq!(short.error_codes(), ["WAIT_TIMED_OUT"]);
    assert_eq!(short.body["response"]["count"], 2);
}

#[actix_rt::test]
async fn after_a_reset_nothing_from_before_it_arrives_or_is_recorded() {
    // The barrier's own work (cancelling a held attempt, refusing a claim from
    // before the reset) is tested on the engine, in `delivery::tests`: here
    // the store's delete alone would keep a late record out.
    let app = app_with_schedule("[50, 50]", "100").await;
    let (open, held) = gate();
    let holding = Receiver::start(held).await;
    let failing = Receiver::start(Behaviour::Status(500)).await;
    app.create_webhook("TRD", hook(None, &[103], &holding.url))
        .await;
    app.create_webhook("ABC", hook(None, &[103], &failing.url))
        .await;
    let old_held = trigger(&app, "TRD", None, 103).await[0].1.clone();
    let old_retried = trigger(&app, "ABC", None, 103).await[0].1.clone();
    holding.wait_for(1, Duration::from_secs(10)).await;
    failing.wait_for(2, Duration::from_secs(10)).await;

    let reset = app.post("/sandbox/v1/reset", None, json!({})).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let failing_before = failing.count();
    // The held attempt was cancelled; releasing its receiver now records nothing.
    open.send(true).expect("open the gate");

    // Time passes on the new state: a new notification to the failing
    // receiver, retried on the same schedule as the old one, to its end.
    let webhook = app
        .create_webhook("ABC", hook(None, &[103], &failing.url))
        .await;
    let fresh = trigger(&app, "ABC", None, 103).await[0].1.clone();
    waited(
        &app,
        json!({"notificationId": fresh, "notificationStatus": "Undelivered"}),
        1,
    )
    .await;
    let after: Vec<String> = failing.received()[failing_before..]
        .iter()
        .map(|r| {
            r.body["context"]["notificationId"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(after.len(), 3, "the fresh notification's three attempts");
    assert!(
        after.iter().all(|id| *id == fresh),
        "nothing from before the reset arrived after it: {after:?}"
    );
    assert_eq!(
        holding.count(),
        1,
        "the held notification was not sent again: {:?}",
        holding
            .received()
            .iter()
            .map(|r| r.raw.clone())
            .collect::<Vec<_>>()
    );
    let journal = app.get("/sandbox/v1/deliveries", None).await;
    let ids: Vec<&str> = journal.response()["content"]
        .as_array()
        .expect("content")
        .iter()
        .map(|d| d["notificationId"].as_str().expect("id"))
        .collect();
    assert!(
        !ids.contains(&old_held.as_str()) && !ids.contains(&old_retried.as_str()),
        "the held attempt recorded nothing into the new state: {ids:?}"
    );
    for old in [&old_held, &old_retried] {
        let gone = app
            .get(&format!("/sandbox/v1/notifications/{old}"), None)
            .await;
        assert_eq!(gone.status, 404, "{}", gone.body);
    }
    let listed = app.get("/sandbox/v1/events", None).await;
    assert_eq!(
        listed.response()["content"].as_array().map(Vec::len),
        Some(1),
        "only the event made after the reset"
    );
    assert_eq!(
        listed.response()["content"][0]["notifications"][0]["webhookId"],
        webhook.as_str()
    );
}

#[actix_rt::test]
async fn a_scoped_reset_leaves_another_program_manager_untouched() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let mine = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let theirs = app
        .create_webhook("ABC", hook(None, &[103], &receiver.url))
        .await;
    trigger(&app, "TRD", None, 103).await;
    let kept = trigger(&app, "ABC", None, 103).await[0].1.clone();
    waited(&app, json!({}), 2).await;
    app.post("/sandbox/v1/inbox/ci", None, json!({})).await;

    let reset = app
        .post("/sandbox/v1/reset?programManagerCode=TRD", None, json!({}))
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(reset.response()["programManagerCode"], "TRD");
    assert_eq!(reset.response()["webhooksDeleted"], 1);
    assert_eq!(reset.response()["notificationsDeleted"], 1);
    assert_eq!(reset.response()["inboxRequestsDeleted"], 0);
    assert!(app.list_ids("TRD").await.is_empty());
    assert_eq!(app.list_ids("ABC").await, std::slice::from_ref(&theirs));
    let still = app
        .get(&format!("/sandbox/v1/notifications/{kept}"), None)
        .await;
    assert_eq!(still.status, 200, "{}", still.body);
    let journal = app.get("/sandbox/v1/deliveries", None).await;
    let webhooks: Vec<&str> = journal.response()["content"]
        .as_array()
        .expect("content")
        .iter()
        .map(|d| d["webhookId"].as_str().expect("id"))
        .collect();
    assert_eq!(webhooks, [theirs.as_str()]);
    let gone = app
        .get(&format!("/api/v1/Webhooks/{mine}"), Some("TRD"))
        .await;
    assert_eq!(gone.status, 404);

    let inbox = app
        .post("/sandbox/v1/reset?inbox=ci", None, json!({}))
        .await;
    assert_eq!(inbox.response()["inboxRequestsDeleted"], 1);
    assert_eq!(
        app.list_ids("ABC").await.len(),
        1,
        "an inbox reset alone resets nothing else"
    );
    let bad = app
        .post(
            "/sandbox/v1/reset?programManagerCode=toolong",
            None,
            json!({}),
        )
        .await;
    assert_eq!(bad.status, 400);
    let unknown = app
        .post("/sandbox/v1/reset?colour=red", None, json!({}))
        .await;
    assert_eq!(unknown.status, 400);
}

async fn as_token(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let request = client()
        .request(method, app.url(path))
        .insert_header(("Authorization", format!("Bearer {token}")));
    let sent = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    };
    into_reply(sent).await
}

#[actix_rt::test]
async fn with_auth_on_another_program_manager_reads_nothing_and_resets_only_its_own() {
    let (trd, abc) = ("trd-token-0123456789", "abc-token-0123456789");
    let app = TestApp::spawn_with(&[
        ("WHM_AUTH__ENABLED", "true"),
        (
            "WHM_AUTH__TOKENS",
            &format!(
                "[{{program_manager_code=\"TRD\", token=\"{trd}\"}}, {{program_manager_code=\"ABC\", token=\"{abc}\"}}]"
            ),
        ),
    ])
    .await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let created = as_token(
        &app,
        trd,
        Method::POST,
        "/api/v1/Webhooks",
        Some(hook(None, &[103], &receiver.url)),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let webhook = created.response()["webhookId"]
        .as_str()
        .expect("id")
        .to_owned();
    let event = as_token(
        &app,
        trd,
        Method::POST,
        "/sandbox/v1/events",
        Some(json!({"eventCode": 103})),
    )
    .await;
    assert_eq!(event.status, 202, "{}", event.body);
    let event_id = event.response()["eventId"]
        .as_str()
        .expect("eventId")
        .to_owned();
    let notification = event.response()["notifications"][0]["notificationId"]
        .as_str()
        .expect("id")
        .to_owned();
    let mine = as_token(
        &app,
        trd,
        Method::POST,
        "/sandbox/v1/deliveries/wait",
        Some(json!({"match": {"eventId": event_id}, "timeoutMs": PATIENT_MS})),
    )
    .await;
    assert_eq!(mine.status, 200, "{}", mine.body);

    let event_read = as_token(
        &app,
        abc,
        Method::GET,
        &format!("/sandbox/v1/events/{event_id}"),
        None,
    )
    .await;
    assert_eq!(event_read.status, 404, "{}", event_read.body);
    let events = as_token(&app, abc, Method::GET, "/sandbox/v1/events", None).await;
    assert_eq!(events.response()["content"], json!([]));
    let journal = as_token(&app, abc, Method::GET, "/sandbox/v1/deliveries", None).await;
    assert_eq!(journal.response()["content"], json!([]));
    let by_id = as_token(
        &app,
        abc,
        Method::GET,
        &format!("/sandbox/v1/notifications/{notification}"),
        None,
    )
    .await;
    assert_eq!(by_id.status, 404, "{}", by_id.body);
    let verify = as_token(
        &app,
        abc,
        Method::POST,
        "/sandbox/v1/deliveries/verify",
        Some(json!({"match": {"webhookId": webhook}, "atLeast": 1})),
    )
    .await;
    assert_eq!(verify.status, 406, "{}", verify.body);
    let theirs = as_token(
        &app,
        abc,
        Method::POST,
        "/sandbox/v1/reset?programManagerCode=TRD",
        Some(json!({})),
    )
    .await;
    assert_eq!(theirs.status, 403, "{}", theirs.body);
    let own = as_token(
        &app,
        abc,
        Method::POST,
        "/sandbox/v1/reset",
        Some(json!({})),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(
        own.response()["programManagerCode"],
        "ABC",
        "a token resets only its own"
    );
    let still = as_token(
        &app,
        trd,
        Method::GET,
        &format!("/sandbox/v1/events/{event_id}"),
        None,
    )
    .await;
    assert_eq!(still.status, 200, "{}", still.body);
}
