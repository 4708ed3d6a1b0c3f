//! The in-memory store: every webhook, notification and attempt behind one lock,
//! which makes every call atomic. For tests and throwaway sandboxes; nothing
//! survives a restart.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;
use tokio::sync::Notify;

use super::index::{read_back, Index};
use super::wake::Wake;
use super::{
    Backlog, Change, ClaimLimits, ClaimRequest, Claimed, Claims, Cleared, Inboxes, LogFilter,
    LogPage, LogScan, Outbox, RecordRules, Recorded, Repository, StoreError, StoreFuture,
};
use crate::domain::inbox::{Captured, InboxLimits, Keep};
use crate::domain::{
    Attempt, AttemptOutcome, ClaimToken, EventCode, Notification, NotificationId,
    NotificationStatus, PmCode, ProductId, QueueHealth, Resend, Webhook, WebhookDocument,
    WebhookId, WebhookStatus,
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
    /// Each webhook's queue health; none is a healthy queue.
    queues: HashMap<WebhookId, QueueHealth>,
    /// The capture inboxes: each one's requests, oldest first.
    inboxes: BTreeMap<String, VecDeque<Captured>>,
}

struct Stored {
    notification: Notification,
    attempts: Vec<Attempt>,
    /// When it became final (by `State::final_seq`); `None` while pending.
    final_seq: Option<u64>,
    /// The claim holding it, and when that claim's lease ends.
    claim: Option<(ClaimToken, OffsetDateTime)>,
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

    /// Like `with`, for a write that may make notifications due now: `f` also
    /// answers whether to wake the delivery engine, done once the lock is free.
    fn with_wake<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<(T, bool), StoreError>,
    ) -> StoreFuture<T> {
        let done = self.lock().and_then(|mut state| f(&mut state));
        StoreFuture::ready(done.map(|(value, wake)| {
            if wake {
                self.wake.wake();
            }
            value
        }))
    }
}

impl State {
    /// One webhook, read back from its document in the index.
    fn webhook(&self, id: WebhookId, scope: Option<&PmCode>) -> Result<Webhook, StoreError> {
        self.index.webhook(id, scope)?.ok_or(StoreError::NotFound)
    }

    /// `Outbox::record_attempt`, under the caller's lock.
    fn record(
        &mut self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
    ) -> Result<Recorded, StoreError> {
        let RecordRules { recent, backoff } = rules;
        let at = *self.by_id.get(&id).ok_or(StoreError::NotFound)?;
        let stored = &mut self.notifications[at];
        if stored.notification.status != NotificationStatus::Pending {
            return Err(StoreError::NotFound);
        }
        if stored.claim.as_ref().map(|(t, _)| t) != Some(token) {
            return Err(StoreError::ClaimLost);
        }
        stored.claim = None;
        let became_final = stored.notification.record(&attempt, outcome);
        let time = attempt.time;
        stored.attempts.push(attempt);
        let webhook_id = stored.notification.webhook_id;
        let queue = self.queues.entry(webhook_id).or_default();
        match outcome {
            AttemptOutcome::Delivered => queue.delivered(),
            _ => queue.failed(&backoff, time),
        }
        let queue = *queue;
        if !became_final {
            return Ok(Recorded {
                webhook_id,
                recent_final: Vec::new(),
                queue,
            });
        }
        self.final_seq += 1;
        stored.final_seq = Some(self.final_seq);
        let mut finals: Vec<(u64, NotificationStatus)> = self
            .webhooks_notifications(webhook_id)
            .filter_map(|s| s.final_seq.map(|seq| (seq, s.notification.status)))
            .collect();
        finals.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        Ok(Recorded {
            webhook_id,
            recent_final: finals
                .into_iter()
                .take(recent as usize)
                .map(|(_, status)| status)
                .collect(),
            queue,
        })
    }

    /// `Outbox::claim_due`; without the lapsed claims when `take_lapsed` is false.
    fn claim(
        &mut self,
        engine: &str,
        now: OffsetDateTime,
        lease: time::Duration,
        limits: ClaimLimits,
        take_lapsed: bool,
    ) -> Claims {
        let State {
            index,
            notifications,
            queues,
            ..
        } = self;
        let total = limits.total as usize;
        let mut claimed = Vec::new();
        let claim = |stored: &mut Stored, taken_over: bool| {
            let token = ClaimToken::new(engine);
            stored.claim = Some((token.clone(), now + lease));
            Claimed {
                notification: stored.notification.clone(),
                token,
                taken_over,
            }
        };
        // Lapsed claims first, soonest lapsed first.
        let mut lapsed: Vec<&mut Stored> = notifications
            .iter_mut()
            .filter(|s| s.claim.as_ref().is_some_and(|(_, until)| *until <= now))
            .filter(|_| take_lapsed)
            .collect();
        lapsed.sort_by_key(|s| {
            let until = s.claim.as_ref().map(|(_, until)| *until);
            (until, s.notification.next_attempt)
        });
        for stored in lapsed.into_iter().take(total) {
            claimed.push(claim(stored, true));
        }
        // Then the queues: each webhook's due time, claims and readiness.
        let mut due: HashMap<WebhookId, OffsetDateTime> = HashMap::new();
        let mut in_flight: HashMap<WebhookId, u32> = HashMap::new();
        for s in notifications.iter() {
            let n = &s.notification;
            if s.claim.is_some() {
                *in_flight.entry(n.webhook_id).or_default() += 1;
            } else if let (NotificationStatus::Pending, Some(at)) = (n.status, n.next_attempt) {
                let soonest = due.entry(n.webhook_id).or_insert(at);
                *soonest = (*soonest).min(at);
            }
        }
        let mut ready: Vec<(OffsetDateTime, WebhookId)> = due
            .iter()
            .map(|(webhook, at)| {
                let health = queues.get(webhook).copied().unwrap_or_default();
                (health.ready(*at), *webhook)
            })
            .collect();
        ready.sort_unstable();
        let next_ready = ready.iter().map(|(at, _)| *at).find(|at| *at > now);
        for (at, webhook) in ready {
            if at > now || claimed.len() >= total {
                break;
            }
            let active = index.status(webhook) == Some(WebhookStatus::Active);
            let mut theirs: Vec<&mut Stored> = notifications
                .iter_mut()
                .filter(|s| {
                    let n = &s.notification;
                    n.webhook_id == webhook
                        && n.status == NotificationStatus::Pending
                        && s.claim.is_none()
                        && n.next_attempt.is_some_and(|at| at <= now)
                })
                .collect();
            if !active {
                for stored in theirs {
                    stored.notification.next_attempt = None;
                }
                continue;
            }
            let health = queues.entry(webhook).or_default();
            let out = in_flight.get(&webhook).copied().unwrap_or(0);
            let room = health
                .room(limits.per_webhook, out)
                .min(u32::try_from(total - claimed.len()).unwrap_or(u32::MAX));
            // Stable: equal due times keep the order they were stored in.
            theirs.sort_by_key(|s| s.notification.next_attempt);
            for stored in theirs.into_iter().take(room as usize) {
                health.claimed(now + lease);
                claimed.push(claim(stored, false));
            }
        }
        let lease_ends = notifications
            .iter()
            .filter_map(|s| s.claim.as_ref().map(|(_, until)| *until))
            .filter(|until| *until > now)
            .min();
        let next = next_ready.into_iter().chain(lease_ends).min();
        Claims { claimed, next }
    }

    fn webhooks_notifications(&self, webhook: WebhookId) -> impl Iterator<Item = &Stored> {
        self.notifications
            .iter()
            .filter(move |s| s.notification.webhook_id == webhook)
    }

    fn find_mut(&mut self, webhook: WebhookId, id: NotificationId) -> Option<&mut Stored> {
        let at = *self.by_id.get(&id)?;
        Some(&mut self.notifications[at]).filter(|s| s.notification.webhook_id == webhook)
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
        self.with_wake(|state| {
            let mut updated = state.webhook(id, scope)?;
            let was = updated.status;
            change(&mut updated)?;
            if state
                .index
                .key_taken(&updated.pm_code, updated.product_id, updated.id)
            {
                return Err(StoreError::Duplicate);
            }
            // Set active again: its parked notifications are due now.
            let unparked = was != WebhookStatus::Active && updated.status == WebhookStatus::Active;
            if unparked {
                state.queues.remove(&id);
                for stored in &mut state.notifications {
                    let n = &mut stored.notification;
                    if n.webhook_id == id
                        && n.status == NotificationStatus::Pending
                        && n.next_attempt.is_none()
                    {
                        n.next_attempt = Some(updated.last_modified_time);
                    }
                }
            }
            state.index.put(&updated, WebhookDocument::render(&updated));
            Ok((updated, unparked))
        })
    }

    fn ready(&self) -> StoreFuture<()> {
        self.with(|_| Ok(()))
    }

    fn reset(&self) -> StoreFuture<Cleared> {
        self.with(|state| {
            let notifications = state.notifications.len() as u64;
            let webhooks = state.index.clear() as u64;
            let inbox_requests = state.inboxes.values().map(VecDeque::len).sum::<usize>() as u64;
            *state = State::default();
            Ok(Cleared {
                webhooks,
                notifications,
                inbox_requests,
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
        self.with(|state| Ok(state.claim(engine, now, lease, limits, true)))
    }

    fn park(&self, id: NotificationId, token: ClaimToken) -> StoreFuture<()> {
        self.with(|state| {
            let at = *state.by_id.get(&id).ok_or(StoreError::NotFound)?;
            let stored = &mut state.notifications[at];
            if stored.claim.as_ref().map(|(t, _)| t) != Some(&token) {
                return Err(StoreError::ClaimLost);
            }
            stored.claim = None;
            stored.notification.next_attempt = None;
            Ok(())
        })
    }

    fn backlog(&self) -> StoreFuture<Backlog> {
        self.with(|state| {
            let pending = state
                .notifications
                .iter()
                .map(|s| &s.notification)
                .filter(|n| n.status == NotificationStatus::Pending);
            Ok(Backlog {
                pending: pending.clone().count() as u64,
                oldest_due: pending.filter_map(|n| n.next_attempt).min(),
                backing_off: state
                    .queues
                    .values()
                    .filter(|q| q.backoff.is_some())
                    .count() as u64,
            })
        })
    }

    fn enqueue(&self, notifications: Vec<Notification>) -> StoreFuture<()> {
        self.with_wake(|state| {
            if notifications
                .iter()
                .any(|n| state.by_id.contains_key(&n.id))
            {
                return Err(StoreError::Duplicate);
            }
            for n in &notifications {
                state.by_id.insert(n.id, state.notifications.len());
                state.notifications.push(Stored {
                    notification: n.clone(),
                    attempts: Vec::new(),
                    final_seq: None,
                    claim: None,
                });
            }
            Ok(((), true))
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
        self.with(|state| state.record(id, token, attempt, outcome, rules))
    }

    /// Both under one lock: as atomic as the SQLite backend's one transaction.
    fn record_and_claim(
        &self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
        next: ClaimRequest,
    ) -> StoreFuture<(Recorded, Claims)> {
        self.with(|state| {
            let recorded = state.record(id, token, attempt, outcome, rules)?;
            let claimed = state
                .claim(&next.engine, next.now, next.lease, next.limits, false)
                .claimed;
            Ok((
                recorded,
                Claims {
                    claimed,
                    next: None,
                },
            ))
        })
    }

    fn recent(&self, filter: LogFilter, scan: LogScan) -> StoreFuture<LogPage> {
        self.with(|state| {
            let all = &state.notifications;
            if let Some(id) = filter.id {
                let entries = state
                    .by_id
                    .get(&id)
                    .map(|at| &all[*at])
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
        code: EventCode,
        since: OffsetDateTime,
        count: u32,
    ) -> StoreFuture<Vec<Notification>> {
        self.with(|state| {
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
        ids: Vec<NotificationId>,
    ) -> StoreFuture<Vec<(Notification, Vec<Attempt>)>> {
        self.with(|state| {
            Ok(ids
                .iter()
                .filter_map(|id| state.by_id.get(id))
                .map(|at| &state.notifications[*at])
                .filter(|s| s.notification.webhook_id == webhook)
                .map(|s| (s.notification.clone(), s.attempts.clone()))
                .collect())
        })
    }

    fn undelivered(&self, webhook: WebhookId) -> StoreFuture<Vec<(EventCode, NotificationId)>> {
        self.with(|state| {
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
            state
                .notifications
                .retain(|s| !doomed.contains(&s.notification.id));
            state.by_id = state
                .notifications
                .iter()
                .enumerate()
                .map(|(at, s)| (s.notification.id, at))
                .collect();
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
        self.with_wake(|state| {
            state.webhook(webhook, scope)?.accepts_resend()?;
            let stored = state.find_mut(webhook, id).ok_or(StoreError::NotFound)?;
            if stored.claim.is_some() {
                return Ok((stored.notification.clone(), false));
            }
            let mut n = stored.notification.clone();
            n.deliver_now(now)?;
            stored.notification = n.clone();
            state.queues.entry(webhook).or_default().probe_now(now);
            Ok((n, true))
        })
    }

    fn resend(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
        now: OffsetDateTime,
    ) -> StoreFuture<Vec<(NotificationId, Resend)>> {
        self.with_wake(|state| {
            state.webhook(webhook, scope)?.accepts_resend()?;
            let each = ids
                .into_iter()
                .map(|id| {
                    let resend = match state.find_mut(webhook, id) {
                        None => Resend::Invalid,
                        Some(stored) => {
                            let resend = stored.notification.resend(now);
                            if matches!(resend, Resend::Initiated(_)) {
                                stored.final_seq = None;
                            }
                            resend
                        }
                    };
                    (id, resend)
                })
                .collect();
            Ok((each, true))
        })
    }
}
