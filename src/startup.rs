//! Building the application: storage, listener, middleware and the one place
//! where routes, app data and extractor configs are registered.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::middleware::{from_fn, Condition, Logger, Next};
use actix_web::{web, App, HttpMessage, HttpResponse, HttpServer, Resource, ResponseError};
use uuid::Uuid;

use crate::api::sandbox::{self, Inbox};
use crate::api::Authenticated;
use crate::api::{self, health, heartbeat, notifications, paths, subscriptions, webhooks};
use crate::auth::Tokens;
use crate::config::Settings;
use crate::delivery::Dispatcher;
use crate::domain::UrlRules;
use crate::error::ApiError;
use crate::heartbeat::HeartbeatClient;
use crate::metrics::METRICS;
use crate::seed::Seeds;
use crate::store::{Outbox, Repository, SqliteStore};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
const ACCESS_LOG_FORMAT: &str = r#"%a "%r" %s %b %Dms request_id=%{x-request-id}o"#;

/// Why the service could not start; the message names the key or path at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(String);

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Opens the database named in the settings, creates the configured fixtures
    /// that are absent, and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let store = SqliteStore::open(&settings.database.path, &settings.database.sqlite_options())
            .map_err(|e| StartupError(format!("database.path: {e}")))?;
        log::info!(
            "{} webhooks loaded from {}",
            store.len(),
            settings.database.path.display()
        );
        let store = Arc::new(store);
        let seeds = Seeds::from_settings(&settings).map_err(StartupError)?;
        if !seeds.is_empty() {
            let seeded = seeds
                .apply(&*store)
                .await
                .map_err(|e| StartupError(format!("seed.webhooks: {e}")))?;
            log::info!(
                "fixtures: {} webhooks created, {} already present",
                seeded.created,
                seeded.present
            );
        }
        Self::build_with(settings, store.clone(), store, seeds)
    }

    /// Starts delivery, binds the listener and builds the server over any storage.
    pub fn build_with(
        settings: Settings,
        repo: Arc<dyn Repository>,
        outbox: Arc<dyn Outbox>,
        seeds: Seeds,
    ) -> Result<Self, StartupError> {
        let rules = settings
            .url_rules()
            .map_err(|e| StartupError(e.to_string()))?;
        let dispatcher = Dispatcher::start(
            settings.delivery.clone(),
            rules.blocked.clone(),
            repo.clone(),
            outbox.clone(),
        )
        .map_err(|e| StartupError(format!("delivery: {e}")))?;
        let address = (settings.server.host.as_str(), settings.server.port);
        let listener = TcpListener::bind(address).map_err(|e| {
            StartupError(format!(
                "server.host/server.port: cannot listen on {}:{}: {e}",
                address.0, address.1
            ))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError(format!("server.port: {e}")))?
            .port();
        let tokens = Tokens::from_settings(&settings.auth).map_err(StartupError)?;
        let workers = settings.server.workers;
        let shutdown_secs = settings.server.shutdown_timeout_secs();
        let state = State {
            repo: web::Data::from(repo),
            outbox: web::Data::from(outbox),
            dispatcher: web::Data::new(dispatcher),
            inbox: web::Data::new(Inbox::default()),
            tokens: web::Data::new(tokens),
            rules: web::Data::new(rules),
            seeds: web::Data::new(seeds),
            settings: web::Data::new(settings),
        };
        // The access log is one info line per request; when info is filtered out
        // (RUST_LOG=warn) the middleware is left out, not run to no effect.
        let access_log =
            log::log_enabled!(target: "actix_web::middleware::logger", log::Level::Info);
        let mut server = HttpServer::new(move || {
            let state = state.clone();
            App::new()
                .configure(move |cfg| configure(cfg, state))
                .wrap(from_fn(authenticate))
                .wrap(from_fn(count_request))
                .wrap(from_fn(normalize_path))
                .wrap(from_fn(request_id))
                .wrap(Condition::new(access_log, Logger::new(ACCESS_LOG_FORMAT)))
        });
        if workers > 0 {
            server = server.workers(workers);
        }
        // On SIGTERM/SIGINT actix-web stops accepting and lets requests in flight
        // finish (each write is answered only after its commit); pending
        // notifications stay in the outbox for the next start.
        server = server.shutdown_timeout(shutdown_secs);
        let server = server
            .listen(listener)
            .map_err(|e| StartupError(format!("server.port: {e}")))?
            .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.server.await
    }
}

/// What every worker shares.
#[derive(Clone)]
pub struct State {
    pub repo: web::Data<dyn Repository>,
    pub outbox: web::Data<dyn Outbox>,
    pub dispatcher: web::Data<Dispatcher>,
    pub inbox: web::Data<Inbox>,
    pub tokens: web::Data<Tokens>,
    pub rules: web::Data<UrlRules>,
    pub seeds: web::Data<Seeds>,
    pub settings: web::Data<Settings>,
}

/// Routes, app data and extractor configs. Runs once per worker, so the
/// heartbeat client built here is one per worker, shared by its requests.
pub fn configure(cfg: &mut web::ServiceConfig, state: State) {
    let settings = state.settings;
    let json = web::JsonConfig::default()
        .limit(settings.limits.max_body_bytes)
        .error_handler(|error, _| ApiError::from(error).into());
    let payload = web::PayloadConfig::new(settings.limits.max_body_bytes);
    if settings.sandbox.enabled {
        let mut scope = web::scope(SANDBOX)
            .service(
                resource(SANDBOX, "/sandbox/v1/events", "POST")
                    .route(web::post().to(sandbox::trigger)),
            )
            .service(
                resource(SANDBOX, "/sandbox/v1/inbox/{name}/requests", "GET, DELETE")
                    .route(web::get().to(sandbox::requests))
                    .route(web::delete().to(sandbox::clear)),
            )
            .service(
                resource(SANDBOX, "/sandbox/v1/inbox/{name}", ANY_METHOD)
                    .route(web::route().to(sandbox::capture)),
            );
        // A reset deletes every program manager's data: not for token holders.
        if !settings.auth.enabled {
            scope = scope.service(
                resource(SANDBOX, "/sandbox/v1/reset", "POST")
                    .route(web::post().to(sandbox::reset)),
            );
        }
        cfg.service(scope);
    }
    cfg.app_data(state.repo)
        .app_data(state.outbox)
        .app_data(state.dispatcher)
        .app_data(state.inbox)
        .app_data(state.tokens)
        .app_data(web::Data::new(HeartbeatClient::new(
            &settings.heartbeat,
            state.rules.blocked.clone(),
        )))
        .app_data(state.rules)
        .app_data(state.seeds)
        .app_data(settings)
        .app_data(json)
        .app_data(payload)
        .service(resource("", "/healthz", "GET").route(web::get().to(health::healthz)))
        .service(resource("", "/readyz", "GET").route(web::get().to(health::readyz)))
        .service(resource("", "/metrics", "GET").route(web::get().to(health::metrics)))
        .service(
            resource("", "/api/v1/openapi.json", "GET")
                .route(web::get().to(api::openapi::document)),
        )
        .service(
            web::scope(WEBHOOKS)
                .service(
                    resource(WEBHOOKS, "/api/v1/webhooks", "GET, POST")
                        .route(web::get().to(webhooks::list))
                        .route(web::post().to(webhooks::create)),
                )
                .service(
                    resource(WEBHOOKS, "/api/v1/webhooks/{id}", "GET, PUT")
                        .route(web::get().to(webhooks::details))
                        .route(web::put().to(webhooks::replace)),
                )
                .service(
                    resource(WEBHOOKS, "/api/v1/webhooks/{id}/status", "PATCH, PUT")
                        .route(web::patch().to(webhooks::set_status))
                        .route(web::put().to(webhooks::set_status)),
                )
                .service(
                    resource(WEBHOOKS, "/api/v1/webhooks/{id}/subscriptions", "GET, PUT")
                        .route(web::get().to(subscriptions::list))
                        .route(web::put().to(subscriptions::subscribe)),
                )
                .service(
                    resource(
                        WEBHOOKS,
                        "/api/v1/webhooks/{id}/subscriptions/{eventCode}",
                        "DELETE",
                    )
                    .route(web::delete().to(subscriptions::unsubscribe)),
                )
                .service(
                    resource(WEBHOOKS, "/api/v1/webhooks/{id}/heartbeat", "GET")
                        .route(web::get().to(heartbeat::heartbeat)),
                )
                .service(
                    resource(
                        WEBHOOKS,
                        "/api/v1/webhooks/{id}/events/{eventCode}/notifications",
                        "GET",
                    )
                    .route(web::get().to(notifications::by_event)),
                )
                .service(
                    resource(
                        WEBHOOKS,
                        "/api/v1/webhooks/{id}/notifications/details",
                        "POST",
                    )
                    .route(web::post().to(notifications::details)),
                )
                .service(
                    resource(
                        WEBHOOKS,
                        "/api/v1/webhooks/{id}/notifications/undelivered",
                        "GET",
                    )
                    .route(web::get().to(notifications::undelivered)),
                )
                .service(
                    resource(
                        WEBHOOKS,
                        "/api/v1/webhooks/{id}/notifications/resend",
                        "POST",
                    )
                    .route(web::post().to(notifications::resend)),
                ),
        )
        .default_service(web::to(not_found));
}

const WEBHOOKS: &str = "/api/v1/webhooks";
const SANDBOX: &str = "/sandbox/v1";
/// A route that takes any method (the capture inbox).
const ANY_METHOD: &str = "*";

/// Every route the service serves, by its full canonical path, with its
/// methods. The OpenAPI document (`src/api/openapi.json`) must describe exactly
/// these (a test compares them), and in debug builds [`resource`] refuses to
/// register one that is missing here, so neither can drift from the code.
pub const ROUTES: &[(&str, &str)] = &[
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/metrics", "GET"),
    ("/api/v1/openapi.json", "GET"),
    ("/api/v1/webhooks", "GET, POST"),
    ("/api/v1/webhooks/{id}", "GET, PUT"),
    ("/api/v1/webhooks/{id}/status", "PATCH, PUT"),
    ("/api/v1/webhooks/{id}/subscriptions", "GET, PUT"),
    ("/api/v1/webhooks/{id}/subscriptions/{eventCode}", "DELETE"),
    ("/api/v1/webhooks/{id}/heartbeat", "GET"),
    (
        "/api/v1/webhooks/{id}/events/{eventCode}/notifications",
        "GET",
    ),
    ("/api/v1/webhooks/{id}/notifications/details", "POST"),
    ("/api/v1/webhooks/{id}/notifications/undelivered", "GET"),
    ("/api/v1/webhooks/{id}/notifications/resend", "POST"),
    ("/sandbox/v1/events", "POST"),
    ("/sandbox/v1/inbox/{name}", ANY_METHOD),
    ("/sandbox/v1/inbox/{name}/requests", "GET, DELETE"),
    ("/sandbox/v1/reset", "POST"),
];

/// The resource at `path` (full and canonical, inside `scope`); methods it does
/// not serve get `405` with an `Allow` header.
fn resource(scope: &str, path: &'static str, allow: &'static str) -> Resource {
    debug_assert!(
        ROUTES.contains(&(path, allow)),
        "route {path} ({allow}) is missing from startup::ROUTES and the OpenAPI document"
    );
    let relative = path.strip_prefix(scope).unwrap_or(path);
    let resource = web::resource(relative);
    if allow == ANY_METHOD {
        return resource;
    }
    resource.default_service(web::to(api::method_not_allowed(allow)))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::path_not_found())
}

/// Rewrites the path to its canonical form (see `api::paths`) before routing.
async fn normalize_path(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(path) = paths::canonical(req.path()) {
        let target = match req.query_string() {
            "" => path,
            query => format!("{path}?{query}"),
        };
        let mut parts = req.head().uri.clone().into_parts();
        if let Ok(path_and_query) = PathAndQuery::try_from(target) {
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    next.call(req).await
}

/// Counts each answered request by its route template and times it.
async fn count_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let response = next.call(req).await?;
    METRICS.request(
        response.request().match_pattern(),
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    Ok(response)
}

/// Paths open without a token: liveness, readiness and metrics.
const OPEN_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"];

/// With auth on, refuses (`401`) every request to another path without a valid
/// bearer token, and records the token's program manager for [`api::Caller`].
async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let tokens = req.app_data::<web::Data<Tokens>>().cloned();
    if let Some(tokens) = tokens.filter(|t| t.enabled()) {
        if !OPEN_PATHS.contains(&req.path()) {
            match tokens.authenticate(req.headers().get(AUTHORIZATION)) {
                Some(pm) => {
                    req.extensions_mut().insert(Authenticated(pm));
                }
                None => {
                    let refused = ApiError::Unauthorized.error_response();
                    return Ok(req.into_response(refused).map_into_right_body());
                }
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Echoes the client's `X-Request-Id` (when it is short, printable ASCII) or
/// makes a new one, so a response and its access-log line can be matched.
async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}
