//! Events: each event the sandbox sent and what became of its notifications,
//! live.

use super::frame::Frame;
use super::frame::Viewer;
use super::layout::copyable;
use super::layout::layout;
use super::layout::page;
use super::layout::problem;
use super::layout::unavailable;
use super::layout::url_encode;
use super::layout::when;
use super::live::live;
use crate::domain::EventCode;
use crate::domain::EventId;
use crate::domain::NotificationStatus;
use crate::domain::PmCode;
use crate::routes::Routes;
use crate::sandbox::notifications_now;
use crate::sandbox::EventRecord;
use crate::sandbox::Fixture;
use crate::store::Store;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::HttpRequest;
use actix_web::HttpResponse;
use maud::html;
use maud::Markup;
use std::collections::HashMap;
use std::sync::Arc;

/// The Events page, and its live stream.
pub(super) fn routes(r: &mut Routes, on: bool) {
    r.resource("/dashboard/events").get(events).served_if(on);
    r.resource("/dashboard/events/stream")
        .get(events_stream)
        .served_if(on);
}

/// How many events the Events page shows.
pub(super) const EVENTS_SHOWN: usize = 50;

/// Which events the Events page shows: one by id, or the newest of a program
/// manager (the signed-in one's with auth on) and event code.
pub(super) struct EventFilters {
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
            .map(|k| format!("{k}={}", url_encode(value(k))))
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
pub(super) async fn event_rows(
    store: &dyn Store,
    fixture: &Fixture,
    scope: Option<&PmCode>,
    filters: &EventFilters,
) -> Result<Vec<EventRow>, StoreError> {
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
        rows.push(EventRow { record, statuses });
    }
    Ok(rows)
}

/// `GET /dashboard/events?id=&pm=&event=`: the events sent (the newest
/// first, or one by id), each with its fan-out: its notifications with their
/// status, and the webhooks skipped with the reason; live.
pub(super) async fn events(
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
) -> HttpResponse {
    let Some(fixture) = fixture else {
        return page(
            StatusCode::NOT_FOUND,
            problem(
                &frame,
                "The sandbox is off ([sandbox] enabled = false): no events are kept.",
            ),
        );
    };
    let filters = match EventFilters::parse(&query, &frame.viewer) {
        Ok(filters) => filters,
        Err(why) => return page(StatusCode::BAD_REQUEST, problem(&frame, &why)),
    };
    match event_rows(&**store, &fixture, frame.viewer.pm.as_ref(), &filters).await {
        Ok(rows) => page(
            StatusCode::OK,
            events_html(&frame, &filters.query, filters.id.is_some(), &rows),
        ),
        Err(e) => unavailable(&frame, &e),
    }
}

/// `GET /dashboard/events/stream?<filters>`: the Events page's list (HTML)
/// as an `events` event whenever it changes.
pub(super) async fn events_stream(
    req: HttpRequest,
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
) -> HttpResponse {
    let (Some(fixture), Ok(filters)) = (fixture, EventFilters::parse(&query, &frame.viewer)) else {
        return page(StatusCode::BAD_REQUEST, problem(&frame, "No such events."));
    };
    let filters = std::rc::Rc::new(filters);
    let scope = frame.viewer.pm.clone();
    live(&req, move || {
        let (store, fixture, filters) = (store.clone(), fixture.clone(), filters.clone());
        let scope = scope.clone();
        async move {
            match event_rows(&**store, &fixture, scope.as_ref(), &filters).await {
                Ok(rows) => vec![("events", event_list(&rows).into_string())],
                Err(_) => Vec::new(),
            }
        }
    })
}

/// One event of the Events page: the event as kept, and the status now of
/// each of its notifications (`None`: purged or reset).
pub struct EventRow {
    pub record: Arc<EventRecord>,
    pub statuses: Vec<Option<NotificationStatus>>,
}

/// The Events page: each event sent with its fan-out, live.
pub fn events_html(frame: &Frame, query: &str, one: bool, rows: &[EventRow]) -> Markup {
    layout(
        frame,
        "Events",
        html! {
            h1 { "Events" }
            p.muted {
                @if one {
                    "One event: " a href="/dashboard/events" { "all events" }
                } @else {
                    "The events sent, newest first (the last " (EVENTS_SHOWN) "), each with what became of it: a notification per webhook that receives it, and why each other webhook of the program manager got none. Kept in memory since the service started."
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
pub(super) fn skip_help(reason: &str) -> &'static str {
    match reason {
        "NOT_SUBSCRIBED" => "The webhook is not subscribed to this event code.",
        "OTHER_PRODUCT" => "The webhook is for another product than the event's.",
        "WEBHOOK_INACTIVE" => "The webhook is inactive; set it active to receive events.",
        _ => "The webhook is suspended after failures; set it active to resume.",
    }
}
