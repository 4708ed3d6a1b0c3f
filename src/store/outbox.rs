//! The SQL of notifications and attempts, for the SQLite backend: rows in and out.
//! The writer thread calls the write functions inside its batch transaction.

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use super::StoreError;
use crate::domain::{
    Attempt, AttemptOutcome, EventCode, Notification, NotificationId, NotificationStatus, PmCode,
    WebhookId,
};

const COLUMNS: &str = "id, webhook_id, pm_code, event_code, body, status, created_time, \
                       last_sent_time, attempts, cycle_start, next_attempt_ms";

pub fn insert(conn: &Connection, n: &Notification) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO notifications (id, webhook_id, pm_code, event_code, body, status, \
         created_time, last_sent_time, attempts, cycle_start, next_attempt_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    stmt.execute(params![
        n.id.to_string(),
        n.webhook_id.to_string(),
        n.pm_code.as_str(),
        n.event_code.value(),
        n.body,
        n.status.as_str(),
        n.created_time.unix_timestamp(),
        n.last_sent_time.map(OffsetDateTime::unix_timestamp),
        n.attempts,
        n.cycle_start,
        n.next_attempt.map(unix_ms),
    ])?;
    Ok(())
}

/// Stores one attempt of a pending notification and moves it on per `outcome`;
/// answers the notification's webhook, for the suspension rule. A notification
/// that is no longer pending (or unknown) is `NotFound`.
pub fn record_attempt(
    conn: &Connection,
    id: NotificationId,
    attempt: &Attempt,
    outcome: AttemptOutcome,
) -> Result<WebhookId, StoreError> {
    let id_text = id.to_string();
    let row: Option<(String, u32)> = conn
        .prepare_cached(
            "SELECT webhook_id, attempts FROM notifications WHERE id = ?1 AND status = 'Pending'",
        )
        .and_then(|mut stmt| {
            stmt.query_row([&id_text], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(super::sqlite::classify)?;
    let Some((webhook_id, attempts)) = row else {
        return Err(StoreError::NotFound);
    };
    let webhook_id = WebhookId::parse(&webhook_id)
        .map_err(|p| StoreError::Internal(format!("stored webhook id: {}", p.message).into()))?;
    let (status, next) = match outcome {
        AttemptOutcome::Delivered => (NotificationStatus::Delivered, None),
        AttemptOutcome::RetryAt(at) => (NotificationStatus::Pending, Some(unix_ms(at))),
        AttemptOutcome::Undelivered | AttemptOutcome::Gone => {
            (NotificationStatus::Undelivered, None)
        }
    };
    let number = attempts + 1;
    let run = || -> rusqlite::Result<()> {
        conn.prepare_cached(
            "INSERT INTO attempts (notification_id, attempt, time_ms, http_status, error, latency_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            id_text,
            number,
            unix_ms(attempt.time),
            attempt.http_status,
            attempt.error,
            attempt.latency_ms,
        ])?;
        conn.prepare_cached(
            "UPDATE notifications SET status = ?2, last_sent_time = ?3, attempts = ?4, \
             next_attempt_ms = ?5, \
             final_seq = CASE WHEN ?2 = 'Pending' THEN NULL ELSE \
               (SELECT ifnull(max(final_seq), 0) + 1 FROM notifications WHERE webhook_id = ?6) END \
             WHERE id = ?1",
        )?
        .execute(params![
            id_text,
            status.as_str(),
            attempt.time.unix_timestamp(),
            number,
            next,
            webhook_id.to_string(),
        ])?;
        Ok(())
    };
    run().map_err(super::sqlite::classify)?;
    Ok(webhook_id)
}

/// Whether the webhook's last `n` notifications to become final all ended
/// `Undelivered` (and there are at least `n`).
pub fn last_all_undelivered(
    conn: &Connection,
    webhook_id: WebhookId,
    n: u32,
) -> Result<bool, StoreError> {
    let run = || -> rusqlite::Result<bool> {
        let mut stmt = conn.prepare_cached(
            "SELECT status FROM notifications WHERE webhook_id = ?1 AND final_seq IS NOT NULL \
             ORDER BY final_seq DESC LIMIT ?2",
        )?;
        let statuses = stmt
            .query_map(params![webhook_id.to_string(), n], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(statuses.len() as u32 == n && statuses.iter().all(|s| s == "Undelivered"))
    };
    run().map_err(super::sqlite::classify)
}

/// Every pending notification, oldest first.
pub fn pending(conn: &Connection) -> rusqlite::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE status = 'Pending' ORDER BY rowid"
    ))?;
    let rows = stmt.query_map([], read)?;
    rows.collect()
}

fn read(row: &Row<'_>) -> rusqlite::Result<Notification> {
    let corrupt = |why: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, why.into())
    };
    let id: String = row.get(0)?;
    let webhook_id: String = row.get(1)?;
    let pm: String = row.get(2)?;
    let status: String = row.get(5)?;
    let seconds =
        |secs: i64| OffsetDateTime::from_unix_timestamp(secs).map_err(|e| corrupt(e.to_string()));
    Ok(Notification {
        id: NotificationId::parse(&id).map_err(|p| corrupt(p.message))?,
        webhook_id: WebhookId::parse(&webhook_id).map_err(|p| corrupt(p.message))?,
        pm_code: PmCode::parse(&pm).map_err(|p| corrupt(p.message))?,
        event_code: EventCode::from_number(row.get(3)?, "event_code")
            .map_err(|p| corrupt(p.message))?,
        body: row.get(4)?,
        status: status.parse().map_err(corrupt)?,
        created_time: seconds(row.get(6)?)?,
        last_sent_time: row.get::<_, Option<i64>>(7)?.map(seconds).transpose()?,
        attempts: row.get(8)?,
        cycle_start: row.get(9)?,
        next_attempt: row
            .get::<_, Option<i64>>(10)?
            .map(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .map_err(|e| corrupt(e.to_string()))
            })
            .transpose()?,
    })
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
