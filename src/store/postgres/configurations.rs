//! Transaction Confirmation configuration rows on PostgreSQL (schema
//! version 3): as on SQLite, typed columns and the message types as a JSON
//! array, in creation order (`seq`).

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rows::{classify, corrupt, seconds};
use super::sql::{exec, one, opt, query};
use crate::domain::{ConfigId, ConfigStatus, Configuration, PmCode, ProductId};
use crate::store::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

const COLUMNS: &str =
    "id, pm_code, pm_id, product_id, status, message_types, created_time FROM configurations";

fn read(row: &Row) -> Result<Configuration> {
    let pm: String = row.try_get(1).map_err(classify)?;
    let status: String = row.try_get(4).map_err(classify)?;
    let types: String = row.try_get(5).map_err(classify)?;
    let pm_id: i64 = row.try_get(2).map_err(classify)?;
    let product: Option<i64> = row.try_get(3).map_err(classify)?;
    Ok(Configuration {
        id: ConfigId::from_stored(row.try_get(0).map_err(classify)?),
        pm_code: PmCode::parse(&pm).map_err(|p| corrupt(p.message))?,
        pm_id: u64::try_from(pm_id).map_err(|e| corrupt(e.to_string()))?,
        product_id: product.map(|p| ProductId::from_stored(p as u64)),
        status: ConfigStatus::from_stored(&status)
            .ok_or_else(|| corrupt(format!("configuration status {status:?}")))?,
        message_types: serde_json::from_str(&types).map_err(|e| corrupt(e.to_string()))?,
        created_time: seconds(row.try_get(6).map_err(classify)?)?,
    })
}

/// How many configurations a program manager has, under a lock of the
/// program manager's for the transaction, so that two nodes creating at once
/// count in turn.
pub async fn count_of<C: GenericClient>(c: &C, pm: &PmCode) -> Result<usize> {
    exec(
        c,
        "SELECT pg_advisory_xact_lock(hashtext('configurations:' || $1))",
        &[&pm.as_str()],
    )
    .await
    .map_err(classify)?;
    let held: i64 = one(
        c,
        "SELECT count(*) FROM configurations WHERE pm_code = $1",
        &[&pm.as_str()],
    )
    .await
    .map_err(classify)?
    .get(0);
    Ok(usize::try_from(held).unwrap_or(0))
}

pub async fn insert<C: GenericClient>(c: &C, conf: &Configuration) -> Result<()> {
    let types = serde_json::to_string(&conf.message_types).map_err(|e| corrupt(e.to_string()))?;
    let pm_id = i64::try_from(conf.pm_id).map_err(|e| corrupt(e.to_string()))?;
    let product = conf.product_id.map(|p| p.value() as i64);
    exec(
        c,
        "INSERT INTO configurations \
         (id, pm_code, pm_id, product_id, status, message_types, created_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &conf.id.as_str(),
            &conf.pm_code.as_str(),
            &pm_id,
            &product,
            &conf.status.as_str(),
            &types,
            &conf.created_time.unix_timestamp(),
        ],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// Writes a changed configuration's status, the one thing that changes.
pub async fn update<C: GenericClient>(c: &C, conf: &Configuration) -> Result<()> {
    exec(
        c,
        "UPDATE configurations SET status = $2 WHERE id = $1",
        &[&conf.id.as_str(), &conf.status.as_str()],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// A program manager's configurations, oldest first.
pub async fn of<C: GenericClient>(c: &C, pm: &PmCode) -> Result<Vec<Configuration>> {
    query(
        c,
        &format!("SELECT {COLUMNS} WHERE pm_code = $1 ORDER BY seq"),
        &[&pm.as_str()],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(read)
    .collect()
}

/// One configuration by id, within `scope`; `lock`: its row locked for an
/// update in the same transaction.
pub async fn find<C: GenericClient>(
    c: &C,
    id: &ConfigId,
    scope: Option<&PmCode>,
    lock: bool,
) -> Result<Configuration> {
    let sql = format!(
        "SELECT {COLUMNS} WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = opt(c, &sql, &[&id.as_str()]).await.map_err(classify)?;
    row.as_ref()
        .map(read)
        .transpose()?
        .filter(|conf| scope.is_none_or(|pm| conf.pm_code == *pm))
        .ok_or(StoreError::ConfigurationNotFound)
}

/// Deletes a program manager's configurations (every one with `None`);
/// answers how many.
pub async fn delete<C: GenericClient>(c: &C, pm: Option<&PmCode>) -> Result<u64> {
    match pm {
        Some(pm) => {
            exec(
                c,
                "DELETE FROM configurations WHERE pm_code = $1",
                &[&pm.as_str()],
            )
            .await
        }
        None => exec(c, "DELETE FROM configurations", &[]).await,
    }
    .map_err(classify)
}
