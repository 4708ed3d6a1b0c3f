//! `GET /api/v1/Webhooks/{id}/heartbeat`: ping the webhook's URL now and keep the verdict.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::routes::Routes;
use super::{find_webhook, success, Caller};
use crate::domain::time::rfc3339_seconds;
use crate::domain::{Heartbeat, Webhook};
use crate::error::ApiError;
use crate::heartbeat::HeartbeatClient;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    r.resource("/api/v1/webhooks/{id}/heartbeat").get(heartbeat);
}

/// A heartbeat verdict on the wire: Thredd's `healthStatus` plus what was seen.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatView {
    health_status: &'static str,
    http_status: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
    checked_time: String,
}

impl From<&Heartbeat> for HeartbeatView {
    fn from(h: &Heartbeat) -> Self {
        Self {
            health_status: h.health_status.as_str(),
            http_status: h.http_status,
            latency_ms: h.latency_ms,
            error: h.error.clone(),
            checked_time: rfc3339_seconds(h.checked_time),
        }
    }
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
) -> Result<HttpResponse, ApiError> {
    let webhook = find_webhook(&caller, &path, &store).await?;
    // Async I/O with a bounded timeout: this worker serves other requests meanwhile.
    let verdict = client.ping(&webhook).await;
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
