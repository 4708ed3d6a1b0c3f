//! Event delivery: sends each pending notification to its webhook, retries it on
//! the configured schedule, and records every attempt.
//!
//! Shape: the outbox in SQLite is the truth; this engine is its working copy. It
//! runs on a thread of its own with its own single-threaded runtime and HTTP
//! client, so deliveries never take time from the API's workers. Pending
//! notifications arrive from the trigger (after their commit) and, at start, from
//! the outbox, so a crash loses none. A queue ordered by due time starts an
//! attempt whenever one is due and fewer than `concurrency` are in flight; each
//! attempt is its own task, so one slow receiver never holds up another.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use awc::http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use time::OffsetDateTime;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::config::DeliverySettings;
use crate::domain::{
    Attempt, AttemptOutcome, BlockedNetworks, Notification, Webhook, WebhookStatus,
};
use crate::metrics::METRICS;
use crate::outbound::Outbound;
use crate::signing::Signer;
use crate::store::{Outbox, Repository, StoreError};

/// How often a notification whose webhook is not `active` looks again: it waits,
/// without using up its retries, until the webhook is set active.
const PARKED_RECHECK: Duration = Duration::from_secs(1);
/// How soon an attempt whose outcome could not be stored is tried again.
const STORAGE_RETRY: Duration = Duration::from_secs(1);
/// The most of a receiver's answer read (and thrown away).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The handle the API holds: hands committed notifications to the engine.
#[derive(Clone)]
pub struct Dispatcher {
    queue: UnboundedSender<Notification>,
}

impl Dispatcher {
    /// Starts the engine on its own thread, resuming every pending notification
    /// of the outbox. It never connects to an address in `blocked`.
    pub fn start(
        settings: DeliverySettings,
        blocked: BlockedNetworks,
        repo: Arc<dyn Repository>,
        outbox: Arc<dyn Outbox>,
    ) -> Result<Self, String> {
        let signer = settings
            .signing_secret
            .as_deref()
            .map(Signer::from_secret)
            .transpose()
            .map_err(|why| format!("signing_secret: {why}"))?;
        let pending = outbox
            .pending()
            .map_err(|e| format!("reading pending notifications: {e}"))?;
        let (queue, incoming) = mpsc::unbounded_channel();
        if !pending.is_empty() {
            log::info!("resuming {} pending notifications", pending.len());
        }
        for notification in pending {
            let _ = queue.send(notification);
        }
        thread::Builder::new()
            .name("delivery".into())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(run(settings, signer, blocked, repo, outbox, incoming));
            })
            .map_err(|e| format!("starting the delivery thread: {e}"))?;
        Ok(Self { queue })
    }

    /// Delivers these notifications (already committed to the outbox).
    pub fn deliver(&self, notifications: impl IntoIterator<Item = Notification>) {
        for notification in notifications {
            // Fails only when the engine has stopped; the outbox still holds the
            // notification for the next start.
            let _ = self.queue.send(notification);
        }
    }
}

struct Engine {
    settings: DeliverySettings,
    signer: Option<Signer>,
    repo: Arc<dyn Repository>,
    outbox: Arc<dyn Outbox>,
    outbound: Outbound,
}

/// The scheduler: due times in a heap, attempts as tasks, at most `concurrency`
/// of them at once.
async fn run(
    settings: DeliverySettings,
    signer: Option<Signer>,
    blocked: BlockedNetworks,
    repo: Arc<dyn Repository>,
    outbox: Arc<dyn Outbox>,
    mut incoming: UnboundedReceiver<Notification>,
) {
    let concurrency = settings.concurrency;
    let engine = Rc::new(Engine {
        outbound: Outbound::new(settings.timeout(), settings.timeout(), concurrency, blocked),
        settings,
        signer,
        repo,
        outbox,
    });
    let (finished, mut finishes) = mpsc::unbounded_channel::<Option<(Instant, Notification)>>();
    let mut queue = Queue::default();
    let mut in_flight = 0usize;
    loop {
        while in_flight < concurrency {
            let Some(notification) = queue.pop_due(Instant::now()) else {
                break;
            };
            in_flight += 1;
            let (engine, finished) = (Rc::clone(&engine), finished.clone());
            actix_rt::spawn(async move {
                let next = attempt(&engine, notification).await;
                let _ = finished.send(next);
            });
        }
        METRICS.delivery_queue(queue.len() + in_flight);
        let wake = queue.next_due().filter(|_| in_flight < concurrency);
        tokio::select! {
            received = incoming.recv() => match received {
                Some(notification) => {
                    let at = instant_of(notification.next_attempt);
                    queue.push(at, notification);
                }
                None => break,
            },
            Some(next) = finishes.recv() => {
                in_flight -= 1;
                if let Some((at, notification)) = next {
                    queue.push(at, notification);
                }
            }
            () = sleep_until(wake) => {}
        }
    }
    log::debug!("delivery engine stopped: the dispatcher is gone");
}

/// Notifications waiting for their due time, soonest first.
#[derive(Default)]
struct Queue {
    due: BinaryHeap<Reverse<(Instant, u64)>>,
    waiting: HashMap<u64, Notification>,
    next_key: u64,
}

impl Queue {
    fn push(&mut self, at: Instant, notification: Notification) {
        self.next_key += 1;
        self.due.push(Reverse((at, self.next_key)));
        self.waiting.insert(self.next_key, notification);
    }

    /// The soonest notification, if it is due by `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Notification> {
        let Reverse((at, key)) = *self.due.peek()?;
        if at > now {
            return None;
        }
        self.due.pop();
        self.waiting.remove(&key)
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }

    fn next_due(&self) -> Option<Instant> {
        self.due.peek().map(|Reverse((at, _))| *at)
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => actix_rt::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The monotonic instant of a wall-clock due time (now, if it has passed).
fn instant_of(at: Option<OffsetDateTime>) -> Instant {
    let now = OffsetDateTime::now_utc();
    let wait = at.map_or(time::Duration::ZERO, |at| at - now);
    Instant::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO)
}

/// One attempt: sends, records, and says when to come back (if ever).
async fn attempt(engine: &Engine, mut n: Notification) -> Option<(Instant, Notification)> {
    let webhook = match engine.repo.get(n.webhook_id, None) {
        Ok(webhook) => webhook,
        Err(StoreError::NotFound) => {
            log::warn!("notification {}: its webhook is gone; dropped", n.id);
            return None;
        }
        Err(e) => {
            log::warn!("notification {}: reading its webhook: {e}", n.id);
            return Some((Instant::now() + STORAGE_RETRY, n));
        }
    };
    if webhook.status != WebhookStatus::Active {
        return Some((Instant::now() + PARKED_RECHECK, n));
    }

    let time = OffsetDateTime::now_utc();
    let started = Instant::now();
    let (http_status, error, retry_after) = send(engine, &webhook, &n, time).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let outcome = match http_status {
        Some(200..=299) => AttemptOutcome::Delivered,
        Some(410) => AttemptOutcome::Gone,
        _ => next_try(&engine.settings, n.failures_this_cycle() + 1, retry_after),
    };
    METRICS.delivery(match outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::RetryAt(_) => "retry",
        AttemptOutcome::Undelivered => "undelivered",
        AttemptOutcome::Gone => "gone",
    });
    let record = Attempt {
        time,
        http_status,
        error,
        latency_ms,
    };
    let recorded = engine
        .outbox
        .record_attempt(n.id, record, outcome, engine.settings.suspend_after)
        .await;
    match recorded {
        Ok(suspended) => {
            if let Some(webhook) = suspended {
                log::warn!(
                    "webhook {} suspended after notification {} ({outcome:?}); set it active to resume",
                    webhook.id,
                    n.id
                );
            }
        }
        // No longer pending (the sandbox was reset): nothing more to do.
        Err(StoreError::NotFound) => return None,
        Err(e) => {
            log::warn!("notification {}: recording an attempt: {e}", n.id);
            return Some((Instant::now() + STORAGE_RETRY, n));
        }
    }
    match outcome {
        AttemptOutcome::RetryAt(at) => {
            n.attempts += 1;
            n.next_attempt = Some(at);
            Some((instant_of(Some(at)), n))
        }
        AttemptOutcome::Delivered | AttemptOutcome::Undelivered | AttemptOutcome::Gone => None,
    }
}

/// Sends one attempt: the receiver's status, the error if it failed, and a
/// `Retry-After` if it gave one. A webhook whose URL names a blocked address is
/// not called (the resolver refuses blocked names the same way).
async fn send(
    engine: &Engine,
    webhook: &Webhook,
    n: &Notification,
    time: OffsetDateTime,
) -> (Option<u16>, Option<String>, Option<Duration>) {
    if let Err(blocked) = engine.outbound.check(webhook) {
        return (None, Some(blocked.into()), None);
    }
    let mut request = engine
        .outbound
        .post(webhook)
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
    if let Some(signer) = &engine.signer {
        let id = n.id.to_string();
        for header in signer.headers(&id, time.unix_timestamp(), &n.body) {
            request = request.insert_header(header);
        }
    }
    let sent = actix_rt::time::timeout(engine.outbound.timeout(), async {
        let mut response = request.send_body(n.body.clone()).await?;
        // Read the answer so the connection can be reused; its content is not kept.
        let _ = response.body().limit(MAX_ANSWER_BYTES).await;
        Ok::<_, awc::error::SendRequestError>(response)
    })
    .await;
    match sent {
        Ok(Ok(response)) => {
            let status = response.status();
            let error = (!status.is_success()).then(|| format!("HTTP {}", status.as_u16()));
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER));
            (Some(status.as_u16()), error, retry_after)
        }
        Ok(Err(e)) => (None, Some(engine.outbound.describe(&e)), None),
        Err(_) => (
            None,
            Some(format!(
                "timeout after {} ms",
                engine.outbound.timeout().as_millis()
            )),
            None,
        ),
    }
}

/// After the `failures`th failed attempt of a cycle: the next retry on the
/// schedule, with up to 10% jitter, or later if the receiver asked; or
/// `Undelivered` when the schedule is used up.
fn next_try(
    settings: &DeliverySettings,
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
    AttemptOutcome::RetryAt(OffsetDateTime::now_utc() + wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(schedule: &[u64]) -> DeliverySettings {
        DeliverySettings {
            retry_schedule_ms: schedule.to_vec(),
            ..DeliverySettings::default()
        }
    }

    fn wait_of(outcome: AttemptOutcome) -> Duration {
        match outcome {
            AttemptOutcome::RetryAt(at) => {
                Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or_default()
            }
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn retries_follow_the_schedule_with_at_most_ten_percent_jitter() {
        let s = settings(&[10_000, 60_000]);
        for _ in 0..50 {
            let first = wait_of(next_try(&s, 1, None));
            assert!(
                first <= Duration::from_millis(11_000) && first >= Duration::from_millis(9_900),
                "{first:?}"
            );
            let second = wait_of(next_try(&s, 2, None));
            assert!(
                second <= Duration::from_millis(66_000) && second >= Duration::from_millis(59_900),
                "{second:?}"
            );
        }
        assert_eq!(next_try(&s, 3, None), AttemptOutcome::Undelivered);
    }

    #[test]
    fn a_longer_retry_after_is_honoured() {
        let s = settings(&[1_000]);
        let wait = wait_of(next_try(&s, 1, Some(Duration::from_secs(30))));
        assert!(wait > Duration::from_secs(29), "{wait:?}");
    }

    #[test]
    fn an_empty_schedule_means_one_attempt() {
        assert_eq!(
            next_try(&settings(&[]), 1, None),
            AttemptOutcome::Undelivered
        );
    }
}
