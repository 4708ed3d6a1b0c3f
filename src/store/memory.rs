//! The in-memory store: every webhook, notification and attempt behind one lock,
//! which makes every call atomic. For tests and throwaway sandboxes; nothing
//! survives a restart.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;
use tokio::sync::Notify;

use super::flows::{self, at_once, OutboxTx};
use super::index::{read_back, Index};
use super::local::LocalQueues;
use super::wake::Wake;
use super::{
    AlertChange, Backlog, Change, ClaimLimits, ClaimRequest, Claims, Cleared, ConfigChange,
    Configurations, FraudAlerts, Inboxes, LogFilter, LogPage, LogScan, Outbox, RecordRules,
    Recorded, Repository, StoreError, StoreFuture,
};
use crate::domain::configuration;
use crate::domain::inbox::{Captured, InboxLimits, Keep};
use crate::domain::{
    AlertState, Attempt, AttemptOutcome, ClaimToken, ConfigId, Configuration, EventCode,
    FraudAlert, FraudAlertId, Notification, NotificationId, NotificationStatus, PmCode, ProductId,
    QueueHealth, Resend, Webhook, WebhookDocument, WebhookId, WebhookKeys, WebhookStatus,
};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    wake: Wake,
}

#[derive(Default)]
struct State {
    index: Index,
    /// Notifications in the order they were stored.
    notifications: Vec<Stored>,
    by_id: HashMap<NotificationId, usize>,
    /// Counts notifications becoming final, to order them for the suspension rule.
    final_seq: u64,
    /// Each webhook's queue: due time, health and claims.
    local: LocalQueues,
    /// The capture inboxes: each one's requests, oldest first.
    inboxes: BTreeMap<String, VecDeque<Captured>>,
    /// Transaction Confirmation configurations, oldest first.
    configurations: Vec<Configuration>,
    /// Fraud alerts by id.
    fraud_alerts: HashMap<FraudAlertId, FraudAlert>,
}

struct Stored {
    notification: Notification,
    attempts: Vec<Attempt>,
    /// When it became final (by `State::final_seq`); `None` while pending.
    final_seq: Option<u64>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Internal("memory store lock poisoned".into()))
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> Result<T, StoreError>) -> StoreFuture<T> {
        StoreFuture::ready(self.lock().and_then(|mut state| f(&mut state)))
    }
}

impl State {
    /// One webhook, read back from its document in the index.
    fn webhook(&self, id: WebhookId, scope: Option<&PmCode>) -> Result<Webhook, StoreError> {
        self.index.webhook(id, scope)?.ok_or(StoreError::NotFound)
    }

    fn webhooks_notifications(&self, webhook: WebhookId) -> impl Iterator<Item = &Stored> {
        self.notifications
            .iter()
            .filter(move |s| s.notification.webhook_id == webhook)
    }

    /// Keeps the notifications `keep` answers true for, and the id index in step.
    fn retain_notifications(&mut self, keep: impl Fn(&Stored) -> bool) {
        self.notifications.retain(keep);
        self.by_id = self
            .notifications
            .iter()
            .enumerate()
            .map(|(at, s)| (s.notification.id, at))
            .collect();
    }

    fn stored(&self, id: NotificationId) -> Option<&Stored> {
        self.by_id.get(&id).map(|at| &self.notifications[*at])
    }

    fn stored_mut(&mut self, id: NotificationId) -> Option<&mut Stored> {
        let at = *self.by_id.get(&id)?;
        Some(&mut self.notifications[at])
    }

    /// The webhook's unclaimed pending notifications with a next attempt,
    /// soonest first (equal times in the order stored).
    fn unclaimed(&self, webhook: WebhookId) -> Vec<&Notification> {
        let mut found: Vec<&Notification> = self
            .webhooks_notifications(webhook)
            .map(|s| &s.notification)
            .filter(|n| n.status == NotificationStatus::Pending && n.next_attempt.is_some())
            .filter(|n| !self.local.is_claimed(n.id))
            .collect();
        found.sort_by_key(|n| n.next_attempt);
        found
    }
}

/// The outbox's primitives (`flows::OutboxTx`) on the locked state; each
/// answers at once. A flow checks before it changes anything, so a refused
/// call has changed nothing without a rollback.
struct MemoryTx<'a> {
    state: &'a mut State,
    wake: bool,
}

impl MemoryStore {
    /// Runs a flow under the lock; wakes the engine afterwards if it asked.
    fn flow<T>(
        &self,
        run: impl AsyncFnOnce(&mut MemoryTx<'_>) -> Result<T, StoreError>,
    ) -> StoreFuture<T> {
        let done = self.lock().and_then(|mut state| {
            let mut tx = MemoryTx {
                state: &mut state,
                wake: false,
            };
            let value = at_once(run(&mut tx))?;
            Ok((value, tx.wake))
        });
        StoreFuture::ready(done.map(|(value, wake)| {
            if wake {
                self.wake.wake();
            }
            value
        }))
    }
}

impl OutboxTx for MemoryTx<'_> {
    async fn notification(
        &mut self,
        id: NotificationId,
    ) -> Result<Option<(Notification, Option<ClaimToken>)>, StoreError> {
        let claim = self.state.local.claim(id).map(|(token, _)| token.clone());
        Ok(self
            .state
            .stored(id)
            .map(|s| (s.notification.clone(), claim)))
    }

    async fn webhook(
        &mut self,
        id: WebhookId,
        scope: Option<&PmCode>,
    ) -> Result<Option<Webhook>, StoreError> {
        self.state.index.webhook(id, scope)
    }

    async fn active(&mut self, id: WebhookId) -> Result<bool, StoreError> {
        Ok(self.state.index.status(id) == Some(WebhookStatus::Active))
    }

    async fn insert(&mut self, n: &Notification) -> Result<(), StoreError> {
        let state = &mut *self.state;
        if state.by_id.contains_key(&n.id) {
            return Err(StoreError::Duplicate);
        }
        state.by_id.insert(n.id, state.notifications.len());
        state.notifications.push(Stored {
            notification: n.clone(),
            attempts: Vec::new(),
            final_seq: None,
        });
        state.local.saved(n, None);
        Ok(())
    }

    async fn save(&mut self, n: &Notification, was: NotificationStatus) -> Result<(), StoreError> {
        let state = &mut *self.state;
        let final_seq = (n.status != NotificationStatus::Pending).then(|| {
            state.final_seq += 1;
            state.final_seq
        });
        let stored = state
            .stored_mut(n.id)
            .ok_or(StoreError::NotificationNotFound)?;
        stored.notification = n.clone();
        stored.final_seq = final_seq;
        state.local.saved(n, Some(was));
        Ok(())
    }

    async fn insert_attempt(
        &mut self,
        n: &Notification,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        let stored = self
            .state
            .stored_mut(n.id)
            .ok_or(StoreError::NotificationNotFound)?;
        stored.attempts.push(attempt.clone());
        Ok(())
    }

    async fn recent_final(
        &mut self,
        webhook: WebhookId,
        count: u32,
    ) -> Result<Vec<NotificationStatus>, StoreError> {
        let mut finals: Vec<(u64, NotificationStatus)> = self
            .state
            .webhooks_notifications(webhook)
            .filter_map(|s| s.final_seq.map(|seq| (seq, s.notification.status)))
            .collect();
        finals.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        Ok(finals
            .into_iter()
            .take(count as usize)
            .map(|(_, status)| status)
            .collect())
    }

    async fn health(&mut self, webhook: WebhookId) -> Result<QueueHealth, StoreError> {
        Ok(self.state.local.health(webhook))
    }

    async fn save_health(
        &mut self,
        webhook: WebhookId,
        health: &QueueHealth,
    ) -> Result<(), StoreError> {
        self.state.local.set_health(webhook, *health);
        Ok(())
    }

    async fn lapsed(
        &mut self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        Ok(self.state.local.lapsed(now, limit))
    }

    async fn ready(
        &mut self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<WebhookId>, StoreError> {
        Ok(self.state.local.ready(now, limit))
    }

    async fn in_flight(&mut self, webhook: WebhookId) -> Result<u32, StoreError> {
        Ok(self.state.local.queue(webhook).in_flight)
    }

    async fn due(
        &mut self,
        webhook: WebhookId,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        Ok(self
            .state
            .unclaimed(webhook)
            .into_iter()
            .take_while(|n| n.next_attempt.is_some_and(|at| at <= now))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn take(
        &mut self,
        n: &Notification,
        token: &ClaimToken,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.state.local.take(n, token, until);
        Ok(())
    }

    async fn park_due(
        &mut self,
        webhook: WebhookId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let state = &mut *self.state;
        for stored in &mut state.notifications {
            let n = &mut stored.notification;
            if n.webhook_id == webhook
                && n.status == NotificationStatus::Pending
                && n.next_attempt.is_some_and(|at| at <= now)
                && !state.local.is_claimed(n.id)
            {
                n.next_attempt = None;
            }
        }
        Ok(())
    }

    async fn unpark(&mut self, webhook: WebhookId, at: OffsetDateTime) -> Result<(), StoreError> {
        for stored in &mut self.state.notifications {
            let n = &mut stored.notification;
            if n.webhook_id == webhook
                && n.status == NotificationStatus::Pending
                && n.next_attempt.is_none()
            {
                n.next_attempt = Some(at);
            }
        }
        self.taken_from(webhook).await
    }

    async fn taken_from(&mut self, webhook: WebhookId) -> Result<(), StoreError> {
        let due = self
            .state
            .unclaimed(webhook)
            .first()
            .and_then(|n| n.next_attempt);
        self.state.local.set_due(webhook, due);
        Ok(())
    }

    async fn next_look(
        &mut self,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self.state.local.next_look(now))
    }

    fn wake(&mut self) {
        self.wake = true;
    }
}

impl Repository for MemoryStore {
    fn create(&self, webhook: Webhook) -> StoreFuture<Webhook> {
        self.with(|state| {
            if state.index.contains(webhook.id)
                || state
                    .index
                    .key_taken(&webhook.pm_code, webhook.product_id, webhook.id)
            {
                return Err(StoreError::Duplicate);
            }
            state.index.put(&webhook, WebhookDocument::render(&webhook));
            Ok(webhook)
        })
    }

    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<Arc<Webhook>> {
        self.with(|state| state.webhook(id, scope).map(Arc::new))
    }

    fn list(&self, pm: &PmCode) -> StoreFuture<Vec<Arc<Webhook>>> {
        self.with(|state| read_back(&state.index.documents(pm)))
    }

    fn active_for(
        &self,
        pm: &PmCode,
        product: Option<ProductId>,
    ) -> StoreFuture<Vec<Arc<Webhook>>> {
        self.with(|state| read_back(&state.index.active_for(pm, product)))
    }

    fn keys(&self, pm: &PmCode) -> StoreFuture<Vec<WebhookKeys>> {
        self.with(|state| Ok(state.index.keys(pm)))
    }

    fn document(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<WebhookDocument> {
        self.with(|state| {
            state
                .index
                .document(id, scope)
                .cloned()
                .ok_or(StoreError::NotFound)
        })
    }

    fn documents(&self, pm: &PmCode) -> StoreFuture<Vec<WebhookDocument>> {
        self.with(|state| Ok(state.index.documents(pm)))
    }

    fn modify(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        change: Change,
    ) -> StoreFuture<Webhook> {
        self.flow(async |tx| {
            let state = &mut *tx.state;
            let mut updated = state.webhook(id, scope)?;
            let was = updated.status;
            change(&mut updated)?;
            if state
                .index
                .key_taken(&updated.pm_code, updated.product_id, updated.id)
            {
                return Err(StoreError::Duplicate);
            }
            state.index.put(&updated, WebhookDocument::render(&updated));
            if was != WebhookStatus::Active && updated.status == WebhookStatus::Active {
                flows::activated(tx, id, updated.last_modified_time).await?;
            }
            Ok(updated)
        })
    }

    fn remove(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<u64> {
        let scope = scope.cloned();
        self.with(|state| {
            let webhook = state.webhook(id, scope.as_ref())?;
            let before = state.notifications.len();
            state.retain_notifications(|s| s.notification.webhook_id != id);
            let ids = HashSet::from([id]);
            state.local.forget_webhooks(&ids);
            state.index.remove(&webhook.pm_code, &ids);
            Ok((before - state.notifications.len()) as u64)
        })
    }

    fn ready(&self) -> StoreFuture<()> {
        self.with(|_| Ok(()))
    }

    fn reset(&self, scope: Option<&PmCode>) -> StoreFuture<Cleared> {
        let scope = scope.cloned();
        self.with(|state| {
            let Some(pm) = scope else {
                let notifications = state.notifications.len() as u64;
                let webhooks = state.index.clear() as u64;
                let inbox_requests =
                    state.inboxes.values().map(VecDeque::len).sum::<usize>() as u64;
                let configurations = state.configurations.len() as u64;
                let fraud_alerts = state.fraud_alerts.len() as u64;
                *state = State::default();
                return Ok(Cleared {
                    webhooks,
                    notifications,
                    inbox_requests,
                    configurations,
                    fraud_alerts,
                });
            };
            let ids: HashSet<WebhookId> = state.index.ids_of(&pm).into_iter().collect();
            let webhooks = state.index.remove_pm(&pm) as u64;
            let before = state.notifications.len();
            state.retain_notifications(|s| !ids.contains(&s.notification.webhook_id));
            state.local.forget_webhooks(&ids);
            let configurations = state.configurations.len();
            state.configurations.retain(|c| c.pm_code != pm);
            let fraud_alerts = state.fraud_alerts.len();
            state.fraud_alerts.retain(|_, a| a.pm_code != pm);
            Ok(Cleared {
                webhooks,
                notifications: (before - state.notifications.len()) as u64,
                inbox_requests: 0,
                configurations: (configurations - state.configurations.len()) as u64,
                fraud_alerts: (fraud_alerts - state.fraud_alerts.len()) as u64,
            })
        })
    }
}

impl Inboxes for MemoryStore {
    fn capture(&self, name: String, request: Captured, limits: InboxLimits) -> StoreFuture<bool> {
        self.with(|state| {
            let held = state.inboxes.get(&name).map(VecDeque::len);
            match limits.keep(held, state.inboxes.len()) {
                Keep::TooManyInboxes => Ok(false),
                Keep::Kept { drop_oldest } => {
                    let requests = state.inboxes.entry(name).or_default();
                    requests.drain(..drop_oldest.min(requests.len()));
                    requests.push_back(request);
                    Ok(true)
                }
            }
        })
    }

    fn inboxes(&self) -> StoreFuture<Vec<(String, usize)>> {
        self.with(|state| {
            Ok(state
                .inboxes
                .iter()
                .map(|(name, requests)| (name.clone(), requests.len()))
                .collect())
        })
    }

    fn captured(&self, name: String) -> StoreFuture<Vec<Captured>> {
        self.with(|state| {
            Ok(state
                .inboxes
                .get(&name)
                .map(|r| r.iter().cloned().collect())
                .unwrap_or_default())
        })
    }

    fn clear_inbox(&self, name: String) -> StoreFuture<usize> {
        self.with(|state| Ok(state.inboxes.remove(&name).map_or(0, |r| r.len())))
    }
}

impl State {
    fn configuration(
        &mut self,
        id: &ConfigId,
        scope: Option<&PmCode>,
    ) -> Result<&mut Configuration, StoreError> {
        self.configurations
            .iter_mut()
            .find(|c| c.id == *id && scope.is_none_or(|pm| c.pm_code == *pm))
            .ok_or(StoreError::ConfigurationNotFound)
    }
}

impl Configurations for MemoryStore {
    fn create_configuration(&self, created: Configuration) -> StoreFuture<Configuration> {
        self.with(|state| {
            let held = state
                .configurations
                .iter()
                .filter(|c| c.pm_code == created.pm_code)
                .count();
            configuration::room(held)?;
            state.configurations.push(created.clone());
            Ok(created)
        })
    }

    fn configurations(&self, pm: &PmCode) -> StoreFuture<Vec<Configuration>> {
        self.with(|state| {
            Ok(state
                .configurations
                .iter()
                .filter(|c| c.pm_code == *pm)
                .cloned()
                .collect())
        })
    }

    fn configuration(&self, id: ConfigId, scope: Option<&PmCode>) -> StoreFuture<Configuration> {
        self.with(|state| state.configuration(&id, scope).map(|c| c.clone()))
    }

    fn modify_configuration(
        &self,
        id: ConfigId,
        scope: Option<&PmCode>,
        change: ConfigChange,
    ) -> StoreFuture<Configuration> {
        self.with(|state| {
            let stored = state.configuration(&id, scope)?;
            let mut changed = stored.clone();
            change(&mut changed)?;
            *stored = changed.clone();
            Ok(changed)
        })
    }
}

impl FraudAlerts for MemoryStore {
    fn raise_fraud_alert(&self, alert: FraudAlert) -> StoreFuture<bool> {
        self.with(|state| {
            if state.fraud_alerts.contains_key(&alert.id) {
                return Ok(false);
            }
            state.fraud_alerts.insert(alert.id, alert);
            Ok(true)
        })
    }

    fn modify_fraud_alert(
        &self,
        id: FraudAlertId,
        scope: Option<&PmCode>,
        change: AlertChange,
    ) -> StoreFuture<FraudAlert> {
        self.with(|state| {
            let stored = state
                .fraud_alerts
                .get_mut(&id)
                .filter(|a| scope.is_none_or(|pm| a.pm_code == *pm))
                .ok_or(StoreError::FraudAlertNotFound)?;
            let mut changed = stored.clone();
            change(&mut changed)?;
            *stored = changed.clone();
            Ok(changed)
        })
    }

    fn expire_fraud_alerts(&self, now: OffsetDateTime, limit: u32) -> StoreFuture<Vec<FraudAlert>> {
        self.with(|state| {
            let mut due: Vec<&mut FraudAlert> = state
                .fraud_alerts
                .values_mut()
                .filter(|a| a.expired_by(now))
                .collect();
            due.sort_by_key(|a| a.expires);
            Ok(due
                .into_iter()
                .take(limit as usize)
                .map(|a| {
                    a.expire();
                    a.clone()
                })
                .collect())
        })
    }

    fn next_fraud_expiry(&self) -> StoreFuture<Option<OffsetDateTime>> {
        self.with(|state| {
            Ok(state
                .fraud_alerts
                .values()
                .filter(|a| a.state == AlertState::Open)
                .map(|a| a.expires)
                .min())
        })
    }

    fn purge_fraud_alerts(&self, before: OffsetDateTime) -> StoreFuture<u64> {
        self.with(|state| {
            let held = state.fraud_alerts.len();
            state
                .fraud_alerts
                .retain(|_, a| a.closed.is_none_or(|closed| closed >= before));
            Ok((held - state.fraud_alerts.len()) as u64)
        })
    }
}

impl Outbox for MemoryStore {
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
        self.flow(async |tx| flows::claim_due(tx, engine, now, lease, limits).await)
    }

    fn queue_health(&self, webhook: WebhookId) -> StoreFuture<QueueHealth> {
        self.flow(async |tx| flows::queue_health(tx, webhook).await)
    }

    fn park(&self, id: NotificationId, token: ClaimToken) -> StoreFuture<()> {
        self.flow(async |tx| flows::park(tx, id, &token).await)
    }

    fn backlog(&self) -> StoreFuture<Backlog> {
        self.with(|state| {
            let (pending, oldest_due, backing_off) = state.local.backlog();
            Ok(Backlog {
                pending,
                oldest_due,
                backing_off,
                dead_tuples: None,
            })
        })
    }

    fn enqueue(&self, notifications: Vec<Notification>) -> StoreFuture<()> {
        self.flow(async |tx| {
            // All or none: memory has no rollback, so a taken id is found first.
            if notifications
                .iter()
                .any(|n| tx.state.by_id.contains_key(&n.id))
            {
                return Err(StoreError::Duplicate);
            }
            flows::enqueue(tx, &notifications).await
        })
    }

    fn record_attempt(
        &self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
    ) -> StoreFuture<Recorded> {
        self.flow(async |tx| flows::record(tx, id, token, &attempt, outcome, rules).await)
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
        self.flow(async |tx| {
            flows::record_and_claim(tx, id, token, &attempt, outcome, rules, &next).await
        })
    }

    fn log(&self, filter: LogFilter, scan: LogScan) -> StoreFuture<LogPage> {
        self.with(|state| {
            let all = &state.notifications;
            if let Some(id) = filter.id {
                let entries = state
                    .stored(id)
                    .filter(|s| filter.matches(&s.notification))
                    .map(|s| (s.notification.clone(), s.attempts.last().cloned()))
                    .into_iter()
                    .collect();
                return Ok(LogPage {
                    entries,
                    next: None,
                });
            }
            let end = scan.before.map_or(all.len(), |b| {
                usize::try_from(b).unwrap_or(usize::MAX).min(all.len())
            });
            let window = usize::try_from(scan.window).unwrap_or(usize::MAX);
            let start = end.saturating_sub(window);
            let mut found = all[start..end]
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, s)| filter.matches(&s.notification));
            let entries: Vec<(usize, &Stored)> = found.by_ref().take(scan.limit as usize).collect();
            let next = if found.next().is_some() {
                entries.last().map(|(at, _)| (start + at) as u64)
            } else {
                (start > 0).then_some(start as u64)
            };
            Ok(LogPage {
                next,
                entries: entries
                    .into_iter()
                    .map(|(_, s)| (s.notification.clone(), s.attempts.last().cloned()))
                    .collect(),
            })
        })
    }

    fn pending(&self) -> StoreFuture<Vec<Notification>> {
        self.with(|state| {
            Ok(state
                .notifications
                .iter()
                .filter(|s| s.notification.status == NotificationStatus::Pending)
                .map(|s| s.notification.clone())
                .collect())
        })
    }

    fn by_event(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        code: EventCode,
        since: OffsetDateTime,
        count: u32,
    ) -> StoreFuture<Vec<Notification>> {
        self.with(|state| {
            state.webhook(webhook, scope)?;
            let mut found: Vec<&Notification> = state
                .webhooks_notifications(webhook)
                .map(|s| &s.notification)
                .filter(|n| n.event_code == code && n.created_time >= since)
                .collect();
            // Stable: equal times keep the order they were stored in.
            found.sort_by_key(|n| n.created_time);
            Ok(found.into_iter().take(count as usize).cloned().collect())
        })
    }

    fn details(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
    ) -> StoreFuture<Vec<(Notification, Vec<Attempt>)>> {
        self.with(|state| {
            state.webhook(webhook, scope)?;
            Ok(ids
                .iter()
                .filter_map(|id| state.stored(*id))
                .filter(|s| s.notification.webhook_id == webhook)
                .map(|s| (s.notification.clone(), s.attempts.clone()))
                .collect())
        })
    }

    fn undelivered(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
    ) -> StoreFuture<Vec<(EventCode, NotificationId)>> {
        self.with(|state| {
            state.webhook(webhook, scope)?;
            let mut found: Vec<&Notification> = state
                .webhooks_notifications(webhook)
                .map(|s| &s.notification)
                .filter(|n| n.status == NotificationStatus::Undelivered)
                .collect();
            found.sort_by_key(|n| (n.event_code, n.created_time));
            Ok(found.into_iter().map(|n| (n.event_code, n.id)).collect())
        })
    }

    fn purge(&self, before: OffsetDateTime, limit: u32) -> StoreFuture<u64> {
        self.with(|state| {
            let mut old: Vec<(OffsetDateTime, NotificationId)> = state
                .notifications
                .iter()
                .map(|s| &s.notification)
                .filter(|n| n.status != NotificationStatus::Pending)
                .filter_map(|n| n.last_sent_time.filter(|t| *t < before).map(|t| (t, n.id)))
                .collect();
            old.sort_unstable();
            old.truncate(limit as usize);
            let doomed: std::collections::HashSet<NotificationId> =
                old.into_iter().map(|(_, id)| id).collect();
            state.retain_notifications(|s| !doomed.contains(&s.notification.id));
            Ok(doomed.len() as u64)
        })
    }

    fn deliver_now(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        id: NotificationId,
        now: OffsetDateTime,
    ) -> StoreFuture<Notification> {
        self.flow(async |tx| flows::deliver_now(tx, webhook, scope, id, now).await)
    }

    fn resend(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
        now: OffsetDateTime,
    ) -> StoreFuture<Vec<(NotificationId, Resend)>> {
        self.flow(async |tx| flows::resend(tx, webhook, scope, ids, now).await)
    }
}
