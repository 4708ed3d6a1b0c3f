//! The SQLite store: one database file in WAL mode, one writer thread that
//! commits requests in groups (`writer.rs`), every webhook read served from an
//! in-memory index that the writer loads first and updates after each commit,
//! reader threads for the outbox's queries (and webhook reads until the index
//! is loaded; `readers.rs`), and a checkpoint thread (`checkpoint.rs`).
//!
//! Why this shape: a durable commit costs an fsync, from 0.1 ms to several ms
//! depending on the disk. Committing each request alone caps writes at one fsync
//! each; committing whatever requests are waiting together shares one fsync among
//! them (group commit). Webhook reads never touch SQLite, so they never wait for the
//! writer, never hop to another thread, and cost a hash lookup.
//!
//! WAL checkpoints (copying committed pages back into the main file, with an fsync
//! of it) run on a thread of their own, never inside a writer's commit: SQLite's
//! automatic checkpoint would stall whichever commit crossed 1,000 pages, and every
//! request in that batch with it.

mod checkpoint;
mod configurations;
mod fraud_alerts;
mod inboxes;
mod notifications;
mod outbox;
mod queues;
mod readers;
mod rows;
pub(crate) mod schema;
#[cfg(test)]
mod tests;
mod webhooks;
mod writer;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use time::OffsetDateTime;
use tokio::sync::Notify;

use serde::{Deserialize, Serialize};

use self::checkpoint::Checkpoints;
use self::outbox::SqliteTx;
use self::readers::Readers;
use self::rows::classify;
use self::writer::{read_index, Effect, Writer};
use super::flows::{self, at_once};
use super::index::{corrupt, read_back, Index};
use super::local::LocalQueues;
use super::wake::Wake;
use super::{in_range, BadSetting, OpenError};
use super::{
    AlertChange, Backlog, Change, ClaimLimits, ClaimRequest, Claims, Cleared, ConfigChange,
    Configurations, FraudAlerts, Inboxes, LogFilter, LogPage, LogScan, Outbox, RecordRules,
    Recorded, Repository, StoreError, StoreFuture,
};
use crate::domain::configuration;
use crate::domain::inbox::{Captured, InboxLimits};
use crate::domain::{
    Attempt, AttemptOutcome, ClaimToken, ConfigId, Configuration, EventCode, FraudAlert,
    FraudAlertId, Notification, NotificationId, PmCode, ProductId, QueueHealth, Resend, Webhook,
    WebhookDocument, WebhookId, WebhookKeys, WebhookStatus,
};

pub use self::schema::{Synchronous, SCHEMA_VERSION};

/// How the store uses the file.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    /// How long a statement waits for SQLite's lock (held by another process).
    pub busy_timeout: Duration,
    /// Read-only connections for queries the in-memory index does not answer.
    pub read_connections: u32,
    /// The most requests committed together.
    pub max_batch: usize,
    /// The most requests waiting for the writer; past that, callers get
    /// [`StoreError::Unavailable`] at once instead of an unbounded queue.
    pub queue_capacity: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            read_connections: 2,
            max_batch: 256,
            queue_capacity: 4096,
        }
    }
}

/// Why a database file could not be opened; the message names the path.
/// `[database.sqlite]`: this backend's settings table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteSettings {
    /// The file; created, with its schema, on first start. `:memory:` runs
    /// the memory store instead (a throwaway service for tests).
    pub path: PathBuf,
    /// `full`: an acknowledged write survives power loss; `normal`: it survives a
    /// crash of the process, the last commits may be lost on power loss.
    pub synchronous: Synchronous,
    /// How long a write waits for SQLite's lock before the call gets a 503.
    pub busy_timeout_ms: u64,
    /// Read-only connections for queries the in-memory index does not answer.
    pub read_connections: u32,
    /// The most writes committed together in one transaction.
    pub max_batch: usize,
    /// The most writes waiting for the writer; past that, writes get a 503.
    pub queue_capacity: usize,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        let o = SqliteOptions::default();
        Self {
            path: "webhook-manager.db".into(),
            synchronous: o.synchronous,
            busy_timeout_ms: u64::try_from(o.busy_timeout.as_millis()).unwrap_or(u64::MAX),
            read_connections: o.read_connections,
            max_batch: o.max_batch,
            queue_capacity: o.queue_capacity,
        }
    }
}

impl SqliteSettings {
    pub fn validate(&self) -> Result<(), BadSetting> {
        if self.path.as_os_str().is_empty() {
            return Err(BadSetting {
                key: "path".into(),
                why: "must not be empty".into(),
            });
        }
        in_range("busy_timeout_ms", self.busy_timeout_ms, 1..=600_000)?;
        in_range("read_connections", self.read_connections, 1..=64)?;
        in_range("max_batch", self.max_batch, 1..=10_000)?;
        in_range("queue_capacity", self.queue_capacity, 1..=1_000_000)
    }

    pub fn options(&self) -> SqliteOptions {
        SqliteOptions {
            synchronous: self.synchronous,
            busy_timeout: Duration::from_millis(self.busy_timeout_ms),
            read_connections: self.read_connections,
            max_batch: self.max_batch,
            queue_capacity: self.queue_capacity,
        }
    }
}

pub struct SqliteStore {
    index: Arc<RwLock<Index>>,
    loading: Arc<Loading>,
    writer: Writer,
    readers: Readers,
    wake: Arc<Wake>,
    threads: Vec<String>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, brings its schema up to
    /// date and starts the store's threads: the writer (which first loads every
    /// webhook into the index, see [`Loading`]), the checkpoint thread and the
    /// readers ([`SqliteStore::threads`] names them). Every failure names the path.
    pub fn open(path: &Path, options: &SqliteOptions) -> Result<Self, OpenError> {
        Self::open_gated(path, options, || ())
    }

    /// [`SqliteStore::open`], with `before_load` run on the writer thread
    /// before it loads the index (a test holds the load back with it).
    pub(crate) fn open_gated(
        path: &Path,
        options: &SqliteOptions,
        before_load: impl FnOnce() + Send + 'static,
    ) -> Result<Self, OpenError> {
        let fail = |reason: String| OpenError {
            at: path.display().to_string(),
            reason,
        };
        let open = |flags: OpenFlags| {
            Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .and_then(|c| c.busy_timeout(options.busy_timeout).map(|()| c))
                .map_err(|e| fail(e.to_string()))
        };
        let mut conn = open(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        schema::configure(&conn, options.busy_timeout, options.synchronous)
            .map_err(|e| fail(e.to_string()))?;
        schema::migrate(&mut conn).map_err(&fail)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| fail(e.to_string()))?;
        let checkpoint_conn = open(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let reader_conns = (0..options.read_connections.max(1))
            .map(|_| open(OpenFlags::SQLITE_OPEN_READ_ONLY))
            .collect::<Result<Vec<_>, _>>()?;

        let mut threads = Vec::new();
        let mut spawn = |name: String, run: Box<dyn FnOnce() + Send>| {
            thread::Builder::new()
                .name(name.clone())
                .spawn(run)
                .map_err(|e| fail(format!("starting thread {name}: {e}")))?;
            threads.push(name);
            Ok::<(), OpenError>(())
        };
        let index = Arc::new(RwLock::new(Index::default()));
        let queues = Arc::new(Mutex::new(LocalQueues::default()));
        let loading = Arc::new(Loading::default());
        let wake = Arc::new(Wake::default());
        let (checkpoints, run_checkpoints) = Checkpoints::new();
        let (writer, run_writer) = Writer::new(
            options.queue_capacity,
            options.max_batch,
            Arc::clone(&index),
            queues,
            Arc::clone(&wake),
            checkpoints,
        );
        let (into, loaded, shown) = (
            Arc::clone(&index),
            Arc::clone(&loading),
            path.display().to_string(),
        );
        let write = move || {
            before_load();
            if loaded.load(&conn, &into, &shown) {
                run_writer(conn);
            }
        };
        spawn("sqlite-writer".into(), Box::new(write))?;
        spawn(
            "sqlite-checkpoint".into(),
            Box::new(move || run_checkpoints(checkpoint_conn)),
        )?;
        let (readers, loops) = Readers::new(reader_conns, options.queue_capacity);
        for (i, run) in loops.into_iter().enumerate() {
            spawn(format!("sqlite-reader-{i}"), Box::new(run))?;
        }
        Ok(Self {
            index,
            loading,
            writer,
            readers,
            wake,
            threads,
        })
    }

    /// Runs a flow of the delivery protocol (`store::flows`) as one write on
    /// the writer thread ([`run_flow`]).
    fn flow<T: Send + 'static>(
        &self,
        run: impl AsyncFnOnce(&mut SqliteTx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<T> {
        self.writer.submit(move |tx| {
            let (value, wake) = run_flow(tx, run)?;
            Ok((value, if wake { Effect::Wake } else { Effect::None }))
        })
    }

    /// The threads this store started, in the order it started them.
    pub fn threads(&self) -> &[String] {
        &self.threads
    }

    /// A webhook read: from the index once it is loaded, else from the rows on
    /// a reader thread ([`Loading`]).
    fn read_webhooks<T: Send + 'static>(
        &self,
        index: impl FnOnce(&Index) -> Result<T, StoreError>,
        rows: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<T> {
        if self.loading.loaded() {
            StoreFuture::ready(read_index(&self.index).and_then(|loaded| index(&loaded)))
        } else {
            self.readers.answer(rows)
        }
    }
}

/// Runs a flow inside the writer's job, on the queues in memory; answers its
/// value and whether it asked to wake the engine. A flow that fails after it
/// may have changed the queues in memory (a storage fault, a duplicate) has
/// them read again from the rows once the batch is done; the refusals a flow
/// checks before it changes anything leave them as they are.
fn run_flow<T>(
    tx: &writer::Tx<'_>,
    run: impl AsyncFnOnce(&mut SqliteTx<'_>) -> Result<T, StoreError>,
) -> Result<(T, bool), StoreError> {
    let mut queues = tx.queues()?;
    let mut flow = SqliteTx::new(tx, &mut queues);
    match at_once(run(&mut flow)) {
        Ok(value) => Ok((value, flow.wake)),
        Err(e) => {
            if !matches!(
                e,
                StoreError::NotFound
                    | StoreError::NotificationNotFound
                    | StoreError::ClaimLost
                    | StoreError::Refused(_)
            ) {
                tx.queues_stale();
            }
            Err(e)
        }
    }
}

/// Whether the index holds every webhook yet. The writer thread loads it before
/// its first write (so no write can slip between the load and the index), and
/// until it is loaded reads go to SQLite through the readers: the service
/// answers within milliseconds of start whatever the number of webhooks.
#[derive(Default)]
struct Loading(AtomicU8); // 0 while loading, then LOADED or FAILED

const LOADED: u8 = 1;
const FAILED: u8 = 2;

impl Loading {
    /// Loads the index; answers whether the writer may start. A row that cannot
    /// be read stops the writer (writes fail, readiness fails, reads keep
    /// coming from SQLite) and is logged with the path.
    fn load(&self, conn: &Connection, index: &RwLock<Index>, path: &str) -> bool {
        let started = std::time::Instant::now();
        match webhooks::load(conn) {
            Ok(loaded) => {
                let count = loaded.len();
                match index.write() {
                    Ok(mut index) => *index = loaded,
                    Err(_) => {
                        self.0.store(FAILED, Ordering::Release);
                        log::error!("webhook index lock poisoned while loading {path}");
                        return false;
                    }
                }
                self.0.store(LOADED, Ordering::Release);
                log::info!(
                    "{count} webhooks loaded from {path} in {} ms",
                    started.elapsed().as_millis()
                );
                true
            }
            Err(e) => {
                self.0.store(FAILED, Ordering::Release);
                log::error!("cannot read the webhooks of {path}: {e}; the store takes no writes");
                false
            }
        }
    }

    fn loaded(&self) -> bool {
        self.0.load(Ordering::Acquire) == LOADED
    }

    fn failed(&self) -> bool {
        self.0.load(Ordering::Acquire) == FAILED
    }
}

impl Repository for SqliteStore {
    fn create(&self, webhook: Webhook) -> StoreFuture<Webhook> {
        // Rendered on the caller's thread, so the writer only stores it.
        let document = WebhookDocument::render(&webhook);
        self.writer.submit(move |tx| {
            webhooks::insert(tx.conn, &webhook, &document)?;
            Ok((webhook.clone(), Effect::Put(webhook, document)))
        })
    }

    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<Arc<Webhook>> {
        let owner = scope.cloned();
        self.read_webhooks(
            |index| {
                index
                    .webhook(id, scope)?
                    .map(Arc::new)
                    .ok_or(StoreError::NotFound)
            },
            move |conn| {
                let document = webhooks::find(conn, id, owner.as_ref())?;
                document.webhook().map(Arc::new).map_err(corrupt)
            },
        )
    }

    fn list(&self, pm: &PmCode) -> StoreFuture<Vec<Arc<Webhook>>> {
        let owner = pm.clone();
        self.read_webhooks(
            |index| read_back(&index.documents(pm)),
            move |conn| read_back(&webhooks::documents(conn, &owner).map_err(classify)?),
        )
    }

    fn active_for(
        &self,
        pm: &PmCode,
        product: Option<ProductId>,
    ) -> StoreFuture<Vec<Arc<Webhook>>> {
        let owner = pm.clone();
        self.read_webhooks(
            |index| read_back(&index.active_for(pm, product)),
            move |conn| read_back(&webhooks::active_for(conn, &owner, product).map_err(classify)?),
        )
    }

    fn keys(&self, pm: &PmCode) -> StoreFuture<Vec<WebhookKeys>> {
        let owner = pm.clone();
        self.read_webhooks(
            |index| Ok(index.keys(pm)),
            move |conn| webhooks::keys(conn, &owner).map_err(classify),
        )
    }

    fn document(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<WebhookDocument> {
        let owner = scope.cloned();
        self.read_webhooks(
            |index| {
                index
                    .document(id, scope)
                    .cloned()
                    .ok_or(StoreError::NotFound)
            },
            move |conn| webhooks::find(conn, id, owner.as_ref()),
        )
    }

    fn documents(&self, pm: &PmCode) -> StoreFuture<Vec<WebhookDocument>> {
        let owner = pm.clone();
        self.read_webhooks(
            |index| Ok(index.documents(pm)),
            move |conn| webhooks::documents(conn, &owner).map_err(classify),
        )
    }

    fn modify(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        change: Change,
    ) -> StoreFuture<Webhook> {
        let scope = scope.cloned();
        self.writer.submit(move |tx| {
            let mut webhook = tx
                .webhook(id, scope.as_ref())?
                .ok_or(StoreError::NotFound)?;
            let was = webhook.status;
            change(&mut webhook)?;
            let document = WebhookDocument::render(&webhook);
            webhooks::update(tx.conn, &webhook, &document)?;
            // Set active again: its parked notifications are due now.
            let effect = if was != WebhookStatus::Active && webhook.status == WebhookStatus::Active
            {
                let at = webhook.last_modified_time;
                run_flow(tx, async |flow| flows::activated(flow, id, at).await)?;
                Effect::PutAndWake(webhook.clone(), document)
            } else {
                Effect::Put(webhook.clone(), document)
            };
            Ok((webhook, effect))
        })
    }

    fn remove(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<u64> {
        let scope = scope.cloned();
        self.writer.submit(move |tx| {
            let webhook = tx
                .webhook(id, scope.as_ref())?
                .ok_or(StoreError::NotFound)?;
            let notifications = notifications::delete_of_webhook(tx.conn, id).map_err(classify)?;
            webhooks::delete(tx.conn, id).map_err(classify)?;
            let ids = HashSet::from([id]);
            tx.queues()?.forget_webhooks(&ids);
            Ok((notifications, Effect::Remove(webhook.pm_code, ids)))
        })
    }

    fn ready(&self) -> StoreFuture<()> {
        if self.loading.failed() {
            return StoreFuture::ready(Err(corrupt(
                "the webhooks could not be loaded (see the log)".into(),
            )));
        }
        self.readers
            .read(|conn| conn.query_row("SELECT EXISTS (SELECT 1 FROM webhooks)", [], |_| Ok(())))
    }

    fn reset(&self, scope: Option<&PmCode>) -> StoreFuture<Cleared> {
        let scope = scope.cloned();
        self.writer.submit(move |tx| {
            let Some(pm) = scope else {
                let notifications = notifications::delete_all(tx.conn).map_err(classify)?;
                let webhooks = webhooks::delete_all(tx.conn).map_err(classify)?;
                let inbox_requests = inboxes::clear_all(tx.conn).map_err(classify)?;
                let configurations = configurations::delete(tx.conn, None).map_err(classify)?;
                let fraud_alerts = fraud_alerts::delete(tx.conn, None).map_err(classify)?;
                // Claims out are forgotten with their notifications: recording
                // them finds nothing.
                tx.queues()?.clear();
                let cleared = Cleared {
                    webhooks,
                    notifications,
                    inbox_requests,
                    configurations,
                    fraud_alerts,
                };
                return Ok((cleared, Effect::Clear));
            };
            let ids = webhooks::ids_of(tx.conn, &pm).map_err(classify)?;
            let notifications = notifications::delete_of(tx.conn, &pm, &ids).map_err(classify)?;
            let webhooks = webhooks::delete_of(tx.conn, &pm).map_err(classify)?;
            let ids: HashSet<WebhookId> = ids.into_iter().collect();
            tx.queues()?.forget_webhooks(&ids);
            let configurations = configurations::delete(tx.conn, Some(&pm)).map_err(classify)?;
            let fraud_alerts = fraud_alerts::delete(tx.conn, Some(&pm)).map_err(classify)?;
            let cleared = Cleared {
                webhooks,
                notifications,
                inbox_requests: 0,
                configurations,
                fraud_alerts,
            };
            Ok((cleared, Effect::Remove(pm, ids)))
        })
    }
}

impl Inboxes for SqliteStore {
    fn capture(&self, name: String, request: Captured, limits: InboxLimits) -> StoreFuture<bool> {
        self.writer.submit(move |tx| {
            let kept = inboxes::capture(tx.conn, &name, &request, limits).map_err(classify)?;
            Ok((kept, Effect::None))
        })
    }

    fn inboxes(&self) -> StoreFuture<Vec<(String, usize)>> {
        self.readers.read(inboxes::names)
    }

    fn captured(&self, name: String) -> StoreFuture<Vec<Captured>> {
        self.readers
            .read(move |conn| inboxes::requests(conn, &name))
    }

    fn clear_inbox(&self, name: String) -> StoreFuture<usize> {
        self.writer.submit(move |tx| {
            let cleared = inboxes::clear(tx.conn, &name).map_err(classify)?;
            Ok((cleared, Effect::None))
        })
    }
}

impl Configurations for SqliteStore {
    fn create_configuration(&self, created: Configuration) -> StoreFuture<Configuration> {
        self.writer.submit(move |tx| {
            let held = configurations::count_of(tx.conn, &created.pm_code).map_err(classify)?;
            configuration::room(held)?;
            configurations::insert(tx.conn, &created).map_err(classify)?;
            Ok((created, Effect::None))
        })
    }

    fn configurations(&self, pm: &PmCode) -> StoreFuture<Vec<Configuration>> {
        let pm = pm.clone();
        self.readers.read(move |conn| configurations::of(conn, &pm))
    }

    fn configuration(&self, id: ConfigId, scope: Option<&PmCode>) -> StoreFuture<Configuration> {
        let scope = scope.cloned();
        self.readers.answer(move |conn| {
            configurations::find(conn, &id, scope.as_ref())
                .map_err(classify)?
                .ok_or(StoreError::ConfigurationNotFound)
        })
    }

    fn modify_configuration(
        &self,
        id: ConfigId,
        scope: Option<&PmCode>,
        change: ConfigChange,
    ) -> StoreFuture<Configuration> {
        let scope = scope.cloned();
        self.writer.submit(move |tx| {
            let mut changed = configurations::find(tx.conn, &id, scope.as_ref())
                .map_err(classify)?
                .ok_or(StoreError::ConfigurationNotFound)?;
            change(&mut changed)?;
            configurations::update(tx.conn, &changed).map_err(classify)?;
            Ok((changed, Effect::None))
        })
    }
}

impl FraudAlerts for SqliteStore {
    fn raise_fraud_alert(&self, alert: FraudAlert) -> StoreFuture<bool> {
        self.writer.submit(move |tx| {
            let raised = fraud_alerts::insert(tx.conn, &alert).map_err(classify)?;
            Ok((raised, Effect::None))
        })
    }

    fn modify_fraud_alert(
        &self,
        id: FraudAlertId,
        scope: Option<&PmCode>,
        change: AlertChange,
    ) -> StoreFuture<FraudAlert> {
        let scope = scope.cloned();
        self.writer.submit(move |tx| {
            let mut changed = fraud_alerts::find(tx.conn, id, scope.as_ref())
                .map_err(classify)?
                .ok_or(StoreError::FraudAlertNotFound)?;
            change(&mut changed)?;
            fraud_alerts::update(tx.conn, &changed).map_err(classify)?;
            Ok((changed, Effect::None))
        })
    }

    fn expire_fraud_alerts(&self, now: OffsetDateTime, limit: u32) -> StoreFuture<Vec<FraudAlert>> {
        self.writer.submit(move |tx| {
            let mut due = fraud_alerts::due(tx.conn, now, limit).map_err(classify)?;
            for alert in &mut due {
                alert.expire();
                fraud_alerts::update(tx.conn, alert).map_err(classify)?;
            }
            Ok((due, Effect::None))
        })
    }

    fn next_fraud_expiry(&self) -> StoreFuture<Option<OffsetDateTime>> {
        self.readers.read(fraud_alerts::next_expiry)
    }

    fn purge_fraud_alerts(&self, before: OffsetDateTime) -> StoreFuture<u64> {
        self.writer.submit(move |tx| {
            let purged = fraud_alerts::purge(tx.conn, before).map_err(classify)?;
            Ok((purged, Effect::None))
        })
    }
}

impl Outbox for SqliteStore {
    fn waker(&self) -> Arc<Notify> {
        self.wake.waker()
    }

    fn claim_due(
        &self,
        engine: &str,
        now: OffsetDateTime,
        lease: time::Duration,
        limits: ClaimLimits,
    ) -> StoreFuture<Claims> {
        let engine = engine.to_owned();
        self.flow(async move |tx| flows::claim_due(tx, &engine, now, lease, limits).await)
    }

    fn queue_health(&self, webhook: WebhookId) -> StoreFuture<QueueHealth> {
        self.flow(async move |tx| flows::queue_health(tx, webhook).await)
    }

    fn park(&self, id: NotificationId, token: ClaimToken) -> StoreFuture<()> {
        self.flow(async move |tx| flows::park(tx, id, &token).await)
    }

    /// Read on the writer thread, in order with the writes (and after the
    /// queues are read at start); the batch it joins writes nothing for it.
    fn backlog(&self) -> StoreFuture<Backlog> {
        self.writer.submit(|tx| {
            let (pending, oldest_due, backing_off) = tx.queues()?.backlog();
            let backlog = Backlog {
                pending,
                oldest_due,
                backing_off,
                dead_tuples: None,
            };
            Ok((backlog, Effect::None))
        })
    }

    fn enqueue(&self, notifications: Vec<Notification>) -> StoreFuture<()> {
        self.flow(async move |tx| flows::enqueue(tx, &notifications).await)
    }

    fn record_attempt(
        &self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
    ) -> StoreFuture<Recorded> {
        let token = token.clone();
        self.flow(async move |tx| flows::record(tx, id, &token, &attempt, outcome, rules).await)
    }

    fn record_and_claim(
        &self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
        next: ClaimRequest,
    ) -> StoreFuture<(Recorded, Claims)> {
        let token = token.clone();
        self.flow(async move |tx| {
            flows::record_and_claim(tx, id, &token, &attempt, outcome, rules, &next).await
        })
    }

    fn log(&self, filter: LogFilter, scan: LogScan) -> StoreFuture<LogPage> {
        self.readers
            .read(move |conn| notifications::recent(conn, &filter, scan))
    }

    fn pending(&self) -> StoreFuture<Vec<Notification>> {
        self.readers.read(notifications::pending)
    }

    fn by_event(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        code: EventCode,
        since: OffsetDateTime,
        count: u32,
    ) -> StoreFuture<Vec<Notification>> {
        let scope = scope.cloned();
        self.readers.answer(move |conn| {
            webhooks::find(conn, webhook, scope.as_ref())?;
            notifications::by_event(conn, webhook, code, since, count).map_err(classify)
        })
    }

    fn details(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
    ) -> StoreFuture<Vec<(Notification, Vec<Attempt>)>> {
        let scope = scope.cloned();
        self.readers.answer(move |conn| {
            webhooks::find(conn, webhook, scope.as_ref())?;
            notifications::details(conn, webhook, &ids).map_err(classify)
        })
    }

    fn undelivered(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
    ) -> StoreFuture<Vec<(EventCode, NotificationId)>> {
        let scope = scope.cloned();
        self.readers.answer(move |conn| {
            webhooks::find(conn, webhook, scope.as_ref())?;
            notifications::undelivered(conn, webhook).map_err(classify)
        })
    }

    fn purge(&self, before: OffsetDateTime, limit: u32) -> StoreFuture<u64> {
        self.writer.submit(move |tx| {
            let deleted = notifications::purge(tx.conn, before, limit).map_err(classify)?;
            Ok((deleted, Effect::None))
        })
    }

    fn deliver_now(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        id: NotificationId,
        now: OffsetDateTime,
    ) -> StoreFuture<Notification> {
        let scope = scope.cloned();
        self.flow(async move |tx| flows::deliver_now(tx, webhook, scope.as_ref(), id, now).await)
    }

    fn resend(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
        now: OffsetDateTime,
    ) -> StoreFuture<Vec<(NotificationId, Resend)>> {
        let scope = scope.cloned();
        self.flow(async move |tx| flows::resend(tx, webhook, scope.as_ref(), ids, now).await)
    }
}
