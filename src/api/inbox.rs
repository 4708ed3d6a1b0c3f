//! The capture inbox, which Thredd does not have: `/sandbox/v1/inbox/{name}`
//! answers 200 to any method and keeps what it was sent, so a webhook can point
//! at the service itself. Kept in the store, within the limits of
//! `domain::inbox`: a debugging aid that survives a restart.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::deliveries::{timeout_of, timeout_range, unmet, waiter};
use super::{query, success};
use crate::domain::inbox::{inbox_name, Answered, Captured, InboxLimits, MAX_INBOXES};
use crate::domain::inbox_script::{Answer, Running, Script};
use crate::domain::time::rfc3339_seconds;
use crate::domain::Clock;
use crate::domain::{ErrorCode, Problem};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::sandbox::{Fixture, MAX_SCRIPTS};
use crate::shutdown::Stopping;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/inbox/{name}/script")
        .get(script)
        .put(set_script)
        .delete(clear_script)
        .served_if(on);
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

/// The methods the capture inbox answers (and the OpenAPI document declares).
/// `TRACE` and `CONNECT` are refused: no receiver of webhooks answers them.
const CAPTURED: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD";

/// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `OPTIONS` or `HEAD` on
/// `/sandbox/v1/inbox/{name}`: kept, and answered 200; or, when the inbox has
/// a script, as its next step says (the request is kept either way, with
/// what it was answered). Another method is `405`, and nothing is kept.
async fn capture(
    clock: web::Data<dyn Clock>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
    store: web::Data<dyn Store>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    if !CAPTURED.split(", ").any(|m| m == req.method().as_str()) {
        return Err(ApiError::MethodNotAllowed {
            allow: CAPTURED.into(),
        });
    }
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
    let mut captured = Captured::new(
        req.method().to_string(),
        headers,
        &body,
        rfc3339_seconds(clock.now_seconds()),
    );
    let scripted = fixture.next_answer(&name);
    if let Some((answer, step)) = &scripted {
        captured.answered = Some(Answered {
            answer: answer.describe(),
            step: *step,
        });
    }
    // Copied for the live stream only while someone reads it.
    let published = fixture.journal.watched().then(|| captured.clone());
    if !store
        .capture(name.clone(), captured, InboxLimits::default())
        .await?
    {
        return Err(ApiError::Conflict(Problem::new(
            ErrorCode::InvalidRequestBody,
            format!("There are already {MAX_INBOXES} inboxes; empty one with DELETE first."),
        )));
    }
    fixture.inbox_changed();
    if let Some(captured) = published {
        fixture.journal.captured(&name, captured, &body);
    }
    let Some((answer, _)) = scripted else {
        return Ok(success(
            StatusCode::OK,
            serde_json::json!({"received": true}),
        ));
    };
    // Delays and hangs last at most sandbox.max_wait_ms.
    let bounded = |ms: u64| Duration::from_millis(ms).min(fixture.max_wait());
    match answer {
        Answer::Reply {
            status,
            headers,
            body,
            delay_ms,
        } => {
            if delay_ms > 0 {
                actix_rt::time::sleep(bounded(delay_ms)).await;
            }
            let mut reply =
                HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
            for (name, value) in headers {
                reply.insert_header((name, value));
            }
            Ok(reply.body(body))
        }
        Answer::Hang => {
            actix_rt::time::sleep(fixture.max_wait()).await;
            Ok(HttpResponse::Ok().body(CloseConnection))
        }
        Answer::Close => Ok(HttpResponse::Ok().body(CloseConnection)),
    }
}

/// A body that fails at once: the connection closes with no answer sent.
struct CloseConnection;

impl MessageBody for CloseConnection {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "closed by the inbox's script",
        ))))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScriptView {
    name: String,
    script: Value,
    /// Requests answered so far.
    answered: u64,
}

/// The script as it was given (parsed back), and how far it has run.
fn script_view(name: String, running: &Running) -> ScriptView {
    ScriptView {
        name,
        script: running.script.to_json(),
        answered: running.answered,
    }
}

/// `PUT /sandbox/v1/inbox/{name}/script` with `{"steps": [...], "then": {...}}`
/// or `{"random": {...}}`: how the inbox answers from its next request on.
async fn set_script(
    name: web::Path<String>,
    body: web::Json<Value>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let Value::Object(fields) = body.into_inner() else {
        return Err(ApiError::bad_request(Problem::new(
            ErrorCode::InvalidRequestBody,
            "Request body must be a JSON object.",
        )));
    };
    let script = Script::parse(&fields).map_err(ApiError::BadRequest)?;
    if !fixture.set_script(&name, script) {
        return Err(ApiError::Conflict(Problem::new(
            ErrorCode::InvalidRequestBody,
            format!("There are already {MAX_SCRIPTS} scripts; remove one with DELETE first."),
        )));
    }
    let running = fixture.script(&name).ok_or_else(no_script)?;
    Ok(success(StatusCode::OK, script_view(name, &running)))
}

fn no_script() -> ApiError {
    ApiError::NotFound(Problem::new(
        ErrorCode::NotFound,
        "This inbox has no script: it answers every request 200.",
    ))
}

/// `GET /sandbox/v1/inbox/{name}/script`: the script and how far it has run.
async fn script(
    name: web::Path<String>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let running = fixture.script(&name).ok_or_else(no_script)?;
    Ok(success(StatusCode::OK, script_view(name, &running)))
}

/// `DELETE /sandbox/v1/inbox/{name}/script`: back to a plain 200.
async fn clear_script(
    name: web::Path<String>,
    fixture: web::Data<Fixture>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(&name)?;
    let removed = fixture.clear_script(Some(&name));
    Ok(success(
        StatusCode::OK,
        serde_json::json!({"name": name, "removed": removed}),
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
