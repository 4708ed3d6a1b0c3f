//! Webhook rows. With several nodes on one database there is no local index:
//! every read asks the database, so a webhook written on one node is read on
//! another as soon as the write is answered.

//! Webhook rows: the same shape as SQLite's (schema.sql): the keys a query
//! needs (program manager, product, status) as columns, and the document the
//! API answers with, rendered once when the webhook is written, with its
//! format version. With several nodes on one database there is no local index:
//! every read asks the database, so a webhook written on one node is read on
//! another as soon as the write is answered.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rows::{classify, corrupt};
use super::sql::{exec, opt, query};
use crate::domain::{PmCode, ProductId, Webhook, WebhookDocument, WebhookId, WebhookKeys};
use crate::store::StoreError;

/// One webhook's document, when it exists and is in `scope`; `lock` takes its
/// row for the transaction (`FOR UPDATE`).
pub async fn find_document<C: GenericClient>(
    c: &C,
    id: WebhookId,
    scope: Option<&PmCode>,
    lock: bool,
) -> Result<Option<WebhookDocument>, StoreError> {
    let sql = format!(
        "SELECT document FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR pm_code = $2){}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let scope = scope.map(PmCode::as_str);
    opt(c, &sql, &[&id.to_string(), &scope])
        .await
        .map_err(classify)?
        .map(|row| document(&row))
        .transpose()
}

/// One webhook, when it exists and is in `scope`; `lock` as for `find_document`.
pub async fn find<C: GenericClient>(
    c: &C,
    id: WebhookId,
    scope: Option<&PmCode>,
    lock: bool,
) -> Result<Option<Webhook>, StoreError> {
    find_document(c, id, scope, lock)
        .await?
        .map(|d| d.webhook().map_err(corrupt))
        .transpose()
}

/// The documents of a program manager's webhooks, in creation order.
pub async fn documents<C: GenericClient>(
    c: &C,
    pm: &PmCode,
) -> Result<Vec<WebhookDocument>, StoreError> {
    query(
        c,
        "SELECT document FROM webhooks WHERE pm_code = $1 ORDER BY seq",
        &[&pm.as_str()],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(document)
    .collect()
}

/// A program manager's webhooks, in creation order.
pub async fn list<C: GenericClient>(c: &C, pm: &PmCode) -> Result<Vec<Webhook>, StoreError> {
    documents(c, pm)
        .await?
        .iter()
        .map(|d| d.webhook().map_err(corrupt))
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
    let product = product.map(|p| p.value() as i64);
    query(
        c,
        "SELECT document FROM webhooks WHERE pm_code = $1 AND status = 'active' \
         AND (product_id IS NULL OR product_id = $2) ORDER BY seq",
        &[&pm.as_str(), &product],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(|row| document(row)?.webhook().map_err(corrupt))
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

fn document(row: &Row) -> Result<WebhookDocument, StoreError> {
    let text: &str = row.try_get(0).map_err(classify)?;
    Ok(WebhookDocument::from_stored(text))
}

/// Stores a new webhook row with its document; the (program manager,
/// product) constraint makes a second one for the same key a `Duplicate`.
pub async fn insert<C: GenericClient>(
    c: &C,
    webhook: &Webhook,
    document: &WebhookDocument,
) -> Result<(), StoreError> {
    // With its (empty) delivery queue's row: a claim folds signals only into
    // queue rows that exist.
    write(
        c,
        "WITH w AS (INSERT INTO webhooks (id, pm_code, product_id, status, format, document) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id) \
         INSERT INTO webhook_queues (webhook_id) SELECT id FROM w ON CONFLICT DO NOTHING",
        webhook,
        document,
    )
    .await
}

/// Rewrites a stored webhook's row.
pub async fn update<C: GenericClient>(
    c: &C,
    webhook: &Webhook,
    document: &WebhookDocument,
) -> Result<(), StoreError> {
    write(
        c,
        "UPDATE webhooks SET (pm_code, product_id, status, format, document) = \
         ($2, $3, $4, $5, $6) WHERE id = $1",
        webhook,
        document,
    )
    .await
}

async fn write<C: GenericClient>(
    c: &C,
    sql: &str,
    w: &Webhook,
    document: &WebhookDocument,
) -> Result<(), StoreError> {
    let product = w.product_id.map(|p| p.value() as i64);
    exec(
        c,
        sql,
        &[
            &w.id.to_string(),
            &w.pm_code.as_str(),
            &product,
            &w.status.as_str(),
            &WebhookDocument::FORMAT,
            &document.as_str(),
        ],
    )
    .await
    .map_err(classify)?;
    Ok(())
}
