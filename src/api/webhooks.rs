//! The webhook resource: create, list, details, full replace and status change.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use super::{object_body, parse_id, success_rendered, Caller};
use crate::domain::Clock;
use crate::domain::{
    ErrorCode, Problem, UrlRules, Webhook, WebhookBody, WebhookDocument, WebhookId, WebhookStatus,
};
use crate::error::ApiError;
use crate::routes::Routes;
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

/// A webhook as the API answers it: its document in the success envelope.
fn answer(status: StatusCode, document: &WebhookDocument) -> HttpResponse {
    success_rendered(status, [document.as_str()])
}

/// `POST /api/v1/Webhooks`
async fn create(
    clock: web::Data<dyn Clock>,
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
    let webhook = Webhook::create(WebhookId::generate(), pm, spec, clock.now_seconds());
    let webhook = store.create(webhook).await?;
    log::info!(
        "webhook {} created for program manager {}",
        webhook.id,
        webhook.pm_code
    );
    Ok(answer(
        StatusCode::CREATED,
        &WebhookDocument::render(&webhook),
    ))
}

/// `GET /api/v1/Webhooks`: `{"content": [...]}`, the documents joined as they are;
/// none is `404 WEBHOOK_DETAILS_NOTFOUND`, as Thredd documents.
async fn list(caller: Caller, store: web::Data<dyn Store>) -> Result<HttpResponse, ApiError> {
    let documents = store.documents(caller.required()?).await?;
    if documents.is_empty() {
        // Thredd documents this answer for a program manager with no webhooks.
        return Err(ApiError::NotFound(Problem::new(
            ErrorCode::WebhookDetailsNotFound,
            "This program manager has no webhooks.",
        )));
    }
    let separators = std::iter::once("").chain(std::iter::repeat(","));
    let content = separators
        .zip(&documents)
        .flat_map(|(comma, document)| [comma, document.as_str()]);
    let rendered = std::iter::once(r#"{"content":["#)
        .chain(content)
        .chain(std::iter::once("]}"));
    Ok(success_rendered(StatusCode::OK, rendered))
}

/// `GET /api/v1/Webhooks/{id}`
async fn details(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let document = store.document(parse_id(&path)?, caller.scope()).await?;
    Ok(answer(StatusCode::OK, &document))
}

/// `PUT /api/v1/Webhooks/{id}`: a full replace; the program manager cannot
/// change (`Webhook::replace` refuses it inside the write).
async fn replace(
    clock: web::Data<dyn Clock>,
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
    let now = clock.now_seconds();
    let change = Box::new(move |w: &mut Webhook| w.replace(named.as_ref(), spec, now));
    let webhook = store.modify(id, caller.scope(), change).await?;
    Ok(answer(StatusCode::OK, &WebhookDocument::render(&webhook)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StatusBody {
    webhook_status: Value,
}

/// `PATCH` or `PUT /api/v1/Webhooks/{id}/status`
async fn set_status(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body: StatusBody = object_body(body.into_inner())?;
    let status = WebhookStatus::from_json(&body.webhook_status).map_err(ApiError::bad_request)?;
    let now = clock.now_seconds();
    let change = Box::new(move |w: &mut Webhook| w.set_status(status, now));
    let webhook = store.modify(id, caller.scope(), change).await?;
    Ok(answer(StatusCode::OK, &WebhookDocument::render(&webhook)))
}
