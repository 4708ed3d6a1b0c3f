//! Authentication (API.md section 2): each static token, OAuth2 client
//! (`clients`) and access token (`access`) belongs to one program manager, and
//! that program manager is the caller. The middleware that checks every
//! request's bearer token is here too.
//!
//! Tokens are kept only as SHA-256 digests (a config file may give the digest
//! instead of the token), and a presented token's digest is compared with every
//! configured one in constant time, so neither the comparison's time nor an early
//! exit tells an attacker how close a guess came.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, AUTHORIZATION, LOCATION};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use subtle::ConstantTimeEq;

pub mod access;
pub mod clients;
mod digest;
pub mod session;

use std::sync::Arc;

pub use self::access::AccessTokens;
pub use self::clients::Clients;
pub use self::digest::MIN_TOKEN_LEN;
use self::digest::{parse_hex, sha256};
use self::session::{changes_state, Session, COOKIE, CSRF_HEADER};
use crate::config::{AuthSettings, ConfigError};
use crate::domain::{Clock, ErrorCode, PmCode, Problem};
use crate::error::ApiError;
use crate::routes::Route;

/// The program manager of a request's valid bearer token, put in the request's
/// extensions by [`authenticate`] for `api::Caller`.
#[derive(Debug, Clone)]
pub struct Authenticated(pub PmCode);

/// Everything authentication checks, built once from `[auth]`.
pub struct Auth {
    pub enabled: bool,
    pub tokens: Tokens,
    pub clients: Clients,
    pub access: AccessTokens,
}

impl Auth {
    /// Checks `[auth]`; `sandbox` is whether the sandbox is on (for its default
    /// client). The error names the key at fault (never a secret).
    pub fn from_settings(
        settings: &AuthSettings,
        sandbox: bool,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let tokens = Tokens::from_settings(settings)?;
        let clients = Clients::from_settings(settings, sandbox)?;
        if settings.enabled && settings.tokens.is_empty() && clients.is_empty() {
            return Err(ConfigError::new(
                "auth.tokens",
                "auth.enabled needs at least one [[auth.tokens]] or [[auth.clients]] entry",
            ));
        }
        let key = match &settings.signing_key {
            Some(key) => key.as_bytes().to_vec(),
            None => clients::random_bytes::<32>().to_vec(),
        };
        let access = AccessTokens::new(
            settings.issuer.clone(),
            settings.token_lifetime_s,
            &key,
            clock,
        );
        Ok(Self {
            enabled: settings.enabled,
            tokens,
            clients,
            access,
        })
    }
}

/// What [`authenticate`] checks: the tokens and clients, the paths open
/// without a token (the routes declared `open`), and whether the dashboard's
/// session cookie is accepted (when the dashboard is served).
pub struct Gate {
    pub auth: Auth,
    open: Vec<&'static str>,
    sessions: bool,
}

impl Gate {
    pub fn new(auth: Auth, routes: &[Route], dashboard: bool) -> Self {
        let open = routes.iter().filter(|r| r.open).map(|r| r.path).collect();
        Self {
            auth,
            open,
            sessions: dashboard,
        }
    }

    /// The dashboard is served with auth on: its pages need a session.
    pub fn signs_in(&self) -> bool {
        self.sessions && self.auth.enabled
    }
}

/// Where the dashboard asks for a sign-in.
pub const SIGN_IN: &str = "/dashboard/sign-in";

/// Whether a path is one of the dashboard's pages (a browser that asks for
/// one without a session is sent to sign in, not answered with JSON).
fn is_page(path: &str) -> bool {
    path == "/" || path.starts_with("/dashboard/")
}

/// Checks the bearer token of every request to a path not declared open, and
/// records its program manager. An access token (a JWT from `/connect/token`)
/// is checked whether or not auth is on, and one that is expired, tampered
/// with or not ours is refused (`401`, `error="invalid_token"`). With auth on,
/// a request without a valid access or static token is refused (`401`); one
/// without an `Authorization` header may instead carry the dashboard's
/// session cookie (see [`session`]), and a browser's GET of a dashboard page
/// without a valid one is sent to the sign-in page. Runs after the path is made canonical.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let gate = req.app_data::<web::Data<Gate>>().cloned();
    if let Some(gate) = gate.filter(|g| !g.open.contains(&req.path())) {
        let auth = &gate.auth;
        let header = req.headers().get(AUTHORIZATION);
        // A browser: no Authorization header; it may carry the session.
        let browser = header.is_none();
        let cookie = (gate.signs_in() && browser)
            .then(|| req.cookie(COOKIE))
            .flatten();
        let verdict = match (bearer(header), cookie) {
            (Some(token), _) if access::looks_like_jwt(token) => {
                auth.access.verify(token).map(Some).map_err(|why| {
                    log::debug!("access token refused: {why}");
                    ApiError::InvalidToken
                })
            }
            (None, Some(cookie)) => match auth.access.verify(cookie.value()) {
                Ok(pm) => {
                    let session = Session::of(cookie.value());
                    let presented = req.headers().get(CSRF_HEADER);
                    if changes_state(req.method())
                        && !session.accepts(presented.and_then(|v| v.to_str().ok()))
                    {
                        Err(ApiError::Forbidden(Problem::at(
                            ErrorCode::CsrfTokenInvalid,
                            CSRF_HEADER,
                            "A signed-in dashboard's changes carry its CSRF token (X-CSRF-Token); reload the page.",
                        )))
                    } else {
                        req.extensions_mut().insert(session);
                        Ok(Some(pm))
                    }
                }
                Err(why) => {
                    log::debug!("session refused: {why}");
                    Err(ApiError::Unauthorized)
                }
            },
            _ if !auth.enabled => Ok(None),
            _ => auth
                .tokens
                .authenticate(header)
                .map(Some)
                .ok_or(ApiError::Unauthorized),
        };
        match verdict {
            Ok(Some(pm)) => {
                req.extensions_mut().insert(Authenticated(pm));
            }
            Ok(None) => {}
            Err(refused) => {
                let refused = if gate.signs_in()
                    && browser
                    && req.method() == actix_web::http::Method::GET
                    && is_page(req.path())
                {
                    sign_in_first(&req)
                } else {
                    refused.error_response()
                };
                return Ok(req.into_response(refused).map_into_right_body());
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// `303` to the sign-in page, which comes back here after.
fn sign_in_first(req: &ServiceRequest) -> HttpResponse {
    let here = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let back: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("{SIGN_IN}?next={back}")))
        .finish()
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(header: Option<&HeaderValue>) -> Option<&str> {
    let (scheme, token) = header?.to_str().ok()?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The configured tokens, ready to check.
#[derive(Debug, Default)]
pub struct Tokens {
    entries: Vec<(PmCode, [u8; 32])>,
}

impl Tokens {
    /// Checks `[auth]`; the error names the key at fault (never a token).
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, ConfigError> {
        let mut entries: Vec<(PmCode, [u8; 32])> = Vec::with_capacity(settings.tokens.len());
        for (i, entry) in settings.tokens.iter().enumerate() {
            let key = format!("auth.tokens[{i}]");
            let pm = PmCode::parse(&entry.program_manager_code)
                .map_err(|p| ConfigError::new(format!("{key}.program_manager_code"), p.message))?;
            let hash = match (&entry.token, &entry.token_sha256) {
                (Some(token), None) if token.trim().len() >= MIN_TOKEN_LEN => sha256(token),
                (Some(_), None) => {
                    return Err(ConfigError::new(
                        format!("{key}.token"),
                        format!("must be at least {MIN_TOKEN_LEN} characters"),
                    ))
                }
                (None, Some(hex)) => parse_hex(hex).ok_or_else(|| {
                    ConfigError::new(format!("{key}.token_sha256"), "must be 64 hex digits")
                })?,
                _ => {
                    return Err(ConfigError::new(
                        key,
                        "give exactly one of token or token_sha256",
                    ))
                }
            };
            if entries.iter().any(|(_, known)| *known == hash) {
                return Err(ConfigError::new(key, "the same token is configured twice"));
            }
            entries.push((pm, hash));
        }
        Ok(Self { entries })
    }

    /// The program manager whose token an `Authorization: Bearer <token>` header
    /// carries; `None` for a missing, malformed or unknown token.
    pub fn authenticate(&self, authorization: Option<&HeaderValue>) -> Option<PmCode> {
        self.program_manager(bearer(authorization)?)
    }

    /// The program manager whose token this is; `None` for an unknown one.
    pub fn program_manager(&self, token: &str) -> Option<PmCode> {
        let presented = sha256(token.trim());
        let mut found = None;
        // Every entry is compared, whichever matches.
        for (pm, hash) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(pm.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenSettings;

    fn settings() -> AuthSettings {
        AuthSettings {
            enabled: true,
            tokens: vec![
                TokenSettings {
                    program_manager_code: "TRD".into(),
                    token: Some("trd-token-0123456789".into()),
                    token_sha256: None,
                },
                TokenSettings {
                    program_manager_code: "abc".into(),
                    token: None,
                    // Upper-case hex is accepted too.
                    token_sha256: Some(
                        sha256("abc-token-0123456789")
                            .iter()
                            .map(|b| format!("{b:02X}"))
                            .collect(),
                    ),
                },
            ],
            ..AuthSettings::default()
        }
    }

    fn bearer(token: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header")
    }

    #[test]
    fn a_token_names_its_program_manager() {
        assert_eq!(
            parse_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            Some(sha256("abc")),
            "the published SHA-256 of \"abc\""
        );
        let tokens = Tokens::from_settings(&settings()).expect("valid");
        let pm = |h: Option<HeaderValue>| tokens.authenticate(h.as_ref()).map(|pm| pm.to_string());
        assert_eq!(pm(Some(bearer("trd-token-0123456789"))), Some("TRD".into()));
        assert_eq!(pm(Some(bearer("abc-token-0123456789"))), Some("ABC".into()));
        assert_eq!(
            pm(Some(HeaderValue::from_static(
                "bearer trd-token-0123456789"
            ))),
            Some("TRD".into()),
            "the scheme matches in any case"
        );
        assert_eq!(pm(Some(bearer("trd-token-012345678"))), None);
        assert_eq!(
            pm(Some(HeaderValue::from_static("Basic dHJkOnRva2Vu"))),
            None
        );
        assert_eq!(
            pm(Some(HeaderValue::from_static("trd-token-0123456789"))),
            None
        );
        assert_eq!(pm(None), None);
    }

    #[test]
    fn bad_entries_are_refused_by_key() {
        let mut twice = settings();
        twice.tokens[1] = twice.tokens[0].clone();
        let cases = [
            (twice, "auth.tokens[1]: the same token"),
            (
                AuthSettings {
                    enabled: true,
                    tokens: vec![],
                    ..AuthSettings::default()
                },
                "auth.tokens",
            ),
        ];
        for (s, needle) in cases {
            let clock = Arc::new(crate::domain::SystemClock);
            let Err(why) = Auth::from_settings(&s, false, clock) else {
                panic!("{needle}: accepted");
            };
            let why = why.to_string();
            assert!(why.contains(needle), "{why}");
            assert!(
                !why.contains("0123456789"),
                "no token in the message: {why}"
            );
        }
        let clock = Arc::new(crate::domain::SystemClock);
        assert!(
            Auth::from_settings(&AuthSettings::default(), true, clock).is_ok_and(|a| !a.enabled)
        );
    }
}
