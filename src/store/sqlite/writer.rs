//! The writer thread and its group commit: every write is a [`Write`] job; the
//! writer takes whatever jobs are waiting, runs each in a savepoint of one
//! transaction, commits once (one fsync for the batch), tells the index and the
//! engine (a wake-up) what changed, and only then answers the callers.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};

use super::checkpoint::Checkpoints;
use super::rows::classify;
use crate::domain::{PmCode, Webhook, WebhookDocument, WebhookId, WebhookStatus};
use crate::metrics::METRICS;
use crate::store::index::Index;
use crate::store::local::LocalQueues;
use crate::store::wake::Wake;
use crate::store::{Answer, StoreError, StoreFuture};

/// What the index and the delivery engine learn from a write once its batch commits.
pub enum Effect {
    None,
    /// A webhook as now stored, with its document.
    Put(Webhook, WebhookDocument),
    /// Every webhook deleted.
    Clear,
    /// One program manager's webhooks deleted.
    Remove(PmCode, HashSet<WebhookId>),
    /// Notifications may be due now: wake the delivery engine.
    Wake,
    /// A webhook as now stored, and the engine should wake (it was set active).
    PutAndWake(Webhook, WebhookDocument),
}

/// What a write job sees: the open transaction (inside the job's savepoint),
/// the webhooks as they will be once the batch commits, and the queues in
/// memory (`store::local`).
pub struct Tx<'a> {
    pub conn: &'a Connection,
    view: &'a BatchView<'a>,
    queues: &'a Mutex<LocalQueues>,
    stale: &'a Cell<bool>,
}

impl Tx<'_> {
    /// The webhook, as the caller in `scope` may see it, with the batch's
    /// earlier writes applied.
    pub fn webhook(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
    ) -> Result<Option<Webhook>, StoreError> {
        self.view.webhook(id, scope)
    }

    /// The webhook's status, with the batch's earlier writes applied.
    pub fn status(&self, id: WebhookId) -> Result<Option<WebhookStatus>, StoreError> {
        self.view.status(id)
    }

    /// The queues in memory, for this job alone.
    pub fn queues(&self) -> Result<MutexGuard<'_, LocalQueues>, StoreError> {
        lock_queues(self.queues)
    }

    /// The job failed after it may have changed the queues in memory: they
    /// are read again from the rows once the batch is done.
    pub fn queues_stale(&self) {
        self.stale.set(true);
    }
}

pub fn lock_queues(queues: &Mutex<LocalQueues>) -> Result<MutexGuard<'_, LocalQueues>, StoreError> {
    queues
        .lock()
        .map_err(|_| StoreError::Internal("queue state lock poisoned".into()))
}

/// The index as it will be once the batch commits: the jobs of one batch see
/// each other's changes before anything is committed.
struct BatchView<'a> {
    index: &'a RwLock<Index>,
    written: HashMap<WebhookId, Webhook>,
    /// After a reset in the batch, the index no longer speaks for the database.
    cleared: bool,
    /// Webhooks a scoped reset in the batch deleted.
    removed: HashSet<WebhookId>,
}

impl BatchView<'_> {
    fn webhook(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
    ) -> Result<Option<Webhook>, StoreError> {
        Ok(match self.written.get(&id) {
            Some(webhook) => Some(webhook.clone()).filter(|w| w.visible_to(scope)),
            None if self.cleared || self.removed.contains(&id) => None,
            None => read_index(self.index)?.webhook(id, scope)?,
        })
    }

    fn status(&self, id: WebhookId) -> Result<Option<WebhookStatus>, StoreError> {
        Ok(match self.written.get(&id) {
            Some(webhook) => Some(webhook.status),
            None if self.cleared || self.removed.contains(&id) => None,
            None => read_index(self.index)?.status(id),
        })
    }

    fn learn(&mut self, effect: &Effect) {
        match effect {
            Effect::Put(webhook, _) | Effect::PutAndWake(webhook, _) => {
                self.written.insert(webhook.id, webhook.clone());
            }
            Effect::Clear => {
                self.written.clear();
                self.cleared = true;
            }
            Effect::Remove(_, ids) => {
                self.written.retain(|id, _| !ids.contains(id));
                self.removed.extend(ids.iter().copied());
            }
            Effect::None | Effect::Wake => {}
        }
    }
}

pub fn read_index(
    index: &RwLock<Index>,
) -> Result<std::sync::RwLockReadGuard<'_, Index>, StoreError> {
    index
        .read()
        .map_err(|_| StoreError::Internal("webhook index lock poisoned".into()))
}

/// One write: its work, and where its answer goes. The answer's type is tied to
/// the work's, so a job cannot answer with the wrong kind.
trait Write: Send {
    /// Runs the work inside the job's savepoint.
    fn apply(self: Box<Self>, tx: &Tx<'_>) -> Applied;
    /// Answers without running (the batch could not begin).
    fn fail(self: Box<Self>, error: StoreError);
}

struct Job<T, F> {
    work: F,
    answer: Answer<T>,
}

impl<T, F> Write for Job<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Tx<'_>) -> Result<(T, Effect), StoreError> + Send,
{
    fn apply(self: Box<Self>, tx: &Tx<'_>) -> Applied {
        let Self { work, answer } = *self;
        match work(tx) {
            Ok((value, effect)) => Applied {
                effect: Some(effect),
                reply: Box::new(move |fault| {
                    let _ = answer.send(fault.map_or(Ok(value), Err));
                }),
            },
            Err(error) => Applied {
                effect: None,
                reply: Box::new(move |_| {
                    let _ = answer.send(Err(error));
                }),
            },
        }
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.answer.send(Err(error));
    }
}

/// A job that has run: what it changed (`None`: it failed and was rolled back
/// alone), and how to answer it once the batch's fate is known.
struct Applied {
    effect: Option<Effect>,
    /// Given the batch's fault, if the commit failed; a failed job answers its own error.
    reply: Box<dyn FnOnce(Option<StoreError>) + Send>,
}

type Boxed = Box<dyn Write>;

/// The handle that queues jobs for the writer thread.
pub struct Writer {
    jobs: SyncSender<Boxed>,
}

impl Writer {
    /// The handle and the thread's loop: `run` is to be called on the writer
    /// thread with its connection.
    pub fn new(
        capacity: usize,
        max_batch: usize,
        index: Arc<RwLock<Index>>,
        queues: Arc<Mutex<LocalQueues>>,
        wake: Arc<Wake>,
        checkpoints: Checkpoints,
    ) -> (Self, impl FnOnce(Connection) + Send) {
        let (jobs, queue) = std::sync::mpsc::sync_channel(capacity.max(1));
        let run = move |conn| {
            let shared = Shared {
                index: &index,
                queues: &queues,
                wake: &wake,
            };
            run(conn, &queue, &shared, max_batch.max(1), &checkpoints);
        };
        (Self { jobs }, run)
    }

    /// Queues `work` without waiting; the answer comes once its batch is
    /// committed. A full queue answers `Unavailable` at once.
    pub fn submit<T, F>(&self, work: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<(T, Effect), StoreError> + Send + 'static,
    {
        let (answer, future) = StoreFuture::channel();
        match self.jobs.try_send(Box::new(Job { work, answer })) {
            Ok(()) => future,
            Err(TrySendError::Full(_)) => StoreFuture::ready(Err(StoreError::Unavailable(
                "the write queue is full".into(),
            ))),
            Err(TrySendError::Disconnected(_)) => StoreFuture::ready(Err(StoreError::Internal(
                "the writer thread has stopped".into(),
            ))),
        }
    }
}

/// The writer thread: takes the first waiting job, then whatever else is
/// already queued (up to `max_batch`), and commits them in one transaction. It
/// commits as soon as the queue is empty; it never waits on a timer.
fn run(
    mut conn: Connection,
    jobs: &Receiver<Boxed>,
    shared: &Shared<'_>,
    max_batch: usize,
    checkpoints: &Checkpoints,
) {
    reload_queues(&conn, shared.queues);
    while let Ok(first) = jobs.recv() {
        let mut batch = Vec::with_capacity(max_batch.min(64));
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !commit_batch(&mut conn, shared, batch) {
            reload_queues(&conn, shared.queues);
        }
        checkpoints.after_commit(&conn);
    }
    log::debug!("sqlite writer stopped: every store handle is gone");
}

/// What the writer shares with the store's handles.
struct Shared<'a> {
    index: &'a RwLock<Index>,
    queues: &'a Mutex<LocalQueues>,
    wake: &'a Wake,
}

/// Reads the queues in memory from the rows (at start, and after a batch
/// that failed may have left them ahead of what was committed).
fn reload_queues(conn: &Connection, queues: &Mutex<LocalQueues>) {
    let started = Instant::now();
    let loaded = lock_queues(queues)
        .map_err(|e| e.to_string())
        .and_then(|mut queues| super::queues::load(conn, &mut queues).map_err(|e| e.to_string()));
    match loaded {
        Ok(()) => log::debug!("delivery queues read in {:?}", started.elapsed()),
        Err(e) => log::error!("reading the delivery queues: {e}; claims may wait for a restart"),
    }
}

/// Runs each job inside its own savepoint, so a failing job is rolled back alone,
/// then commits the batch, updates the index, wakes the engine if need be, and only then
/// answers the callers. Answers whether the queues in memory still match the rows.
fn commit_batch(conn: &mut Connection, shared: &Shared<'_>, batch: Vec<Boxed>) -> bool {
    let Shared {
        index,
        queues,
        wake,
    } = *shared;
    let stale = Cell::new(false);
    let started = Instant::now();
    let size = batch.len();
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let fault = classify(e);
            log_fault("beginning a write transaction", size, &fault);
            for job in batch {
                job.fail(same_error(&fault));
            }
            return true;
        }
    };
    let mut view = BatchView {
        index,
        written: HashMap::new(),
        cleared: false,
        removed: HashSet::new(),
    };
    let mut applied = Vec::with_capacity(size);
    for job in batch {
        let savepoint = match tx.savepoint() {
            Ok(savepoint) => savepoint,
            Err(e) => {
                job.fail(classify(e));
                continue;
            }
        };
        let done = job.apply(&Tx {
            conn: &savepoint,
            view: &view,
            queues,
            stale: &stale,
        });
        if done.effect.is_some() {
            if let Err(e) = savepoint.commit() {
                stale.set(true);
                (done.reply)(Some(classify(e)));
                continue;
            }
        }
        // Dropping an uncommitted savepoint rolls back this job alone; the
        // earlier jobs of the batch stay.
        if let Some(effect) = &done.effect {
            view.learn(effect);
        }
        applied.push(done);
    }
    if let Err(e) = tx.commit() {
        let fault = classify(e);
        log_fault("committing a batch", size, &fault);
        for done in applied {
            (done.reply)(Some(same_error(&fault)));
        }
        return false;
    }
    let mut woken = false;
    match index.write() {
        Ok(mut index) => {
            // In batch order: a reset forgets what came before it in the batch,
            // not what came after.
            for effect in applied.iter_mut().filter_map(|done| done.effect.take()) {
                match effect {
                    Effect::Put(webhook, document) => index.put(&webhook, document),
                    Effect::PutAndWake(webhook, document) => {
                        index.put(&webhook, document);
                        woken = true;
                    }
                    Effect::Clear => {
                        index.clear();
                    }
                    Effect::Remove(pm, ids) => {
                        index.remove(&pm, &ids);
                    }
                    Effect::Wake => woken = true,
                    Effect::None => {}
                }
            }
        }
        Err(_) => log::error!("webhook index lock poisoned; reads may be stale until restart"),
    }
    if woken {
        wake.wake();
    }
    for done in applied {
        (done.reply)(None);
    }
    METRICS.commit(size, started.elapsed());
    log::trace!("committed {size} writes in {:?}", started.elapsed());
    !stale.get()
}

fn log_fault(doing: &str, size: usize, fault: &StoreError) {
    log::error!("{doing} for {size} writes: {fault}: {}", source_text(fault));
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
