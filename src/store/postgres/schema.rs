//! The PostgreSQL schema, applied at start under an advisory lock, so that
//! nodes starting together apply it once; the version is kept in
//! `schema_version`, and a database with a newer version is refused.

use deadpool_postgres::Client;

use crate::domain::WebhookDocument;

/// The schema for a new database: as it is now, one `CREATE` per table.
const SCHEMA: &str = include_str!("schema.sql");
/// The version `SCHEMA` produces.
pub const SCHEMA_VERSION: i64 = 4;
/// What each version added, from the first: `STEPS[i]` takes a database at
/// version `i` to version `i + 1` (`STEPS[0]`, the first schema, only makes
/// version-1 databases for the upgrade tests). A schema change adds a file,
/// bumps `SCHEMA_VERSION` and rewrites schema.sql to match; the test
/// `postgres_upgrade_and_new_database_have_one_schema` checks they agree.
const STEPS: [&str; SCHEMA_VERSION as usize] = [
    include_str!("migrations/v1.sql"),
    include_str!("migrations/v2.sql"),
    include_str!("migrations/v3.sql"),
    include_str!("migrations/v4.sql"),
];

/// The SQL that makes a new database at `version` the way that version's
/// binary did: for the upgrade tests.
#[cfg(test)]
pub fn as_of(version: i64) -> String {
    format!(
        "{}\nCREATE TABLE schema_version (version bigint NOT NULL);\n\
         INSERT INTO schema_version VALUES ({version});",
        STEPS[..version as usize].concat()
    )
}

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
        // A new database takes the schema as it is now; an older one, the
        // steps after its version.
        if version == 0 {
            tx.batch_execute(SCHEMA)
                .await
                .map_err(|e| format!("applying schema.sql: {e}"))?;
        } else {
            for (to, sql) in STEPS.iter().enumerate().skip(version as usize) {
                let to = to as i64 + 1;
                tx.batch_execute(sql)
                    .await
                    .map_err(|e| format!("migrating to schema version {to}: {e}"))?;
            }
        }
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    let other: Option<i64> = tx
        .query_opt(
            "SELECT format FROM webhooks WHERE format <> $1 LIMIT 1",
            &[&WebhookDocument::FORMAT],
        )
        .await
        .map_err(|e| e.to_string())?
        .map(|row| row.get(0));
    WebhookDocument::readable(other)?;
    tx.commit().await.map_err(|e| e.to_string())
}
