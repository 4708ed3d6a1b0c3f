//! Who is calling: the program manager a call is made for, decided in one place.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde_json::Value;

use crate::auth::Authenticated;
use crate::domain::{pm_code, ErrorCode, PmCode, Problem};
use crate::error::ApiError;

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
