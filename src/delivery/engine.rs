//! The engine: a thread of its own with a single-threaded runtime, a loop that
//! claims due notifications into free attempt slots, and what an engine does
//! around attempts (counters, backlog gauges, suspension).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::config::{DeliverySettings, MAX_DELIVERY_TIMEOUT_MS};
use crate::delivery::activity::Activity;
use crate::domain::{suspends, AttemptOutcome, BlockedNetworks, Clock, WebhookId, WebhookStatus};
use crate::metrics::METRICS;
use crate::outbound::live::LiveSettings;
use crate::outbound::Outbound;
use crate::sandbox::{Fixture, Idle};
use crate::store::{ClaimLimits, Claimed, Claims, Recorded, Store, StoreError};

use super::failure_log::FailureLog;

/// The longest the engine sleeps without looking at the outbox: a claim that
/// another engine let lapse, or a store that was unavailable, is noticed
/// within this.
const IDLE_LOOK: Duration = Duration::from_secs(5);
/// How soon the engine looks again after the store failed to answer.
const STORAGE_RETRY: Duration = Duration::from_secs(1);
/// How often the backlog gauges are refreshed.
const BACKLOG_REFRESH: Duration = Duration::from_secs(10);

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
pub(super) struct Worker {
    pub(super) engine: Engine,
    /// The name its claims carry.
    pub(super) instance: String,
    pub(super) outbound: Outbound,
    /// Failed attempts per webhook since their last summary line.
    pub(super) failures: RefCell<FailureLog>,
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
    pub(super) async fn run_slot(&self, first: Claimed, since: u64) -> usize {
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
    pub(super) fn generation(&self) -> u64 {
        self.engine
            .fixture
            .as_ref()
            .map_or(0, |f| f.barrier.generation())
    }

    pub(super) fn took(&self, claim: &Claimed) {
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

    /// After notifications gave up waiting (`domain::GiveUp`): the suspension
    /// rule, as for any that ends `Undelivered`.
    pub(super) async fn gave_up(&self, recorded: &Recorded) {
        let recent = self.engine.settings.now().settings.suspend_after;
        if suspends(AttemptOutcome::Undelivered, &recorded.recent_final, recent) {
            self.suspend(recorded.webhook_id, "after notifications gave up waiting")
                .await;
        }
    }

    /// Suspends the webhook (`Webhook::suspend`: only an active one). If this
    /// write fails, the next final failure decides again, since the rule looks
    /// at the last notifications, not at a count kept here.
    pub(super) async fn suspend(&self, webhook: WebhookId, why: &str) {
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
}
