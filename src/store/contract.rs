//! The repository contract: the same tests run against every backend.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Waker};
use std::thread;

use serde_json::json;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

use super::sqlite::{SqliteOptions, Synchronous};
use super::{
    AlertChange, ClaimLimits, ClaimRequest, Claimed, Claims, Cleared, GivingUp, Inboxes, LogFilter,
    LogPage, LogScan, MemoryStore, Outbox, RecordRules, Recorded, Repository, SqliteStore, Store,
    StoreError, StoreFuture,
};
use std::collections::BTreeMap;

use crate::domain::inbox::{Captured, InboxLimits};
use crate::domain::{
    configuration, AlertState, Attempt, AttemptOutcome, Backoff, ClaimToken, ConfigId, ConfigSpec,
    ConfigStatus, Configuration, CustomHeaders, EventCode, EventSet, FraudAlert, FraudAlertId,
    FraudAnswer, GiveUp, HealthStatus, Heartbeat, Notification, NotificationId, NotificationStatus,
    PmCode, ProductId, QueueHealth, ReceiverReply, Refusal, Resend, Webhook, WebhookConfig,
    WebhookDocument, WebhookId, WebhookKeys, WebhookSpec, WebhookStatus, WebhookUrl,
};

// The domain's rules, applied through the store as the handlers apply them.
fn set_status(
    repo: &dyn Store,
    id: WebhookId,
    scope: Option<&PmCode>,
    status: WebhookStatus,
    now: OffsetDateTime,
) -> StoreFuture<Webhook> {
    repo.modify(id, scope, Box::new(move |w| w.set_status(status, now)))
}

fn replace(
    repo: &dyn Store,
    id: WebhookId,
    scope: Option<&PmCode>,
    spec: WebhookSpec,
    now: OffsetDateTime,
) -> StoreFuture<Webhook> {
    repo.modify(id, scope, Box::new(move |w| w.replace(None, spec, now)))
}

fn subscribe(
    repo: &dyn Store,
    id: WebhookId,
    scope: Option<&PmCode>,
    events: EventSet,
    now: OffsetDateTime,
) -> StoreFuture<Webhook> {
    repo.modify(id, scope, Box::new(move |w| w.subscribe(&events, now)))
}

fn unsubscribe(
    repo: &dyn Store,
    id: WebhookId,
    scope: Option<&PmCode>,
    code: EventCode,
    now: OffsetDateTime,
) -> StoreFuture<Webhook> {
    repo.modify(id, scope, Box::new(move |w| w.unsubscribe(code, now)))
}

fn record_heartbeat(repo: &dyn Store, id: WebhookId, heartbeat: Heartbeat) -> StoreFuture<Webhook> {
    repo.modify(
        id,
        None,
        Box::new(move |w| {
            w.record_heartbeat(heartbeat);
            Ok(())
        }),
    )
}

fn pm(code: &str) -> PmCode {
    PmCode::parse(code).expect("valid pm code")
}

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_706_138_428).expect("valid time")
}

fn spec(product: Option<u64>) -> WebhookSpec {
    WebhookSpec {
        product_id: product.map(ProductId::from_stored),
        events: [101, 102]
            .into_iter()
            .map(|n| EventCode::from_number(n, "events").expect("catalogued"))
            .collect(),
        status: None,
        config: WebhookConfig {
            url: WebhookUrl::parse("https://client.example/webhook", false).expect("valid url"),
            custom_headers: CustomHeaders::from_json(&json!({"ApiKey": "secret-1"}))
                .expect("valid headers"),
        },
    }
}

fn webhook(pm_code: &str, product: Option<u64>) -> Webhook {
    Webhook::create(WebhookId::generate(), pm(pm_code), spec(product), t0())
}

fn code(n: i64) -> EventCode {
    EventCode::from_number(n, "events").expect("catalogued")
}

fn create_then_get_returns_the_same_webhook(repo: &dyn Store) {
    let w = webhook("TRD", Some(1));
    repo.create(w.clone()).wait().expect("create");
    assert_eq!(*repo.get(w.id, None).wait().expect("get unscoped"), w);
    assert_eq!(
        *repo.get(w.id, Some(&pm("TRD"))).wait().expect("get scoped"),
        w
    );
}

/// A trigger judges a program manager's webhooks on their keys: every one of
/// its own, oldest first, with its product and its status as stored now.
fn keys_are_one_program_managers_in_creation_order(repo: &dyn Store) {
    let first = repo.create(webhook("TRD", None)).wait().expect("create");
    repo.create(webhook("ABC", None)).wait().expect("create");
    let second = repo.create(webhook("TRD", Some(3))).wait().expect("create");
    let inactive = Box::new(|w: &mut Webhook| w.set_status(WebhookStatus::Inactive, t0()));
    repo.modify(second.id, None, inactive)
        .wait()
        .expect("inactive");
    let keys = repo.keys(&pm("TRD")).wait().expect("keys");
    assert_eq!(
        keys,
        [
            WebhookKeys {
                id: first.id,
                product_id: None,
                status: WebhookStatus::Active,
            },
            WebhookKeys {
                id: second.id,
                product_id: Some(ProductId::from_stored(3)),
                status: WebhookStatus::Inactive,
            },
        ]
    );
    assert!(repo.keys(&pm("NON")).wait().expect("keys").is_empty());
}

fn another_pm_sees_nothing(repo: &dyn Store) {
    let w = webhook("TRD", Some(1));
    repo.create(w.clone()).wait().expect("create");
    let other = pm("ABC");
    assert!(
        matches!(
            repo.get(w.id, Some(&other)).wait(),
            Err(StoreError::NotFound)
        ),
        "get"
    );
    assert!(repo.list(&other).wait().expect("list").is_empty(), "list");
    let modified = set_status(repo, w.id, Some(&other), WebhookStatus::Inactive, t0()).wait();
    assert!(matches!(modified, Err(StoreError::NotFound)), "modify");
    assert_eq!(
        repo.get(w.id, None).wait().expect("get").status,
        WebhookStatus::Active,
        "unchanged"
    );
}

fn missing_webhook_is_not_found(repo: &dyn Store) {
    let id = WebhookId::generate();
    assert!(
        matches!(repo.get(id, None).wait(), Err(StoreError::NotFound)),
        "get"
    );
    let result = replace(repo, id, None, spec(None), t0()).wait();
    assert!(matches!(result, Err(StoreError::NotFound)), "replace");
}

fn one_webhook_per_pm_and_product(repo: &dyn Store) {
    repo.create(webhook("TRD", Some(7)))
        .wait()
        .expect("first product webhook");
    repo.create(webhook("TRD", None))
        .wait()
        .expect("first pm-level webhook");
    repo.create(webhook("ABC", Some(7)))
        .wait()
        .expect("same product, other pm");
    repo.create(webhook("TRD", Some(8)))
        .wait()
        .expect("other product");
    assert!(
        matches!(
            repo.create(webhook("TRD", Some(7))).wait(),
            Err(StoreError::Duplicate)
        ),
        "same product"
    );
    assert!(
        matches!(
            repo.create(webhook("TRD", None)).wait(),
            Err(StoreError::Duplicate)
        ),
        "second pm-level"
    );
    assert_eq!(
        repo.list(&pm("TRD")).wait().expect("list").len(),
        3,
        "nothing half-stored"
    );
}

fn replace_cannot_take_another_webhooks_key(repo: &dyn Store) {
    let a = webhook("TRD", Some(1));
    let b = webhook("TRD", Some(2));
    repo.create(a.clone()).wait().expect("a");
    repo.create(b.clone()).wait().expect("b");
    let result = replace(repo, b.id, None, spec(Some(1)), t0() + Duration::seconds(5)).wait();
    assert!(
        matches!(result, Err(StoreError::Duplicate)),
        "got {result:?}"
    );
    assert_eq!(*repo.get(b.id, None).wait().expect("b"), b, "b unchanged");
}

fn list_is_in_creation_order(repo: &dyn Store) {
    let created: Vec<Webhook> = [5, 1, 9, 3]
        .into_iter()
        .map(|p| webhook("TRD", Some(p)))
        .collect();
    for w in &created {
        repo.create(w.clone()).wait().expect("create");
    }
    repo.create(webhook("ABC", Some(1)))
        .wait()
        .expect("other pm");
    let listed = repo.list(&pm("TRD")).wait().expect("list");
    let ids: Vec<WebhookId> = listed.iter().map(|w| w.id).collect();
    let expected: Vec<WebhookId> = created.iter().map(|w| w.id).collect();
    assert_eq!(ids, expected);
}

/// An event's candidates: active, of its program manager, for its product or
/// for none, oldest first.
fn active_for_selects_an_events_candidates(repo: &dyn Store) {
    let a = repo.create(webhook("TRD", None)).wait().expect("a");
    let b = repo.create(webhook("TRD", Some(1))).wait().expect("b");
    let c = repo.create(webhook("TRD", Some(2))).wait().expect("c");
    let d = repo.create(webhook("ABC", Some(1))).wait().expect("d");
    set_status(repo, c.id, None, WebhookStatus::Inactive, t0())
        .wait()
        .expect("c inactive");
    let ids = |code: &str, product: Option<u64>| -> Vec<WebhookId> {
        repo.active_for(&pm(code), product.map(ProductId::from_stored))
            .wait()
            .expect("active_for")
            .iter()
            .map(|w| w.id)
            .collect()
    };
    assert_eq!(ids("TRD", Some(1)), vec![a.id, b.id]);
    assert_eq!(
        ids("TRD", Some(2)),
        vec![a.id],
        "an inactive webhook is no candidate"
    );
    assert_eq!(ids("TRD", None), vec![a.id]);
    assert_eq!(ids("ABC", Some(1)), vec![d.id]);
    assert!(ids("ABC", None).is_empty());
    assert!(ids("NONE", Some(1)).is_empty());
}

/// Documents: each is the webhook as stored, rendered (after a change too),
/// scoped like `get`, listed in creation order.
fn documents_are_the_stored_webhooks_rendered(repo: &dyn Store) {
    let rendered = |w: &Webhook| -> serde_json::Value {
        serde_json::from_str(WebhookDocument::render(w).as_str()).expect("rendered")
    };
    let read = |d: &WebhookDocument| -> serde_json::Value {
        serde_json::from_str(d.as_str()).expect("stored document is JSON")
    };
    let a = repo.create(webhook("TRD", Some(1))).wait().expect("a");
    let b = repo.create(webhook("TRD", None)).wait().expect("b");
    repo.create(webhook("ABC", Some(1)))
        .wait()
        .expect("other pm");
    assert_eq!(
        read(&repo.document(a.id, None).wait().expect("a")),
        rendered(&a)
    );
    let later = t0() + Duration::seconds(60);
    let b = set_status(repo, b.id, None, WebhookStatus::Inactive, later)
        .wait()
        .expect("set inactive");
    let beat = Heartbeat {
        health_status: HealthStatus::Healthy,
        http_status: Some(200),
        latency_ms: 3,
        error: None,
        checked_time: later,
    };
    let b = record_heartbeat(repo, b.id, beat)
        .wait()
        .expect("heartbeat");
    let doc = repo.document(b.id, Some(&pm("TRD"))).wait().expect("b");
    assert_eq!(read(&doc), rendered(&b), "the document follows each change");
    assert_eq!(doc.webhook().expect("reads back"), b);
    assert!(matches!(
        repo.document(b.id, Some(&pm("ABC"))).wait(),
        Err(StoreError::NotFound)
    ));
    let listed: Vec<_> = repo
        .documents(&pm("TRD"))
        .wait()
        .expect("documents")
        .iter()
        .map(read)
        .collect();
    assert_eq!(listed, vec![rendered(&a), rendered(&b)]);
    assert!(repo.documents(&pm("NONE")).wait().expect("none").is_empty());
}

fn replace_clears_what_is_left_out_and_keeps_created_time(repo: &dyn Store) {
    let w = webhook("TRD", Some(1));
    repo.create(w.clone()).wait().expect("create");
    let later = t0() + Duration::seconds(60);
    let mut new_spec = spec(None);
    new_spec.events = EventSet::default();
    new_spec.config.custom_headers = CustomHeaders::default();
    let replaced = replace(repo, w.id, None, new_spec, later)
        .wait()
        .expect("replace");
    assert_eq!(replaced.product_id, None);
    assert!(replaced.events.is_empty());
    assert!(replaced.config.custom_headers.as_map().is_empty());
    assert_eq!(
        replaced.status,
        WebhookStatus::Active,
        "status kept when not given"
    );
    assert_eq!(replaced.created_time, t0());
    assert_eq!(replaced.last_modified_time, later);
    assert_eq!(
        *repo.get(w.id, None).wait().expect("get"),
        replaced,
        "stored as returned"
    );
}

fn status_changes_and_same_status_is_refused(repo: &dyn Store) {
    let w = webhook("TRD", None);
    repo.create(w.clone()).wait().expect("create");
    let same = set_status(repo, w.id, None, WebhookStatus::Active, t0()).wait();
    assert!(
        matches!(
            same,
            Err(StoreError::Refused(Refusal::SameStatus(
                WebhookStatus::Active
            )))
        ),
        "got {same:?}"
    );
    let later = t0() + Duration::seconds(1);
    let changed = set_status(repo, w.id, None, WebhookStatus::Inactive, later)
        .wait()
        .expect("inactive");
    assert_eq!(changed.status, WebhookStatus::Inactive);
    assert_eq!(changed.last_modified_time, later);
    assert_eq!(
        repo.get(w.id, None).wait().expect("get").status,
        WebhookStatus::Inactive
    );
}

fn subscriptions_add_all_or_nothing_and_remove(repo: &dyn Store) {
    let w = webhook("TRD", None);
    repo.create(w.clone()).wait().expect("create");
    let both: EventSet = [code(103), code(101)].into_iter().collect();
    let result = subscribe(repo, w.id, None, both, t0()).wait();
    assert!(
        matches!(result, Err(StoreError::Refused(Refusal::AlreadySubscribed(c))) if c == code(101)),
        "got {result:?}"
    );
    assert!(
        !repo
            .get(w.id, None)
            .wait()
            .expect("get")
            .events
            .contains(code(103)),
        "103 not half-added"
    );

    let new: EventSet = [code(103), code(117)].into_iter().collect();
    let added = subscribe(repo, w.id, None, new, t0())
        .wait()
        .expect("subscribe");
    let codes: Vec<u16> = added.events.iter().map(EventCode::value).collect();
    assert_eq!(codes, vec![101, 102, 103, 117]);

    let removed = unsubscribe(repo, w.id, None, code(102), t0())
        .wait()
        .expect("unsubscribe");
    assert!(!removed.events.contains(code(102)));
    let again = unsubscribe(repo, w.id, None, code(102), t0()).wait();
    assert!(
        matches!(again, Err(StoreError::Refused(Refusal::NotSubscribed(c))) if c == code(102)),
        "got {again:?}"
    );
}

fn heartbeat_is_kept_without_touching_last_modified(repo: &dyn Store) {
    let w = webhook("TRD", None);
    repo.create(w.clone()).wait().expect("create");
    let heartbeat = Heartbeat {
        health_status: HealthStatus::Unhealthy,
        http_status: Some(503),
        latency_ms: 12,
        error: Some("HTTP 503".into()),
        checked_time: t0() + Duration::seconds(30),
    };
    record_heartbeat(repo, w.id, heartbeat.clone())
        .wait()
        .expect("record");
    let stored = repo.get(w.id, None).wait().expect("get");
    assert_eq!(stored.last_heartbeat, Some(heartbeat));
    assert_eq!(stored.last_modified_time, w.last_modified_time);
}

fn concurrent_creates_for_one_key_have_one_winner(repo: Arc<dyn Store>) {
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let repo = Arc::clone(&repo);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let w = webhook("RACE", Some(42));
                barrier.wait();
                repo.create(w.clone()).wait()
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let won = results.iter().filter(|r| r.is_ok()).count();
    let duplicates = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Duplicate)))
        .count();
    assert_eq!((won, duplicates), (1, 7), "results: {results:?}");
}

fn a_failing_write_does_not_fail_the_writes_committed_with_it(repo: Arc<dyn Store>) {
    repo.create(webhook("MIX", Some(0)))
        .wait()
        .expect("the contested key");
    let barrier = Arc::new(Barrier::new(32));
    let handles: Vec<_> = (0..32u64)
        .map(|i| {
            let repo = Arc::clone(&repo);
            let barrier = Arc::clone(&barrier);
            // Odd threads reuse the taken key; even ones have keys of their own.
            let product = if i % 2 == 1 { 0 } else { i + 1 };
            thread::spawn(move || {
                barrier.wait();
                (product, repo.create(webhook("MIX", Some(product))).wait())
            })
        })
        .collect();
    for handle in handles {
        let (product, result) = handle.join().expect("thread");
        match product {
            0 => assert!(
                matches!(result, Err(StoreError::Duplicate)),
                "product 0: {result:?}"
            ),
            _ => assert!(result.is_ok(), "product {product}: {result:?}"),
        }
    }
    assert_eq!(repo.list(&pm("MIX")).wait().expect("list").len(), 17);
}

fn reset_forgets_every_webhook(repo: &dyn Store) {
    let a = repo.create(webhook("TRD", Some(1))).wait().expect("create");
    repo.create(webhook("ABC", None)).wait().expect("create");
    let cleared = repo.reset(None).wait().expect("reset");
    assert_eq!(cleared.webhooks, 2);
    assert!(matches!(
        repo.get(a.id, None).wait(),
        Err(StoreError::NotFound)
    ));
    assert!(repo.list(&pm("TRD")).wait().expect("list").is_empty());
    repo.create(webhook("TRD", Some(1)))
        .wait()
        .expect("the key is free again");
    assert_eq!(repo.reset(None).wait().expect("reset").webhooks, 1);
}

macro_rules! contract_suite {
    ($backend:ident, $make:expr) => {
        contract_suite!($backend, $make, claims_on_record = true);
    };
    ($backend:ident, $make:expr, claims_on_record = $claims_on_record:expr) => {
        mod $backend {
            use super::*;

            /// Runs `test` on a new store; a backend that is not there
            /// (PostgreSQL not installed) says SKIPPED and runs nothing.
            #[allow(unused_variables)]
            fn with_repo(test: impl FnOnce(Arc<dyn Store>)) {
                let dir = tempfile::tempdir().expect("temp dir");
                let made: Result<Arc<dyn Store>, String> = $make(dir.path());
                match made {
                    Ok(repo) => test(repo),
                    Err(why) => eprintln!("SKIPPED ({}): {why}", stringify!($backend)),
                }
            }

            #[test]
            fn notification_scoping() {
                with_repo(|r| another_pm_sees_no_notifications(&*r));
            }
            #[test]
            fn reset() {
                with_repo(|r| reset_forgets_every_webhook(&*r));
            }
            #[test]
            fn create_then_get() {
                with_repo(|r| create_then_get_returns_the_same_webhook(&*r));
            }
            #[test]
            fn scoping() {
                with_repo(|r| another_pm_sees_nothing(&*r));
            }
            #[test]
            fn keys() {
                with_repo(|r| keys_are_one_program_managers_in_creation_order(&*r));
            }
            #[test]
            fn missing() {
                with_repo(|r| missing_webhook_is_not_found(&*r));
            }
            #[test]
            fn uniqueness() {
                with_repo(|r| one_webhook_per_pm_and_product(&*r));
            }
            #[test]
            fn replace_uniqueness() {
                with_repo(|r| replace_cannot_take_another_webhooks_key(&*r));
            }
            #[test]
            fn list_order() {
                with_repo(|r| list_is_in_creation_order(&*r));
            }
            #[test]
            fn replace() {
                with_repo(|r| replace_clears_what_is_left_out_and_keeps_created_time(&*r));
            }
            #[test]
            fn documents() {
                with_repo(|r| documents_are_the_stored_webhooks_rendered(&*r));
            }
            #[test]
            fn active_for() {
                with_repo(|r| active_for_selects_an_events_candidates(&*r));
            }
            #[test]
            fn status() {
                with_repo(|r| status_changes_and_same_status_is_refused(&*r));
            }
            #[test]
            fn subscriptions() {
                with_repo(|r| subscriptions_add_all_or_nothing_and_remove(&*r));
            }
            #[test]
            fn heartbeat() {
                with_repo(|r| heartbeat_is_kept_without_touching_last_modified(&*r));
            }
            #[test]
            fn concurrent_creates() {
                with_repo(concurrent_creates_for_one_key_have_one_winner);
            }
            #[test]
            fn outbox_reads_and_resend() {
                with_repo(|r| super::outbox_reads_and_resend(&*r));
            }
            #[test]
            fn recent_finals() {
                with_repo(|r| recorded_attempts_answer_the_recent_final_statuses(&*r));
            }
            #[test]
            fn resend_needs_active() {
                with_repo(|r| resend_needs_an_active_webhook_in_scope(&*r));
            }
            #[test]
            fn refused_change() {
                with_repo(|r| a_refused_change_writes_nothing(&*r));
            }
            #[test]
            fn claims() {
                with_repo(|r| claims_follow_due_order_and_leases(&*r));
            }
            #[test]
            fn per_webhook_room() {
                with_repo(|r| a_full_queue_does_not_hold_up_another(&*r));
            }
            #[test]
            fn record_and_claim() {
                with_repo(|r| recording_claims_the_next_in_the_same_write(&*r, $claims_on_record));
            }
            #[test]
            fn deliver_now() {
                with_repo(|r| deliver_now_makes_a_waiting_notification_due(&*r));
            }
            #[test]
            fn recent() {
                with_repo(|r| recent_lists_newest_first_in_pages_with_filters(&*r));
            }
            #[test]
            fn backoff() {
                with_repo(|r| a_failing_queue_backs_off_and_probes_one_at_a_time(&*r));
            }

            #[test]
            fn give_up() {
                with_repo(|r| waiting_notifications_give_up_when_their_schedule_runs_out(&*r));
            }
            #[test]
            fn suspended() {
                with_repo(|r| a_suspended_webhooks_notifications_end_as_they_come_due(&*r));
            }
            #[test]
            fn parking() {
                with_repo(|r| inactive_webhooks_park_their_notifications(&*r));
            }
            #[test]
            fn purge() {
                with_repo(|r| purge_deletes_old_final_notifications_only(&*r));
            }
            #[test]
            fn reset_notifications() {
                with_repo(|r| reset_deletes_notifications(&*r));
            }
            #[test]
            fn remove() {
                with_repo(|r| removing_a_webhook_takes_only_it_and_what_is_stored_about_it(&*r));
            }
            #[test]
            fn scoped_reset() {
                with_repo(|r| a_scoped_reset_leaves_other_program_managers(&*r));
            }
            #[test]
            fn inboxes() {
                with_repo(|r| inboxes_keep_their_newest_within_limits(&*r));
            }
            #[test]
            fn fraud_alerts() {
                with_repo(|r| fraud_alerts_are_answered_once_expired_once_and_purged(&*r));
            }
            #[test]
            fn configurations() {
                with_repo(|r| configurations_are_scoped_changed_in_place_and_bounded(&*r));
            }
            #[test]
            fn failures_stay_alone() {
                with_repo(a_failing_write_does_not_fail_the_writes_committed_with_it);
            }
        }
    };
}

contract_suite!(memory, |_dir: &std::path::Path| Ok(
    Arc::new(MemoryStore::new()) as Arc<dyn Store>
));
contract_suite!(sqlite, |dir: &std::path::Path| Ok(Arc::new(
    SqliteStore::open(&dir.join("contract.db"), &SqliteOptions::default()).expect("open sqlite")
) as Arc<dyn Store>));
contract_suite!(sqlite_normal, |dir: &std::path::Path| Ok(Arc::new(
    SqliteStore::open(
        &dir.join("contract.db"),
        &SqliteOptions {
            synchronous: Synchronous::Normal,
            max_batch: 4,
            ..SqliteOptions::default()
        }
    )
    .expect("open sqlite")
)
    as Arc<dyn Store>));
contract_suite!(
    postgres,
    |_dir: &std::path::Path| {
        crate::store::postgres::throwaway::database().map(|url| {
            Arc::new(
                crate::store::PgStore::open(&url, &crate::store::postgres::PgOptions::default())
                    .expect("open postgres"),
            ) as Arc<dyn Store>
        })
    },
    claims_on_record = false
);

/// The backoff rule of the tests that are not about it: it never starts.
const BACKOFF: Backoff = Backoff {
    after: 1000,
    first: Duration::seconds(5),
    max: Duration::seconds(60),
    suspend_after: Duration::hours(1),
};

/// The rules of the tests that are not about them.
const RULES: RecordRules = RecordRules {
    recent: 5,
    backoff: BACKOFF,
};

/// The ids of claimed notifications, in the order claimed.
fn ids_of(claimed: &[Claimed]) -> Vec<NotificationId> {
    claimed.iter().map(|c| c.notification.id).collect()
}

/// Records an attempt the way an engine does: it claims the notification first.
fn record(
    store: &dyn Store,
    id: NotificationId,
    attempt: Attempt,
    outcome: AttemptOutcome,
    recent: u32,
) -> Result<Recorded, StoreError> {
    let token = claim(store, id)?;
    store
        .record_attempt(
            id,
            &token,
            attempt,
            outcome,
            RecordRules {
                recent,
                backoff: BACKOFF,
            },
        )
        .wait()
}

/// Claims `id`, with every other due notification, at a time after every
/// earlier claim's lease (so those are taken over): `NotFound` if it is not due.
fn claim(store: &dyn Store, id: NotificationId) -> Result<ClaimToken, StoreError> {
    static TICK: AtomicI64 = AtomicI64::new(0);
    let tick = TICK.fetch_add(1, AtomicOrdering::Relaxed);
    let now = t0() + Duration::days(1000) + Duration::minutes(10 * tick);
    store
        .claim_due(
            "contract",
            now,
            Duration::minutes(1),
            ClaimLimits::upto(u32::MAX),
        )
        .wait()?
        .claimed
        .into_iter()
        .find(|c| c.notification.id == id)
        .map(|c| c.token)
        .ok_or(StoreError::NotFound)
}

/// Whether the waker was notified since it was last looked at (a notification
/// while nobody waits is kept as one permit, which this takes).
fn woken(waker: &Notify) -> bool {
    let notified = std::pin::pin!(waker.notified());
    let mut cx = Context::from_waker(Waker::noop());
    notified.poll(&mut cx).is_ready()
}

fn notification(owner: &Webhook, event: i64, at: OffsetDateTime) -> Notification {
    Notification::new(
        owner.id,
        owner.pm_code.clone(),
        code(event),
        NotificationId::generate(),
        "{}".into(),
        at,
    )
}

fn failed(time: OffsetDateTime) -> Attempt {
    Attempt {
        time,
        http_status: Some(500),
        error: Some("HTTP 500".into()),
        latency_ms: 1,
        request_headers: BTreeMap::new(),
        reply: None,
    }
}

/// What the suspension rule reads: the statuses of the webhook's latest
/// notifications to become final, newest first, and only when an attempt made
/// one final. A resent notification leaves that history until it is final again.
fn recorded_attempts_answer_the_recent_final_statuses(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let other = store
        .create(webhook("TRD", Some(3)))
        .wait()
        .expect("create");
    let ns: Vec<Notification> = (0..4)
        .map(|i| notification(&w, 101, t0() + Duration::seconds(i)))
        .collect();
    let elsewhere = notification(&other, 101, t0());
    let mut all = ns.clone();
    all.push(elsewhere.clone());
    store.enqueue(all).wait().expect("enqueue");
    let record =
        |n: &Notification, outcome| record(store, n.id, failed(t0()), outcome, 3).expect("record");
    let retry = AttemptOutcome::RetryAt(t0() + Duration::seconds(5));
    assert_eq!(
        record(&ns[0], retry),
        Recorded {
            webhook_id: w.id,
            recent_final: vec![],
            queue: QueueHealth {
                failures: 1,
                ..QueueHealth::default()
            },
        },
        "still pending"
    );
    let statuses = |outcome| record(&ns[0], outcome).recent_final;
    assert_eq!(
        statuses(AttemptOutcome::Undelivered),
        [NotificationStatus::Undelivered]
    );
    assert_eq!(
        record(&elsewhere, AttemptOutcome::Undelivered).recent_final,
        [NotificationStatus::Undelivered],
        "per webhook"
    );
    assert_eq!(
        record(&ns[1], AttemptOutcome::Delivered).recent_final,
        [],
        "only an undelivered notification needs the history (domain::suspends)"
    );
    record(&ns[2], AttemptOutcome::Undelivered);
    assert_eq!(
        record(&ns[3], AttemptOutcome::Gone).recent_final,
        [
            NotificationStatus::Undelivered,
            NotificationStatus::Undelivered,
            NotificationStatus::Delivered
        ],
        "newest first, at most as many as asked"
    );
    assert!(
        matches!(
            store
                .record_attempt(
                    ns[3].id,
                    &ClaimToken::new("nobody"),
                    failed(t0()),
                    AttemptOutcome::Delivered,
                    RecordRules {
                        recent: 3,
                        backoff: BACKOFF
                    },
                )
                .wait(),
            Err(StoreError::NotificationNotFound)
        ),
        "a final notification takes no more attempts"
    );
    let (_, attempts) = &store
        .details(w.id, None, vec![ns[0].id])
        .wait()
        .expect("details")[0];
    assert_eq!(attempts.len(), 2, "every attempt is kept");

    store
        .resend(w.id, None, vec![ns[3].id, ns[2].id], t0())
        .wait()
        .expect("resend");
    assert_eq!(
        record(&ns[2], AttemptOutcome::Undelivered).recent_final,
        [
            NotificationStatus::Undelivered,
            NotificationStatus::Delivered,
            NotificationStatus::Undelivered
        ],
        "resent notifications left the history and come back when final again"
    );
}

/// The queue: due notifications are claimed soonest first, at most `limit`, each
/// once while its lease runs; after the lease another engine takes it over, and
/// the first engine's outcome is then refused; a retry is due again at its time.
fn claims_follow_due_order_and_leases(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let [n1, n2, n3] = [0, 1, 3600].map(|s| notification(&w, 101, t0() + Duration::seconds(s)));
    let waker = store.waker();
    let _ = woken(&waker);
    store
        .enqueue(vec![n2.clone(), n1.clone(), n3.clone()])
        .wait()
        .expect("enqueue");
    assert!(woken(&waker), "an enqueue wakes the engine");
    let lease = Duration::seconds(30);
    let at = |s: i64| t0() + Duration::seconds(s);
    let claims = |engine: &str, now, limit| {
        store
            .claim_due(engine, now, lease, ClaimLimits::upto(limit))
            .wait()
            .expect("claim")
    };
    let claim = |engine: &str, now, limit| claims(engine, now, limit).claimed;
    let first = claim("a", at(10), 1);
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].notification.id, first[0].taken_over),
        (n1.id, false),
        "soonest due first"
    );
    let second = claim("a", at(10), 10);
    assert_eq!(ids_of(&second), [n2.id], "n1 is held, n3 not due");
    assert_eq!(
        claims("b", at(20), 10),
        Claims {
            claimed: vec![],
            next: Some(at(40)),
            gave_up: vec![],
        },
        "held until the lease ends: look again then"
    );
    let b = claim("b", at(41), 10);
    assert_eq!(
        b.iter()
            .map(|c| (c.notification.id, c.taken_over))
            .collect::<Vec<_>>(),
        [(n1.id, true), (n2.id, true)]
    );
    let lost = store
        .record_attempt(
            n1.id,
            &first[0].token,
            failed(at(41)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait();
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "got {lost:?}");
    store
        .record_attempt(
            n1.id,
            &b[0].token,
            failed(at(42)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait()
        .expect("the holder records");
    store
        .record_attempt(
            n2.id,
            &b[1].token,
            failed(at(42)),
            AttemptOutcome::RetryAt(at(7200)),
            RULES,
        )
        .wait()
        .expect("a retry");
    assert_eq!(claims("c", at(43), 10).next, Some(at(3600)));
    let backlog = store.backlog().wait().expect("backlog");
    assert_eq!((backlog.pending, backlog.oldest_due), (2, Some(at(3600))));
    let third = claim("c", at(3601), 10);
    assert_eq!(ids_of(&third), [n3.id]);
    store
        .record_attempt(
            n3.id,
            &third[0].token,
            failed(at(3601)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait()
        .expect("recorded");
    assert_eq!(
        ids_of(&claim("c", at(7200), 10)),
        [n2.id],
        "the retry, at its time"
    );
}

/// Claims by queue: a webhook with many notifications due sooner takes no more
/// than its room, and another webhook's later notification is claimed in the
/// same call; an attempt recorded makes room again.
fn a_full_queue_does_not_hold_up_another(store: &dyn Store) {
    let busy = store.create(webhook("TRD", None)).wait().expect("create");
    let other = store
        .create(webhook("TRD", Some(7)))
        .wait()
        .expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let many: Vec<Notification> = (0..10).map(|i| notification(&busy, 101, at(i))).collect();
    let late = notification(&other, 101, at(50));
    let mut all = many.clone();
    all.push(late.clone());
    store.enqueue(all).wait().expect("enqueue");
    let lease = Duration::seconds(30);
    let limits = ClaimLimits {
        total: 10,
        per_webhook: 3,
        give_up: None,
    };
    let claims = |now| {
        store
            .claim_due("a", now, lease, limits.clone())
            .wait()
            .expect("claim")
    };
    let first = claims(at(60));
    assert_eq!(
        ids_of(&first.claimed),
        [many[0].id, many[1].id, many[2].id, late.id],
        "three of the busy webhook's, soonest first, then the other's"
    );
    assert_eq!(
        claims(at(61)),
        Claims {
            claimed: vec![],
            next: Some(at(90)),
            gave_up: vec![],
        },
        "no room: nothing more until an attempt ends (or the leases do)"
    );
    store
        .record_attempt(
            many[0].id,
            &first.claimed[0].token,
            failed(at(62)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait()
        .expect("record");
    let next = claims(at(62));
    assert_eq!(ids_of(&next.claimed), [many[3].id], "room for one more");
}

/// `record_and_claim` records like `record_attempt` and claims like
/// `claim_due`; when the record is refused (a lost claim), nothing is claimed.
/// Where the backend leaves a slot's next claim to the engine's loop
/// (`claims_on_record` false: PostgreSQL), the record claims nothing and the
/// loop's claim takes the next due instead.
fn recording_claims_the_next_in_the_same_write(store: &dyn Store, claims_on_record: bool) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let [a, b, c] = [0, 1, 2].map(|s| notification(&w, 101, at(s)));
    store
        .enqueue(vec![a.clone(), b.clone(), c.clone()])
        .wait()
        .expect("enqueue");
    let lease = Duration::seconds(30);
    let one = ClaimLimits::upto(1);
    let first = store
        .claim_due("e", at(5), lease, one.clone())
        .wait()
        .expect("claim");
    let request = |now| ClaimRequest {
        engine: "e".into(),
        now,
        lease,
        limits: one.clone(),
    };
    let rules = RULES;
    let lost = store
        .record_and_claim(
            a.id,
            &ClaimToken::new("other"),
            failed(at(6)),
            AttemptOutcome::Delivered,
            rules,
            request(at(6)),
        )
        .wait();
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "got {lost:?}");
    let (recorded, next) = store
        .record_and_claim(
            a.id,
            &first.claimed[0].token,
            failed(at(6)),
            AttemptOutcome::Delivered,
            rules,
            request(at(6)),
        )
        .wait()
        .expect("record and claim");
    assert_eq!(recorded.webhook_id, w.id);
    let next = if claims_on_record {
        next
    } else {
        assert_eq!(ids_of(&next.claimed), [], "the loop claims");
        store
            .claim_due("e", at(6), lease, one.clone())
            .wait()
            .expect("claim")
    };
    assert_eq!(
        ids_of(&next.claimed),
        [b.id],
        "the next due, and only one: the refused call claimed nothing"
    );
    let (a_stored, _) = &store
        .details(w.id, None, vec![a.id])
        .wait()
        .expect("details")[0];
    assert_eq!(a_stored.status, NotificationStatus::Delivered);
    let last = store
        .claim_due("e", at(7), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&last.claimed), [c.id]);
}

/// "Deliver now": a notification waiting for its retry is due at once, even
/// while its queue backs off (the next probe may go now); a final one is
/// refused, an unknown one or another webhook's is `NotFound`, and an inactive
/// webhook is refused.
fn deliver_now_makes_a_waiting_notification_due(store: &dyn Store) {
    let rule = Backoff {
        after: 1,
        ..BACKOFF
    };
    let w = store
        .create(webhook("TRD", Some(5)))
        .wait()
        .expect("create");
    let other = store
        .create(webhook("TRD", Some(4)))
        .wait()
        .expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let n = notification(&w, 101, at(0));
    store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    let lease = Duration::seconds(30);
    let claims = |now| {
        store
            .claim_due("e", now, lease, ClaimLimits::upto(10))
            .wait()
            .expect("claim")
    };
    let first = claims(at(1));
    let queue = store
        .record_attempt(
            n.id,
            &first.claimed[0].token,
            failed(at(1)),
            AttemptOutcome::RetryAt(at(3600)),
            RecordRules {
                recent: 5,
                backoff: rule,
            },
        )
        .wait()
        .expect("record")
        .queue;
    assert!(queue.backoff.is_some(), "backing off after one failure");
    assert!(claims(at(2)).claimed.is_empty(), "waiting for its retry");

    let now = store
        .deliver_now(w.id, None, n.id, at(2))
        .wait()
        .expect("deliver now");
    assert_eq!(now.next_attempt, Some(at(2)));
    assert_eq!(
        ids_of(&claims(at(2)).claimed),
        [n.id],
        "due now, and the probe may go now"
    );

    let missing = store
        .deliver_now(w.id, None, NotificationId::generate(), at(3))
        .wait();
    assert!(
        matches!(missing, Err(StoreError::NotificationNotFound)),
        "{missing:?}"
    );
    let elsewhere = store.deliver_now(other.id, None, n.id, at(3)).wait();
    assert!(
        matches!(elsewhere, Err(StoreError::NotificationNotFound)),
        "another webhook's notification: {elsewhere:?}"
    );

    let (_, done) = undelivered_one(store);
    let final_one = store
        .deliver_now(done.webhook_id, None, done.id, at(3))
        .wait();
    assert!(
        matches!(
            final_one,
            Err(StoreError::Refused(Refusal::NotPending("Undelivered")))
        ),
        "{final_one:?}"
    );
    set_status(store, w.id, None, WebhookStatus::Inactive, at(4))
        .wait()
        .expect("inactive");
    let inactive = store.deliver_now(w.id, None, n.id, at(5)).wait();
    assert!(
        matches!(inactive, Err(StoreError::Refused(Refusal::NotActive(_)))),
        "{inactive:?}"
    );
}

/// The delivery log: newest first, in pages that go on where the last one
/// stopped, each with its last attempt, and filtered by every field.
fn recent_lists_newest_first_in_pages_with_filters(store: &dyn Store) {
    let a = store
        .create(webhook("TRD", Some(1)))
        .wait()
        .expect("create");
    let b = store
        .create(webhook("ABC", Some(2)))
        .wait()
        .expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let ns = [
        notification(&a, 101, at(0)),
        notification(&b, 102, at(1)),
        notification(&a, 103, at(2)),
        notification(&a, 101, at(3)),
        notification(&b, 101, at(4)),
    ];
    for n in &ns {
        store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    }
    let first = store
        .claim_due("e", at(10), Duration::minutes(1), ClaimLimits::upto(1))
        .wait()
        .expect("claim");
    store
        .record_attempt(
            ns[0].id,
            &first.claimed[0].token,
            failed(at(10)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait()
        .expect("record");
    let ids = |page: &LogPage| page.entries.iter().map(|(n, _)| n.id).collect::<Vec<_>>();
    let all = LogFilter::default();
    let scan = |before: Option<u64>, limit: u32| LogScan {
        before,
        limit,
        window: 100,
    };
    let page1 = store
        .recent(None, all.clone(), scan(None, 2))
        .wait()
        .expect("recent");
    assert_eq!(ids(&page1), [ns[4].id, ns[3].id], "newest first");
    let page2 = store
        .recent(None, all.clone(), scan(page1.next, 2))
        .wait()
        .expect("recent");
    assert_eq!(ids(&page2), [ns[2].id, ns[1].id]);
    let page3 = store
        .recent(None, all.clone(), scan(page2.next, 2))
        .wait()
        .expect("recent");
    assert_eq!(ids(&page3), [ns[0].id]);
    assert_eq!(page3.next, None, "the last page");
    assert_eq!(page3.entries[0].0.status, NotificationStatus::Delivered);
    assert_eq!(
        page3.entries[0].1.as_ref().map(|a| a.time),
        Some(at(10)),
        "with its last attempt"
    );
    assert!(page1.entries.iter().all(|(_, last)| last.is_none()));

    let only = |filter: LogFilter| {
        store
            .recent(None, filter, scan(None, 10))
            .wait()
            .expect("recent")
    };
    assert_eq!(
        ids(&only(LogFilter {
            pm: Some(pm("ABC")),
            ..LogFilter::default()
        })),
        [ns[4].id, ns[1].id]
    );
    assert_eq!(
        ids(&only(LogFilter {
            webhook: Some(a.id),
            event: Some(code(101)),
            ..LogFilter::default()
        })),
        [ns[3].id, ns[0].id]
    );
    assert_eq!(
        ids(&only(LogFilter {
            status: Some(NotificationStatus::Delivered),
            ..LogFilter::default()
        })),
        [ns[0].id]
    );
    assert_eq!(
        ids(&only(LogFilter {
            id: Some(ns[2].id),
            ..LogFilter::default()
        })),
        [ns[2].id]
    );
    assert_eq!(
        ids(&only(LogFilter {
            since: Some(at(1)),
            until: Some(at(3)),
            ..LogFilter::default()
        })),
        [ns[2].id, ns[1].id],
        "created in [since, until)"
    );

    // A window of 2: a filter that matches only the oldest is found page by
    // page, each page reading 2 notifications at most.
    let delivered = LogFilter {
        status: Some(NotificationStatus::Delivered),
        ..LogFilter::default()
    };
    let mut before = None;
    let mut pages = Vec::new();
    loop {
        let page = store
            .recent(
                None,
                delivered.clone(),
                LogScan {
                    before,
                    limit: 10,
                    window: 2,
                },
            )
            .wait()
            .expect("recent");
        pages.push(ids(&page));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
        assert!(pages.len() < 10, "the pages end");
    }
    assert_eq!(pages, [vec![], vec![], vec![ns[0].id]]);
    // By id: found by key, outside any window.
    let by_id = store
        .recent(
            None,
            LogFilter {
                id: Some(ns[0].id),
                ..LogFilter::default()
            },
            LogScan {
                before: None,
                limit: 10,
                window: 1,
            },
        )
        .wait()
        .expect("recent");
    assert_eq!(ids(&by_id), [ns[0].id]);
}

/// Backoff: after `after` failed attempts in a row a webhook's queue yields
/// nothing until its probe time, then one probe at a time; a failed probe
/// doubles the wait, a delivered one ends the backoff and the queue drains.
/// Another webhook is claimed throughout. Setting the webhook active again
/// clears a backoff.
fn a_failing_queue_backs_off_and_probes_one_at_a_time(store: &dyn Store) {
    let rule = Backoff {
        after: 2,
        first: Duration::seconds(5),
        max: Duration::seconds(60),
        suspend_after: Duration::hours(1),
    };
    let dead = store.create(webhook("TRD", None)).wait().expect("create");
    let healthy = store
        .create(webhook("TRD", Some(7)))
        .wait()
        .expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let ns: Vec<Notification> = (0..5)
        .map(|i| notification(&dead, 101, at(0) + Duration::milliseconds(i)))
        .collect();
    store.enqueue(ns.clone()).wait().expect("enqueue");
    let lease = Duration::seconds(30);
    let limits = ClaimLimits {
        total: 10,
        per_webhook: 2,
        give_up: None,
    };
    let claims = |now| {
        store
            .claim_due("a", now, lease, limits.clone())
            .wait()
            .expect("claim")
    };
    let ids = |c: &Claims| ids_of(&c.claimed);
    let record = |c: &Claimed, time, outcome| {
        store
            .record_attempt(
                c.notification.id,
                &c.token,
                failed(time),
                outcome,
                RecordRules {
                    recent: 5,
                    backoff: rule,
                },
            )
            .wait()
            .expect("record")
            .queue
    };
    let later = AttemptOutcome::RetryAt(at(3600));

    let first = claims(at(1));
    assert_eq!(ids(&first), [ns[0].id, ns[1].id]);
    assert_eq!(record(&first.claimed[0], at(1), later).backoff, None);
    let queue = record(&first.claimed[1], at(1), later);
    assert_eq!(
        queue.backoff.map(|b| (b.since, b.until)),
        Some((at(1), at(6))),
        "two failures in a row: backing off until the first probe"
    );
    assert_eq!(store.backlog().wait().expect("backlog").backing_off, 1);

    let h1 = notification(&healthy, 101, at(2));
    store.enqueue(vec![h1.clone()]).wait().expect("enqueue");
    let during = claims(at(2));
    assert_eq!(ids(&during), [h1.id], "the other webhook is not held up");
    assert_eq!(during.next, Some(at(6)), "the probe time");
    record(&during.claimed[0], at(2), AttemptOutcome::Delivered);

    let probe = claims(at(6));
    assert_eq!(
        ids(&probe),
        [ns[2].id],
        "one probe, though there is room for two"
    );
    assert!(claims(at(7)).claimed.is_empty(), "one probe at a time");
    let queue = record(&probe.claimed[0], at(7), later);
    assert_eq!(
        queue.backoff.map(|b| (b.since, b.until)),
        Some((at(1), at(17))),
        "a failed probe doubles the wait"
    );
    assert!(claims(at(16)).claimed.is_empty());
    let probe = claims(at(17));
    assert_eq!(ids(&probe), [ns[3].id]);
    let queue = record(&probe.claimed[0], at(17), AttemptOutcome::Delivered);
    assert_eq!(
        queue,
        QueueHealth::default(),
        "a delivered probe ends the backoff"
    );
    assert_eq!(ids(&claims(at(18))), [ns[4].id], "the queue drains");

    // Back into backoff, then set inactive and active: the backoff is cleared.
    let n = notification(&dead, 101, at(20));
    store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    for time in [20, 21] {
        let c = claims(at(time));
        if let Some(c) = c.claimed.iter().find(|c| c.notification.id == n.id) {
            record(c, at(time), AttemptOutcome::RetryAt(at(time + 1)));
        }
    }
    assert_eq!(store.backlog().wait().expect("backlog").backing_off, 1);
    set_status(store, dead.id, None, WebhookStatus::Inactive, at(22))
        .wait()
        .expect("inactive");
    set_status(store, dead.id, None, WebhookStatus::Active, at(23))
        .wait()
        .expect("active");
    assert_eq!(store.backlog().wait().expect("backlog").backing_off, 0);
}

/// A backed-off queue does not stretch a schedule: at probe time, its due
/// notifications that waited past their schedule's end (`GiveUp`) end
/// `Undelivered` with no attempt spent, the claim answers them for the
/// suspension rule, and the probe is the soonest of the rest. Without the
/// rule (`ClaimLimits::upto`) nothing gives up.
fn waiting_notifications_give_up_when_their_schedule_runs_out(store: &dyn Store) {
    let rule = Backoff {
        after: 1,
        first: Duration::seconds(1),
        max: Duration::seconds(1),
        suspend_after: Duration::hours(1),
    };
    let dead = store.create(webhook("TRD", None)).wait().expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let old = notification(&dead, 101, at(0));
    let young = notification(&dead, 101, at(0) + Duration::milliseconds(1));
    let fresh = notification(&dead, 101, at(4));
    store
        .enqueue(vec![old.clone(), young.clone(), fresh.clone()])
        .wait()
        .expect("enqueue");
    let lease = Duration::seconds(30);
    let first = store
        .claim_due("a", at(0), lease, ClaimLimits::upto(1))
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&first.claimed), [old.id]);
    let recorded = store
        .record_attempt(
            old.id,
            &first.claimed[0].token,
            failed(at(0)),
            AttemptOutcome::RetryAt(at(1)),
            RecordRules {
                recent: 5,
                backoff: rule,
            },
        )
        .wait()
        .expect("record");
    assert!(recorded.queue.backoff.is_some(), "backing off");

    // A schedule of one 1 s wait: `young` (never attempted, due at 0) would
    // give up after 1.1 s, but it is the soonest due: the probe. `old` (one
    // failure, due at 1 s) gives up after 1 s; `fresh` (due at 4 s) waits on
    // till 5.1 s.
    let limits = ClaimLimits {
        give_up: Some(GivingUp {
            rule: GiveUp::new(&[1_000]),
            recent: 5,
        }),
        ..ClaimLimits::upto(10)
    };
    let probe = store
        .claim_due("a", at(5), lease, limits)
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&probe.claimed), [young.id], "the probe");
    assert_eq!(probe.gave_up.len(), 1, "{probe:?}");
    assert_eq!(probe.gave_up[0].webhook_id, dead.id);
    assert_eq!(
        probe.gave_up[0].recent_final,
        [NotificationStatus::Undelivered],
        "for the suspension rule"
    );
    let found = store
        .details(dead.id, None, vec![old.id, fresh.id])
        .wait()
        .expect("details");
    let status = |id| {
        found.iter().find(|(n, _)| n.id == id).map(|(n, attempts)| {
            (
                n.status,
                n.next_attempt.is_some(),
                n.attempts,
                attempts.len(),
            )
        })
    };
    assert_eq!(
        status(old.id),
        Some((NotificationStatus::Undelivered, false, 1, 1)),
        "gave up: no attempt spent"
    );
    assert_eq!(
        status(fresh.id),
        Some((NotificationStatus::Pending, true, 0, 0)),
        "still within its schedule"
    );
}

/// A suspended webhook's notifications end `Undelivered` as they come due
/// (listed as undelivered, to resend once it is active), unattempted; one
/// claimed before the suspension and given back ends the same way.
fn a_suspended_webhooks_notifications_end_as_they_come_due(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let claimed = notification(&w, 101, at(0));
    let due = notification(&w, 101, at(1));
    let later = notification(&w, 101, at(100));
    store
        .enqueue(vec![claimed.clone(), due.clone(), later.clone()])
        .wait()
        .expect("enqueue");
    let lease = Duration::seconds(30);
    let first = store
        .claim_due("a", at(0), lease, ClaimLimits::upto(1))
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&first.claimed), [claimed.id]);
    store
        .modify(
            w.id,
            None,
            Box::new(move |w| {
                w.suspend(at(2));
                Ok(())
            }),
        )
        .wait()
        .expect("suspend");
    store
        .park(claimed.id, first.claimed[0].token.clone())
        .wait()
        .expect("given back");
    let claims = store
        .claim_due("a", at(10), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert!(claims.claimed.is_empty(), "nothing is sent");
    let status = |id| {
        store
            .details(w.id, None, vec![id])
            .wait()
            .expect("details")
            .pop()
            .map(|(n, attempts)| (n.status, attempts.len()))
    };
    assert_eq!(
        status(claimed.id),
        Some((NotificationStatus::Undelivered, 0))
    );
    assert_eq!(status(due.id), Some((NotificationStatus::Undelivered, 0)));
    assert_eq!(
        status(later.id),
        Some((NotificationStatus::Pending, 0)),
        "not due yet"
    );
    store
        .claim_due("a", at(100), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert_eq!(status(later.id), Some((NotificationStatus::Undelivered, 0)));
}

/// A due notification of a webhook that is not active is parked, not claimed,
/// and comes back due when the webhook is set active; an engine that finds its
/// claimed notification's webhook inactive parks it under its claim.
fn inactive_webhooks_park_their_notifications(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let n = notification(&w, 101, t0());
    store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    let at = |s: i64| t0() + Duration::seconds(s);
    let lease = Duration::seconds(30);
    set_status(store, w.id, None, WebhookStatus::Inactive, at(5))
        .wait()
        .expect("inactive");
    assert_eq!(
        store
            .claim_due("a", at(10), lease, ClaimLimits::upto(10))
            .wait()
            .expect("claim"),
        Claims::default(),
        "parked: nothing claimed and nothing to wake for"
    );
    assert_eq!(
        store.backlog().wait().expect("backlog").pending,
        1,
        "still pending"
    );
    let waker = store.waker();
    let _ = woken(&waker);
    set_status(store, w.id, None, WebhookStatus::Active, at(20))
        .wait()
        .expect("active");
    assert!(woken(&waker), "setting it active wakes the engine");
    assert_eq!(
        store
            .claim_due("a", at(19), lease, ClaimLimits::upto(10))
            .wait()
            .expect("claim")
            .next,
        Some(at(20)),
        "due when it was set active"
    );
    let claimed = store
        .claim_due("a", at(20), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim")
        .claimed;
    assert_eq!(ids_of(&claimed), [n.id]);

    set_status(store, w.id, None, WebhookStatus::Inactive, at(21))
        .wait()
        .expect("inactive");
    let lost = store.park(n.id, ClaimToken::new("other")).wait();
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "got {lost:?}");
    store
        .park(n.id, claimed[0].token.clone())
        .wait()
        .expect("park");
    set_status(store, w.id, None, WebhookStatus::Active, at(30))
        .wait()
        .expect("active");
    assert_eq!(
        store
            .claim_due("b", at(30), lease, ClaimLimits::upto(10))
            .wait()
            .expect("claim")
            .claimed
            .len(),
        1,
        "due again"
    );
}

/// A program-manager-level webhook with one notification, `Undelivered` after one attempt.
fn undelivered_one(store: &dyn Store) -> (Webhook, Notification) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let n = notification(&w, 101, t0());
    store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    record(store, n.id, failed(t0()), AttemptOutcome::Undelivered, 5).expect("record");
    (w, n)
}

/// Resend is refused as a whole, and changes nothing, unless the webhook is
/// active and visible to the caller.
fn resend_needs_an_active_webhook_in_scope(store: &dyn Store) {
    let (w, n) = undelivered_one(store);
    let other = pm("ABC");
    assert!(
        matches!(
            store.resend(w.id, Some(&other), vec![n.id], t0()).wait(),
            Err(StoreError::NotFound)
        ),
        "another program manager's webhook"
    );
    set_status(store, w.id, None, WebhookStatus::Inactive, t0())
        .wait()
        .expect("inactive");
    let refused = store.resend(w.id, None, vec![n.id], t0()).wait();
    assert!(
        matches!(
            refused,
            Err(StoreError::Refused(Refusal::NotActive(
                WebhookStatus::Inactive
            )))
        ),
        "got {refused:?}"
    );
    assert_eq!(
        store
            .undelivered(w.id, None)
            .wait()
            .expect("undelivered")
            .len(),
        1,
        "nothing resent"
    );
}

/// A change the domain refuses writes nothing, and a refused replace keeps the owner.
fn a_refused_change_writes_nothing(store: &dyn Store) {
    let w = store
        .create(webhook("TRD", Some(1)))
        .wait()
        .expect("create");
    let later = t0() + Duration::seconds(9);
    let other = pm("ABC");
    let refused = store
        .modify(
            w.id,
            None,
            Box::new(move |x| x.replace(Some(&other), spec(Some(2)), later)),
        )
        .wait();
    assert!(
        matches!(refused, Err(StoreError::Refused(Refusal::OwnerChange))),
        "got {refused:?}"
    );
    assert_eq!(*store.get(w.id, None).wait().expect("get"), w, "unchanged");
}

/// Retention: final notifications whose last attempt is older than the cut-off
/// are deleted with their attempts, oldest first and at most `limit` at a time;
/// a pending notification is never deleted, however old.
fn purge_deletes_old_final_notifications_only(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let hour = Duration::hours(1);
    let made: Vec<Notification> = (0..4).map(|_| notification(&w, 101, t0())).collect();
    store.enqueue(made.clone()).wait().expect("enqueue");
    let [oldest, old, recent, pending] = [&made[0], &made[1], &made[2], &made[3]];
    let record = |n: &Notification, at: OffsetDateTime, outcome| {
        record(store, n.id, failed(at), outcome, 5).expect("record");
    };
    record(oldest, t0(), AttemptOutcome::Delivered);
    record(
        old,
        t0() + Duration::seconds(1),
        AttemptOutcome::Undelivered,
    );
    record(recent, t0() + hour * 2, AttemptOutcome::Delivered);
    record(pending, t0(), AttemptOutcome::RetryAt(t0() + hour * 24));

    let cut_off = t0() + hour;
    assert_eq!(
        store.purge(cut_off, 1).wait().expect("purge"),
        1,
        "at most the limit"
    );
    let kept = |id: NotificationId| {
        !store
            .details(w.id, None, vec![id])
            .wait()
            .expect("details")
            .is_empty()
    };
    assert!(!kept(oldest.id) && kept(old.id), "oldest first");
    assert_eq!(store.purge(cut_off, 10).wait().expect("purge"), 1);
    assert_eq!(
        store.purge(cut_off, 10).wait().expect("purge"),
        0,
        "nothing more is old"
    );
    assert!(!kept(old.id));
    assert!(kept(recent.id), "a recent final notification stays");
    assert!(kept(pending.id), "a pending notification stays");
    assert_eq!(
        store.purge(t0() + hour * 48, 10).wait().expect("purge"),
        1,
        "with a later cut-off the recent one goes too, the pending one never"
    );
    assert!(kept(pending.id));
    assert_eq!(
        store
            .pending()
            .wait()
            .expect("pending")
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        [pending.id]
    );
}

fn captured(method: &str, marker: &str) -> Captured {
    Captured::new(
        method.into(),
        [("x-marker".to_owned(), marker.to_owned())].into(),
        format!(r#"{{"marker":"{marker}"}}"#).as_bytes(),
        "2026-11-30T12:00:00Z".into(),
    )
}

/// The capture inboxes: requests kept in arrival order, the oldest pushed
/// out beyond the capacity, a new inbox refused beyond the most, one inbox
/// cleared alone.
fn configuration(pm_code: &str, product: Option<u64>, at: OffsetDateTime) -> Configuration {
    let spec = ConfigSpec::from_json(&json!({
        "pmId": 20, "productId": product, "status": "Active", "messageTypeFilter": [1, 3]
    }))
    .expect("spec");
    Configuration::create(ConfigId::generate(at), pm(pm_code), spec, at)
}

fn fraud_alert(pm_code: &str, raised: OffsetDateTime, expires_in: i64) -> FraudAlert {
    FraudAlert {
        id: FraudAlertId::parse(&uuid::Uuid::new_v4().to_string()).expect("id"),
        pm_code: pm(pm_code),
        product_id: Some(ProductId::from_stored(7)),
        notifications: vec![NotificationId::generate(), NotificationId::generate()],
        raised,
        expires: raised + Duration::milliseconds(expires_in),
        state: AlertState::Open,
        closed: None,
    }
}

fn fraud_alerts_are_answered_once_expired_once_and_purged(store: &dyn Store) {
    let t = OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("time");
    let answered = fraud_alert("TRD", t, 10_000);
    let soonest = fraud_alert("TRD", t, 5_000);
    let other = fraud_alert("ABC", t, 20_000);
    for a in [&answered, &soonest, &other] {
        assert!(store.raise_fraud_alert(a.clone()).wait().expect("raise"));
    }
    let mut again = answered.clone();
    again.pm_code = pm("ABC");
    assert!(
        !store.raise_fraud_alert(again).wait().expect("raise"),
        "an id taken is not raised again"
    );
    let through = answered.notifications[1];
    let answer = move |at: OffsetDateTime| -> AlertChange {
        Box::new(move |a: &mut FraudAlert| a.answer(through, FraudAnswer::Yes, at))
    };
    assert!(
        matches!(
            store
                .modify_fraud_alert(answered.id, Some(&pm("ABC")), answer(t))
                .wait(),
            Err(StoreError::FraudAlertNotFound)
        ),
        "another program manager's alert is not found"
    );
    let at = t + Duration::seconds(1);
    let stored = store
        .modify_fraud_alert(answered.id, Some(&pm("TRD")), answer(at))
        .wait()
        .expect("answer");
    assert_eq!(stored.state, AlertState::Answered(FraudAnswer::Yes));
    assert_eq!(stored.closed, Some(at));
    assert_eq!(
        stored.notifications, answered.notifications,
        "read back whole"
    );
    assert!(matches!(
        store
            .modify_fraud_alert(answered.id, None, answer(at))
            .wait(),
        Err(StoreError::Refused(Refusal::AlertAnswered("Yes")))
    ));
    assert_eq!(
        store.next_fraud_expiry().wait().expect("next"),
        Some(soonest.expires)
    );
    let due = t + Duration::seconds(6);
    let expired = store.expire_fraud_alerts(due, 10).wait().expect("expire");
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].id, soonest.id);
    assert_eq!(expired[0].state, AlertState::Expired);
    assert_eq!(expired[0].closed, Some(soonest.expires));
    assert!(
        store
            .expire_fraud_alerts(due, 10)
            .wait()
            .expect("expire")
            .is_empty(),
        "each alert expires once"
    );
    assert_eq!(
        store.next_fraud_expiry().wait().expect("next"),
        Some(other.expires)
    );
    assert_eq!(
        store
            .purge_fraud_alerts(t + Duration::seconds(3))
            .wait()
            .expect("purge"),
        1,
        "the answered one, closed before"
    );
    assert_eq!(
        store.purge_fraud_alerts(due).wait().expect("purge"),
        1,
        "the expired one; the open one stays"
    );
    let cleared = store.reset(Some(&pm("ABC"))).wait().expect("reset");
    assert_eq!(cleared.fraud_alerts, 1);
    assert_eq!(store.next_fraud_expiry().wait().expect("next"), None);
}

fn configurations_are_scoped_changed_in_place_and_bounded(store: &dyn Store) {
    let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("time");
    let first = configuration("TRD", Some(7), at);
    let second = configuration("TRD", None, at + Duration::seconds(1));
    let other = configuration("ABC", None, at);
    for c in [&first, &second, &other] {
        assert_eq!(
            store
                .create_configuration(c.clone())
                .wait()
                .expect("create"),
            *c,
            "answered as stored"
        );
    }
    assert_eq!(
        store.configurations(&pm("TRD")).wait().expect("list"),
        [first.clone(), second.clone()],
        "its own, oldest first, read back whole"
    );
    assert_eq!(
        store
            .configuration(first.id.clone(), Some(&pm("TRD")))
            .wait()
            .expect("get"),
        first
    );
    assert!(
        matches!(
            store
                .configuration(first.id.clone(), Some(&pm("ABC")))
                .wait(),
            Err(StoreError::ConfigurationNotFound)
        ),
        "another program manager's is not found"
    );
    let changed = store
        .modify_configuration(
            first.id.clone(),
            Some(&pm("TRD")),
            Box::new(|c| c.set_status(ConfigStatus::Inactive)),
        )
        .wait()
        .expect("modify");
    assert_eq!(changed.status, ConfigStatus::Inactive);
    assert_eq!(
        store
            .configuration(first.id.clone(), None)
            .wait()
            .expect("get"),
        changed,
        "the change is stored"
    );
    assert!(matches!(
        store
            .modify_configuration(
                first.id.clone(),
                None,
                Box::new(|c| c.set_status(ConfigStatus::Inactive)),
            )
            .wait(),
        Err(StoreError::Refused(Refusal::ConfigurationStatus(
            "Inactive"
        )))
    ));
    assert!(matches!(
        store
            .modify_configuration(
                other.id.clone(),
                Some(&pm("TRD")),
                Box::new(|c| c.set_status(ConfigStatus::Inactive)),
            )
            .wait(),
        Err(StoreError::ConfigurationNotFound)
    ));
    for i in 2..configuration::MOST_PER_PM {
        store
            .create_configuration(configuration("TRD", Some(i as u64), at))
            .wait()
            .expect("room");
    }
    assert!(
        matches!(
            store
                .create_configuration(configuration("TRD", None, at))
                .wait(),
            Err(StoreError::Refused(Refusal::TooManyConfigurations(_)))
        ),
        "no room beyond the most"
    );
    assert_eq!(
        store.configurations(&pm("TRD")).wait().expect("list").len(),
        configuration::MOST_PER_PM,
        "the refused one is not stored"
    );
    let cleared = store.reset(Some(&pm("TRD"))).wait().expect("reset");
    assert_eq!(cleared.configurations, configuration::MOST_PER_PM as u64);
    assert!(store
        .configurations(&pm("TRD"))
        .wait()
        .expect("list")
        .is_empty());
    assert_eq!(
        store.configurations(&pm("ABC")).wait().expect("list"),
        [other],
        "a scoped reset leaves other program managers"
    );
}

fn inboxes_keep_their_newest_within_limits(store: &dyn Store) {
    let limits = InboxLimits {
        capacity: 3,
        max_inboxes: 2,
    };
    let keep = |name: &str, marker: &str| {
        store
            .capture(name.into(), captured("POST", marker), limits)
            .wait()
            .expect("capture")
    };
    for i in 1..=5 {
        assert!(keep("b", &i.to_string()));
    }
    assert!(keep("a", "x"));
    assert!(!keep("c", "refused"), "a third inbox is refused");
    let markers = |name: &str| {
        store
            .captured(name.into())
            .wait()
            .expect("captured")
            .iter()
            .map(|c| c.headers["x-marker"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(markers("b"), ["3", "4", "5"], "the newest 3, oldest first");
    assert_eq!(
        store.captured("b".into()).wait().expect("captured")[2],
        captured("POST", "5"),
        "kept as it arrived"
    );
    assert!(markers("c").is_empty());
    assert_eq!(
        store.inboxes().wait().expect("inboxes"),
        [("a".to_owned(), 1), ("b".to_owned(), 3)]
    );
    assert_eq!(store.clear_inbox("b".into()).wait().expect("clear"), 3);
    assert_eq!(store.clear_inbox("b".into()).wait().expect("clear"), 0);
    assert_eq!(
        store.inboxes().wait().expect("inboxes"),
        [("a".to_owned(), 1)]
    );
    assert!(keep("c", "now there is room"));
}

/// Scoping lives in the store: program manager B never reads, resends or
/// delivers A's notifications; to B, A's webhook is not there.
fn another_pm_sees_no_notifications(store: &dyn Store) {
    let (w, n) = undelivered_one(store);
    let (a, b) = (w.pm_code.clone(), pm("ABC"));
    let since = t0() - Duration::days(1);
    let not_found = |what: &str, answer: Result<(), StoreError>| {
        assert!(
            matches!(answer, Err(StoreError::NotFound)),
            "{what} for another program manager: {answer:?}"
        );
    };
    let code = n.event_code;
    not_found(
        "by_event",
        store
            .by_event(w.id, Some(&b), code, since, 10)
            .wait()
            .map(drop),
    );
    not_found(
        "details",
        store.details(w.id, Some(&b), vec![n.id]).wait().map(drop),
    );
    not_found(
        "undelivered",
        store.undelivered(w.id, Some(&b)).wait().map(drop),
    );
    not_found(
        "resend",
        store
            .resend(w.id, Some(&b), vec![n.id], t0())
            .wait()
            .map(drop),
    );
    not_found(
        "deliver now",
        store
            .deliver_now(w.id, Some(&b), n.id, t0())
            .wait()
            .map(drop),
    );
    let scan = LogScan {
        before: None,
        limit: 10,
        window: 1000,
    };
    let listed = |scope: &PmCode, filter: LogFilter| {
        ids_of_log(
            &store
                .recent(Some(scope), filter, scan)
                .wait()
                .expect("recent"),
        )
    };
    assert_eq!(listed(&b, LogFilter::default()), [], "B's log is empty");
    let asking_for_a = LogFilter {
        pm: Some(a.clone()),
        ..LogFilter::default()
    };
    assert_eq!(listed(&b, asking_for_a.clone()), [], "B asking for A's");
    let by_id = LogFilter {
        id: Some(n.id),
        ..LogFilter::default()
    };
    assert_eq!(listed(&b, by_id.clone()), [], "B asking for A's by id");
    assert_eq!(listed(&a, by_id), [n.id], "A sees its own");
    assert_eq!(listed(&a, asking_for_a), [n.id]);
    assert_eq!(
        store
            .details(w.id, Some(&a), vec![n.id])
            .wait()
            .expect("A's details")
            .len(),
        1
    );
    let (again, _) = &store
        .resend(w.id, Some(&a), vec![n.id], t0())
        .wait()
        .expect("A resends")[0];
    assert_eq!(*again, n.id);
}

fn ids_of_log(page: &LogPage) -> Vec<NotificationId> {
    page.entries.iter().map(|(n, _)| n.id).collect()
}

/// A reset deletes notifications and attempts too.
/// A reset of one program manager deletes its webhooks, notifications and
/// claims, and nothing of another's (nor the inboxes), so that parallel test
/// jobs with their own program managers share one instance.
fn a_scoped_reset_leaves_other_program_managers(store: &dyn Store) {
    let mine = store.create(webhook("TRD", None)).wait().expect("create");
    let theirs = store.create(webhook("ABC", None)).wait().expect("create");
    let (a1, a2) = (
        notification(&mine, 101, t0()),
        notification(&mine, 101, t0()),
    );
    let b = notification(&theirs, 101, t0());
    store
        .enqueue(vec![a1.clone(), a2.clone(), b.clone()])
        .wait()
        .expect("enqueue");
    let held = claim(store, a1.id).expect("claimed");
    capture_one(store);

    assert_eq!(
        store.reset(Some(&pm("TRD"))).wait().expect("reset"),
        Cleared {
            webhooks: 1,
            notifications: 2,
            inbox_requests: 0,
            configurations: 0,
            fraud_alerts: 0,
        }
    );
    assert!(matches!(
        store.get(mine.id, None).wait(),
        Err(StoreError::NotFound)
    ));
    assert!(store.list(&pm("TRD")).wait().expect("list").is_empty());
    assert_eq!(store.list(&pm("ABC")).wait().expect("list").len(), 1);
    let pending: Vec<NotificationId> = store
        .pending()
        .wait()
        .expect("pending")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(pending, [b.id], "the other program manager's is untouched");
    assert_eq!(store.inboxes().wait().expect("inboxes").len(), 1);
    assert!(
        records_nothing(store, a1.id, &held),
        "a claim held across the reset records nothing"
    );
    assert!(
        claim(store, b.id).is_ok(),
        "the other's is still claimed and delivered"
    );
    store
        .create(webhook("TRD", None))
        .wait()
        .expect("the key is free again");
}

fn removing_a_webhook_takes_only_it_and_what_is_stored_about_it(store: &dyn Store) {
    let gone = store
        .create(webhook("TRD", Some(1)))
        .wait()
        .expect("create");
    let stays = store
        .create(webhook("TRD", Some(2)))
        .wait()
        .expect("create");
    let (a1, a2, b) = (
        notification(&gone, 101, t0()),
        notification(&gone, 101, t0()),
        notification(&stays, 101, t0()),
    );
    store
        .enqueue(vec![a1.clone(), a2.clone(), b.clone()])
        .wait()
        .expect("enqueue");
    let held = claim(store, a1.id).expect("claimed");
    assert!(
        matches!(
            store.remove(gone.id, Some(&pm("ABC"))).wait(),
            Err(StoreError::NotFound)
        ),
        "another program manager's is not found"
    );
    assert_eq!(
        store
            .remove(gone.id, Some(&pm("TRD")))
            .wait()
            .expect("remove"),
        2
    );
    assert!(matches!(
        store.get(gone.id, None).wait(),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.remove(gone.id, None).wait(),
        Err(StoreError::NotFound)
    ));
    let left: Vec<WebhookId> = store
        .list(&pm("TRD"))
        .wait()
        .expect("list")
        .iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(left, [stays.id]);
    assert_eq!(
        store.keys(&pm("TRD")).wait().expect("keys").len(),
        1,
        "its keys went with it"
    );
    let pending: Vec<NotificationId> = store
        .pending()
        .wait()
        .expect("pending")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        pending,
        [b.id],
        "the other webhook's notification is untouched"
    );
    assert!(
        records_nothing(store, a1.id, &held),
        "a claim held across the removal records nothing"
    );
    assert!(
        claim(store, b.id).is_ok(),
        "the other's is claimed as before"
    );
    store
        .create(webhook("TRD", Some(1)))
        .wait()
        .expect("its key is free again");
}

/// Whether recording an attempt under `held` is refused (its notification
/// or its claim is gone).
fn records_nothing(store: &dyn Store, id: NotificationId, held: &ClaimToken) -> bool {
    let rules = RecordRules {
        recent: 5,
        backoff: BACKOFF,
    };
    store
        .record_attempt(id, held, failed(t0()), AttemptOutcome::Delivered, rules)
        .wait()
        .is_err()
}

/// One request kept in the inbox `demo`.
fn capture_one(store: &dyn Store) {
    assert!(store
        .capture("demo".into(), captured("POST", "1"), InboxLimits::default())
        .wait()
        .expect("capture"));
}

fn reset_deletes_notifications(store: &dyn Store) {
    let (w, n) = undelivered_one(store);
    capture_one(store);
    assert_eq!(
        store.reset(None).wait().expect("reset"),
        Cleared {
            webhooks: 1,
            notifications: 1,
            inbox_requests: 1,
            configurations: 0,
            fraud_alerts: 0,
        }
    );
    assert!(store.inboxes().wait().expect("inboxes").is_empty());
    assert!(store.pending().wait().expect("pending").is_empty());
    assert!(
        matches!(
            store.details(w.id, None, vec![n.id]).wait(),
            Err(StoreError::NotFound)
        ),
        "the webhook is gone with its notifications"
    );
    assert!(matches!(
        store.undelivered(w.id, None).wait(),
        Err(StoreError::NotFound)
    ));
}

/// The outbox's reads and its resend, on one webhook with three notifications:
/// one delivered, one undelivered, one still pending.
fn outbox_reads_and_resend(store: &dyn Store) {
    let waker = store.waker();
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let other = store
        .create(webhook("TRD", Some(9)))
        .wait()
        .expect("create");
    let made = |event: i64, at: OffsetDateTime, owner: &Webhook| {
        let id = NotificationId::generate();
        Notification::new(owner.id, pm("TRD"), code(event), id, "{}".into(), at)
    };
    let day = Duration::days(1);
    let (delivered, undelivered, pending) = (
        made(101, t0(), &w),
        made(101, t0() + day, &w),
        made(102, t0() + day, &w),
    );
    let elsewhere = made(101, t0(), &other);
    store
        .enqueue(vec![
            delivered.clone(),
            undelivered.clone(),
            pending.clone(),
            elsewhere.clone(),
        ])
        .wait()
        .expect("enqueue");
    // What was sent and what came back is kept as it was given.
    let attempt = |status: u16| Attempt {
        time: t0() + Duration::milliseconds(250),
        http_status: Some(status),
        error: (status >= 300).then(|| format!("HTTP {status}")),
        latency_ms: 3,
        request_headers: [("content-type", "application/json"), ("apikey", "***")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        reply: Some(ReceiverReply {
            headers: [("x-answer".to_owned(), format!("{status}, again"))].into(),
            body: format!("{{\"status\": {status}}}"),
            body_truncated: status >= 500,
        }),
    };
    record(
        store,
        delivered.id,
        attempt(200),
        AttemptOutcome::Delivered,
        5,
    )
    .expect("record");
    record(
        store,
        undelivered.id,
        attempt(500),
        AttemptOutcome::Undelivered,
        5,
    )
    .expect("record");

    let ids = |found: Vec<Notification>| found.into_iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .by_event(w.id, None, code(101), t0(), 10)
            .wait()
            .expect("by event")),
        [delivered.id, undelivered.id],
        "oldest first, only this webhook's, only this code"
    );
    assert_eq!(
        ids(store
            .by_event(w.id, None, code(101), t0() + day, 10)
            .wait()
            .expect("by event")),
        [undelivered.id],
        "created at or after `since`"
    );
    assert_eq!(
        ids(store
            .by_event(w.id, None, code(101), t0(), 1)
            .wait()
            .expect("by event")),
        [delivered.id],
        "at most `count`"
    );

    let details = store
        .details(w.id, None, vec![undelivered.id, elsewhere.id, delivered.id])
        .wait()
        .expect("details");
    let seen: Vec<_> = details
        .iter()
        .map(|(n, attempts)| (n.id, n.status, attempts.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                undelivered.id,
                NotificationStatus::Undelivered,
                vec![attempt(500)]
            ),
            (
                delivered.id,
                NotificationStatus::Delivered,
                vec![attempt(200)]
            ),
        ],
        "asked order, another webhook's left out, attempts kept"
    );
    assert_eq!(
        store.undelivered(w.id, None).wait().expect("undelivered"),
        [(code(101), undelivered.id)]
    );

    let now = t0() + day * 2;
    let _ = woken(&waker);
    let each = store
        .resend(
            w.id,
            None,
            vec![undelivered.id, pending.id, elsewhere.id, delivered.id],
            now,
        )
        .wait()
        .expect("resend");
    let statuses: Vec<_> = each.iter().map(|(id, r)| (*id, r.status())).collect();
    assert_eq!(
        statuses,
        [
            (undelivered.id, "Resend request initiated"),
            (pending.id, "Unable to resend request"),
            (elsewhere.id, "Invalid notification details"),
            (delivered.id, "Resend request initiated"),
        ]
    );
    assert!(woken(&waker), "a resend wakes the engine");
    let Resend::Initiated(again) = &each[0].1 else {
        panic!("initiated");
    };
    assert_eq!(again.status, NotificationStatus::Pending);
    assert_eq!((again.attempts, again.cycle_start), (1, 1), "a new cycle");
    assert_eq!(again.next_attempt, Some(now), "due at once");
    assert!(
        store
            .undelivered(w.id, None)
            .wait()
            .expect("undelivered")
            .is_empty(),
        "no longer undelivered"
    );
    let pending_now: Vec<_> = store
        .pending()
        .wait()
        .expect("pending")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        pending_now,
        [delivered.id, undelivered.id, pending.id, elsewhere.id],
        "both resent notifications are pending again, for the engine to resume"
    );
}

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
        .execute_batch(&super::sqlite::schema::as_of(1))
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
    conn.execute_batch(&super::sqlite::schema::as_of(super::sqlite::SCHEMA_VERSION))
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
    let v1 = super::sqlite::schema::as_of(1);
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
    assert_eq!(version, super::sqlite::SCHEMA_VERSION);
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
    let v5 = super::sqlite::schema::as_of(5);
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
    let v2 = super::sqlite::schema::as_of(2);
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
    let v3 = super::sqlite::schema::as_of(3);
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
    let v6 = super::sqlite::schema::as_of(6);
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
    let v1 = super::postgres::schema::as_of(1);
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
            .batch_execute(&super::postgres::schema::as_of(1))
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
