//! Several nodes on one PostgreSQL database (issue 14): read-your-writes
//! across nodes, one winner for concurrent creates of one key, every event
//! delivered once with deliveries spread over the nodes, and a node killed
//! in the middle losing nothing. Each test gets a database of its own on the
//! throwaway cluster (`store::postgres::throwaway`); without PostgreSQL they
//! say SKIPPED (and fail under `TEST_POSTGRES_REQUIRED=1`, as in `.ci/run`).

use std::collections::HashMap;
use std::time::Duration;

use crate::throwaway;
use serde_json::json;

use crate::delivery::hook;
use crate::helpers::{eventually, TestApp};
use crate::receiver::{Behaviour, Receiver};

/// A new database's URL, or `None` (having said SKIPPED).
fn database(test: &str) -> Option<String> {
    match throwaway::database() {
        Ok(url) => Some(url),
        Err(why) => {
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

async fn node(url: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![("WHM_DATABASE__URL", url)];
    env.extend_from_slice(extra);
    TestApp::spawn_with(&env).await
}

/// Triggers `n` events for TRD product 7, code 101, spread over `nodes`, 32
/// at a time; answers the notification ids.
pub(crate) async fn trigger_across(nodes: &[&TestApp], n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    let mut sent = 0;
    while sent < n {
        let batch = (n - sent).min(32);
        let mut calls = Vec::with_capacity(batch);
        for i in 0..batch {
            let url = nodes[(sent + i) % nodes.len()].url("/sandbox/v1/events");
            calls.push(actix_rt::spawn(async move {
                let mut response = crate::helpers::client()
                    .post(url)
                    .send_json(
                        &json!({"programManagerCode": "TRD", "productId": 7, "eventCode": 101}),
                    )
                    .await
                    .expect("trigger reached a node");
                assert_eq!(response.status().as_u16(), 202);
                let body: serde_json::Value = response.json().await.expect("json");
                body["response"]["notifications"][0]["notificationId"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            }));
        }
        for call in calls {
            ids.push(call.await.expect("trigger task"));
        }
        sent += batch;
    }
    ids
}

/// How many times each notification arrived.
pub(crate) fn arrivals(receiver: &Receiver) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for r in receiver.received() {
        let id = r.body["context"]["notificationId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        *seen.entry(id).or_insert(0) += 1;
    }
    seen
}

#[actix_rt::test]
async fn a_write_on_one_node_is_read_on_another_and_one_create_wins() {
    let Some(url) = database("read-your-writes") else {
        return;
    };
    let (a, b) = (node(&url, &[]).await, node(&url, &[]).await);
    let id = a
        .create_webhook("TRD", hook(Some(7), &[101], "https://client.example/a"))
        .await;
    let read = b.get(&format!("/api/v1/Webhooks/{id}"), Some("TRD")).await;
    assert_eq!(read.status, 200, "created on A, read on B: {}", read.body);
    assert_eq!(read.response()["config"]["url"], "https://client.example/a");
    assert_eq!(b.list_ids("TRD").await, std::slice::from_ref(&id));
    let changed = a
        .put(
            &format!("/api/v1/Webhooks/{id}/status"),
            Some("TRD"),
            json!({"webhookStatus": "inactive"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let read = b.get(&format!("/api/v1/Webhooks/{id}"), Some("TRD")).await;
    assert_eq!(read.response()["webhookStatus"], "inactive");

    // The same key created on both nodes at once, ten times over: one 201 each time.
    for product in 100..110u64 {
        let body = hook(Some(product), &[101], "https://client.example/race");
        let (x, y) = tokio::join!(
            a.post("/api/v1/Webhooks", Some("TRD"), body.clone()),
            b.post("/api/v1/Webhooks", Some("TRD"), body),
        );
        let mut statuses = [x.status, y.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [201, 409],
            "product {product}: {} / {}",
            x.body,
            y.body
        );
    }
}

#[actix_rt::test]
async fn ten_thousand_events_across_two_nodes_are_delivered_once_each() {
    let Some(url) = database("10,000 events") else {
        return;
    };
    let (a, b) = (node(&url, &[]).await, node(&url, &[]).await);
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    a.create_webhook("TRD", hook(Some(7), &[101], &receiver.url))
        .await;
    let ids = trigger_across(&[&a, &b], 10_000).await;
    eventually(
        Duration::from_secs(120),
        || async { receiver.count() },
        |n| *n >= ids.len(),
    )
    .await;
    let seen = arrivals(&receiver);
    let missing = ids.iter().filter(|id| !seen.contains_key(*id)).count();
    let twice: usize = seen.values().map(|n| n - 1).sum();
    assert_eq!(missing, 0, "every notification delivered");
    assert_eq!(twice, 0, "none delivered twice");
    // Both nodes delivered: each engine claimed some.
    for (name, node) in [("A", &a), ("B", &b)] {
        let mut response = crate::helpers::client()
            .get(node.url("/metrics"))
            .send()
            .await
            .expect("metrics");
        let text = String::from_utf8_lossy(&response.body().await.expect("body")).into_owned();
        let delivered: f64 = text
            .lines()
            .find(|l| l.starts_with("webhook_manager_deliveries_total{") && l.contains("delivered"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        eprintln!("node {name} delivered {delivered}");
        assert!(delivered > 0.0, "node {name} took part");
    }
}

/// Node A is killed while it holds claims whose attempts the receiver has
/// received but not answered (a gate holds them): B takes those claims over
/// when their leases lapse, so every notification arrives, and the ones that
/// arrive twice are exactly those A had in flight.
#[actix_rt::test]
async fn a_node_killed_in_the_middle_loses_nothing() {
    let Some(url) = database("kill -9") else {
        return;
    };
    // A short attempt timeout makes the leases short (2 x 1 s + 5 s).
    let fast = [("WHM_DELIVERY__TIMEOUT_MS", "1000")];
    // B stays up: it takes over what A held.
    let (mut a, _b) = (node(&url, &fast).await, node(&url, &fast).await);
    let (open, held) = crate::receiver::gate();
    let receiver = Receiver::start(held).await;
    a.create_webhook("TRD", hook(Some(7), &[101], &receiver.url))
        .await;
    // Triggered on A, whose engine wakes at once and fills the webhook's 16
    // slots (B looks every 5 s); the gate holds those attempts.
    let ids = trigger_across(&[&a], 500).await;
    eventually(
        Duration::from_secs(30),
        || async { receiver.count() },
        |n| *n >= 16,
    )
    .await;
    let in_flight = receiver.count();
    a.kill();
    let _ = open.send(true);
    all_arrive_duplicates_bounded(&receiver, &ids, in_flight, Duration::from_secs(120)).await;
}

/// After a kill with `in_flight` attempts held by `receiver`: every one of
/// `ids` arrives within `within`, and only as many as were in flight arrive
/// twice.
pub(crate) async fn all_arrive_duplicates_bounded(
    receiver: &Receiver,
    ids: &[String],
    in_flight: usize,
    within: Duration,
) {
    eventually(
        within,
        || async { arrivals(receiver).len() },
        |n| *n >= ids.len(),
    )
    .await;
    let seen = arrivals(receiver);
    let missing = ids.iter().filter(|id| !seen.contains_key(*id)).count();
    let twice: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "killed with {in_flight} attempts held; {} notifications delivered, {twice} more than once",
        seen.len()
    );
    assert_eq!(
        missing, 0,
        "every acknowledged trigger delivered after the kill"
    );
    assert!(
        twice <= in_flight,
        "only what was in flight may arrive twice: {twice} > {in_flight}"
    );
}

/// The database stopped (as in a crash) and started again: calls are
/// answered `503 UNABLE_TO_GET_RESULTS_FROM_DATABASE` with `Retry-After`
/// meanwhile, `/readyz` says not ready, and the node recovers without a
/// restart; a notification stored before the stop is still delivered.
#[actix_rt::test]
async fn a_stopped_database_gives_503_and_the_node_recovers() {
    let cluster = match throwaway::Private::start() {
        Ok(cluster) => cluster,
        Err(why) => {
            assert!(
                std::env::var("TEST_POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "PostgreSQL is required here: {why}"
            );
            eprintln!("SKIPPED database restart: {why}");
            return;
        }
    };
    let app = node(&cluster.url, &[("WHM_DATABASE__BUSY_TIMEOUT_MS", "1000")]).await;
    let (open, held) = crate::receiver::gate();
    let receiver = Receiver::start(held).await;
    let id = app
        .create_webhook("TRD", hook(Some(7), &[101], &receiver.url))
        .await;
    let (_, notification) = crate::delivery::trigger(&app, "TRD", Some(7), 101)
        .await
        .remove(0);
    cluster.stop().expect("stop the database");

    let path = format!("/api/v1/Webhooks/{id}");
    app.get(&path, Some("TRD")).await.assert_unavailable();
    app.post(
        "/api/v1/Webhooks",
        Some("TRD"),
        hook(Some(8), &[101], "https://client.example/x"),
    )
    .await
    .assert_unavailable();
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 503, "not ready: {}", ready.body);
    assert_eq!(app.get("/healthz", None).await.status, 200, "but alive");

    cluster.resume().expect("start the database again");
    let read = eventually(
        Duration::from_secs(30),
        || app.get(&path, Some("TRD")),
        |r| r.status == 200,
    )
    .await;
    assert_eq!(
        read.status, 200,
        "recovered without a restart: {}",
        read.body
    );
    assert_eq!(app.get("/readyz", None).await.status, 200);
    let _ = open.send(true);
    let seen = eventually(
        Duration::from_secs(60),
        || async { arrivals(&receiver) },
        |seen| seen.contains_key(&notification),
    )
    .await;
    assert!(
        seen.contains_key(&notification),
        "the notification stored before the stop is delivered: {seen:?}"
    );
}

/// The PostgreSQL profile as the README installs it: the on-prem file with
/// `deploy/postgres.env`'s settings, on two nodes; a token from the
/// environment works on both, and an access token issued by one node is
/// accepted by the other (one signing key).
#[actix_rt::test]
async fn the_on_prem_profile_runs_two_nodes_on_postgres() {
    let Some(url) = database("on-prem profile") else {
        return;
    };
    let env_file = include_str!("../../deploy/postgres.env");
    for key in [
        "WHM_DATABASE__URL",
        "WHM_DATABASE__POOL_SIZE",
        "WHM_AUTH__SIGNING_KEY",
        "WHM_AUTH__TOKENS",
    ] {
        assert!(
            env_file.contains(&format!("\n{key}=")),
            "{key} in deploy/postgres.env"
        );
    }
    let config = include_str!("../../deploy/config.onprem.toml");
    let token = "onprem-token-0123456789";
    let tokens = format!(
        "[{{program_manager_code=\"TRD\", token_sha256=\"{}\"}}]",
        crate::auth::sha256_hex(token)
    );
    let clients = r#"[{client_id="node-test", client_secret="node-secret-0123456789", program_manager_code="TRD"}]"#;
    let env = [
        ("WHM_SERVER__HOST", "127.0.0.1"),
        ("WHM_SERVER__PORT", "0"),
        ("WHM_DATABASE__URL", url.as_str()),
        ("WHM_DATABASE__POOL_SIZE", "4"),
        (
            "WHM_AUTH__SIGNING_KEY",
            "one-key-for-every-node-0123456789abcdef",
        ),
        ("WHM_AUTH__TOKENS", tokens.as_str()),
        ("WHM_AUTH__CLIENTS", clients),
    ];
    let a = TestApp::spawn_with_config(config, &env).await;
    let b = TestApp::spawn_with_config(config, &env).await;
    assert!(
        a.log_contains("database: PostgreSQL at").await,
        "{}",
        a.log()
    );
    assert!(!a.log().contains("webhook-manager.db"), "no SQLite file");

    let client = crate::helpers::client();
    let mut created = client
        .post(a.url("/api/v1/Webhooks"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&hook(None, &[101], "https://client.example/onprem"))
        .await
        .expect("create on a");
    assert_eq!(created.status().as_u16(), 201);
    let body: serde_json::Value = created.json().await.expect("json");
    let id = body["response"]["webhookId"]
        .as_str()
        .expect("id")
        .to_owned();

    let mut issued = client
        .post(a.url("/connect/token"))
        .send_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "node-test"),
            ("client_secret", "node-secret-0123456789"),
        ])
        .await
        .expect("token from a");
    assert_eq!(issued.status().as_u16(), 200);
    let issued: serde_json::Value = issued.json().await.expect("json");
    let access = issued["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let read = client
        .get(b.url(&format!("/api/v1/Webhooks/{id}")))
        .insert_header(("Authorization", format!("Bearer {access}")))
        .send()
        .await
        .expect("read on b");
    assert_eq!(
        read.status().as_u16(),
        200,
        "a's access token works on b, and b reads a's write"
    );
}

/// Thredd's calls beside the webhooks (issue 25) across nodes: a
/// configuration created on one node lets a 112 triggered on the other
/// through; a fraud alert raised on one node is answered on the other, and
/// the 102 follows; a second answer on the first node is refused; an alert
/// expired by one node's moved clock gets one 102 `Timeout`.
#[actix_rt::test]
async fn configurations_and_fraud_alerts_are_shared_by_the_nodes() {
    let Some(url) = database("configurations_and_fraud_alerts_are_shared_by_the_nodes") else {
        return;
    };
    let a = node(&url, &[]).await;
    let b = node(&url, &[]).await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    a.create_webhook("TRD", hook(Some(7), &[101, 102, 112], &receiver.url))
        .await;
    let event = |code: u16| json!({"programManagerCode": "TRD", "productId": 7, "eventCode": code});
    let skipped = b.post("/sandbox/v1/events", None, event(112)).await;
    assert_eq!(
        skipped.response()["skipped"][0]["reason"],
        "NO_CONFIGURATION"
    );
    let created = a
        .post(
            "/api/v1/Configs",
            Some("TRD"),
            json!({"pmId": 20, "messageTypeFilter": [1]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let confirmed = b.post("/sandbox/v1/events", None, event(112)).await;
    assert_eq!(
        confirmed.response()["notifications"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{}",
        confirmed.body
    );

    let mut alerts = Vec::new();
    for _ in 0..2 {
        let raised = a.post("/sandbox/v1/events", None, event(101)).await;
        let notification = raised.response()["notifications"][0]["notificationId"]
            .as_str()
            .expect("notification")
            .to_owned();
        let found = eventually(
            Duration::from_secs(20),
            || async { receiver.received() },
            |r| {
                r.iter()
                    .any(|r| r.body["context"]["notificationId"] == notification.as_str())
            },
        )
        .await;
        let body = found
            .iter()
            .find(|r| r.body["context"]["notificationId"] == notification.as_str())
            .expect("the 101 arrived");
        let alert = body.body["payload"]["fraudAlertId"]
            .as_str()
            .expect("fraudAlertId")
            .to_owned();
        alerts.push((alert, notification));
    }
    let answer = |i: usize| json!({"fraudAlertId": alerts[i].0, "notificationId": alerts[i].1, "response": "No"});
    let answered = b
        .post("/api/v1/FraudAlerts/Response", Some("TRD"), answer(0))
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let again = a
        .post("/api/v1/FraudAlerts/Response", Some("TRD"), answer(0))
        .await;
    assert_eq!(again.status, 409, "{}", again.body);

    let moved = a
        .post(
            "/sandbox/v1/clock/advance",
            None,
            json!({"ms": 73 * 3_600_000}),
        )
        .await;
    assert_eq!(moved.response()["fraudAlertsExpired"], 1, "{}", moved.body);
    let followed = |kind: &'static str, alert: String| {
        move |r: &Vec<crate::receiver::Received>| {
            r.iter()
                .filter(|r| {
                    r.body["payload"]["fraudAlertType"] == kind
                        && r.body["payload"]["fraudAlertId"] == alert.as_str()
                })
                .count()
                >= 1
        }
    };
    let acknowledged = followed("Acknowledgement", alerts[0].0.clone());
    let received = eventually(
        Duration::from_secs(20),
        || async { receiver.received() },
        &acknowledged,
    )
    .await;
    assert!(acknowledged(&received), "the 102 Acknowledgement arrived");
    let received = eventually(
        Duration::from_secs(20),
        || async { receiver.received() },
        followed("Timeout", alerts[1].0.clone()),
    )
    .await;
    let timeouts = received
        .iter()
        .filter(|r| r.body["payload"]["fraudAlertType"] == "Timeout")
        .count();
    assert_eq!(timeouts, 1, "the answered alert does not time out");
    let late = b
        .post("/api/v1/FraudAlerts/Response", Some("TRD"), answer(1))
        .await;
    assert_eq!(late.status, 400, "{}", late.body);
    assert_eq!(late.error_codes(), ["FRAUD_ALERT_EXPIRED"]);
}
