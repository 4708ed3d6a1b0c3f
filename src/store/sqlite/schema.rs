//! The schema: applied to a new file, migrated in place on an older one, and the
//! settings every connection gets.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::domain::WebhookDocument;

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

/// The schema for a new file: the schema as it is now, one `CREATE` per table.
pub const SCHEMA: &str = include_str!("../../../schema.sql");
/// The `user_version` that `SCHEMA` produces.
pub const SCHEMA_VERSION: i64 = 9;

/// What each version added, from the first: `STEPS[i]` takes a file at version
/// `i` to version `i + 1` (`STEPS[0]` is the first schema, which only the
/// upgrade tests use to make a version-1 file). A schema change adds a file
/// here, bumps `SCHEMA_VERSION` and rewrites schema.sql to match; the test
/// `sqlite_upgrade_and_new_file_have_one_schema` checks the two agree.
const STEPS: [&str; SCHEMA_VERSION as usize] = [
    include_str!("migrations/v1.sql"),
    include_str!("migrations/v2.sql"),
    include_str!("migrations/v3.sql"),
    include_str!("migrations/v4.sql"),
    include_str!("migrations/v5.sql"),
    include_str!("migrations/v6.sql"),
    include_str!("migrations/v7.sql"),
    include_str!("migrations/v8.sql"),
    include_str!("migrations/v9.sql"),
];

/// The SQL that makes a new file at `version` the way that version's binary
/// did: for the upgrade tests.
#[cfg(test)]
pub fn as_of(version: i64) -> String {
    let mut sql = STEPS[..version as usize].concat();
    sql.push_str(&format!("\nPRAGMA user_version = {version};"));
    sql
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
            for (to, sql) in STEPS.iter().enumerate().skip(v as usize) {
                let to = to as i64 + 1;
                tx.execute_batch(sql)
                    .and_then(|()| tx.pragma_update(None, "user_version", to))
                    .map_err(|e| format!("migrating to schema version {to}: {e}"))?;
            }
        }
    }
    let other: Option<i64> = tx
        .query_row(
            "SELECT format FROM webhooks WHERE format <> ?1 LIMIT 1",
            [WebhookDocument::FORMAT],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| e.to_string())?;
    WebhookDocument::readable(other)?;
    tx.commit().map_err(|e| e.to_string())
}
