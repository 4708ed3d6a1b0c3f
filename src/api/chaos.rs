//! `/sandbox/v1/webhooks/{id}/chaos`, which Thredd does not have: the
//! disorder Thredd warns of, on request, for one webhook (`domain::chaos`):
//! `duplicates` (each delivered notification delivered again with the same
//! id) and `reorder` (103s held for a window and delivered shuffled, by a
//! seed). Kept in the process's memory, off by default, forgotten by a reset.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::{object_body, parse_id, success, Caller};
use crate::domain::chaos::Chaos;
use crate::domain::{ErrorCode, Problem, WebhookId};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::sandbox::{Fixture, MAX_CHAOS};
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/webhooks/{id}/chaos")
        .get(show)
        .put(set)
        .delete(clear)
        .served_if(on);
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChaosView {
    webhook_id: String,
    duplicates: bool,
    reorder: bool,
    seed: u64,
    window_ms: u64,
}

impl ChaosView {
    /// The webhook's disorder as the fixture holds it now (both off when
    /// none is set), answered.
    fn answer(webhook: WebhookId, fixture: &Fixture) -> HttpResponse {
        let chaos = fixture.chaos(webhook).unwrap_or(Chaos::OFF);
        let view = Self {
            webhook_id: webhook.to_string(),
            duplicates: chaos.duplicates,
            reorder: chaos.reorder,
            seed: chaos.seed,
            window_ms: chaos.window_ms,
        };
        success(StatusCode::OK, view)
    }
}

/// `GET`: the webhook's disorder (both off when none was set).
async fn show(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let webhook = store.get(parse_id(&path)?, caller.scope()).await?;
    Ok(ChaosView::answer(webhook.id, &fixture))
}

/// `PUT` with `{"duplicates": bool, "reorder": bool, "seed"?, "windowMs"?}`:
/// from the next notification on; a reorder starts a new batch and its seed
/// from its first draw.
async fn set(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body: Value = object_body(body.into_inner())?;
    let chaos = Chaos::from_json(&body).map_err(ApiError::BadRequest)?;
    let webhook = store.get(id, caller.scope()).await?;
    if !fixture.set_chaos(webhook.id, &webhook.pm_code, chaos) {
        return Err(ApiError::Conflict(Problem::new(
            ErrorCode::TooManyChaos,
            format!(
                "{MAX_CHAOS} webhooks have disorder on already; turn one off (DELETE) or reset."
            ),
        )));
    }
    log::info!(
        "webhook {}: disorder set (duplicates {}, reorder {}, seed {})",
        webhook.id,
        chaos.duplicates,
        chaos.reorder,
        chaos.seed
    );
    Ok(ChaosView::answer(webhook.id, &fixture))
}

/// `DELETE`: back to orderly delivery.
async fn clear(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let webhook = store.get(parse_id(&path)?, caller.scope()).await?;
    fixture.set_chaos(webhook.id, &webhook.pm_code, Chaos::OFF);
    Ok(ChaosView::answer(webhook.id, &fixture))
}
