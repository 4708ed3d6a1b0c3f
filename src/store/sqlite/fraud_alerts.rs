//! Fraud alert rows (schema version 8): the notification ids as a JSON
//! array, times in Unix milliseconds.

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use super::rows::{corrupt, from_unix_ms};
use crate::domain::time::unix_ms;
use crate::domain::{AlertState, FraudAlert, FraudAlertId, NotificationId, PmCode, ProductId};

const COLUMNS: &str = "id, pm_code, product_id, notifications, raised_ms, expires_ms, state, \
                       closed_ms FROM fraud_alerts";

fn read(row: &Row<'_>) -> rusqlite::Result<FraudAlert> {
    let id: String = row.get(0)?;
    let pm: String = row.get(1)?;
    let notifications: String = row.get(3)?;
    let notifications: Vec<String> =
        serde_json::from_str(&notifications).map_err(|e| corrupt(e.to_string()))?;
    let state: String = row.get(6)?;
    Ok(FraudAlert {
        id: FraudAlertId::parse(&id).ok_or_else(|| corrupt(format!("fraud alert id {id:?}")))?,
        pm_code: PmCode::parse(&pm).map_err(|p| corrupt(p.message))?,
        product_id: row.get::<_, Option<u64>>(2)?.map(ProductId::from_stored),
        notifications: notifications
            .iter()
            .map(|n| NotificationId::parse(n).map_err(|p| corrupt(p.message)))
            .collect::<Result<_, _>>()?,
        raised: from_unix_ms(row.get(4)?)?,
        expires: from_unix_ms(row.get(5)?)?,
        state: AlertState::from_stored(&state)
            .ok_or_else(|| corrupt(format!("fraud alert state {state:?}")))?,
        closed: row
            .get::<_, Option<i64>>(7)?
            .map(from_unix_ms)
            .transpose()?,
    })
}

/// Stores a new alert; `false` when its id is taken (the stored one stays).
pub fn insert(conn: &Connection, a: &FraudAlert) -> rusqlite::Result<bool> {
    let ids: Vec<String> = a.notifications.iter().map(ToString::to_string).collect();
    let ids = serde_json::to_string(&ids).map_err(|e| corrupt(e.to_string()))?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO fraud_alerts \
             (id, pm_code, product_id, notifications, raised_ms, expires_ms, state, closed_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            a.id.to_string(),
            a.pm_code.as_str(),
            a.product_id.map(ProductId::value),
            ids,
            unix_ms(a.raised),
            unix_ms(a.expires),
            a.state.as_str(),
            a.closed.map(unix_ms),
        ])?;
    Ok(inserted == 1)
}

/// Writes a changed alert's state, the one thing that changes.
pub fn update(conn: &Connection, a: &FraudAlert) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE fraud_alerts SET state = ?2, closed_ms = ?3 WHERE id = ?1")?
        .execute(params![
            a.id.to_string(),
            a.state.as_str(),
            a.closed.map(unix_ms)
        ])?;
    Ok(())
}

/// One alert by id, within `scope`.
pub fn find(
    conn: &Connection,
    id: FraudAlertId,
    scope: Option<&PmCode>,
) -> rusqlite::Result<Option<FraudAlert>> {
    let found = conn
        .prepare_cached(&format!("SELECT {COLUMNS} WHERE id = ?1"))?
        .query_row([id.to_string()], read)
        .optional()?;
    Ok(found.filter(|a| scope.is_none_or(|pm| a.pm_code == *pm)))
}

/// At most `limit` open alerts whose expiry has come by `now`, soonest first.
pub fn due(
    conn: &Connection,
    now: OffsetDateTime,
    limit: u32,
) -> rusqlite::Result<Vec<FraudAlert>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} WHERE state = 'Open' AND expires_ms <= ?1 ORDER BY expires_ms LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![unix_ms(now), limit], read)?;
    rows.collect()
}

/// When the soonest open alert expires.
pub fn next_expiry(conn: &Connection) -> rusqlite::Result<Option<OffsetDateTime>> {
    let ms: Option<i64> = conn
        .prepare_cached("SELECT min(expires_ms) FROM fraud_alerts WHERE state = 'Open'")?
        .query_row([], |r| r.get(0))?;
    ms.map(from_unix_ms).transpose()
}

/// Deletes the alerts closed before `before`.
pub fn purge(conn: &Connection, before: OffsetDateTime) -> rusqlite::Result<u64> {
    let deleted = conn
        .prepare_cached("DELETE FROM fraud_alerts WHERE closed_ms < ?1")?
        .execute([unix_ms(before)])?;
    Ok(deleted as u64)
}

/// Deletes a program manager's alerts (every one with `None`).
pub fn delete(conn: &Connection, pm: Option<&PmCode>) -> rusqlite::Result<u64> {
    let deleted = match pm {
        Some(pm) => conn.execute("DELETE FROM fraud_alerts WHERE pm_code = ?1", [pm.as_str()])?,
        None => conn.execute("DELETE FROM fraud_alerts", [])?,
    };
    Ok(deleted as u64)
}
