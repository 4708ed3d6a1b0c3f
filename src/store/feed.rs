//! The outbox's feed: hands notifications that became pending, after their
//! commit, to the one follower (the delivery engine).

use std::sync::{Mutex, PoisonError};

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::domain::Notification;

#[derive(Debug, Default)]
pub struct Feed(Mutex<Option<UnboundedSender<Notification>>>);

impl Feed {
    /// A new follower; the previous one, if any, gets nothing more.
    pub fn follow(&self) -> UnboundedReceiver<Notification> {
        let (sender, receiver) = mpsc::unbounded_channel();
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(sender);
        receiver
    }

    /// Hands committed notifications on. Without a follower (or once it has
    /// stopped) they stay in the outbox, pending, for the next start.
    pub fn send(&self, notifications: impl IntoIterator<Item = Notification>) {
        let follower = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(follower) = follower.as_ref() {
            for notification in notifications {
                if follower.send(notification).is_err() {
                    break;
                }
            }
        }
    }
}
