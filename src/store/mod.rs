//! Storage: the `Repository` (webhooks), `Outbox` (notifications and their
//! attempts), `Inboxes`, `Configurations` and `FraudAlerts` contracts, and
//! their backends. The store only persists and keeps
//! its guarantees (scoping included); the rules of what may change live in
//! `domain`, and the delivery protocol's order of steps in `flows`, written
//! once. All SQL lives under this module.
//!
//! **A new backend is a checklist:**
//! 1. Implement `flows::OutboxTx` (about twenty primitives: read a notification
//!    with its claim, insert, save, insert an attempt, health, ready queues,
//!    due notifications, take a claim, park, unpark, next look, wake) on one
//!    transaction of the backend. Where a single process owns the data, keep the
//!    queue state in `local::LocalQueues` as SQLite and memory do.
//! 2. Implement `Repository`, `Outbox`, `Inboxes`, `Configurations` and
//!    `FraudAlerts`: each outbox write runs the
//!    matching `flows` function inside one transaction (see `memory.rs` for the
//!    shortest example); the reads take the caller's scope.
//! 3. Add a `contract_suite!` line in `contract/mod.rs`: every contract, the
//!    protocol's included, then runs on it. Tests of the backend alone go in
//!    its own `tests.rs`.
//! 4. Give it a settings table in its own module (as `sqlite::SqliteSettings`
//!    and `postgres::PgSettings`), a variant of `config::Backend` with its
//!    table in `config::DatabaseSettings`, and a match arm in `startup.rs`;
//!    its `open` answers the one `OpenError`.
//! 5. A SQL backend keeps the same folder: `schema.sql` (the schema as it is
//!    now; SQLite's, the default's, is at the top of the repository) and
//!    `migrations/vN.sql` (each upgrade step) beside `schema.rs`,
//!    `rows.rs`, a file per table group (`webhooks`, `notifications`,
//!    `queues`, `inboxes`, `configurations`, `fraud_alerts`) and `outbox.rs`
//!    (the primitives). A webhook row holds its keys as columns and the API's
//!    document with its format (`WebhookDocument::FORMAT`).

mod flows;
mod index;
mod local;
pub mod memory;
pub mod postgres;
pub mod sqlite;
mod wake;

#[cfg(test)]
mod contract;

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use time::OffsetDateTime;
use tokio::sync::{oneshot, Notify};

use crate::domain::inbox::{Captured, InboxLimits};
use crate::domain::{
    Attempt, AttemptOutcome, Backoff, ClaimToken, ConfigId, Configuration, EventCode, FraudAlert,
    FraudAlertId, GiveUp, Notification, NotificationId, NotificationStatus, PmCode, ProductId,
    QueueHealth, Refusal, Resend, Webhook, WebhookDocument, WebhookId, WebhookKeys,
};

pub use memory::MemoryStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A backend's setting that cannot be used: its key within the backend's
/// table, and why (the configuration names the table).
#[derive(Debug)]
pub struct BadSetting {
    pub key: String,
    pub why: String,
}

/// `Ok` when `value` lies in `range`, else the key and the range.
pub fn in_range<T>(
    key: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), BadSetting>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        Ok(())
    } else {
        Err(BadSetting {
            key: key.into(),
            why: format!("must be {} to {}, got {value}", range.start(), range.end()),
        })
    }
}

/// Why a backend could not be opened, the same for every backend: `at` names
/// the database (a path, or a URL with its password hidden).
#[derive(Debug, thiserror::Error)]
#[error("cannot use database {at}: {reason}")]
pub struct OpenError {
    pub at: String,
    pub reason: String,
}

/// Why a store call did not happen. The first variants are expected outcomes
/// a client can cause; the last two are faults of the storage itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The webhook is not there, or not for this caller.
    #[error("webhook not found")]
    NotFound,
    /// The webhook is there for this caller, the notification is not: unknown,
    /// another webhook's, or (when recording an attempt) no longer pending.
    #[error("notification not found")]
    NotificationNotFound,
    /// The fraud alert is not there, or not for this caller.
    #[error("fraud alert not found")]
    FraudAlertNotFound,
    /// The Transaction Confirmation configuration is not there, or not for
    /// this caller.
    #[error("configuration not found")]
    ConfigurationNotFound,
    /// A UNIQUE or PRIMARY KEY constraint: for webhooks, the (program manager,
    /// product) key is taken.
    #[error("a webhook for this program manager and product already exists")]
    Duplicate,
    /// The domain refused the change; nothing was written.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The claim on a notification is no longer the caller's: its lease lapsed
    /// and another engine took it over. Nothing was written.
    #[error("the claim on this notification was taken over")]
    ClaimLost,
    /// The storage cannot answer now (locked, read-only, disk full, queue full);
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
    pub inbox_requests: u64,
    pub configurations: u64,
    pub fraud_alerts: u64,
}

/// A change to one webhook, made by a domain rule (`Webhook::set_status`,
/// `subscribe`, ...) inside the write transaction. A refusal writes nothing.
/// It is `Send` so that a backend may apply it on its writer thread.
pub type Change = Box<dyn FnOnce(&mut Webhook) -> Result<(), Refusal> + Send>;

/// What [`Outbox::record_attempt`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub webhook_id: WebhookId,
    /// When the attempt made the notification final: the statuses of the
    /// webhook's last notifications to become final, newest (this one) first,
    /// as many as were asked for. Empty when it stays pending.
    pub recent_final: Vec<NotificationStatus>,
    /// The webhook's queue after this attempt (`QueueHealth::delivered` or
    /// `failed`): whether it backs off, and since when.
    pub queue: QueueHealth,
}

/// How much one [`Outbox::claim_due`] may take: in all, and per webhook
/// counting the claims its queue holds already; and, when given, when the
/// notifications that wait in a backed-off queue give up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLimits {
    pub total: u32,
    pub per_webhook: u32,
    pub give_up: Option<GivingUp>,
}

/// The rule for notifications that wait in a backed-off queue past their
/// schedule's end (`GiveUp`), and how many of the webhook's latest final
/// notifications to read for the suspension rule when one gives up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivingUp {
    pub rule: GiveUp,
    pub recent: u32,
}

impl ClaimLimits {
    /// Up to `total` claims, with no limit per webhook; nothing gives up.
    pub fn upto(total: u32) -> Self {
        Self {
            total,
            per_webhook: u32::MAX,
            give_up: None,
        }
    }
}

/// A claim to make ([`Outbox::claim_due`]'s arguments, for
/// [`Outbox::record_and_claim`]).
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub engine: String,
    pub now: OffsetDateTime,
    pub lease: time::Duration,
    pub limits: ClaimLimits,
}

/// The rules a recorded attempt is read for: how many of the webhook's last
/// final statuses to answer (the suspension rule's window), and the backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRules {
    pub recent: u32,
    pub backoff: Backoff,
}

/// Which notifications [`Outbox::recent`] lists: every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub pm: Option<PmCode>,
    pub webhook: Option<WebhookId>,
    pub event: Option<EventCode>,
    pub status: Option<NotificationStatus>,
    pub id: Option<NotificationId>,
    /// Created at or after `since` and before `until` (whole seconds).
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

impl LogFilter {
    /// The filter narrowed to what a caller in `scope` may see; `None` when
    /// it asks for another program manager's notifications (nothing matches).
    pub fn within(mut self, scope: Option<&PmCode>) -> Option<Self> {
        match (scope, &self.pm) {
            (None, _) => Some(self),
            (Some(own), Some(asked)) if own != asked => None,
            (Some(own), _) => {
                self.pm = Some(own.clone());
                Some(self)
            }
        }
    }

    /// Whether `n` passes every filter that is set.
    pub fn matches(&self, n: &Notification) -> bool {
        let created = n.created_time.unix_timestamp();
        self.pm.as_ref().is_none_or(|pm| *pm == n.pm_code)
            && self.webhook.is_none_or(|w| w == n.webhook_id)
            && self.event.is_none_or(|e| e == n.event_code)
            && self.status.is_none_or(|s| s == n.status)
            && self.id.is_none_or(|id| id == n.id)
            && self.since.is_none_or(|t| created >= t.unix_timestamp())
            && self.until.is_none_or(|t| created < t.unix_timestamp())
    }
}

/// How far one call of [`Outbox::recent`] looks: at most `limit`
/// notifications, older than `before` (a previous page's `next`; `None`: the
/// newest), among at most `window` notifications in storage order, so that a
/// filter that matches little costs a bounded read instead of the whole
/// table; the page's `next` then continues below the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogScan {
    pub before: Option<u64>,
    pub limit: u32,
    pub window: u64,
}

/// A page of [`Outbox::recent`]: notifications newest first, each with its
/// last attempt, and where the next page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogPage {
    pub entries: Vec<(Notification, Option<Attempt>)>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    /// A page may hold fewer than `limit` (even none) and still have a next:
    /// its window ended before the oldest notification.
    pub next: Option<u64>,
}

/// What [`Outbox::claim_due`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    pub claimed: Vec<Claimed>,
    /// When to look again if nothing else happens: the soonest time a queue
    /// that had nothing due will be ready, or a claim's lease ends. A queue
    /// that was due but had no room is left out: an attempt ending makes room.
    pub next: Option<OffsetDateTime>,
    /// The notifications that gave up waiting (`ClaimLimits::give_up`), each
    /// as a record of its webhook's latest final statuses, for the
    /// suspension rule.
    pub gave_up: Vec<Recorded>,
}

/// A notification claimed for one attempt: whoever holds `token` may record the
/// attempt's outcome, until another engine takes the claim over after its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub notification: Notification,
    pub token: ClaimToken,
    /// The notification was under another claim whose lease had lapsed (its
    /// engine stopped, or is stuck).
    pub taken_over: bool,
}

/// How much waits in the outbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Pending notifications, parked ones included.
    pub pending: u64,
    /// The earliest due time of a pending notification that is not parked.
    pub oldest_due: Option<OffsetDateTime>,
    /// Webhooks whose queue backs off.
    pub backing_off: u64,
    /// Dead row versions waiting for vacuum in the outbox's tables, where
    /// the backend has such a thing (PostgreSQL).
    pub dead_tuples: Option<u64>,
}

/// The answer to every store call: a future that resolves once the call is done
/// (a write: committed or refused). Async code awaits it; synchronous code
/// (tests, tools) calls [`StoreFuture::wait`]. A call never blocks the caller:
/// a backend that cannot take it now answers [`StoreError::Unavailable`] at once.
pub struct StoreFuture<T>(Answering<T>);

enum Answering<T> {
    /// Answered already (a read from memory, or refused before queueing).
    Ready(Option<Result<T, StoreError>>),
    /// To be answered by the thread that does the work.
    Later(oneshot::Receiver<Result<T, StoreError>>),
}

/// The other end of a [`StoreFuture`]: whoever does the work answers through it.
pub type Answer<T> = oneshot::Sender<Result<T, StoreError>>;

impl<T> StoreFuture<T> {
    /// A call answered already.
    pub fn ready(result: Result<T, StoreError>) -> Self {
        Self(Answering::Ready(Some(result)))
    }

    /// A call answered later through the returned [`Answer`].
    pub fn channel() -> (Answer<T>, Self) {
        let (answer, waiting) = oneshot::channel();
        (answer, Self(Answering::Later(waiting)))
    }

    /// Blocks the calling thread until the call is answered. Never call this on
    /// an async worker; await the future there.
    pub fn wait(self) -> Result<T, StoreError> {
        match self.0 {
            Answering::Ready(result) => result.unwrap_or_else(|| Err(dropped())),
            Answering::Later(waiting) => waiting.blocking_recv().unwrap_or_else(|_| Err(dropped())),
        }
    }
}

impl<T> Future for StoreFuture<T> {
    type Output = Result<T, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Answering::Ready(result) => {
                Poll::Ready(result.take().unwrap_or_else(|| Err(dropped())))
            }
            Answering::Later(waiting) => Pin::new(waiting)
                .poll(cx)
                .map(|answer| answer.unwrap_or_else(|_| Err(dropped()))),
        }
    }
}

// Neither variant is self-referential.
impl<T> Unpin for StoreFuture<T> {}

fn dropped() -> StoreError {
    StoreError::Internal("the storage dropped a call without answering".into())
}

/// Durable storage of webhooks.
///
/// **One calling convention**: every call returns a [`StoreFuture`] and never
/// blocks the caller; whatever waits on I/O runs on the store's own threads. A
/// backend that keeps every webhook in a local index (SQLite, memory) answers
/// [`Repository::get`] and [`Repository::list`] at once with a ready future; a
/// backend that cannot keep a coherent local index (PostgreSQL shared by
/// several nodes) answers them from the database, and callers do not change.
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
/// - **Rules in one transaction**: a [`Change`] sees the webhook as stored and
///   its result is written in the same transaction, so a domain rule's
///   precondition (same status, owner, subscribed) cannot race another write.
/// - **Unparking**: a change that sets a webhook active makes its parked
///   notifications (see [`Outbox`]) due at the change's `last_modified_time`,
///   in the same transaction, clears its queue's health (no backoff), and
///   wakes the delivery engine.
pub trait Repository: Send + Sync {
    /// Stores a new webhook; answers it as stored.
    fn create(&self, webhook: Webhook) -> StoreFuture<Webhook>;

    /// One webhook by id, within `scope`: shared, not copied, since reads are
    /// the hot path.
    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<Arc<Webhook>>;

    /// Every webhook of one program manager, oldest first.
    fn list(&self, pm: &PmCode) -> StoreFuture<Vec<Arc<Webhook>>>;

    /// The active webhooks of one program manager for `product` or for no
    /// product, oldest first: the candidates for an event (`Webhook::receives`
    /// decides). A selection by the keys every backend keeps, so a trigger
    /// does not read the program manager's every webhook.
    fn active_for(&self, pm: &PmCode, product: Option<ProductId>)
        -> StoreFuture<Vec<Arc<Webhook>>>;

    /// The keys (id, product, status) of every webhook of one program
    /// manager, oldest first, without reading their documents: what a
    /// trigger judges the webhooks that are not candidates on.
    fn keys(&self, pm: &PmCode) -> StoreFuture<Vec<WebhookKeys>>;

    /// One webhook's document (the JSON the API answers with), within `scope`.
    /// A backend with a local index answers the document it rendered when the
    /// webhook was written.
    fn document(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<WebhookDocument>;

    /// The documents of every webhook of one program manager, oldest first.
    fn documents(&self, pm: &PmCode) -> StoreFuture<Vec<WebhookDocument>>;

    /// Reads the webhook, applies `change` and writes the result, all in one
    /// transaction. Answers the webhook as stored.
    fn modify(&self, id: WebhookId, scope: Option<&PmCode>, change: Change)
        -> StoreFuture<Webhook>;

    /// Deletes one webhook, within `scope`, and everything stored about it
    /// (its notifications, their attempts and claims, its queue), in one
    /// transaction; answers how many notifications went. The sandbox's own
    /// call (Thredd's API deletes no webhook).
    fn remove(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<u64>;

    /// Answers `Ok` when the storage can serve reads now (readiness).
    fn ready(&self) -> StoreFuture<()>;

    /// Deletes the webhooks of `scope`'s program manager (every webhook with
    /// `None`) and everything stored about them (notifications, their attempts
    /// and queues, claims included), in one transaction; with `None`, the
    /// capture inboxes too. Answers what was deleted.
    fn reset(&self, scope: Option<&PmCode>) -> StoreFuture<Cleared>;
}

/// Durable storage of notifications and their delivery attempts: the outbox,
/// which is also the delivery engine's work queue. Writes share the webhooks'
/// transactions (on SQLite, the same writer and group commit).
///
/// **Queues.** Each webhook has a queue: its pending notifications in due
/// order, and its health (`domain::QueueHealth`: failures in a row, backoff, a
/// probe out). A notification is *due* when it is pending and its next attempt
/// time has come; a queue is *ready* when its soonest due notification is due
/// and, while it backs off, its next probe time has come and no probe is out.
///
/// **Claims.** An engine takes work with [`Outbox::claim_due`]: first claims
/// whose lease lapsed (their engine died or is stuck), taken over as they are;
/// then ready queues, soonest ready first, from each as many due notifications
/// as its room allows (`QueueHealth::room`: the per-webhook limit less the
/// claims it holds; one probe while backing off). So a queue with thousands
/// due, or a failing receiver, never fills a page that other webhooks need.
/// Each claim carries a fresh token and a lease. Until the lease ends no other
/// engine can claim it; the outcome of its attempt is recorded only under the
/// token that still holds the claim ([`StoreError::ClaimLost`] otherwise);
/// after the lease it can be taken over, so a notification whose engine died
/// is delivered by another: delivery is at least once. The due notifications
/// of a webhook that is not active are *parked* instead of claimed (no next
/// attempt time) and become due again, at once, when it is set active (which
/// also clears its queue's health). The engine holds only what it has
/// claimed, never the backlog.
///
/// **The wake-up.** After every commit that may make a notification due now
/// (new ones, a resend, a webhook set active), the store notifies
/// [`Outbox::waker`], so the engine claims without waiting for a timer.
///
/// **Scoping.** Every call about a webhook's notifications takes the caller's
/// `scope` (`None`: the service itself) and answers [`StoreError::NotFound`]
/// for a webhook of another program manager, exactly as for a missing one;
/// [`Outbox::recent`] lists only the scope's notifications.
///
/// **One protocol.** The writes (enqueue, claim, record, park, deliver now,
/// resend, and the unparking of [`Repository::modify`]) are written once, in
/// `store::flows`, over the primitives of `flows::OutboxTx`; a backend
/// implements those primitives and runs each flow in one transaction.
pub trait Outbox: Send + Sync {
    /// Notified after each commit that may make a notification due now.
    fn waker(&self) -> Arc<Notify>;

    /// Claims due notifications for `engine` within `limits`, each with a new
    /// token and a lease until `now + lease` (see the trait's doc for the
    /// order); parks the due notifications of webhooks that are not active on
    /// the way. Answers the claims and when to look again.
    fn claim_due(
        &self,
        engine: &str,
        now: OffsetDateTime,
        lease: time::Duration,
        limits: ClaimLimits,
    ) -> StoreFuture<Claims>;

    /// Gives a claimed notification back unattempted, parked (its webhook
    /// turned out not to be active). `ClaimLost` if `token` no longer holds it.
    fn park(&self, id: NotificationId, token: ClaimToken) -> StoreFuture<()>;

    /// How a webhook's queue stands: whether it backs off, and until when
    /// (for a waiting notification's reason).
    fn queue_health(&self, webhook: WebhookId) -> StoreFuture<QueueHealth>;

    /// How many notifications are pending, the earliest due time, and how
    /// many queues back off.
    fn backlog(&self) -> StoreFuture<Backlog>;

    /// Stores new notifications, all or none, each `Pending` and due at once.
    fn enqueue(&self, notifications: Vec<Notification>) -> StoreFuture<()>;

    /// Records one attempt of a claimed notification and moves it on per
    /// `outcome` (`Notification::record`), releasing the claim, and updates its
    /// webhook's queue health per `rules.backoff` (`QueueHealth::delivered` or
    /// `failed` at the attempt's time). When the attempt makes the notification
    /// `Undelivered`, answers the statuses of the webhook's last `rules.recent`
    /// notifications to become final, for the suspension rule
    /// (`domain::suspends`, which no other outcome needs). A notification that
    /// is not pending (or unknown) is `NotificationNotFound`; one whose claim
    /// `token` no longer holds is `ClaimLost`.
    fn record_attempt(
        &self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
    ) -> StoreFuture<Recorded>;

    /// [`Outbox::record_attempt`], then claims per `next` from the ready
    /// queues as [`Outbox::claim_due`] does, in one transaction: the engine's
    /// attempt slot goes on to the next due notification without another write
    /// and another wait. Lapsed claims are left to `claim_due`, and the answer's
    /// `next` is `None`. If the record is refused, nothing is claimed. A
    /// backend shared by several nodes may claim nothing here and leave the
    /// next claim to the engine's loop (PostgreSQL: see its implementation).
    fn record_and_claim(
        &self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
        next: ClaimRequest,
    ) -> StoreFuture<(Recorded, Claims)>;

    /// The notifications that match `filter` and that a caller in `scope`
    /// may see, newest first, as `scan` says (at most `limit`, before a
    /// previous page's `next`, among at most `window` notifications), each
    /// with its last attempt: the dashboard's delivery log. A filter by id is
    /// a lookup by key, whatever the window.
    fn recent(
        &self,
        scope: Option<&PmCode>,
        filter: LogFilter,
        scan: LogScan,
    ) -> StoreFuture<LogPage> {
        match filter.within(scope) {
            Some(filter) => self.log(filter, scan),
            None => StoreFuture::ready(Ok(LogPage::default())),
        }
    }

    /// [`Outbox::recent`] for a filter already narrowed to the caller's scope
    /// (a backend implements this; callers use `recent`).
    fn log(&self, filter: LogFilter, scan: LogScan) -> StoreFuture<LogPage>;

    /// Every pending notification, oldest first (for tests and tools: the
    /// engine claims pages instead).
    fn pending(&self) -> StoreFuture<Vec<Notification>>;

    /// The webhook's notifications of one event code created at or after `since`,
    /// oldest first, at most `count`.
    fn by_event(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        code: EventCode,
        since: OffsetDateTime,
        count: u32,
    ) -> StoreFuture<Vec<Notification>>;

    /// The webhook's notifications among `ids`, in the order asked, each with its
    /// attempts; unknown ids and other webhooks' notifications are left out.
    fn details(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
    ) -> StoreFuture<Vec<(Notification, Vec<Attempt>)>>;

    /// The webhook's `Undelivered` notifications, by event code, oldest first.
    fn undelivered(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
    ) -> StoreFuture<Vec<(EventCode, NotificationId)>>;

    /// Deletes at most `limit` final notifications (`Delivered` or
    /// `Undelivered`) whose last attempt was before `before`, oldest first, with
    /// their attempts; answers how many. A pending notification is never deleted.
    fn purge(&self, before: OffsetDateTime, limit: u32) -> StoreFuture<u64>;

    /// "Deliver now" (`Notification::deliver_now`) for the webhook's
    /// notification `id`, if the webhook (within `scope`) is active
    /// (`Webhook::accepts_resend`): it is due at `now`, and when its queue backs
    /// off, the next probe may go at `now` too. Wakes the engine. Answers the
    /// notification as stored. `NotificationNotFound` for an unknown id or another
    /// webhook's.
    fn deliver_now(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        id: NotificationId,
        now: OffsetDateTime,
    ) -> StoreFuture<Notification>;

    /// Resends the webhook's notifications among `ids` (`Notification::resend`),
    /// all in one transaction, if the webhook (within `scope`) accepts a resend
    /// (`Webhook::accepts_resend`); answers, per id in the order asked, what
    /// happened.
    fn resend(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
        now: OffsetDateTime,
    ) -> StoreFuture<Vec<(NotificationId, Resend)>>;
}

/// The capture inboxes (`domain::inbox`): kept in the store so that they
/// survive a restart.
pub trait Inboxes: Send + Sync {
    /// Keeps `request` in inbox `name` by `limits` (the oldest beyond its
    /// capacity go, in the same write); `false`: refused, a new inbox beyond
    /// the most allowed.
    fn capture(&self, name: String, request: Captured, limits: InboxLimits) -> StoreFuture<bool>;

    /// Every inbox's name and how many requests it holds, by name.
    fn inboxes(&self) -> StoreFuture<Vec<(String, usize)>>;

    /// What arrived at inbox `name`, oldest first.
    fn captured(&self, name: String) -> StoreFuture<Vec<Captured>>;

    /// Empties inbox `name`; answers how many requests it held.
    fn clear_inbox(&self, name: String) -> StoreFuture<usize>;
}

/// A change to one Transaction Confirmation configuration, made by a domain
/// rule (`Configuration::set_status`) inside the write transaction.
pub type ConfigChange = Box<dyn FnOnce(&mut Configuration) -> Result<(), Refusal> + Send>;

/// The Transaction Confirmation configurations (`domain::configuration`), that
/// a 112 needs. Scoped like webhooks: a configuration of another program
/// manager is [`StoreError::ConfigurationNotFound`], as a missing one is.
/// [`Repository::reset`] deletes them with the webhooks of its scope.
pub trait Configurations: Send + Sync {
    /// Stores a new configuration if its program manager has room for it
    /// (`configuration::room`, judged in the same transaction); answers it
    /// as stored.
    fn create_configuration(&self, configuration: Configuration) -> StoreFuture<Configuration>;

    /// Every configuration of one program manager, oldest first.
    fn configurations(&self, pm: &PmCode) -> StoreFuture<Vec<Configuration>>;

    /// One configuration by id, within `scope`.
    fn configuration(&self, id: ConfigId, scope: Option<&PmCode>) -> StoreFuture<Configuration>;

    /// Reads the configuration, applies `change` and writes the result, in
    /// one transaction; answers it as stored.
    fn modify_configuration(
        &self,
        id: ConfigId,
        scope: Option<&PmCode>,
        change: ConfigChange,
    ) -> StoreFuture<Configuration>;
}

/// A change to one fraud alert, made by a domain rule (`FraudAlert::answer`)
/// inside the write transaction.
pub type AlertChange = Box<dyn FnOnce(&mut FraudAlert) -> Result<(), Refusal> + Send>;

/// The fraud alerts that 101s raise (`domain::fraud`), scoped like webhooks:
/// an alert of another program manager is [`StoreError::FraudAlertNotFound`],
/// as a missing one is. [`Repository::reset`] deletes them with the webhooks
/// of its scope.
pub trait FraudAlerts: Send + Sync {
    /// Stores a new alert; `false`: an alert with its id exists already (a
    /// given payload may repeat a `fraudAlertId`), and it is left as it is.
    fn raise_fraud_alert(&self, alert: FraudAlert) -> StoreFuture<bool>;

    /// Reads the alert, applies `change` and writes the result, in one
    /// transaction; answers it as stored.
    fn modify_fraud_alert(
        &self,
        id: FraudAlertId,
        scope: Option<&PmCode>,
        change: AlertChange,
    ) -> StoreFuture<FraudAlert>;

    /// Expires (`FraudAlert::expire`) at most `limit` open alerts whose
    /// expiry has come by `now`, soonest first, in one transaction, and
    /// answers them: each alert is expired once, whichever node asks.
    fn expire_fraud_alerts(&self, now: OffsetDateTime, limit: u32) -> StoreFuture<Vec<FraudAlert>>;

    /// When the soonest open alert expires, if any is open.
    fn next_fraud_expiry(&self) -> StoreFuture<Option<OffsetDateTime>>;

    /// Deletes the alerts closed (answered or expired) before `before`;
    /// answers how many.
    fn purge_fraud_alerts(&self, before: OffsetDateTime) -> StoreFuture<u64>;
}

/// One notification by id, whichever webhook it belongs to, if a caller in
/// `scope` may see it, with its last attempt: a lookup by key through
/// [`Outbox::recent`].
pub async fn find_notification(
    outbox: &(impl Outbox + ?Sized),
    scope: Option<&PmCode>,
    id: NotificationId,
) -> Result<Option<(Notification, Option<Attempt>)>, StoreError> {
    let filter = LogFilter {
        id: Some(id),
        ..LogFilter::default()
    };
    let scan = LogScan {
        before: None,
        limit: 1,
        window: 1,
    };
    Ok(outbox.recent(scope, filter, scan).await?.entries.pop())
}

/// A store that is all five: what the service runs on.
pub trait Store: Repository + Outbox + Inboxes + Configurations + FraudAlerts {}

impl<T: Repository + Outbox + Inboxes + Configurations + FraudAlerts> Store for T {}
