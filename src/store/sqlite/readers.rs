//! The reader threads: the reads the index does not answer (readiness, the
//! outbox's queries) run here, each thread with a read-only connection of its
//! own, so no SQLite call ever runs on an async worker.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

use super::rows::classify;
use crate::store::{StoreError, StoreFuture};

type Read = Box<dyn FnOnce(&Connection) + Send>;

/// The handle that queues reads for the reader threads.
pub struct Readers {
    reads: SyncSender<Read>,
}

impl Readers {
    /// The handle and one loop per connection, each to be run on a thread of its own.
    pub fn new(connections: Vec<Connection>, capacity: usize) -> (Self, Vec<impl FnOnce() + Send>) {
        let (reads, queue) = std::sync::mpsc::sync_channel(capacity.max(1));
        let queue = Arc::new(Mutex::new(queue));
        let loops = connections
            .into_iter()
            .map(|conn| {
                let queue = Arc::clone(&queue);
                move || run(&conn, &queue)
            })
            .collect();
        (Self { reads }, loops)
    }

    /// Runs `query` on a reader thread; a full queue answers `Unavailable` at once.
    pub fn read<T, F>(&self, query: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.answer(move |conn| query(conn).map_err(classify))
    }

    /// The same for a read whose answer may be a store error of its own
    /// (`NotFound`, a corrupt row).
    pub fn answer<T, F>(&self, query: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, future) = StoreFuture::channel();
        let read: Read = Box::new(move |conn| {
            let _ = answer.send(query(conn));
        });
        match self.reads.try_send(read) {
            Ok(()) => future,
            Err(TrySendError::Full(_)) => StoreFuture::ready(Err(StoreError::Unavailable(
                "the read queue is full".into(),
            ))),
            Err(TrySendError::Disconnected(_)) => StoreFuture::ready(Err(StoreError::Internal(
                "the reader threads have stopped".into(),
            ))),
        }
    }
}

/// One reader thread: the next queued read, until every handle is gone.
fn run(conn: &Connection, queue: &Mutex<Receiver<Read>>) {
    loop {
        // The lock is held only while waiting for a read, never while running one.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(read) => read(conn),
            Err(_) => break,
        }
    }
}
