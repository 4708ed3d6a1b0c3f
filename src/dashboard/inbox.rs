//! Inbox: what the capture inbox received, live.

use super::frame::Frame;
use super::layout::layout;
use super::layout::page;
use super::layout::unavailable;
use super::layout::url_encode;
use super::live::live;
use crate::domain::inbox::Captured;
use crate::domain::sensitive;
use crate::routes::Routes;
use crate::store::Store;
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::HttpRequest;
use actix_web::HttpResponse;
use maud::html;
use maud::Markup;
use std::collections::HashMap;

/// The Inbox page, and its live stream.
pub(super) fn routes(r: &mut Routes, on: bool) {
    r.resource("/dashboard/inbox").get(inbox).served_if(on);
    r.resource("/dashboard/inbox/stream")
        .get(inbox_stream)
        .served_if(on);
}

/// `GET /dashboard/inbox?name=`: the capture inboxes, and one inbox's
/// requests, newest first, live.
pub(super) async fn inbox(
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    let names = match store.inboxes().await {
        Ok(names) => names,
        Err(e) => return unavailable(&frame, &e),
    };
    let name = query
        .get("name")
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .or_else(|| names.first().map(|(n, _)| n.clone()));
    let requests = match &name {
        Some(name) => match store.captured(name.clone()).await {
            Ok(requests) => requests,
            Err(e) => return unavailable(&frame, &e),
        },
        None => Vec::new(),
    };
    page(
        StatusCode::OK,
        inbox_html(&frame, &names, name.as_deref(), &requests),
    )
}

/// `GET /dashboard/inbox/stream?name=`: an inbox's requests (HTML, newest
/// first) as a `requests` event whenever they change.
pub(super) async fn inbox_stream(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    let name = query
        .get("name")
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    live(&req, move || {
        let (store, name) = (store.clone(), name.clone());
        async move {
            match store.captured(name).await {
                Ok(requests) => vec![("requests", inbox_requests(&requests).into_string())],
                Err(_) => Vec::new(),
            }
        }
    })
}

/// The capture inboxes (what webhooks pointed at
/// `/sandbox/v1/inbox/{name}` received) and one inbox's requests, newest
/// first, with Clear.
pub fn inbox_html(
    frame: &Frame,
    names: &[(String, usize)],
    name: Option<&str>,
    requests: &[Captured],
) -> Markup {
    layout(
        frame,
        "Inbox",
        html! {
            h1 { "Capture inbox" }
            @if names.is_empty() {
                p.muted data-test="no-inbox" {
                    "Nothing received yet. Point a webhook at "
                    code { "http://127.0.0.1:8080/sandbox/v1/inbox/<name>" }
                    " and what it is sent shows here, live."
                }
            } @else {
                p data-test="inboxes" {
                    @for (n, count) in names {
                        a href=(format!("/dashboard/inbox?name={}", url_encode(n))) { (n) } " (" (count) ") "
                    }
                }
            }
            @if let Some(name) = name {
                h2 { (name) }
                p {
                    button type="button" data-test="clear-inbox" data-reload-action="DELETE"
                        data-url=(format!("/sandbox/v1/inbox/{}/requests", url_encode(name))) { "Clear" }
                    " " span.muted data-test="inbox-live" { "live: new requests appear here" }
                }
                ol.attempts data-test="inbox-requests"
                    data-stream=(format!("/dashboard/inbox/stream?name={}", url_encode(name))) {
                    (inbox_markup(requests))
                }
            }
        },
    )
}

/// An inbox's requests, newest first (the inbox page's stream sends these).
pub fn inbox_requests(requests: &[Captured]) -> Markup {
    inbox_markup(requests)
}

pub(super) fn inbox_markup(requests: &[Captured]) -> Markup {
    html! {
        @for r in requests.iter().rev() {
            li data-test="inbox-request" {
                strong { (r.method) } " at "
                time datetime=(r.received_time) title=(format!("{} (UTC)", r.received_time)) { (r.received_time) }
                details {
                    summary { "Headers" }
                    pre { @for (k, v) in &r.headers { (k) ": " (v) "\n" } }
                }
                @let body = sensitive::mask(&r.body);
                details open {
                    summary { "Body" " " span.muted { "(otpValue, dpan and paymentToken masked; the API answers them as captured)" } }
                    pre data-test="inbox-body" {
                        (serde_json::to_string_pretty(&body).unwrap_or_default())
                    }
                }
                details {
                    summary { "Body, raw" }
                    pre data-test="inbox-raw" {
                        @match &body {
                            serde_json::Value::String(text) => { (text) }
                            body => { (body.to_string()) }
                        }
                    }
                }
            }
        }
    }
}
