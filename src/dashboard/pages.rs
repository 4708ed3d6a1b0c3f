//! The dashboard's HTML. maud escapes every value it is given, so a payload,
//! header or URL that holds markup shows as text. Stable `data-test`
//! attributes name what tests look for.

use maud::{html, Markup, DOCTYPE};
use time::OffsetDateTime;

use super::frame::{Frame, Strip};
use super::{Filters, RANGES};
use crate::domain::chaos::Chaos;
use crate::domain::event_code::CATALOGUE;
use crate::domain::scenario::Scenario;
use crate::domain::sensitive;
use crate::domain::time::{rfc3339_millis, rfc3339_seconds};
use std::sync::Arc;

use crate::domain::inbox::Captured;
use crate::domain::{
    Attempt, EventCode, EventId, Notification, NotificationStatus, PmCode, ProductId, Waiting,
    Webhook, WebhookStatus,
};
use crate::outbound::USER_AGENT;
use crate::sandbox::EventRecord;

/// One row of the delivery log.
pub struct Row {
    pub notification: Notification,
    pub last: Option<Attempt>,
    /// The webhook's URL, when the webhook still exists.
    pub url: Option<String>,
    /// The sandbox event that made it, while the journal holds it.
    pub event: Option<EventId>,
}

/// One event of the Events page: the event as kept, and the status now of
/// each of its notifications (`None`: purged or reset).
pub struct EventRow {
    pub record: Arc<EventRecord>,
    pub statuses: Vec<Option<NotificationStatus>>,
}

/// An id, in full, with a button that copies it.
fn copyable(id: &str) -> Markup {
    html! {
        code.id { (id) }
        " "
        button.copy type="button" data-copy-text=(id) data-test="copy-id" aria-label=(format!("Copy {id}")) { "Copy" }
    }
}

fn layout(frame: &Frame, title: &str, body: Markup) -> Markup {
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
pub fn strip(strip: &Strip) -> Markup {
    strip_markup(strip)
}

fn strip_markup(strip: &Strip) -> Markup {
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
fn when(at: OffsetDateTime) -> Markup {
    let utc = rfc3339_seconds(at);
    html! { time datetime=(utc) title=(format!("{utc} (UTC)")) { (utc) } }
}

/// The sign-in form (auth on), with what went wrong, if anything.
pub fn sign_in(next: &str, problem: Option<&str>) -> Markup {
    let frame = Frame {
        viewer: super::Viewer::default(),
        strip: None,
        signs_in: false,
    };
    layout(
        &frame,
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(problem) = problem {
                p.problem role="alert" data-test="problem" { (problem) }
            }
            p.muted { "The dashboard shows one program manager's webhooks and notifications: sign in as it, with one of its tokens or an OAuth client's id and secret." }
            form.send method="post" action="/dashboard/sign-in" data-test="sign-in-form" {
                input type="hidden" name="next" value=(next);
                p.fields {
                    label { "Token" input type="password" name="token" size="40" autocomplete="current-password"; }
                }
                p.muted { "or" }
                p.fields {
                    label { "Client id" input name="client_id" size="20" autocomplete="username"; }
                    label { "Client secret" input type="password" name="client_secret" size="40"; }
                }
                p { button type="submit" data-test="sign-in" { "Sign in" } }
            }
        },
    )
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

/// What the last attempt came to: the HTTP status, or the error's class.
fn last_result(last: Option<&Attempt>) -> String {
    match last {
        None => "not attempted yet".into(),
        Some(a) => match (a.http_status, &a.error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".into(),
        },
    }
}

fn detail_link(n: &Notification) -> String {
    format!(
        "/dashboard/webhooks/{}/notifications/{}",
        n.webhook_id, n.id
    )
}

/// The delivery log: the filter form, the rows, and the link to older ones.
pub fn log(frame: &Frame, filters: &Filters, rows: &[Row], next: Option<u64>) -> Markup {
    let older = next.map(|before| {
        let mut query: Vec<String> = filters
            .raw
            .iter()
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect();
        query.push(format!("before={before}"));
        format!("/?{}", query.join("&"))
    });
    let status = filters.value("status");
    let range = filters.value("range");
    let scoped = frame.viewer.pm.is_some();
    layout(
        frame,
        "Delivery log",
        html! {
            h1 { "Delivery log" }
            form.filters method="get" action="/" data-test="filters" {
                label { "Program manager" input name="pm" value=(filters.value("pm")) size="5" readonly[scoped]; }
                label { "Webhook id" input name="webhook" value=(filters.value("webhook")) size="36"; }
                label { "Event code" input name="event" value=(filters.value("event")) size="5"; }
                label { "Status"
                    select name="status" {
                        option value="" selected[status.is_empty()] { "any" }
                        @for s in ["Pending", "Delivered", "Undelivered"] {
                            option value=(s) selected[status == s] { (s) }
                        }
                    }
                }
                label { "Notification id" input name="id" value=(filters.value("id")) size="36"; }
                label { "Created"
                    select name="range" data-test="range" {
                        option value="" selected[range.is_empty()] { "any time" }
                        @for (key, name, _) in RANGES {
                            option value=(key) selected[range == key] { (name) }
                        }
                    }
                }
                label { "From (UTC)" input name="since" value=(filters.value("since")) size="20" placeholder="2026-11-30T12:00:00Z"; }
                label { "Until (UTC)" input name="until" value=(filters.value("until")) size="20" placeholder="2026-11-30T13:00:00Z"; }
                button type="submit" { "Filter" }
                a href="/" { "Clear" }
            }
            @let live = filters.before.is_none();
            p.muted {
                @if live {
                    span data-test="live" { "live: new notifications and attempts appear here" }
                    " "
                    button type="button" data-test="pause" hidden { "Pause" }
                    " "
                    span.keys { "Keys: " kbd { "j" } "/" kbd { "k" } " move, " kbd { "Enter" } " opens." }
                } @else {
                    "An older page: " a href="/" { "jump to the newest" }
                }
            }
            p.muted data-test="empty" hidden[!rows.is_empty()] {
                @if next.is_some() {
                    "None of the " (super::WINDOW) " notifications looked through matches; older ones are below."
                } @else {
                    "No notification matches."
                }
            }
            table data-test="log" data-stream=[live.then(|| stream_url(filters))] {
                thead {
                    tr {
                        th { "Created" }
                        th { "Program manager" }
                        th.wide { "Webhook" }
                        th { "Event" }
                        th { "Status" }
                        th.num { "Attempts" }
                        th { "Last result" }
                        th.wide { "Next attempt" }
                    }
                }
                tbody { (rows_markup(rows)) }
            }
            @if let Some(older) = older {
                p.pager { a href=(older) data-test="older" { "Older notifications →" } }
            }
        },
    )
}

/// The log's rows (the live stream sends these).
pub fn rows(rows: &[Row]) -> Markup {
    rows_markup(rows)
}

fn rows_markup(rows: &[Row]) -> Markup {
    html! {
        @for row in rows {
            @let n = &row.notification;
            tr data-test="row" data-notification=(n.id) {
                td { a href=(detail_link(n)) { (when(n.created_time)) } }
                td { (n.pm_code) }
                td.wide {
                    @match &row.url {
                        Some(url) => { (url) }
                        None => { span.muted { "(deleted)" } }
                    }
                }
                td {
                    @match row.event {
                        Some(event) => {
                            a href=(format!("/dashboard/events?id={event}")) data-test="event-link" title="The event that made it" { (n.event_code.value()) }
                        }
                        None => { (n.event_code.value()) }
                    }
                    " " span.muted { (n.event_code.description()) }
                }
                td { span class=(format!("status-{}", n.status.as_str())) data-test="status" { (n.status.as_str()) } }
                td.num { (n.attempts) }
                td { (last_result(row.last.as_ref())) }
                td.wide {
                    @match n.next_attempt {
                        Some(at) => { (when(at)) }
                        None => { span.muted { "—" } }
                    }
                }
            }
        }
    }
}

/// The live stream of the log with these filters.
fn stream_url(filters: &Filters) -> String {
    let query: Vec<String> = filters
        .raw
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    format!("/dashboard/stream?{}", query.join("&"))
}

/// One notification: what was sent, to whom, and every attempt, with the
/// actions a developer reaches for: resend a final one, deliver a waiting one
/// now, copy the request as cURL.
pub fn detail(
    frame: &Frame,
    n: &Notification,
    attempts: &[Attempt],
    webhook: Option<&Webhook>,
    waiting: Option<&Waiting>,
    reveal: bool,
) -> Markup {
    let shown = |v: serde_json::Value| if reveal { v } else { sensitive::mask(&v) };
    let envelope = serde_json::from_str::<serde_json::Value>(&n.body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&shown(v)).ok())
        .unwrap_or_else(|| n.body.clone());
    let body = serde_json::from_str::<serde_json::Value>(&n.body)
        .ok()
        .filter(|_| !reveal)
        .map_or_else(|| n.body.clone(), |v| shown(v).to_string());
    let resend_body = serde_json::json!({"notificationIds": [n.id.to_string()]}).to_string();
    layout(
        frame,
        "Notification",
        html! {
            h1 { "Notification" }
            p { "Notification id " (copyable(&n.id.to_string())) }
            section data-test="live-detail" data-attempts=(attempts.len()) {
                dl.facts {
                    dt { "Status" } dd { span class=(format!("status-{}", n.status.as_str())) data-test="status" { (n.status.as_str()) } }
                    dt { "Event" } dd { (n.event_code.value()) " " (n.event_code.description()) }
                    dt { "Program manager" } dd { (n.pm_code) }
                    dt { "Webhook" } dd {
                        (copyable(&n.webhook_id.to_string()))
                        @if let Some(w) = webhook { " " (w.config.url.as_str()) }
                    }
                    dt { "Created" } dd { (when(n.created_time)) }
                    dt { "Next attempt" } dd {
                        @match n.next_attempt {
                            Some(at) => { (when(at)) }
                            None => { "none" }
                        }
                    }
                    @if let Some(waiting) = waiting {
                        dt { "Waiting" } dd data-test="waiting" data-reason=(waiting.reason()) {
                            (waiting.message(rfc3339_seconds))
                        }
                    }
                }
                p.actions {
                    @if n.status == NotificationStatus::Pending {
                        button type="button" data-test="deliver-now" data-action="deliver"
                            data-url=(format!("/sandbox/v1/webhooks/{}/notifications/{}/deliver", n.webhook_id, n.id))
                            data-pm=(n.pm_code) { "Deliver now" }
                    } @else {
                        button type="button" data-test="resend" data-action="resend"
                            data-url=(format!("/api/v1/Webhooks/{}/notifications/resend", n.webhook_id))
                            data-body=(resend_body) data-pm=(n.pm_code) { "Resend" }
                    }
                    " "
                    span.muted data-test="action-result" role="status" {}
                }
                h2 { "Attempts (" (attempts.len()) ")" }
                @if attempts.is_empty() {
                    p.muted { "Not attempted yet." }
                } @else {
                    ol.attempts data-test="attempts" {
                        @for a in attempts {
                            li data-test="attempt" {
                                strong { (last_result(Some(a))) }
                                " at " time datetime=(rfc3339_millis(a.time)) title=(format!("{} (UTC)", rfc3339_millis(a.time))) { (rfc3339_millis(a.time)) }
                                ", " (a.latency_ms) " ms"
                                details {
                                    summary { "Request headers sent" }
                                    pre { @for (k, v) in &a.request_headers { (k) ": " (v) "\n" } }
                                }
                                @if let Some(reply) = &a.reply {
                                    details {
                                        summary { "Response headers" }
                                        pre { @for (k, v) in &reply.headers { (k) ": " (v) "\n" } }
                                    }
                                    details {
                                        summary {
                                            "Response body"
                                            @if reply.body_truncated { " (cut at 4 KiB)" }
                                        }
                                        pre { (reply.body) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Envelope, as sent on every attempt" }
            p.muted {
                @if reveal {
                    "otpValue, dpan, paymentToken and the custom header values are shown. "
                    a data-test="reveal" href="?" { "Mask them" }
                } @else {
                    "otpValue, dpan, paymentToken and the custom header values are masked. "
                    a data-test="reveal" href="?reveal=1" { "Reveal them" }
                }
            }
            pre data-test="envelope" { (envelope) }
            @if let Some(w) = webhook {
                details {
                    summary { "The request as cURL" }
                    p {
                        button type="button" data-test="copy-curl" data-copy="curl" { "Copy as cURL" }
                        " "
                        span.muted {
                            @if reveal { "Custom header values included" } @else { "Masked values as shown: reveal them to copy the real request" }
                            "; signature headers, when signing is on, are made at each attempt and left out."
                        }
                    }
                    pre #curl data-test="curl" { (curl(w, &body, reveal)) }
                }
            }
            p { a href=(format!("/?webhook={}", n.webhook_id)) { "This webhook's notifications" } }
        },
    )
}

/// The delivery request as a shell command: the URL, the headers every
/// attempt sends and the exact body.
fn curl(webhook: &Webhook, body: &str, reveal: bool) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut command = format!("curl -X POST {}", quote(webhook.config.url.as_str()));
    command.push_str(&format!(
        " \\\n  -H {}",
        quote("Content-Type: application/json")
    ));
    command.push_str(&format!(
        " \\\n  -H {}",
        quote(&format!("User-Agent: {USER_AGENT}"))
    ));
    for (name, value) in webhook.config.custom_headers.iter() {
        let value = if reveal {
            value.to_owned()
        } else {
            sensitive::mask_text(value)
        };
        command.push_str(&format!(" \\\n  -H {}", quote(&format!("{name}: {value}"))));
    }
    command.push_str(&format!(" \\\n  --data-raw {}", quote(body)));
    command
}

/// The form that sends an event: program manager, product, event code, and
/// the payload as JSON (prefilled with a sample). "Load the sample" reloads
/// the form (a GET, so the choice stays in the URL); "Send" posts to the
/// API's trigger and, once it is answered, opens the live log filtered to
/// that program manager and event.
pub fn send(
    frame: &Frame,
    pm: &PmCode,
    product: Option<ProductId>,
    code: EventCode,
    payload: &str,
) -> Markup {
    let product = product.map(|p| p.value().to_string()).unwrap_or_default();
    let scoped = frame.viewer.pm.is_some();
    layout(
        frame,
        "Send an event",
        html! {
            h1 { "Send an event" }
            form.send method="get" action="/dashboard/send" data-test="send-form" {
                p.fields {
                    label { "Program manager" input name="pm" value=(pm) size="5" required readonly[scoped]; }
                    " "
                    label { "Product id" input name="product" value=(product) size="10" placeholder="none"; }
                    " "
                    label { "Event"
                        select name="event" {
                            @for (number, name) in CATALOGUE {
                                option value=(number) selected[*number == code.value()] { (number) " " (name) }
                            }
                        }
                    }
                    " "
                    button type="submit" { "Load the sample payload" }
                }
                label.payload { "Payload (JSON)"
                    textarea name="payload" rows="18" spellcheck="false" data-test="payload" { (payload) }
                }
                p {
                    button type="button" data-test="send" data-send="/sandbox/v1/events" { "Send" }
                    " "
                    span.muted data-test="send-result" role="status" {}
                }
                ul.problem data-test="send-problems" hidden {}
            }
            h2 { "Scenarios" }
            p.muted {
                "Thredd's documented flows as events that share their ids, for the program manager and product above."
            }
            ul.scenarios data-test="scenarios" {
                @for scenario in Scenario::ALL {
                    li {
                        button type="button" data-scenario=(scenario.name()) { "Run " (scenario.name()) }
                        " " span.muted { (scenario.description()) }
                    }
                }
            }
        },
    )
}

/// The Events page: each event sent with its fan-out, live.
pub fn events(frame: &Frame, query: &str, one: bool, rows: &[EventRow]) -> Markup {
    layout(
        frame,
        "Events",
        html! {
            h1 { "Events" }
            p.muted {
                @if one {
                    "One event: " a href="/dashboard/events" { "all events" }
                } @else {
                    "The events sent, newest first (the last " (super::EVENTS_SHOWN) "), each with what became of it: a notification per webhook that receives it, and why each other webhook of the program manager got none. Kept in memory since the service started."
                }
                " "
                span data-test="events-live" { "live" }
            }
            div data-test="events" data-stream=(format!("/dashboard/events/stream?{query}")) {
                (event_list(rows))
            }
        },
    )
}

/// The Events page's list (the live stream sends this).
pub fn event_list(rows: &[EventRow]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted data-test="no-events" { "No event yet: send one from " a href="/dashboard/send" { "Send an event" } "." }
        }
        @for row in rows {
            @let e = &row.record;
            section.event data-test="event" data-event=(e.id) {
                h2 {
                    (e.code.value()) " " (e.code.description())
                }
                p.muted {
                    (when(e.time)) " · program manager " (e.pm)
                    @if let Some(product) = e.product { " · product " (product.value()) }
                    " · event " (copyable(&e.id.to_string()))
                }
                @if e.notifications.is_empty() && e.skipped.is_empty() {
                    p data-test="nobody" { "The program manager has no webhook: nothing was sent." }
                }
                table.fan-out {
                    thead { tr { th.wide { "Webhook" } th.wide { "Notification" } th { "Status, or why none" } } }
                    tbody {
                        @for ((webhook, id), status) in e.notifications.iter().zip(&row.statuses) {
                            tr data-test="fan-out" data-notification=(id) {
                                td.wide { (copyable(&webhook.to_string())) }
                                td.wide {
                                    a href=(format!("/dashboard/webhooks/{webhook}/notifications/{id}")) { code.id { (id) } }
                                    " "
                                    button.copy type="button" data-copy-text=(id) aria-label=(format!("Copy {id}")) { "Copy" }
                                }
                                td {
                                    @match status {
                                        Some(s) => { span class=(format!("status-{}", s.as_str())) data-test="status" { (s.as_str()) } }
                                        None => { span.muted { "gone (purged or reset)" } }
                                    }
                                }
                            }
                        }
                        @for (webhook, reason) in &e.skipped {
                            tr data-test="skipped" {
                                td.wide { (copyable(&webhook.to_string())) }
                                td.wide { span.muted { "none" } }
                                td { span.reason data-test="reason" title=(skip_help(reason.as_str())) { (reason.as_str()) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What a skip reason means, for its tooltip.
fn skip_help(reason: &str) -> &'static str {
    match reason {
        "NOT_SUBSCRIBED" => "The webhook is not subscribed to this event code.",
        "OTHER_PRODUCT" => "The webhook is for another product than the event's.",
        "WEBHOOK_INACTIVE" => "The webhook is inactive; set it active to receive events.",
        _ => "The webhook is suspended after failures; set it active to resume.",
    }
}

/// One program manager's webhooks: each with its product, status, events,
/// custom header names (never values), last heartbeat, and its actions; then
/// the create form, whose problems the script lists by field.
pub fn webhooks(
    frame: &Frame,
    pm: &PmCode,
    list: &[Arc<Webhook>],
    chaos: &dyn Fn(crate::domain::WebhookId) -> Option<Chaos>,
) -> Markup {
    layout(
        frame,
        "Webhooks",
        html! {
            h1 { "Webhooks of " (pm) }
            @if frame.viewer.pm.is_none() {
                form.filters method="get" action="/dashboard/webhooks" {
                    label { "Program manager" input name="pm" value=(pm) size="5"; }
                    button type="submit" { "Show" }
                }
            }
            @if list.is_empty() {
                p.muted data-test="no-webhooks" { "No webhook yet: create one below." }
            } @else {
                table data-test="webhooks" {
                    thead { tr {
                        th { "Product" } th { "URL" } th { "Status" } th.wide { "Events" }
                        th.wide { "Custom headers" } th { "Last heartbeat" } th { "Actions" }
                    } }
                    tbody {
                        @for w in list {
                            tr data-test="webhook" data-webhook=(w.id) {
                                td { @match w.product_id { Some(p) => { (p.value()) } None => { span.muted { "all (PM level)" } } } }
                                td { (w.config.url.as_str()) br; a.muted href=(format!("/?webhook={}", w.id)) { "notifications" } }
                                td {
                                    span data-test="webhook-status" { (w.status.as_str()) }
                                    @if let Some(c) = chaos(w.id) {
                                        br;
                                        span.muted data-test="chaos" title="Disorder on request (PUT /sandbox/v1/webhooks/{id}/chaos)" {
                                            "chaos:"
                                            @if c.duplicates { " duplicates" }
                                            @if c.reorder { " reorder (seed " (c.seed) ")" }
                                        }
                                    }
                                }
                                td.wide {
                                    @for code in w.events.iter() {
                                        span title=(code.description()) { (code.value()) } " "
                                    }
                                }
                                td.wide {
                                    @for (name, _) in w.config.custom_headers.iter() { code { (name) } " " }
                                }
                                td data-test="heartbeat" {
                                    @match &w.last_heartbeat {
                                        None => { span.muted { "never" } }
                                        Some(h) => {
                                            (h.health_status.as_str())
                                            @if let Some(status) = h.http_status { ", HTTP " (status) }
                                            ", " (h.latency_ms) " ms"
                                            @if let Some(error) = &h.error { br; span.muted { (error) } }
                                            br; span.muted { (when(h.checked_time)) }
                                        }
                                    }
                                }
                                td {
                                    button type="button" data-test="ping" data-action="ping" data-method="GET"
                                        data-url=(format!("/api/v1/Webhooks/{}/heartbeat", w.id)) data-pm=(w.pm_code) { "Ping now" }
                                    " "
                                    @let (label, next) = if w.status == WebhookStatus::Active { ("Deactivate", "inactive") } else { ("Activate", "active") };
                                    button type="button" data-test="toggle" data-action="status" data-method="PUT"
                                        data-url=(format!("/api/v1/Webhooks/{}/status", w.id))
                                        data-body=(serde_json::json!({"webhookStatus": next}).to_string())
                                        data-pm=(w.pm_code) { (label) }
                                    " "
                                    button type="button" data-test="edit" data-edit=(format!("/api/v1/Webhooks/{}", w.id)) data-pm=(w.pm_code) { "Edit" }
                                }
                            }
                        }
                    }
                }
                p.muted data-test="webhook-result" role="status" {}
            }
            h2 data-test="form-title" { "Create a webhook" }
            form.send data-test="create-form" {
                p.fields {
                    label { "Product id (empty: PM level)" input name="productId" size="10"; }
                    label { "URL" input name="url" size="50" placeholder="https://client.example/hook"; }
                    label { "Event codes (comma-separated)" input name="events" size="20" value="101, 103"; }
                    label { "Custom headers (JSON)" input name="customHeaders" size="30" value="{}"; }
                }
                p {
                    button type="button" data-test="create" data-create="/api/v1/Webhooks" data-pm=(pm) { "Create" }
                    " "
                    button type="button" data-test="cancel-edit" data-cancel-edit hidden { "Cancel" }
                    " "
                    span.muted data-test="create-result" role="status" {}
                }
                ul.problem data-test="create-problems" hidden {}
            }
        },
    )
}

/// The capture inboxes (what webhooks pointed at
/// `/sandbox/v1/inbox/{name}` received) and one inbox's requests, newest
/// first, with Clear.
pub fn inbox(
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

fn inbox_markup(requests: &[Captured]) -> Markup {
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

/// Percent-encodes a query value (everything but unreserved characters).
pub(super) fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
