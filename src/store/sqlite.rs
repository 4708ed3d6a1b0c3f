//! The SQLite repository: one database file in WAL mode, one writer thread that
//! commits requests in groups, and every read served from an in-memory index that
//! the writer updates after each commit.
//!
//! Why this shape: a durable commit costs an fsync, from 0.1 ms to several ms
//! depending on the disk. Committing each request alone caps writes at one fsync
//! each; committing whatever requests are waiting together shares one fsync among
//! them (group commit). Reads never touch SQLite, so they never wait for the writer,
//! never hop to another thread, and cost a hash lookup.
//!
//! WAL checkpoints (copying committed pages back into the main file, with an fsync
//! of it) run on a thread of their own, never inside a writer's commit: SQLite's
//! automatic checkpoint would stall whichever commit crossed 1,000 pages, and every
//! request in that batch with it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::thread;
use std::time::{Duration, Instant};

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OpenFlags, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::cache::Cache;
use super::{outbox, Answer, Change, Cleared, Outbox, Pending, Repository, StoreError};
use crate::domain::{
    now_utc, Attempt, AttemptOutcome, CustomHeaders, EventCode, EventSet, Heartbeat, Notification,
    NotificationId, PmCode, ProductId, Resend, Webhook, WebhookConfig, WebhookId, WebhookStatus,
    WebhookUrl,
};
use crate::metrics::METRICS;

/// The schema for a new file; see the comment at its top.
const SCHEMA: &str = include_str!("../../schema.sql");
/// The `user_version` that `SCHEMA` produces.
pub const SCHEMA_VERSION: i64 = 2;

/// Upgrade steps: the `i`th takes a file from version `i + 1` to `i + 2`. Each is
/// the section of schema.sql that its version added, so the two never disagree.
fn migrations() -> [&'static str; 1] {
    let section = |from: &str, to: &str| {
        let start = SCHEMA.find(from).unwrap_or(SCHEMA.len());
        let end = SCHEMA[start..].find(to).map_or(SCHEMA.len(), |i| start + i);
        &SCHEMA[start..end]
    };
    [section("-- Version 2:", "PRAGMA user_version")]
}

/// Every column, in the order `read_webhook` and `write_row` use.
macro_rules! columns {
    () => {
        "id, pm_code, product_id, events, status, url, custom_headers, created_time, last_modified_time, \
         hb_health_status, hb_http_status, hb_latency_ms, hb_error, hb_checked_time"
    };
}
macro_rules! values {
    () => {
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    };
}
const SELECT_ALL: &str = concat!("SELECT ", columns!(), " FROM webhooks ORDER BY rowid");
const INSERT: &str = concat!("INSERT INTO webhooks (", columns!(), ") VALUES ", values!());
const UPDATE: &str = concat!(
    "UPDATE webhooks SET (",
    columns!(),
    ") = ",
    values!(),
    " WHERE id = ?1"
);

/// How much a commit must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// An acknowledged write survives power loss (fsync at every commit).
    Full,
    /// An acknowledged write survives a crash of the process; the last commits may
    /// be lost on power loss (WAL is synced at checkpoints only).
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

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
#[derive(Debug, thiserror::Error)]
#[error("cannot use database {path}: {reason}")]
pub struct OpenError {
    path: PathBuf,
    reason: String,
}

/// The writer's unit of work, with where its answer goes.
struct Job {
    work: Work,
    reply: Reply,
}

/// What a job changes.
enum Work {
    Create(Webhook),
    Modify {
        id: WebhookId,
        scope: Option<PmCode>,
        change: Change,
    },
    Enqueue(Vec<Notification>),
    Reset,
    Resend {
        webhook: WebhookId,
        ids: Vec<NotificationId>,
        now: OffsetDateTime,
    },
    Attempted {
        id: NotificationId,
        attempt: Attempt,
        outcome: AttemptOutcome,
        suspend_after: u32,
    },
}

/// What a job did, kept until its batch commits.
enum Done {
    /// A webhook as now stored, for the index and the caller.
    Webhook(Webhook),
    Enqueued,
    Cleared(Cleared),
    Resent(Vec<(NotificationId, Resend)>),
    /// An attempt recorded; the webhook if it was suspended.
    Attempted(Option<Webhook>),
}

impl Done {
    /// The webhook this job changed, if any: the index must learn it at commit.
    fn changed(&self) -> Option<&Webhook> {
        match self {
            Self::Webhook(webhook) | Self::Attempted(Some(webhook)) => Some(webhook),
            Self::Enqueued | Self::Cleared(_) | Self::Resent(_) | Self::Attempted(None) => None,
        }
    }
}

/// Where a job's answer goes.
enum Reply {
    Webhook(Answer),
    Enqueued(Answer<()>),
    Cleared(Answer<Cleared>),
    Resent(Answer<Vec<(NotificationId, Resend)>>),
    Attempted(Answer<Option<Webhook>>),
}

impl Reply {
    fn send(self, result: Result<Done, StoreError>) {
        let mismatch = || StoreError::Internal("a write's answer has the wrong kind".into());
        match self {
            Self::Webhook(answer) => {
                let _ = answer.send(result.and_then(|done| match done {
                    Done::Webhook(webhook) => Ok(webhook),
                    _ => Err(mismatch()),
                }));
            }
            Self::Enqueued(answer) => {
                let _ = answer.send(result.map(|_| ()));
            }
            Self::Cleared(answer) => {
                let _ = answer.send(result.and_then(|done| match done {
                    Done::Cleared(cleared) => Ok(cleared),
                    _ => Err(mismatch()),
                }));
            }
            Self::Resent(answer) => {
                let _ = answer.send(result.and_then(|done| match done {
                    Done::Resent(each) => Ok(each),
                    _ => Err(mismatch()),
                }));
            }
            Self::Attempted(answer) => {
                let _ = answer.send(result.and_then(|done| match done {
                    Done::Attempted(webhook) => Ok(webhook),
                    _ => Err(mismatch()),
                }));
            }
        }
    }
}

pub struct SqliteStore {
    cache: Arc<RwLock<Cache>>,
    writer: SyncSender<Job>,
    readers: Pool<SqliteConnectionManager>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, brings its schema up to
    /// date, loads every webhook into memory and starts the writer thread. Every
    /// failure names the path.
    pub fn open(path: &Path, options: &SqliteOptions) -> Result<Self, OpenError> {
        let fail = |reason: String| OpenError {
            path: path.to_path_buf(),
            reason,
        };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail(e.to_string()))?;
        configure(&conn, options.busy_timeout, options.synchronous)
            .map_err(|e| fail(e.to_string()))?;
        migrate(&mut conn).map_err(&fail)?;
        let cache = load(&conn).map_err(|e| fail(format!("reading webhooks: {e}")))?;

        let busy_timeout = options.busy_timeout;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(move |conn| conn.busy_timeout(busy_timeout));
        let readers = Pool::builder()
            .max_size(options.read_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(busy_timeout)
            .build(manager)
            .map_err(|e| fail(e.to_string()))?;

        let checkpoints = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| c.busy_timeout(options.busy_timeout).map(|()| c))
        .map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| fail(e.to_string()))?;
        let (committed, commits) = mpsc::sync_channel(1);
        let tail = Arc::new(AtomicBool::new(false));
        let checkpointed = Arc::clone(&tail);
        thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run_checkpoints(checkpoints, commits, &checkpointed))
            .map_err(|e| fail(format!("starting the checkpoint thread: {e}")))?;

        let cache = Arc::new(RwLock::new(cache));
        let (writer, jobs) = mpsc::sync_channel(options.queue_capacity.max(1));
        let writer_cache = Arc::clone(&cache);
        let max_batch = options.max_batch.max(1);
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let checkpoints = Checkpoints { committed, tail };
                run_writer(conn, jobs, writer_cache, max_batch, &checkpoints);
            })
            .map_err(|e| fail(format!("starting the writer thread: {e}")))?;
        Ok(Self {
            cache,
            writer,
            readers,
        })
    }

    /// How many webhooks are stored.
    pub fn len(&self) -> usize {
        self.read().map(|cache| cache.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Cache>, StoreError> {
        self.cache
            .read()
            .map_err(|_| StoreError::Internal("webhook index lock poisoned".into()))
    }

    /// Queues a job for the writer thread without waiting; the answer comes once
    /// its batch is committed.
    fn submit<T>(&self, work: Work, reply: fn(Answer<T>) -> Reply) -> Pending<T> {
        let (answer, pending) = Pending::channel();
        let job = Job {
            work,
            reply: reply(answer),
        };
        match self.writer.try_send(job) {
            Ok(()) => pending,
            Err(TrySendError::Full(_)) => Pending::done(Err(StoreError::Unavailable(
                "the write queue is full".into(),
            ))),
            Err(TrySendError::Disconnected(_)) => Pending::done(Err(StoreError::Internal(
                "the writer thread has stopped".into(),
            ))),
        }
    }

    /// A read-only connection from the pool, for queries the index does not answer.
    fn reader(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        self.readers
            .get()
            .map_err(|e| StoreError::Unavailable(Box::new(e)))
    }
}

impl Repository for SqliteStore {
    fn create(&self, webhook: Webhook) -> Pending {
        self.submit(Work::Create(webhook), Reply::Webhook)
    }

    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> Result<Arc<Webhook>, StoreError> {
        self.read()?
            .shared(id, scope)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    fn list(&self, pm: &PmCode) -> Result<Vec<Arc<Webhook>>, StoreError> {
        Ok(self.read()?.list(pm))
    }

    fn modify(&self, id: WebhookId, scope: Option<&PmCode>, change: Change) -> Pending {
        let scope = scope.cloned();
        self.submit(Work::Modify { id, scope, change }, Reply::Webhook)
    }

    fn reset(&self) -> Pending<Cleared> {
        self.submit(Work::Reset, Reply::Cleared)
    }

    fn check(&self) -> Result<(), StoreError> {
        self.reader()?
            .query_row("SELECT EXISTS (SELECT 1 FROM webhooks)", [], |_| Ok(()))
            .map_err(classify)
    }
}

impl Outbox for SqliteStore {
    fn enqueue(&self, notifications: Vec<Notification>) -> Pending<()> {
        self.submit(Work::Enqueue(notifications), Reply::Enqueued)
    }

    fn record_attempt(
        &self,
        id: NotificationId,
        attempt: Attempt,
        outcome: AttemptOutcome,
        suspend_after: u32,
    ) -> Pending<Option<Webhook>> {
        let work = Work::Attempted {
            id,
            attempt,
            outcome,
            suspend_after,
        };
        self.submit(work, Reply::Attempted)
    }

    fn pending(&self) -> Result<Vec<Notification>, StoreError> {
        outbox::pending(&*self.reader()?).map_err(classify)
    }

    fn by_event(
        &self,
        webhook: WebhookId,
        code: EventCode,
        since: OffsetDateTime,
        count: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        outbox::by_event(
            &*self.reader()?,
            webhook,
            code,
            since.unix_timestamp(),
            count,
        )
        .map_err(classify)
    }

    fn details(
        &self,
        webhook: WebhookId,
        ids: &[NotificationId],
    ) -> Result<Vec<(Notification, Vec<Attempt>)>, StoreError> {
        outbox::details(&*self.reader()?, webhook, ids).map_err(classify)
    }

    fn undelivered(
        &self,
        webhook: WebhookId,
    ) -> Result<Vec<(EventCode, NotificationId)>, StoreError> {
        outbox::undelivered(&*self.reader()?, webhook).map_err(classify)
    }

    fn resend(
        &self,
        webhook: WebhookId,
        ids: Vec<NotificationId>,
        now: OffsetDateTime,
    ) -> Pending<Vec<(NotificationId, Resend)>> {
        self.submit(Work::Resend { webhook, ids, now }, Reply::Resent)
    }
}

/// The writer thread: takes the first waiting request, then whatever else is
/// already queued (up to `max_batch`), and commits them in one transaction. It
/// commits as soon as the queue is empty; it never waits on a timer.
fn run_writer(
    mut conn: Connection,
    jobs: Receiver<Job>,
    cache: Arc<RwLock<Cache>>,
    max_batch: usize,
    checkpoints: &Checkpoints,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = Vec::with_capacity(max_batch.min(64));
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, &cache, batch);
        checkpoints.after_commit(&conn);
    }
    log::debug!("sqlite writer stopped: every store handle is gone");
}

/// The least time between two checkpoints, so that a steady stream of commits
/// costs one checkpoint (and one fsync of the main file) per interval.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

/// How the writer and the checkpoint thread keep the WAL from growing.
///
/// A checkpoint copies the WAL's frames back into the main file, and the next
/// write transaction starts the WAL over from its beginning, but only if that
/// checkpoint copied *every* frame. Under a steady stream of commits the
/// checkpoint thread never manages that alone, since the writer appends while it
/// copies; the WAL then grows without end (275 MB in 5 s of 7,300 creates/s), and
/// every commit's fdatasync must also write the file's new size and block map:
/// two or three disk writes per commit instead of one (`bash bench/offcpu`).
/// So the work is split: the checkpoint thread copies the bulk without blocking
/// anyone, then asks the writer for the tail, which the writer checkpoints
/// itself between two batches, when nothing can be appended. That tail is what
/// arrived during one checkpoint, and with it the WAL starts over.
struct Checkpoints {
    /// Tells the checkpoint thread there are new commits.
    committed: SyncSender<()>,
    /// Set by the checkpoint thread after a checkpoint: the writer copies the tail.
    tail: Arc<AtomicBool>,
}

impl Checkpoints {
    fn after_commit(&self, conn: &Connection) {
        if self.tail.swap(false, Ordering::AcqRel) {
            // PASSIVE never waits; with the writer itself between batches, it
            // copies every remaining frame.
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                log::warn!("WAL tail checkpoint failed (the next one retries): {e}");
            }
        }
        // Never blocks: one signal pending is as good as many.
        let _ = self.committed.try_send(());
    }
}

/// The checkpoint thread: after commits, copies the WAL back into the main file
/// (`PASSIVE`: it never waits for, nor blocks, the writer or readers), at most once
/// per `CHECKPOINT_INTERVAL`, then leaves the tail to the writer (see
/// [`Checkpoints`]). Ends with the writer.
fn run_checkpoints(conn: Connection, commits: Receiver<()>, tail: &AtomicBool) {
    while commits.recv().is_ok() {
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            Ok(()) => tail.store(true, Ordering::Release),
            Err(e) => log::warn!("WAL checkpoint failed (the next one retries): {e}"),
        }
        thread::sleep(CHECKPOINT_INTERVAL);
    }
}

/// Runs each job inside its own savepoint, so a failing job is rolled back alone,
/// then commits the batch, updates the index, and only then answers the callers.
fn commit_batch(conn: &mut Connection, cache: &RwLock<Cache>, batch: Vec<Job>) {
    let started = Instant::now();
    let size = batch.len();
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let replies = batch.into_iter().map(|job| job.reply);
            return fail_all(replies, "beginning a write transaction", &classify(e));
        }
    };
    // Webhooks changed earlier in this batch, as they will be once committed;
    // after a reset in the batch, the index no longer speaks for the database.
    let mut written: HashMap<WebhookId, Webhook> = HashMap::new();
    let mut cleared = false;
    let mut results = Vec::with_capacity(size);
    let mut replies = Vec::with_capacity(size);
    for Job { work, reply } in batch {
        let result = tx.savepoint().map_err(classify).and_then(|savepoint| {
            let result = apply(&savepoint, cache, &written, cleared, work);
            if result.is_ok() {
                savepoint.commit().map_err(classify)?;
            }
            // Dropping an uncommitted savepoint rolls back this job alone; the
            // earlier jobs of the batch stay.
            result
        });
        if let Ok(Done::Cleared(_)) = &result {
            written.clear();
            cleared = true;
        }
        if let Some(webhook) = result.as_ref().ok().and_then(Done::changed) {
            written.insert(webhook.id, webhook.clone());
        }
        results.push(result);
        replies.push(reply);
    }
    if let Err(e) = tx.commit() {
        return fail_all(replies.into_iter(), "committing a batch", &classify(e));
    }
    match cache.write() {
        Ok(mut cache) => {
            // In batch order: a reset forgets what came before it in the batch,
            // not what came after.
            for done in results.iter().flatten() {
                match done {
                    Done::Cleared(_) => {
                        cache.clear();
                    }
                    done => {
                        if let Some(webhook) = done.changed() {
                            cache.put(webhook.clone());
                        }
                    }
                }
            }
        }
        Err(_) => log::error!("webhook index lock poisoned; reads may be stale until restart"),
    }
    for (reply, result) in replies.into_iter().zip(results) {
        reply.send(result);
    }
    METRICS.commit(size, started.elapsed());
    log::trace!("committed {size} writes in {:?}", started.elapsed());
}

fn apply(
    conn: &Connection,
    cache: &RwLock<Cache>,
    written: &HashMap<WebhookId, Webhook>,
    cleared: bool,
    work: Work,
) -> Result<Done, StoreError> {
    // The webhook as it will be once this batch commits.
    let current = |id: WebhookId, scope: Option<&PmCode>| -> Result<Option<Webhook>, StoreError> {
        Ok(match written.get(&id) {
            Some(webhook) => Some(webhook.clone()).filter(|w| w.visible_to(scope)),
            None if cleared => None,
            None => cache
                .read()
                .map_err(|_| StoreError::Internal("webhook index lock poisoned".into()))?
                .get(id, scope)
                .cloned(),
        })
    };
    match work {
        Work::Create(webhook) => {
            write_row(conn, INSERT, &webhook)?;
            Ok(Done::Webhook(webhook))
        }
        Work::Modify { id, scope, change } => {
            let mut webhook = current(id, scope.as_ref())?.ok_or(StoreError::NotFound)?;
            change(&mut webhook)?;
            write_row(conn, UPDATE, &webhook)?;
            Ok(Done::Webhook(webhook))
        }
        Work::Enqueue(notifications) => {
            for notification in &notifications {
                outbox::insert(conn, notification).map_err(classify)?;
            }
            Ok(Done::Enqueued)
        }
        Work::Reset => {
            let deleted = |sql: &str| conn.execute(sql, []).map(|n| n as u64).map_err(classify);
            deleted("DELETE FROM attempts")?;
            let notifications = deleted("DELETE FROM notifications")?;
            let webhooks = deleted("DELETE FROM webhooks")?;
            Ok(Done::Cleared(Cleared {
                webhooks,
                notifications,
            }))
        }
        Work::Resend { webhook, ids, now } => {
            let each = ids
                .into_iter()
                .map(|id| Ok((id, outbox::resend(conn, webhook, id, now)?)))
                .collect::<rusqlite::Result<_>>()
                .map_err(classify)?;
            Ok(Done::Resent(each))
        }
        Work::Attempted {
            id,
            attempt,
            outcome,
            suspend_after,
        } => {
            let webhook_id = outbox::record_attempt(conn, id, &attempt, outcome)?;
            let suspend = match outcome {
                AttemptOutcome::Gone => true,
                AttemptOutcome::Undelivered => {
                    outbox::last_all_undelivered(conn, webhook_id, suspend_after)?
                }
                AttemptOutcome::Delivered | AttemptOutcome::RetryAt(_) => false,
            };
            let webhook = current(webhook_id, None)?;
            match webhook {
                Some(mut webhook) if suspend && webhook.status == WebhookStatus::Active => {
                    webhook.status = WebhookStatus::Suspended;
                    webhook.last_modified_time = now_utc();
                    write_row(conn, UPDATE, &webhook)?;
                    Ok(Done::Attempted(Some(webhook)))
                }
                _ => Ok(Done::Attempted(None)),
            }
        }
    }
}

/// Logs a fault that failed a whole batch, and answers every caller with it.
fn fail_all(replies: impl ExactSizeIterator<Item = Reply>, doing: &str, error: &StoreError) {
    log::error!(
        "{doing} for {} writes: {error}: {}",
        replies.len(),
        source_text(error)
    );
    for reply in replies {
        reply.send(Err(same_error(error)));
    }
}

/// A copy of a storage fault for each caller of a failed batch.
fn same_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(_) => StoreError::Unavailable(source_text(error).into()),
        _ => StoreError::Internal(source_text(error).into()),
    }
}

fn source_text(error: &StoreError) -> String {
    std::error::Error::source(error).map_or_else(|| error.to_string(), |s| s.to_string())
}

/// Per-connection settings. WAL lets the readiness check and later readers work
/// while a write commits.
fn configure(
    conn: &Connection,
    busy_timeout: Duration,
    synchronous: Synchronous,
) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;",
        synchronous.pragma()
    ))
}

/// Brings the file to `SCHEMA_VERSION`, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), String> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    match version {
        0 => tx.execute_batch(SCHEMA).map_err(|e| format!("applying schema.sql: {e}"))?,
        v if v > SCHEMA_VERSION => {
            return Err(format!(
                "its schema version {v} is newer than this binary supports ({SCHEMA_VERSION}); use a newer webhook-manager"
            ))
        }
        v => {
            for (step, sql) in migrations().iter().enumerate().skip((v - 1) as usize) {
                let to = step as i64 + 2;
                tx.execute_batch(sql)
                    .and_then(|()| tx.pragma_update(None, "user_version", to))
                    .map_err(|e| format!("migrating to schema version {to}: {e}"))?;
            }
        }
    }
    tx.commit().map_err(|e| e.to_string())
}

/// Every stored webhook, in creation order.
fn load(conn: &Connection) -> rusqlite::Result<Cache> {
    let mut cache = Cache::default();
    let mut stmt = conn.prepare(SELECT_ALL)?;
    for webhook in stmt.query_map([], read_webhook)? {
        cache.put(webhook?);
    }
    Ok(cache)
}

/// Sorts a rusqlite error into the storage's two kinds of fault, or a duplicate.
pub(super) fn classify(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match error.sqlite_error() {
        Some(e) if e.code == C::ConstraintViolation => StoreError::Duplicate,
        Some(e)
            if matches!(
                e.code,
                C::DatabaseBusy
                    | C::DatabaseLocked
                    | C::ReadOnly
                    | C::CannotOpen
                    | C::DiskFull
                    | C::SystemIoFailure
                    | C::OutOfMemory
                    | C::FileLockingProtocolFailed
            ) =>
        {
            StoreError::Unavailable(Box::new(error))
        }
        _ => StoreError::Internal(Box::new(error)),
    }
}

/// A stored time in Unix seconds.
pub(super) fn timestamp(secs: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| corrupt(e.to_string()))
}

/// A stored value that does not parse: the row is corrupt.
pub(super) fn corrupt(why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, why.into())
}

fn read_webhook(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    let id: String = row.get(0)?;
    let pm: String = row.get(1)?;
    let events: String = row.get(3)?;
    let status: String = row.get(4)?;
    let headers: String = row.get(6)?;
    let codes: Vec<i64> = serde_json::from_str(&events).map_err(|e| corrupt(e.to_string()))?;
    let events = codes
        .into_iter()
        .map(|n| EventCode::from_number(n, "events").map_err(|p| corrupt(p.message)))
        .collect::<rusqlite::Result<EventSet>>()?;
    let headers: BTreeMap<String, String> =
        serde_json::from_str(&headers).map_err(|e| corrupt(e.to_string()))?;
    let health: Option<String> = row.get(9)?;
    let last_heartbeat = match health {
        None => None,
        Some(health) => Some(Heartbeat {
            health_status: health.parse().map_err(corrupt)?,
            http_status: row.get(10)?,
            latency_ms: row.get(11)?,
            error: row.get(12)?,
            checked_time: timestamp(row.get(13)?)?,
        }),
    };
    Ok(Webhook {
        id: WebhookId::parse(&id).map_err(|p| corrupt(p.message))?,
        pm_code: PmCode::parse(&pm).map_err(|p| corrupt(p.message))?,
        product_id: row.get::<_, Option<u64>>(2)?.map(ProductId::from_stored),
        events,
        status: status.parse().map_err(corrupt)?,
        config: WebhookConfig {
            url: WebhookUrl::from_stored(row.get(5)?),
            custom_headers: CustomHeaders::from_stored(headers),
        },
        created_time: timestamp(row.get(7)?)?,
        last_modified_time: timestamp(row.get(8)?)?,
        last_heartbeat,
    })
}

fn events_json(events: &EventSet) -> String {
    serde_json::Value::from(events.iter().map(EventCode::value).collect::<Vec<_>>()).to_string()
}

fn headers_json(headers: &CustomHeaders) -> String {
    serde_json::to_string(headers.as_map()).unwrap_or_else(|_| "{}".into())
}

/// Runs `sql`, whose parameters `?1..?14` are the webhook's columns in `COLUMNS` order.
fn write_row(conn: &Connection, sql: &str, webhook: &Webhook) -> Result<(), StoreError> {
    let hb = webhook.last_heartbeat.as_ref();
    let mut stmt = conn.prepare_cached(sql).map_err(classify)?;
    stmt.execute(params![
        webhook.id.to_string(),
        webhook.pm_code.as_str(),
        webhook.product_id.map(ProductId::value),
        events_json(&webhook.events),
        webhook.status.as_str(),
        webhook.config.url.as_str(),
        headers_json(&webhook.config.custom_headers),
        webhook.created_time.unix_timestamp(),
        webhook.last_modified_time.unix_timestamp(),
        hb.map(|h| h.health_status.as_str()),
        hb.and_then(|h| h.http_status),
        hb.map(|h| h.latency_ms),
        hb.and_then(|h| h.error.as_deref()),
        hb.map(|h| h.checked_time.unix_timestamp()),
    ])
    .map_err(classify)?;
    Ok(())
}
