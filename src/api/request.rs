//! Reading a request: query parameters, JSON object bodies, ids in paths, and
//! the webhook a path names, each refused with the API's own error.

use std::sync::Arc;

use actix_web::{web, HttpRequest};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::{pm_code, ErrorCode, EventCode, PmCode, Problem, Webhook, WebhookId};
use crate::error::ApiError;
use crate::store::Store;

use super::caller::Caller;

/// A `programManagerCode` query parameter: 3 or 4 letters or digits, else
/// `400 PMCODE_NOT_VALID`.
pub fn pm_param(raw: &str) -> Result<PmCode, ApiError> {
    PmCode::parse(raw).map_err(|_| {
        ApiError::bad_request(Problem::at(
            ErrorCode::PmCodeNotValid,
            pm_code::FIELD,
            "programManagerCode must be 3 or 4 letters or digits.",
        ))
    })
}

/// Reads the query string into `T`; an unknown or malformed parameter is
/// `400 INVALID_REQUEST_BODY` naming it.
pub fn query<T: for<'de> Deserialize<'de>>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| {
            ApiError::bad_request(Problem::new(
                ErrorCode::InvalidRequestBody,
                format!("Invalid query string: {e}."),
            ))
        })
}

/// Reads a JSON body that must be an object into `T`.
pub fn object_body<T: for<'de> Deserialize<'de>>(body: Value) -> Result<T, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(Problem::new(
            ErrorCode::InvalidRequestBody,
            "Request body must be a JSON object.",
        )));
    }
    serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(Problem::new(
            ErrorCode::InvalidRequestBody,
            format!("Invalid request body: {e}."),
        ))
    })
}

pub fn parse_id(raw: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(raw).map_err(ApiError::bad_request)
}

/// An event code written as a path segment: not a 3-digit number is `400`, a
/// number that is no event code is `404 EVENTCODE_NOTFOUND`.
pub fn parse_event_path(raw: &str) -> Result<EventCode, ApiError> {
    EventCode::from_path(raw).map_err(|problem| match problem.code {
        ErrorCode::EventCodeNotFound => ApiError::NotFound(problem),
        _ => ApiError::bad_request(problem),
    })
}

/// The webhook a path names, as the caller may see it.
pub async fn find_webhook(
    caller: &Caller,
    raw_id: &str,
    store: &web::Data<dyn Store>,
) -> Result<Arc<Webhook>, ApiError> {
    Ok(store.get(parse_id(raw_id)?, caller.scope()).await?)
}
