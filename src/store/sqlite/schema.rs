//! The schema: applied to a new file, migrated in place on an older one, and the
//! settings every connection gets.

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use serde::{Deserialize, Serialize};

/// How much a commit must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// An acknowledged write survives power loss (fsync at every commit).
    Full,
    /// An acknowledged write survives a crash of the process; the last commits may
    /// be lost on power loss (WAL is synced at checkpoints only).
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// The schema for a new file; see the comment at its top.
pub const SCHEMA: &str = include_str!("../../../schema.sql");
/// The `user_version` that `SCHEMA` produces.
pub const SCHEMA_VERSION: i64 = 8;

/// Upgrade steps: the `i`th takes a file from version `i + 1` to `i + 2`. Each is
/// the section of schema.sql that its version added, so the two never disagree.
fn migrations() -> [&'static str; 7] {
    let section = |from: &str, to: &str| {
        let start = SCHEMA.find(from).unwrap_or(SCHEMA.len());
        let end = SCHEMA[start..].find(to).map_or(SCHEMA.len(), |i| start + i);
        &SCHEMA[start..end]
    };
    [
        section("-- Version 2:", "-- Version 3:"),
        section("-- Version 3:", "-- Version 4:"),
        section("-- Version 4:", "-- Version 5:"),
        section("-- Version 5:", "-- Version 6:"),
        section("-- Version 6:", "-- Version 7:"),
        section("-- Version 7:", "-- Version 8:"),
        section("-- Version 8:", "PRAGMA user_version"),
    ]
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// Per-connection settings. WAL lets the readiness check and later readers work
/// while a write commits.
pub fn configure(
    conn: &Connection,
    busy_timeout: Duration,
    synchronous: Synchronous,
) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    // Room for every statement the store prepares (about 40), so none is
    // parsed again: rusqlite's default of 16 made the delivery path's claim
    // and record statements push each other out (SQL parsing was 5% of the
    // server's CPU under `bash bench/profile deliver`).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;",
        synchronous.pragma()
    ))
}

/// Brings the file to `SCHEMA_VERSION`, in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    match version {
        0 => tx.execute_batch(SCHEMA).map_err(|e| format!("applying schema.sql: {e}"))?,
        v if v > SCHEMA_VERSION => {
            return Err(format!(
                "its schema version {v} is newer than this binary supports ({SCHEMA_VERSION}); use a newer webhook-manager"
            ))
        }
        v => {
            for (step, sql) in migrations().iter().enumerate().skip((v - 1) as usize) {
                let to = step as i64 + 2;
                tx.execute_batch(sql)
                    .and_then(|()| tx.pragma_update(None, "user_version", to))
                    .map_err(|e| format!("migrating to schema version {to}: {e}"))?;
            }
        }
    }
    tx.commit().map_err(|e| e.to_string())
}
