//! A webhook's queue: its pending notifications, delivered soonest due first,
//! and how its receiver has been answering. These are the rules that keep one
//! failing receiver from costing the others:
//!
//! - **A limit in flight.** At most `per_webhook` attempts to one webhook at
//!   once, so a slow receiver cannot take every delivery slot.
//! - **Backoff.** After `after` failed attempts in a row the queue *backs off*:
//!   its notifications wait (they spend no attempts, so nothing is lost while
//!   the receiver is down) and one notification at a time is sent as a *probe*,
//!   the first after `first`, each further one after twice the wait before, at
//!   most `max`. A delivered probe ends the backoff and the queue drains.
//! - **Suspension.** A queue that has backed off for `suspend_after` without a
//!   delivery suspends its webhook, which stops new notifications for it; set
//!   it active to try again, and its waiting notifications are delivered.

use time::{Duration, OffsetDateTime};

/// The backoff rule (from `[delivery]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failed attempts in a row that start a backoff.
    pub after: u32,
    /// The wait before the first probe.
    pub first: Duration,
    /// The longest wait between probes.
    pub max: Duration,
    /// How long a backoff may last before the webhook is suspended.
    pub suspend_after: Duration,
}

/// How a webhook's receiver has been answering, as its queue keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueHealth {
    /// Failed attempts since the last delivery.
    pub failures: u32,
    /// Backing off: since when, and when the next probe may go.
    pub backoff: Option<BackingOff>,
    /// A probe is out, claimed until this time.
    pub probe_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackingOff {
    pub since: OffsetDateTime,
    pub until: OffsetDateTime,
    /// The wait that set `until`; the next failed probe doubles it.
    pub wait: Duration,
}

impl QueueHealth {
    /// The most new attempts the queue may start now, with `in_flight` out.
    pub fn room(&self, per_webhook: u32, in_flight: u32) -> u32 {
        let cap = if self.backoff.is_some() {
            1
        } else {
            per_webhook
        };
        cap.saturating_sub(in_flight)
    }

    /// When the queue may next yield a claim, given its soonest due
    /// notification: at once, or when the next probe may go.
    pub fn ready(&self, due: OffsetDateTime) -> OffsetDateTime {
        match self.backoff {
            None => due,
            Some(b) => due.max(b.until).max(self.probe_until.unwrap_or(due)),
        }
    }

    /// Claimed one more for an attempt until `lease_until`: while backing off,
    /// that attempt is the probe.
    pub fn claimed(&mut self, lease_until: OffsetDateTime) {
        if self.backoff.is_some() {
            self.probe_until = Some(lease_until);
        }
    }

    /// A delivery: the receiver answers again.
    pub fn delivered(&mut self) {
        *self = Self::default();
    }

    /// A failed attempt at `now`. Before a backoff it counts towards one; while
    /// backing off, a failed probe doubles the wait, and an attempt that was
    /// already out when the backoff began (no probe out) changes nothing.
    pub fn failed(&mut self, rule: &Backoff, now: OffsetDateTime) {
        match self.backoff {
            None => {
                self.failures = self.failures.saturating_add(1);
                if rule.after > 0 && self.failures >= rule.after {
                    self.backoff = Some(BackingOff {
                        since: now,
                        until: now + rule.first,
                        wait: rule.first,
                    });
                }
            }
            Some(b) if self.probe_until.is_some() => {
                self.failures = self.failures.saturating_add(1);
                let wait = b.wait.saturating_mul(2).min(rule.max).max(rule.first);
                self.backoff = Some(BackingOff {
                    since: b.since,
                    until: now + wait,
                    wait,
                });
                self.probe_until = None;
            }
            Some(_) => {}
        }
    }

    /// Someone asked for a delivery now ("deliver now"): while backing off,
    /// the next probe may go at `now` rather than wait out its time.
    pub fn probe_now(&mut self, now: OffsetDateTime) {
        if let Some(b) = &mut self.backoff {
            b.until = b.until.min(now);
        }
    }

    /// The queue has backed off long enough that its webhook is suspended.
    pub fn suspends(&self, rule: &Backoff, now: OffsetDateTime) -> bool {
        self.backoff
            .is_some_and(|b| now - b.since >= rule.suspend_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

    fn rule() -> Backoff {
        Backoff {
            after: 3,
            first: Duration::seconds(5),
            max: Duration::seconds(60),
            suspend_after: Duration::hours(1),
        }
    }

    #[test]
    fn backs_off_after_failures_in_a_row_and_doubles_the_probe_wait() {
        let mut q = QueueHealth::default();
        q.failed(&rule(), T0);
        q.failed(&rule(), T0);
        assert_eq!(q.backoff, None, "two failures are not yet a backoff");
        assert_eq!(q.room(8, 2), 6);
        q.failed(&rule(), T0);
        let b = q.backoff.expect("backing off after 3");
        assert_eq!((b.since, b.until), (T0, T0 + Duration::seconds(5)));
        assert_eq!(q.room(8, 0), 1, "one probe at a time");
        assert_eq!(q.room(8, 1), 0);
        assert_eq!(
            q.ready(T0),
            T0 + Duration::seconds(5),
            "waits for the probe time"
        );

        // An attempt already out when the backoff began fails: nothing changes.
        q.failed(&rule(), T0 + Duration::seconds(1));
        assert_eq!(q.backoff, Some(b));

        // Probes: 5 s, then 10, 20, 40, 60, 60 s.
        let mut now = T0 + Duration::seconds(5);
        for wait in [10, 20, 40, 60, 60] {
            q.claimed(now + Duration::seconds(30));
            assert_eq!(q.ready(now), now + Duration::seconds(30), "probe out");
            q.failed(&rule(), now);
            let b = q.backoff.expect("still backing off");
            assert_eq!(b.until, now + Duration::seconds(wait));
            assert_eq!(b.since, T0);
            now = b.until;
        }
        assert!(!q.suspends(&rule(), T0 + Duration::minutes(59)));
        assert!(q.suspends(&rule(), T0 + Duration::hours(1)));

        q.delivered();
        assert_eq!(q, QueueHealth::default());
        assert_eq!(q.ready(T0), T0);
    }

    #[test]
    fn after_zero_never_backs_off() {
        let rule = Backoff { after: 0, ..rule() };
        let mut q = QueueHealth::default();
        for _ in 0..100 {
            q.failed(&rule, T0);
        }
        assert_eq!(q.backoff, None);
        assert!(!q.suspends(&rule, T0 + Duration::days(9)));
    }
}
