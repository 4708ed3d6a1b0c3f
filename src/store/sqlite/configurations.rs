//! Transaction Confirmation configuration rows (schema version 8): typed
//! columns, the message types as a JSON array, in creation order (rowid).

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::rows::{corrupt, from_unix_seconds};
use crate::domain::{ConfigId, ConfigStatus, Configuration, PmCode, ProductId};

const COLUMNS: &str =
    "id, pm_code, pm_id, product_id, status, message_types, created_time FROM configurations";

fn read(row: &Row<'_>) -> rusqlite::Result<Configuration> {
    let pm: String = row.get(1)?;
    let status: String = row.get(4)?;
    let types: String = row.get(5)?;
    Ok(Configuration {
        id: ConfigId::from_stored(row.get(0)?),
        pm_code: PmCode::parse(&pm).map_err(|p| corrupt(p.message))?,
        pm_id: row.get(2)?,
        product_id: row.get::<_, Option<u64>>(3)?.map(ProductId::from_stored),
        status: ConfigStatus::from_stored(&status)
            .ok_or_else(|| corrupt(format!("configuration status {status:?}")))?,
        message_types: serde_json::from_str(&types).map_err(|e| corrupt(e.to_string()))?,
        created_time: from_unix_seconds(row.get(6)?)?,
    })
}

/// How many configurations a program manager has.
pub fn count_of(conn: &Connection, pm: &PmCode) -> rusqlite::Result<usize> {
    conn.prepare_cached("SELECT count(*) FROM configurations WHERE pm_code = ?1")?
        .query_row([pm.as_str()], |r| r.get(0))
}

pub fn insert(conn: &Connection, c: &Configuration) -> rusqlite::Result<()> {
    let types = serde_json::to_string(&c.message_types).map_err(|e| corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO configurations \
         (id, pm_code, pm_id, product_id, status, message_types, created_time) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        c.id.as_str(),
        c.pm_code.as_str(),
        c.pm_id,
        c.product_id.map(ProductId::value),
        c.status.as_str(),
        types,
        c.created_time.unix_timestamp(),
    ])?;
    Ok(())
}

/// Writes a changed configuration's status, the one thing that changes.
pub fn update(conn: &Connection, c: &Configuration) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE configurations SET status = ?2 WHERE id = ?1")?
        .execute(params![c.id.as_str(), c.status.as_str()])?;
    Ok(())
}

/// A program manager's configurations, oldest first.
pub fn of(conn: &Connection, pm: &PmCode) -> rusqlite::Result<Vec<Configuration>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} WHERE pm_code = ?1 ORDER BY rowid"
    ))?;
    let rows = stmt.query_map([pm.as_str()], read)?;
    rows.collect()
}

/// One configuration by id, within `scope`.
pub fn find(
    conn: &Connection,
    id: &ConfigId,
    scope: Option<&PmCode>,
) -> rusqlite::Result<Option<Configuration>> {
    let found = conn
        .prepare_cached(&format!("SELECT {COLUMNS} WHERE id = ?1"))?
        .query_row([id.as_str()], read)
        .optional()?;
    Ok(found.filter(|c| scope.is_none_or(|pm| c.pm_code == *pm)))
}

/// Deletes a program manager's configurations (every one with `None`);
/// answers how many.
pub fn delete(conn: &Connection, pm: Option<&PmCode>) -> rusqlite::Result<u64> {
    let deleted = match pm {
        Some(pm) => conn.execute(
            "DELETE FROM configurations WHERE pm_code = ?1",
            [pm.as_str()],
        )?,
        None => conn.execute("DELETE FROM configurations", [])?,
    };
    Ok(deleted as u64)
}
