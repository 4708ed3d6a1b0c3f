//! Webhook rows: one row per webhook, holding its document (schema version 6),
//! read into the index at start and written by the writer.

use rusqlite::{params, Connection};

use super::rows::{classify, corrupt};
use crate::domain::{PmCode, ProductId, Webhook, WebhookDocument, WebhookId};
use crate::store::index::{Index, Keys};
use crate::store::StoreError;

const SELECT_ALL: &str =
    "SELECT id, pm_code, product_id, status, document FROM webhooks ORDER BY rowid";
const INSERT: &str = "INSERT INTO webhooks (id, pm_code, product_id, status, document) \
                      VALUES (?1, ?2, ?3, ?4, ?5)";
const UPDATE: &str = "UPDATE webhooks SET (pm_code, product_id, status, document) = \
                      (?2, ?3, ?4, ?5) WHERE id = ?1";

/// Every stored webhook, in creation order. The documents go into the index as
/// they are; only the keys are parsed.
pub fn load(conn: &Connection) -> rusqlite::Result<Index> {
    let mut index = Index::default();
    let mut stmt = conn.prepare(SELECT_ALL)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let text = |i| {
            row.get_ref(i)
                .and_then(|v| v.as_str().map_err(|e| corrupt(e.to_string())))
        };
        let id = WebhookId::parse(text(0)?).map_err(|p| corrupt(p.message))?;
        let pm = PmCode::parse(text(1)?).map_err(|p| corrupt(p.message))?;
        let product_id = row.get::<_, Option<u64>>(2)?.map(ProductId::from_stored);
        let status = text(3)?.parse().map_err(corrupt)?;
        let document = WebhookDocument::from_stored(row.get(4)?);
        let keys = Keys {
            pm: &pm,
            product_id,
            status,
        };
        index.put_stored(id, keys, document);
    }
    Ok(index)
}

/// Stores a new webhook row.
pub fn insert(
    conn: &Connection,
    webhook: &Webhook,
    document: &WebhookDocument,
) -> Result<(), StoreError> {
    write_row(conn, INSERT, webhook, document)
}

/// Rewrites a stored webhook's row.
pub fn update(
    conn: &Connection,
    webhook: &Webhook,
    document: &WebhookDocument,
) -> Result<(), StoreError> {
    write_row(conn, UPDATE, webhook, document)
}

fn write_row(
    conn: &Connection,
    sql: &str,
    webhook: &Webhook,
    document: &WebhookDocument,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(classify)?;
    stmt.execute(params![
        webhook.id.to_string(),
        webhook.pm_code.as_str(),
        webhook.product_id.map(ProductId::value),
        webhook.status.as_str(),
        document.as_str(),
    ])
    .map_err(classify)?;
    Ok(())
}
