//! `DELETE /sandbox/v1/webhooks/{id}`, which Thredd does not have: one
//! webhook removed, with its notifications, their attempts and its queue
//! (`Repository::remove`), and the disorder set on it. What a tool that made
//! a webhook for a while (`webhook-manager listen --forward-to`) undoes on
//! its way out; Thredd's own API can only set one inactive.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{parse_id, success, Caller};
use crate::domain::chaos::Chaos;
use crate::error::ApiError;
use crate::routes::Routes;
use crate::sandbox::Fixture;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/webhooks/{id}")
        .delete(remove)
        .served_if(on);
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Removed {
    webhook_id: String,
    notifications_deleted: u64,
}

async fn remove(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let webhook = store.get(id, caller.scope()).await?;
    let deleted = store.remove(id, caller.scope()).await?;
    fixture.set_chaos(id, &webhook.pm_code, Chaos::OFF);
    log::info!(
        "webhook {id} of program manager {} removed, with {deleted} notifications",
        webhook.pm_code
    );
    Ok(success(
        StatusCode::OK,
        Removed {
            webhook_id: id.to_string(),
            notifications_deleted: deleted,
        },
    ))
}
