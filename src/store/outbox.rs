//! The SQL of notifications and attempts, for the SQLite backend: rows in and out.
//! The writer thread calls the write functions inside its batch transaction.

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use super::sqlite::{corrupt, timestamp};
use super::StoreError;
use crate::domain::{
    Attempt, AttemptOutcome, EventCode, Notification, NotificationId, NotificationStatus, PmCode,
    Resend, WebhookId,
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

/// A webhook's notifications of one event code created at or after `since`
/// (Unix seconds), oldest first, at most `count`.
pub fn by_event(
    conn: &Connection,
    webhook_id: WebhookId,
    code: EventCode,
    since: i64,
    count: u32,
) -> rusqlite::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications \
         WHERE webhook_id = ?1 AND event_code = ?2 AND created_time >= ?3 \
         ORDER BY created_time, rowid LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![webhook_id.to_string(), code.value(), since, count],
        read,
    )?;
    rows.collect()
}

/// The webhook's notifications among `ids`, in the order asked, each with its
/// attempts in order. Ids that are unknown, or another webhook's, are left out.
pub fn details(
    conn: &Connection,
    webhook_id: WebhookId,
    ids: &[NotificationId],
) -> rusqlite::Result<Vec<(Notification, Vec<Attempt>)>> {
    let webhook_id = webhook_id.to_string();
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(notification) = one(conn, &webhook_id, *id)? else {
            continue;
        };
        let attempts = conn
            .prepare_cached(
                "SELECT time_ms, http_status, error, latency_ms FROM attempts \
                 WHERE notification_id = ?1 ORDER BY attempt",
            )?
            .query_map([id.to_string()], |row| {
                Ok(Attempt {
                    time: from_unix_ms(row.get(0)?)?,
                    http_status: row.get(1)?,
                    error: row.get(2)?,
                    latency_ms: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        found.push((notification, attempts));
    }
    Ok(found)
}

/// The webhook's `Undelivered` notifications as (event code, id), by event code
/// and then oldest first.
pub fn undelivered(
    conn: &Connection,
    webhook_id: WebhookId,
) -> rusqlite::Result<Vec<(EventCode, NotificationId)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_code, id FROM notifications \
         WHERE webhook_id = ?1 AND status = 'Undelivered' \
         ORDER BY event_code, created_time, rowid",
    )?;
    let rows = stmt.query_map([webhook_id.to_string()], |row| {
        let code =
            EventCode::from_number(row.get(0)?, "event_code").map_err(|p| corrupt(p.message))?;
        let id: String = row.get(1)?;
        Ok((
            code,
            NotificationId::parse(&id).map_err(|p| corrupt(p.message))?,
        ))
    })?;
    rows.collect()
}

/// Starts a new delivery cycle for one of the webhook's notifications: a final
/// one (`Delivered` or `Undelivered`) becomes `Pending`, due `now`, with the
/// whole retry schedule ahead of it again. A notification still `Pending` is
/// already being delivered and is left alone; an unknown id (or another
/// webhook's) is `Invalid`.
pub fn resend(
    conn: &Connection,
    webhook_id: WebhookId,
    id: NotificationId,
    now: OffsetDateTime,
) -> rusqlite::Result<Resend> {
    let webhook_id = webhook_id.to_string();
    match one(conn, &webhook_id, id)? {
        None => return Ok(Resend::Invalid),
        Some(n) if n.status == NotificationStatus::Pending => return Ok(Resend::Unable),
        Some(_) => {}
    }
    conn.prepare_cached(
        "UPDATE notifications SET status = 'Pending', cycle_start = attempts, \
         next_attempt_ms = ?2, final_seq = NULL WHERE id = ?1",
    )?
    .execute(params![id.to_string(), unix_ms(now)])?;
    match one(conn, &webhook_id, id)? {
        Some(n) => Ok(Resend::Initiated(n)),
        None => Err(corrupt("a resent notification vanished".into())),
    }
}

fn one(
    conn: &Connection,
    webhook_id: &str,
    id: NotificationId,
) -> rusqlite::Result<Option<Notification>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id = ?1 AND webhook_id = ?2"
    ))?
    .query_row([id.to_string().as_str(), webhook_id], read)
    .optional()
}

fn from_unix_ms(ms: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| corrupt(e.to_string()))
}

fn read(row: &Row<'_>) -> rusqlite::Result<Notification> {
    let id: String = row.get(0)?;
    let webhook_id: String = row.get(1)?;
    let pm: String = row.get(2)?;
    let status: String = row.get(5)?;
    Ok(Notification {
        id: NotificationId::parse(&id).map_err(|p| corrupt(p.message))?,
        webhook_id: WebhookId::parse(&webhook_id).map_err(|p| corrupt(p.message))?,
        pm_code: PmCode::parse(&pm).map_err(|p| corrupt(p.message))?,
        event_code: EventCode::from_number(row.get(3)?, "event_code")
            .map_err(|p| corrupt(p.message))?,
        body: row.get(4)?,
        status: status.parse().map_err(corrupt)?,
        created_time: timestamp(row.get(6)?)?,
        last_sent_time: row.get::<_, Option<i64>>(7)?.map(timestamp).transpose()?,
        attempts: row.get(8)?,
        cycle_start: row.get(9)?,
        next_attempt: row
            .get::<_, Option<i64>>(10)?
            .map(from_unix_ms)
            .transpose()?,
    })
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
