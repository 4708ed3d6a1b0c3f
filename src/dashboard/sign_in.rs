//! Signing in to the dashboard with auth on: a static token, or an OAuth
//! client's id and secret, buys a session cookie (see `auth::session`);
//! signing out ends it. With auth off there is nothing to sign in to: these
//! pages send the browser to the delivery log.

use std::collections::HashMap;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::frame::Frame;
use super::layout::{layout, page};
use crate::auth::session::{cookie, removal};
use crate::auth::{Gate, SIGN_IN};
use crate::routes::Routes;
use maud::{html, Markup};

pub fn routes(r: &mut Routes) {
    let on = r.dashboard();
    r.resource(SIGN_IN)
        .get(form)
        .post(sign_in)
        .open()
        .served_if(on);
    r.resource("/dashboard/sign-out")
        .post(sign_out)
        .served_if(on);
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// Where to go after signing in: a path on this site, else the log.
fn next_page(next: Option<&String>) -> String {
    match next.map(|n| n.trim()) {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Whether the request came over HTTPS (then the cookie is `Secure`).
fn over_https(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// `GET /dashboard/sign-in?next=`: the form.
async fn form(query: web::Query<HashMap<String, String>>, gate: web::Data<Gate>) -> HttpResponse {
    if !gate.signs_in() {
        return see_other("/");
    }
    let next = next_page(query.get("next"));
    page(StatusCode::OK, sign_in_html(&next, None))
}

/// `POST /dashboard/sign-in` (a form: `token`, or `client_id` and
/// `client_secret`; `next`): on success a session cookie and `303` to `next`;
/// else `401` and the form again, saying so.
async fn sign_in(req: HttpRequest, body: web::Bytes, gate: web::Data<Gate>) -> HttpResponse {
    if !gate.signs_in() {
        return see_other("/");
    }
    let fields: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let next = next_page(fields.get("next"));
    if !same_origin(&req) {
        // Another site's page posting its own credentials here (login CSRF).
        return page(
            StatusCode::FORBIDDEN,
            sign_in_html(&next, Some("Sign in from this service's own page.")),
        );
    }
    let field = |name: &str| fields.get(name).map_or("", |v| v.trim());
    let auth = &gate.auth;
    let (subject, pm) = if field("token").is_empty() {
        let id = field("client_id");
        (id, auth.clients.authenticate(id, field("client_secret")))
    } else {
        ("dashboard", auth.tokens.program_manager(field("token")))
    };
    let Some(pm) = pm else {
        return page(
            StatusCode::UNAUTHORIZED,
            sign_in_html(
                &next,
                Some("That token, or that client id and secret, is not known here."),
            ),
        );
    };
    let session = match auth.access.issue(subject, &pm, Some("dashboard".into())) {
        Ok(session) => session,
        Err(e) => {
            log::error!("dashboard: issuing a session: {e}");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                sign_in_html(
                    &next,
                    Some("The session could not be made; the cause is in the service log."),
                ),
            );
        }
    };
    log::info!("dashboard: program manager {pm} signed in");
    let mut response = see_other(&next);
    let _ = response.add_cookie(&cookie(session, auth.access.lifetime_s(), over_https(&req)));
    response
}

/// A browser's `Origin`, when it sends one, names this service.
fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let info = req.connection_info();
    let ours = format!("{}://{}", info.scheme(), info.host());
    origin == HeaderValue::from_str(&ours).unwrap_or(HeaderValue::from_static("-"))
}

/// `POST /dashboard/sign-out` (with the session's CSRF token, like every
/// change): the cookie is removed; `204`.
async fn sign_out(req: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::NoContent().finish();
    let _ = response.add_cookie(&removal(over_https(&req)));
    response
}

/// The sign-in form (auth on), with what went wrong, if anything.
pub fn sign_in_html(next: &str, problem: Option<&str>) -> Markup {
    let frame = Frame {
        viewer: super::Viewer::default(),
        strip: None,
        signs_in: false,
    };
    layout(
        &frame,
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(problem) = problem {
                p.problem role="alert" data-test="problem" { (problem) }
            }
            p.muted { "The dashboard shows one program manager's webhooks and notifications: sign in as it, with one of its tokens or an OAuth client's id and secret." }
            form.send method="post" action="/dashboard/sign-in" data-test="sign-in-form" {
                input type="hidden" name="next" value=(next);
                p.fields {
                    label { "Token" input type="password" name="token" size="40" autocomplete="current-password"; }
                }
                p.muted { "or" }
                p.fields {
                    label { "Client id" input name="client_id" size="20" autocomplete="username"; }
                    label { "Client secret" input type="password" name="client_secret" size="40"; }
                }
                p { button type="submit" data-test="sign-in" { "Sign in" } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_of_this_site_is_a_next_page() {
        let next = |n: &str| next_page(Some(&n.to_owned()));
        assert_eq!(next("/?status=Pending"), "/?status=Pending");
        assert_eq!(next("/dashboard/webhooks"), "/dashboard/webhooks");
        for elsewhere in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "",
            "x",
        ] {
            assert_eq!(next(elsewhere), "/", "{elsewhere}");
        }
        assert_eq!(next_page(None), "/");
    }
}
