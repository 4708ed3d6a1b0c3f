//! The HTTP API: one file per resource, each owning its wire types and handlers.
//! Shared here: who is calling, the success envelope, and running the one
//! storage call that may wait on the disk (the readiness check) off the async workers.

pub mod health;
pub mod heartbeat;
pub mod notifications;
pub mod openapi;
pub mod paths;
pub mod sandbox;
pub mod subscriptions;
pub mod webhooks;

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use crate::domain::{pm_code, ErrorCode, EventCode, PmCode, Problem, Webhook, WebhookId};
use crate::error::ApiError;
use crate::store::{Repository, StoreError};

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

/// The program manager of a request's valid bearer token, put in the request's
/// extensions by the authentication middleware.
#[derive(Debug, Clone)]
pub struct Authenticated(pub PmCode);

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

/// Runs a storage call that may wait on the disk on the blocking pool, never on
/// an async worker.
pub async fn blocking<S, T, F>(store: &web::Data<S>, call: F) -> Result<T, ApiError>
where
    S: ?Sized + Send + Sync + 'static,
    F: FnOnce(&S) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let store = store.clone().into_inner();
    Ok(web::block(move || call(&*store)).await??)
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

/// The webhook a path names, as the caller may see it. Reads are served from
/// memory (see [`Repository`]), so this runs on the async worker without a hop.
pub fn find(
    caller: &Caller,
    raw_id: &str,
    repo: &web::Data<dyn Repository>,
) -> Result<Arc<Webhook>, ApiError> {
    Ok(repo.get(parse_id(raw_id)?, caller.scope())?)
}

/// The answer for a method a path does not support.
pub fn method_not_allowed(
    allow: &'static str,
) -> impl Fn() -> Ready<Result<HttpResponse, ApiError>> + Clone {
    move || ready(Err(ApiError::MethodNotAllowed { allow }))
}
