//! Send an event: a form for the sandbox's trigger, and a button per scenario.

use super::frame::Frame;
use super::layout::layout;
use super::layout::page;
use super::layout::problem;
use crate::domain::event_code::CATALOGUE;
use crate::domain::event_payload::sample;
use crate::domain::scenario::Scenario;
use crate::domain::Clock;
use crate::domain::EventCode;
use crate::domain::PmCode;
use crate::domain::ProductId;
use crate::routes::Routes;
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::HttpResponse;
use maud::html;
use maud::Markup;
use std::collections::HashMap;

/// The Send page.
pub(super) fn routes(r: &mut Routes, on: bool) {
    r.resource("/dashboard/send").get(send).served_if(on);
}

/// `GET /dashboard/send?pm=&product=&event=`: the form that sends an event,
/// its payload prefilled with the sample the service would generate for that
/// event, program manager and product.
pub(super) async fn send(
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
            problem(&frame, "No such program manager."),
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
            problem(&frame, "No such event code."),
        );
    };
    let payload = sample(code, &pm, product, clock.now_seconds());
    let payload = serde_json::to_string_pretty(&payload).unwrap_or_default();
    page(
        StatusCode::OK,
        send_html(&frame, &pm, product, code, &payload),
    )
}

/// The form that sends an event: program manager, product, event code, and
/// the payload as JSON (prefilled with a sample). "Load the sample" reloads
/// the form (a GET, so the choice stays in the URL); "Send" posts to the
/// API's trigger and, once it is answered, opens the live log filtered to
/// that program manager and event.
pub fn send_html(
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
