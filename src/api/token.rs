//! `POST /connect/token`: OAuth2 client credentials (RFC 6749 section 4.4),
//! as Thredd's identity server answers it. The client authenticates with
//! `client_id` and `client_secret` in the form body or with HTTP Basic
//! (RFC 6749 section 2.3.1), and gets a JWT access token for its program
//! manager (`auth::access`). Errors are RFC 6749's (section 5.2), not the
//! webhook error envelope.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::auth::Gate;
use crate::routes::Routes;

pub fn routes(r: &mut Routes) {
    r.resource("/connect/token").post(token).open();
}

/// An `Authorization` header that is not HTTP Basic credentials.
struct Malformed;

/// An RFC 6749 error answer.
fn refuse(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut answer = HttpResponse::build(status);
    answer
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
    if status == StatusCode::UNAUTHORIZED {
        answer.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"webhook-manager\""),
        ));
    }
    answer.json(json!({"error": error, "error_description": description}))
}

fn invalid_request(description: &str) -> HttpResponse {
    refuse(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_client() -> HttpResponse {
    refuse(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed: unknown client or wrong secret.",
    )
}

/// The client id and secret of an `Authorization: Basic` header, each
/// form-decoded (RFC 6749 section 2.3.1); `Err` for a malformed one.
fn basic(req: &HttpRequest) -> Result<Option<(String, String)>, Malformed> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    let (scheme, encoded) = value.split_once(' ').ok_or(Malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Malformed);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(Malformed)?;
    let (id, secret) = decoded.split_once(':').ok_or(Malformed)?;
    let form_decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((form_decode(id), form_decode(secret))))
}

async fn token(req: HttpRequest, body: web::Bytes, gate: web::Data<Gate>) -> HttpResponse {
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return invalid_request("The body must be application/x-www-form-urlencoded.");
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(&body) {
        if params.iter().any(|(n, _)| *n == name) {
            return invalid_request(&format!("The parameter {name} is given more than once."));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    match param("grant_type") {
        None => return invalid_request("grant_type is required."),
        Some("client_credentials") => {}
        Some(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Only grant_type=client_credentials is supported.",
            )
        }
    }
    let in_body = match (param("client_id"), param("client_secret")) {
        (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        (None, None) => None,
        _ => return invalid_request("Give both client_id and client_secret, or use HTTP Basic."),
    };
    let (id, secret) = match (basic(&req), in_body) {
        (Err(Malformed), _) => return invalid_client(),
        (Ok(Some(_)), Some(_)) => {
            return invalid_request("Authenticate the client one way: HTTP Basic or the body.")
        }
        (Ok(Some(credentials)), None) | (Ok(None), Some(credentials)) => credentials,
        (Ok(None), None) => return invalid_client(),
    };
    let auth = &gate.auth;
    let Some(pm) = auth.clients.authenticate(&id, &secret) else {
        log::info!("token refused: client {id:?} did not authenticate");
        return invalid_client();
    };
    let scope = param("scope").map(str::to_owned);
    let access_token = match auth.access.issue(&id, &pm, scope.clone()) {
        Ok(token) => token,
        Err(e) => {
            log::error!("issuing an access token: {e}");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The token could not be issued.",
            );
        }
    };
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": auth.access.lifetime_s(),
    });
    if let Some(scope) = scope {
        answer["scope"] = json!(scope);
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(answer)
}
