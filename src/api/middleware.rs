//! The middleware every request passes, outermost first: the request id, the
//! path made canonical, and the request counted and timed (authentication is in
//! `auth.rs`); and the answer for a path no route serves.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use uuid::Uuid;

use super::paths;
use crate::domain::{ErrorCode, Problem};
use crate::error::ApiError;
use crate::metrics::METRICS;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The header API Hub clients send to pick a region.
pub const REGION_HEADER: &str = "x-region";

/// `X-Region` (Thredd's API Hub: 0 default, 1 EMEA, 2 APAC) is accepted and
/// otherwise ignored, since one service is one region; any other value is
/// `400 INVALID_REGION`.
pub async fn check_region(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(region) = req.headers().get(REGION_HEADER) {
        let valid = region
            .to_str()
            .is_ok_and(|r| matches!(r.trim(), "0" | "1" | "2"));
        if !valid {
            let refused = ApiError::BadRequest(vec![Problem::at(
                ErrorCode::InvalidRegion,
                "X-Region",
                "X-Region must be 0 (default), 1 (EMEA) or 2 (APAC).",
            )])
            .error_response();
            return Ok(req.into_response(refused).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// No route serves the path: `404 NOT_FOUND`.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::path_not_found())
}

/// Rewrites the path to its canonical form (see `api::paths`) before routing.
pub async fn normalize_path(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(path) = paths::canonical(req.path()) {
        let target = match req.query_string() {
            "" => path,
            query => format!("{path}?{query}"),
        };
        let mut parts = req.head().uri.clone().into_parts();
        if let Ok(path_and_query) = PathAndQuery::try_from(target) {
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    next.call(req).await
}

/// Counts each answered request by its route template and times it.
pub async fn count_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let response = next.call(req).await?;
    METRICS.request(
        response.request().match_pattern(),
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    Ok(response)
}

/// Echoes the client's `X-Request-Id` (when it is short, printable ASCII) or
/// makes a new one, so a response and its access-log line can be matched.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}
