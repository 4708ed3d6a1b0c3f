//! Fraud alert rows on PostgreSQL (schema version 3): as on SQLite. An
//! expiry takes the due rows with `FOR UPDATE SKIP LOCKED`, so two nodes
//! never expire one alert twice.

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::rows::{classify, corrupt, millis};
use super::sql::{exec, one, opt, query};
use crate::domain::time::unix_ms;
use crate::domain::{AlertState, FraudAlert, FraudAlertId, NotificationId, PmCode, ProductId};
use crate::store::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

const COLUMNS: &str = "id, pm_code, product_id, notifications, raised_ms, expires_ms, state, \
                       closed_ms FROM fraud_alerts";

fn read(row: &Row) -> Result<FraudAlert> {
    let text = |i: usize| row.try_get::<_, String>(i).map_err(classify);
    let id = text(0)?;
    let notifications: Vec<String> =
        serde_json::from_str(&text(3)?).map_err(|e| corrupt(e.to_string()))?;
    let state = text(6)?;
    let product: Option<i64> = row.try_get(2).map_err(classify)?;
    let closed: Option<i64> = row.try_get(7).map_err(classify)?;
    Ok(FraudAlert {
        id: FraudAlertId::parse(&id).ok_or_else(|| corrupt(format!("fraud alert id {id:?}")))?,
        pm_code: PmCode::parse(&text(1)?).map_err(|p| corrupt(p.message))?,
        product_id: product.map(|p| ProductId::from_stored(p as u64)),
        notifications: notifications
            .iter()
            .map(|n| NotificationId::parse(n).map_err(|p| corrupt(p.message)))
            .collect::<Result<_>>()?,
        raised: millis(row.try_get(4).map_err(classify)?)?,
        expires: millis(row.try_get(5).map_err(classify)?)?,
        state: AlertState::from_stored(&state)
            .ok_or_else(|| corrupt(format!("fraud alert state {state:?}")))?,
        closed: closed.map(millis).transpose()?,
    })
}

pub async fn insert<C: GenericClient>(c: &C, a: &FraudAlert) -> Result<bool> {
    let ids: Vec<String> = a.notifications.iter().map(ToString::to_string).collect();
    let ids = serde_json::to_string(&ids).map_err(|e| corrupt(e.to_string()))?;
    let product = a.product_id.map(|p| p.value() as i64);
    let inserted = exec(
        c,
        "INSERT INTO fraud_alerts \
         (id, pm_code, product_id, notifications, raised_ms, expires_ms, state, closed_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        &[
            &a.id.to_string(),
            &a.pm_code.as_str(),
            &product,
            &ids,
            &unix_ms(a.raised),
            &unix_ms(a.expires),
            &a.state.as_str(),
            &a.closed.map(unix_ms),
        ],
    )
    .await
    .map_err(classify)?;
    Ok(inserted == 1)
}

pub async fn update<C: GenericClient>(c: &C, a: &FraudAlert) -> Result<()> {
    exec(
        c,
        "UPDATE fraud_alerts SET state = $2, closed_ms = $3 WHERE id = $1",
        &[&a.id.to_string(), &a.state.as_str(), &a.closed.map(unix_ms)],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// One alert by id, within `scope`, its row locked for the transaction.
pub async fn find_for_update<C: GenericClient>(
    c: &C,
    id: FraudAlertId,
    scope: Option<&PmCode>,
) -> Result<FraudAlert> {
    let row = opt(
        c,
        &format!("SELECT {COLUMNS} WHERE id = $1 FOR UPDATE"),
        &[&id.to_string()],
    )
    .await
    .map_err(classify)?;
    row.as_ref()
        .map(read)
        .transpose()?
        .filter(|a| scope.is_none_or(|pm| a.pm_code == *pm))
        .ok_or(StoreError::FraudAlertNotFound)
}

/// At most `limit` open alerts due by `now`, soonest first, locked; rows
/// another node holds are skipped.
pub async fn due<C: GenericClient>(
    c: &C,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<FraudAlert>> {
    query(
        c,
        &format!(
            "SELECT {COLUMNS} WHERE state = 'Open' AND expires_ms <= $1 \
             ORDER BY expires_ms LIMIT $2 FOR UPDATE SKIP LOCKED"
        ),
        &[&unix_ms(now), &i64::from(limit)],
    )
    .await
    .map_err(classify)?
    .iter()
    .map(read)
    .collect()
}

pub async fn next_expiry<C: GenericClient>(c: &C) -> Result<Option<OffsetDateTime>> {
    let ms: Option<i64> = one(
        c,
        "SELECT min(expires_ms) FROM fraud_alerts WHERE state = 'Open'",
        &[],
    )
    .await
    .map_err(classify)?
    .get(0);
    ms.map(millis).transpose()
}

pub async fn purge<C: GenericClient>(c: &C, before: OffsetDateTime) -> Result<u64> {
    exec(
        c,
        "DELETE FROM fraud_alerts WHERE closed_ms < $1",
        &[&unix_ms(before)],
    )
    .await
    .map_err(classify)
}

pub async fn delete<C: GenericClient>(c: &C, pm: Option<&PmCode>) -> Result<u64> {
    match pm {
        Some(pm) => {
            exec(
                c,
                "DELETE FROM fraud_alerts WHERE pm_code = $1",
                &[&pm.as_str()],
            )
            .await
        }
        None => exec(c, "DELETE FROM fraud_alerts", &[]).await,
    }
    .map_err(classify)
}
