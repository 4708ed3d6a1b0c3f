//! The repository contract: webhooks, their keys, scoping and changes.

use super::support::*;

pub(super) fn create_then_get_returns_the_same_webhook(repo: &dyn Store) {
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
pub(super) fn keys_are_one_program_managers_in_creation_order(repo: &dyn Store) {
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

pub(super) fn another_pm_sees_nothing(repo: &dyn Store) {
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

pub(super) fn missing_webhook_is_not_found(repo: &dyn Store) {
    let id = WebhookId::generate();
    assert!(
        matches!(repo.get(id, None).wait(), Err(StoreError::NotFound)),
        "get"
    );
    let result = replace(repo, id, None, spec(None), t0()).wait();
    assert!(matches!(result, Err(StoreError::NotFound)), "replace");
}

pub(super) fn one_webhook_per_pm_and_product(repo: &dyn Store) {
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

pub(super) fn replace_cannot_take_another_webhooks_key(repo: &dyn Store) {
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

pub(super) fn list_is_in_creation_order(repo: &dyn Store) {
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
pub(super) fn active_for_selects_an_events_candidates(repo: &dyn Store) {
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
pub(super) fn documents_are_the_stored_webhooks_rendered(repo: &dyn Store) {
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

pub(super) fn replace_clears_what_is_left_out_and_keeps_created_time(repo: &dyn Store) {
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

pub(super) fn status_changes_and_same_status_is_refused(repo: &dyn Store) {
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

pub(super) fn subscriptions_add_all_or_nothing_and_remove(repo: &dyn Store) {
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

pub(super) fn heartbeat_is_kept_without_touching_last_modified(repo: &dyn Store) {
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

pub(super) fn concurrent_creates_for_one_key_have_one_winner(repo: Arc<dyn Store>) {
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

pub(super) fn a_failing_write_does_not_fail_the_writes_committed_with_it(repo: Arc<dyn Store>) {
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

pub(super) fn reset_forgets_every_webhook(repo: &dyn Store) {
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
