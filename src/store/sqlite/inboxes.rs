//! The capture inboxes' SQL (schema version 5): `inboxes` counts each
//! inbox's requests, `inbox_requests` holds them, as JSON, in arrival order.

use rusqlite::{params, Connection, OptionalExtension};

use super::rows::corrupt;
use crate::domain::inbox::{Captured, InboxLimits, Keep};

/// Keeps `request` in inbox `name` by `limits`, dropping its oldest beyond
/// the capacity; `false` when refused. Runs in the writer's transaction.
pub fn capture(
    conn: &Connection,
    name: &str,
    request: &Captured,
    limits: InboxLimits,
) -> rusqlite::Result<bool> {
    let held: Option<i64> = conn
        .prepare_cached("SELECT requests FROM inboxes WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    let inboxes: i64 = conn
        .prepare_cached("SELECT count(*) FROM inboxes")?
        .query_row([], |r| r.get(0))?;
    let held = held.map(|n| usize::try_from(n).unwrap_or(0));
    let Keep::Kept { drop_oldest } = limits.keep(held, usize::try_from(inboxes).unwrap_or(0))
    else {
        return Ok(false);
    };
    let json = serde_json::to_string(request).map_err(|e| corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO inboxes (name, requests) VALUES (?1, 1) \
         ON CONFLICT (name) DO UPDATE SET requests = requests + 1",
    )?
    .execute([name])?;
    conn.prepare_cached("INSERT INTO inbox_requests (inbox, request) VALUES (?1, ?2)")?
        .execute(params![name, json])?;
    if drop_oldest > 0 {
        let dropped = conn
            .prepare_cached(
                "DELETE FROM inbox_requests WHERE seq IN \
                 (SELECT seq FROM inbox_requests WHERE inbox = ?1 ORDER BY seq LIMIT ?2)",
            )?
            .execute(params![name, drop_oldest as i64])?;
        conn.prepare_cached("UPDATE inboxes SET requests = requests - ?2 WHERE name = ?1")?
            .execute(params![name, dropped as i64])?;
    }
    Ok(true)
}

/// Every inbox and how many requests it holds, by name.
pub fn names(conn: &Connection) -> rusqlite::Result<Vec<(String, usize)>> {
    let mut stmt = conn.prepare_cached("SELECT name, requests FROM inboxes ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        ))
    })?;
    rows.collect()
}

/// An inbox's requests, oldest first.
pub fn requests(conn: &Connection, name: &str) -> rusqlite::Result<Vec<Captured>> {
    let mut stmt =
        conn.prepare_cached("SELECT request FROM inbox_requests WHERE inbox = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([name], |r| {
        let json: String = r.get(0)?;
        serde_json::from_str(&json).map_err(|e| corrupt(e.to_string()))
    })?;
    rows.collect()
}

/// Empties an inbox; answers how many requests it held.
pub fn clear(conn: &Connection, name: &str) -> rusqlite::Result<usize> {
    let held: Option<i64> = conn
        .prepare_cached("SELECT requests FROM inboxes WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    conn.prepare_cached("DELETE FROM inbox_requests WHERE inbox = ?1")?
        .execute([name])?;
    conn.prepare_cached("DELETE FROM inboxes WHERE name = ?1")?
        .execute([name])?;
    Ok(held.map_or(0, |n| usize::try_from(n).unwrap_or(0)))
}

/// Empties every inbox; answers how many requests there were.
pub fn clear_all(conn: &Connection) -> rusqlite::Result<u64> {
    let requests = conn.execute("DELETE FROM inbox_requests", [])? as u64;
    conn.execute("DELETE FROM inboxes", [])?;
    Ok(requests)
}
