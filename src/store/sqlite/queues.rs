//! Webhook queues on SQLite: each webhook's health is a row (`queue_health`)
//! while it is not healthy, written only when it changes; the rest of a queue
//! (its due time, pending count and claims) lives in memory (`store::local`)
//! and is read from the notifications at start. A webhook with no row has a
//! healthy queue.

use rusqlite::{params, Connection, OptionalExtension};
use time::Duration;

use super::rows::{corrupt, from_unix_ms};
use crate::domain::time::unix_ms;
use crate::domain::{BackingOff, QueueHealth, WebhookId};
use crate::store::local::LocalQueues;

/// The webhook's queue health.
pub fn health(conn: &Connection, webhook: WebhookId) -> rusqlite::Result<QueueHealth> {
    type Row = (u32, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT failures, backoff_since_ms, backoff_until_ms, backoff_wait_ms, probe_until_ms \
             FROM queue_health WHERE webhook_id = ?1",
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

/// Writes the webhook's queue health; a healthy queue has no row.
pub fn save_health(
    conn: &Connection,
    webhook: WebhookId,
    health: &QueueHealth,
) -> rusqlite::Result<()> {
    if *health == QueueHealth::default() {
        conn.prepare_cached("DELETE FROM queue_health WHERE webhook_id = ?1")?
            .execute([webhook.to_string()])?;
        return Ok(());
    }
    let b = health.backoff.as_ref();
    conn.prepare_cached(
        "INSERT INTO queue_health (webhook_id, failures, backoff_since_ms, backoff_until_ms, \
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

/// Reads every webhook's queue into `queues` (at start, and after a write
/// that failed left the state in memory ahead of the rows): due time and
/// pending count from the pending notifications, health from its row. The
/// claims held stay.
pub fn load(conn: &Connection, queues: &mut LocalQueues) -> rusqlite::Result<()> {
    queues.forget_queues();
    let mut pending = conn.prepare_cached(
        "SELECT webhook_id, min(next_attempt_ms), count(*) FROM notifications \
         WHERE status = 'Pending' GROUP BY webhook_id",
    )?;
    let mut rows = pending.query([])?;
    while let Some(row) = rows.next()? {
        let webhook = webhook_id(&row.get::<_, String>(0)?)?;
        let due = row
            .get::<_, Option<i64>>(1)?
            .map(from_unix_ms)
            .transpose()?;
        let count: u64 = row.get(2)?;
        queues.restore(webhook, due, count, QueueHealth::default());
    }
    let mut health_rows = conn.prepare_cached("SELECT webhook_id FROM queue_health")?;
    let unhealthy = health_rows
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for webhook in unhealthy {
        let webhook = webhook_id(&webhook)?;
        let stored = health(conn, webhook)?;
        queues.set_health(webhook, stored);
    }
    // A claim held across a reload may make its queue's due time early; the
    // next claim from that queue finds nothing due and sets it right.
    Ok(())
}

fn webhook_id(raw: &str) -> rusqlite::Result<WebhookId> {
    WebhookId::parse(raw).map_err(|p| corrupt(p.message))
}

pub fn delete_all(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM queue_health", [])?;
    Ok(())
}

/// Forgets one webhook's queue health.
pub fn delete_of(conn: &Connection, webhook: WebhookId) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM queue_health WHERE webhook_id = ?1",
        [webhook.to_string()],
    )?;
    Ok(())
}
