//! The queue state a backend keeps in its process when one process owns the
//! data (SQLite, memory): each webhook's due time, health and claims, and
//! every claim with its lease. A claim here is not a durable write: it dies
//! with the process exactly as a durable lease would lapse, and after a restart
//! every pending notification is simply due again (delivery is at least once).
//!
//! Bounded by the webhooks that have pending notifications and by the claims
//! out (the engines' attempt slots), never by the backlog: a claim keeps its
//! notification so that recording it reads nothing back.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Bound;

use time::OffsetDateTime;

use crate::domain::{
    ClaimToken, Notification, NotificationId, NotificationStatus, QueueHealth, WebhookId,
};

#[derive(Debug, Default)]
pub struct LocalQueues {
    queues: HashMap<WebhookId, Queue>,
    /// Queues with something due, by when they may next yield a claim
    /// (`QueueHealth::ready`).
    ready: BTreeSet<(OffsetDateTime, WebhookId)>,
    claims: HashMap<NotificationId, Held>,
    leases: BTreeSet<(OffsetDateTime, NotificationId)>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    /// The soonest next attempt of its unclaimed pending notifications. It
    /// may be earlier than the truth (after a rolled-back write); a claim that
    /// then finds nothing due sets it right.
    pub due: Option<OffsetDateTime>,
    pub health: QueueHealth,
    /// Its pending notifications, parked and claimed ones included.
    pub pending: u64,
    pub in_flight: u32,
}

impl Queue {
    fn ready_at(&self) -> Option<OffsetDateTime> {
        self.due.map(|due| self.health.ready(due))
    }

    fn idle(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone)]
struct Held {
    token: ClaimToken,
    until: OffsetDateTime,
    notification: Notification,
}

impl LocalQueues {
    /// Changes one webhook's queue and keeps the ready order in step.
    fn update<T>(&mut self, webhook: WebhookId, f: impl FnOnce(&mut Queue) -> T) -> T {
        let queue = self.queues.entry(webhook).or_default();
        if let Some(at) = queue.ready_at() {
            self.ready.remove(&(at, webhook));
        }
        let answer = f(queue);
        if let Some(at) = queue.ready_at() {
            self.ready.insert((at, webhook));
        }
        if queue.idle() {
            self.queues.remove(&webhook);
        }
        answer
    }

    pub fn queue(&self, webhook: WebhookId) -> Queue {
        self.queues.get(&webhook).copied().unwrap_or_default()
    }

    /// Sets a webhook's queue as read from storage (at start, or after a
    /// failed write), keeping the claims it holds.
    pub fn restore(
        &mut self,
        webhook: WebhookId,
        due: Option<OffsetDateTime>,
        pending: u64,
        health: QueueHealth,
    ) {
        self.update(webhook, |q| {
            q.due = due;
            q.pending = pending;
            q.health = health;
        });
    }

    /// Forgets every queue but keeps the claims (before a `restore` of all).
    pub fn forget_queues(&mut self) {
        let in_flight: HashMap<WebhookId, u32> = self
            .queues
            .iter()
            .filter(|(_, q)| q.in_flight > 0)
            .map(|(w, q)| (*w, q.in_flight))
            .collect();
        self.queues.clear();
        self.ready.clear();
        for (webhook, in_flight) in in_flight {
            self.update(webhook, |q| q.in_flight = in_flight);
        }
    }

    /// Forgets everything, claims included (a reset deleted every notification).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Forgets these webhooks' queues and claims (a reset deleted them).
    pub fn forget_webhooks(&mut self, webhooks: &HashSet<WebhookId>) {
        for webhook in webhooks {
            if let Some(at) = self.queues.remove(webhook).and_then(|q| q.ready_at()) {
                self.ready.remove(&(at, *webhook));
            }
        }
        let gone: Vec<(NotificationId, OffsetDateTime)> = self
            .claims
            .iter()
            .filter(|(_, held)| webhooks.contains(&held.notification.webhook_id))
            .map(|(id, held)| (*id, held.until))
            .collect();
        for (id, until) in gone {
            self.claims.remove(&id);
            self.leases.remove(&(until, id));
        }
    }

    /// The claim holding a notification, and the notification as claimed.
    pub fn claim(&self, id: NotificationId) -> Option<(&ClaimToken, &Notification)> {
        self.claims.get(&id).map(|h| (&h.token, &h.notification))
    }

    pub fn is_claimed(&self, id: NotificationId) -> bool {
        self.claims.contains_key(&id)
    }

    /// Claims `n` under `token` until `until`; a lapsed claim is taken over.
    pub fn take(&mut self, n: &Notification, token: &ClaimToken, until: OffsetDateTime) {
        let held = Held {
            token: token.clone(),
            until,
            notification: n.clone(),
        };
        match self.claims.insert(n.id, held) {
            Some(old) => {
                self.leases.remove(&(old.until, n.id));
            }
            None => self.update(n.webhook_id, |q| q.in_flight += 1),
        }
        self.leases.insert((until, n.id));
    }

    fn release(&mut self, id: NotificationId) {
        if let Some(held) = self.claims.remove(&id) {
            self.leases.remove(&(held.until, id));
            let webhook = held.notification.webhook_id;
            self.update(webhook, |q| q.in_flight = q.in_flight.saturating_sub(1));
        }
    }

    /// `n` was stored as it now stands (`was`: its status before; `None`: it
    /// is new): its claim is released, and its queue counts it and is due
    /// no later than its next attempt.
    pub fn saved(&mut self, n: &Notification, was: Option<NotificationStatus>) {
        self.release(n.id);
        let pending = n.status == NotificationStatus::Pending;
        let was_pending = was == Some(NotificationStatus::Pending);
        let next = n.next_attempt.filter(|_| pending);
        if next.is_none() && pending == was_pending {
            return;
        }
        self.update(n.webhook_id, |q| {
            q.pending = (q.pending + u64::from(pending)).saturating_sub(u64::from(was_pending));
            if let Some(at) = next {
                q.due = Some(q.due.map_or(at, |due| due.min(at)));
            }
        });
    }

    /// The webhook's due time, from its unclaimed notifications as stored.
    pub fn set_due(&mut self, webhook: WebhookId, due: Option<OffsetDateTime>) {
        self.update(webhook, |q| q.due = due);
    }

    pub fn health(&self, webhook: WebhookId) -> QueueHealth {
        self.queue(webhook).health
    }

    pub fn set_health(&mut self, webhook: WebhookId, health: QueueHealth) {
        self.update(webhook, |q| q.health = health);
    }

    /// Claims whose lease ended by `now`, soonest ended first.
    pub fn lapsed(&self, now: OffsetDateTime, limit: u32) -> Vec<Notification> {
        self.leases
            .iter()
            .take_while(|(until, _)| *until <= now)
            .take(limit as usize)
            .filter_map(|(_, id)| self.claims.get(id))
            .map(|held| held.notification.clone())
            .collect()
    }

    /// Queues ready at `now`, soonest first.
    pub fn ready(&self, now: OffsetDateTime, limit: u32) -> Vec<WebhookId> {
        self.ready
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(limit as usize)
            .map(|(_, webhook)| *webhook)
            .collect()
    }

    /// The soonest a queue that is not ready at `now` will be, or a lease ends.
    pub fn next_look(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let ready = (self.ready)
            .range((Bound::Excluded((now, WebhookId::LAST)), Bound::Unbounded))
            .next();
        let lease = (self.leases)
            .range((
                Bound::Excluded((now, NotificationId::LAST)),
                Bound::Unbounded,
            ))
            .next();
        let (ready, lease) = (ready.map(|(at, _)| *at), lease.map(|(at, _)| *at));
        ready.into_iter().chain(lease).min()
    }

    /// Pending notifications in all, the soonest due time of a queue, and how
    /// many queues back off.
    pub fn backlog(&self) -> (u64, Option<OffsetDateTime>, u64) {
        let pending = self.queues.values().map(|q| q.pending).sum();
        let due = self.queues.values().filter_map(|q| q.due).min();
        let backing_off = self
            .queues
            .values()
            .filter(|q| q.health.backoff.is_some())
            .count() as u64;
        (pending, due, backing_off)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use time::Duration;

    use super::*;
    use crate::domain::{Backoff, EventCode, PmCode};

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn at(s: i64) -> OffsetDateTime {
        T0 + Duration::seconds(s)
    }

    fn notification(webhook: WebhookId, due: i64) -> Notification {
        let pm = PmCode::parse("TRD").expect("pm");
        let code = EventCode::from_number(101, "events").expect("code");
        let mut n = Notification::new(
            webhook,
            pm,
            code,
            NotificationId::generate(),
            "{}".into(),
            T0,
        );
        n.next_attempt = Some(at(due));
        n
    }

    #[test]
    fn queues_are_ready_soonest_first_and_next_look_is_the_soonest_after_now() {
        let (a, b) = (WebhookId::generate(), WebhookId::generate());
        let mut q = LocalQueues::default();
        q.saved(&notification(a, 20), None);
        q.saved(&notification(b, 10), None);
        q.saved(&notification(a, 5), None);
        assert_eq!(q.ready(at(30), 10), [a, b], "a is due at 5, b at 10");
        assert_eq!(q.ready(at(7), 10), [a]);
        assert_eq!(q.ready(at(30), 1), [a], "at most the limit");
        assert_eq!(q.next_look(at(7)), Some(at(10)));
        assert_eq!(q.backlog(), (3, Some(at(5)), 0));

        // Backing off holds the queue until its next probe.
        let mut health = QueueHealth::default();
        let rule = Backoff {
            after: 1,
            first: Duration::seconds(60),
            max: Duration::seconds(60),
            suspend_after: Duration::hours(1),
        };
        health.failed(&rule, at(0));
        q.set_health(a, health);
        assert_eq!(q.ready(at(30), 10), [b]);
        assert_eq!(q.next_look(at(30)), Some(at(60)));
        assert_eq!(q.backlog().2, 1, "one queue backs off");
    }

    #[test]
    fn claims_count_in_flight_lapse_and_are_taken_over_once() {
        let w = WebhookId::generate();
        let mut q = LocalQueues::default();
        let n = notification(w, 0);
        q.saved(&n, None);
        let first = ClaimToken::new("a");
        q.take(&n, &first, at(30));
        assert_eq!(q.queue(w).in_flight, 1);
        assert_eq!(q.claim(n.id).map(|(t, _)| t.clone()), Some(first));
        assert!(q.lapsed(at(29), 10).is_empty());
        assert_eq!(q.next_look(at(29)), Some(at(30)), "the lease's end");
        assert_eq!(q.lapsed(at(30), 10), std::slice::from_ref(&n));

        let second = ClaimToken::new("b");
        q.take(&n, &second, at(90));
        assert_eq!(q.queue(w).in_flight, 1, "taken over, not a second claim");
        assert!(q.lapsed(at(60), 10).is_empty(), "the old lease is gone");

        // Kept across a reload of the queues from storage.
        q.forget_queues();
        q.restore(w, None, 1, QueueHealth::default());
        assert_eq!(q.queue(w).in_flight, 1);

        let mut delivered = n.clone();
        delivered.status = NotificationStatus::Delivered;
        delivered.next_attempt = None;
        q.saved(&delivered, Some(NotificationStatus::Pending));
        assert!(q.claim(n.id).is_none(), "saving releases the claim");
        assert_eq!(q.queue(w), Queue::default(), "an idle queue is forgotten");
        assert_eq!(q.backlog(), (0, None, 0));
    }

    #[test]
    fn a_retry_lowers_the_due_time_only_when_sooner() {
        let w = WebhookId::generate();
        let mut q = LocalQueues::default();
        q.saved(&notification(w, 100), None);
        let retry = notification(w, 50);
        q.saved(&retry, None);
        assert_eq!(q.queue(w).due, Some(at(50)));
        q.saved(&notification(w, 70), None);
        assert_eq!(q.queue(w).due, Some(at(50)));
        q.set_due(w, Some(at(70)));
        assert_eq!(q.ready(at(60), 10), [], "set from storage after a claim");
        assert_eq!(q.queue(w).pending, 3);
    }
}
