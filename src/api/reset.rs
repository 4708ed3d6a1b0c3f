//! `POST /sandbox/v1/reset`, which Thredd does not have: back to the configured
//! fixtures between tests.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::routes::Routes;
use super::success;
use crate::error::ApiError;
use crate::seed::Seeds;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    let on = r.reset();
    r.resource("/sandbox/v1/reset").post(reset).served_if(on);
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResetAnswer {
    webhooks_deleted: u64,
    notifications_deleted: u64,
    inbox_requests_deleted: u64,
    webhooks_seeded: usize,
}

/// `POST /sandbox/v1/reset`: deletes every webhook, notification and inbox
/// request, then creates the configured fixtures again, so a CI pipeline gets the
/// same starting point between tests. Only served while auth is off: it deletes
/// every program manager's data.
async fn reset(
    store: web::Data<dyn Store>,
    seeds: web::Data<Seeds>,
) -> Result<HttpResponse, ApiError> {
    let cleared = store.reset().await?;
    let seeded = seeds.apply(&**store).await?;
    log::info!(
        "reset: {} webhooks, {} notifications and {} inbox requests deleted; {} fixtures created",
        cleared.webhooks,
        cleared.notifications,
        cleared.inbox_requests,
        seeded.created
    );
    Ok(success(
        StatusCode::OK,
        ResetAnswer {
            webhooks_deleted: cleared.webhooks,
            notifications_deleted: cleared.notifications,
            inbox_requests_deleted: cleared.inbox_requests,
            webhooks_seeded: seeded.created,
        },
    ))
}
