//! Webhook rows. With several nodes on one database there is no local index:
//! every read asks the database, so a webhook written on one node is read on
//! another as soon as the write is answered.

use std::collections::BTreeMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rows::{classify, corrupt, seconds};
use super::sql::{exec, opt, query};
use crate::domain::{
    CustomHeaders, EventCode, EventSet, Heartbeat, PmCode, ProductId, Webhook, WebhookConfig,
    WebhookId, WebhookKeys, WebhookUrl,
};
use crate::store::StoreError;

const COLUMNS: &str = "id, pm_code, product_id, events, status, url, custom_headers, created_time, \
     last_modified_time, hb_health_status, hb_http_status, hb_latency_ms, hb_error, hb_checked_time";

/// One webhook, when it exists and is in `scope`; `lock` takes its row for
/// the transaction (`FOR UPDATE`).
pub async fn find<C: GenericClient>(
    c: &C,
    id: WebhookId,
    scope: Option<&PmCode>,
    lock: bool,
) -> Result<Option<Webhook>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR pm_code = $2){}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let scope = scope.map(PmCode::as_str);
    opt(c, &sql, &[&id.to_string(), &scope])
        .await
        .map_err(classify)?
        .map(|row| read(&row))
        .transpose()
}

/// A program manager's webhooks, in creation order.
pub async fn list<C: GenericClient>(c: &C, pm: &PmCode) -> Result<Vec<Webhook>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE pm_code = $1 ORDER BY seq");
    query(c, &sql, &[&pm.as_str()])
        .await
        .map_err(classify)?
        .iter()
        .map(read)
        .collect()
}

/// The keys of a program manager's webhooks, in creation order.
pub async fn keys<C: GenericClient>(c: &C, pm: &PmCode) -> Result<Vec<WebhookKeys>, StoreError> {
    query(
        c,
        "SELECT id, product_id, status FROM webhooks WHERE pm_code = $1 ORDER BY seq",
        &[&pm.as_str()],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(|row| {
        let id: String = row.try_get(0).map_err(classify)?;
        let product: Option<i64> = row.try_get(1).map_err(classify)?;
        let status: String = row.try_get(2).map_err(classify)?;
        Ok(WebhookKeys {
            id: WebhookId::parse(&id).map_err(|p| corrupt(p.message))?,
            product_id: product.map(|p| ProductId::from_stored(p as u64)),
            status: status.parse().map_err(corrupt)?,
        })
    })
    .collect()
}

/// A program manager's active webhooks for `product` or for no product, in
/// creation order.
pub async fn active_for<C: GenericClient>(
    c: &C,
    pm: &PmCode,
    product: Option<ProductId>,
) -> Result<Vec<Webhook>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks WHERE pm_code = $1 AND status = 'active' \
         AND (product_id IS NULL OR product_id = $2) ORDER BY seq"
    );
    let product = product.map(|p| p.value() as i64);
    query(c, &sql, &[&pm.as_str(), &product])
        .await
        .map_err(classify)?
        .iter()
        .map(read)
        .collect()
}

/// Whether the webhook exists and is active.
pub async fn is_active<C: GenericClient>(c: &C, id: &str) -> Result<bool, StoreError> {
    Ok(opt(
        c,
        "SELECT status = 'active' FROM webhooks WHERE id = $1",
        &[&id],
    )
    .await
    .map_err(classify)?
    .is_some_and(|row| row.get::<_, bool>(0)))
}

fn read(row: &Row) -> Result<Webhook, StoreError> {
    let get_text = |i: usize| row.try_get::<_, String>(i).map_err(classify);
    let codes: Vec<i64> =
        serde_json::from_str(&get_text(3)?).map_err(|e| corrupt(e.to_string()))?;
    let events = codes
        .into_iter()
        .map(|n| EventCode::from_number(n, "events").map_err(|p| corrupt(p.message)))
        .collect::<Result<EventSet, _>>()?;
    let headers: BTreeMap<String, String> =
        serde_json::from_str(&get_text(6)?).map_err(|e| corrupt(e.to_string()))?;
    let health: Option<String> = row.try_get(9).map_err(classify)?;
    let last_heartbeat = match health {
        None => None,
        Some(health) => Some(Heartbeat {
            health_status: health.parse().map_err(corrupt)?,
            http_status: row
                .try_get::<_, Option<i64>>(10)
                .map_err(classify)?
                .and_then(|s| u16::try_from(s).ok()),
            latency_ms: u64::try_from(
                row.try_get::<_, Option<i64>>(11)
                    .map_err(classify)?
                    .unwrap_or(0),
            )
            .unwrap_or(0),
            error: row.try_get(12).map_err(classify)?,
            checked_time: seconds(
                row.try_get::<_, Option<i64>>(13)
                    .map_err(classify)?
                    .unwrap_or(0),
            )?,
        }),
    };
    Ok(Webhook {
        id: WebhookId::parse(&get_text(0)?).map_err(|p| corrupt(p.message))?,
        pm_code: PmCode::parse(&get_text(1)?).map_err(|p| corrupt(p.message))?,
        product_id: row
            .try_get::<_, Option<i64>>(2)
            .map_err(classify)?
            .map(|p| ProductId::from_stored(u64::try_from(p).unwrap_or(0))),
        events,
        status: get_text(4)?.parse().map_err(corrupt)?,
        config: WebhookConfig {
            url: WebhookUrl::from_stored(get_text(5)?),
            custom_headers: CustomHeaders::from_stored(headers),
        },
        created_time: seconds(row.try_get(7).map_err(classify)?)?,
        last_modified_time: seconds(row.try_get(8).map_err(classify)?)?,
        last_heartbeat,
    })
}

/// Stores a new webhook row; the (program manager, product) constraint makes
/// a second one for the same key a `Duplicate`.
pub async fn insert<C: GenericClient>(c: &C, webhook: &Webhook) -> Result<(), StoreError> {
    // With its (empty) delivery queue's row: a claim folds signals only into
    // queue rows that exist.
    let sql = format!(
        "WITH w AS (INSERT INTO webhooks ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id) \
         INSERT INTO webhook_queues (webhook_id) SELECT id FROM w ON CONFLICT DO NOTHING"
    );
    write(c, &sql, webhook).await
}

/// Writes every column of a stored webhook's row.
pub async fn update<C: GenericClient>(c: &C, webhook: &Webhook) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE webhooks SET ({COLUMNS}) = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) WHERE id = $1"
    );
    write(c, &sql, webhook).await
}

async fn write<C: GenericClient>(c: &C, sql: &str, w: &Webhook) -> Result<(), StoreError> {
    let hb = w.last_heartbeat.as_ref();
    let events = serde_json::Value::from(w.events.iter().map(EventCode::value).collect::<Vec<_>>())
        .to_string();
    let headers =
        serde_json::to_string(w.config.custom_headers.as_map()).unwrap_or_else(|_| "{}".into());
    let product = w.product_id.map(|p| p.value() as i64);
    let health = hb.map(|h| h.health_status.as_str());
    let http_status = hb.and_then(|h| h.http_status).map(i64::from);
    let latency = hb.map(|h| i64::try_from(h.latency_ms).unwrap_or(i64::MAX));
    let error = hb.and_then(|h| h.error.as_deref());
    let checked = hb.map(|h| h.checked_time.unix_timestamp());
    exec(
        c,
        sql,
        &[
            &w.id.to_string(),
            &w.pm_code.as_str(),
            &product,
            &events,
            &w.status.as_str(),
            &w.config.url.as_str(),
            &headers,
            &w.created_time.unix_timestamp(),
            &w.last_modified_time.unix_timestamp(),
            &health,
            &http_status,
            &latency,
            &error,
            &checked,
        ],
    )
    .await
    .map_err(classify)?;
    Ok(())
}
