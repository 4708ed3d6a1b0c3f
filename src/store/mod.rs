//! Storage of webhooks: the `Repository` contract and its backends. All SQL lives
//! under this module.

mod cache;
pub mod memory;
mod outbox;
pub mod sqlite;

#[cfg(test)]
mod contract;

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::domain::{
    Attempt, AttemptOutcome, EventCode, EventSet, Heartbeat, Notification, NotificationId, PmCode,
    Resend, Webhook, WebhookId, WebhookSpec, WebhookStatus,
};

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Why a repository call did not happen. The first variants are expected outcomes
/// a client can cause; the last two are faults of the storage itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("webhook not found")]
    NotFound,
    #[error("a webhook for this program manager and product already exists")]
    Duplicate,
    #[error("the webhook already has status {0}")]
    SameStatus(&'static str),
    #[error("the webhook is already subscribed to event {0}")]
    AlreadySubscribed(EventCode),
    #[error("the webhook is not subscribed to event {0}")]
    NotSubscribed(EventCode),
    /// The storage cannot answer now (locked, read-only, disk full, pool exhausted);
    /// the same call may succeed later.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug or corrupt data.
    #[error("storage failure")]
    Internal(#[source] BoxError),
}

/// What [`Repository::reset`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleared {
    pub webhooks: u64,
    pub notifications: u64,
}

/// A change applied to one webhook inside a write transaction. It may refuse the
/// change with an error, and then nothing is written. It is `Send` so that a
/// backend may apply it on its writer thread.
pub type Change = Box<dyn FnOnce(&mut Webhook) -> Result<(), StoreError> + Send>;

/// The answer to a write: a future that resolves once the write is committed (or
/// refused). Async code awaits it; synchronous code (tests, tools) calls
/// [`Pending::wait`]. Handing a write to the storage never blocks: a backend that
/// cannot take it now answers [`StoreError::Unavailable`] at once.
pub struct Pending<T = Webhook>(oneshot::Receiver<Result<T, StoreError>>);

/// The other end of a [`Pending`]: whoever performs the write answers through it.
pub type Answer<T = Webhook> = oneshot::Sender<Result<T, StoreError>>;

impl<T> Pending<T> {
    /// A write answered already (refused before queueing, or done in memory).
    pub fn done(result: Result<T, StoreError>) -> Self {
        let (answer, pending) = Self::channel();
        let _ = answer.send(result);
        pending
    }

    /// A write answered later through the returned [`Answer`].
    pub fn channel() -> (Answer<T>, Self) {
        let (answer, waiting) = oneshot::channel();
        (answer, Self(waiting))
    }

    /// Blocks the calling thread until the write is answered. Never call this on an
    /// async worker; await the `Pending` there.
    pub fn wait(self) -> Result<T, StoreError> {
        self.0.blocking_recv().unwrap_or_else(|_| Err(dropped()))
    }
}

impl<T> Future for Pending<T> {
    type Output = Result<T, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|answer| answer.unwrap_or_else(|_| Err(dropped())))
    }
}

fn dropped() -> StoreError {
    StoreError::Internal("the storage dropped a write without answering".into())
}

/// Durable storage of webhooks.
///
/// **Never blocks an async worker**: the reads [`Repository::get`] and
/// [`Repository::list`] are served from memory and never wait on I/O; a write only
/// hands the change over and returns a [`Pending`] to await. Only
/// [`Repository::check`] may wait on the disk: async callers run it on a blocking
/// thread (`web::block`).
///
/// Every backend guarantees:
/// - **Atomicity**: a call that returns an error has changed nothing; a call that
///   returns `Ok` has made its whole change visible to every later call.
/// - **Durability**: for a persistent backend, a change that returned `Ok` survives
///   a restart of the process.
/// - **Uniqueness**: at most one webhook per (program manager, product id), where
///   "no product id" is one more key; this holds under concurrent calls, and the
///   losing call gets [`StoreError::Duplicate`].
/// - **Scoping**: a call given `scope = Some(pm)` treats a webhook of another
///   program manager exactly as a missing one ([`StoreError::NotFound`]);
///   `scope = None` is an unscoped caller.
/// - **Order**: [`Repository::list`] returns webhooks in the order they were created.
/// - **Times**: `created_time` never changes after create; every change through
///   [`Repository::modify`] stores whatever `last_modified_time` the change set.
pub trait Repository: Send + Sync {
    /// Stores a new webhook; answers it as stored.
    fn create(&self, webhook: Webhook) -> Pending;

    /// One webhook by id, within `scope`: shared, not copied, since reads are
    /// the hot path.
    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> Result<Arc<Webhook>, StoreError>;

    /// Every webhook of one program manager, oldest first.
    fn list(&self, pm: &PmCode) -> Result<Vec<Arc<Webhook>>, StoreError>;

    /// Reads the webhook, applies `change` and writes the result, all in one
    /// transaction. Returns the webhook as stored.
    fn modify(&self, id: WebhookId, scope: Option<&PmCode>, change: Change) -> Pending;

    /// Answers `Ok` when the storage can serve reads now.
    fn check(&self) -> Result<(), StoreError>;

    /// Deletes every webhook and everything stored about them (notifications and
    /// their attempts), in one transaction. Answers what was deleted.
    fn reset(&self) -> Pending<Cleared>;

    /// Replaces everything a client may set (see [`Webhook::replace`]).
    fn replace(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        spec: WebhookSpec,
        now: OffsetDateTime,
    ) -> Pending {
        self.modify(
            id,
            scope,
            Box::new(move |webhook| {
                webhook.replace(spec, now);
                Ok(())
            }),
        )
    }

    /// Sets the status; asking for the status the webhook already has is refused.
    fn set_status(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        status: WebhookStatus,
        now: OffsetDateTime,
    ) -> Pending {
        self.modify(
            id,
            scope,
            Box::new(move |webhook| {
                if webhook.status == status {
                    return Err(StoreError::SameStatus(status.as_str()));
                }
                webhook.status = status;
                webhook.last_modified_time = now;
                Ok(())
            }),
        )
    }

    /// Adds every code of `events`; if any is subscribed already, adds none.
    fn subscribe(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        events: EventSet,
        now: OffsetDateTime,
    ) -> Pending {
        self.modify(
            id,
            scope,
            Box::new(move |webhook| {
                if let Some(code) = events.iter().find(|code| webhook.events.contains(*code)) {
                    return Err(StoreError::AlreadySubscribed(code));
                }
                for code in events.iter() {
                    webhook.events.insert(code);
                }
                webhook.last_modified_time = now;
                Ok(())
            }),
        )
    }

    /// Removes one subscribed code.
    fn unsubscribe(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        code: EventCode,
        now: OffsetDateTime,
    ) -> Pending {
        self.modify(
            id,
            scope,
            Box::new(move |webhook| {
                if !webhook.events.remove(code) {
                    return Err(StoreError::NotSubscribed(code));
                }
                webhook.last_modified_time = now;
                Ok(())
            }),
        )
    }

    /// Keeps the last heartbeat verdict with the webhook. This is an observation,
    /// not a client's change, so `last_modified_time` stays as it was.
    fn record_heartbeat(&self, id: WebhookId, heartbeat: Heartbeat) -> Pending {
        self.modify(
            id,
            None,
            Box::new(move |webhook| {
                webhook.last_heartbeat = Some(heartbeat);
                Ok(())
            }),
        )
    }
}

/// Durable storage of notifications and their delivery attempts: the outbox the
/// delivery engine works from. Writes go through the same writer (and the same
/// group commit) as webhook writes; the reads may wait on the disk, so async
/// callers run them on a blocking thread.
pub trait Outbox: Send + Sync {
    /// Stores new notifications, all or none, each `Pending` and due at once.
    fn enqueue(&self, notifications: Vec<Notification>) -> Pending<()>;

    /// Records one attempt of a pending notification and what follows it. When
    /// this suspends the webhook (a `410 Gone`, or its last `suspend_after`
    /// notifications all `Undelivered`), answers the webhook as suspended.
    fn record_attempt(
        &self,
        id: NotificationId,
        attempt: Attempt,
        outcome: AttemptOutcome,
        suspend_after: u32,
    ) -> Pending<Option<Webhook>>;

    /// Every pending notification, oldest first: what the delivery engine resumes
    /// after a restart.
    fn pending(&self) -> Result<Vec<Notification>, StoreError>;

    /// The webhook's notifications of one event code created at or after `since`,
    /// oldest first, at most `count`.
    fn by_event(
        &self,
        webhook: WebhookId,
        code: EventCode,
        since: OffsetDateTime,
        count: u32,
    ) -> Result<Vec<Notification>, StoreError>;

    /// The webhook's notifications among `ids`, in the order asked, each with its
    /// attempts; unknown ids and other webhooks' notifications are left out.
    fn details(
        &self,
        webhook: WebhookId,
        ids: &[NotificationId],
    ) -> Result<Vec<(Notification, Vec<Attempt>)>, StoreError>;

    /// The webhook's `Undelivered` notifications, by event code, oldest first.
    fn undelivered(
        &self,
        webhook: WebhookId,
    ) -> Result<Vec<(EventCode, NotificationId)>, StoreError>;

    /// Starts a new delivery cycle for each of the webhook's final notifications
    /// among `ids`, all in one transaction; answers, per id in the order asked,
    /// what happened. The caller hands the `Initiated` ones to the delivery engine.
    fn resend(
        &self,
        webhook: WebhookId,
        ids: Vec<NotificationId>,
        now: OffsetDateTime,
    ) -> Pending<Vec<(NotificationId, Resend)>>;
}
