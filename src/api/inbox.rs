//! The capture inbox, which Thredd does not have: `/sandbox/v1/inbox/{name}`
//! answers 200 to any method and keeps what it was sent, so a webhook can point
//! at the service itself. Kept in the store, within the limits of
//! `domain::inbox`: a debugging aid that survives a restart.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::deliveries::{timeout_of, timeout_range, unmet, waiter};
use super::routes::Routes;
use super::{query, success};
use crate::domain::inbox::{inbox_name, Captured, InboxLimits, MAX_INBOXES};
use crate::domain::time::{now_seconds, rfc3339_seconds};
use crate::domain::{ErrorCode, Problem};
use crate::error::ApiError;
use crate::sandbox::Fixture;
use crate::shutdown::Stopping;
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
    fixture: web::Data<Fixture>,
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
    fixture.inbox_changed();
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WaitQuery {
    count: Option<usize>,
    timeout_ms: Option<u64>,
}

/// `GET /sandbox/v1/inbox/{name}/requests[?count=N&timeoutMs=T]`: what
/// arrived, oldest first. With `count`, it answers once the inbox holds at
/// least N requests (at once if it does), or `408 WAIT_TIMED_OUT` with what
/// it holds when `timeoutMs` (default 10,000, capped to
/// `sandbox.max_wait_ms`) passes; woken
/// by each capture, never by a timer.
async fn requests(
    req: HttpRequest,
    name: web::Path<String>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
    stopping: web::Data<Stopping>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let q: WaitQuery = query(&req)?;
    let answer = |requests: Vec<Captured>| Requests {
        count: requests.len(),
        name: name.clone(),
        requests,
    };
    let Some(count) = q.count else {
        if q.timeout_ms.is_some() {
            return Err(ApiError::bad_request(Problem::at(
                ErrorCode::InvalidRequestBody,
                "timeoutMs",
                "timeoutMs needs count: the number of requests to wait for.",
            )));
        }
        let requests = store.captured(name.clone()).await?;
        return Ok(success(StatusCode::OK, answer(requests)));
    };
    if count == 0 || count > InboxLimits::default().capacity {
        return Err(ApiError::bad_request(Problem::at(
            ErrorCode::InvalidRequestBody,
            "count",
            format!(
                "count must be 1 to {} (what an inbox holds).",
                InboxLimits::default().capacity
            ),
        )));
    }
    let timeout = match q.timeout_ms {
        Some(ms) if !timeout_range().contains(&ms) => {
            return Err(ApiError::bad_request(Problem::at(
                ErrorCode::InvalidRequestBody,
                "timeoutMs",
                format!("timeoutMs must be 0 to {}.", timeout_range().end()),
            )))
        }
        raw => timeout_of(&fixture, raw),
    };
    let _place = waiter(&fixture)?;
    let waited = fixture
        .wait_for(true, timeout, &stopping, || {
            let (store, name) = (store.clone(), name.clone());
            async move {
                match store.captured(name).await {
                    Ok(requests) => (requests.len() >= count, Ok(requests)),
                    // A failed read ends the wait with its error.
                    Err(e) => (true, Err(e)),
                }
            }
        })
        .await;
    match waited {
        Ok(requests) => Ok(success(StatusCode::OK, answer(requests?))),
        Err((why, requests)) => {
            let held = answer(requests?);
            let message = format!(
                "Waited {} ms for {count} requests in inbox {name}; it holds {}.",
                timeout.as_millis(),
                held.count
            );
            let found = serde_json::to_value(&held).unwrap_or_default();
            Err(unmet(why, message, found))
        }
    }
}

/// `DELETE /sandbox/v1/inbox/{name}/requests`: empties the inbox.
async fn clear(
    name: web::Path<String>,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let removed = store.clear_inbox(name.clone()).await?;
    fixture.inbox_changed();
    Ok(success(
        StatusCode::OK,
        serde_json::json!({"name": name, "removed": removed}),
    ))
}
