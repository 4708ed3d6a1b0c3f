//! Liveness, readiness and metrics, for process supervisors, load balancers and
//! Prometheus: open without a token.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::routes::Routes;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    r.resource("/healthz").get(healthz).open();
    r.resource("/readyz").get(readyz).open();
    r.resource("/metrics").get(metrics).open();
}

/// The process is up and serving HTTP.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers a read.
async fn readyz(store: web::Data<dyn Store>) -> Result<HttpResponse, ApiError> {
    store.ready().await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}

/// `GET /metrics`: Prometheus (OpenMetrics) text.
async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(crate::metrics::METRICS.render())
}
