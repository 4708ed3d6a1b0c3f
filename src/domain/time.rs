//! Time: the one clock the service reads and the one formatter per wire format.
//!
//! Every part that needs "now" takes a [`Clock`], so a test can drive time
//! ([`TestClock`]) instead of waiting for it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// The current time, at full precision.
    fn now(&self) -> OffsetDateTime;

    /// The current time at the second precision the contract's webhook times carry.
    fn now_seconds(&self) -> OffsetDateTime {
        truncate_to_seconds(self.now())
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that moves only when told: for tests of retries, backoff and
/// suspension that must not wait on real time.
#[derive(Debug)]
pub struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    pub fn at(start: OffsetDateTime) -> Self {
        Self(Mutex::new(start))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The service's clock: the wall clock plus an offset that only moves
/// forward, and only when the sandbox's clock call moves it
/// (`sandbox::clock`); a reset returns it to the wall clock. Without the
/// sandbox the offset stays 0 and this is the wall clock.
#[derive(Debug, Default)]
pub struct MovableClock {
    offset_ms: AtomicI64,
}

impl MovableClock {
    /// How far ahead of the wall clock it runs, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Acquire)
    }

    /// Moves it to `to`; never back: an earlier `to` changes nothing.
    /// Answers the time it shows now.
    pub fn advance_to(&self, to: OffsetDateTime) -> OffsetDateTime {
        let ahead = to - OffsetDateTime::now_utc();
        // Rounded up, so that the clock shows `to` or later at once.
        let mut wanted = i64::try_from(ahead.whole_milliseconds()).unwrap_or(i64::MAX);
        if ahead.subsec_nanoseconds() % 1_000_000 > 0 {
            wanted = wanted.saturating_add(1);
        }
        self.offset_ms.fetch_max(wanted, Ordering::AcqRel);
        self.now()
    }

    /// Back to the wall clock.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Release);
    }
}

impl Clock for MovableClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::milliseconds(self.offset_ms())
    }
}

/// The same instant without its fraction of a second.
pub fn truncate_to_seconds(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

/// `2024-01-24T23:20:28Z`: RFC 3339 in UTC at second precision, as Thredd's
/// examples write webhook times and event payload times.
pub fn rfc3339_seconds(at: OffsetDateTime) -> String {
    let at = truncate_to_seconds(at.to_offset(time::UtcOffset::UTC));
    // Formatting a UTC time within years 0-9999 cannot fail; the fallback is
    // the same instant in the time crate's debug form rather than nothing.
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// `2024-01-24T23:20:28.123Z`: notification and attempt times carry
/// milliseconds (API.md section 1).
pub fn rfc3339_millis(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_else(|_| at.to_string())
}

/// Unix milliseconds, as times are stored.
pub fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats() {
        let cases = [
            (
                datetime!(2024-01-24 23:20:28.123456 UTC),
                "2024-01-24T23:20:28Z",
                "2024-01-24T23:20:28.123Z",
            ),
            (
                datetime!(2024-01-24 23:20:28 UTC),
                "2024-01-24T23:20:28Z",
                "2024-01-24T23:20:28.000Z",
            ),
            (
                datetime!(2024-01-25 01:20:28.5 +02:00),
                "2024-01-24T23:20:28Z",
                "2024-01-24T23:20:28.500Z",
            ),
        ];
        for (at, seconds, millis) in cases {
            assert_eq!(rfc3339_seconds(at), seconds, "{at}");
            assert_eq!(rfc3339_millis(at), millis, "{at}");
        }
        assert_eq!(unix_ms(datetime!(1970-01-01 00:00:01.5 UTC)), 1500);
    }

    #[test]
    fn a_test_clock_moves_only_when_told() {
        let clock = TestClock::at(datetime!(2024-01-24 23:20:28.7 UTC));
        assert_eq!(clock.now(), datetime!(2024-01-24 23:20:28.7 UTC));
        assert_eq!(clock.now_seconds(), datetime!(2024-01-24 23:20:28 UTC));
        clock.advance(Duration::seconds(5));
        assert_eq!(clock.now(), datetime!(2024-01-24 23:20:33.7 UTC));
    }

    #[test]
    fn a_movable_clock_moves_forward_only_and_resets_to_the_wall_clock() {
        let clock = MovableClock::default();
        assert_eq!(clock.offset_ms(), 0);
        let ahead = OffsetDateTime::now_utc() + Duration::hours(2);
        let shown = clock.advance_to(ahead);
        assert!(shown >= ahead, "{shown} >= {ahead}");
        let offset = clock.offset_ms();
        assert!(
            (7_199_000..=7_200_000).contains(&offset),
            "about two hours: {offset}"
        );
        clock.advance_to(OffsetDateTime::now_utc());
        assert_eq!(clock.offset_ms(), offset, "never back");
        for nanos in (0..1_000_000).step_by(9_973) {
            let to = clock.now() + Duration::nanoseconds(nanos);
            assert!(clock.advance_to(to) >= to, "shows the target at once");
        }
        clock.reset();
        assert_eq!(clock.offset_ms(), 0);
        assert!(clock.now() - OffsetDateTime::now_utc() < Duration::seconds(1));
    }
}
