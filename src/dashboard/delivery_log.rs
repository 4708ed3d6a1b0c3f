//! The delivery log at `/`: filters in the URL, pages of 50, newest first, live
//! over Server-Sent Events.

use super::frame::Frame;
use super::frame::Strip;
use super::frame::Viewer;
use super::layout::layout;
use super::layout::page;
use super::layout::problem;
use super::layout::strip_html;
use super::layout::unavailable;
use super::layout::url_encode;
use super::layout::when;
use super::live::live;
use crate::delivery::EngineStats;
use crate::domain::Attempt;
use crate::domain::Clock;
use crate::domain::EventCode;
use crate::domain::EventId;
use crate::domain::Notification;
use crate::domain::NotificationId;
use crate::domain::NotificationStatus;
use crate::domain::PmCode;
use crate::domain::WebhookId;
use crate::routes::Routes;
use crate::sandbox::Fixture;
use crate::store::LogFilter;
use crate::store::LogScan;
use crate::store::Store;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::HttpRequest;
use actix_web::HttpResponse;
use maud::html;
use maud::Markup;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The delivery log, and its live stream.
pub(super) fn routes(r: &mut Routes, on: bool) {
    r.resource("/").get(log).served_if(on);
    r.resource("/dashboard/stream").get(stream).served_if(on);
}

/// Rows per page of the delivery log.
pub(super) const PAGE: u32 = 50;

/// The most notifications one page of the log looks through: a filter that
/// matches little reads this many rows (about 1.3 ms of CPU, see the
/// dashboard benchmark), not the whole table, and the page links further
/// back. The live log reads its first page every half second per browser,
/// so this bounds that too.
pub const WINDOW: u64 = 10_000;

/// The delivery log's filters as the URL gives them: each one parsed, or the
/// reason it is refused.
#[derive(Debug, Default)]
pub struct Filters {
    pub filter: LogFilter,
    pub before: Option<u64>,
    /// The raw values, to fill the form and the next page's link.
    pub raw: Vec<(&'static str, String)>,
}

pub(super) const FILTER_KEYS: [&str; 8] = [
    "pm", "webhook", "event", "status", "id", "range", "since", "until",
];

/// The time ranges the log offers, counted back from now.
pub const RANGES: [(&str, &str, i64); 4] = [
    ("15m", "last 15 minutes", 15 * 60),
    ("1h", "last hour", 3600),
    ("24h", "last 24 hours", 24 * 3600),
    ("7d", "last 7 days", 7 * 24 * 3600),
];

pub(super) fn instant(key: &str, value: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        format!("{key} is a time like 2026-11-30T12:00:00Z (RFC 3339); {value:?} is not.")
    })
}

impl Filters {
    fn parse(
        query: &HashMap<String, String>,
        viewer: &Viewer,
        now: OffsetDateTime,
    ) -> Result<Self, String> {
        let mut filters = Filters::default();
        for key in FILTER_KEYS {
            let Some(value) = query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
                continue;
            };
            let f = &mut filters.filter;
            match key {
                "pm" => f.pm = Some(PmCode::parse(value).map_err(|p| p.message)?),
                "webhook" => f.webhook = Some(WebhookId::parse(value).map_err(|p| p.message)?),
                "event" => {
                    let n: i64 = value
                        .parse()
                        .map_err(|_| format!("{value:?} is not an event code."))?;
                    f.event = Some(EventCode::from_number(n, "event").map_err(|p| p.message)?);
                }
                "status" => {
                    f.status = Some(
                        value
                            .parse::<NotificationStatus>()
                            .map_err(|_| format!("{value:?} is not a notification status."))?,
                    );
                }
                "range" => {
                    let (_, _, seconds) = RANGES
                        .iter()
                        .find(|(k, _, _)| *k == value)
                        .ok_or_else(|| format!("{value:?} is not a time range."))?;
                    f.since = Some(now - time::Duration::seconds(*seconds));
                }
                "since" => f.since = Some(instant("since", value)?),
                "until" => f.until = Some(instant("until", value)?),
                _ => f.id = Some(NotificationId::parse(value).map_err(|p| p.message)?),
            }
            filters.raw.push((key, value.to_owned()));
        }
        if let (Some(since), Some(until)) = (filters.filter.since, filters.filter.until) {
            if since >= until {
                return Err("The time range ends before it starts.".into());
            }
        }
        if let Some(before) = query.get("before").filter(|v| !v.is_empty()) {
            filters.before = Some(
                before
                    .parse()
                    .map_err(|_| "The page position is not a number.".to_owned())?,
            );
        }
        if let Some(mine) = &viewer.pm {
            // A program manager signed in sees its own notifications only.
            filters.filter.pm = Some(mine.clone());
            filters.raw.retain(|(k, _)| *k != "pm");
            filters.raw.push(("pm", mine.to_string()));
        }
        Ok(filters)
    }

    pub fn value(&self, key: &str) -> &str {
        self.raw
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// `GET /`: the delivery log.
pub(super) async fn log(
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
    clock: web::Data<dyn Clock>,
) -> HttpResponse {
    let filters = match Filters::parse(&query, &frame.viewer, clock.now()) {
        Ok(filters) => filters,
        Err(why) => return page(StatusCode::BAD_REQUEST, problem(&frame, &why)),
    };
    let fixture = fixture.as_ref().map(|f| &***f);
    match rows(&**store, fixture, frame.viewer.pm.as_ref(), &filters).await {
        Ok((rows, next)) => page(StatusCode::OK, log_html(&frame, &filters, &rows, next)),
        Err(e) => unavailable(&frame, &e),
    }
}

/// A page of the log's rows, and where the next page starts.
pub(super) async fn rows(
    store: &dyn Store,
    fixture: Option<&Fixture>,
    scope: Option<&PmCode>,
    filters: &Filters,
) -> Result<(Vec<Row>, Option<u64>), StoreError> {
    let log = store
        .recent(
            scope,
            filters.filter.clone(),
            LogScan {
                before: filters.before,
                limit: PAGE,
                window: WINDOW,
            },
        )
        .await?;
    let mut rows = Vec::with_capacity(log.entries.len());
    // Each webhook read once per page (on PostgreSQL a read is a round trip).
    let mut urls: HashMap<WebhookId, Option<String>> = HashMap::new();
    for (notification, last) in log.entries {
        let url = match urls.get(&notification.webhook_id) {
            Some(url) => url.clone(),
            None => {
                let url = store
                    .get(notification.webhook_id, None)
                    .await
                    .ok()
                    .map(|webhook| webhook.config.url.as_str().to_owned());
                urls.insert(notification.webhook_id, url.clone());
                url
            }
        };
        let event = fixture.and_then(|f| f.journal.event_of(notification.id));
        rows.push(Row {
            notification,
            last,
            url,
            event,
        });
    }
    Ok((rows, log.next))
}

/// `GET /dashboard/stream?<filters>`: the live log: a `rows` event with the
/// first page's rows (HTML) whenever they change (a new notification, a new
/// attempt, a new status), and a `strip` event with the status strip.
pub(super) async fn stream(
    req: HttpRequest,
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    stats: web::Data<EngineStats>,
    fixture: Option<web::Data<Fixture>>,
    clock: web::Data<dyn Clock>,
) -> HttpResponse {
    let mut filters = match Filters::parse(&query, &frame.viewer, clock.now()) {
        Ok(filters) => filters,
        Err(why) => return page(StatusCode::BAD_REQUEST, problem(&frame, &why)),
    };
    filters.before = None;
    let with_strip = frame.strip.is_some();
    let filters = std::rc::Rc::new(filters);
    let scope = frame.viewer.pm.clone();
    live(&req, move || {
        let (store, stats, filters) = (store.clone(), stats.clone(), filters.clone());
        let (scope, fixture, clock) = (scope.clone(), fixture.clone(), clock.clone());
        async move {
            let mut parts = Vec::with_capacity(2);
            let fixture = fixture.as_ref().map(|f| &***f);
            if let Ok((rows, _)) = rows(&**store, fixture, scope.as_ref(), &filters).await {
                parts.push(("rows", rows_html(&rows).into_string()));
            }
            if with_strip {
                let strip = Strip::read(&**store, &stats, clock.now()).await;
                parts.push(("strip", strip_html(&strip).into_string()));
            }
            parts
        }
    })
}

/// One row of the delivery log.
pub struct Row {
    pub notification: Notification,
    pub last: Option<Attempt>,
    /// The webhook's URL, when the webhook still exists.
    pub url: Option<String>,
    /// The sandbox event that made it, while the journal holds it.
    pub event: Option<EventId>,
}

/// What the last attempt came to: the HTTP status, or the error's class.
pub(super) fn last_result(last: Option<&Attempt>) -> String {
    match last {
        None => "not attempted yet".into(),
        Some(a) => match (a.http_status, &a.error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".into(),
        },
    }
}

pub(super) fn detail_link(n: &Notification) -> String {
    format!(
        "/dashboard/webhooks/{}/notifications/{}",
        n.webhook_id, n.id
    )
}

/// The delivery log: the filter form, the rows, and the link to older ones.
pub fn log_html(frame: &Frame, filters: &Filters, rows: &[Row], next: Option<u64>) -> Markup {
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
                    "None of the " (WINDOW) " notifications looked through matches; older ones are below."
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
pub fn rows_html(rows: &[Row]) -> Markup {
    rows_markup(rows)
}

pub(super) fn rows_markup(rows: &[Row]) -> Markup {
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
pub(super) fn stream_url(filters: &Filters) -> String {
    let query: Vec<String> = filters
        .raw
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    format!("/dashboard/stream?{}", query.join("&"))
}
