//! Webhook rows: one row per webhook, holding its keys and its document with
//! the document's format (schema.sql),
//! read into the index by the writer thread before its first write, read one
//! by one until then, and written by the writer.

use rusqlite::{params, Connection, OptionalExtension};

use super::rows::{classify, corrupt};
use crate::domain::{PmCode, ProductId, Webhook, WebhookDocument, WebhookId, WebhookKeys};
use crate::store::index::{Index, Keys};
use crate::store::StoreError;

const SELECT_ALL: &str =
    "SELECT id, pm_code, product_id, status, document FROM webhooks ORDER BY rowid";
const INSERT: &str = "INSERT INTO webhooks (id, pm_code, product_id, status, document, format) \
                      VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const UPDATE: &str = "UPDATE webhooks SET (pm_code, product_id, status, document, format) = \
                      (?2, ?3, ?4, ?5, ?6) WHERE id = ?1";

/// Every stored webhook, in creation order. The documents go into the index as
/// they are; only the keys are parsed. The table is read through a memory map
/// (no read call and copy per page) into an index sized for it up front.
pub fn load(conn: &Connection) -> rusqlite::Result<Index> {
    let count: usize = conn.query_row("SELECT count(*) FROM webhooks", [], |r| r.get(0))?;
    let mut index = Index::with_capacity(count);
    conn.pragma_update(None, "mmap_size", LOAD_MMAP_BYTES)?;
    let loaded = read_all(conn, &mut index);
    conn.pragma_update(None, "mmap_size", 0)?;
    loaded.map(|()| index)
}

/// Enough for a few million webhooks; only address space, released after the load.
const LOAD_MMAP_BYTES: i64 = 4 << 30;

fn read_all(conn: &Connection, index: &mut Index) -> rusqlite::Result<()> {
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
        let keys = Keys {
            pm: &pm,
            product_id,
            status,
        };
        index.put_stored(id, keys, WebhookDocument::from_stored(text(4)?));
    }
    Ok(())
}

/// One webhook's document from its row, within `scope`.
pub fn find(
    conn: &Connection,
    id: WebhookId,
    scope: Option<&PmCode>,
) -> Result<WebhookDocument, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT pm_code, document FROM webhooks WHERE id = ?1")
        .map_err(classify)?;
    let row = stmt
        .query_row([id.to_string()], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .optional()
        .map_err(classify)?;
    row.filter(|(pm, _)| scope.is_none_or(|scope| scope.as_str() == pm))
        .map(|(_, document)| WebhookDocument::from_stored(&document))
        .ok_or(StoreError::NotFound)
}

/// The documents of one program manager's webhooks, oldest first, from their rows.
pub fn documents(conn: &Connection, pm: &PmCode) -> rusqlite::Result<Vec<WebhookDocument>> {
    let mut stmt =
        conn.prepare_cached("SELECT document FROM webhooks WHERE pm_code = ?1 ORDER BY rowid")?;
    let rows = stmt.query_map([pm.as_str()], |row| {
        row.get_ref(0)
            .and_then(|v| v.as_str().map_err(|e| corrupt(e.to_string())))
            .map(WebhookDocument::from_stored)
    })?;
    rows.collect()
}

/// The documents of one program manager's active webhooks for `product` or
/// for no product, oldest first, from their rows.
pub fn active_for(
    conn: &Connection,
    pm: &PmCode,
    product: Option<ProductId>,
) -> rusqlite::Result<Vec<WebhookDocument>> {
    let mut stmt = conn.prepare_cached(
        "SELECT document FROM webhooks WHERE pm_code = ?1 AND status = 'active' \
         AND (product_id IS NULL OR product_id = ?2) ORDER BY rowid",
    )?;
    let rows = stmt.query_map(params![pm.as_str(), product.map(ProductId::value)], |row| {
        row.get_ref(0)
            .and_then(|v| v.as_str().map_err(|e| corrupt(e.to_string())))
            .map(WebhookDocument::from_stored)
    })?;
    rows.collect()
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
        WebhookDocument::FORMAT,
    ])
    .map_err(classify)?;
    Ok(())
}

/// The keys of one program manager's webhooks, oldest first, from their rows.
pub fn keys(conn: &Connection, pm: &PmCode) -> rusqlite::Result<Vec<WebhookKeys>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, product_id, status FROM webhooks WHERE pm_code = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([pm.as_str()], |row| {
        let id: String = row.get(0)?;
        let product: Option<i64> = row.get(1)?;
        let status: String = row.get(2)?;
        Ok(WebhookKeys {
            id: WebhookId::parse(&id).map_err(|p| corrupt(p.message))?,
            product_id: product.map(|p| ProductId::from_stored(p as u64)),
            status: status.parse().map_err(corrupt)?,
        })
    })?;
    rows.collect()
}

/// The ids of one program manager's webhooks.
pub fn ids_of(conn: &Connection, pm: &PmCode) -> rusqlite::Result<Vec<WebhookId>> {
    let mut stmt = conn.prepare("SELECT id FROM webhooks WHERE pm_code = ?1")?;
    let rows = stmt.query_map([pm.as_str()], |row| {
        let raw: String = row.get(0)?;
        WebhookId::parse(&raw).map_err(|p| corrupt(p.message))
    })?;
    rows.collect()
}

/// Deletes one program manager's webhook rows; answers how many.
pub fn delete_of(conn: &Connection, pm: &PmCode) -> rusqlite::Result<u64> {
    Ok(conn.execute("DELETE FROM webhooks WHERE pm_code = ?1", [pm.as_str()])? as u64)
}

/// Deletes one webhook row.
pub fn delete(conn: &Connection, id: WebhookId) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM webhooks WHERE id = ?1", [id.to_string()])?;
    Ok(())
}

/// Deletes every webhook row; answers how many.
pub fn delete_all(conn: &Connection) -> rusqlite::Result<u64> {
    Ok(conn.execute("DELETE FROM webhooks", [])? as u64)
}
