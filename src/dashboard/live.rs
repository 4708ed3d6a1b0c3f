//! The live-update helper: a Server-Sent Events stream that looks for changes
//! every half second while a browser has the page open, and sends the page's
//! fragment again when it changed.

use crate::shutdown::Stopping;
use actix_web::http::header;
use actix_web::http::header::HeaderValue;
use actix_web::web;
use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::Responder;
use actix_web_lab::sse;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often an open live log looks for changes (only while a browser has
/// it open: no browser, no cost).
pub(super) const LIVE_LOOK: Duration = Duration::from_millis(500);

/// Server-Sent Events from `look`, which answers the current HTML of each
/// named part of a page. It is called every [`LIVE_LOOK`] while the browser
/// keeps the stream open (no browser, no cost), and a part is sent, as an
/// event of its name, only when it changed: however much happens, a browser
/// gets at most one event per part per look.
pub(super) fn live<F, Fut>(req: &HttpRequest, look: F) -> HttpResponse
where
    F: Fn() -> Fut + 'static,
    Fut: std::future::Future<Output = Vec<(&'static str, String)>>,
{
    let (events, receiver) = mpsc::channel::<sse::Event>(4);
    let stopping = req.app_data::<web::Data<Stopping>>().cloned();
    actix_rt::spawn(async move {
        let mut shown: HashMap<&'static str, String> = HashMap::new();
        loop {
            for (name, html) in look().await {
                if shown.get(name) == Some(&html) {
                    continue;
                }
                let event = sse::Data::new(html.clone()).event(name);
                if events.send(event.into()).await.is_err() {
                    return;
                }
                shown.insert(name, html);
            }
            let stopped = async {
                match &stopping {
                    Some(stopping) => stopping.wait().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = actix_rt::time::sleep(LIVE_LOOK) => {}
                // The service stops: the stream ends (the browser reconnects
                // to whatever answers next).
                () = stopped => return,
            }
            if events.is_closed() {
                return;
            }
        }
    });
    let mut response = sse::Sse::from_infallible_receiver(receiver)
        .with_keep_alive(Duration::from_secs(15))
        .respond_to(req);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
