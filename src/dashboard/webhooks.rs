//! Webhooks: create, edit, ping and activate, with each receiver's health and
//! disorder on request.

use super::frame::Frame;
use super::layout::layout;
use super::layout::page;
use super::layout::problem;
use super::layout::unavailable;
use super::layout::when;
use crate::domain::chaos::Chaos;
use crate::domain::PmCode;
use crate::domain::Webhook;
use crate::domain::WebhookStatus;
use crate::routes::Routes;
use crate::sandbox::Fixture;
use crate::store::Store;
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::HttpResponse;
use maud::html;
use maud::Markup;
use std::collections::HashMap;
use std::sync::Arc;

/// The Webhooks page.
pub(super) fn routes(r: &mut Routes, on: bool) {
    r.resource("/dashboard/webhooks")
        .get(webhooks)
        .served_if(on);
}

/// `GET /dashboard/webhooks?pm=`: one program manager's webhooks (the
/// signed-in one's with auth on), with their last heartbeat, Ping now,
/// activate / deactivate, Edit, and a form to create one.
pub(super) async fn webhooks(
    frame: Frame,
    query: web::Query<HashMap<String, String>>,
    store: web::Data<dyn Store>,
    fixture: Option<web::Data<Fixture>>,
) -> HttpResponse {
    let pm = match &frame.viewer.pm {
        Some(mine) => mine.clone(),
        None => match PmCode::parse(query.get("pm").map_or("TRD", |v| v.trim())) {
            Ok(pm) => pm,
            Err(p) => return page(StatusCode::BAD_REQUEST, problem(&frame, &p.message)),
        },
    };
    match store.list(&pm).await {
        Ok(list) => {
            let chaos = |id| fixture.as_ref().and_then(|f| f.chaos(id));
            page(StatusCode::OK, webhooks_html(&frame, &pm, &list, &chaos))
        }
        Err(e) => unavailable(&frame, &e),
    }
}

/// One program manager's webhooks: each with its product, status, events,
/// custom header names (never values), last heartbeat, and its actions; then
/// the create form, whose problems the script lists by field.
pub fn webhooks_html(
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
