//! Time: the one clock the service reads and the one formatter per wire format.
//!
//! Every part that needs "now" takes a [`Clock`], so a test can drive time
//! ([`TestClock`]) instead of waiting for it.

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

/// Now on the system clock, for parts that take no [`Clock`] (the API's handlers).
pub fn now() -> OffsetDateTime {
    SystemClock.now()
}

/// Now on the system clock, to the second (webhook times, heartbeat times).
pub fn now_seconds() -> OffsetDateTime {
    SystemClock.now_seconds()
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
}
