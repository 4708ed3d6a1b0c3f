//! Building the application, in the order the process starts its parts:
//!
//! 1. the store (`store/`), by `[database] backend`: `SqliteStore::open` starts
//!    `sqlite-writer`, `sqlite-checkpoint` and `sqlite-reader-{n}`; or
//!    `PgStore::open` starts `postgres`; or, with the SQLite path `:memory:`,
//!    the memory store (a throwaway for tests) starts none;
//! 2. the fixtures (`[[seed.webhooks]]`), through the store;
//! 3. the delivery engine (`delivery/engine.rs`): `Engine::start` starts
//!    `delivery`, which claims from the outbox; with the sandbox on,
//!    `fraud::Watch::start` (`sandbox/fraud.rs`) starts `fraud-alerts`, which
//!    expires unanswered fraud alerts;
//! 4. the retention purge (`delivery/retention.rs`): `Retention::start` starts
//!    `retention`;
//! 5. heartbeats (`outbound/heartbeat.rs`) run on the HTTP workers, as the
//!    API's heartbeat call asks for them;
//! 6. the HTTP server: `server.workers` worker threads (one per core by
//!    default), whose routes each resource file declares (`api::routes`,
//!    `dashboard::routes`, the table in `routes.rs`).
//!
//! The log line "threads started" names them all, in that order.

use std::io;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition, Logger};
use actix_web::{web, App, HttpServer};

use crate::api::middleware::{check_region, count_request, normalize_path, not_found, request_id};
use crate::api::{self, route_table};
use crate::auth::{authenticate, Gate};
use crate::config::Backend;
use crate::dashboard;
use crate::delivery::retention::Retention;
use crate::delivery::{Engine, EngineStats};
use crate::domain::Clock;
use crate::error::ApiError;
use crate::outbound::heartbeat::HeartbeatClient;
use crate::routes::{Routes, Serving};
use crate::runtime::Runtime;
use crate::sandbox::{fraud, Fixture};
use crate::shutdown;
use crate::store::postgres::redact;
use crate::store::{MemoryStore, PgStore, SqliteStore, Store};

/// `database.path` for a throwaway service on the memory store.
pub const MEMORY: &str = ":memory:";

/// Connections the kernel may hold for the server before it accepts them
/// (capped by `net.core.somaxconn`). Rust's `TcpListener::bind` asks for
/// 128: a burst of new connections beyond that had its SYNs dropped, and
/// each such client waited for its SYN's one-second retransmission (the
/// "one-second stall" of issue 15).
const LISTEN_BACKLOG: u32 = 4096;

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
    /// that are absent, starts delivery and binds the listener.
    pub async fn build(runtime: Runtime) -> Result<Self, StartupError> {
        let database = &runtime.settings.database;
        let sqlite = database.sqlite();
        match database.backend() {
            Backend::Postgres => {
                let settings = database.postgres();
                let url = settings.url.as_deref().unwrap_or_default();
                let store = PgStore::open(url, &settings.options())
                    .map_err(|e| StartupError(format!("{}: {e}", database.key("url"))))?;
                log::info!("database: PostgreSQL at {}", redact(url));
                let threads = store.threads().to_vec();
                Self::build_with(runtime, Arc::new(store), threads).await
            }
            Backend::Sqlite if sqlite.path.as_os_str() == MEMORY => {
                log::info!(
                    "database: in memory ({MEMORY}): a throwaway service for tests; nothing is written to disk, and everything is gone when it stops"
                );
                Self::build_with(runtime, Arc::new(MemoryStore::new()), Vec::new()).await
            }
            Backend::Sqlite => {
                let store = SqliteStore::open(&sqlite.path, &sqlite.options())
                    .map_err(|e| StartupError(format!("{}: {e}", database.key("path"))))?;
                log::info!("database: SQLite at {}", sqlite.path.display());
                let threads = store.threads().to_vec();
                Self::build_with(runtime, Arc::new(store), threads).await
            }
        }
    }

    /// The same over any store (`threads`: the ones it started), for tests and
    /// throwaway sandboxes on the memory store.
    pub async fn build_with(
        runtime: Runtime,
        store: Arc<dyn Store>,
        mut threads: Vec<String>,
    ) -> Result<Self, StartupError> {
        let Runtime {
            settings,
            auth,
            rules,
            seeds,
            delivery,
            clock,
        } = runtime;
        if let Some((pm, secret)) = auth.clients.sandbox() {
            // The sandbox's default client: a newcomer signs in with it as is.
            log::info!(
                "sandbox sign-in: POST /connect/token with client_id=sandbox client_secret={secret} (program manager {pm}; a new secret at every start)"
            );
        }
        if !seeds.is_empty() {
            let seeded = seeds
                .apply(&*store, clock.now_seconds())
                .await
                .map_err(|e| StartupError(format!("seed.webhooks: {e}")))?;
            log::info!(
                "fixtures: {} webhooks created, {} already present",
                seeded.created,
                seeded.present
            );
        }

        let movable = clock;
        let clock: Arc<dyn Clock> = movable.clone();
        let stats = Arc::new(EngineStats::default());
        let fixture = settings.sandbox.enabled.then(|| {
            Arc::new(Fixture::new(
                &settings.sandbox,
                settings.retention.max_age(),
            ))
        });
        let engine = Engine {
            settings: Arc::clone(&delivery),
            blocked: rules.blocked.clone(),
            store: Arc::clone(&store),
            clock: Arc::clone(&clock),
            stats: Arc::clone(&stats),
            fixture: fixture.clone(),
        };
        let engine_thread = engine
            .start()
            .map_err(|e| StartupError(format!("delivery: starting its thread: {e}")))?;
        threads.push(engine_thread.to_owned());
        if let Some(fixture) = &fixture {
            let watch = fraud::Watch {
                store: Arc::clone(&store),
                fixture: Arc::clone(fixture),
                clock: Arc::clone(&clock),
            };
            let watch_thread = watch
                .start()
                .map_err(|e| StartupError(format!("fraud alerts: starting their thread: {e}")))?;
            threads.push(watch_thread.to_owned());
        }
        let retention = Arc::new(Retention {
            settings: settings.retention.clone(),
            store: Arc::clone(&store),
            clock: Arc::clone(&clock),
        });
        let retention_thread = Arc::clone(&retention)
            .start()
            .map_err(|e| StartupError(format!("retention: starting its thread: {e}")))?;
        threads.push(retention_thread.to_owned());

        let address = (settings.server.host.clone(), settings.server.port);

        let serving = Serving {
            sandbox: settings.sandbox.enabled,
            dashboard: settings.dashboard.enabled,
        };
        let limit = settings.limits.max_body_bytes;
        let heartbeat = settings.heartbeat.clone();
        let blocked = rules.blocked.clone();
        let store = web::Data::from(store);
        let mut table = route_table();
        table.extend(dashboard::route_table());
        let gate = web::Data::new(Gate::new(auth, &table, serving.dashboard));
        let stats = web::Data::from(stats);
        let fixture = fixture.map(web::Data::from);
        let retention = web::Data::from(retention);
        let clock = web::Data::from(clock);
        let movable = web::Data::from(movable);
        let delivery = web::Data::from(delivery);
        let (signals, stopping) = shutdown::channel();
        let stopping = web::Data::new(stopping);
        let rules = web::Data::new(rules);
        let seeds = web::Data::new(seeds);
        // The access log is one info line per request; when info is filtered out
        // (RUST_LOG=warn) the middleware is left out, not run to no effect.
        let access_log =
            log::log_enabled!(target: "actix_web::middleware::logger", log::Level::Info);
        let mut server = HttpServer::new(move || {
            // Built once per worker: awc's client is single-threaded, and each
            // worker's heartbeats share its connection pool.
            let client = HeartbeatClient::new(
                &heartbeat,
                blocked.clone(),
                delivery.clone().into_inner(),
                clock.clone().into_inner(),
            );
            let json = web::JsonConfig::default()
                .limit(limit)
                .error_handler(|error, _| ApiError::from(error).into());
            App::new()
                .app_data(store.clone())
                .app_data(gate.clone())
                .app_data(rules.clone())
                .app_data(seeds.clone())
                .app_data(stats.clone())
                .app_data(stopping.clone())
                .app_data(clock.clone())
                .app_data(movable.clone())
                .app_data(delivery.clone())
                .app_data(retention.clone())
                .app_data(web::Data::new(client))
                .app_data(json)
                .app_data(web::PayloadConfig::new(limit))
                .configure(|cfg| {
                    if let Some(fixture) = &fixture {
                        cfg.app_data(fixture.clone());
                    }
                    let mut routes = Routes::serve(cfg, serving);
                    api::routes(&mut routes);
                    dashboard::routes(&mut routes);
                })
                .default_service(web::to(not_found))
                .wrap(from_fn(check_region))
                .wrap(from_fn(authenticate))
                .wrap(from_fn(count_request))
                .wrap(from_fn(normalize_path))
                .wrap(from_fn(request_id))
                .wrap(Condition::new(access_log, Logger::new(ACCESS_LOG_FORMAT)))
        });
        let workers = settings.server.workers;
        if workers > 0 {
            server = server.workers(workers);
        }
        // On SIGTERM/SIGINT actix-web stops accepting and lets requests in flight
        // finish (each write is answered only after its commit); pending
        // notifications stay in the outbox for the next start.
        // The signals are ours (see `shutdown`): live streams end first.
        server = server
            .shutdown_timeout(settings.server.shutdown_timeout_secs())
            .disable_signals()
            .backlog(LISTEN_BACKLOG);
        let server = server.bind(&address).map_err(|e| {
            StartupError(format!(
                "server.host/server.port: cannot listen on {}:{}: {e}",
                address.0, address.1
            ))
        })?;
        let port = server
            .addrs()
            .first()
            .map(std::net::SocketAddr::port)
            .ok_or_else(|| StartupError("server.port: bound to no address".into()))?;
        let server = server.run();
        signals.arm(server.handle());
        let workers = if workers > 0 {
            workers
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        };
        log::info!(
            "threads started: {}, then {workers} HTTP workers",
            threads.join(", ")
        );
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.server.await
    }
}
