//! What every PostgreSQL table shares: sorting the driver's errors into the
//! store's, and reading stored times back.

use time::OffsetDateTime;
use tokio_postgres::error::SqlState;

use crate::store::StoreError;

/// What a driver error means for the caller: a taken key is a `Duplicate`;
/// a lost connection, a database shutting down or starting, a deadlock or a
/// serialization failure is `Unavailable` (the same call may work later);
/// anything else is `Internal`.
pub fn classify(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            return StoreError::Duplicate;
        }
        let retry = [
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::QUERY_CANCELED,
        ];
        if retry.contains(code) || code.code().starts_with("08") {
            return StoreError::Unavailable(Box::new(e));
        }
        return StoreError::Internal(Box::new(e));
    }
    if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
        return StoreError::Unavailable(Box::new(e));
    }
    StoreError::Internal(Box::new(e))
}

/// A stored value that does not parse: the row is corrupt.
pub fn corrupt(why: String) -> StoreError {
    StoreError::Internal(why.into())
}

pub fn seconds(s: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(s).map_err(|e| corrupt(e.to_string()))
}

pub fn millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| corrupt(e.to_string()))
}
