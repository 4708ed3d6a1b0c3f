//! Crash safety and shutdown: `kill -9` or SIGTERM in the middle of a stream of
//! creates loses no create that was acknowledged, and leaves a database that
//! passes `integrity_check`; SIGTERM also exits 0.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::helpers::{client, webhook_body, TestApp};

const CLIENTS: u64 = 8;
/// Stop once this many creates were acknowledged, while the rest keep coming.
const KILL_AFTER: usize = 300;

/// How the service is stopped mid-stream.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// SIGKILL, as in a crash.
    Kill,
    /// SIGTERM, as a service manager stops it: must exit 0.
    Terminate,
}

async fn acknowledged_creates_survive(synchronous: &str, stop: Stop) {
    let mut app = TestApp::spawn_with(&[("WHM_DATABASE__SYNCHRONOUS", synchronous)]).await;
    let acknowledged: Rc<RefCell<Vec<String>>> = Rc::default();
    let url = app.url("/api/v1/Webhooks");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|k| {
            let (url, acknowledged) = (url.clone(), Rc::clone(&acknowledged));
            actix_rt::spawn(async move {
                let client = client();
                for i in 0.. {
                    let body =
                        webhook_body(Some(k * 1_000_000 + i), "https://client.example/webhook");
                    let sent = client
                        .post(&url)
                        .insert_header(("X-PM-Code", "CRSH"))
                        .send_json(&body)
                        .await;
                    let Ok(mut response) = sent else { break };
                    if response.status().as_u16() != 201 {
                        break;
                    }
                    let Ok(created) = response.json::<serde_json::Value>().await else {
                        break;
                    };
                    let id = created["response"]["webhookId"]
                        .as_str()
                        .expect("id")
                        .to_owned();
                    acknowledged.borrow_mut().push(id);
                }
            })
        })
        .collect();
    for _ in 0..1000 {
        if acknowledged.borrow().len() >= KILL_AFTER {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    match stop {
        Stop::Kill => app.kill(),
        Stop::Terminate => {
            let status = app.terminate();
            assert!(status.success(), "SIGTERM exits 0, got {status}");
        }
    }
    for client in clients {
        client.await.expect("client task");
    }
    let acknowledged = acknowledged.take();
    assert!(
        acknowledged.len() >= KILL_AFTER,
        "creates were flowing: {}",
        acknowledged.len()
    );

    let db = app.dir.path().join("webhook-manager.db");
    let conn = rusqlite::Connection::open(&db).expect("open after kill");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok", "synchronous={synchronous}, {stop:?}");
    drop(conn);

    let app = app.restart().await;
    let stored = app.list_ids("CRSH").await;
    let stored: std::collections::HashSet<&str> = stored.iter().map(String::as_str).collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "synchronous={synchronous}, {stop:?}: {} of {} acknowledged creates lost",
        lost.len(),
        acknowledged.len()
    );
}

#[actix_rt::test]
async fn acknowledged_creates_survive_kill_9_with_synchronous_full() {
    acknowledged_creates_survive("full", Stop::Kill).await;
}

#[actix_rt::test]
async fn acknowledged_creates_survive_kill_9_with_synchronous_normal() {
    acknowledged_creates_survive("normal", Stop::Kill).await;
}

#[actix_rt::test]
async fn sigterm_during_creates_exits_0_and_loses_no_acknowledged_create() {
    acknowledged_creates_survive("normal", Stop::Terminate).await;
}
