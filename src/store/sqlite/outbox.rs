//! The outbox's primitives (`flows::OutboxTx`) on SQLite, inside the writer's
//! transaction: notifications and attempts are rows; a queue's due time,
//! pending count and claims are in memory (`store::local`), since this process
//! owns the file; a queue's health is both, written to its row only when it
//! changes. So an event costs three row writes (the notification; then its
//! attempt and its new standing) and one read (the claim's), where claims in
//! rows cost about twenty statements.

use std::collections::HashMap;

use rusqlite::Connection;
use time::OffsetDateTime;

use super::notifications;
use super::queues;
use super::rows::classify;
use super::writer::Tx;
use crate::domain::{
    Attempt, ClaimToken, Notification, NotificationId, NotificationStatus, PmCode, QueueHealth,
    Webhook, WebhookId, WebhookStatus,
};
use crate::store::flows::OutboxTx;
use crate::store::local::LocalQueues;
use crate::store::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

pub struct SqliteTx<'a> {
    tx: &'a Tx<'a>,
    queues: &'a mut LocalQueues,
    /// Each queue's next due time, learned by [`OutboxTx::due`]'s read, for
    /// [`OutboxTx::taken_from`] without another read.
    next_due: HashMap<WebhookId, Option<OffsetDateTime>>,
    pub wake: bool,
}

impl<'a> SqliteTx<'a> {
    pub fn new(tx: &'a Tx<'a>, queues: &'a mut LocalQueues) -> Self {
        Self {
            tx,
            queues,
            next_due: HashMap::new(),
            wake: false,
        }
    }

    fn conn(&self) -> &Connection {
        self.tx.conn
    }

    /// The webhook's unclaimed pending notifications with a next attempt,
    /// soonest first, at most `limit`: read past the claims it holds.
    fn unclaimed(&self, webhook: WebhookId, limit: u32) -> Result<Vec<Notification>> {
        let held = self.queues.queue(webhook).in_flight;
        let rows = notifications::soonest(self.conn(), webhook, limit.saturating_add(held))
            .map_err(classify)?;
        Ok(rows
            .into_iter()
            .filter(|n| !self.queues.is_claimed(n.id))
            .take(limit as usize)
            .collect())
    }
}

impl OutboxTx for SqliteTx<'_> {
    async fn notification(
        &mut self,
        id: NotificationId,
    ) -> Result<Option<(Notification, Option<ClaimToken>)>> {
        // A claimed one is read from its claim: nothing changes it meanwhile
        // (deliver now and resend leave a claimed notification alone).
        if let Some((token, n)) = self.queues.claim(id) {
            return Ok(Some((n.clone(), Some(token.clone()))));
        }
        let found = notifications::find(self.conn(), id).map_err(classify)?;
        Ok(found.map(|n| (n, None)))
    }

    async fn webhook(&mut self, id: WebhookId, scope: Option<&PmCode>) -> Result<Option<Webhook>> {
        self.tx.webhook(id, scope)
    }

    async fn active(&mut self, id: WebhookId) -> Result<bool> {
        Ok(self.tx.status(id)? == Some(WebhookStatus::Active))
    }

    async fn insert(&mut self, n: &Notification) -> Result<()> {
        notifications::insert(self.conn(), n).map_err(classify)?;
        self.queues.saved(n, None);
        Ok(())
    }

    async fn save(&mut self, n: &Notification, was: NotificationStatus) -> Result<()> {
        notifications::save_progress(self.conn(), n).map_err(classify)?;
        self.queues.saved(n, Some(was));
        Ok(())
    }

    async fn insert_attempt(&mut self, n: &Notification, attempt: &Attempt) -> Result<()> {
        notifications::insert_attempt(self.conn(), n.id, n.attempts, attempt).map_err(classify)
    }

    async fn recent_final(
        &mut self,
        webhook: WebhookId,
        count: u32,
    ) -> Result<Vec<NotificationStatus>> {
        notifications::recent_final(self.conn(), webhook, count).map_err(classify)
    }

    async fn health(&mut self, webhook: WebhookId) -> Result<QueueHealth> {
        Ok(self.queues.health(webhook))
    }

    async fn save_health(&mut self, webhook: WebhookId, health: &QueueHealth) -> Result<()> {
        queues::save_health(self.conn(), webhook, health).map_err(classify)?;
        self.queues.set_health(webhook, *health);
        Ok(())
    }

    async fn lapsed(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<Notification>> {
        Ok(self.queues.lapsed(now, limit))
    }

    async fn ready(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<WebhookId>> {
        Ok(self.queues.ready(now, limit))
    }

    async fn in_flight(&mut self, webhook: WebhookId) -> Result<u32> {
        Ok(self.queues.queue(webhook).in_flight)
    }

    async fn due(
        &mut self,
        webhook: WebhookId,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        // One read answers both: the due ones are a prefix of the unclaimed
        // in due order, and the one after them is the queue's next due time.
        let mut unclaimed = self.unclaimed(webhook, limit.saturating_add(1))?;
        let due = unclaimed
            .iter()
            .take(limit as usize)
            .take_while(|n| n.next_attempt.is_some_and(|at| at <= now))
            .count();
        let after = unclaimed.get(due).and_then(|n| n.next_attempt);
        unclaimed.truncate(due);
        self.next_due.insert(webhook, after);
        Ok(unclaimed)
    }

    async fn take(
        &mut self,
        n: &Notification,
        token: &ClaimToken,
        until: OffsetDateTime,
    ) -> Result<()> {
        self.queues.take(n, token, until);
        Ok(())
    }

    async fn park_due(&mut self, webhook: WebhookId, now: OffsetDateTime) -> Result<()> {
        self.next_due.remove(&webhook);
        notifications::park_due(self.conn(), webhook, now).map_err(classify)
    }

    async fn unpark(&mut self, webhook: WebhookId, at: OffsetDateTime) -> Result<()> {
        self.next_due.remove(&webhook);
        notifications::unpark(self.conn(), webhook, at).map_err(classify)?;
        self.taken_from(webhook).await
    }

    async fn taken_from(&mut self, webhook: WebhookId) -> Result<()> {
        let due = match self.next_due.remove(&webhook) {
            Some(due) => due,
            None => self
                .unclaimed(webhook, 1)?
                .first()
                .and_then(|n| n.next_attempt),
        };
        self.queues.set_due(webhook, due);
        Ok(())
    }

    async fn next_look(&mut self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>> {
        Ok(self.queues.next_look(now))
    }

    fn wake(&mut self) {
        self.wake = true;
    }
}
