//! The web dashboard at `/`: server-rendered HTML (maud: compile-time
//! templates that escape every value), one stylesheet and one small script
//! compiled into the binary, and no request to any other host (the
//! Content-Security-Policy says so). Pages: the delivery log (filters in the
//! URL, pages of 50, newest first, live over Server-Sent Events), a
//! notification's detail (the envelope as sent, every attempt, Resend, Deliver
//! now, Copy as cURL), Send an event, Webhooks (create, edit, ping,
//! activate) and Inbox, each under a status strip. Served with `[dashboard]
//! enabled`; with auth on, every page but the sign-in form needs a session
//! (`sign_in`, `auth::session`) and shows only the signed-in program
//! manager's webhooks and notifications. Startup registers these routes
//! beside the API's, each page's declared in its own file beside its handler
//! and markup (`layout` and `live` hold what the pages share); they are not in
//! `api::route_table` (not API operations,
//! and the dashboard depends on the API, not the other way round), but in
//! [`route_table`], which authentication reads for the open ones.

mod delivery_log;
mod events;
mod frame;
mod inbox;
mod layout;
mod live;
mod notification;
mod send;
mod sign_in;
mod webhooks;

use self::frame::Viewer;
use crate::routes::Route;
use crate::routes::Routes;
use actix_web::http::header;
use actix_web::http::header::HeaderValue;
use actix_web::HttpResponse;

pub fn routes(r: &mut Routes) {
    let on = r.dashboard();
    sign_in::routes(r);
    delivery_log::routes(r, on);
    notification::routes(r, on);
    send::routes(r, on);
    events::routes(r, on);
    webhooks::routes(r, on);
    inbox::routes(r, on);
    // The stylesheet and the script hold no data: the sign-in page needs them.
    r.resource("/dashboard/assets/app.css")
        .get(stylesheet)
        .open()
        .served_if(on);
    r.resource("/dashboard/assets/app.js")
        .get(script)
        .open()
        .served_if(on);
    // Browsers ask for it on every page: no icon, and no 404 in their console.
    r.resource("/favicon.ico")
        .get(HttpResponse::NoContent)
        .open()
        .served_if(on);
}

/// The dashboard's routes, served or not (authentication reads the open ones).
pub fn route_table() -> Vec<Route> {
    let mut r = Routes::table_only();
    routes(&mut r);
    r.into_table()
}

async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", include_str!("app.css"))
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", include_str!("app.js"))
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=300"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(body)
}
