//! The capture inbox, which Thredd does not have: `/sandbox/v1/inbox/{name}`
//! answers 200 to any method and keeps what it was sent, so a webhook can point
//! at the service itself. Kept in the store, within the limits of
//! `domain::inbox`: a debugging aid that survives a restart.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::routes::Routes;
use super::success;
use crate::domain::inbox::{inbox_name, Captured, InboxLimits, MAX_INBOXES};
use crate::domain::time::{now_seconds, rfc3339_seconds};
use crate::domain::{ErrorCode, Problem};
use crate::error::ApiError;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/inbox/{name}/requests")
        .get(requests)
        .delete(clear)
        .served_if(on);
    r.resource("/sandbox/v1/inbox/{name}")
        .any(capture)
        .served_if(on);
}

fn name_of(raw: &str) -> Result<String, ApiError> {
    inbox_name(raw).map_err(ApiError::bad_request)
}

/// Any method on `/sandbox/v1/inbox/{name}`: kept, and answered 200.
async fn capture(
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let captured = Captured::new(
        req.method().to_string(),
        headers,
        &body,
        rfc3339_seconds(now_seconds()),
    );
    if !store
        .capture(name, captured, InboxLimits::default())
        .await?
    {
        return Err(ApiError::Conflict(Problem::new(
            ErrorCode::InvalidRequestBody,
            format!("There are already {MAX_INBOXES} inboxes; empty one with DELETE first."),
        )));
    }
    Ok(success(
        StatusCode::OK,
        serde_json::json!({"received": true}),
    ))
}

#[derive(Serialize)]
struct Requests {
    name: String,
    count: usize,
    requests: Vec<Captured>,
}

/// `GET /sandbox/v1/inbox/{name}/requests`: what arrived, oldest first.
async fn requests(
    name: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let requests = store.captured(name.clone()).await?;
    Ok(success(
        StatusCode::OK,
        Requests {
            count: requests.len(),
            name,
            requests,
        },
    ))
}

/// `DELETE /sandbox/v1/inbox/{name}/requests`: empties the inbox.
async fn clear(
    name: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let removed = store.clear_inbox(name.clone()).await?;
    Ok(success(
        StatusCode::OK,
        serde_json::json!({"name": name, "removed": removed}),
    ))
}
