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
//! - **The schedule still holds.** The backoff never stretches a
//!   notification's retry schedule beyond its own steps: probes are at most the
//!   schedule's longest wait apart (`DeliverySettings::backoff`); the probe
//!   is the soonest due notification, and each other one that has waited past
//!   the time its last attempt would have been due (with the most jitter)
//!   gives up: it ends `Undelivered` at the probe, spending no attempt
//!   ([`GiveUp`]).
//! - **Suspension.** A queue that has backed off for `suspend_after` without a
//!   delivery suspends its webhook, which stops new notifications for it; set
//!   it active to try again, and its waiting notifications are delivered.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::notification::{Notification, NotificationStatus};

/// The retry schedule, as the rule for when a notification that waits in a
/// backed-off queue gives up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiveUp {
    /// `after[k]`: the waits still ahead after `k` failed attempts, with the
    /// most jitter (10%), in milliseconds.
    after: Arc<[u64]>,
}

impl GiveUp {
    /// The rule for a schedule of waits in milliseconds.
    pub fn new(schedule_ms: &[u64]) -> Self {
        let mut after = vec![0u64; schedule_ms.len() + 1];
        for k in (0..schedule_ms.len()).rev() {
            let wait = schedule_ms[k].saturating_add(schedule_ms[k] / 10);
            after[k] = after[k + 1].saturating_add(wait);
        }
        Self {
            after: after.into(),
        }
    }

    /// When `n` (pending, waiting for its next attempt) gives up: the time its
    /// last attempt would have been due had every retry gone on time. `None`
    /// for a parked notification, which waits for its webhook instead.
    pub fn at(&self, n: &Notification) -> Option<OffsetDateTime> {
        let failures = n.failures_this_cycle() as usize;
        let ahead = self.after.get(failures).copied().unwrap_or(0);
        n.next_attempt
            .map(|next| next + Duration::milliseconds(i64::try_from(ahead).unwrap_or(i64::MAX)))
    }

    /// How many retries the schedule has.
    pub fn retries(&self) -> u32 {
        u32::try_from(self.after.len() - 1).unwrap_or(u32::MAX)
    }
}

/// Why a pending notification has not been delivered yet: for the details
/// call and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Its webhook is not active: it waits, parked, spending nothing, until
    /// the webhook is set active again.
    Parked { webhook_status: &'static str },
    /// Its webhook is suspended: it ends `Undelivered`, unattempted, when it
    /// comes due at `ends_at`, unless the webhook is set active first.
    Suspended { ends_at: OffsetDateTime },
    /// Its queue backs off: it waits for the next probe (at `until`) to find
    /// the receiver answering, and gives up at `gives_up_at`.
    BackingOff {
        until: OffsetDateTime,
        schedule: ScheduleStep,
    },
    /// It waits for its next attempt on the retry schedule.
    Scheduled { schedule: ScheduleStep },
}

/// Where a notification stands on its retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleStep {
    /// The retry its next attempt is (0: its first attempt), and how many the
    /// schedule has.
    pub retry: u32,
    pub of: u32,
    pub next_attempt: OffsetDateTime,
    /// When it gives up if it is still waiting then.
    pub gives_up_at: OffsetDateTime,
}

impl Waiting {
    /// Why `n` waits, if it is pending: its webhook's status (`active` or
    /// not), its queue's health and the schedule in effect.
    pub fn of(
        n: &Notification,
        webhook_status: &'static str,
        webhook_active: bool,
        health: &QueueHealth,
        rule: &GiveUp,
    ) -> Option<Self> {
        if n.status != NotificationStatus::Pending {
            return None;
        }
        let Some(next_attempt) = n.next_attempt.filter(|_| webhook_active) else {
            return Some(match n.next_attempt {
                Some(ends_at) if webhook_status == "suspended" => Self::Suspended { ends_at },
                _ => Self::Parked { webhook_status },
            });
        };
        let schedule = ScheduleStep {
            retry: n.failures_this_cycle(),
            of: rule.retries(),
            next_attempt,
            gives_up_at: rule.at(n).unwrap_or(next_attempt),
        };
        Some(match health.backoff {
            Some(b) => Self::BackingOff {
                until: health.ready(next_attempt).max(b.until),
                schedule,
            },
            None => Self::Scheduled { schedule },
        })
    }

    /// Its name on the wire: `parked`, `backingOff`, `scheduled`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Parked { .. } => "parked",
            Self::Suspended { .. } => "suspended",
            Self::BackingOff { .. } => "backingOff",
            Self::Scheduled { .. } => "scheduled",
        }
    }

    pub fn schedule(&self) -> Option<&ScheduleStep> {
        match self {
            Self::Parked { .. } | Self::Suspended { .. } => None,
            Self::BackingOff { schedule, .. } | Self::Scheduled { schedule } => Some(schedule),
        }
    }

    /// One line for a person, times written by `when`.
    pub fn message(&self, when: impl Fn(OffsetDateTime) -> String) -> String {
        let step = |s: &ScheduleStep| {
            let which = if s.retry == 0 {
                "first attempt".to_owned()
            } else {
                format!("retry {} of {}", s.retry, s.of)
            };
            format!("{which}; gives up at {}", when(s.gives_up_at))
        };
        match self {
            Self::Parked { webhook_status } => format!(
                "parked: webhook {webhook_status}; it is sent once the webhook is set active"
            ),
            Self::Suspended { ends_at } => format!(
                "webhook suspended: it ends Undelivered, unattempted, at {} unless the webhook is set active first",
                when(*ends_at)
            ),
            Self::BackingOff { until, schedule } => format!(
                "backing off until {}: the receiver failed its last attempts ({})",
                when(*until),
                step(schedule)
            ),
            Self::Scheduled { schedule } => format!(
                "next attempt at {} ({})",
                when(schedule.next_attempt),
                step(schedule)
            ),
        }
    }
}

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
    fn a_waiting_notification_gives_up_when_its_last_attempt_would_have_been_due() {
        use crate::domain::{EventCode, NotificationId, PmCode, WebhookId};
        let rule = GiveUp::new(&[200, 300]);
        assert_eq!(rule.retries(), 2);
        let mut n = Notification::new(
            WebhookId::generate(),
            PmCode::parse("TRD").expect("pm"),
            EventCode::from_number(103, "e").expect("code"),
            NotificationId::generate(),
            "{}".into(),
            T0,
        );
        // Not attempted yet: its first attempt and both waits, with jitter.
        assert_eq!(rule.at(&n), Some(T0 + Duration::milliseconds(220 + 330)));
        n.attempts = 1;
        n.next_attempt = Some(T0 + Duration::milliseconds(210));
        assert_eq!(rule.at(&n), Some(T0 + Duration::milliseconds(210 + 330)));
        n.attempts = 2;
        n.next_attempt = Some(T0 + Duration::milliseconds(520));
        assert_eq!(
            rule.at(&n),
            Some(T0 + Duration::milliseconds(520)),
            "its last"
        );
        n.next_attempt = None;
        assert_eq!(rule.at(&n), None, "parked");
    }

    #[test]
    fn a_waiting_notification_says_why() {
        use crate::domain::{EventCode, NotificationId, PmCode, WebhookId};
        let give_up = GiveUp::new(&[5_000, 30_000]);
        let mut n = Notification::new(
            WebhookId::generate(),
            PmCode::parse("TRD").expect("pm"),
            EventCode::from_number(103, "e").expect("code"),
            NotificationId::generate(),
            "{}".into(),
            T0,
        );
        n.attempts = 1;
        n.next_attempt = Some(T0 + Duration::seconds(5));
        let when = |t: OffsetDateTime| (t - T0).whole_seconds().to_string();
        let healthy = QueueHealth::default();
        let why = |status, active, health: &QueueHealth, n: &Notification| {
            Waiting::of(n, status, active, health, &give_up).map(|w| (w.reason(), w.message(when)))
        };
        assert_eq!(
            why("active", true, &healthy, &n),
            Some((
                "scheduled",
                "next attempt at 5 (retry 1 of 2; gives up at 38)".into()
            ))
        );
        let mut backing_off = QueueHealth::default();
        for _ in 0..3 {
            backing_off.failed(&rule(), T0);
        }
        assert_eq!(
            why("active", true, &backing_off, &n).map(|w| w.0),
            Some("backingOff")
        );
        assert_eq!(
            why("suspended", false, &healthy, &n),
            Some((
                "suspended",
                "webhook suspended: it ends Undelivered, unattempted, at 5 unless the webhook is set active first".into()
            ))
        );
        n.next_attempt = None;
        assert_eq!(
            why("inactive", false, &healthy, &n).map(|w| w.0),
            Some("parked")
        );
        n.status = NotificationStatus::Delivered;
        assert_eq!(why("active", true, &healthy, &n), None, "not waiting");
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
