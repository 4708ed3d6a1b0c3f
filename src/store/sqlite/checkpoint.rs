//! WAL checkpoints: a thread of its own copies the bulk of the WAL back into the
//! main file, and the writer copies the tail (see [`Checkpoints`]).

use std::sync::atomic::{AtomicBool, Ordering};
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
}

impl Checkpoints {
    /// The writer's side, and the checkpoint thread's, to run on a thread of its own.
    pub fn new() -> (Self, impl FnOnce(Connection) + Send) {
        let (committed, commits) = std::sync::mpsc::sync_channel(1);
        let tail = Arc::new(AtomicBool::new(false));
        let checkpointed = Arc::clone(&tail);
        let thread = move |conn| run_checkpoints(conn, commits, &checkpointed);
        let checkpoints = Self { committed, tail };
        (checkpoints, thread)
    }

    pub fn after_commit(&self, conn: &Connection) {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The WAL file's checkpoint sequence number (bytes 12-15 of its header, big
    /// endian), which SQLite increments each time the WAL starts over.
    fn wal_sequence(path: &Path) -> u32 {
        let header = std::fs::read(path).expect("WAL file");
        u32::from_be_bytes(header[12..16].try_into().expect("a WAL header"))
    }

    fn commits(conn: &Connection, n: usize) {
        for _ in 0..n {
            conn.execute("INSERT INTO t VALUES (randomblob(3000))", [])
                .expect("insert");
        }
    }

    /// The mechanism, step by step and without threads: the checkpoint thread
    /// copies the bulk, commits arrive meanwhile, and only if the writer then
    /// copies that tail does the next commit start the WAL over. (Under a steady
    /// stream of commits the checkpoint thread alone almost never finds the
    /// writer idle, which is how the WAL grew to 275 MB in 5 s before.)
    #[test]
    fn the_writer_copies_the_tail_so_the_wal_starts_over() {
        for copy_tail in [false, true] {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("tail.db");
            let writer = Connection::open(&path).expect("open");
            writer
                .execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
                     CREATE TABLE t (x BLOB);",
                )
                .expect("schema");
            let checkpointer = Connection::open(&path).expect("open");
            commits(&writer, 50);
            checkpointer
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .expect("the bulk");
            commits(&writer, 5);
            let wal = dir.path().join("tail.db-wal");
            let before = wal_sequence(&wal);

            let (checkpoints, _thread) = Checkpoints::new();
            checkpoints.tail.store(copy_tail, Ordering::Release);
            checkpoints.after_commit(&writer);
            commits(&writer, 1);
            assert_eq!(
                wal_sequence(&wal) != before,
                copy_tail,
                "copy_tail = {copy_tail}: the WAL started over iff the writer copied the tail"
            );
        }
    }
}
