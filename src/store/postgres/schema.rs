//! The PostgreSQL schema, applied at start under an advisory lock, so that
//! nodes starting together apply it once; the version is kept in
//! `schema_version`, and a database with a newer version is refused.

use deadpool_postgres::Client;

/// The schema for a new database.
const SCHEMA: &str = include_str!("schema.sql");
/// The version `SCHEMA` produces.
pub const SCHEMA_VERSION: i64 = 3;
/// Where each version's steps start in `SCHEMA`: a database at version `v`
/// runs the sections after its own.
const SECTIONS: [(i64, &str); 2] = [(2, "-- Version 2:"), (3, "-- Version 3:")];
/// The advisory lock's key: "webhook-manager schema".
const LOCK: i64 = 0x7768_6d5f_7363_6865;

/// Brings the database to `SCHEMA_VERSION`, in one transaction.
pub async fn migrate(client: &mut Client) -> Result<(), String> {
    let tx = client.transaction().await.map_err(|e| e.to_string())?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(|e| e.to_string())?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version bigint NOT NULL)")
        .await
        .map_err(|e| e.to_string())?;
    let version: Option<i64> = tx
        .query_opt("SELECT max(version) FROM schema_version", &[])
        .await
        .map_err(|e| e.to_string())?
        .and_then(|row| row.get(0));
    let version = version.unwrap_or(0);
    if version > SCHEMA_VERSION {
        return Err(format!(
            "its schema version {version} is newer than this binary supports ({SCHEMA_VERSION}); use a newer webhook-manager"
        ));
    }
    if version < SCHEMA_VERSION {
        // A new database takes the whole file; an older one, the sections
        // after its version.
        let from = if version == 0 {
            0
        } else {
            SECTIONS
                .iter()
                .find(|(v, _)| *v == version + 1)
                .and_then(|(_, marker)| SCHEMA.find(marker))
                .ok_or_else(|| format!("no upgrade from schema version {version}"))?
        };
        tx.batch_execute(&SCHEMA[from..])
            .await
            .map_err(|e| format!("bringing the schema from version {version}: {e}"))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}
