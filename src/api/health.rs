//! Liveness and readiness for process supervisors and load balancers.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::blocking;
use crate::error::ApiError;
use crate::store::Repository;

/// The process is up and serving HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers a read.
pub async fn readyz(repo: web::Data<dyn Repository>) -> Result<HttpResponse, ApiError> {
    blocking(&repo, |repo| repo.check()).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}

/// `GET /metrics`: Prometheus (OpenMetrics) text; open even with auth on.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(crate::metrics::METRICS.render())
}
