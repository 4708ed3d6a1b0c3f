//! The last hour of delivery attempts, minute by minute, as the delivery
//! engine made them: what the dashboard's status strip shows (notifications
//! delivered and undelivered, attempts that landed against attempts that
//! failed per minute, and the attempts' latency). In memory and fixed in size
//! (60 minutes of counters and a latency histogram each): it costs the same
//! whether the engine made ten attempts or ten million, and it starts empty
//! at every start. With several nodes, each node counts its own attempts.

use std::sync::Mutex;

use time::OffsetDateTime;

/// The upper bounds (ms) of the latency histogram's buckets; the last bucket
/// holds everything slower.
pub const LATENCY_BOUNDS_MS: [u64; 13] =
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

const MINUTES: usize = 60;

/// What one attempt came to, as the strip counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// A 2xx: the notification is delivered.
    Delivered,
    /// Failed, and will be tried again.
    Failed,
    /// Failed, and the notification is final: undelivered (or the receiver
    /// answered 410 Gone).
    Undelivered,
}

#[derive(Debug, Clone, Copy, Default)]
struct Minute {
    /// Minutes since the Unix epoch this slot counts; another value means
    /// the slot is stale.
    stamp: i64,
    delivered: u32,
    failed: u32,
    undelivered: u32,
    latency: [u32; LATENCY_BOUNDS_MS.len() + 1],
}

/// The ring of the last 60 minutes.
#[derive(Debug)]
pub struct Activity {
    minutes: Mutex<[Minute; MINUTES]>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            minutes: Mutex::new([Minute::default(); MINUTES]),
        }
    }
}

/// The last hour, summed, for the strip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastHour {
    /// Notifications delivered and made final undelivered in the last hour.
    pub delivered: u64,
    pub undelivered: u64,
    /// Per minute, oldest first (60 entries): attempts that landed, and
    /// attempts that failed (final or not).
    pub per_minute: Vec<(u32, u32)>,
    /// The latency bucket bound (ms) that holds the median and the 95th
    /// percentile attempt; `None` with no attempt (or beyond the last bound:
    /// slower than 10 s).
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// Attempts in the last hour.
    pub attempts: u64,
}

fn minute_of(time: OffsetDateTime) -> i64 {
    time.unix_timestamp().div_euclid(60)
}

fn slot(minute: i64) -> usize {
    usize::try_from(minute.rem_euclid(MINUTES as i64)).unwrap_or(0)
}

impl Activity {
    /// Counts one attempt made at `time` that took `latency_ms`.
    pub fn record(&self, time: OffsetDateTime, landed: Landed, latency_ms: u64) {
        let minute = minute_of(time);
        let mut minutes = match self.minutes.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let m = &mut minutes[slot(minute)];
        if m.stamp != minute {
            *m = Minute {
                stamp: minute,
                ..Minute::default()
            };
        }
        match landed {
            Landed::Delivered => m.delivered += 1,
            Landed::Failed => m.failed += 1,
            Landed::Undelivered => {
                m.failed += 1;
                m.undelivered += 1;
            }
        }
        let bucket = LATENCY_BOUNDS_MS
            .iter()
            .position(|bound| latency_ms <= *bound)
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        m.latency[bucket] += 1;
    }

    /// The 60 minutes up to and including `now`'s.
    pub fn last_hour(&self, now: OffsetDateTime) -> LastHour {
        let minutes = match self.minutes.lock() {
            Ok(m) => *m,
            Err(poisoned) => *poisoned.into_inner(),
        };
        let current = minute_of(now);
        let mut hour = LastHour::default();
        let mut latency = [0u64; LATENCY_BOUNDS_MS.len() + 1];
        for minute in current - (MINUTES as i64 - 1)..=current {
            let m = minutes[slot(minute)];
            if m.stamp != minute {
                hour.per_minute.push((0, 0));
                continue;
            }
            hour.per_minute.push((m.delivered, m.failed));
            hour.delivered += u64::from(m.delivered);
            hour.undelivered += u64::from(m.undelivered);
            for (sum, n) in latency.iter_mut().zip(m.latency) {
                *sum += u64::from(n);
            }
        }
        hour.attempts = latency.iter().sum();
        let bound_at = |share: f64| -> Option<u64> {
            if hour.attempts == 0 {
                return None;
            }
            // The first bucket by which `share` of the attempts are counted.
            let wanted = (share * hour.attempts as f64).ceil() as u64;
            let mut seen = 0;
            for (i, n) in latency.iter().enumerate() {
                seen += n;
                if seen >= wanted {
                    return LATENCY_BOUNDS_MS.get(i).copied();
                }
            }
            None
        };
        hour.p50_ms = bound_at(0.50);
        hour.p95_ms = bound_at(0.95);
        hour
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_hour_of_minutes_is_counted_and_older_ones_forgotten() {
        let activity = Activity::default();
        let start = datetime!(2026-11-30 12:00:30 UTC);
        // 90 attempts that landed in 3 ms, 9 that failed in 40 ms, 1 that
        // made its notification undelivered in 3 s; two minutes apart.
        for _ in 0..90 {
            activity.record(start, Landed::Delivered, 3);
        }
        for _ in 0..9 {
            activity.record(start + time::Duration::minutes(2), Landed::Failed, 40);
        }
        activity.record(
            start + time::Duration::minutes(2),
            Landed::Undelivered,
            3000,
        );

        let hour = activity.last_hour(start + time::Duration::minutes(2));
        assert_eq!(hour.attempts, 100);
        assert_eq!((hour.delivered, hour.undelivered), (90, 1));
        assert_eq!(hour.per_minute.len(), 60);
        assert_eq!(hour.per_minute[57], (90, 0), "two minutes before the last");
        assert_eq!(hour.per_minute[58], (0, 0));
        assert_eq!(hour.per_minute[59], (0, 10));
        assert_eq!(hour.p50_ms, Some(5), "the median attempt's bucket: 2-5 ms");
        assert_eq!(hour.p95_ms, Some(50), "the 95th: 20-50 ms");

        // 59 minutes on, the first minute has left the hour.
        let later = activity.last_hour(start + time::Duration::minutes(60));
        assert_eq!(
            (later.delivered, later.undelivered, later.attempts),
            (0, 1, 10)
        );
        assert_eq!(later.per_minute[1], (0, 10));

        // A slot used again after an hour starts from zero.
        activity.record(start + time::Duration::minutes(60), Landed::Delivered, 1);
        let again = activity.last_hour(start + time::Duration::minutes(60));
        assert_eq!(again.per_minute[59], (1, 0));
        assert_eq!(again.attempts, 11);
    }

    #[test]
    fn no_attempt_has_no_latency() {
        let hour = Activity::default().last_hour(datetime!(2026-11-30 12:00 UTC));
        assert_eq!((hour.p50_ms, hour.p95_ms, hour.attempts), (None, None, 0));
        assert!(hour.per_minute.iter().all(|m| *m == (0, 0)));
    }
}
