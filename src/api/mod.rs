//! The HTTP API: one file per resource, each owning its wire types, its
//! handlers and the declaration of its routes. Shared by them: who is calling
//! (`caller`), reading a request (`request`) and the success envelope (`reply`).

mod caller;
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
mod reply;
mod request;
pub mod reset;
pub mod settings;
pub mod stream;
pub mod subscriptions;
pub mod token;
pub mod webhooks;

use crate::routes::{Route, Routes};

pub use self::caller::{Caller, PM_CODE_HEADER};
pub use self::reply::{success, success_rendered};
pub use self::request::{find_webhook, object_body, parse_event_path, parse_id, pm_param, query};

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
