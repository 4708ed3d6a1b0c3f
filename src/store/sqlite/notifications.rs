//! Notification and attempt rows: the outbox's SQL. The writer calls the write
//! functions inside its batch transaction; the reader threads call the reads.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use super::rows::{corrupt, from_unix_ms, from_unix_seconds};
use crate::domain::time::unix_ms;
use crate::domain::{
    Attempt, EventCode, Notification, NotificationId, NotificationStatus, PmCode, ReceiverReply,
    WebhookId,
};
use crate::store::{LogFilter, LogPage, LogScan};

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

/// Writes where a notification stands (status, attempts, cycle, next attempt).
/// One that is now final is numbered after the webhook's last final one, for
/// [`recent_final`]; one pending again (resent) loses its number.
pub fn save_progress(conn: &Connection, n: &Notification) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE notifications SET status = ?2, last_sent_time = ?3, attempts = ?4, \
         cycle_start = ?5, next_attempt_ms = ?6, \
         final_seq = CASE WHEN ?2 = 'Pending' THEN NULL ELSE \
           (SELECT ifnull(max(final_seq), 0) + 1 FROM notifications \
            WHERE webhook_id = ?7 AND final_seq IS NOT NULL) END \
         WHERE id = ?1",
    )?
    .execute(params![
        n.id.to_string(),
        n.status.as_str(),
        n.last_sent_time.map(OffsetDateTime::unix_timestamp),
        n.attempts,
        n.cycle_start,
        n.next_attempt.map(unix_ms),
        n.webhook_id.to_string(),
    ])?;
    Ok(())
}

/// Stores attempt number `number` of a notification.
pub fn insert_attempt(
    conn: &Connection,
    id: NotificationId,
    number: u32,
    attempt: &Attempt,
) -> rusqlite::Result<()> {
    let reply = attempt.reply.as_ref();
    conn.prepare_cached(
        "INSERT INTO attempts (notification_id, attempt, time_ms, http_status, error, latency_ms, \
         request_headers, response_headers, response_body, response_body_truncated) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id.to_string(),
        number,
        unix_ms(attempt.time),
        attempt.http_status,
        attempt.error,
        attempt.latency_ms,
        headers_json(&attempt.request_headers),
        reply.map(|r| headers_json(&r.headers)),
        reply.map(|r| r.body.as_str()),
        reply.map(|r| r.body_truncated),
    ])?;
    Ok(())
}

/// Makes the webhook's parked notifications due at `now`; answers how many.
pub fn unpark(
    conn: &Connection,
    webhook_id: WebhookId,
    now: OffsetDateTime,
) -> rusqlite::Result<u64> {
    let changed = conn
        .prepare_cached(
            "UPDATE notifications SET next_attempt_ms = ?2 \
             WHERE webhook_id = ?1 AND status = 'Pending' AND next_attempt_ms IS NULL",
        )?
        .execute(params![webhook_id.to_string(), unix_ms(now)])?;
    Ok(changed as u64)
}

/// Parks the webhook's notifications due at `now`: pending, with no next
/// attempt, until it is set active again.
pub fn park_due(
    conn: &Connection,
    webhook_id: WebhookId,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE notifications SET next_attempt_ms = NULL \
         WHERE webhook_id = ?1 AND status = 'Pending' AND next_attempt_ms <= ?2",
    )?
    .execute(params![webhook_id.to_string(), unix_ms(now)])?;
    Ok(())
}

/// The statuses of the webhook's last `n` notifications to become final, newest first.
pub fn recent_final(
    conn: &Connection,
    webhook_id: WebhookId,
    n: u32,
) -> rusqlite::Result<Vec<NotificationStatus>> {
    // Without `LIMIT ?`, which makes SQLite prepare the statement again at
    // every run; the index gives the order and reading stops after `n`.
    let mut stmt = conn.prepare_cached(
        "SELECT status FROM notifications WHERE webhook_id = ?1 AND final_seq IS NOT NULL \
         ORDER BY final_seq DESC",
    )?;
    let rows = stmt.query_map(params![webhook_id.to_string()], |r| {
        r.get::<_, String>(0)?.parse().map_err(corrupt)
    })?;
    rows.take(n as usize).collect()
}

/// The webhook's pending notifications with a next attempt, soonest first, at
/// most `limit`: the claimed ones among them are skipped by the caller.
pub fn soonest(
    conn: &Connection,
    webhook: WebhookId,
    limit: u32,
) -> rusqlite::Result<Vec<Notification>> {
    // No `LIMIT ?`: SQLite prepares a statement with a bound LIMIT and an
    // ORDER BY again at every run (7% of the service's CPU under
    // `bash bench/profile deliver` when it was here; see the test below). The
    // index gives the order, so reading stops after `limit` rows.
    let mut stmt = conn.prepare_cached(&soonest_sql())?;
    let rows = stmt.query_map(params![webhook.to_string()], read)?;
    rows.take(limit as usize).collect()
}

fn soonest_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM notifications \
         WHERE webhook_id = ?1 AND status = 'Pending' AND next_attempt_ms IS NOT NULL \
         ORDER BY next_attempt_ms"
    )
}

/// One notification by id, whichever webhook's.
pub fn find(conn: &Connection, id: NotificationId) -> rusqlite::Result<Option<Notification>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id = ?1"
    ))?
    .query_row([id.to_string()], read)
    .optional()
}

/// One of the webhook's notifications by id.
pub fn find_for(
    conn: &Connection,
    webhook_id: WebhookId,
    id: NotificationId,
) -> rusqlite::Result<Option<Notification>> {
    Ok(find(conn, id)?.filter(|n| n.webhook_id == webhook_id))
}

/// The notifications that match `filter`, newest first (by row), as `scan`
/// says, each with its last attempt. A filter by id reads by key; otherwise
/// one page reads at most `scan.window` rows back from `scan.before` (by
/// rowid), so a filter that matches little costs a bounded read however big
/// the table is, and `next` continues below the window.
pub fn recent(conn: &Connection, filter: &LogFilter, scan: LogScan) -> rusqlite::Result<LogPage> {
    if let Some(id) = filter.id {
        let mut entries = Vec::with_capacity(1);
        if let Some(n) = find(conn, id)?.filter(|n| filter.matches(n)) {
            let attempt = last_attempt(conn, n.id)?;
            entries.push((n, attempt));
        }
        return Ok(LogPage {
            entries,
            next: None,
        });
    }
    let top = match scan.before {
        Some(before) => i64::try_from(before).unwrap_or(i64::MAX).saturating_sub(1),
        None => conn
            .prepare_cached("SELECT ifnull(max(rowid), 0) FROM notifications")?
            .query_row([], |r| r.get(0))?,
    };
    let window = i64::try_from(scan.window).unwrap_or(i64::MAX).max(1);
    let bottom = top.saturating_sub(window - 1).max(1);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT rowid, {COLUMNS} FROM notifications \
         WHERE rowid BETWEEN ?6 AND ?7 \
           AND (?1 IS NULL OR pm_code = ?1) AND (?2 IS NULL OR webhook_id = ?2) \
           AND (?3 IS NULL OR event_code = ?3) AND (?4 IS NULL OR status = ?4) \
           AND (?8 IS NULL OR created_time >= ?8) AND (?9 IS NULL OR created_time < ?9) \
         ORDER BY rowid DESC LIMIT ?5"
    ))?;
    let rows = stmt
        .query_map(
            params![
                filter.pm.as_ref().map(PmCode::as_str),
                filter.webhook.map(|w| w.to_string()),
                filter.event.map(EventCode::value),
                filter.status.map(NotificationStatus::as_str),
                scan.limit.saturating_add(1),
                bottom,
                top,
                filter.since.map(OffsetDateTime::unix_timestamp),
                filter.until.map(OffsetDateTime::unix_timestamp),
            ],
            |row| Ok((row.get::<_, i64>(0)?, read_from(row, 1)?)),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let more = rows.len() > scan.limit as usize;
    let mut entries = Vec::with_capacity(rows.len().min(scan.limit as usize));
    let mut last_row = None;
    for (row, n) in rows.into_iter().take(scan.limit as usize) {
        let attempt = last_attempt(conn, n.id)?;
        last_row = Some(row);
        entries.push((n, attempt));
    }
    let next = if more {
        last_row
    } else {
        // The window ended: go on below it if anything is there.
        conn.prepare_cached("SELECT 1 FROM notifications WHERE rowid < ?1 LIMIT 1")?
            .query_row([bottom], |_| Ok(()))
            .optional()?
            .map(|()| bottom)
    };
    Ok(LogPage {
        entries,
        next: next.and_then(|r| u64::try_from(r).ok()),
    })
}

fn last_attempt(conn: &Connection, id: NotificationId) -> rusqlite::Result<Option<Attempt>> {
    conn.prepare_cached(
        "SELECT time_ms, http_status, error, latency_ms, request_headers, \
         response_headers, response_body, response_body_truncated FROM attempts \
         WHERE notification_id = ?1 ORDER BY attempt DESC LIMIT 1",
    )?
    .query_row([id.to_string()], read_attempt)
    .optional()
}

/// Every pending notification, oldest first.
pub fn pending(conn: &Connection) -> rusqlite::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE status = 'Pending' ORDER BY rowid"
    ))?;
    let rows = stmt.query_map([], read)?;
    rows.collect()
}

/// A webhook's notifications of one event code created at or after `since`,
/// oldest first, at most `count`.
pub fn by_event(
    conn: &Connection,
    webhook_id: WebhookId,
    code: EventCode,
    since: OffsetDateTime,
    count: u32,
) -> rusqlite::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications \
         WHERE webhook_id = ?1 AND event_code = ?2 AND created_time >= ?3 \
         ORDER BY created_time, rowid LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            webhook_id.to_string(),
            code.value(),
            since.unix_timestamp(),
            count
        ],
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
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(notification) = find_for(conn, webhook_id, *id)? else {
            continue;
        };
        let attempts = conn
            .prepare_cached(
                "SELECT time_ms, http_status, error, latency_ms, request_headers, \
                 response_headers, response_body, response_body_truncated FROM attempts \
                 WHERE notification_id = ?1 ORDER BY attempt",
            )?
            .query_map([id.to_string()], read_attempt)?
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

/// Deletes at most `limit` final notifications that became final before
/// `before` (Unix seconds), with their attempts; answers how many. Pending
/// ones are never deleted.
pub fn purge(conn: &Connection, before: OffsetDateTime, limit: u32) -> rusqlite::Result<u64> {
    let ids = conn
        .prepare_cached(
            "SELECT id FROM notifications WHERE status <> 'Pending' AND last_sent_time < ?1 \
             ORDER BY last_sent_time LIMIT ?2",
        )?
        .query_map(params![before.unix_timestamp(), limit], |row| {
            row.get::<_, String>(0)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for id in &ids {
        conn.prepare_cached("DELETE FROM attempts WHERE notification_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM notifications WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(ids.len() as u64)
}

/// Deletes every notification and attempt; answers how many notifications there were.
/// Deletes one program manager's notifications, their attempts, and the
/// health of its webhooks' queues (`webhooks`); answers how many notifications.
pub fn delete_of(conn: &Connection, pm: &PmCode, webhooks: &[WebhookId]) -> rusqlite::Result<u64> {
    conn.execute(
        "DELETE FROM attempts WHERE notification_id IN \
         (SELECT id FROM notifications WHERE pm_code = ?1)",
        [pm.as_str()],
    )?;
    for webhook in webhooks {
        super::queues::delete_of(conn, *webhook)?;
    }
    Ok(conn.execute(
        "DELETE FROM notifications WHERE pm_code = ?1",
        [pm.as_str()],
    )? as u64)
}

/// Deletes one webhook's notifications, their attempts and its queue;
/// answers how many notifications.
pub fn delete_of_webhook(conn: &Connection, webhook: WebhookId) -> rusqlite::Result<u64> {
    conn.execute(
        "DELETE FROM attempts WHERE notification_id IN \
         (SELECT id FROM notifications WHERE webhook_id = ?1)",
        [webhook.to_string()],
    )?;
    super::queues::delete_of(conn, webhook)?;
    Ok(conn.execute(
        "DELETE FROM notifications WHERE webhook_id = ?1",
        [webhook.to_string()],
    )? as u64)
}

pub fn delete_all(conn: &Connection) -> rusqlite::Result<u64> {
    conn.execute("DELETE FROM attempts", [])?;
    super::queues::delete_all(conn)?;
    Ok(conn.execute("DELETE FROM notifications", [])? as u64)
}

fn headers_json(headers: &BTreeMap<String, String>) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "{}".into())
}

fn headers_from(json: Option<String>) -> rusqlite::Result<BTreeMap<String, String>> {
    json.map_or(Ok(BTreeMap::new()), |json| {
        serde_json::from_str(&json).map_err(|e| corrupt(e.to_string()))
    })
}

/// An attempt row; a row from before schema version 3 has no headers and no reply.
fn read_attempt(row: &Row<'_>) -> rusqlite::Result<Attempt> {
    let response_headers: Option<String> = row.get(5)?;
    let reply = match response_headers {
        None => None,
        Some(headers) => Some(ReceiverReply {
            headers: headers_from(Some(headers))?,
            body: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
            body_truncated: row.get::<_, Option<bool>>(7)?.unwrap_or(false),
        }),
    };
    Ok(Attempt {
        time: from_unix_ms(row.get(0)?)?,
        http_status: row.get(1)?,
        error: row.get(2)?,
        latency_ms: row.get(3)?,
        request_headers: headers_from(row.get(4)?)?,
        reply,
    })
}

fn read(row: &Row<'_>) -> rusqlite::Result<Notification> {
    read_from(row, 0)
}

/// A notification from `COLUMNS`, starting at column `at`.
fn read_from(row: &Row<'_>, at: usize) -> rusqlite::Result<Notification> {
    let id: String = row.get(at)?;
    let webhook_id: String = row.get(at + 1)?;
    let pm: String = row.get(at + 2)?;
    let status: String = row.get(at + 5)?;
    Ok(Notification {
        id: NotificationId::parse(&id).map_err(|p| corrupt(p.message))?,
        webhook_id: WebhookId::parse(&webhook_id).map_err(|p| corrupt(p.message))?,
        pm_code: PmCode::parse(&pm).map_err(|p| corrupt(p.message))?,
        event_code: EventCode::from_number(row.get(at + 3)?, "event_code")
            .map_err(|p| corrupt(p.message))?,
        body: row.get(at + 4)?,
        status: status.parse().map_err(corrupt)?,
        created_time: from_unix_seconds(row.get(at + 6)?)?,
        last_sent_time: row
            .get::<_, Option<i64>>(at + 7)?
            .map(from_unix_seconds)
            .transpose()?,
        attempts: row.get(at + 8)?,
        cycle_start: row.get(at + 9)?,
        next_attempt: row
            .get::<_, Option<i64>>(at + 10)?
            .map(from_unix_ms)
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// The claim's read is prepared once, not at every run: the same query
    /// with a bound `LIMIT` is prepared again each time (which is why it has
    /// none), so the test sees the difference it guards.
    #[test]
    fn the_claims_read_is_not_prepared_again_at_every_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = Connection::open(dir.path().join("reprepare.db")).expect("open");
        conn.execute_batch(super::super::schema::SCHEMA)
            .expect("schema");
        let webhook = WebhookId::generate();
        for _ in 0..10 {
            soonest(&conn, webhook, 3).expect("soonest");
        }
        let reprepared = |sql: &str| {
            conn.prepare_cached(sql)
                .expect("cached")
                .get_status(StatementStatus::RePrepare)
        };
        assert_eq!(reprepared(&soonest_sql()), 0, "prepared once");

        let limited = format!("{} LIMIT ?2", soonest_sql());
        for _ in 0..10 {
            conn.prepare_cached(&limited)
                .expect("prepare")
                .query_map(params![webhook.to_string(), 3], read)
                .expect("query")
                .for_each(drop);
        }
        assert_eq!(
            reprepared(&limited),
            10,
            "a bound LIMIT: again at every run"
        );
    }
}
