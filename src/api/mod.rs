//! The HTTP API: one file per resource, each owning its wire types, its
//! handlers and the declaration of its routes. Shared here: who is calling, the
//! success envelope, reading a JSON object body, and finding the webhook a path names.

pub mod chaos;
pub mod clock;
pub mod configs;
pub mod deliver_now;
pub mod deliveries;
pub mod events;
pub mod fraud_alerts;
pub mod health;
pub mod heartbeat;
pub mod inbox;
pub mod middleware;
pub mod notifications;
pub mod openapi;
pub mod paths;
pub mod remove;
pub mod reset;
pub mod routes;
pub mod settings;
pub mod stream;
pub mod subscriptions;
pub mod token;
pub mod webhooks;

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::routes::{Route, Routes};
use crate::auth::Authenticated;
use crate::domain::{pm_code, ErrorCode, EventCode, PmCode, Problem, Webhook, WebhookId};
use crate::error::ApiError;
use crate::store::Store;

/// The table of every route the service declares, served or not.
pub fn route_table() -> Vec<Route> {
    let mut r = Routes::table_only();
    routes(&mut r);
    r.into_table()
}

/// Every route of the service, in the order they are matched.
pub fn routes(r: &mut Routes) {
    health::routes(r);
    openapi::routes(r);
    token::routes(r);
    webhooks::routes(r);
    configs::routes(r);
    fraud_alerts::routes(r);
    subscriptions::routes(r);
    heartbeat::routes(r);
    notifications::routes(r);
    events::routes(r);
    stream::routes(r);
    deliveries::routes(r);
    deliver_now::routes(r);
    chaos::routes(r);
    remove::routes(r);
    inbox::routes(r);
    clock::routes(r);
    settings::routes(r);
    reset::routes(r);
}

pub const PM_CODE_HEADER: &str = "X-PM-Code";

/// The program manager on whose behalf a call is made. This extractor is the one
/// place that decides it: from the bearer token when auth is on (the
/// authentication middleware has already refused a request without a valid one),
/// else from the `X-PM-Code` header.
#[derive(Debug, Clone)]
pub struct Caller {
    pm: Option<PmCode>,
    authenticated: bool,
}

impl Caller {
    /// `Some(pm)`: the call is scoped to that program manager. `None`: unscoped,
    /// allowed for calls by id while auth is off.
    pub fn scope(&self) -> Option<&PmCode> {
        self.pm.as_ref()
    }

    /// For calls that only make sense for one program manager (list).
    pub fn required(&self) -> Result<&PmCode, ApiError> {
        self.pm.as_ref().ok_or_else(|| {
            ApiError::bad_request(Problem::at(
                ErrorCode::PmCodeRequired,
                PM_CODE_HEADER,
                "Program manager code is required (X-PM-Code header).",
            ))
        })
    }

    /// With a token, a `programManagerCode` in the body that names another program
    /// manager is `403 PMCODE_NOT_VALID`. (A malformed one is left to the body's
    /// own validation.)
    pub fn check_body(&self, body: &Value) -> Result<(), ApiError> {
        let named = body
            .get(pm_code::FIELD)
            .and_then(|v| PmCode::from_json(v).ok().flatten());
        match (&self.pm, named) {
            (Some(pm), Some(named)) if self.authenticated && *pm != named => {
                Err(ApiError::Forbidden(Problem::at(
                    ErrorCode::PmCodeNotValid,
                    pm_code::FIELD,
                    "programManagerCode names another program manager than the token's.",
                )))
            }
            _ => Ok(()),
        }
    }

    fn from_request(req: &HttpRequest) -> Result<Self, ApiError> {
        let token_pm = req.extensions().get::<Authenticated>().map(|a| a.0.clone());
        let header = match req.headers().get(PM_CODE_HEADER) {
            None => None,
            Some(raw) => {
                let invalid = || {
                    ApiError::bad_request(Problem::at(
                        ErrorCode::PmCodeNotValid,
                        PM_CODE_HEADER,
                        "X-PM-Code must be 3 or 4 letters or digits.",
                    ))
                };
                let raw = raw.to_str().map_err(|_| invalid())?;
                Some(PmCode::parse(raw).map_err(|_| invalid())?)
            }
        };
        match (token_pm, header) {
            (Some(token), Some(header)) if token != header => {
                Err(ApiError::Forbidden(Problem::at(
                    ErrorCode::PmCodeNotValid,
                    PM_CODE_HEADER,
                    "X-PM-Code names another program manager than the token's.",
                )))
            }
            (Some(token), _) => Ok(Self {
                pm: Some(token),
                authenticated: true,
            }),
            (None, header) => Ok(Self {
                pm: header,
                authenticated: false,
            }),
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Caller::from_request(req))
    }
}

#[derive(Serialize)]
struct Envelope<T> {
    status: &'static str,
    response: T,
}

/// `{"status": "success", "response": body}` with the given status.
pub fn success(status: StatusCode, body: impl Serialize) -> HttpResponse {
    HttpResponse::build(status).json(Envelope {
        status: "success",
        response: body,
    })
}

/// The same envelope around a response rendered already, as JSON text in
/// pieces (a webhook's document; a list's documents and the commas between
/// them): the pieces are copied, not serialised again.
pub fn success_rendered<'a>(
    status: StatusCode,
    response: impl IntoIterator<Item = &'a str>,
) -> HttpResponse {
    let mut body = String::from(r#"{"status":"success","response":"#);
    for piece in response {
        body.push_str(piece);
    }
    body.push('}');
    HttpResponse::build(status)
        .insert_header(ContentType::json())
        .body(body)
}

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
