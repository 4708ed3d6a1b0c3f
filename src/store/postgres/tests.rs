//! Tests of the PostgreSQL backend alone: several nodes, and upgrades.

use std::sync::{Arc, Barrier};
use std::thread;

use time::Duration;

use crate::store::{ClaimLimits, Outbox, Repository};

use crate::domain::{WebhookDocument, WebhookId};

use crate::store::contract::support::*;

/// Nodes on one PostgreSQL database wake each other: a commit on one that
/// makes notifications due reaches the other's engine through LISTEN/NOTIFY,
/// not only at its next look. (The waker is notified once when the listener
/// connects; the test waits for that first.)
#[test]
fn postgres_wakes_every_node_when_notifications_are_due() {
    let url = match crate::store::postgres::throwaway::database() {
        Ok(url) => url,
        Err(why) => {
            eprintln!("SKIPPED (postgres wake-up): {why}");
            return;
        }
    };
    let options = crate::store::postgres::PgOptions::default();
    let a = crate::store::PgStore::open(&url, &options).expect("node a");
    let b = crate::store::PgStore::open(&url, &options).expect("node b");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let waker = a.waker();
    let woken = |within: u64| {
        runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(within), waker.notified())
                .await
                .is_ok()
        })
    };
    assert!(woken(10), "a's listener connected");
    assert!(!woken(1), "nothing due yet");
    let w = b
        .create(webhook("TRD", Some(7)))
        .wait()
        .expect("create on b");
    assert!(!woken(1), "a webhook is not a notification");
    b.enqueue(vec![notification(&w, 101, t0())])
        .wait()
        .expect("enqueue on b");
    assert!(woken(10), "b's commit woke a's engine");
}

/// Nodes starting together on a new database apply the schema once (under
/// the advisory lock): none fails on tables another has just made.
/// A version-1 database (queue rows with a pending count, no signals) is
/// upgraded in place at start: its pending notification is claimed, and new
/// ones go through the signals.
#[test]
fn postgres_upgrades_a_version_1_database() {
    let url = match crate::store::postgres::throwaway::database() {
        Ok(url) => url,
        Err(why) => {
            eprintln!("SKIPPED (postgres upgrade): {why}");
            return;
        }
    };
    let v1 = crate::store::postgres::schema::as_of(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let running = tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "{v1}\n\
                 INSERT INTO webhooks (id, pm_code, product_id, events, status, url, custom_headers, \
                   created_time, last_modified_time) VALUES ('af2d48de-2ad7-42f8-a252-8422cd9e6078', \
                   'TRD', NULL, '[103]', 'active', 'https://client.example/hook', '{{}}', 0, 0);\n\
                 INSERT INTO webhooks (id, pm_code, product_id, events, status, url, custom_headers, \
                   created_time, last_modified_time, hb_health_status, hb_http_status, hb_latency_ms, \
                   hb_error, hb_checked_time) VALUES ('af2d48de-2ad7-42f8-a252-8422cd9e6079', 'TRD', 5, \
                   '[101,103]', 'inactive', 'https://client.example/hook?a=%22b%22', \
                   '{{\"X-Key\":\"é \\\"q\\\"\"}}', 1706138428, 1706138500, 'unhealthy', 503, 12, \
                   'HTTP 503', 1706138600);\n\
                 INSERT INTO notifications (id, webhook_id, pm_code, event_code, body, status, \
                   created_time, attempts, cycle_start, next_attempt_ms) VALUES \
                   ('7b3e4b9e-8a52-4c1e-9d4f-3f1c2b8a9e01', 'af2d48de-2ad7-42f8-a252-8422cd9e6078', \
                   'TRD', 103, '{{}}', 'Pending', 0, 0, 0, 5000);\n\
                 INSERT INTO webhook_queues (webhook_id, due_ms, pending) VALUES \
                   ('af2d48de-2ad7-42f8-a252-8422cd9e6078', 5000, 1);"
            ))
            .await
            .expect("a version-1 database");
        drop(client);
        let _ = running.await;
    });
    let store = crate::store::PgStore::open(&url, &crate::store::postgres::PgOptions::default())
        .expect("upgraded");
    assert_eq!(store.backlog().wait().expect("backlog").pending, 1);
    let lease = Duration::minutes(1);
    let claims = store
        .claim_due("a", t0(), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert_eq!(
        claims
            .claimed
            .iter()
            .map(|c| c.notification.id.to_string())
            .collect::<Vec<_>>(),
        ["7b3e4b9e-8a52-4c1e-9d4f-3f1c2b8a9e01"]
    );
    let w = store
        .get(
            WebhookId::parse("af2d48de-2ad7-42f8-a252-8422cd9e6078").expect("id"),
            None,
        )
        .wait()
        .expect("the webhook");
    // Each row's document, rendered by the upgrade, is the service's own byte
    // for byte, heartbeat included.
    let other = store
        .get(
            WebhookId::parse("af2d48de-2ad7-42f8-a252-8422cd9e6079").expect("id"),
            None,
        )
        .wait()
        .expect("the webhook with a heartbeat");
    assert_eq!(other.config.custom_headers.as_map()["X-Key"], "é \"q\"");
    assert_eq!(
        other
            .last_heartbeat
            .as_ref()
            .map(|h| (h.http_status, h.latency_ms)),
        Some((Some(503), 12))
    );
    for webhook in [&*w, &*other] {
        let stored = store.document(webhook.id, None).wait().expect("document");
        assert_eq!(stored.as_str(), WebhookDocument::render(webhook).as_str());
    }
    let fresh = notification(&w, 103, t0());
    store.enqueue(vec![fresh.clone()]).wait().expect("enqueue");
    let claims = store
        .claim_due("a", t0(), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&claims.claimed), [fresh.id], "through its signal");
}

/// The columns and indexes of a PostgreSQL database's public schema, one line each.
async fn postgres_shape(url: &str) -> Vec<String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let running = tokio::spawn(connection);
    let mut shape: Vec<String> = client
        .query(
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable \
               || ' ' || coalesce(column_default, '') || ' ' || coalesce(generation_expression, '') \
             FROM information_schema.columns WHERE table_schema = 'public' \
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .expect("columns")
        .iter()
        .map(|r| r.get(0))
        .collect();
    shape.extend(
        client
            .query(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
                &[],
            )
            .await
            .expect("indexes")
            .iter()
            .map(|r| r.get::<_, String>(0)),
    );
    drop(client);
    let _ = running.await;
    shape
}

/// A database upgraded from version 1 and a new one made from schema.sql
/// have the same columns and indexes.
#[test]
fn postgres_upgrade_and_new_database_have_one_schema() {
    let (upgraded, new) = match (
        crate::store::postgres::throwaway::database(),
        crate::store::postgres::throwaway::database(),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) | (_, Err(why)) => {
            eprintln!("SKIPPED (postgres schema shape): {why}");
            return;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&upgraded, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let running = tokio::spawn(connection);
        client
            .batch_execute(&crate::store::postgres::schema::as_of(1))
            .await
            .expect("a version-1 database");
        drop(client);
        let _ = running.await;
    });
    let options = crate::store::postgres::PgOptions::default();
    drop(crate::store::PgStore::open(&upgraded, &options).expect("upgraded"));
    drop(crate::store::PgStore::open(&new, &options).expect("new"));
    let (upgraded, new) =
        runtime.block_on(async { (postgres_shape(&upgraded).await, postgres_shape(&new).await) });
    assert!(new
        .iter()
        .any(|l| l.starts_with("webhooks.document text NO")));
    assert_eq!(upgraded, new);
}

#[test]
fn postgres_nodes_starting_together_apply_the_schema_once() {
    let url = match crate::store::postgres::throwaway::database() {
        Ok(url) => url,
        Err(why) => {
            eprintln!("SKIPPED (postgres schema): {why}");
            return;
        }
    };
    let barrier = Arc::new(Barrier::new(4));
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let (url, barrier) = (url.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                crate::store::PgStore::open(&url, &crate::store::postgres::PgOptions::default())
                    .map(|_| ())
            })
        })
        .collect();
    for node in nodes {
        node.join().expect("thread").expect("every node starts");
    }
}
