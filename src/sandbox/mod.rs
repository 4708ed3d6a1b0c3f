//! The test fixture's machinery, which Thredd does not have: the journal of
//! events and attempts (`journal`), the conditions tests wait for and verify
//! (`matching`), the reset's barrier (`barrier`), the clock's jumps
//! (`clock`), sending an event (`send`), the fraud alerts' expiry (`fraud`),
//! and each webhook's disorder on request and inbox scripts (here). The HTTP
//! calls over them live in `api/` (`events`, `deliveries`, `reset`, `inbox`,
//! `clock`, `chaos`, `fraud_alerts`).

pub mod barrier;
pub mod clock;
pub mod fraud;
pub mod journal;
pub mod matching;
pub mod send;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

pub use barrier::{Barrier, Pass};
pub use clock::Idle;
pub use journal::{Delivery, EventRecord, Journal, Outcome};
pub use matching::{DeliveryMatch, Expected};
pub use send::{send, Sent};

use crate::config::SandboxSettings;
use crate::domain::chaos::{Chaos, Reorder};
use crate::domain::inbox_script::{Answer, Running, Script};
use crate::domain::{EventCode, Notification, PmCode, WebhookId};
use crate::shutdown::Stopping;
use crate::store::{find_notification, Store, StoreError};

/// The longest `timeoutMs` a wait may name (it is then capped to
/// `sandbox.max_wait_ms`).
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;
/// The most inbox scripts at once. Each is at most a request body
/// (`limits.max_body_bytes`, 1 MiB by default), so they hold at most 100 MiB.
pub const MAX_SCRIPTS: usize = 100;
/// The most waits at once, over every caller; past it a wait is answered 503.
pub const MAX_WAITERS: usize = 256;
/// The most readers of the live stream at once; past it a reader is answered 503.
pub const MAX_STREAMS: usize = 64;

/// The most webhooks with disorder on at once.
pub const MAX_CHAOS: usize = 1_000;

/// One webhook's disorder: as asked for, and its reorder state.
#[derive(Debug)]
struct Disorder {
    pm: PmCode,
    chaos: Chaos,
    reorder: Reorder,
}

/// The fixture's shared state: one per process, while the sandbox is on.
#[derive(Debug)]
pub struct Fixture {
    pub journal: Journal,
    pub barrier: Arc<Barrier>,
    /// Bumped at each request an inbox captures (and each inbox emptied).
    inbox: watch::Sender<u64>,
    waiters: Arc<Semaphore>,
    /// Places among the live stream's readers.
    streams: Arc<Semaphore>,
    max_wait: Duration,
    /// The capture inboxes' scripts, by inbox name (at most [`MAX_SCRIPTS`]).
    scripts: Mutex<HashMap<String, Running>>,
    /// Each webhook's disorder on request, by webhook (at most [`MAX_CHAOS`]).
    chaos: Mutex<HashMap<WebhookId, Disorder>>,
    /// How long a fraud alert waits for its answer.
    fraud_expiry: time::Duration,
    /// Notified when a fraud alert is raised, so the expiry watch looks again.
    pub alert_raised: Notify,
}

/// Each notification of `record` as stored now (`None`: purged or reset), as
/// a caller in `scope` may see it: one lookup by key each.
pub async fn notifications_now(
    store: &dyn Store,
    scope: Option<&PmCode>,
    record: &EventRecord,
) -> Result<Vec<Option<Notification>>, StoreError> {
    let mut found = Vec::with_capacity(record.notifications.len());
    for (_, id) in &record.notifications {
        found.push(find_notification(store, scope, *id).await?.map(|(n, _)| n));
    }
    Ok(found)
}

/// Why a wait ended without its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmet {
    TimedOut,
    /// The service is shutting down.
    Stopping,
}

impl Fixture {
    pub fn new(settings: &SandboxSettings, retention: time::Duration) -> Self {
        Self {
            journal: Journal::new(settings.journal_capacity, retention),
            barrier: Arc::new(Barrier::default()),
            inbox: watch::Sender::new(0),
            waiters: Arc::new(Semaphore::new(MAX_WAITERS)),
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            max_wait: settings.max_wait(),
            scripts: Mutex::default(),
            chaos: Mutex::default(),
            fraud_expiry: settings.fraud_alert_expiry(),
            alert_raised: Notify::new(),
        }
    }

    fn disorder(&self) -> MutexGuard<'_, HashMap<WebhookId, Disorder>> {
        self.chaos
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets a webhook's disorder (one that does nothing removes it), its
    /// reorder from a new batch and its seed's first draw; `false`: refused,
    /// a new one beyond [`MAX_CHAOS`].
    pub fn set_chaos(&self, webhook: WebhookId, pm: &PmCode, chaos: Chaos) -> bool {
        let mut all = self.disorder();
        if !chaos.is_on() {
            all.remove(&webhook);
            return true;
        }
        if !all.contains_key(&webhook) && all.len() >= MAX_CHAOS {
            return false;
        }
        let reorder = Reorder::new(&chaos);
        all.insert(
            webhook,
            Disorder {
                pm: pm.clone(),
                chaos,
                reorder,
            },
        );
        true
    }

    /// A webhook's disorder, if it has any.
    pub fn chaos(&self, webhook: WebhookId) -> Option<Chaos> {
        self.disorder().get(&webhook).map(|d| d.chaos)
    }

    /// When a notification of `code` for `webhook` made at `now` falls due,
    /// when its webhook reorders that code (`Reorder::hold`).
    pub fn hold(
        &self,
        webhook: WebhookId,
        code: EventCode,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let mut all = self.disorder();
        let d = all.get_mut(&webhook)?;
        d.chaos.reorders(code).then(|| d.reorder.hold(now))
    }

    /// Forgets the disorder of `pm`'s webhooks (every one with `None`).
    pub fn clear_chaos(&self, pm: Option<&PmCode>) {
        let mut all = self.disorder();
        match pm {
            Some(pm) => all.retain(|_, d| d.pm != *pm),
            None => all.clear(),
        }
    }

    /// How long a fraud alert waits for its answer (`sandbox.fraud_alert_expiry_ms`).
    pub fn fraud_expiry(&self) -> time::Duration {
        self.fraud_expiry
    }

    fn scripts(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        self.scripts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets inbox `name`'s script, from its first step; `false`: refused, a
    /// new script beyond [`MAX_SCRIPTS`].
    pub fn set_script(&self, name: &str, script: Script) -> bool {
        let mut scripts = self.scripts();
        if !scripts.contains_key(name) && scripts.len() >= MAX_SCRIPTS {
            return false;
        }
        scripts.insert(name.to_owned(), Running::new(script));
        true
    }

    /// Inbox `name`'s script as it runs.
    pub fn script(&self, name: &str) -> Option<Running> {
        self.scripts().get(name).cloned()
    }

    /// Removes inbox `name`'s script (all with `None`); answers whether there was one.
    pub fn clear_script(&self, name: Option<&str>) -> bool {
        let mut scripts = self.scripts();
        match name {
            Some(name) => scripts.remove(name).is_some(),
            None => {
                let had = !scripts.is_empty();
                scripts.clear();
                had
            }
        }
    }

    /// The answer to the next request at inbox `name`, when it has a script.
    pub fn next_answer(&self, name: &str) -> Option<(Answer, Option<usize>)> {
        self.scripts().get_mut(name).map(Running::answer_next)
    }

    /// The longest a scripted delay or hang lasts: `sandbox.max_wait_ms`.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// How long a wait that asked for `timeout_ms` lasts (at most
    /// `sandbox.max_wait_ms`).
    pub fn wait_time(&self, timeout_ms: u64) -> Duration {
        Duration::from_millis(timeout_ms).min(self.max_wait)
    }

    /// A place among the waits, if one is free.
    pub fn waiter(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.waiters).try_acquire_owned().ok()
    }

    /// A place among the live stream's readers, if one is free.
    pub fn stream_reader(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.streams).try_acquire_owned().ok()
    }

    /// Tells inbox waits that an inbox changed.
    pub fn inbox_changed(&self) {
        self.inbox.send_modify(|n| *n += 1);
    }

    /// Waits until `holds` answers `Some` (looked at now, then at each change
    /// of the journal), for at most `timeout`. `look` is read again after each
    /// change; what it answered last comes back with `Err` when the wait ends
    /// unmet.
    pub async fn wait_for<T, F, Fut>(
        &self,
        inbox: bool,
        timeout: Duration,
        stopping: &Stopping,
        mut look: F,
    ) -> Result<T, (Unmet, T)>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = (bool, T)>,
    {
        let mut changes = if inbox {
            self.inbox.subscribe()
        } else {
            self.journal.subscribe()
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.mark_unchanged();
            let (met, seen) = look().await;
            if met {
                return Ok(seen);
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Err((Unmet::Stopping, seen));
                    }
                }
                () = tokio::time::sleep_until(deadline) => return Err((Unmet::TimedOut, seen)),
                () = stopping.wait() => return Err((Unmet::Stopping, seen)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_waiters_wait_at_once() {
        let fixture = Fixture::new(&SandboxSettings::default(), time::Duration::days(30));
        let places: Vec<_> = (0..MAX_WAITERS).map_while(|_| fixture.waiter()).collect();
        assert_eq!(places.len(), MAX_WAITERS);
        assert!(fixture.waiter().is_none(), "one more is refused");
        drop(places);
        assert!(fixture.waiter().is_some(), "a place frees when a wait ends");
    }

    #[test]
    fn at_most_max_scripts_are_kept() {
        let fixture = Fixture::new(&SandboxSettings::default(), time::Duration::days(30));
        let plain = || Script::Steps {
            steps: Vec::new(),
            then: Answer::plain(),
        };
        for n in 0..MAX_SCRIPTS {
            assert!(fixture.set_script(&format!("inbox-{n}"), plain()));
        }
        assert!(!fixture.set_script("one-more", plain()), "refused");
        assert!(
            fixture.set_script("inbox-0", plain()),
            "an inbox's own is replaced"
        );
        assert!(fixture.clear_script(Some("inbox-1")));
        assert!(fixture.set_script("one-more", plain()), "room again");
        assert!(fixture.clear_script(None));
        assert!(fixture.script("one-more").is_none());
    }

    #[tokio::test]
    async fn a_wait_is_capped_and_ends_unmet_when_its_time_passes() {
        let settings = SandboxSettings {
            max_wait_ms: 20,
            ..SandboxSettings::default()
        };
        let fixture = Fixture::new(&settings, time::Duration::days(30));
        assert_eq!(fixture.wait_time(60_000), Duration::from_millis(20));
        let (_signals, stopping) = crate::shutdown::channel();
        let mut looks = 0;
        let waited = fixture
            .wait_for(false, fixture.wait_time(60_000), &stopping, || {
                looks += 1;
                std::future::ready((false, looks))
            })
            .await;
        assert_eq!(
            waited,
            Err((Unmet::TimedOut, 1)),
            "looked once: nothing changed"
        );
    }
}
