//! Webhook queue rows on PostgreSQL, shared by every node: each webhook's due
//! time, claims in flight and receiver health (`webhook_queues`), and the
//! signals that triggers and records leave instead of locking a queue row
//! (`queue_signals`), which a claim folds in. The same rules as SQLite's
//! `queues.rs`, where a queue lives in the process.

use deadpool_postgres::GenericClient;
use time::{Duration, OffsetDateTime};

use super::rows::{classify, corrupt, millis};
use super::sql::{exec, one, opt, query};
use crate::domain::time::unix_ms;
use crate::domain::{BackingOff, QueueHealth, WebhookId};
use crate::store::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

/// The webhook's queue health, its row locked for the transaction.
/// The webhook's queue health; with `lock`, its row is locked for the
/// transaction (to change it from what was read).
pub async fn health<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
    lock: bool,
) -> Result<QueueHealth> {
    let sql = if lock {
        "SELECT failures, backoff_since_ms, backoff_until_ms, backoff_wait_ms, probe_until_ms \
         FROM webhook_queues WHERE webhook_id = $1 FOR UPDATE"
    } else {
        "SELECT failures, backoff_since_ms, backoff_until_ms, backoff_wait_ms, probe_until_ms \
         FROM webhook_queues WHERE webhook_id = $1"
    };
    let row = opt(c, sql, &[&webhook.to_string()])
        .await
        .map_err(classify)?;
    let Some(row) = row else {
        return Ok(QueueHealth::default());
    };
    let get = |i: usize| row.try_get::<_, Option<i64>>(i).map_err(classify);
    let failures: i64 = row.try_get(0).map_err(classify)?;
    let backoff = match (get(1)?, get(2)?, get(3)?) {
        (Some(since), Some(until), Some(wait)) => Some(BackingOff {
            since: millis(since)?,
            until: millis(until)?,
            wait: Duration::milliseconds(wait),
        }),
        _ => None,
    };
    Ok(QueueHealth {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        backoff,
        probe_until: get(4)?.map(millis).transpose()?,
    })
}

pub async fn save_health<C: GenericClient>(
    c: &C,
    webhook: WebhookId,
    health: &QueueHealth,
) -> Result<()> {
    let b = health.backoff.as_ref();
    exec(
        c,
        "INSERT INTO webhook_queues (webhook_id, failures, backoff_since_ms, backoff_until_ms, \
         backoff_wait_ms, probe_until_ms) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (webhook_id) DO UPDATE SET failures = $2, backoff_since_ms = $3, \
         backoff_until_ms = $4, backoff_wait_ms = $5, probe_until_ms = $6",
        &[
            &webhook.to_string(),
            &i64::from(health.failures),
            &b.map(|b| unix_ms(b.since)),
            &b.map(|b| unix_ms(b.until)),
            &b.map(|b| b.wait.whole_milliseconds() as i64),
            &health.probe_until.map(unix_ms),
        ],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// Folds the queue signals into the queues this transaction can lock now:
/// each one's due time becomes at most its signals' soonest, its claims in
/// flight fewer by those released, and the signals go. A queue another claim
/// holds is skipped, not waited for (its signals stay for the next claim); no
/// trigger or record locks a queue row, so none queues up behind a claim.
pub async fn fold_signals<C: GenericClient>(c: &C) -> Result<()> {
    exec(
        c,
        "WITH mine AS (SELECT webhook_id FROM webhook_queues \
           WHERE webhook_id IN (SELECT webhook_id FROM queue_signals) \
           ORDER BY webhook_id FOR UPDATE SKIP LOCKED), \
         taken AS (DELETE FROM queue_signals s USING mine WHERE s.webhook_id = mine.webhook_id \
           RETURNING s.webhook_id, s.due_ms, s.released), \
         folded AS (SELECT webhook_id, min(due_ms) AS due_ms, sum(released) AS released \
           FROM taken GROUP BY webhook_id) \
         UPDATE webhook_queues q SET due_ms = LEAST(q.due_ms, folded.due_ms), \
           in_flight = GREATEST(q.in_flight - folded.released, 0) \
         FROM folded WHERE q.webhook_id = folded.webhook_id",
        &[],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// Webhooks whose queue is ready at `now`, soonest first; a queue another
/// node is claiming from is skipped, so nodes take different webhooks.
pub async fn ready<C: GenericClient>(
    c: &C,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<WebhookId>> {
    query(
        c,
        "SELECT webhook_id FROM webhook_queues WHERE ready_ms <= $1 ORDER BY ready_ms LIMIT $2 \
         FOR UPDATE SKIP LOCKED",
        &[&unix_ms(now), &i64::from(limit)],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(|row| {
        let id: String = row.try_get(0).map_err(classify)?;
        WebhookId::parse(&id).map_err(|p| corrupt(p.message))
    })
    .collect()
}

/// How many claims the webhook's queue holds (its row, which the caller
/// holds and has folded).
pub async fn in_flight<C: GenericClient>(c: &C, webhook: WebhookId) -> Result<u32> {
    let count: Option<i64> = opt(
        c,
        "SELECT in_flight FROM webhook_queues WHERE webhook_id = $1",
        &[&webhook.to_string()],
    )
    .await
    .map_err(classify)?
    .map(|row| row.try_get(0))
    .transpose()
    .map_err(classify)?;
    Ok(u32::try_from(count.unwrap_or(0)).unwrap_or(u32::MAX))
}

/// Dead row versions waiting for vacuum in the outbox's tables.
pub async fn dead_tuples<C: GenericClient>(c: &C) -> Result<u64> {
    let dead: i64 = one(
        c,
        "SELECT COALESCE(sum(n_dead_tup), 0)::bigint FROM pg_stat_user_tables \
         WHERE relname IN ('notifications', 'webhook_queues', 'queue_signals')",
        &[],
    )
    .await
    .map_err(classify)?
    .try_get(0)
    .map_err(classify)?;
    Ok(u64::try_from(dead).unwrap_or(0))
}
