//! What every page shows around its content: who is looking (and so what
//! they may see), their CSRF token, and the status strip.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use time::OffsetDateTime;

use crate::auth::session::Session;
use crate::auth::{Authenticated, Gate};
use crate::delivery::activity::LastHour;
use crate::delivery::EngineStats;
use crate::domain::{Clock, PmCode};
use crate::store::Store;

/// Who is looking at a page.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The program manager they act for: with auth on, every page shows only
    /// that program manager's webhooks and notifications. `None` with auth
    /// off: the whole service.
    pub pm: Option<PmCode>,
    /// Their session's CSRF token, which the page's script sends with every
    /// change (signed in with auth on).
    pub csrf: Option<String>,
}

impl Viewer {
    fn of(req: &HttpRequest) -> Self {
        let extensions = req.extensions();
        Self {
            pm: extensions.get::<Authenticated>().map(|a| a.0.clone()),
            csrf: extensions.get::<Session>().map(|s| s.csrf.clone()),
        }
    }
}

/// The status strip: the last hour of attempts, and what is pending now.
#[derive(Debug, Clone, Default)]
pub struct Strip {
    pub hour: LastHour,
    pub pending: Option<u64>,
}

impl Strip {
    pub async fn read(store: &dyn Store, stats: &EngineStats, now: OffsetDateTime) -> Self {
        // The hour first: an attempt is counted once its outcome is
        // committed, so the backlog read after it never still counts as
        // pending a notification the hour shows delivered.
        let hour = stats.activity.last_hour(now);
        let pending = store.backlog().await.ok().map(|b| b.pending);
        Self { hour, pending }
    }
}

/// Everything around a page's content. An extractor: a handler that takes a
/// `Frame` gets the viewer and, when the viewer sees the whole service, the
/// strip (a program manager signed in sees no figures of the others').
pub struct Frame {
    pub viewer: Viewer,
    pub strip: Option<Strip>,
    /// Whether the dashboard has sign-in (auth on): the header offers Sign out.
    pub signs_in: bool,
}

impl FromRequest for Frame {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let viewer = Viewer::of(req);
        let signs_in = req
            .app_data::<web::Data<Gate>>()
            .is_some_and(|g| g.signs_in());
        let store = req.app_data::<web::Data<dyn Store>>().cloned();
        let stats = req.app_data::<web::Data<EngineStats>>().cloned();
        let now = req
            .app_data::<web::Data<dyn Clock>>()
            .map_or_else(OffsetDateTime::now_utc, |clock| clock.now());
        Box::pin(async move {
            let strip = match (&viewer.pm, store, stats) {
                (None, Some(store), Some(stats)) => Some(Strip::read(&**store, &stats, now).await),
                _ => None,
            };
            Ok(Frame {
                viewer,
                strip,
                signs_in,
            })
        })
    }
}
