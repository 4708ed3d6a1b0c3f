//! `GET /api/v1/Webhooks/{id}/heartbeat`: ping the webhook's URL now and keep the verdict.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{find_webhook, success, Caller};
use crate::domain::webhook_document::HeartbeatView;
use crate::domain::Webhook;
use crate::error::ApiError;
use crate::outbound::heartbeat::HeartbeatClient;
use crate::routes::Routes;
use crate::sandbox::Fixture;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    r.resource("/api/v1/webhooks/{id}/heartbeat").get(heartbeat);
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeartbeatResponse {
    webhook_id: String,
    #[serde(flatten)]
    verdict: HeartbeatView,
}

async fn heartbeat(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
    client: web::Data<HeartbeatClient>,
    fixture: Option<web::Data<Fixture>>,
) -> Result<HttpResponse, ApiError> {
    // With the sandbox on, the ping passes the reset's barrier: a reset of
    // this program manager refuses or cancels it, and the webhook it read
    // is then gone.
    let since = fixture.as_ref().map(|f| f.barrier.generation());
    let webhook = find_webhook(&caller, &path, &store).await?;
    let pass = match (&fixture, since) {
        (Some(f), Some(since)) => Some(
            f.barrier
                .enter(&webhook.pm_code, since)
                .ok_or_else(ApiError::webhook_not_registered)?,
        ),
        _ => None,
    };
    // Async I/O with a bounded timeout: this worker serves other requests meanwhile.
    let verdict = match &pass {
        Some(pass) => tokio::select! {
            verdict = client.ping(&webhook) => verdict,
            () = pass.cancelled() => return Err(ApiError::webhook_not_registered()),
        },
        None => client.ping(&webhook).await,
    };
    drop(pass);
    let kept = verdict.clone();
    let record = Box::new(move |w: &mut Webhook| {
        w.record_heartbeat(kept);
        Ok(())
    });
    store.modify(webhook.id, None, record).await?;
    Ok(success(
        StatusCode::OK,
        HeartbeatResponse {
            webhook_id: webhook.id.to_string(),
            verdict: HeartbeatView::from(&verdict),
        },
    ))
}
