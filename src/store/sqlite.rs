//! The SQLite repository: one database file in WAL mode, a small connection pool,
//! and the schema from `schema.sql`, versioned with `PRAGMA user_version`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use time::OffsetDateTime;

use super::{Change, Repository, StoreError};
use crate::domain::{
    CustomHeaders, EventCode, EventSet, Heartbeat, PmCode, ProductId, Webhook, WebhookConfig,
    WebhookId, WebhookUrl,
};

/// The schema for a new file; see the comment at its top.
const SCHEMA: &str = include_str!("../../schema.sql");
/// The `user_version` that `SCHEMA` produces.
pub const SCHEMA_VERSION: i64 = 1;
/// Upgrade steps: `MIGRATIONS[i]` takes a file from version `i + 1` to `i + 2`.
/// Empty while there is only one version.
const MIGRATIONS: &[&str] = &[];

/// Connections kept in the pool: enough for every worker's blocking calls, few
/// enough that SQLite's single writer is not fought over.
const POOL_SIZE: u32 = 8;
/// How long a call waits for a free connection before the storage counts as unavailable.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// Every column, in the order `read_webhook` and `write_row` use.
const COLUMNS: &str = "id, pm_code, product_id, events, status, url, custom_headers, created_time, \
     last_modified_time, hb_health_status, hb_http_status, hb_latency_ms, hb_error, hb_checked_time";
const VALUES: &str = "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

/// Why a database file could not be opened; the message names the path.
#[derive(Debug, thiserror::Error)]
#[error("cannot use database {path}: {reason}")]
pub struct OpenError {
    path: PathBuf,
    reason: String,
}

pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, brings its schema up to
    /// date, and fills the pool. Every failure names the path.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Self, OpenError> {
        let fail = |reason: String| OpenError {
            path: path.to_path_buf(),
            reason,
        };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail(e.to_string()))?;
        configure(&conn, busy_timeout).map_err(|e| fail(e.to_string()))?;
        migrate(&mut conn).map_err(fail)?;
        drop(conn);

        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(move |conn| configure(conn, busy_timeout));
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .build(manager)
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self { pool })
    }

    fn conn(&self) -> Result<PooledConnection<SqliteConnectionManager>, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unavailable(Box::new(e)))
    }
}

/// Per-connection settings. WAL lets readers work while a write commits;
/// `synchronous = FULL` makes every acknowledged commit survive power loss.
fn configure(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )
}

/// Brings the file to `SCHEMA_VERSION`, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), String> {
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
            for (step, sql) in MIGRATIONS.iter().enumerate().skip((v - 1) as usize) {
                tx.execute_batch(sql)
                    .map_err(|e| format!("migrating to schema version {}: {e}", step + 2))?;
            }
        }
    }
    tx.commit().map_err(|e| e.to_string())
}

/// Sorts a rusqlite error into the storage's two kinds of fault, or a duplicate.
fn classify(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match error.sqlite_error() {
        Some(e) if e.code == C::ConstraintViolation => StoreError::Duplicate,
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

fn timestamp(secs: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| corrupt(e.to_string()))
}

fn corrupt(why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, why.into())
}

fn read_webhook(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    let id: String = row.get(0)?;
    let pm: String = row.get(1)?;
    let events: String = row.get(3)?;
    let status: String = row.get(4)?;
    let headers: String = row.get(6)?;
    let codes: Vec<i64> = serde_json::from_str(&events).map_err(|e| corrupt(e.to_string()))?;
    let events = codes
        .into_iter()
        .map(|n| EventCode::from_number(n, "events").map_err(|p| corrupt(p.message)))
        .collect::<rusqlite::Result<EventSet>>()?;
    let headers: BTreeMap<String, String> =
        serde_json::from_str(&headers).map_err(|e| corrupt(e.to_string()))?;
    let health: Option<String> = row.get(9)?;
    let last_heartbeat = match health {
        None => None,
        Some(health) => Some(Heartbeat {
            health_status: health.parse().map_err(corrupt)?,
            http_status: row.get(10)?,
            latency_ms: row.get(11)?,
            error: row.get(12)?,
            checked_time: timestamp(row.get(13)?)?,
        }),
    };
    Ok(Webhook {
        id: WebhookId::parse(&id).map_err(|p| corrupt(p.message))?,
        pm_code: PmCode::parse(&pm).map_err(|p| corrupt(p.message))?,
        product_id: row.get::<_, Option<u64>>(2)?.map(ProductId::from_stored),
        events,
        status: status.parse().map_err(corrupt)?,
        config: WebhookConfig {
            url: WebhookUrl::from_stored(row.get(5)?),
            custom_headers: CustomHeaders::from_stored(headers),
        },
        created_time: timestamp(row.get(7)?)?,
        last_modified_time: timestamp(row.get(8)?)?,
        last_heartbeat,
    })
}

fn events_json(events: &EventSet) -> String {
    serde_json::Value::from(events.iter().map(EventCode::value).collect::<Vec<_>>()).to_string()
}

fn headers_json(headers: &CustomHeaders) -> String {
    serde_json::Value::from(
        headers
            .iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
            .collect::<serde_json::Map<_, _>>(),
    )
    .to_string()
}

fn select_one(
    conn: &Connection,
    id: WebhookId,
    scope: Option<&PmCode>,
) -> Result<Webhook, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE id = ?1 AND (?2 IS NULL OR pm_code = ?2)"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(
            params![id.to_string(), scope.map(PmCode::as_str)],
            read_webhook,
        )
        .optional()
    })
    .map_err(classify)?
    .ok_or(StoreError::NotFound)
}

/// Runs `sql`, whose parameters `?1..?14` are the webhook's columns in `COLUMNS` order.
fn write_row(conn: &Connection, sql: &str, webhook: &Webhook) -> Result<(), StoreError> {
    let hb = webhook.last_heartbeat.as_ref();
    let mut stmt = conn.prepare_cached(sql).map_err(classify)?;
    stmt.execute(params![
        webhook.id.to_string(),
        webhook.pm_code.as_str(),
        webhook.product_id.map(ProductId::value),
        events_json(&webhook.events),
        webhook.status.as_str(),
        webhook.config.url.as_str(),
        headers_json(&webhook.config.custom_headers),
        webhook.created_time.unix_timestamp(),
        webhook.last_modified_time.unix_timestamp(),
        hb.map(|h| h.health_status.as_str()),
        hb.and_then(|h| h.http_status),
        hb.map(|h| h.latency_ms),
        hb.and_then(|h| h.error.as_deref()),
        hb.map(|h| h.checked_time.unix_timestamp()),
    ])
    .map_err(classify)?;
    Ok(())
}

impl Repository for SqliteStore {
    fn create(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let conn = self.conn()?;
        write_row(
            &conn,
            &format!("INSERT INTO webhooks ({COLUMNS}) VALUES {VALUES}"),
            webhook,
        )
    }

    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> Result<Webhook, StoreError> {
        let conn = self.conn()?;
        select_one(&conn, id, scope)
    }

    fn list(&self, pm: &PmCode) -> Result<Vec<Webhook>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM webhooks WHERE pm_code = ?1 ORDER BY rowid"
            ))
            .map_err(classify)?;
        let rows = stmt
            .query_map([pm.as_str()], read_webhook)
            .map_err(classify)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
    }

    fn modify(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        change: Change<'_>,
    ) -> Result<Webhook, StoreError> {
        let mut conn = self.conn()?;
        // IMMEDIATE takes the write lock before the read, so no other writer can
        // change the row between our read and our write.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(classify)?;
        let mut webhook = select_one(&tx, id, scope)?;
        change(&mut webhook)?;
        write_row(
            &tx,
            &format!("UPDATE webhooks SET ({COLUMNS}) = {VALUES} WHERE id = ?1"),
            &webhook,
        )?;
        tx.commit().map_err(classify)?;
        Ok(webhook)
    }

    fn check(&self) -> Result<(), StoreError> {
        let conn = self.conn()?;
        conn.query_row("SELECT EXISTS (SELECT 1 FROM webhooks)", [], |_| Ok(()))
            .map_err(classify)
    }
}
