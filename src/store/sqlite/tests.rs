//! Tests of the SQLite backend alone: durability, the write queue, the index
//! load, and every upgrade of an older file.

use std::sync::Arc;
use std::thread;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::store::sqlite::SqliteOptions;
use crate::store::{ClaimLimits, Claims, Inboxes, Outbox, Repository, SqliteStore, StoreError};
use std::collections::BTreeMap;

use crate::domain::inbox::InboxLimits;
use crate::domain::{
    AttemptOutcome, CustomHeaders, HealthStatus, Heartbeat, NotificationId, ProductId,
    ReceiverReply, Webhook, WebhookConfig, WebhookDocument, WebhookId, WebhookStatus, WebhookUrl,
};

use crate::store::contract::support::*;

#[test]
fn sqlite_answers_unavailable_at_once_when_the_write_queue_is_full() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("full.db");
    let options = SqliteOptions {
        busy_timeout: std::time::Duration::from_secs(2),
        max_batch: 1,
        queue_capacity: 1,
        ..SqliteOptions::default()
    };
    let repo = Arc::new(SqliteStore::open(&path, &options).expect("open"));
    // Another connection holds the write lock, so the writer stalls on its first batch.
    let holder = rusqlite::Connection::open(&path).expect("open holder");
    holder.execute_batch("BEGIN EXCLUSIVE;").expect("lock");
    let handles: Vec<_> = (0..8u64)
        .map(|i| {
            let repo = Arc::clone(&repo);
            thread::spawn(move || repo.create(webhook("FULL", Some(i))).wait())
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    holder.execute_batch("ROLLBACK;").expect("unlock");
    let full = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Unavailable(e)) if e.to_string().contains("queue is full")))
        .count();
    assert!(
        full >= 1,
        "some callers were turned away at once: {results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(StoreError::Unavailable(_)))),
        "nothing committed while the lock was held: {results:?}"
    );
    repo.create(webhook("FULL", Some(100)))
        .wait()
        .expect("writes work again");
    assert_eq!(repo.list(&pm("FULL")).wait().expect("list").len(), 1);
}

#[test]
fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("reopen.db");
    let w = webhook("TRD", Some(3));
    {
        let repo = SqliteStore::open(&path, &SqliteOptions::default()).expect("open");
        repo.create(w.clone()).wait().expect("create");
    }
    let repo = SqliteStore::open(&path, &SqliteOptions::default()).expect("reopen");
    assert_eq!(*repo.get(w.id, None).wait().expect("get after reopen"), w);
}

/// The tables, columns and indexes of a SQLite file, one line each.
fn sqlite_shape(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("open raw");
    let mut shape = Vec::new();
    let mut tables = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("tables");
    let names: Vec<String> = tables
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    for table in names {
        let mut columns = conn
            .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")
            .expect("columns");
        let rows = columns
            .query_map([&table], |r| {
                Ok(format!(
                    "{table}.{} {} notnull={} pk={}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?
                ))
            })
            .expect("columns");
        shape.extend(rows.map(|r| r.expect("column")));
    }
    let mut indexes = conn
        .prepare(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        )
        .expect("indexes");
    let rows = indexes
        .query_map([], |r| r.get::<_, String>(0))
        .expect("indexes");
    shape.extend(rows.map(|sql| {
        sql.expect("index")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }));
    shape
}

/// A file upgraded from version 1 and a new file made from schema.sql have
/// the same tables, columns and indexes: schema.sql describes what the
/// upgrade steps build.
#[test]
fn sqlite_upgrade_and_new_file_have_one_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let upgraded = dir.path().join("v1.db");
    rusqlite::Connection::open(&upgraded)
        .expect("open raw")
        .execute_batch(&crate::store::sqlite::schema::as_of(1))
        .expect("v1 schema");
    drop(SqliteStore::open(&upgraded, &SqliteOptions::default()).expect("upgrade"));
    let new = dir.path().join("new.db");
    drop(SqliteStore::open(&new, &SqliteOptions::default()).expect("new"));
    let new_shape = sqlite_shape(&new);
    assert!(new_shape
        .iter()
        .any(|l| l == "webhooks.format INTEGER notnull=1 pk=0"));
    assert_eq!(sqlite_shape(&upgraded), new_shape);
}

/// A file holding a webhook document in a format this binary does not know
/// is refused at start, not misread.
#[test]
fn sqlite_refuses_an_unknown_document_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("format.db");
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    conn.execute_batch(&crate::store::sqlite::schema::as_of(
        crate::store::sqlite::SCHEMA_VERSION,
    ))
    .expect("schema");
    conn.execute(
        "INSERT INTO webhooks (id, pm_code, product_id, status, document, format) \
         VALUES ('af2d48de-2ad7-42f8-a252-8422cd9e6078', 'TRD', NULL, 'active', '{}', 2)",
        [],
    )
    .expect("row");
    drop(conn);
    let error = SqliteStore::open(&path, &SqliteOptions::default())
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("format 2"), "message: {error}");
}

#[test]
fn sqlite_upgrades_a_version_1_file_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v1.db");
    // A version-1 file, as the first binary made it.
    let v1 = crate::store::sqlite::schema::as_of(1);
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    conn.execute_batch(&format!("{v1}\nPRAGMA user_version = 1;"))
        .expect("v1 schema");
    conn.execute(
        "INSERT INTO webhooks (id, pm_code, product_id, events, status, url, custom_headers, \
         created_time, last_modified_time) VALUES \
         ('af2d48de-2ad7-42f8-a252-8422cd9e6078', 'TRD', 5, '[103]', 'active', \
         'https://client.example/hook', '{}', 0, 0)",
        [],
    )
    .expect("v1 row");
    drop(conn);
    let repo = SqliteStore::open(&path, &SqliteOptions::default()).expect("upgrade");
    assert_eq!(
        repo.list(&pm("TRD")).wait().expect("list").len(),
        1,
        "rows kept"
    );
    assert!(repo
        .pending()
        .wait()
        .expect("notifications table")
        .is_empty());
    drop(repo);
    let conn = rusqlite::Connection::open(&path).expect("reopen raw");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, crate::store::sqlite::SCHEMA_VERSION);
}

/// Until the writer has loaded the index, reads come from the rows (the
/// service answers at once after a start with many webhooks): the same
/// answers, scoping included; writes wait for the load and land in the index.
#[test]
fn sqlite_answers_reads_from_the_rows_until_the_index_is_loaded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("lazy.db");
    let (a, b) = {
        let repo = SqliteStore::open(&path, &SqliteOptions::default()).expect("open");
        let a = repo.create(webhook("TRD", Some(1))).wait().expect("a");
        let b = repo.create(webhook("TRD", None)).wait().expect("b");
        repo.create(webhook("ABC", None)).wait().expect("other pm");
        (a, b)
    };
    let (open_gate, gate) = std::sync::mpsc::channel::<()>();
    let repo = SqliteStore::open_gated(&path, &SqliteOptions::default(), move || {
        let _ = gate.recv();
    })
    .expect("reopen");
    // The gate is shut: none of these can come from the index.
    assert_eq!(*repo.get(a.id, Some(&pm("TRD"))).wait().expect("get"), a);
    assert!(matches!(
        repo.get(a.id, Some(&pm("ABC"))).wait(),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        repo.document(WebhookId::generate(), None).wait(),
        Err(StoreError::NotFound)
    ));
    let rendered = |w: &Webhook| WebhookDocument::render(w).as_str().to_owned();
    assert_eq!(
        repo.document(b.id, None).wait().expect("document").as_str(),
        rendered(&b)
    );
    let listed: Vec<String> = repo
        .documents(&pm("TRD"))
        .wait()
        .expect("documents")
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    assert_eq!(listed, vec![rendered(&a), rendered(&b)]);
    let ids: Vec<WebhookId> = repo
        .list(&pm("TRD"))
        .wait()
        .expect("list")
        .iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(ids, vec![a.id, b.id]);
    let change = set_status(&repo, a.id, None, WebhookStatus::Inactive, t0());
    open_gate.send(()).expect("open the gate");
    let changed = change.wait().expect("the write runs once loaded");
    assert_eq!(*repo.get(a.id, None).wait().expect("get"), changed);
    assert_eq!(
        repo.documents(&pm("TRD")).wait().expect("documents").len(),
        2
    );
}

/// A version-5 file (a column per field) gets each webhook's document rendered
/// by the migration: the webhook reads back whole, heartbeat included, and the
/// document is the one the service renders.
#[test]
fn sqlite_upgrades_a_version_5_file_to_documents() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v5.db");
    let v5 = crate::store::sqlite::schema::as_of(5);
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    conn.execute_batch(&format!("{v5}\nPRAGMA user_version = 5;"))
        .expect("v5 schema");
    conn.execute(
        "INSERT INTO webhooks (id, pm_code, product_id, events, status, url, custom_headers, \
         created_time, last_modified_time, hb_health_status, hb_http_status, hb_latency_ms, \
         hb_error, hb_checked_time) VALUES \
         ('af2d48de-2ad7-42f8-a252-8422cd9e6078', 'TRD', 5, '[101,103]', 'inactive', \
         'https://client.example/hook?a=%22b%22', '{\"X-Key\":\"é \\\"q\\\"\"}', \
         1706138428, 1706138500, 'unhealthy', 503, 12, 'HTTP 503', 1706138600), \
         ('af2d48de-2ad7-42f8-a252-8422cd9e6079', 'TRD', NULL, '[]', 'active', \
         'https://client.example/other', '{}', 0, 0, NULL, NULL, NULL, NULL, NULL)",
        [],
    )
    .expect("v5 rows");
    drop(conn);
    let repo = SqliteStore::open(&path, &SqliteOptions::default()).expect("upgrade");
    let at = |s| OffsetDateTime::from_unix_timestamp(s).expect("time");
    let expected = Webhook {
        id: WebhookId::parse("af2d48de-2ad7-42f8-a252-8422cd9e6078").expect("id"),
        pm_code: pm("TRD"),
        product_id: Some(ProductId::from_stored(5)),
        events: [code(101), code(103)].into_iter().collect(),
        status: WebhookStatus::Inactive,
        config: WebhookConfig {
            url: WebhookUrl::from_stored("https://client.example/hook?a=%22b%22".into()),
            custom_headers: CustomHeaders::from_json(&json!({"X-Key": "é \"q\""}))
                .expect("headers"),
        },
        created_time: at(1706138428),
        last_modified_time: at(1706138500),
        last_heartbeat: Some(Heartbeat {
            health_status: HealthStatus::Unhealthy,
            http_status: Some(503),
            latency_ms: 12,
            error: Some("HTTP 503".into()),
            checked_time: at(1706138600),
        }),
    };
    assert_eq!(*repo.get(expected.id, None).wait().expect("get"), expected);
    let document = repo.document(expected.id, None).wait().expect("document");
    let as_json = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("JSON");
    assert_eq!(
        as_json(document.as_str()),
        as_json(WebhookDocument::render(&expected).as_str())
    );
    let listed = repo.list(&pm("TRD")).wait().expect("list");
    assert_eq!(listed.len(), 2, "rows kept, in order");
    assert!(listed[1].events.is_empty() && listed[1].last_heartbeat.is_none());
    // The new shape takes writes: a change is stored and survives a reopen.
    set_status(
        &repo,
        expected.id,
        None,
        WebhookStatus::Active,
        at(1706139000),
    )
    .wait()
    .expect("set active");
    drop(repo);
    let repo = SqliteStore::open(&path, &SqliteOptions::default()).expect("reopen");
    let reread = repo.get(expected.id, None).wait().expect("get");
    assert_eq!(reread.status, WebhookStatus::Active);
    assert_eq!(reread.last_heartbeat, expected.last_heartbeat);
}

/// A version-2 file keeps its notifications and attempts; an attempt recorded
/// before version 3 reads back with no request headers and no reply, and new
/// attempts keep both.
#[test]
fn sqlite_upgrades_a_version_2_file_with_attempts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v2.db");
    let v2 = crate::store::sqlite::schema::as_of(2);
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    conn.execute_batch(&format!(
        "{v2}\nPRAGMA user_version = 2;\n\
         INSERT INTO webhooks (id, pm_code, product_id, events, status, url, custom_headers, \
           created_time, last_modified_time) VALUES ('af2d48de-2ad7-42f8-a252-8422cd9e6078', \
           'TRD', NULL, '[103]', 'active', 'https://client.example/hook', '{{}}', 0, 0);\n\
         INSERT INTO notifications (id, webhook_id, pm_code, event_code, body, status, \
           created_time, last_sent_time, attempts, cycle_start, next_attempt_ms) VALUES \
           ('7b3e4b9e-8a52-4c1e-9d4f-3f1c2b8a9e01', 'af2d48de-2ad7-42f8-a252-8422cd9e6078', \
           'TRD', 103, '{{}}', 'Pending', 0, 1, 1, 0, 5000);\n\
         INSERT INTO attempts (notification_id, attempt, time_ms, http_status, error, latency_ms) \
           VALUES ('7b3e4b9e-8a52-4c1e-9d4f-3f1c2b8a9e01', 1, 1000, 503, 'HTTP 503', 7);"
    ))
    .expect("v2 file");
    drop(conn);
    let store = SqliteStore::open(&path, &SqliteOptions::default()).expect("upgrade");
    let webhook = WebhookId::parse("af2d48de-2ad7-42f8-a252-8422cd9e6078").expect("id");
    let id = NotificationId::parse("7b3e4b9e-8a52-4c1e-9d4f-3f1c2b8a9e01").expect("id");
    let mut answer = failed(t0());
    answer.request_headers = [("apikey".to_owned(), "***".to_owned())].into();
    answer.reply = Some(ReceiverReply {
        headers: BTreeMap::new(),
        body: "fine".into(),
        body_truncated: false,
    });
    record(&store, id, answer.clone(), AttemptOutcome::Delivered, 5).expect("a new attempt");
    let found = store
        .details(webhook, None, vec![id])
        .wait()
        .expect("details");
    let attempts = &found[0].1;
    assert_eq!(attempts.len(), 2, "the old attempt is kept");
    assert_eq!(
        (attempts[0].http_status, attempts[0].latency_ms),
        (Some(503), 7)
    );
    assert!(attempts[0].request_headers.is_empty() && attempts[0].reply.is_none());
    assert_eq!(attempts[1], answer);
}

/// Version 3 to 4: the queues are built from the pending notifications, so
/// a due one is claimed through its webhook's queue after the upgrade, and one
/// left claimed by an engine that died is taken over.
#[test]
fn sqlite_upgrades_a_version_3_file_to_queues() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v3.db");
    let v3 = crate::store::sqlite::schema::as_of(3);
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    conn.execute_batch(&format!(
        "{v3}\nPRAGMA user_version = 3;\n\
         INSERT INTO webhooks (id, pm_code, product_id, events, status, url, custom_headers, \
           created_time, last_modified_time) VALUES ('af2d48de-2ad7-42f8-a252-8422cd9e6078', \
           'TRD', NULL, '[103]', 'active', 'https://client.example/hook', '{{}}', 0, 0);\n\
         INSERT INTO notifications (id, webhook_id, pm_code, event_code, body, status, \
           created_time, attempts, cycle_start, next_attempt_ms, claim, lease_until_ms) VALUES \
           ('7b3e4b9e-8a52-4c1e-9d4f-3f1c2b8a9e01', 'af2d48de-2ad7-42f8-a252-8422cd9e6078', \
           'TRD', 103, '{{}}', 'Pending', 0, 0, 0, 5000, NULL, NULL), \
           ('8c4f5cae-9b63-4d2f-8e5a-4a2d3c9bae02', 'af2d48de-2ad7-42f8-a252-8422cd9e6078', \
           'TRD', 103, '{{}}', 'Pending', 0, 0, 0, 1000, 'engine-dead/1', 2000);"
    ))
    .expect("v3 file");
    drop(conn);
    let store = SqliteStore::open(&path, &SqliteOptions::default()).expect("upgrade");
    let backlog = store.backlog().wait().expect("backlog");
    assert_eq!(
        (backlog.pending, backlog.oldest_due),
        (2, Some(OffsetDateTime::UNIX_EPOCH + Duration::seconds(1))),
        "counted per queue; a claim in the file was its last process's, gone with it"
    );
    let claims = store
        .claim_due("a", t0(), Duration::minutes(1), ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    let got: Vec<(String, bool)> = claims
        .claimed
        .iter()
        .map(|c| (c.notification.id.to_string(), c.taken_over))
        .collect();
    assert_eq!(
        got,
        [
            ("8c4f5cae-9b63-4d2f-8e5a-4a2d3c9bae02".to_owned(), false),
            ("7b3e4b9e-8a52-4c1e-9d4f-3f1c2b8a9e01".to_owned(), false)
        ],
        "both due again, in due order"
    );
}

/// A version-6 file (queue rows with due times and claims in the rows) is
/// upgraded to version 7: a backing-off queue keeps its health, a claim in the
/// file is gone with the process that held it, and the queue is read from the
/// notifications.
#[test]
fn sqlite_upgrades_a_version_6_file_to_queues_in_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v6.db");
    let v6 = crate::store::sqlite::schema::as_of(6);
    let w = webhook("TRD", None);
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    conn.execute_batch(&format!(
        "{v6}\nPRAGMA user_version = 6;\n\
         INSERT INTO webhooks (id, pm_code, product_id, status, document) VALUES \
           ('{id}', 'TRD', NULL, 'active', '{document}');\n\
         INSERT INTO notifications (id, webhook_id, pm_code, event_code, body, status, \
           created_time, attempts, cycle_start, next_attempt_ms, claim, lease_until_ms) VALUES \
           ('8c4f5cae-9b63-4d2f-8e5a-4a2d3c9bae02', '{id}', 'TRD', 103, '{{}}', 'Pending', 0, 3, 0, \
            1000, 'engine-dead/1', 2000);\n\
         INSERT INTO webhook_queues (webhook_id, due_ms, pending, failures, backoff_since_ms, \
           backoff_until_ms, backoff_wait_ms) VALUES ('{id}', NULL, 1, 7, 0, 60000, 60000);",
        id = w.id,
        document = WebhookDocument::render(&w).as_str().replace('\'', "''"),
    ))
    .expect("v6 file");
    drop(conn);
    let store = SqliteStore::open(&path, &SqliteOptions::default()).expect("upgrade");
    let backlog = store.backlog().wait().expect("backlog");
    assert_eq!(
        (backlog.pending, backlog.backing_off),
        (1, 1),
        "the health row survives"
    );
    assert_eq!(
        backlog.oldest_due,
        Some(OffsetDateTime::UNIX_EPOCH + Duration::seconds(1))
    );
    let claim_at = |secs: i64| {
        store
            .claim_due(
                "a",
                OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs),
                Duration::minutes(1),
                ClaimLimits::upto(10),
            )
            .wait()
            .expect("claim")
    };
    assert!(
        claim_at(30).claimed.is_empty(),
        "backing off until the probe at 60 s"
    );
    let probe = claim_at(61);
    assert_eq!(
        probe
            .claimed
            .iter()
            .map(|c| (c.notification.id.to_string(), c.taken_over))
            .collect::<Vec<_>>(),
        [("8c4f5cae-9b63-4d2f-8e5a-4a2d3c9bae02".to_owned(), false)],
        "one probe; the old claim died with its process"
    );
}

/// The inbox is in the file: it is there after a restart.
#[test]
fn sqlite_keeps_the_inbox_across_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("inbox.db");
    let store = SqliteStore::open(&path, &SqliteOptions::default()).expect("open");
    assert!(store
        .capture("kept".into(), captured("PUT", "7"), InboxLimits::default())
        .wait()
        .expect("capture"));
    drop(store);
    let store = SqliteStore::open(&path, &SqliteOptions::default()).expect("reopen");
    assert_eq!(
        store.captured("kept".into()).wait().expect("captured"),
        [captured("PUT", "7")]
    );
}

#[test]
fn sqlite_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("newer.db");
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    conn.execute_batch("PRAGMA user_version = 99;")
        .expect("set version");
    drop(conn);
    let error = SqliteStore::open(&path, &SqliteOptions::default())
        .err()
        .expect("newer schema refused")
        .to_string();
    assert!(
        error.contains("newer.db") && error.contains("99"),
        "message: {error}"
    );
}

#[test]
fn sqlite_refuses_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![b'x'; 4096]).expect("write garbage");
    let error = SqliteStore::open(&path, &SqliteOptions::default())
        .err()
        .expect("garbage refused")
        .to_string();
    assert!(error.contains("garbage.db"), "message: {error}");
}

/// A notification whose webhook row is missing (it cannot happen through the
/// API: a reset deletes both) is parked, not left due for ever, so the engine
/// cannot spin on it.
#[test]
fn sqlite_parks_a_notification_without_its_webhook() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("orphan.db");
    let store = SqliteStore::open(&path, &SqliteOptions::default()).expect("open");
    let w = webhook("TRD", None);
    store
        .enqueue(vec![notification(&w, 101, t0())])
        .wait()
        .expect("enqueue");
    let lease = Duration::minutes(1);
    let claims = store
        .claim_due("a", t0(), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert_eq!(
        claims,
        Claims::default(),
        "parked: nothing to look at again"
    );
}

/// A write queued behind a reset in the same batch sees the empty database,
/// not the old index, and the reset is durable.
#[test]
fn sqlite_reset_orders_within_a_batch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("reset.db"), &SqliteOptions::default()).expect("open"),
    );
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    // Queued back to back, so the writer takes them in one batch as often as not.
    let reset = store.reset(None);
    let after = set_status(&*store, w.id, None, WebhookStatus::Inactive, t0());
    assert_eq!(reset.wait().expect("reset").webhooks, 1);
    assert!(
        matches!(after.wait(), Err(StoreError::NotFound)),
        "a change after the reset finds nothing"
    );
    assert!(matches!(
        store.get(w.id, None).wait(),
        Err(StoreError::NotFound)
    ));
    drop(store);
    let reopened =
        SqliteStore::open(&dir.path().join("reset.db"), &SqliteOptions::default()).expect("open");
    assert!(
        reopened
            .documents(&pm("TRD"))
            .wait()
            .expect("list")
            .is_empty(),
        "the reset is durable"
    );
}
