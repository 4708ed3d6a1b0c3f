//! `GET /sandbox/v1/stream`, which Thredd does not have: the fixture's
//! changes as they happen, as Server-Sent Events with one JSON object each
//! (`event: event|attempt|capture`): a new event with its fan-out, each
//! delivery attempt with its outcome, each request a capture inbox keeps.
//! What a terminal (`webhook-manager listen`) or a test reads instead of
//! polling.
//!
//! Filtered by `programManagerCode`, `webhookId`, `inbox` and `eventCode`
//! (each one given keeps only the changes that have it and match); scoped to
//! the caller's program manager when a token names one (captures are not
//! scoped, as the inbox's own calls are not). Bounded: at most
//! `sandbox::MAX_STREAMS` readers; each holds at most [`BUFFER`] changes not
//! yet sent, and a reader that falls further behind is sent a last
//! `event: end` with the reason and dropped (`sandbox_streams_dropped` in
//! /metrics). The stream ends first when the service stops.

use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse, Responder};
use actix_web_lab::sse;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::{parse_id, pm_param, query, Caller};
use crate::domain::time::{rfc3339_millis, rfc3339_seconds};
use crate::domain::{ErrorCode, EventCode, PmCode, Problem, WebhookId};
use crate::error::ApiError;
use crate::metrics::METRICS;
use crate::routes::Routes;
use crate::sandbox::journal::{visible, Live};
use crate::sandbox::{Fixture, MAX_STREAMS};
use crate::shutdown::Stopping;

/// Changes held for one reader, not yet taken by its connection.
pub const BUFFER: usize = 64;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/stream").get(stream).served_if(on);
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StreamQuery {
    program_manager_code: Option<String>,
    webhook_id: Option<String>,
    inbox: Option<String>,
    event_code: Option<String>,
}

/// Which changes a reader gets.
#[derive(Debug, Clone)]
struct Filter {
    scope: Option<PmCode>,
    pm: Option<PmCode>,
    webhook: Option<WebhookId>,
    inbox: Option<String>,
    code: Option<EventCode>,
}

impl Filter {
    fn parse(caller: &Caller, q: StreamQuery) -> Result<Self, ApiError> {
        let code = q
            .event_code
            .as_deref()
            .map(|raw| {
                raw.parse::<i64>()
                    .map_err(|_| {
                        Problem::at(
                            ErrorCode::InvalidEventCode,
                            "eventCode",
                            "eventCode must be a 3-digit event code.",
                        )
                    })
                    .and_then(|n| EventCode::from_number(n, "eventCode"))
                    .map_err(ApiError::bad_request)
            })
            .transpose()?;
        Ok(Self {
            scope: caller.scope().cloned(),
            pm: q
                .program_manager_code
                .as_deref()
                .map(pm_param)
                .transpose()?,
            webhook: q.webhook_id.as_deref().map(parse_id).transpose()?,
            inbox: q.inbox,
            code,
        })
    }

    /// The change as the reader gets it: `(event name, JSON)`, or `None`
    /// when the filter leaves it out.
    fn render(&self, change: &Live) -> Option<(&'static str, String)> {
        let keeps = |pm: &PmCode, code: EventCode| {
            visible(self.scope.as_ref(), pm)
                && self.pm.as_ref().is_none_or(|p| p == pm)
                && self.code.is_none_or(|c| c == code)
                && self.inbox.is_none()
        };
        let (name, value) = match change {
            Live::Event(e) => {
                let webhooks = || e.notifications.iter().map(|(w, _)| *w);
                if !keeps(&e.pm, e.code)
                    || self.webhook.is_some_and(|w| !webhooks().any(|n| n == w))
                {
                    return None;
                }
                (
                    "event",
                    json!({
                        "type": "event",
                        "eventId": e.id.to_string(),
                        "programManagerCode": e.pm.as_str(),
                        "productId": e.product.map(|p| p.value()),
                        "eventCode": e.code.value(),
                        "time": rfc3339_seconds(e.time),
                        "payload": e.payload,
                        "notifications": e.notifications.iter().map(|(w, n)| json!({
                            "webhookId": w.to_string(), "notificationId": n.to_string()
                        })).collect::<Vec<_>>(),
                        "skipped": e.skipped.iter().map(|(w, why)| json!({
                            "webhookId": w.to_string(), "reason": why.as_str()
                        })).collect::<Vec<_>>(),
                    }),
                )
            }
            Live::Attempt(d) => {
                if !keeps(&d.pm, d.event_code) || self.webhook.is_some_and(|w| w != d.webhook_id) {
                    return None;
                }
                (
                    "attempt",
                    json!({
                        "type": "attempt",
                        "notificationId": d.notification_id.to_string(),
                        "eventId": d.event_id.map(|e| e.to_string()),
                        "eventCode": d.event_code.value(),
                        "programManagerCode": d.pm.as_str(),
                        "webhookId": d.webhook_id.to_string(),
                        "url": d.url,
                        "attempt": d.attempt,
                        "time": rfc3339_millis(d.time),
                        "outcome": d.outcome.as_str(),
                        "httpStatus": d.http_status,
                        "error": d.error,
                        "latencyMs": d.latency_ms,
                        "notificationStatus": d.notification_status.as_str(),
                    }),
                )
            }
            Live::Capture {
                inbox,
                captured,
                raw,
            } => {
                let only_inboxes =
                    self.pm.is_none() && self.webhook.is_none() && self.code.is_none();
                if !only_inboxes || self.inbox.as_deref().is_some_and(|i| i != &**inbox) {
                    return None;
                }
                (
                    "capture",
                    json!({
                        "type": "capture",
                        "inbox": &**inbox,
                        "method": captured.method,
                        "receivedTime": captured.received_time,
                        "headers": captured.headers,
                        "body": captured.body,
                        "raw": &**raw,
                        "answered": captured.answered,
                    }),
                )
            }
        };
        Some((name, value.to_string()))
    }
}

/// Why a reader's stream ended.
enum End {
    /// It disconnected, or the service is gone: nothing more to say.
    Gone,
    /// The service is stopping.
    Stopping,
    /// It fell behind: `missed` changes it will not get.
    Behind { missed: u64 },
}

/// `GET /sandbox/v1/stream[?programManagerCode=&webhookId=&inbox=&eventCode=]`
async fn stream(
    req: HttpRequest,
    caller: Caller,
    fixture: web::Data<Fixture>,
    stopping: web::Data<Stopping>,
) -> Result<HttpResponse, ApiError> {
    let q: StreamQuery = query(&req)?;
    let filter = Filter::parse(&caller, q)?;
    let permit = fixture.stream_reader().ok_or_else(|| {
        ApiError::Busy(Problem::new(
            ErrorCode::WaitLimitReached,
            format!("{MAX_STREAMS} readers have the stream open; close one and try again."),
        ))
    })?;
    let mut changes = fixture.journal.live();
    // One place more than BUFFER: the last message of a reader dropped for
    // falling behind always fits.
    let (sender, receiver) = mpsc::channel::<sse::Event>(BUFFER + 1);
    let stopping = stopping.into_inner();
    actix_rt::spawn(async move {
        let _permit = permit;
        METRICS.stream(true);
        let end = loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                () = sender.closed() => break End::Gone,
                () = stopping.wait() => break End::Stopping,
            };
            let change = match change {
                Ok(change) => change,
                Err(RecvError::Lagged(missed)) => break End::Behind { missed },
                Err(RecvError::Closed) => break End::Gone,
            };
            let Some((name, json)) = filter.render(&change) else {
                continue;
            };
            if sender.capacity() <= 1 {
                break End::Behind { missed: 1 };
            }
            if sender
                .try_send(sse::Data::new(json).event(name).into())
                .is_err()
            {
                break End::Gone;
            }
        };
        let last = match end {
            End::Gone => None,
            End::Stopping => Some(json!({"type": "end", "reason": "The service is stopping."})),
            End::Behind { missed } => {
                METRICS.stream_dropped();
                Some(json!({"type": "end", "reason": format!(
                    "The reader fell behind ({BUFFER} changes waiting); {missed} or more were not sent. Reconnect, and read faster or filter more."
                )}))
            }
        };
        if let Some(last) = last {
            let _ = sender.try_send(sse::Data::new(last.to_string()).event("end").into());
        }
        METRICS.stream(false);
    });
    let mut response = sse::Sse::from_infallible_receiver(receiver)
        .with_keep_alive(Duration::from_secs(15))
        .respond_to(&req);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
