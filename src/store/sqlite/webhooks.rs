//! Webhook rows: one row per webhook, read into the index at start and written
//! by the writer.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, Row};

use super::rows::{classify, corrupt, from_unix_seconds};
use crate::domain::{
    CustomHeaders, EventCode, EventSet, Heartbeat, PmCode, ProductId, Webhook, WebhookConfig,
    WebhookId, WebhookUrl,
};
use crate::store::index::Index;
use crate::store::StoreError;

/// Every column, in the order `read_webhook` and `write_row` use.
macro_rules! columns {
    () => {
        "id, pm_code, product_id, events, status, url, custom_headers, created_time, last_modified_time, \
         hb_health_status, hb_http_status, hb_latency_ms, hb_error, hb_checked_time"
    };
}
macro_rules! values {
    () => {
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    };
}
const SELECT_ALL: &str = concat!("SELECT ", columns!(), " FROM webhooks ORDER BY rowid");
const INSERT: &str = concat!("INSERT INTO webhooks (", columns!(), ") VALUES ", values!());
const UPDATE: &str = concat!(
    "UPDATE webhooks SET (",
    columns!(),
    ") = ",
    values!(),
    " WHERE id = ?1"
);

/// Every stored webhook, in creation order.
pub fn load(conn: &Connection) -> rusqlite::Result<Index> {
    let mut index = Index::default();
    let mut stmt = conn.prepare(SELECT_ALL)?;
    for webhook in stmt.query_map([], read_webhook)? {
        index.put(webhook?);
    }
    Ok(index)
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
            checked_time: from_unix_seconds(row.get(13)?)?,
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
        created_time: from_unix_seconds(row.get(7)?)?,
        last_modified_time: from_unix_seconds(row.get(8)?)?,
        last_heartbeat,
    })
}

fn events_json(events: &EventSet) -> String {
    serde_json::Value::from(events.iter().map(EventCode::value).collect::<Vec<_>>()).to_string()
}

fn headers_json(headers: &CustomHeaders) -> String {
    serde_json::to_string(headers.as_map()).unwrap_or_else(|_| "{}".into())
}

/// Stores a new webhook row.
pub fn insert(conn: &Connection, webhook: &Webhook) -> Result<(), StoreError> {
    write_row(conn, INSERT, webhook)
}

/// Writes every column of a stored webhook's row.
pub fn update(conn: &Connection, webhook: &Webhook) -> Result<(), StoreError> {
    write_row(conn, UPDATE, webhook)
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
