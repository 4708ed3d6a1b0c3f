//! The engine's tests: retries, suspension, backoff, parking and resets,
//! against the memory store and real local receivers.

use std::io::{Read, Write};
use std::net::TcpListener;

use serde_json::json;
use time::macros::datetime;

use super::attempt::*;
use super::engine::*;
use super::failure_log::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::config::DeliverySettings;
use crate::domain::{
    Attempt, AttemptOutcome, BlockedNetworks, Clock, Notification, NotificationStatus, Webhook,
    WebhookId, WebhookStatus,
};
use crate::domain::{
    CustomHeaders, EventCode, NotificationId, PmCode, ProductId, TestClock, WebhookConfig,
    WebhookSpec, WebhookUrl,
};
use crate::outbound::live::{Delivery, LiveSettings};
use crate::outbound::Outbound;
use crate::sandbox::Fixture;
use crate::store::ClaimLimits;
use crate::store::{MemoryStore, Outbox, Repository};

const T0: OffsetDateTime = datetime!(2024-01-24 23:20:28 UTC);

fn settings(schedule: &[u64], suspend_after: u32) -> DeliverySettings {
    DeliverySettings {
        retry_schedule_ms: schedule.to_vec(),
        suspend_after,
        timeout_ms: 5_000,
        ..DeliverySettings::default()
    }
}

fn wait_of(outcome: AttemptOutcome) -> Duration {
    match outcome {
        AttemptOutcome::RetryAt(at) => Duration::try_from(at - T0).unwrap_or_default(),
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[test]
fn retries_follow_the_schedule_with_at_most_ten_percent_jitter() {
    let s = settings(&[10_000, 60_000], 5);
    for _ in 0..50 {
        let first = wait_of(next_try(&s, T0, 1, None));
        assert!(
            (Duration::from_millis(10_000)..=Duration::from_millis(11_000)).contains(&first),
            "{first:?}"
        );
        let second = wait_of(next_try(&s, T0, 2, None));
        assert!(
            (Duration::from_millis(60_000)..=Duration::from_millis(66_000)).contains(&second),
            "{second:?}"
        );
    }
    assert_eq!(next_try(&s, T0, 3, None), AttemptOutcome::Undelivered);
    let asked = wait_of(next_try(&s, T0, 1, Some(Duration::from_secs(30))));
    assert!(
        asked >= Duration::from_secs(30),
        "a longer Retry-After wins: {asked:?}"
    );
    assert_eq!(
        next_try(&settings(&[], 5), T0, 1, None),
        AttemptOutcome::Undelivered,
        "an empty schedule means one attempt"
    );
}

/// A receiver on a local port answering every request with `status`.
fn receiver(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 65536];
            let _ = stream.read(&mut request);
            let answer =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}

/// The first failure of a webhook is logged, then at most one summary a
/// minute with the count; a delivery starts over.
#[test]
fn failures_are_summarised_at_most_once_a_minute_per_webhook() {
    let (a, b) = (WebhookId::generate(), WebhookId::generate());
    let mut log = FailureLog::default();
    let at = |secs: i64| T0 + time::Duration::seconds(secs);
    let mut lines = Vec::new();
    for second in 0..180 {
        lines.extend(log.failed(a, "connection refused", at(second)));
        lines.extend(log.failed(b, "HTTP 503", at(second)));
    }
    assert_eq!(
        lines.len(),
        6,
        "three lines per webhook in three minutes: {lines:#?}"
    );
    assert!(lines[0].contains("1 failed attempts") && lines[0].contains("connection refused"));
    assert!(lines[2].contains("60 failed attempts"), "{}", lines[2]);
    log.delivered(a);
    assert!(
        log.failed(a, "again", at(150)).is_some(),
        "after a delivery the next failure is news"
    );
    assert!(
        log.failed(b, "HTTP 503", at(150)).is_none(),
        "within the minute after a summary"
    );
}

/// A local URL where nothing listens: every attempt is refused at once.
fn nobody() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    drop(listener);
    url
}

struct Setup {
    worker: Worker,
    store: Arc<MemoryStore>,
    clock: Arc<TestClock>,
    webhook: WebhookId,
}

fn live(settings: DeliverySettings) -> Arc<LiveSettings> {
    Arc::new(LiveSettings::new(Delivery::ready(settings).expect("valid")))
}

fn setup(url: &str, settings: DeliverySettings) -> Setup {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(TestClock::at(T0));
    let spec = WebhookSpec {
        product_id: None,
        events: [EventCode::from_number(101, "events").expect("code")]
            .into_iter()
            .collect(),
        status: None,
        config: WebhookConfig {
            url: WebhookUrl::parse(url, true).expect("url"),
            custom_headers: CustomHeaders::from_json(&json!({})).expect("headers"),
        },
    };
    let pm = PmCode::parse("TRD").expect("pm");
    let webhook = Webhook::create(WebhookId::generate(), pm, spec, T0);
    let webhook = store.create(webhook).wait().expect("create").id;
    let timeout = settings.timeout();
    let engine = Engine {
        settings: live(settings),
        blocked: BlockedNetworks::default(),
        store: store.clone(),
        clock: clock.clone(),
        stats: Arc::default(),
        fixture: None,
    };
    let outbound = Outbound::new(timeout, timeout, 4, BlockedNetworks::default());
    Setup {
        worker: Worker {
            engine,
            instance: "test".into(),
            outbound,
            failures: RefCell::default(),
        },
        store,
        clock,
        webhook,
    }
}

impl Setup {
    /// A new notification for the webhook, due now (not stored).
    fn notification(&self) -> Notification {
        let code = EventCode::from_number(101, "events").expect("code");
        let pm = PmCode::parse("TRD").expect("pm");
        let id = NotificationId::generate();
        Notification::new(self.webhook, pm, code, id, "{}".into(), self.clock.now())
    }

    /// A new notification for the webhook, stored and due now.
    fn notify(&self) -> Notification {
        let n = self.notification();
        self.store.enqueue(vec![n.clone()]).wait().expect("enqueue");
        n
    }

    fn status(&self) -> WebhookStatus {
        self.store
            .get(self.webhook, None)
            .wait()
            .expect("get")
            .status
    }

    fn stored(&self, n: &Notification) -> (Notification, Vec<Attempt>) {
        let mut found = self
            .store
            .details(self.webhook, None, vec![n.id])
            .wait()
            .expect("details");
        found.pop().expect("stored")
    }
}

impl Setup {
    /// Claims every notification due on the test clock and attempts each,
    /// as the engine's loop does; answers how many were attempted.
    async fn run_due(&self) -> usize {
        let live = self.worker.engine.settings.now();
        let lease = lease(&live.settings);
        let limits = ClaimLimits {
            total: 100,
            per_webhook: live.settings.per_webhook_concurrency,
            give_up: Some(live.giving_up.clone()),
        };
        let claimed = self
            .store
            .claim_due("test", self.clock.now(), lease, limits)
            .wait()
            .expect("claim")
            .claimed;
        let mut count = 0;
        for claim in claimed {
            self.worker.took(&claim);
            count += self.worker.run_slot(claim, 0).await;
        }
        count
    }

    fn set_url(&self, url: &str) {
        let url = WebhookUrl::parse(url, true).expect("url");
        let moved = Box::new(move |w: &mut Webhook| {
            w.config.url = url;
            Ok(())
        });
        self.store
            .modify(self.webhook, None, moved)
            .wait()
            .expect("set the URL");
    }
}

/// Retries and backoff with time driven by the test clock: each failed
/// attempt is due again after the schedule's wait (plus at most 10%), counted
/// from the clock's now, and the last one makes the notification Undelivered.
#[actix_rt::test]
async fn a_failing_receiver_is_retried_on_the_schedule_then_undelivered() {
    let s = setup(&nobody(), settings(&[5_000, 30_000], 5));
    let n = s.notify();
    let mut due = Vec::new();
    while s.run_due().await == 1 {
        let (stored, _) = s.stored(&n);
        if let Some(at) = stored.next_attempt {
            let wait = at - s.clock.now();
            due.push(wait);
            assert_eq!(s.run_due().await, 0, "not due before its time");
            s.clock.advance(wait);
        }
    }
    assert_eq!(due.len(), 2, "two retries: {due:?}");
    assert!(
        (time::Duration::seconds(5)..=time::Duration::milliseconds(5_500)).contains(&due[0]),
        "{due:?}"
    );
    assert!(
        (time::Duration::seconds(30)..=time::Duration::seconds(33)).contains(&due[1]),
        "{due:?}"
    );
    let (stored, attempts) = s.stored(&n);
    assert_eq!(stored.status, NotificationStatus::Undelivered);
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0].time, T0, "attempt times come from the clock");
    assert!(attempts
        .iter()
        .all(|a| a.http_status.is_none() && a.error.is_some()));
    assert_eq!(
        s.status(),
        WebhookStatus::Active,
        "one undelivered is not enough to suspend"
    );
}

/// Suspension: the webhook is suspended once its last `suspend_after`
/// notifications all ended Undelivered, not before.
#[actix_rt::test]
async fn suspend_after_undelivered_in_a_row() {
    let s = setup(&nobody(), settings(&[], 3));
    for i in 1..=3 {
        assert_eq!(s.status(), WebhookStatus::Active, "before notification {i}");
        s.notify();
        assert_eq!(s.run_due().await, 1);
    }
    assert_eq!(s.status(), WebhookStatus::Suspended);
}

/// A delivered notification in between starts the count again.
#[actix_rt::test]
async fn a_delivery_in_between_keeps_the_webhook_active() {
    let s = setup(&nobody(), settings(&[], 2));
    s.notify();
    s.run_due().await;
    s.set_url(&receiver(200));
    let delivered = s.notify();
    s.run_due().await;
    assert_eq!(s.stored(&delivered).0.status, NotificationStatus::Delivered);
    s.set_url(&nobody());
    s.notify();
    s.run_due().await;
    assert_eq!(
        s.status(),
        WebhookStatus::Active,
        "Undelivered, Delivered, Undelivered"
    );
    s.notify();
    s.run_due().await;
    assert_eq!(
        s.status(),
        WebhookStatus::Suspended,
        "two Undelivered in a row"
    );
}

/// `410 Gone` suspends at once, with no retry.
#[actix_rt::test]
async fn gone_suspends_at_once() {
    let s = setup(&receiver(410), settings(&[5_000], 5));
    let n = s.notify();
    assert_eq!(s.run_due().await, 1);
    assert_eq!(s.status(), WebhookStatus::Suspended);
    let (stored, attempts) = s.stored(&n);
    assert_eq!(
        (stored.status, attempts[0].http_status),
        (NotificationStatus::Undelivered, Some(410))
    );
    s.clock.advance(time::Duration::minutes(10));
    assert_eq!(s.run_due().await, 0, "no retry after 410");
}

/// An inactive webhook's notifications are parked without an attempt and
/// without using up retries, whether the webhook was inactive when they
/// came due or turned inactive after they were claimed.
#[actix_rt::test]
async fn an_inactive_webhook_parks_its_notifications() {
    let s = setup(&receiver(200), settings(&[], 5));
    let inactive = Box::new(|w: &mut Webhook| w.set_status(WebhookStatus::Inactive, T0));
    s.store
        .modify(s.webhook, None, inactive)
        .wait()
        .expect("inactive");
    let n = s.notify();
    assert_eq!(s.run_due().await, 0, "parked, not claimed");
    let (stored, attempts) = s.stored(&n);
    assert_eq!((stored.next_attempt, stored.attempts), (None, 0));
    assert!(attempts.is_empty(), "no attempt made");

    let active = Box::new(|w: &mut Webhook| w.set_status(WebhookStatus::Active, T0));
    s.store
        .modify(s.webhook, None, active)
        .wait()
        .expect("active");
    let claimed = s
        .store
        .claim_due(
            "test",
            s.clock.now(),
            time::Duration::minutes(1),
            ClaimLimits::upto(10),
        )
        .wait()
        .expect("claim")
        .claimed;
    let inactive = Box::new(|w: &mut Webhook| w.set_status(WebhookStatus::Inactive, T0));
    s.store
        .modify(s.webhook, None, inactive)
        .wait()
        .expect("inactive");
    for claim in claimed {
        s.worker.attempt(claim, 0).await;
    }
    let (stored, attempts) = s.stored(&n);
    assert_eq!(
        (stored.next_attempt, attempts.len()),
        (None, 0),
        "parked by the engine"
    );
}

/// Isolation, on the test clock: a webhook whose receiver refuses
/// connections, with 50 notifications due first, takes at most its
/// per-webhook room, so a healthy webhook's notification is delivered in
/// the same round; then it backs off, and over ten minutes it costs a
/// probe at a time, not an attempt per notification per retry.
#[actix_rt::test]
async fn a_dead_receiver_backs_off_and_does_not_hold_up_a_healthy_one() {
    let mut delivery = settings(&[1_000, 3_600_000], 5);
    delivery.per_webhook_concurrency = 4;
    delivery.backoff_after = 3;
    delivery.probe_interval_ms = 5_000;
    delivery.probe_interval_max_ms = 60_000;
    // Port 9 (discard) on loopback: nothing listens, and unlike a freed
    // port no other test's receiver can take it meanwhile.
    let s = setup("http://127.0.0.1:9/hook", delivery);
    let dead: Vec<Notification> = (0..50).map(|_| s.notification()).collect();
    s.store.enqueue(dead.clone()).wait().expect("enqueue");

    let healthy = {
        let mut w = (*s.store.get(s.webhook, None).wait().expect("get")).clone();
        w.id = WebhookId::generate();
        w.product_id = ProductId::from_json(&json!(7)).expect("product");
        w.config.url = WebhookUrl::parse(&receiver(200), true).expect("url");
        s.store.create(w).wait().expect("create")
    };
    s.clock.advance(time::Duration::milliseconds(1));
    let code = EventCode::from_number(101, "events").expect("code");
    let n = Notification::new(
        healthy.id,
        healthy.pm_code.clone(),
        code,
        NotificationId::generate(),
        "{}".into(),
        s.clock.now(),
    );
    s.store.enqueue(vec![n.clone()]).wait().expect("enqueue");

    // Claimed at once: four of the dead webhook's (its room) and the
    // healthy one. A dead slot goes on to the next dead notification
    // until the third failure in a row starts the backoff.
    let first = s.run_due().await;
    assert!((5..=7).contains(&first), "first round: {first} attempts");
    let delivered = s
        .store
        .details(healthy.id, None, vec![n.id])
        .wait()
        .expect("details");
    assert_eq!(delivered[0].0.status, NotificationStatus::Delivered);

    let mut attempts = first - 1;
    for _ in 0..600 {
        s.clock.advance(time::Duration::seconds(1));
        attempts += s.run_due().await;
    }
    // Probes 5, 10, 20, 40, 60, 60, ... s apart: 5+10+20+40 = 75 s, then
    // one a minute for the remaining 525 s.
    assert!(
        (first - 1 + 10..=first - 1 + 14).contains(&attempts),
        "attempts in ten minutes: {attempts}"
    );
    let pending = s.store.pending().wait().expect("pending").len();
    assert_eq!(pending, 50, "nothing is lost while the queue backs off");
    assert_eq!(
        s.status(),
        WebhookStatus::Active,
        "not suspended within the schedule"
    );
    // Backing off for as long as the whole retry schedule suspends it.
    for _ in 0..60 {
        s.clock.advance(time::Duration::seconds(60));
        s.run_due().await;
    }
    assert_eq!(s.status(), WebhookStatus::Suspended);
    // Those that waited past their schedule gave up, and the suspension
    // ends the rest as they come due (the last retries, an hour on): none
    // is left waiting unseen, and none was attempted after the suspension.
    let before = attempts_made(&s, &dead);
    for _ in 0..70 {
        s.clock.advance(time::Duration::seconds(60));
        s.run_due().await;
    }
    assert_eq!(s.store.pending().wait().expect("pending").len(), 0);
    assert_eq!(attempts_made(&s, &dead), before);
    let ids: Vec<NotificationId> = dead.iter().map(|n| n.id).collect();
    let found = s
        .store
        .details(s.webhook, None, ids)
        .wait()
        .expect("details");
    assert!(found
        .iter()
        .all(|(n, _)| n.status == NotificationStatus::Undelivered));
}

fn attempts_made(s: &Setup, ns: &[Notification]) -> u32 {
    let ids: Vec<NotificationId> = ns.iter().map(|n| n.id).collect();
    let found = s
        .store
        .details(s.webhook, None, ids)
        .wait()
        .expect("details");
    found.iter().map(|(n, _)| n.attempts).sum()
}

/// Gives the setup's engine the sandbox's fixture (journal and barrier).
fn with_fixture(mut s: Setup) -> (Setup, Arc<Fixture>) {
    let settings = crate::config::SandboxSettings::default();
    let fixture = Arc::new(Fixture::new(&settings, time::Duration::days(30)));
    s.worker.engine.fixture = Some(Arc::clone(&fixture));
    (s, fixture)
}

/// A receiver that counts the connections it is sent.
fn counting() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            let mut request = [0u8; 65536];
            let _ = stream.read(&mut request);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, hits)
}

/// The race a reset closes: a notification claimed before a reset of its
/// program manager is not sent after it (it may be gone), while one
/// claimed since is.
#[actix_rt::test]
async fn a_claim_from_before_a_reset_is_not_sent() {
    let (url, hits) = counting();
    let (s, fixture) = with_fixture(setup(&url, settings(&[], 5)));
    let claim = |s: &Setup| {
        s.store
            .claim_due(
                "test",
                s.clock.now(),
                time::Duration::minutes(1),
                ClaimLimits::upto(1),
            )
            .wait()
            .expect("claim")
            .claimed
            .pop()
            .expect("due")
    };
    s.notify();
    let before = fixture.barrier.generation();
    let stale = claim(&s);
    let pm = PmCode::parse("TRD").expect("pm");
    fixture.barrier.reset(Some(&pm), async {}).await;
    assert!(s.worker.attempt(stale, before).await.is_none());
    assert_eq!(hits.load(Ordering::SeqCst), 0, "not sent");
    assert_eq!(fixture.journal.len(), (0, 0), "and nothing journalled");

    s.notify();
    let now = fixture.barrier.generation();
    let fresh = claim(&s);
    s.worker.attempt(fresh, now).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "claimed after the reset: sent"
    );
    assert_eq!(fixture.journal.len(), (0, 1), "and journalled");
}

/// A reset cancels an attempt its receiver holds: the service closes the
/// connection at once, long before the attempt's timeout, and records
/// nothing.
#[actix_rt::test]
async fn a_reset_cancels_the_attempt_a_receiver_holds() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (arrived, arrivals) = std::sync::mpsc::channel();
    let (closed, closes) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut buffer = [0u8; 65536];
        let _ = stream.read(&mut buffer);
        let _ = arrived.send(());
        // Never answers; reads until the service closes the connection.
        while matches!(stream.read(&mut buffer), Ok(n) if n > 0) {}
        let _ = closed.send(());
    });
    let mut delivery = settings(&[], 5);
    delivery.timeout_ms = 600_000;
    let (s, fixture) = with_fixture(setup(&url, delivery));
    let n = s.notify();
    let claimed = s
        .store
        .claim_due(
            "test",
            s.clock.now(),
            time::Duration::minutes(30),
            ClaimLimits::upto(1),
        )
        .wait()
        .expect("claim")
        .claimed
        .pop()
        .expect("due");
    let s = Rc::new(s);
    let attempting = {
        let s = Rc::clone(&s);
        actix_rt::spawn(async move { s.worker.attempt(claimed, 0).await.is_none() })
    };
    let waited =
        actix_rt::task::spawn_blocking(move || arrivals.recv_timeout(Duration::from_secs(30)));
    waited.await.expect("joined").expect("the request arrived");
    fixture.barrier.reset(None, async {}).await;
    let ended = tokio::time::timeout(Duration::from_secs(30), attempting).await;
    assert!(
        ended.expect("the attempt ended").expect("joined"),
        "cancelled, nothing claimed next"
    );
    let closed =
        actix_rt::task::spawn_blocking(move || closes.recv_timeout(Duration::from_secs(30)));
    closed
        .await
        .expect("joined")
        .expect("the connection was closed");
    let (stored, attempts) = s.stored(&n);
    assert_eq!(
        (stored.attempts, attempts.len()),
        (0, 0),
        "nothing recorded"
    );
    assert_eq!(fixture.journal.len(), (0, 0));
}

/// Bounded memory: with 2,000 notifications due for a receiver that never
/// answers, an engine with 4 attempt slots holds exactly 4 (its own
/// counters), and the store shows the other 1,996 waiting, unclaimed.
#[test]
fn the_engine_holds_only_what_it_has_claimed() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut delivery = settings(&[], 5);
    delivery.concurrency = 4;
    delivery.timeout_ms = 60_000;
    let s = setup(&url, delivery.clone());
    let many: Vec<Notification> = (0..2000).map(|_| s.notification()).collect();
    s.store.enqueue(many).wait().expect("enqueue");
    let stats = Arc::new(EngineStats::default());
    let engine = Engine {
        settings: live(delivery),
        blocked: BlockedNetworks::default(),
        store: s.store.clone(),
        clock: Arc::new(crate::domain::SystemClock),
        stats: Arc::clone(&stats),
        fixture: None,
    };
    engine.start().expect("start");
    let deadline = Instant::now() + Duration::from_secs(20);
    while stats.in_flight.load(Ordering::Relaxed) < 4 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(stats.in_flight.load(Ordering::Relaxed), 4);
    assert_eq!(stats.most_in_flight.load(Ordering::Relaxed), 4);
    assert_eq!(stats.claimed.load(Ordering::Relaxed), 4);
    let unclaimed = s
        .store
        .claim_due(
            "other",
            s.clock.now() + time::Duration::days(1),
            time::Duration::minutes(1),
            ClaimLimits::upto(5000),
        )
        .wait()
        .expect("claim")
        .claimed;
    assert_eq!(
        unclaimed.len(),
        1996,
        "the rest wait in the store, unclaimed"
    );
}
