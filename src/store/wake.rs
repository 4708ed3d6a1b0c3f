//! The outbox's wake-up: after a commit that may make a notification due now,
//! the committing component notifies the delivery engine, so the fast path
//! waits on no timer. A notification while nobody waits is kept as one permit,
//! so a wake-up between two claims is not lost.

use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.0)
    }

    pub fn wake(&self) {
        self.0.notify_one();
    }
}
