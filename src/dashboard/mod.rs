//! The web dashboard at `/`: server-rendered HTML (maud: compile-time
//! templates that escape every value), one stylesheet and one small script
//! compiled into the binary, and no request to any other host (the
//! Content-Security-Policy says so). Pages: the delivery log (filters in the
//! URL, pages of 50, newest first, live over Server-Sent Events), a
//! notification's detail (the envelope as sent, every attempt, Resend, Deliver
//! now, Copy as cURL), Send an event, Webhooks (create, edit, ping,
//! activate) and Inbox, each under a status strip. Served with `[dashboard]
//! enabled`; with auth on, every page but the sign-in form needs a session
//! (`sign_in`, `auth::session`) and shows only the signed-in program
//! manager's webhooks and notifications. Startup registers these routes
//! beside the API's; they are not in `api::route_table` (not API operations,
//! and the dashboard depends on the API, not the other way round), but in
//! [`route_table`], which authentication reads for the open ones.

mod frame;
mod pages;
mod sign_in;

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, Responder};
use actix_web_lab::sse;
use maud::Markup;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use self::frame::{Frame, Strip, Viewer};
use crate::delivery::EngineStats;
use crate::domain::event_payload::sample;
use crate::domain::{
    Clock, EventCode, EventId, NotificationId, NotificationStatus, PmCode, ProductId, Waiting,
    WebhookId, WebhookStatus,
};
use crate::routes::{Route, Routes};
use crate::runtime::LiveSettings;
use crate::sandbox::{notifications_now, Fixture};
use crate::shutdown::Stopping;
use crate::store::{LogFilter, LogScan, Store, StoreError};

pub fn routes(r: &mut Routes) {
    let on = r.dashboard();
    sign_in::routes(r);
    r.resource("/").get(log).served_if(on);
    r.resource("/dashboard/webhooks/{id}/notifications/{notificationId}")
        .get(detail)
        .served_if(on);
    r.resource("/dashboard/stream").get(stream).served_if(on);
    r.resource("/dashboard/send").get(send).served_if(on);
    r.resource("/dashboard/events").get(events).served_if(on);
    r.resource("/dashboard/events/stream")
        .get(events_stream)
        .served_if(on);
    r.resource("/dashboard/webhooks")
        .get(webhooks)
        .served_if(on);
    r.resource("/dashboard/inbox").get(inbox).served_if(on);
    r.resource("/dashboard/inbox/stream")
        .get(inbox_stream)
        .served_if(on);
    // The stylesheet and the script hold no data: the sign-in page needs them.
    r.resource("/dashboard/assets/app.css")
        .get(stylesheet)
        .open()
        .served_if(on);
    r.resource("/dashboard/assets/app.js")
        .get(script)
        .open()
        .served_if(on);
    // Browsers ask for it on every page: no icon, and no 404 in their console.
    r.resource("/favicon.ico")
        .get(HttpResponse::NoContent)
        .open()
        .served_if(on);
}

/// The dashboard's routes, served or not (authentication reads the open ones).
pub fn route_table() -> Vec<Route> {
    let mut r = Routes::table_only();
    routes(&mut r);
    r.into_table()
}

/// Rows per page of the delivery log.
const PAGE: u32 = 50;

/// The most notifications one page of the log looks through: a filter that
/// matches little reads this many rows (about 1.3 ms of CPU, see the
/// dashboard benchmark), not the whole table, and the page links further
/// back. The live log reads its first page every half second per browser,
/// so this bounds that too.
pub const WINDOW: u64 = 10_000;

/// Nothing from another host, no inline script, no framing: the pages are
/// HTML, one stylesheet, one script, and the live log's event stream.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

/// How often an open live log looks for changes (only while a browser has
/// it open: no browser, no cost).
const LIVE_LOOK: Duration = Duration::from_millis(500);

fn page(status: StatusCode, markup: Markup) -> HttpResponse {
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
fn unavailable(frame: &Frame, e: &StoreError) -> HttpResponse {
    log::warn!("dashboard: reading the store: {e}");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::problem(frame, "The storage cannot answer now; try again shortly."),
    )
}

async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", include_str!("app.css"))
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", include_str!("app.js"))
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=300"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(body)
}

/// The delivery log's filters as the URL gives them: each one parsed, or the
/// reason it is refused.
#[derive(Debug, Default)]
pub struct Filters {
    pub filter: LogFilter,
    pub before: Option<u64>,
    /// The raw values, to fill the form and the next page's link.
    pub raw: Vec<(&'static str, String)>,
}

const FILTER_KEYS: [&str; 8] = [
    "pm", "webhook", "event", "status", "id", "range", "since", "until",
];

/// The time ranges the log offers, counted back from now.
pub const RANGES: [(&str, &str, i64); 4] = [
    ("15m", "last 15 minutes", 15 * 60),
    ("1h", "last hour", 3600),
    ("24h", "last 24 hours", 24 * 3600),
    ("7d", "last 7 days", 7 * 24 * 3600),
];

fn instant(key: &str, value: &str) -> Result<OffsetDateTime, String> {
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
async fn log(
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
    clock: web::Data<dyn Clock>,
) -> HttpResponse {
    let filters = match Filters::parse(&query, &frame.viewer, clock.now()) {
        Ok(filters) => filters,
        Err(why) => return page(StatusCode::BAD_REQUEST, pages::problem(&frame, &why)),
    };
    let fixture = fixture.as_ref().map(|f| &***f);
    match rows(&**store, fixture, frame.viewer.pm.as_ref(), &filters).await {
        Ok((rows, next)) => page(StatusCode::OK, pages::log(&frame, &filters, &rows, next)),
        Err(e) => unavailable(&frame, &e),
    }
}

/// A page of the log's rows, and where the next page starts.
async fn rows(
    store: &dyn Store,
    fixture: Option<&Fixture>,
    scope: Option<&PmCode>,
    filters: &Filters,
) -> Result<(Vec<pages::Row>, Option<u64>), StoreError> {
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
        rows.push(pages::Row {
            notification,
            last,
            url,
            event,
        });
    }
    Ok((rows, log.next))
}

/// Server-Sent Events from `look`, which answers the current HTML of each
/// named part of a page. It is called every [`LIVE_LOOK`] while the browser
/// keeps the stream open (no browser, no cost), and a part is sent, as an
/// event of its name, only when it changed: however much happens, a browser
/// gets at most one event per part per look.
fn live<F, Fut>(req: &HttpRequest, look: F) -> HttpResponse
where
    F: Fn() -> Fut + 'static,
    Fut: std::future::Future<Output = Vec<(&'static str, String)>>,
{
    let (events, receiver) = mpsc::channel::<sse::Event>(4);
    let stopping = req.app_data::<web::Data<Stopping>>().cloned();
    actix_rt::spawn(async move {
        let mut shown: HashMap<&'static str, String> = HashMap::new();
        loop {
            for (name, html) in look().await {
                if shown.get(name) == Some(&html) {
                    continue;
                }
                let event = sse::Data::new(html.clone()).event(name);
                if events.send(event.into()).await.is_err() {
                    return;
                }
                shown.insert(name, html);
            }
            let stopped = async {
                match &stopping {
                    Some(stopping) => stopping.wait().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = actix_rt::time::sleep(LIVE_LOOK) => {}
                // The service stops: the stream ends (the browser reconnects
                // to whatever answers next).
                () = stopped => return,
            }
            if events.is_closed() {
                return;
            }
        }
    });
    let mut response = sse::Sse::from_infallible_receiver(receiver)
        .with_keep_alive(Duration::from_secs(15))
        .respond_to(req);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /dashboard/stream?<filters>`: the live log: a `rows` event with the
/// first page's rows (HTML) whenever they change (a new notification, a new
/// attempt, a new status), and a `strip` event with the status strip.
async fn stream(
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
        Err(why) => return page(StatusCode::BAD_REQUEST, pages::problem(&frame, &why)),
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
                parts.push(("rows", pages::rows(&rows).into_string()));
            }
            if with_strip {
                let strip = Strip::read(&**store, &stats, clock.now()).await;
                parts.push(("strip", pages::strip(&strip).into_string()));
            }
            parts
        }
    })
}

/// `GET /dashboard/webhooks?pm=`: one program manager's webhooks (the
/// signed-in one's with auth on), with their last heartbeat, Ping now,
/// activate / deactivate, Edit, and a form to create one.
async fn webhooks(
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
) -> HttpResponse {
    let pm = match &frame.viewer.pm {
        Some(mine) => mine.clone(),
        None => match PmCode::parse(query.get("pm").map_or("TRD", |v| v.trim())) {
            Ok(pm) => pm,
            Err(p) => return page(StatusCode::BAD_REQUEST, pages::problem(&frame, &p.message)),
        },
    };
    match store.list(&pm).await {
        Ok(list) => {
            let chaos = |id| fixture.as_ref().and_then(|f| f.chaos(id));
            page(StatusCode::OK, pages::webhooks(&frame, &pm, &list, &chaos))
        }
        Err(e) => unavailable(&frame, &e),
    }
}

/// `GET /dashboard/inbox?name=`: the capture inboxes, and one inbox's
/// requests, newest first, live.
async fn inbox(
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
        pages::inbox(&frame, &names, name.as_deref(), &requests),
    )
}

/// `GET /dashboard/inbox/stream?name=`: an inbox's requests (HTML, newest
/// first) as a `requests` event whenever they change.
async fn inbox_stream(
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
                Ok(requests) => vec![("requests", pages::inbox_requests(&requests).into_string())],
                Err(_) => Vec::new(),
            }
        }
    })
}

/// How many events the Events page shows.
const EVENTS_SHOWN: usize = 50;

/// Which events the Events page shows: one by id, or the newest of a program
/// manager (the signed-in one's with auth on) and event code.
struct EventFilters {
    id: Option<EventId>,
    pm: Option<PmCode>,
    code: Option<EventCode>,
    /// The query, as given, for the stream's URL.
    query: String,
}

impl EventFilters {
    fn parse(query: &HashMap<String, String>, viewer: &Viewer) -> Result<Self, String> {
        let value = |key: &str| query.get(key).map_or("", |v| v.trim());
        let id = match value("id") {
            "" => None,
            raw => Some(EventId::parse(raw, "id").map_err(|p| p.message)?),
        };
        let pm = match (&viewer.pm, value("pm")) {
            (Some(mine), _) => Some(mine.clone()),
            (None, "") => None,
            (None, raw) => Some(PmCode::parse(raw).map_err(|p| p.message)?),
        };
        let code = match value("event") {
            "" => None,
            raw => Some(EventCode::from_path(raw).map_err(|p| p.message)?),
        };
        let mut pairs: Vec<String> = ["id", "pm", "event"]
            .iter()
            .filter(|k| !value(k).is_empty())
            .map(|k| format!("{k}={}", pages::url_encode(value(k))))
            .collect();
        pairs.sort();
        Ok(Self {
            id,
            pm,
            code,
            query: pairs.join("&"),
        })
    }
}

/// The events the filters ask for, each with its notifications' statuses
/// as stored now.
async fn event_rows(
    store: &dyn Store,
    fixture: &Fixture,
    scope: Option<&PmCode>,
    filters: &EventFilters,
) -> Result<Vec<pages::EventRow>, StoreError> {
    let records = match filters.id {
        Some(id) => fixture.journal.find_event(id, scope).into_iter().collect(),
        None => {
            fixture
                .journal
                .events(
                    scope,
                    |e| {
                        filters.pm.as_ref().is_none_or(|pm| *pm == e.pm)
                            && filters.code.is_none_or(|c| c == e.code)
                    },
                    None,
                    EVENTS_SHOWN,
                )
                .0
        }
    };
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let statuses = notifications_now(store, scope, &record)
            .await?
            .into_iter()
            .map(|n| n.map(|n| n.status))
            .collect();
        rows.push(pages::EventRow { record, statuses });
    }
    Ok(rows)
}

/// `GET /dashboard/events?id=&pm=&event=`: the events sent (the newest
/// first, or one by id), each with its fan-out: its notifications with their
/// status, and the webhooks skipped with the reason; live.
async fn events(
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
) -> HttpResponse {
    let Some(fixture) = fixture else {
        return page(
            StatusCode::NOT_FOUND,
            pages::problem(
                &frame,
                "The sandbox is off ([sandbox] enabled = false): no events are kept.",
            ),
        );
    };
    let filters = match EventFilters::parse(&query, &frame.viewer) {
        Ok(filters) => filters,
        Err(why) => return page(StatusCode::BAD_REQUEST, pages::problem(&frame, &why)),
    };
    match event_rows(&**store, &fixture, frame.viewer.pm.as_ref(), &filters).await {
        Ok(rows) => page(
            StatusCode::OK,
            pages::events(&frame, &filters.query, filters.id.is_some(), &rows),
        ),
        Err(e) => unavailable(&frame, &e),
    }
}

/// `GET /dashboard/events/stream?<filters>`: the Events page's list (HTML)
/// as an `events` event whenever it changes.
async fn events_stream(
    req: HttpRequest,
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
) -> HttpResponse {
    let (Some(fixture), Ok(filters)) = (fixture, EventFilters::parse(&query, &frame.viewer)) else {
        return page(
            StatusCode::BAD_REQUEST,
            pages::problem(&frame, "No such events."),
        );
    };
    let filters = std::rc::Rc::new(filters);
    let scope = frame.viewer.pm.clone();
    live(&req, move || {
        let (store, fixture, filters) = (store.clone(), fixture.clone(), filters.clone());
        let scope = scope.clone();
        async move {
            match event_rows(&**store, &fixture, scope.as_ref(), &filters).await {
                Ok(rows) => vec![("events", pages::event_list(&rows).into_string())],
                Err(_) => Vec::new(),
            }
        }
    })
}

/// `GET /dashboard/send?pm=&product=&event=`: the form that sends an event,
/// its payload prefilled with the sample the service would generate for that
/// event, program manager and product.
async fn send(
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    clock: web::Data<dyn Clock>,
) -> HttpResponse {
    let value = |key: &str| query.get(key).map_or("", |v| v.trim());
    let pm = match &frame.viewer.pm {
        Some(mine) => Ok(mine.clone()),
        None => PmCode::parse(value("pm")).or_else(|_| PmCode::parse("TRD")),
    };
    let Ok(pm) = pm else {
        return page(
            StatusCode::BAD_REQUEST,
            pages::problem(&frame, "No such program manager."),
        );
    };
    let product = value("product")
        .parse::<u64>()
        .ok()
        .and_then(|p| ProductId::from_json(&serde_json::json!(p)).ok().flatten());
    let code = value("event")
        .parse::<i64>()
        .ok()
        .and_then(|n| EventCode::from_number(n, "event").ok())
        .or_else(|| EventCode::from_number(103, "event").ok());
    let Some(code) = code else {
        return page(
            StatusCode::BAD_REQUEST,
            pages::problem(&frame, "No such event code."),
        );
    };
    let payload = sample(code, &pm, product, clock.now_seconds());
    let payload = serde_json::to_string_pretty(&payload).unwrap_or_default();
    page(
        StatusCode::OK,
        pages::send(&frame, &pm, product, code, &payload),
    )
}

/// `GET /dashboard/webhooks/{id}/notifications/{notificationId}`: one
/// notification, the envelope as sent and every attempt.
async fn detail(
    frame: Frame,
    path: web::Path<(String, String)>,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    live: web::Data<LiveSettings>,
) -> HttpResponse {
    // Sensitive fields and custom header values stay masked unless asked.
    let reveal = query.get("reveal").is_some_and(|v| v == "1");
    let not_found = |frame: &Frame| {
        page(
            StatusCode::NOT_FOUND,
            pages::problem(frame, "No such notification."),
        )
    };
    let (webhook, id) = path.into_inner();
    let (Ok(webhook), Ok(id)) = (WebhookId::parse(&webhook), NotificationId::parse(&id)) else {
        return not_found(&frame);
    };
    let found = match store
        .details(webhook, frame.viewer.pm.as_ref(), vec![id])
        .await
    {
        Ok(mut found) => found.pop(),
        Err(StoreError::NotFound) => None,
        Err(e) => return unavailable(&frame, &e),
    };
    let Some((notification, attempts)) = found else {
        return not_found(&frame);
    };
    let hook = store.get(webhook, None).await.ok();
    // Why it waits, when it is pending (nothing shown if the queue cannot be read).
    let waiting = match (&hook, notification.status) {
        (Some(hook), NotificationStatus::Pending) => {
            store.queue_health(webhook).await.ok().and_then(|health| {
                Waiting::of(
                    &notification,
                    hook.status.as_str(),
                    hook.status == WebhookStatus::Active,
                    &health,
                    &live.now().giving_up.rule,
                )
            })
        }
        _ => None,
    };
    page(
        StatusCode::OK,
        pages::detail(
            &frame,
            &notification,
            &attempts,
            hook.as_deref(),
            waiting.as_ref(),
            reveal,
        ),
    )
}
