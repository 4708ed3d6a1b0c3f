//! What every SQLite table shares: sorting rusqlite's errors into the store's,
//! and reading stored values back.

use rusqlite::ErrorCode as C;
use time::OffsetDateTime;

use crate::store::StoreError;

/// Sorts a rusqlite error into the storage's two kinds of fault, or a
/// duplicate. Only a UNIQUE or PRIMARY KEY violation is a duplicate: any other
/// constraint failing (CHECK, NOT NULL, FOREIGN KEY) is a bug, answered as an
/// internal error with its cause logged.
pub fn classify(error: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    match error.sqlite_error() {
        Some(e)
            if e.code == C::ConstraintViolation
                && matches!(
                    e.extended_code,
                    SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            StoreError::Duplicate
        }
        Some(e)
            if matches!(
                e.code,
                C::DatabaseBusy
                    | C::DatabaseLocked
                    | C::ReadOnly
                    | C::CannotOpen
                    | C::DiskFull
                    | C::SystemIoFailure
                    | C::OutOfMemory
                    | C::FileLockingProtocolFailed
            ) =>
        {
            StoreError::Unavailable(Box::new(error))
        }
        _ => StoreError::Internal(Box::new(error)),
    }
}

/// A stored time in Unix seconds.
pub fn from_unix_seconds(secs: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| corrupt(e.to_string()))
}

/// A stored time in Unix milliseconds.
pub fn from_unix_ms(ms: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| corrupt(e.to_string()))
}

/// A stored value that does not parse: the row is corrupt.
pub fn corrupt(why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, why.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unique_and_primary_key_violations_are_duplicates() {
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, u TEXT UNIQUE, n INTEGER NOT NULL CHECK (n > 0));
             INSERT INTO t VALUES (1, 'a', 1);",
        )
        .expect("schema");
        let cases = [
            ("INSERT INTO t VALUES (1, 'b', 1)", "primary key", true),
            ("INSERT INTO t VALUES (2, 'a', 1)", "unique", true),
            ("INSERT INTO t VALUES (3, 'c', 0)", "check", false),
            ("INSERT INTO t VALUES (4, 'd', NULL)", "not null", false),
        ];
        for (sql, name, duplicate) in cases {
            let error = classify(conn.execute(sql, []).expect_err(name));
            assert_eq!(
                matches!(error, StoreError::Duplicate),
                duplicate,
                "{name}: {error:?}"
            );
            if !duplicate {
                assert!(
                    matches!(error, StoreError::Internal(_)),
                    "{name}: {error:?}"
                );
            }
        }
    }
}
