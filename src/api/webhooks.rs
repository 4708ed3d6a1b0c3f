//! The webhook resource: create, list, details, full replace and status change.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::heartbeat::HeartbeatView;
use super::routes::Routes;
use super::{find_webhook, object_body, parse_id, success, Caller};
use crate::domain::time::{now_seconds, rfc3339_seconds};
use crate::domain::{
    EventCode, ProductId, UrlRules, Webhook, WebhookBody, WebhookId, WebhookStatus,
};
use crate::error::ApiError;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    r.resource("/api/v1/webhooks").get(list).post(create);
    r.resource("/api/v1/webhooks/{id}")
        .get(details)
        .put(replace);
    r.resource("/api/v1/webhooks/{id}/status")
        .patch(set_status)
        .put(set_status);
}

/// A webhook on the wire. It borrows from the stored webhook, so answering a
/// read copies nothing but the id and the two formatted times.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView<'a> {
    webhook_id: String,
    program_manager_code: &'a str,
    product_id: Option<u64>,
    events: Vec<u16>,
    webhook_status: &'static str,
    config: ConfigView<'a>,
    created_time: String,
    last_modified_time: String,
    /// The last heartbeat verdict, `null` before the first.
    last_heartbeat: Option<HeartbeatView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigView<'a> {
    url: &'a str,
    custom_headers: &'a BTreeMap<String, String>,
}

impl<'a> From<&'a Webhook> for WebhookView<'a> {
    fn from(w: &'a Webhook) -> Self {
        Self {
            webhook_id: w.id.to_string(),
            program_manager_code: w.pm_code.as_str(),
            product_id: w.product_id.map(ProductId::value),
            events: w.events.iter().map(EventCode::value).collect(),
            webhook_status: w.status.as_str(),
            config: ConfigView {
                url: w.config.url.as_str(),
                custom_headers: w.config.custom_headers.as_map(),
            },
            created_time: rfc3339_seconds(w.created_time),
            last_modified_time: rfc3339_seconds(w.last_modified_time),
            last_heartbeat: w.last_heartbeat.as_ref().map(HeartbeatView::from),
        }
    }
}

/// `POST /api/v1/Webhooks`
async fn create(
    caller: Caller,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
    rules: web::Data<UrlRules>,
) -> Result<HttpResponse, ApiError> {
    caller.check_body(&body)?;
    let body: WebhookBody = object_body(body.into_inner())?;
    let (pm, spec) = body
        .parse_new(caller.scope(), &rules)
        .map_err(ApiError::BadRequest)?;
    let webhook = Webhook::create(WebhookId::new_random(), pm, spec, now_seconds());
    let webhook = store.create(webhook).await?;
    log::info!(
        "webhook {} created for program manager {}",
        webhook.id,
        webhook.pm_code
    );
    Ok(success(StatusCode::CREATED, WebhookView::from(&webhook)))
}

#[derive(Serialize)]
struct WebhookList<'a> {
    content: Vec<WebhookView<'a>>,
}

/// `GET /api/v1/Webhooks`
async fn list(caller: Caller, store: web::Data<dyn Store>) -> Result<HttpResponse, ApiError> {
    let webhooks = store.list(caller.required()?).await?;
    let content = webhooks.iter().map(|w| WebhookView::from(&**w)).collect();
    Ok(success(StatusCode::OK, WebhookList { content }))
}

/// `GET /api/v1/Webhooks/{id}`
async fn details(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let webhook = find_webhook(&caller, &path, &store).await?;
    Ok(success(StatusCode::OK, WebhookView::from(&*webhook)))
}

/// `PUT /api/v1/Webhooks/{id}`: a full replace; the program manager cannot
/// change (`Webhook::replace` refuses it inside the write).
async fn replace(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
    rules: web::Data<UrlRules>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    caller.check_body(&body)?;
    let body: WebhookBody = object_body(body.into_inner())?;
    let (named, spec) = body.parse(&rules).map_err(ApiError::BadRequest)?;
    let now = now_seconds();
    let change = Box::new(move |w: &mut Webhook| w.replace(named.as_ref(), spec, now));
    let webhook = store.modify(id, caller.scope(), change).await?;
    Ok(success(StatusCode::OK, WebhookView::from(&webhook)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StatusBody {
    webhook_status: Value,
}

/// `PATCH` or `PUT /api/v1/Webhooks/{id}/status`
async fn set_status(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body: StatusBody = object_body(body.into_inner())?;
    let status = WebhookStatus::from_json(&body.webhook_status).map_err(ApiError::bad_request)?;
    let now = now_seconds();
    let change = Box::new(move |w: &mut Webhook| w.set_status(status, now));
    let webhook = store.modify(id, caller.scope(), change).await?;
    Ok(success(StatusCode::OK, WebhookView::from(&webhook)))
}
