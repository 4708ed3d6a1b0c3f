//! Webhook queue rows (`webhook_queues`): each webhook's soonest due time and
//! its health, kept in step with its notifications by the writer. A webhook
//! with no row has an empty, healthy queue; every write here is an upsert.

use rusqlite::{params, Connection, OptionalExtension};
use time::{Duration, OffsetDateTime};

use super::rows::from_unix_ms;
use crate::domain::time::unix_ms;
use crate::domain::{BackingOff, QueueHealth, WebhookId};

/// The webhook's queue health.
pub fn health(conn: &Connection, webhook: WebhookId) -> rusqlite::Result<QueueHealth> {
    type Row = (u32, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT failures, backoff_since_ms, backoff_until_ms, backoff_wait_ms, probe_until_ms \
             FROM webhook_queues WHERE webhook_id = ?1",
        )?
        .query_row([webhook.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((failures, since, until, wait, probe)) = row else {
        return Ok(QueueHealth::default());
    };
    let backoff = match (since, until, wait) {
        (Some(since), Some(until), Some(wait)) => Some(BackingOff {
            since: from_unix_ms(since)?,
            until: from_unix_ms(until)?,
            wait: Duration::milliseconds(wait),
        }),
        _ => None,
    };
    Ok(QueueHealth {
        failures,
        backoff,
        probe_until: probe.map(from_unix_ms).transpose()?,
    })
}

/// Writes the webhook's queue health.
pub fn save_health(
    conn: &Connection,
    webhook: WebhookId,
    health: &QueueHealth,
) -> rusqlite::Result<()> {
    let b = health.backoff.as_ref();
    conn.prepare_cached(
        "INSERT INTO webhook_queues (webhook_id, failures, backoff_since_ms, backoff_until_ms, \
         backoff_wait_ms, probe_until_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (webhook_id) DO UPDATE SET failures = ?2, backoff_since_ms = ?3, \
         backoff_until_ms = ?4, backoff_wait_ms = ?5, probe_until_ms = ?6",
    )?
    .execute(params![
        webhook.to_string(),
        health.failures,
        b.map(|b| unix_ms(b.since)),
        b.map(|b| unix_ms(b.until)),
        b.map(|b| b.wait.whole_milliseconds() as i64),
        health.probe_until.map(unix_ms),
    ])?;
    Ok(())
}

/// One of the webhook's notifications is (again) due at `due`, unclaimed,
/// and its pending notifications grew by `pending` (or shrank).
pub fn changed(
    conn: &Connection,
    webhook: &str,
    due: Option<i64>,
    pending: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO webhook_queues (webhook_id, due_ms, pending) VALUES (?1, ?2, max(?3, 0)) \
         ON CONFLICT (webhook_id) DO UPDATE SET \
           due_ms = CASE WHEN ?2 IS NULL THEN due_ms ELSE min(ifnull(due_ms, ?2), ?2) END, \
           pending = max(pending + ?3, 0)",
    )?
    .execute(params![webhook, due, pending])?;
    Ok(())
}

/// Sets the queue's due time from its notifications, after claims or parking
/// took some away.
pub fn refresh_due(conn: &Connection, webhook: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO webhook_queues (webhook_id, due_ms) VALUES (?1, ( \
           SELECT next_attempt_ms FROM notifications \
           WHERE webhook_id = ?1 AND status = 'Pending' AND next_attempt_ms IS NOT NULL \
             AND claim IS NULL ORDER BY next_attempt_ms LIMIT 1)) \
         ON CONFLICT (webhook_id) DO UPDATE SET due_ms = excluded.due_ms",
    )?
    .execute([webhook])?;
    Ok(())
}

/// The webhooks whose queue is ready at `now`, soonest ready first, at most `limit`.
pub fn ready(conn: &Connection, now: i64, limit: u32) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT webhook_id FROM webhook_queues WHERE ready_ms <= ?1 ORDER BY ready_ms LIMIT ?2",
    )?
    .query_map(params![now, limit], |row| row.get(0))?
    .collect()
}

/// The soonest a queue that is not ready at `now` will be.
pub fn next_ready(conn: &Connection, now: i64) -> rusqlite::Result<Option<OffsetDateTime>> {
    let at: Option<i64> = conn
        .prepare_cached("SELECT min(ready_ms) FROM webhook_queues WHERE ready_ms > ?1")?
        .query_row([now], |row| row.get(0))?;
    at.map(from_unix_ms).transpose()
}

/// Pending notifications in all, the soonest due time of a queue, and how
/// many queues back off: one row per webhook read, not one per notification.
pub fn summary(conn: &Connection) -> rusqlite::Result<(u64, Option<OffsetDateTime>, u64)> {
    let (pending, due, backing_off): (u64, Option<i64>, u64) = conn
        .prepare_cached(
            "SELECT ifnull(sum(pending), 0), min(due_ms), count(backoff_since_ms) \
             FROM webhook_queues",
        )?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok((pending, due.map(from_unix_ms).transpose()?, backing_off))
}

pub fn delete_all(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM webhook_queues", [])?;
    Ok(())
}
