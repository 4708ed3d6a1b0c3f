//! Event delivery: sends each due notification to its webhook, retries it on the
//! configured schedule, and records every attempt.
//!
//! Shape: the outbox is the work queue (`store::Outbox`), with a queue per
//! webhook. The engine claims due notifications a page at a time, ready queues
//! soonest first and each within its room (`delivery.per_webhook_concurrency`,
//! one probe while a failing receiver backs off: `domain::queue`), never more
//! than it has free attempt slots (`delivery.concurrency`), so what it holds is
//! bounded by that, not by the backlog. Each claim has a lease; the attempt's
//! outcome is recorded under the claim, which releases it, in the same write
//! that claims the slot's next notification; a retry is simply a later due time
//! in the store. An engine that dies leaves claims that lapse, and any
//! engine takes them over: delivery is at least once, and the notification id
//! (`webhook-id` when signing) is the same on every attempt so that a receiver
//! can drop a duplicate. The engine sleeps until the next due time, or until
//! the store wakes it after a commit that makes a notification due now.
//!
//! It runs on a thread of its own with its own single-threaded runtime and HTTP
//! client, so deliveries never take time from the API's workers; each attempt
//! is its own task, so one slow receiver never holds up another. Every "now"
//! comes from the engine's [`Clock`], so retries, backoff and suspension are
//! tested without waiting.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use awc::http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::activity::{Activity, Landed};
use crate::config::{DeliverySettings, MAX_DELIVERY_TIMEOUT_MS};
use crate::domain::notification::MASKED;
use crate::domain::time::rfc3339_seconds;
use crate::domain::{
    suspends, Attempt, AttemptOutcome, BlockedNetworks, Clock, Notification, NotificationStatus,
    ReceiverReply, Webhook, WebhookId, WebhookStatus,
};
use crate::metrics::METRICS;
use crate::outbound::Outbound;
use crate::runtime::{Delivery, LiveSettings};
use crate::sandbox::{self, Fixture, Idle};
use crate::store::{
    ClaimLimits, ClaimRequest, Claimed, Claims, RecordRules, Recorded, Store, StoreError,
};

/// The longest the engine sleeps without looking at the outbox: a claim that
/// another engine let lapse, or a store that was unavailable, is noticed
/// within this.
const IDLE_LOOK: Duration = Duration::from_secs(5);
/// How soon the engine looks again after the store failed to answer.
const STORAGE_RETRY: Duration = Duration::from_secs(1);
/// How often the backlog gauges are refreshed.
const BACKLOG_REFRESH: Duration = Duration::from_secs(10);
/// The most of a receiver's answer read; the attempt keeps its first 4 KiB.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How long a claim lasts: twice the attempt's whole timeout and 5 s more,
/// time enough to send and to record the outcome.
pub fn lease(settings: &DeliverySettings) -> time::Duration {
    time::Duration::try_from(settings.timeout() * 2).unwrap_or(time::Duration::MAX)
        + time::Duration::seconds(5)
}

/// What the engine needs, ready: its settings and signer (read again for
/// each claim and attempt, as the sandbox may change them), the networks it
/// never calls, the store it works from and the clock it reads.
pub struct Engine {
    pub settings: Arc<LiveSettings>,
    pub blocked: BlockedNetworks,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// What it is doing, for tests and metrics.
    pub stats: Arc<EngineStats>,
    /// While the sandbox is on: the journal each recorded attempt goes to,
    /// and the reset's barrier each attempt passes before it sends.
    pub fixture: Option<Arc<Fixture>>,
}

/// The engine's own counters.
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Claimed notifications whose attempt has not finished.
    pub in_flight: AtomicUsize,
    /// The most ever in flight at once.
    pub most_in_flight: AtomicUsize,
    /// Notifications claimed so far, and how many of them were taken over from
    /// a lapsed claim.
    pub claimed: AtomicU64,
    pub taken_over: AtomicU64,
    /// The last hour of attempts, for the dashboard's status strip.
    pub activity: Activity,
    /// Each look at the outbox that found nothing due and nothing in flight:
    /// the sandbox's clock call waits on it to know the work due by a
    /// moved clock is done.
    pub idle: watch::Sender<Idle>,
}

impl Engine {
    /// Starts the engine on a thread named `delivery`; answers the thread's name.
    pub fn start(self) -> std::io::Result<&'static str> {
        const NAME: &str = "delivery";
        thread::Builder::new().name(NAME.into()).spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(run(self));
        })?;
        Ok(NAME)
    }
}

/// One engine's working state, on its thread.
struct Worker {
    engine: Engine,
    /// The name its claims carry.
    instance: String,
    outbound: Outbound,
    /// Failed attempts per webhook since their last summary line.
    failures: RefCell<FailureLog>,
}

/// How often, at most, the failures of one webhook are summarised in the log.
const FAILURE_SUMMARY_INTERVAL: time::Duration = time::Duration::seconds(60);

/// Keeps the log quiet while a receiver fails: instead of a line per failed
/// attempt, one line per webhook at most every [`FAILURE_SUMMARY_INTERVAL`],
/// with the count and the last error. Holds one entry per failing webhook; a
/// delivery forgets the webhook's entry.
#[derive(Debug, Default)]
struct FailureLog {
    failing: HashMap<WebhookId, Failures>,
    /// Webhooks whose queue this engine saw start a backoff that has not ended.
    backed_off: HashSet<WebhookId>,
}

#[derive(Debug)]
struct Failures {
    since: OffsetDateTime,
    count: u64,
    last: String,
}

impl FailureLog {
    /// Counts one failed attempt; answers the summary line when one is due:
    /// at the first failure, and then once an interval has passed.
    fn failed(&mut self, webhook: WebhookId, error: &str, now: OffsetDateTime) -> Option<String> {
        let entry = self.failing.entry(webhook).or_insert_with(|| Failures {
            since: now - FAILURE_SUMMARY_INTERVAL,
            count: 0,
            last: String::new(),
        });
        entry.count += 1;
        error.clone_into(&mut entry.last);
        if now - entry.since < FAILURE_SUMMARY_INTERVAL {
            return None;
        }
        let line = format!(
            "webhook {webhook}: {} failed attempts since {} (last: {})",
            entry.count,
            rfc3339_seconds(entry.since.max(now - FAILURE_SUMMARY_INTERVAL)),
            entry.last
        );
        entry.since = now;
        entry.count = 0;
        Some(line)
    }

    fn delivered(&mut self, webhook: WebhookId) {
        self.failing.remove(&webhook);
    }
}

/// The engine's loop: claim as many due notifications as there are free
/// attempt slots, start an attempt for each, then sleep until an attempt ends,
/// the store wakes it, or the next due time (at most [`IDLE_LOOK`]).
async fn run(engine: Engine) {
    let instance = format!("engine-{}", Uuid::new_v4().simple());
    let wake = engine.store.waker();
    // Fixed at start; the other settings are read again at each claim.
    let concurrency = engine.settings.now().settings.concurrency;
    // Each attempt is bounded by the timeout in effect when it starts
    // (`Worker::send`); the client's own bound is only the longest allowed.
    let longest = Duration::from_millis(MAX_DELIVERY_TIMEOUT_MS);
    let outbound = Outbound::new(longest, longest, concurrency, engine.blocked.clone());
    let worker = Rc::new(Worker {
        engine,
        instance: instance.clone(),
        outbound,
        failures: RefCell::default(),
    });
    let engine = &worker.engine;
    let (finished, mut finishes) = mpsc::unbounded_channel::<()>();
    let mut in_flight = 0usize;
    let mut backlog_at = Instant::now();
    log::info!("delivery engine {instance} started: {concurrency} attempts at once");
    loop {
        while finishes.try_recv().is_ok() {
            in_flight -= 1;
        }
        let free = concurrency - in_flight;
        let mut wait = IDLE_LOOK;
        if free > 0 {
            let since = worker.generation();
            let now = engine.clock.now();
            let live = engine.settings.now();
            let limits = ClaimLimits {
                total: u32::try_from(free).unwrap_or(u32::MAX),
                per_webhook: live.settings.per_webhook_concurrency,
                give_up: Some(live.giving_up.clone()),
            };
            let lease = lease(&live.settings);
            match engine.store.claim_due(&instance, now, lease, limits).await {
                Ok(Claims {
                    claimed,
                    next,
                    gave_up,
                }) => {
                    let more = claimed.len() == free;
                    for recorded in gave_up {
                        let worker = Rc::clone(&worker);
                        actix_rt::spawn(async move { worker.gave_up(&recorded).await });
                    }
                    for claim in claimed {
                        // Counted here, before the slot's task runs, so the
                        // counters never lag what is in flight.
                        worker.took(&claim);
                        in_flight += 1;
                        let (worker, finished) = (Rc::clone(&worker), finished.clone());
                        actix_rt::spawn(async move {
                            worker.run_slot(claim, since).await;
                            let _ = finished.send(());
                        });
                    }
                    if !more {
                        wait = next.map_or(IDLE_LOOK, |at| {
                            Duration::try_from(at - engine.clock.now())
                                .unwrap_or(Duration::ZERO)
                                .min(IDLE_LOOK)
                        });
                    }
                    if in_flight == 0 {
                        engine.stats.idle.send_replace(Idle {
                            at: Some(now),
                            next,
                        });
                    }
                }
                Err(e) => {
                    log::warn!("delivery: claiming due notifications: {e}");
                    wait = STORAGE_RETRY;
                }
            }
        }
        engine.stats.in_flight.store(in_flight, Ordering::Relaxed);
        engine
            .stats
            .most_in_flight
            .fetch_max(in_flight, Ordering::Relaxed);
        METRICS.delivery_queue(in_flight);
        if backlog_at.elapsed() >= BACKLOG_REFRESH {
            backlog_at = Instant::now();
            worker.refresh_backlog().await;
        }
        tokio::select! {
            Some(()) = finishes.recv() => in_flight -= 1,
            () = wake.notified() => {}
            () = actix_rt::time::sleep(wait) => {}
        }
    }
}

impl Worker {
    /// One attempt slot: attempts `first` (counted by whoever claimed it),
    /// then whatever each recorded attempt claimed next
    /// (`Outbox::record_and_claim`), until nothing is due for it. Answers how
    /// many attempts it made.
    /// `since`: the barrier's generation read before the claim.
    /// Sends a delivered notification again, with the same id, as an
    /// at-least-once redelivery would (a webhook's `duplicates`,
    /// `domain::chaos`): journalled like any attempt after `first`, not
    /// recorded in the store, where the notification stays delivered once.
    async fn duplicate(
        &self,
        live: &Delivery,
        webhook: &Webhook,
        n: &Notification,
        first: sandbox::Delivery,
    ) {
        let time = self.engine.clock.now();
        let started = Instant::now();
        let sent = self.send(live, webhook, n).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let Some(fixture) = &self.engine.fixture else {
            return;
        };
        fixture.journal.attempted(sandbox::Delivery {
            attempt: first.attempt + 1,
            time,
            request_headers: sent.request_headers,
            outcome: match sent.http_status {
                Some(200..=299) => sandbox::Outcome::Delivered,
                _ => sandbox::Outcome::Failed,
            },
            http_status: sent.http_status,
            error: sent.error,
            latency_ms,
            ..first
        });
    }

    async fn run_slot(&self, first: Claimed, since: u64) -> usize {
        let mut next = self.attempt(first, since).await;
        let mut attempts = 1;
        while let Some((claim, since)) = next.take() {
            self.took(&claim);
            attempts += 1;
            next = self.attempt(claim, since).await;
        }
        attempts
    }

    /// The reset barrier's generation, to read before a claim (0 without the sandbox).
    fn generation(&self) -> u64 {
        self.engine
            .fixture
            .as_ref()
            .map_or(0, |f| f.barrier.generation())
    }

    fn took(&self, claim: &Claimed) {
        let stats = &self.engine.stats;
        stats.claimed.fetch_add(1, Ordering::Relaxed);
        if claim.taken_over {
            stats.taken_over.fetch_add(1, Ordering::Relaxed);
            METRICS.claim_taken_over();
        }
    }

    async fn refresh_backlog(&self) {
        match self.engine.store.backlog().await {
            Ok(backlog) => {
                let overdue = backlog.oldest_due.map_or(0.0, |at| {
                    (self.engine.clock.now() - at).as_seconds_f64().max(0.0)
                });
                METRICS.backlog(backlog.pending, overdue, backlog.backing_off);
                if let Some(dead) = backlog.dead_tuples {
                    METRICS.dead_tuples(dead);
                }
            }
            Err(e) => log::debug!("delivery: reading the backlog: {e}"),
        }
    }

    /// One attempt of a claimed notification: sends, records the outcome under
    /// the claim and claims the next due notification in the same write, and
    /// suspends the webhook when the outcome calls for it. When something fails
    /// before the outcome is recorded, the claim simply lapses and the
    /// notification is claimed again later. With the sandbox on, the attempt
    /// passes the reset's barrier first (`since`: the generation read before
    /// the claim); a reset refuses or cancels it, and it records nothing.
    /// Answers the next claim, if any, with the generation read before it.
    async fn attempt(&self, claimed: Claimed, since: u64) -> Option<(Claimed, u64)> {
        let Claimed {
            notification: n,
            token,
            ..
        } = claimed;
        let engine = &self.engine;
        let live = engine.settings.now();
        let webhook = match engine.store.get(n.webhook_id, None).await {
            Ok(webhook) => webhook,
            Err(e) => {
                log::warn!("notification {}: reading its webhook: {e}", n.id);
                return None;
            }
        };
        if webhook.status != WebhookStatus::Active {
            // It turned inactive since the claim: wait for it to be set active.
            if let Err(e) = engine.store.park(n.id, token).await {
                log::debug!("notification {}: parking it: {e}", n.id);
            }
            return None;
        }

        let pass = match &engine.fixture {
            Some(fixture) => match fixture.barrier.enter(&n.pm_code, since) {
                Some(pass) => Some(pass),
                None => {
                    log::debug!("notification {}: not sent: a reset came first", n.id);
                    return None;
                }
            },
            None => None,
        };
        let time = engine.clock.now();
        let started = Instant::now();
        let sent = match &pass {
            Some(pass) => tokio::select! {
                sent = self.send(&live, &webhook, &n) => sent,
                () = pass.cancelled() => {
                    log::debug!("notification {}: attempt cancelled by a reset", n.id);
                    return None;
                }
            },
            None => self.send(&live, &webhook, &n).await,
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let outcome = match sent.http_status {
            Some(200..=299) => AttemptOutcome::Delivered,
            Some(410) => AttemptOutcome::Gone,
            _ => next_try(
                &live.settings,
                engine.clock.now(),
                n.failures_this_cycle() + 1,
                sent.retry_after,
            ),
        };
        METRICS.delivery(match outcome {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::RetryAt(_) => "retry",
            AttemptOutcome::Undelivered => "undelivered",
            AttemptOutcome::Gone => "gone",
        });
        self.log_attempt(&n, &sent, outcome);
        let journalled = engine.fixture.as_ref().map(|_| sandbox::Delivery {
            seq: 0,
            pm: n.pm_code.clone(),
            notification_id: n.id,
            event_id: None,
            event_code: n.event_code,
            webhook_id: n.webhook_id,
            url: webhook.config.url.to_string(),
            attempt: n.attempts + 1,
            time,
            request_headers: sent.request_headers.clone(),
            body: n.body.clone(),
            outcome: match outcome {
                AttemptOutcome::Delivered => sandbox::Outcome::Delivered,
                _ => sandbox::Outcome::Failed,
            },
            http_status: sent.http_status,
            error: sent.error.clone(),
            latency_ms,
            notification_status: match outcome {
                AttemptOutcome::Delivered => NotificationStatus::Delivered,
                AttemptOutcome::RetryAt(_) => NotificationStatus::Pending,
                AttemptOutcome::Undelivered | AttemptOutcome::Gone => {
                    NotificationStatus::Undelivered
                }
            },
        });
        let record = Attempt {
            time,
            http_status: sent.http_status,
            error: sent.error,
            latency_ms,
            request_headers: sent.request_headers,
            reply: sent.reply,
        };
        let rules = RecordRules {
            recent: live.settings.suspend_after,
            backoff: live.settings.backoff(),
        };
        let next = ClaimRequest {
            engine: self.instance.clone(),
            now: engine.clock.now(),
            lease: lease(&live.settings),
            limits: ClaimLimits {
                total: 1,
                per_webhook: live.settings.per_webhook_concurrency,
                give_up: Some(live.giving_up.clone()),
            },
        };
        let next_since = self.generation();
        let recorded = engine
            .store
            .record_and_claim(n.id, &token, record, outcome, rules, next)
            .await;
        match recorded {
            Ok((recorded, mut claims)) => {
                // Journalled before the pass is given back: a reset that
                // follows clears it with the rest.
                if let (Some(fixture), Some(journalled)) = (&engine.fixture, journalled) {
                    let again = (outcome == AttemptOutcome::Delivered
                        && fixture.chaos(n.webhook_id).is_some_and(|c| c.duplicates))
                    .then(|| journalled.clone());
                    fixture.journal.attempted(journalled);
                    if let Some(first) = again {
                        self.duplicate(&live, &webhook, &n, first).await;
                    }
                }
                drop(pass);
                // Counted once recorded, so the strip never runs ahead of the log.
                engine.stats.activity.record(
                    time,
                    match outcome {
                        AttemptOutcome::Delivered => Landed::Delivered,
                        AttemptOutcome::RetryAt(_) => Landed::Failed,
                        AttemptOutcome::Undelivered | AttemptOutcome::Gone => Landed::Undelivered,
                    },
                    latency_ms,
                );
                self.log_queue(&recorded, outcome);
                let now = engine.clock.now();
                if suspends(outcome, &recorded.recent_final, rules.recent)
                    || recorded.queue.suspends(&rules.backoff, now)
                {
                    let why = format!("after notification {} ({outcome:?})", n.id);
                    self.suspend(recorded.webhook_id, &why).await;
                }
                for gave_up in &claims.gave_up {
                    self.gave_up(gave_up).await;
                }
                claims.claimed.pop().map(|claim| (claim, next_since))
            }
            // No longer pending (the sandbox was reset), or another engine took
            // the claim over after its lease: that engine's attempt counts.
            Err(StoreError::NotificationNotFound | StoreError::ClaimLost) => {
                log::debug!(
                    "notification {}: outcome not recorded: no longer ours",
                    n.id
                );
                None
            }
            Err(e) => {
                log::warn!(
                    "notification {}: recording an attempt: {e} (it is attempted again once its claim lapses)",
                    n.id
                );
                None
            }
        }
    }

    /// What the log says of an attempt: every attempt at debug level; a line
    /// per notification that ends undelivered or is delivered after retries;
    /// and a failing webhook's attempts summarised (see [`FailureLog`]).
    fn log_attempt(&self, n: &Notification, sent: &Sent, outcome: AttemptOutcome) {
        let number = n.attempts + 1;
        let error = sent.error.as_deref().unwrap_or("");
        log::debug!(
            "notification {} attempt {number} to webhook {}: {outcome:?} {error}",
            n.id,
            n.webhook_id
        );
        let mut failures = self.failures.borrow_mut();
        match outcome {
            AttemptOutcome::Delivered => {
                failures.delivered(n.webhook_id);
                if number > 1 {
                    log::info!("notification {} delivered after {number} attempts", n.id);
                }
            }
            AttemptOutcome::RetryAt(_) | AttemptOutcome::Undelivered | AttemptOutcome::Gone => {
                if let Some(line) = failures.failed(n.webhook_id, error, self.engine.clock.now()) {
                    log::warn!("{line}");
                }
                if !matches!(outcome, AttemptOutcome::RetryAt(_)) {
                    log::info!(
                        "notification {} undelivered after {number} attempts (last: {error})",
                        n.id
                    );
                }
            }
        }
    }

    /// What the log says of a queue's health: a line when it starts to back
    /// off, and one when a delivery ends a backoff. (A failed probe is one more
    /// failed attempt, summarised with the others.)
    fn log_queue(&self, recorded: &Recorded, outcome: AttemptOutcome) {
        let webhook = recorded.webhook_id;
        let mut failures = self.failures.borrow_mut();
        match (recorded.queue.backoff, outcome) {
            (None, AttemptOutcome::Delivered) if failures.backed_off.remove(&webhook) => {
                log::info!(
                    "webhook {webhook}: a probe was delivered; the backoff ends and its waiting notifications follow"
                );
            }
            (Some(b), _) if failures.backed_off.insert(webhook) => log::warn!(
                "webhook {webhook}: {} failed attempts in a row; its notifications wait while one probe at a time tests the receiver (next after {})",
                recorded.queue.failures,
                rfc3339_seconds(b.until)
            ),
            _ => {}
        }
    }

    /// After notifications gave up waiting (`domain::GiveUp`): the suspension
    /// rule, as for any that ends `Undelivered`.
    async fn gave_up(&self, recorded: &Recorded) {
        let recent = self.engine.settings.now().settings.suspend_after;
        if suspends(AttemptOutcome::Undelivered, &recorded.recent_final, recent) {
            self.suspend(recorded.webhook_id, "after notifications gave up waiting")
                .await;
        }
    }

    /// Suspends the webhook (`Webhook::suspend`: only an active one). If this
    /// write fails, the next final failure decides again, since the rule looks
    /// at the last notifications, not at a count kept here.
    async fn suspend(&self, webhook: WebhookId, why: &str) {
        let now = self.engine.clock.now_seconds();
        let change = self
            .engine
            .store
            .modify(
                webhook,
                None,
                Box::new(move |w| {
                    w.suspend(now);
                    Ok(())
                }),
            )
            .await;
        match change {
            Ok(w) if w.status == WebhookStatus::Suspended => {
                log::warn!("webhook {webhook} suspended {why}; set it active to resume")
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => log::warn!("webhook {webhook}: suspending it: {e}"),
        }
    }

    /// Sends one attempt. A webhook whose URL names a blocked address is not
    /// called (the resolver refuses blocked names the same way).
    async fn send(&self, live: &Delivery, webhook: &Webhook, n: &Notification) -> Sent {
        let outbound = &self.outbound;
        let timeout = live.settings.timeout();
        let mut request = outbound
            .post(webhook)
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        if let Some(signer) = &live.signer {
            let id = n.id.to_string();
            // The wall clock, even when the sandbox's clock runs ahead:
            // receivers refuse a `webhook-timestamp` minutes off theirs.
            let wall = OffsetDateTime::now_utc().unix_timestamp();
            for header in signer.headers(&id, wall, &n.body) {
                request = request.insert_header(header);
            }
        }
        let request_headers = masked(request.headers(), webhook);
        let failed = |error: String| Sent {
            http_status: None,
            error: Some(error),
            retry_after: None,
            reply: None,
            request_headers: request_headers.clone(),
        };
        if let Some(blocked) = outbound.refuses(webhook) {
            return failed(blocked.into());
        }
        let sent = actix_rt::time::timeout(timeout, async {
            let mut response = request.send_body(n.body.clone()).await?;
            // Reading the answer also lets the connection be reused.
            let body = response.body().limit(MAX_ANSWER_BYTES).await;
            Ok::<_, awc::error::SendRequestError>((response, body))
        })
        .await;
        let (response, body) = match sent {
            Ok(Ok(answered)) => answered,
            Ok(Err(e)) => return failed(outbound.describe(&e)),
            Err(_) => return failed(format!("timeout after {} ms", timeout.as_millis())),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER));
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        let reply = match body {
            Ok(body) => ReceiverReply::new(headers, &body),
            // Longer than MAX_ANSWER_BYTES, or cut off: none of it is kept.
            Err(_) => ReceiverReply {
                headers,
                body: String::new(),
                body_truncated: true,
            },
        };
        Sent {
            http_status: Some(status.as_u16()),
            error: (!status.is_success()).then(|| format!("HTTP {}", status.as_u16())),
            retry_after,
            reply: Some(reply),
            request_headers,
        }
    }
}

/// What one attempt sent and saw.
struct Sent {
    http_status: Option<u16>,
    error: Option<String>,
    retry_after: Option<Duration>,
    reply: Option<ReceiverReply>,
    request_headers: BTreeMap<String, String>,
}

/// The request's headers by lower-case name, the webhook's custom header values
/// masked: what an attempt keeps of what it sent.
fn masked(headers: &awc::http::header::HeaderMap, webhook: &Webhook) -> BTreeMap<String, String> {
    let custom = &webhook.config.custom_headers;
    headers
        .iter()
        .map(|(name, value)| {
            let secret = custom
                .iter()
                .any(|(c, _)| c.eq_ignore_ascii_case(name.as_str()));
            let value = if secret {
                MASKED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// After the `failures`th failed attempt of a cycle: the next retry on the
/// schedule, with up to 10% jitter, or later if the receiver asked; or
/// `Undelivered` when the schedule is used up.
fn next_try(
    settings: &DeliverySettings,
    now: OffsetDateTime,
    failures: u32,
    retry_after: Option<Duration>,
) -> AttemptOutcome {
    let Some(wait_ms) = settings
        .retry_schedule_ms
        .get(failures.saturating_sub(1) as usize)
    else {
        return AttemptOutcome::Undelivered;
    };
    let jitter_ms = fastrand::u64(0..=wait_ms / 10);
    let wait = Duration::from_millis(wait_ms + jitter_ms).max(retry_after.unwrap_or_default());
    AttemptOutcome::RetryAt(now + wait)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::domain::{
        CustomHeaders, EventCode, NotificationId, NotificationStatus, PmCode, ProductId, TestClock,
        WebhookConfig, WebhookId, WebhookSpec, WebhookUrl,
    };
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
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
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
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
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
}
