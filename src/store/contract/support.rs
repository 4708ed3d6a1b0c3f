//! What the contracts share: the imports, the domain's rules applied through
//! the store as the handlers apply them, and small builders.

pub(crate) use std::future::Future;
pub(crate) use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
pub(crate) use std::sync::{Arc, Barrier};
pub(crate) use std::task::{Context, Waker};
pub(crate) use std::thread;

pub(crate) use serde_json::json;
pub(crate) use time::{Duration, OffsetDateTime};
pub(crate) use tokio::sync::Notify;

pub(crate) use crate::store::sqlite::{SqliteOptions, Synchronous};
pub(crate) use crate::store::{
    AlertChange, ClaimLimits, ClaimRequest, Claimed, Claims, Cleared, GivingUp, LogFilter, LogPage,
    LogScan, MemoryStore, RecordRules, Recorded, SqliteStore, Store, StoreError, StoreFuture,
};
pub(crate) use std::collections::BTreeMap;

pub(crate) use crate::domain::inbox::{Captured, InboxLimits};
pub(crate) use crate::domain::{
    configuration, AlertState, Attempt, AttemptOutcome, Backoff, ClaimToken, ConfigId, ConfigSpec,
    ConfigStatus, Configuration, CustomHeaders, EventCode, EventSet, FraudAlert, FraudAlertId,
    FraudAnswer, GiveUp, HealthStatus, Heartbeat, Notification, NotificationId, NotificationStatus,
    PmCode, ProductId, QueueHealth, ReceiverReply, Refusal, Resend, Webhook, WebhookConfig,
    WebhookDocument, WebhookId, WebhookKeys, WebhookSpec, WebhookStatus, WebhookUrl,
};

// The domain's rules, applied through the store as the handlers apply them.
pub(crate) fn set_status(
    repo: &dyn Store,
    id: WebhookId,
    scope: Option<&PmCode>,
    status: WebhookStatus,
    now: OffsetDateTime,
) -> StoreFuture<Webhook> {
    repo.modify(id, scope, Box::new(move |w| w.set_status(status, now)))
}

pub(crate) fn replace(
    repo: &dyn Store,
    id: WebhookId,
    scope: Option<&PmCode>,
    spec: WebhookSpec,
    now: OffsetDateTime,
) -> StoreFuture<Webhook> {
    repo.modify(id, scope, Box::new(move |w| w.replace(None, spec, now)))
}

pub(crate) fn subscribe(
    repo: &dyn Store,
    id: WebhookId,
    scope: Option<&PmCode>,
    events: EventSet,
    now: OffsetDateTime,
) -> StoreFuture<Webhook> {
    repo.modify(id, scope, Box::new(move |w| w.subscribe(&events, now)))
}

pub(crate) fn unsubscribe(
    repo: &dyn Store,
    id: WebhookId,
    scope: Option<&PmCode>,
    code: EventCode,
    now: OffsetDateTime,
) -> StoreFuture<Webhook> {
    repo.modify(id, scope, Box::new(move |w| w.unsubscribe(code, now)))
}

pub(crate) fn record_heartbeat(
    repo: &dyn Store,
    id: WebhookId,
    heartbeat: Heartbeat,
) -> StoreFuture<Webhook> {
    repo.modify(
        id,
        None,
        Box::new(move |w| {
            w.record_heartbeat(heartbeat);
            Ok(())
        }),
    )
}

pub(crate) fn pm(code: &str) -> PmCode {
    PmCode::parse(code).expect("valid pm code")
}

pub(crate) fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_706_138_428).expect("valid time")
}

pub(crate) fn spec(product: Option<u64>) -> WebhookSpec {
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

pub(crate) fn webhook(pm_code: &str, product: Option<u64>) -> Webhook {
    Webhook::create(WebhookId::generate(), pm(pm_code), spec(product), t0())
}

pub(crate) fn code(n: i64) -> EventCode {
    EventCode::from_number(n, "events").expect("catalogued")
}

/// The ids of claimed notifications, in the order claimed.
pub(crate) fn ids_of(claimed: &[Claimed]) -> Vec<NotificationId> {
    claimed.iter().map(|c| c.notification.id).collect()
}

/// Records an attempt the way an engine does: it claims the notification first.
pub(crate) fn record(
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
pub(crate) fn claim(store: &dyn Store, id: NotificationId) -> Result<ClaimToken, StoreError> {
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
pub(crate) fn woken(waker: &Notify) -> bool {
    let notified = std::pin::pin!(waker.notified());
    let mut cx = Context::from_waker(Waker::noop());
    notified.poll(&mut cx).is_ready()
}

pub(crate) fn notification(owner: &Webhook, event: i64, at: OffsetDateTime) -> Notification {
    Notification::new(
        owner.id,
        owner.pm_code.clone(),
        code(event),
        NotificationId::generate(),
        "{}".into(),
        at,
    )
}

pub(crate) fn failed(time: OffsetDateTime) -> Attempt {
    Attempt {
        time,
        http_status: Some(500),
        error: Some("HTTP 500".into()),
        latency_ms: 1,
        request_headers: BTreeMap::new(),
        reply: None,
    }
}

/// The backoff rule of the tests that are not about it: it never starts.
pub(crate) const BACKOFF: Backoff = Backoff {
    after: 1000,
    first: Duration::seconds(5),
    max: Duration::seconds(60),
    suspend_after: Duration::hours(1),
};

/// The rules of the tests that are not about them.
pub(crate) const RULES: RecordRules = RecordRules {
    recent: 5,
    backoff: BACKOFF,
};

pub(crate) fn captured(method: &str, marker: &str) -> Captured {
    Captured::new(
        method.into(),
        [("x-marker".to_owned(), marker.to_owned())].into(),
        format!(r#"{{"marker":"{marker}"}}"#).as_bytes(),
        "2026-11-30T12:00:00Z".into(),
    )
}
