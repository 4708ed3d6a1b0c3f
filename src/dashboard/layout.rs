//! What every page shares: the layout around a page's body (header, navigation,
//! status strip), the response headers (Content-Security-Policy), the
//! storage-unavailable page, and small pieces of markup.

use super::frame::Frame;
use super::frame::Strip;
use crate::domain::time::rfc3339_seconds;
use crate::store::StoreError;
use actix_web::http::header;
use actix_web::http::header::HeaderValue;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use maud::html;
use maud::Markup;
use maud::DOCTYPE;
use time::OffsetDateTime;

/// Nothing from another host, no inline script, no framing: the pages are
/// HTML, one stylesheet, one script, and the live log's event stream.
pub(super) const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

pub(super) fn page(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(markup.into_string())
}

/// The storage could not answer: a page that says so (503), never internals.
pub(super) fn unavailable(frame: &Frame, e: &StoreError) -> HttpResponse {
    log::warn!("dashboard: reading the store: {e}");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        problem(frame, "The storage cannot answer now; try again shortly."),
    )
}

/// An id, in full, with a button that copies it.
pub(super) fn copyable(id: &str) -> Markup {
    html! {
        code.id { (id) }
        " "
        button.copy type="button" data-copy-text=(id) data-test="copy-id" aria-label=(format!("Copy {id}")) { "Copy" }
    }
}

pub(super) fn layout(frame: &Frame, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(csrf) = &frame.viewer.csrf {
                    meta name="csrf-token" content=(csrf);
                }
                title { (title) " · webhook-manager" }
                link rel="stylesheet" href="/dashboard/assets/app.css";
                script src="/dashboard/assets/app.js" defer {}
            }
            body {
                header {
                    nav aria-label="Main" {
                        a.brand href="/" { "webhook-manager" }
                        a href="/" { "Delivery log" }
                        a href="/?status=Undelivered" { "Undelivered" }
                        a href="/dashboard/webhooks" { "Webhooks" }
                        a href="/dashboard/send" { "Send an event" }
                        a href="/dashboard/events" { "Events" }
                        a href="/dashboard/inbox" { "Inbox" }
                        a href="/api/v1/openapi.json" { "OpenAPI" }
                        span.spacer {}
                        @if let Some(pm) = &frame.viewer.pm {
                            span.muted data-test="signed-in" { "Program manager " strong { (pm) } }
                        }
                        @if frame.signs_in {
                            button type="button" data-test="sign-out" data-sign-out="/dashboard/sign-out" { "Sign out" }
                        }
                        button type="button" data-test="theme" data-theme-toggle aria-label="Colour theme" { "Theme: system" }
                    }
                    @if let Some(strip) = &frame.strip {
                        div.strip data-test="strip" aria-label="The last hour" { (strip_markup(strip)) }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The status strip (the live log's stream sends it too).
pub fn strip_html(strip: &Strip) -> Markup {
    strip_markup(strip)
}

pub(super) fn strip_markup(strip: &Strip) -> Markup {
    let hour = &strip.hour;
    let most = hour
        .per_minute
        .iter()
        .map(|(ok, failed)| ok + failed)
        .max()
        .unwrap_or(0)
        .max(1);
    let latency = |bound: Option<u64>| match bound {
        Some(ms) => format!("≤ {ms} ms"),
        None if hour.attempts > 0 => "> 10 s".to_owned(),
        None => "–".to_owned(),
    };
    html! {
        span { "Last hour: " }
        span.status-Delivered data-test="strip-delivered" { (hour.delivered) " delivered" }
        " · "
        span.status-Undelivered data-test="strip-undelivered" { (hour.undelivered) " undelivered" }
        " · "
        span.status-Pending data-test="strip-pending" {
            @match strip.pending { Some(n) => { (n) " pending now" } None => { "pending: unknown" } }
        }
        " · "
        // 60 bars, one per minute, oldest first: attempts that landed (green)
        // on top of those that failed (red), scaled to the busiest minute.
        svg.spark viewBox="0 0 120 20" width="120" height="20" role="img"
            aria-label=(format!("Attempts per minute over the last hour: {} landed, {} failed at the busiest minute", hour.per_minute.iter().map(|m| m.0).max().unwrap_or(0), hour.per_minute.iter().map(|m| m.1).max().unwrap_or(0))) {
            @for (i, (ok, failed)) in hour.per_minute.iter().enumerate() {
                @let failed_h = failed * 20 / most;
                @let ok_h = ok * 20 / most;
                @if *failed > 0 {
                    rect.spark-failed x=(i * 2) y=(20 - failed_h.max(1)) width="2" height=(failed_h.max(1)) {}
                }
                @if *ok > 0 {
                    rect.spark-ok x=(i * 2) y=(20 - failed_h - ok_h.max(1)) width="2" height=(ok_h.max(1)) {}
                }
            }
        }
        " · attempts p50 " span data-test="strip-p50" { (latency(hour.p50_ms)) }
        ", p95 " span data-test="strip-p95" { (latency(hour.p95_ms)) }
    }
}

/// A time, in UTC; the script shows it in the browser's time zone and keeps
/// UTC on hover.
pub(super) fn when(at: OffsetDateTime) -> Markup {
    let utc = rfc3339_seconds(at);
    html! { time datetime=(utc) title=(format!("{utc} (UTC)")) { (utc) } }
}

/// A page that only says what went wrong.
pub fn problem(frame: &Frame, message: &str) -> Markup {
    layout(
        frame,
        "Problem",
        html! {
            h1 { "Something is not right" }
            p.problem role="alert" data-test="problem" { (message) }
            p { a href="/" { "Back to the delivery log" } }
        },
    )
}

/// Percent-encodes a query value (everything but unreserved characters).
pub(super) fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
