//! A notification's page: the envelope as sent, every attempt, why it waits,
//! and Resend, Deliver now and Copy as cURL.

use super::delivery_log::last_result;
use super::frame::Frame;
use super::layout::copyable;
use super::layout::layout;
use super::layout::page;
use super::layout::problem;
use super::layout::unavailable;
use super::layout::when;
use crate::domain::sensitive;
use crate::domain::time::rfc3339_millis;
use crate::domain::time::rfc3339_seconds;
use crate::domain::Attempt;
use crate::domain::Notification;
use crate::domain::NotificationId;
use crate::domain::NotificationStatus;
use crate::domain::Waiting;
use crate::domain::Webhook;
use crate::domain::WebhookId;
use crate::domain::WebhookStatus;
use crate::outbound::live::LiveSettings;
use crate::outbound::USER_AGENT;
use crate::routes::Routes;
use crate::store::Store;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::HttpResponse;
use maud::html;
use maud::Markup;
use std::collections::HashMap;

/// A notification's page.
pub(super) fn routes(r: &mut Routes, on: bool) {
    r.resource("/dashboard/webhooks/{id}/notifications/{notificationId}")
        .get(detail)
        .served_if(on);
}

/// `GET /dashboard/webhooks/{id}/notifications/{notificationId}`: one
/// notification, the envelope as sent and every attempt.
pub(super) async fn detail(
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
            problem(frame, "No such notification."),
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
        detail_html(
            &frame,
            &notification,
            &attempts,
            hook.as_deref(),
            waiting.as_ref(),
            reveal,
        ),
    )
}

/// One notification: what was sent, to whom, and every attempt, with the
/// actions a developer reaches for: resend a final one, deliver a waiting one
/// now, copy the request as cURL.
pub fn detail_html(
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
pub(super) fn curl(webhook: &Webhook, body: &str, reveal: bool) -> String {
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
