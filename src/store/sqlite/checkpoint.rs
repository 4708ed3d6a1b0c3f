//! WAL checkpoints: a thread of its own copies the bulk of the WAL back into the
//! main file, and the writer copies the tail (see [`Checkpoints`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

/// The least time between two checkpoints, so that a steady stream of commits
/// costs one checkpoint (and one fsync of the main file) per interval.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

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
pub struct Checkpoints {
    /// Tells the checkpoint thread there are new commits.
    committed: SyncSender<()>,
    /// Set by the checkpoint thread after a checkpoint: the writer copies the tail.
    tail: Arc<AtomicBool>,
    /// How many times the writer's tail checkpoint copied every frame, so that
    /// the next commit starts the WAL over.
    restarts: Arc<AtomicU64>,
}

impl Checkpoints {
    /// The writer's side, and the checkpoint thread's, to run on a thread of its own.
    pub fn new(restarts: Arc<AtomicU64>) -> (Self, impl FnOnce(Connection) + Send) {
        let (committed, commits) = std::sync::mpsc::sync_channel(1);
        let tail = Arc::new(AtomicBool::new(false));
        let checkpointed = Arc::clone(&tail);
        let thread = move |conn| run_checkpoints(conn, commits, &checkpointed);
        let checkpoints = Self {
            committed,
            tail,
            restarts,
        };
        (checkpoints, thread)
    }

    pub fn after_commit(&self, conn: &Connection) {
        if self.tail.swap(false, Ordering::AcqRel) {
            // PASSIVE never waits; with the writer itself between batches, it
            // copies every remaining frame.
            let copied = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                // (busy, frames in the WAL, frames copied)
                Ok(row.get::<_, i64>(0)? == 0 && row.get::<_, i64>(1)? == row.get::<_, i64>(2)?)
            });
            match copied {
                Ok(true) => {
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(e) => log::warn!("WAL tail checkpoint failed (the next one retries): {e}"),
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
