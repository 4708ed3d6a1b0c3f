//! Notification, attempt and queue rows: the outbox's SQL on PostgreSQL. The
//! same rules as the SQLite backend's (`store/sqlite/notifications.rs` and
//! `queues.rs`), with row locks where SQLite has its one writer: a claim
//! takes ready queues `FOR UPDATE SKIP LOCKED`, so nodes claiming at once
//! take different webhooks' notifications and never the same one.

use std::collections::BTreeMap;

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::rows::{classify, corrupt, millis, seconds};
use super::sql::{exec, one, opt, query};
use crate::domain::time::unix_ms;
use crate::domain::{
    Attempt, ClaimToken, EventCode, Notification, NotificationId, NotificationStatus, PmCode,
    ReceiverReply, WebhookId,
};
use crate::store::{LogFilter, LogPage, LogScan, StoreError};

const COLUMNS: &str = "id, webhook_id, pm_code, event_code, body, status, created_time, \
                       last_sent_time, attempts, cycle_start, next_attempt_ms";
const ATTEMPT_COLUMNS: &str = "time_ms, http_status, error, latency_ms, request_headers, \
                               response_headers, response_body, response_body_truncated";

type Result<T> = std::result::Result<T, StoreError>;

fn read(row: &Row) -> Result<Notification> {
    read_from(row, 0)
}

fn read_from(row: &Row, at: usize) -> Result<Notification> {
    let text = |i: usize| row.try_get::<_, String>(at + i).map_err(classify);
    let int = |i: usize| row.try_get::<_, i64>(at + i).map_err(classify);
    let maybe = |i: usize| row.try_get::<_, Option<i64>>(at + i).map_err(classify);
    Ok(Notification {
        id: NotificationId::parse(&text(0)?).map_err(|p| corrupt(p.message))?,
        webhook_id: WebhookId::parse(&text(1)?).map_err(|p| corrupt(p.message))?,
        pm_code: PmCode::parse(&text(2)?).map_err(|p| corrupt(p.message))?,
        event_code: EventCode::from_number(int(3)?, "event_code")
            .map_err(|p| corrupt(p.message))?,
        body: text(4)?,
        status: text(5)?.parse().map_err(corrupt)?,
        created_time: seconds(int(6)?)?,
        last_sent_time: maybe(7)?.map(seconds).transpose()?,
        attempts: u32::try_from(int(8)?).unwrap_or(0),
        cycle_start: u32::try_from(int(9)?).unwrap_or(0),
        next_attempt: maybe(10)?.map(millis).transpose()?,
    })
}

fn headers_json(headers: &BTreeMap<String, String>) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "{}".into())
}

fn headers_from(json: Option<String>) -> Result<BTreeMap<String, String>> {
    json.map_or(Ok(BTreeMap::new()), |json| {
        serde_json::from_str(&json).map_err(|e| corrupt(e.to_string()))
    })
}

fn read_attempt(row: &Row) -> Result<Attempt> {
    let response_headers: Option<String> = row.try_get(5).map_err(classify)?;
    let reply = match response_headers {
        None => None,
        Some(headers) => Some(ReceiverReply {
            headers: headers_from(Some(headers))?,
            body: row
                .try_get::<_, Option<String>>(6)
                .map_err(classify)?
                .unwrap_or_default(),
            body_truncated: row
                .try_get::<_, Option<bool>>(7)
                .map_err(classify)?
                .unwrap_or(false),
        }),
    };
    Ok(Attempt {
        time: millis(row.try_get(0).map_err(classify)?)?,
        http_status: row
            .try_get::<_, Option<i64>>(1)
            .map_err(classify)?
            .and_then(|s| u16::try_from(s).ok()),
        error: row.try_get(2).map_err(classify)?,
        latency_ms: u64::try_from(row.try_get::<_, i64>(3).map_err(classify)?).unwrap_or(0),
        request_headers: headers_from(row.try_get(4).map_err(classify)?)?,
        reply,
    })
}

pub async fn insert<C: GenericClient>(c: &C, n: &Notification) -> Result<()> {
    // With its queue's signal, in one statement (see schema.sql, version 2).
    exec(
        c,
        "WITH n AS (INSERT INTO notifications (id, webhook_id, pm_code, event_code, body, status, \
         created_time, last_sent_time, attempts, cycle_start, next_attempt_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING webhook_id, next_attempt_ms) \
         INSERT INTO queue_signals (webhook_id, due_ms) \
         SELECT webhook_id, next_attempt_ms FROM n WHERE next_attempt_ms IS NOT NULL",
        &[
            &n.id.to_string(),
            &n.webhook_id.to_string(),
            &n.pm_code.as_str(),
            &i64::from(n.event_code.value()),
            &n.body,
            &n.status.as_str(),
            &n.created_time.unix_timestamp(),
            &n.last_sent_time.map(OffsetDateTime::unix_timestamp),
            &i64::from(n.attempts),
            &i64::from(n.cycle_start),
            &n.next_attempt.map(unix_ms),
        ],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// Writes where a notification stands and releases its claim; one now final
/// takes the next number of `final_order`, one pending again loses it. One
/// due again (a retry, a resend, deliver now), or one whose claim this
/// releases, signals its queue. Its row is locked already (`find_locked`).
pub async fn save_progress<C: GenericClient>(c: &C, n: &Notification) -> Result<()> {
    exec(
        c,
        "WITH old AS (SELECT id, claim IS NOT NULL AS held FROM notifications WHERE id = $1), \
         u AS (UPDATE notifications n SET status = $2, last_sent_time = $3, attempts = $4, \
           cycle_start = $5, next_attempt_ms = $6, claim = NULL, lease_until_ms = NULL, \
           final_seq = CASE WHEN $2 = 'Pending' THEN NULL ELSE nextval('final_order') END \
           FROM old WHERE n.id = old.id \
           RETURNING n.webhook_id, n.status, n.next_attempt_ms, old.held) \
         INSERT INTO queue_signals (webhook_id, due_ms, released) \
         SELECT webhook_id, CASE WHEN status = 'Pending' THEN next_attempt_ms END, held::int \
         FROM u WHERE held OR (status = 'Pending' AND next_attempt_ms IS NOT NULL)",
        &[
            &n.id.to_string(),
            &n.status.as_str(),
            &n.last_sent_time.map(OffsetDateTime::unix_timestamp),
            &i64::from(n.attempts),
            &i64::from(n.cycle_start),
            &n.next_attempt.map(unix_ms),
        ],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

pub async fn insert_attempt<C: GenericClient>(
    c: &C,
    id: NotificationId,
    number: u32,
    attempt: &Attempt,
) -> Result<()> {
    let reply = attempt.reply.as_ref();
    exec(
        c,
        &format!(
            "INSERT INTO attempts (notification_id, attempt, {ATTEMPT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        &[
            &id.to_string(),
            &i64::from(number),
            &unix_ms(attempt.time),
            &attempt.http_status.map(i64::from),
            &attempt.error,
            &i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX),
            &headers_json(&attempt.request_headers),
            &reply.map(|r| headers_json(&r.headers)),
            &reply.map(|r| r.body.as_str()),
            &reply.map(|r| r.body_truncated),
        ],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// The notification and the token of the claim holding it, its row locked
/// for the transaction.
pub async fn find_locked<C: GenericClient>(
    c: &C,
    id: NotificationId,
) -> Result<Option<(Notification, Option<ClaimToken>)>> {
    let row = opt(
        c,
        &format!("SELECT {COLUMNS}, claim FROM notifications WHERE id = $1 FOR UPDATE"),
        &[&id.to_string()],
    )
    .await
    .map_err(classify)?;
    row.map(|row| {
        let claim: Option<String> = row.try_get(11).map_err(classify)?;
        Ok((read(&row)?, claim.map(ClaimToken::from_stored)))
    })
    .transpose()
}

pub async fn find<C: GenericClient>(c: &C, id: NotificationId) -> Result<Option<Notification>> {
    opt(
        c,
        &format!("SELECT {COLUMNS} FROM notifications WHERE id = $1"),
        &[&id.to_string()],
    )
    .await
    .map_err(classify)?
    .map(|row| read(&row))
    .transpose()
}

/// Sets the queue's due time from its notifications.
pub async fn refresh_due<C: GenericClient>(c: &C, webhook: &str) -> Result<()> {
    exec(
        c,
        "INSERT INTO webhook_queues (webhook_id, due_ms) VALUES ($1, ( \
           SELECT next_attempt_ms FROM notifications \
           WHERE webhook_id = $1 AND status = 'Pending' AND next_attempt_ms IS NOT NULL \
             AND claim IS NULL ORDER BY next_attempt_ms LIMIT 1)) \
         ON CONFLICT (webhook_id) DO UPDATE SET due_ms = excluded.due_ms",
        &[&webhook],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// Claims whose lease ended by `now`, soonest ended first; rows another
/// transaction holds are skipped, not waited for.
pub async fn lapsed<C: GenericClient>(
    c: &C,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<Notification>> {
    query(
        c,
        &format!(
            "SELECT {COLUMNS} FROM notifications WHERE claim IS NOT NULL AND lease_until_ms <= $1 \
             ORDER BY lease_until_ms, next_attempt_ms LIMIT $2 FOR UPDATE SKIP LOCKED"
        ),
        &[&unix_ms(now), &i64::from(limit)],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(read)
    .collect()
}

/// The webhook's unclaimed notifications due at `now`, soonest first.
pub async fn due<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<Notification>> {
    query(
        c,
        &format!(
            "SELECT {COLUMNS} FROM notifications \
             WHERE webhook_id = $1 AND status = 'Pending' AND next_attempt_ms <= $2 \
               AND claim IS NULL ORDER BY next_attempt_ms LIMIT $3 FOR UPDATE SKIP LOCKED"
        ),
        &[&webhook.to_string(), &unix_ms(now), &i64::from(limit)],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(read)
    .collect()
}

/// Parks the webhook's unclaimed notifications due at `now`.
pub async fn park_due<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
    now: OffsetDateTime,
) -> Result<()> {
    exec(
        c,
        "UPDATE notifications SET next_attempt_ms = NULL \
         WHERE webhook_id = $1 AND status = 'Pending' AND next_attempt_ms <= $2 \
           AND claim IS NULL",
        &[&webhook.to_string(), &unix_ms(now)],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// The soonest a queue that is not ready at `now` will be, or a lease ends.
pub async fn next_look<C: GenericClient>(
    c: &C,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>> {
    let now_ms = unix_ms(now);
    let row = one(
        c,
        "SELECT (SELECT min(lease_until_ms) FROM notifications \
                 WHERE claim IS NOT NULL AND lease_until_ms > $1), \
                (SELECT min(ready_ms) FROM webhook_queues WHERE ready_ms > $1)",
        &[&now_ms],
    )
    .await
    .map_err(classify)?;
    let lease: Option<i64> = row.try_get(0).map_err(classify)?;
    let ready: Option<i64> = row.try_get(1).map_err(classify)?;
    lease.into_iter().chain(ready).min().map(millis).transpose()
}

/// Claims `n` under `token` until `until`; a new claim (not one taken over
/// from a lapsed lease) counts in its queue, whose row the caller holds.
pub async fn take<C: GenericClient>(
    c: &C,
    n: &Notification,
    token: &ClaimToken,
    until: OffsetDateTime,
) -> Result<()> {
    exec(
        c,
        "WITH old AS (SELECT id, webhook_id, claim IS NULL AS fresh FROM notifications \
           WHERE id = $1), \
         u AS (UPDATE notifications n SET claim = $2, lease_until_ms = $3 FROM old \
           WHERE n.id = old.id RETURNING old.webhook_id, old.fresh) \
         UPDATE webhook_queues q SET in_flight = q.in_flight + 1 FROM u \
         WHERE u.fresh AND q.webhook_id = u.webhook_id",
        &[&n.id.to_string(), &token.as_str(), &unix_ms(until)],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// Makes the webhook's parked notifications due at `now`.
pub async fn unpark<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
    now: OffsetDateTime,
) -> Result<()> {
    let webhook = webhook.to_string();
    exec(
        c,
        "UPDATE notifications SET next_attempt_ms = $2 \
         WHERE webhook_id = $1 AND status = 'Pending' AND next_attempt_ms IS NULL",
        &[&webhook, &unix_ms(now)],
    )
    .await
    .map_err(classify)?;
    refresh_due(c, &webhook).await
}

/// The statuses of the webhook's last `n` notifications to become final, newest first.
pub async fn recent_final<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
    n: u32,
) -> Result<Vec<NotificationStatus>> {
    query(
        c,
        "SELECT status FROM notifications WHERE webhook_id = $1 AND final_seq IS NOT NULL \
         ORDER BY final_seq DESC LIMIT $2",
        &[&webhook.to_string(), &i64::from(n)],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(|row| {
        row.try_get::<_, String>(0)
            .map_err(classify)?
            .parse()
            .map_err(corrupt)
    })
    .collect()
}

/// Pending notifications in all, the soonest due time, queues backing off.
pub async fn summary<C: GenericClient>(c: &C) -> Result<(u64, Option<OffsetDateTime>, u64)> {
    let row = one(
        c,
        "SELECT (SELECT count(*) FROM notifications WHERE status = 'Pending'), \
                (SELECT min(next_attempt_ms) FROM notifications \
                 WHERE status = 'Pending' AND claim IS NULL), \
                (SELECT count(*) FROM webhook_queues WHERE backoff_since_ms IS NOT NULL)",
        &[],
    )
    .await
    .map_err(classify)?;
    let pending: i64 = row.try_get(0).map_err(classify)?;
    let due: Option<i64> = row.try_get(1).map_err(classify)?;
    let backing_off: i64 = row.try_get(2).map_err(classify)?;
    Ok((
        u64::try_from(pending).unwrap_or(0),
        due.map(millis).transpose()?,
        u64::try_from(backing_off).unwrap_or(0),
    ))
}

async fn last_attempt<C: GenericClient>(c: &C, id: NotificationId) -> Result<Option<Attempt>> {
    opt(
        c,
        &format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE notification_id = $1 \
             ORDER BY attempt DESC LIMIT 1"
        ),
        &[&id.to_string()],
    )
    .await
    .map_err(classify)?
    .map(|row| read_attempt(&row))
    .transpose()
}

/// The log: see `store::Outbox::recent` and the SQLite backend's `recent`.
pub async fn recent<C: GenericClient>(c: &C, filter: &LogFilter, scan: LogScan) -> Result<LogPage> {
    if let Some(id) = filter.id {
        let mut entries = Vec::with_capacity(1);
        if let Some(n) = find(c, id).await?.filter(|n| filter.matches(n)) {
            let attempt = last_attempt(c, n.id).await?;
            entries.push((n, attempt));
        }
        return Ok(LogPage {
            entries,
            next: None,
        });
    }
    let top: i64 = match scan.before {
        Some(before) => i64::try_from(before).unwrap_or(i64::MAX).saturating_sub(1),
        None => one(c, "SELECT COALESCE(max(seq), 0) FROM notifications", &[])
            .await
            .map_err(classify)?
            .try_get(0)
            .map_err(classify)?,
    };
    let window = i64::try_from(scan.window).unwrap_or(i64::MAX).max(1);
    let bottom = top.saturating_sub(window - 1).max(1);
    let rows = query(
        c,
        &format!(
            "SELECT seq, {COLUMNS} FROM notifications \
             WHERE seq BETWEEN $6 AND $7 \
               AND ($1::text IS NULL OR pm_code = $1) AND ($2::text IS NULL OR webhook_id = $2) \
               AND ($3::bigint IS NULL OR event_code = $3) AND ($4::text IS NULL OR status = $4) \
               AND ($8::bigint IS NULL OR created_time >= $8) \
               AND ($9::bigint IS NULL OR created_time < $9) \
             ORDER BY seq DESC LIMIT $5"
        ),
        &[
            &filter.pm.as_ref().map(PmCode::as_str),
            &filter.webhook.map(|w| w.to_string()),
            &filter.event.map(|e| i64::from(e.value())),
            &filter.status.map(NotificationStatus::as_str),
            &i64::from(scan.limit.saturating_add(1)),
            &bottom,
            &top,
            &filter.since.map(OffsetDateTime::unix_timestamp),
            &filter.until.map(OffsetDateTime::unix_timestamp),
        ],
    )
    .await
    .map_err(classify)?;
    let more = rows.len() > scan.limit as usize;
    let mut entries = Vec::with_capacity(rows.len().min(scan.limit as usize));
    let mut last_seq = None;
    for row in rows.iter().take(scan.limit as usize) {
        let n = read_from(row, 1)?;
        let attempt = last_attempt(c, n.id).await?;
        last_seq = Some(row.try_get::<_, i64>(0).map_err(classify)?);
        entries.push((n, attempt));
    }
    let next = if more {
        last_seq
    } else {
        opt(
            c,
            "SELECT 1 FROM notifications WHERE seq < $1 LIMIT 1",
            &[&bottom],
        )
        .await
        .map_err(classify)?
        .map(|_| bottom)
    };
    Ok(LogPage {
        entries,
        next: next.and_then(|s| u64::try_from(s).ok()),
    })
}

pub async fn pending<C: GenericClient>(c: &C) -> Result<Vec<Notification>> {
    query(
        c,
        &format!("SELECT {COLUMNS} FROM notifications WHERE status = 'Pending' ORDER BY seq"),
        &[],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(read)
    .collect()
}

pub async fn by_event<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
    code: EventCode,
    since: OffsetDateTime,
    count: u32,
) -> Result<Vec<Notification>> {
    query(
        c,
        &format!(
            "SELECT {COLUMNS} FROM notifications \
             WHERE webhook_id = $1 AND event_code = $2 AND created_time >= $3 \
             ORDER BY created_time, seq LIMIT $4"
        ),
        &[
            &webhook.to_string(),
            &i64::from(code.value()),
            &since.unix_timestamp(),
            &i64::from(count),
        ],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(read)
    .collect()
}

pub async fn details<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
    ids: &[NotificationId],
) -> Result<Vec<(Notification, Vec<Attempt>)>> {
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(n) = find(c, *id).await?.filter(|n| n.webhook_id == webhook) else {
            continue;
        };
        let attempts = query(
            c,
            &format!(
                "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE notification_id = $1 ORDER BY attempt"
            ),
            &[&id.to_string()],
        )
        .await
        .map_err(classify)?
        .iter()
        .map(read_attempt)
        .collect::<Result<Vec<_>>>()?;
        found.push((n, attempts));
    }
    Ok(found)
}

pub async fn undelivered<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
) -> Result<Vec<(EventCode, NotificationId)>> {
    query(
        c,
        "SELECT event_code, id FROM notifications WHERE webhook_id = $1 AND status = 'Undelivered' \
         ORDER BY event_code, created_time, seq",
        &[&webhook.to_string()],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(|row| {
        let code = EventCode::from_number(row.try_get(0).map_err(classify)?, "event_code")
            .map_err(|p| corrupt(p.message))?;
        let id: String = row.try_get(1).map_err(classify)?;
        Ok((code, NotificationId::parse(&id).map_err(|p| corrupt(p.message))?))
    })
    .collect()
}

/// Deletes at most `limit` final notifications that became final before
/// `before`, with their attempts (by the foreign key's cascade).
pub async fn purge<C: GenericClient>(c: &C, before: OffsetDateTime, limit: u32) -> Result<u64> {
    exec(
        c,
        "DELETE FROM notifications WHERE id IN ( \
           SELECT id FROM notifications WHERE status <> 'Pending' AND last_sent_time < $1 \
           ORDER BY last_sent_time LIMIT $2 FOR UPDATE SKIP LOCKED)",
        &[&before.unix_timestamp(), &i64::from(limit)],
    )
    .await
    .map_err(classify)
}

/// Deletes every notification, attempt and queue; answers how many notifications.
/// Deletes one program manager's notifications (their attempts go with
/// them) and its webhooks' queues; answers how many notifications.
pub async fn delete_of<C: GenericClient>(c: &C, pm: &PmCode) -> Result<u64> {
    let mine = "(SELECT id FROM webhooks WHERE pm_code = $1)";
    exec(
        c,
        &format!("DELETE FROM queue_signals WHERE webhook_id IN {mine}"),
        &[&pm.as_str()],
    )
    .await
    .map_err(classify)?;
    exec(
        c,
        &format!("DELETE FROM webhook_queues WHERE webhook_id IN {mine}"),
        &[&pm.as_str()],
    )
    .await
    .map_err(classify)?;
    exec(
        c,
        "DELETE FROM notifications WHERE pm_code = $1",
        &[&pm.as_str()],
    )
    .await
    .map_err(classify)
}

/// Deletes one webhook's notifications (their attempts go with them) and
/// its queue; answers how many notifications.
pub async fn delete_of_webhook<C: GenericClient>(c: &C, webhook: WebhookId) -> Result<u64> {
    let id = webhook.to_string();
    for table in ["queue_signals", "webhook_queues"] {
        exec(
            c,
            &format!("DELETE FROM {table} WHERE webhook_id = $1"),
            &[&id],
        )
        .await
        .map_err(classify)?;
    }
    exec(c, "DELETE FROM notifications WHERE webhook_id = $1", &[&id])
        .await
        .map_err(classify)
}

pub async fn delete_all<C: GenericClient>(c: &C) -> Result<u64> {
    exec(c, "DELETE FROM queue_signals", &[])
        .await
        .map_err(classify)?;
    exec(c, "DELETE FROM webhook_queues", &[])
        .await
        .map_err(classify)?;
    exec(c, "DELETE FROM notifications", &[])
        .await
        .map_err(classify)
}
