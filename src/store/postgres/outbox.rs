//! The outbox's primitives (`flows::OutboxTx`) on PostgreSQL, inside one
//! transaction: claims, due times and health are rows, shared by every node;
//! a claim takes its queue and its notifications `FOR UPDATE SKIP LOCKED`, so
//! nodes claiming at once take different webhooks' notifications. A trigger
//! or a record locks no queue row: it leaves a signal that the next claim
//! folds into the queue (schema.sql, version 2).

use deadpool_postgres::Transaction;
use time::OffsetDateTime;

use super::{notifications, queues, webhooks};
use crate::domain::{
    Attempt, ClaimToken, Notification, NotificationId, NotificationStatus, PmCode, QueueHealth,
    Webhook, WebhookId,
};
use crate::store::flows::OutboxTx;
use crate::store::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

pub struct PgTx<'a> {
    tx: &'a Transaction<'a>,
    /// A flow asked to wake the engines: `pg_notify` before the commit.
    pub wake: bool,
}

impl<'a> PgTx<'a> {
    pub fn new(tx: &'a Transaction<'a>) -> Self {
        Self { tx, wake: false }
    }
}

impl OutboxTx for PgTx<'_> {
    async fn notification(
        &mut self,
        id: NotificationId,
    ) -> Result<Option<(Notification, Option<ClaimToken>)>> {
        notifications::find_locked(self.tx, id).await
    }

    async fn webhook(&mut self, id: WebhookId, scope: Option<&PmCode>) -> Result<Option<Webhook>> {
        webhooks::find(self.tx, id, scope, true).await
    }

    async fn active(&mut self, id: WebhookId) -> Result<bool> {
        webhooks::is_active(self.tx, &id.to_string()).await
    }

    async fn insert(&mut self, n: &Notification) -> Result<()> {
        notifications::insert(self.tx, n).await
    }

    async fn save(&mut self, n: &Notification, _was: NotificationStatus) -> Result<()> {
        notifications::save_progress(self.tx, n).await
    }

    async fn insert_attempt(&mut self, n: &Notification, attempt: &Attempt) -> Result<()> {
        notifications::insert_attempt(self.tx, n.id, n.attempts, attempt).await
    }

    async fn recent_final(
        &mut self,
        webhook: WebhookId,
        count: u32,
    ) -> Result<Vec<NotificationStatus>> {
        notifications::recent_final(self.tx, webhook, count).await
    }

    async fn health(&mut self, webhook: WebhookId) -> Result<QueueHealth> {
        queues::health(self.tx, webhook, false).await
    }

    async fn health_to_change(&mut self, webhook: WebhookId) -> Result<QueueHealth> {
        queues::health(self.tx, webhook, true).await
    }

    async fn save_health(&mut self, webhook: WebhookId, health: &QueueHealth) -> Result<()> {
        queues::save_health(self.tx, webhook, health).await
    }

    async fn lapsed(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<Notification>> {
        notifications::lapsed(self.tx, now, limit).await
    }

    async fn ready(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<WebhookId>> {
        queues::fold_signals(self.tx).await?;
        queues::ready(self.tx, now, limit).await
    }

    async fn in_flight(&mut self, webhook: WebhookId) -> Result<u32> {
        queues::in_flight(self.tx, webhook).await
    }

    async fn due(
        &mut self,
        webhook: WebhookId,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        notifications::due(self.tx, webhook, now, limit).await
    }

    async fn take(
        &mut self,
        n: &Notification,
        token: &ClaimToken,
        until: OffsetDateTime,
    ) -> Result<()> {
        notifications::take(self.tx, n, token, until).await
    }

    async fn park_due(&mut self, webhook: WebhookId, now: OffsetDateTime) -> Result<()> {
        notifications::park_due(self.tx, webhook, now).await
    }

    async fn unpark(&mut self, webhook: WebhookId, at: OffsetDateTime) -> Result<()> {
        notifications::unpark(self.tx, webhook, at).await
    }

    async fn taken_from(&mut self, webhook: WebhookId) -> Result<()> {
        notifications::refresh_due(self.tx, &webhook.to_string()).await
    }

    async fn next_look(&mut self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>> {
        notifications::next_look(self.tx, now).await
    }

    fn wake(&mut self) {
        self.wake = true;
    }
}
