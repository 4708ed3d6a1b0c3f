//! Notification and attempt rows: the outbox's SQL. The writer calls the write
//! functions inside its batch transaction; the reader threads call the reads.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use super::rows::{corrupt, from_unix_ms, from_unix_seconds};
use crate::domain::time::unix_ms;
use crate::domain::{
    Attempt, ClaimToken, EventCode, Notification, NotificationId, NotificationStatus, PmCode,
    ReceiverReply, WebhookId,
};

const COLUMNS: &str = "id, webhook_id, pm_code, event_code, body, status, created_time, \
                       last_sent_time, attempts, cycle_start, next_attempt_ms";
/// `COLUMNS` of the table aliased `n`, in the same order.
const PREFIXED: &str = "n.id, n.webhook_id, n.pm_code, n.event_code, n.body, n.status, \
                        n.created_time, n.last_sent_time, n.attempts, n.cycle_start, \
                        n.next_attempt_ms";

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

/// Writes where a notification stands (status, attempts, cycle, next attempt)
/// and releases its claim.
/// One that is now final is numbered after the webhook's last final one, for
/// [`recent_final`]; one pending again (resent) loses its number.
pub fn save_progress(conn: &Connection, n: &Notification) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE notifications SET status = ?2, last_sent_time = ?3, attempts = ?4, \
         cycle_start = ?5, next_attempt_ms = ?6, claim = NULL, lease_until_ms = NULL, \
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

/// The token of the claim holding a notification, if any.
pub fn claim_of(conn: &Connection, id: NotificationId) -> rusqlite::Result<Option<ClaimToken>> {
    let claim: Option<Option<String>> = conn
        .prepare_cached("SELECT claim FROM notifications WHERE id = ?1")?
        .query_row([id.to_string()], |row| row.get(0))
        .optional()?;
    Ok(claim.flatten().map(ClaimToken::from_stored))
}

/// Claims up to `limit` due notifications of active webhooks, soonest due
/// first, each with a new token of `engine` and a lease until `lease_until`;
/// parks the due notifications of webhooks that are not active (or missing) on
/// the way, at most a page of them per call, so one call stays short and the
/// engine never spins on a due notification it cannot claim.
pub fn claim_due(
    conn: &Connection,
    engine: &str,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: u32,
) -> rusqlite::Result<Vec<(Notification, ClaimToken, bool)>> {
    let now = unix_ms(now);
    // A few more rows than asked for: parked on the way, they make room.
    let page = limit.saturating_add(16);
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {PREFIXED}, n.claim IS NOT NULL, ifnull(w.status = 'active', 0) \
             FROM notifications n LEFT JOIN webhooks w ON w.id = n.webhook_id \
             WHERE n.status = 'Pending' AND n.next_attempt_ms <= ?1 \
               AND (n.claim IS NULL OR n.lease_until_ms <= ?1) \
             ORDER BY n.next_attempt_ms LIMIT ?2"
        ))?
        .query_map(params![now, page], |row| {
            Ok((read(row)?, row.get::<_, bool>(11)?, row.get::<_, bool>(12)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut claimed = Vec::new();
    for (notification, taken_over, active) in rows {
        let id = notification.id.to_string();
        if !active {
            conn.prepare_cached(
                "UPDATE notifications SET next_attempt_ms = NULL, claim = NULL, \
                 lease_until_ms = NULL WHERE id = ?1",
            )?
            .execute([&id])?;
        } else if claimed.len() < limit as usize {
            let token = ClaimToken::new(engine);
            conn.prepare_cached(
                "UPDATE notifications SET claim = ?2, lease_until_ms = ?3 WHERE id = ?1",
            )?
            .execute(params![id, token.as_str(), unix_ms(lease_until)])?;
            claimed.push((notification, token, taken_over));
        }
    }
    Ok(claimed)
}

/// The earliest next attempt of an unclaimed pending notification, or lease end
/// of a claimed one.
pub fn next_due(conn: &Connection) -> rusqlite::Result<Option<OffsetDateTime>> {
    let due: Option<i64> = conn
        .prepare_cached(
            "SELECT min(t) FROM ( \
               SELECT min(next_attempt_ms) AS t FROM notifications \
                 WHERE status = 'Pending' AND next_attempt_ms IS NOT NULL AND claim IS NULL \
               UNION ALL \
               SELECT min(lease_until_ms) FROM notifications WHERE claim IS NOT NULL)",
        )?
        .query_row([], |row| row.get(0))?;
    due.map(from_unix_ms).transpose()
}

/// Parks a notification: pending with no next attempt, unclaimed.
pub fn park(conn: &Connection, id: NotificationId) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE notifications SET next_attempt_ms = NULL, claim = NULL, lease_until_ms = NULL \
         WHERE id = ?1",
    )?
    .execute([id.to_string()])?;
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

/// How many notifications are pending, and the earliest due time.
pub fn backlog(conn: &Connection) -> rusqlite::Result<(u64, Option<OffsetDateTime>)> {
    let (pending, due): (u64, Option<i64>) = conn
        .prepare_cached(
            "SELECT count(*), min(next_attempt_ms) FROM notifications WHERE status = 'Pending'",
        )?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok((pending, due.map(from_unix_ms).transpose()?))
}

/// The statuses of the webhook's last `n` notifications to become final, newest first.
pub fn recent_final(
    conn: &Connection,
    webhook_id: WebhookId,
    n: u32,
) -> rusqlite::Result<Vec<NotificationStatus>> {
    let mut stmt = conn.prepare_cached(
        "SELECT status FROM notifications WHERE webhook_id = ?1 AND final_seq IS NOT NULL \
         ORDER BY final_seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![webhook_id.to_string(), n], |r| {
        r.get::<_, String>(0)?.parse().map_err(corrupt)
    })?;
    rows.collect()
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
pub fn delete_all(conn: &Connection) -> rusqlite::Result<u64> {
    conn.execute("DELETE FROM attempts", [])?;
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
        created_time: from_unix_seconds(row.get(6)?)?,
        last_sent_time: row
            .get::<_, Option<i64>>(7)?
            .map(from_unix_seconds)
            .transpose()?,
        attempts: row.get(8)?,
        cycle_start: row.get(9)?,
        next_attempt: row
            .get::<_, Option<i64>>(10)?
            .map(from_unix_ms)
            .transpose()?,
    })
}
