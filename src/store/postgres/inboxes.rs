//! The capture inboxes' SQL on PostgreSQL: as on SQLite, `inboxes` counts
//! each inbox's requests (its row locked while one is added, so the limits
//! hold with several nodes), `inbox_requests` holds them in arrival order.

use deadpool_postgres::GenericClient;

use super::rows::{classify, corrupt};
use super::sql::{exec, one, opt, query};
use crate::domain::inbox::{Captured, InboxLimits, Keep};
use crate::store::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

pub async fn capture<C: GenericClient>(
    c: &C,
    name: &str,
    request: &Captured,
    limits: InboxLimits,
) -> Result<bool> {
    // Inboxes are created one at a time, so two nodes cannot both take the last room.
    exec(c, "LOCK TABLE inboxes IN SHARE ROW EXCLUSIVE MODE", &[])
        .await
        .map_err(classify)?;
    let held: Option<i64> = opt(c, "SELECT requests FROM inboxes WHERE name = $1", &[&name])
        .await
        .map_err(classify)?
        .map(|row| row.get(0));
    let inboxes: i64 = one(c, "SELECT count(*) FROM inboxes", &[])
        .await
        .map_err(classify)?
        .get(0);
    let held = held.map(|n| usize::try_from(n).unwrap_or(0));
    let Keep::Kept { drop_oldest } = limits.keep(held, usize::try_from(inboxes).unwrap_or(0))
    else {
        return Ok(false);
    };
    let json = serde_json::to_string(request).map_err(|e| corrupt(e.to_string()))?;
    exec(
        c,
        "INSERT INTO inboxes (name, requests) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET requests = inboxes.requests + 1",
        &[&name],
    )
    .await
    .map_err(classify)?;
    exec(
        c,
        "INSERT INTO inbox_requests (inbox, request) VALUES ($1, $2)",
        &[&name, &json],
    )
    .await
    .map_err(classify)?;
    if drop_oldest > 0 {
        let dropped = exec(
            c,
            "DELETE FROM inbox_requests WHERE seq IN \
             (SELECT seq FROM inbox_requests WHERE inbox = $1 ORDER BY seq LIMIT $2)",
            &[&name, &(drop_oldest as i64)],
        )
        .await
        .map_err(classify)?;
        exec(
            c,
            "UPDATE inboxes SET requests = requests - $2 WHERE name = $1",
            &[&name, &(dropped as i64)],
        )
        .await
        .map_err(classify)?;
    }
    Ok(true)
}

pub async fn names<C: GenericClient>(c: &C) -> Result<Vec<(String, usize)>> {
    Ok(
        query(c, "SELECT name, requests FROM inboxes ORDER BY name", &[])
            .await
            .map_err(classify)?
            .iter()
            .map(|row| {
                (
                    row.get::<_, String>(0),
                    usize::try_from(row.get::<_, i64>(1)).unwrap_or(0),
                )
            })
            .collect(),
    )
}

pub async fn requests<C: GenericClient>(c: &C, name: &str) -> Result<Vec<Captured>> {
    query(
        c,
        "SELECT request FROM inbox_requests WHERE inbox = $1 ORDER BY seq",
        &[&name],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(|row| {
        let json: String = row.get(0);
        serde_json::from_str(&json).map_err(|e| corrupt(e.to_string()))
    })
    .collect()
}

pub async fn clear<C: GenericClient>(c: &C, name: &str) -> Result<usize> {
    let held: Option<i64> = opt(
        c,
        "DELETE FROM inboxes WHERE name = $1 RETURNING requests",
        &[&name],
    )
    .await
    .map_err(classify)?
    .map(|row| row.get(0));
    Ok(held.map_or(0, |n| usize::try_from(n).unwrap_or(0)))
}

pub async fn clear_all<C: GenericClient>(c: &C) -> Result<u64> {
    let requests = exec(c, "DELETE FROM inbox_requests", &[])
        .await
        .map_err(classify)?;
    exec(c, "DELETE FROM inboxes", &[])
        .await
        .map_err(classify)?;
    Ok(requests)
}
