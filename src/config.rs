//! Settings: built-in defaults, then the TOML file, then `WHM_<SECTION>__<KEY>`
//! environment variables, each overriding the one before. This is plain data,
//! each section with the rules of its own fields beside it; `runtime.rs` turns
//! it, once, into the objects the service runs with.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::domain::{Backoff, GiveUp};
use crate::store::postgres::{redact, PgSettings};
use crate::store::sqlite::{SqliteSettings, Synchronous};
use crate::store::BadSetting;

/// The file read when `--config` is not given; if it is missing, the built-in
/// defaults apply.
pub const DEFAULT_CONFIG_PATH: &str = "config.toml";
pub const ENV_PREFIX: &str = "WHM_";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub heartbeat: HeartbeatSettings,
    pub security: SecuritySettings,
    pub limits: LimitSettings,
    pub delivery: DeliverySettings,
    pub sandbox: SandboxSettings,
    pub retention: RetentionSettings,
    pub auth: AuthSettings,
    pub dashboard: DashboardSettings,
    pub seed: SeedSettings,
}

/// The web dashboard at `/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSettings {
    /// Serve it; with auth on, its pages ask for a sign-in (see `auth::session`).
    pub enabled: bool,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// Fixtures created at start when absent (see `seed.rs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedSettings {
    /// Each entry: a create body's fields (`programManagerCode` required).
    pub webhooks: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on; 127.0.0.1 keeps a sandbox private to the machine.
    pub host: String,
    /// 0 picks a free port (tests use it); the chosen port is printed at start.
    pub port: u16,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// On SIGTERM or SIGINT, how long requests in flight may take to finish
    /// before the service exits anyway (whole seconds, rounded up).
    pub shutdown_timeout_ms: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            workers: 0,
            shutdown_timeout_ms: 10_000,
        }
    }
}

impl ServerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.host.trim().is_empty() {
            return Err(ConfigError::new("server.host", "must not be empty"));
        }
        in_range("server.workers", self.workers, 0..=256)?;
        in_range(
            "server.shutdown_timeout_ms",
            self.shutdown_timeout_ms,
            0..=600_000,
        )
    }

    /// `shutdown_timeout_ms` in the whole seconds actix-web takes, rounded up.
    pub fn shutdown_timeout_secs(&self) -> u64 {
        self.shutdown_timeout_ms.div_ceil(1000)
    }
}

/// Which store the service keeps its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// One file, one node (the default); `[database.sqlite]`.
    Sqlite,
    /// A database several nodes share; `[database.postgres]`.
    Postgres,
}

/// `[database]`: the backend, and a table per backend owned by that backend's
/// module (`store::sqlite::SqliteSettings`, `store::postgres::PgSettings`).
///
/// The keys of the flat `[database]` table that came before the tables are
/// still read, and win over the tables' (so `WHM_DATABASE__PATH` and
/// `WHM_DATABASE__URL` keep working): `url` is `postgres.url` and chooses the
/// postgres backend; `pool_size` is `postgres.pool_size`; `path`,
/// `synchronous`, `read_connections`, `max_batch` and `queue_capacity` are
/// `sqlite.*`; `busy_timeout_ms` is `sqlite.busy_timeout_ms` and
/// `postgres.pool_wait_ms`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite` or `postgres`. Unset: postgres when `url` is given, else sqlite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    pub sqlite: SqliteSettings,
    pub postgres: PgSettings,
    /// The flat keys of before, mapped as above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synchronous: Option<Synchronous>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busy_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_connections: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<usize>,
}

impl DatabaseSettings {
    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match (self.backend, &self.url) {
            (Some(backend), _) => backend,
            (None, Some(_)) => Backend::Postgres,
            (None, None) => Backend::Sqlite,
        }
    }

    /// `[database.sqlite]` with the flat keys laid over it.
    pub fn sqlite(&self) -> SqliteSettings {
        let mut t = self.sqlite.clone();
        if let Some(path) = &self.path {
            t.path.clone_from(path);
        }
        t.synchronous = self.synchronous.unwrap_or(t.synchronous);
        t.busy_timeout_ms = self.busy_timeout_ms.unwrap_or(t.busy_timeout_ms);
        t.read_connections = self.read_connections.unwrap_or(t.read_connections);
        t.max_batch = self.max_batch.unwrap_or(t.max_batch);
        t.queue_capacity = self.queue_capacity.unwrap_or(t.queue_capacity);
        t
    }

    /// `[database.postgres]` with the flat keys laid over it.
    pub fn postgres(&self) -> PgSettings {
        let mut t = self.postgres.clone();
        if self.url.is_some() {
            t.url.clone_from(&self.url);
        }
        t.pool_size = self.pool_size.unwrap_or(t.pool_size);
        t.pool_wait_ms = self.busy_timeout_ms.unwrap_or(t.pool_wait_ms);
        t
    }

    /// A key of the backend in use as the configuration gave it: the flat key
    /// of before when that is set, else the backend table's.
    pub fn key(&self, key: &str) -> String {
        let flat = match key {
            "url" => self.url.is_some(),
            "pool_size" => self.pool_size.is_some(),
            "path" => self.path.is_some(),
            "synchronous" => self.synchronous.is_some(),
            "busy_timeout_ms" | "pool_wait_ms" => self.busy_timeout_ms.is_some(),
            "read_connections" => self.read_connections.is_some(),
            "max_batch" => self.max_batch.is_some(),
            "queue_capacity" => self.queue_capacity.is_some(),
            _ => false,
        };
        let table = match self.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        match (flat, key) {
            (true, "pool_wait_ms") => "database.busy_timeout_ms".to_owned(),
            (true, key) => format!("database.{key}"),
            (false, key) => format!("database.{table}.{key}"),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let table = |e: BadSetting| ConfigError::new(self.key(&e.key), e.why);
        if self.backend == Some(Backend::Sqlite) && self.url.is_some() {
            return Err(ConfigError::new(
                "database.url",
                "chooses the postgres backend, but database.backend is \"sqlite\": remove one",
            ));
        }
        match self.backend() {
            Backend::Sqlite => self.sqlite().validate().map_err(table),
            Backend::Postgres => self.postgres().validate().map_err(table),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeartbeatSettings {
    /// The whole heartbeat, from connecting to the response's status line.
    pub timeout_ms: u64,
    /// Connecting (TCP and TLS) alone.
    pub connect_timeout_ms: u64,
}

impl Default for HeartbeatSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 5000,
            connect_timeout_ms: 3000,
        }
    }
}

impl HeartbeatSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        in_range("heartbeat.timeout_ms", self.timeout_ms, 1..=600_000)?;
        in_range(
            "heartbeat.connect_timeout_ms",
            self.connect_timeout_ms,
            1..=600_000,
        )
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Accept plain `http://` webhook URLs. Off unless configured: Thredd only
    /// calls https endpoints. The shipped sandbox config turns it on.
    pub allow_http: bool,
    /// Networks (CIDRs) the service never calls: a webhook URL naming one
    /// literally is refused, and a heartbeat or delivery to a host name that
    /// resolves into one is not attempted.
    pub blocked_networks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest request body accepted; larger gets 413.
    pub max_body_bytes: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl LimitSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        in_range(
            "limits.max_body_bytes",
            self.max_body_bytes,
            1024..=64 * 1024 * 1024,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// One attempt, from connecting to the end of the receiver's answer; a 2xx
    /// within it is `Delivered`.
    pub timeout_ms: u64,
    /// The wait before each retry after a failed attempt; after the last one fails
    /// the notification is `Undelivered`. Up to 10% jitter is added to each, and a
    /// longer `Retry-After` from the receiver is honoured.
    pub retry_schedule_ms: Vec<u64>,
    /// A webhook whose last this-many notifications all ended `Undelivered` is
    /// suspended.
    pub suspend_after: u32,
    /// Deliveries in flight at once, across every receiver.
    pub concurrency: usize,
    /// Deliveries in flight at once to one webhook.
    pub per_webhook_concurrency: u32,
    /// Failed attempts in a row after which a webhook's queue backs off: its
    /// notifications wait while one probe at a time tests the receiver. 0: never.
    pub backoff_after: u32,
    /// The wait before the first probe; each failed probe doubles it, up to
    /// `probe_interval_max_ms`.
    pub probe_interval_ms: u64,
    pub probe_interval_max_ms: u64,
    /// `whsec_` + base64 key: sign every attempt and heartbeat with Standard Webhooks headers.
    /// None (the default): no signature, as Thredd documents none.
    pub signing_secret: Option<String>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            retry_schedule_ms: vec![5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000],
            suspend_after: 5,
            concurrency: 64,
            per_webhook_concurrency: 16,
            backoff_after: 5,
            probe_interval_ms: 5_000,
            probe_interval_max_ms: 60_000,
            signing_secret: None,
        }
    }
}

/// The longest `delivery.timeout_ms`.
pub const MAX_DELIVERY_TIMEOUT_MS: u64 = 600_000;

impl DeliverySettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        in_range(
            "delivery.timeout_ms",
            self.timeout_ms,
            1..=MAX_DELIVERY_TIMEOUT_MS,
        )?;
        let schedule_ok = self.retry_schedule_ms.len() <= 100
            && self
                .retry_schedule_ms
                .iter()
                .all(|ms| *ms <= 7 * 86_400_000);
        if !schedule_ok {
            return Err(ConfigError::new(
                "delivery.retry_schedule_ms",
                "must have at most 100 waits, each at most 7 days",
            ));
        }
        if self.suspend_after < 1 {
            return Err(ConfigError::new(
                "delivery.suspend_after",
                "must be at least 1",
            ));
        }
        in_range("delivery.concurrency", self.concurrency, 1..=10_000)?;
        in_range(
            "delivery.per_webhook_concurrency",
            self.per_webhook_concurrency,
            1..=10_000,
        )?;
        in_range("delivery.backoff_after", self.backoff_after, 0..=1_000_000)?;
        in_range(
            "delivery.probe_interval_ms",
            self.probe_interval_ms,
            1..=86_400_000,
        )?;
        in_range(
            "delivery.probe_interval_max_ms",
            self.probe_interval_max_ms,
            self.probe_interval_ms..=86_400_000,
        )
    }

    /// The backoff rule. A queue that backs off for as long as the whole retry
    /// schedule lasts suspends its webhook: as long as an unreachable receiver
    /// took to suspend it before backoffs existed (at least a minute).
    ///
    /// Probes are never further apart than the schedule's longest wait, so
    /// that a backoff does not stretch a short schedule (`domain::queue`).
    pub fn backoff(&self) -> Backoff {
        let schedule: u64 = self.retry_schedule_ms.iter().sum();
        let longest = self
            .retry_schedule_ms
            .iter()
            .max()
            .map_or(u64::MAX, |l| (*l).max(1));
        Backoff {
            after: self.backoff_after,
            first: millis(self.probe_interval_ms.min(longest)),
            max: millis(self.probe_interval_max_ms.min(longest)),
            suspend_after: millis(schedule.max(60_000)),
        }
    }

    /// When a notification that waits in a backed-off queue gives up.
    pub fn give_up(&self) -> GiveUp {
        GiveUp::new(&self.retry_schedule_ms)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

fn millis(ms: u64) -> time::Duration {
    time::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// How long final notifications are kept (see `retention.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days a `Delivered` or `Undelivered` notification (and its attempts) is
    /// kept after its last attempt. Pending notifications are never purged.
    pub days: u32,
    /// How often the purge runs.
    pub interval_ms: u64,
    /// The most notifications one purge write deletes, so that it holds the
    /// writer only briefly; a purge runs batch after batch until none is old.
    pub batch: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            days: 30,
            interval_ms: 60_000,
            batch: 500,
        }
    }
}

impl RetentionSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        in_range("retention.days", self.days, 1..=3650)?;
        in_range("retention.interval_ms", self.interval_ms, 1000..=86_400_000)?;
        in_range("retention.batch", self.batch, 1..=100_000)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    pub fn max_age(&self) -> time::Duration {
        time::Duration::days(i64::from(self.days))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// Serve the `/sandbox/` routes: the event trigger and the capture inbox.
    pub enabled: bool,
    /// The fixture's record in memory (`sandbox::Journal`): the most events,
    /// and the most delivery attempts, it keeps; the oldest go first.
    pub journal_capacity: usize,
    /// The longest a wait (`/sandbox/v1/deliveries/wait`, an inbox's
    /// `?count=`) lasts: a longer `timeoutMs` is capped to it.
    pub max_wait_ms: u64,
    /// How long a fraud alert (raised by a 101) waits for its Fraud Alert
    /// Response before it expires and a 102 `Timeout` follows: Thredd's 72
    /// hours by default. The sandbox's clock moves it too.
    pub fraud_alert_expiry_ms: u64,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            journal_capacity: 10_000,
            max_wait_ms: 60_000,
            fraud_alert_expiry_ms: 259_200_000,
        }
    }
}

impl SandboxSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        in_range(
            "sandbox.journal_capacity",
            self.journal_capacity,
            10..=1_000_000,
        )?;
        in_range("sandbox.max_wait_ms", self.max_wait_ms, 0..=600_000)?;
        in_range(
            "sandbox.fraud_alert_expiry_ms",
            self.fraud_alert_expiry_ms,
            100..=2_592_000_000,
        )
    }

    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(self.max_wait_ms)
    }

    pub fn fraud_alert_expiry(&self) -> time::Duration {
        time::Duration::milliseconds(i64::try_from(self.fraud_alert_expiry_ms).unwrap_or(i64::MAX))
    }
}

/// Authentication (API.md section 2): static bearer tokens, and OAuth2 client
/// credentials (`POST /connect/token`) that issue JWT access tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Require `Authorization: Bearer <token>` on every API and sandbox route
    /// (the routes declared open stay open: `/healthz`, `/readyz`, `/metrics`,
    /// `/api/v1/openapi.json` and `/connect/token`).
    pub enabled: bool,
    /// The static tokens, each belonging to one program manager.
    pub tokens: Vec<TokenSettings>,
    /// The OAuth2 clients, each acting for one program manager.
    pub clients: Vec<ClientSettings>,
    /// The program manager of the sandbox's default client `sandbox`, made
    /// with a random secret (printed at start) when the sandbox is on and no
    /// client is configured; empty for none.
    pub sandbox_client: String,
    /// The HS256 key access tokens are signed with, at least 32 characters.
    /// None: 32 random bytes made at start (tokens do not survive a restart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// The `iss` of access tokens, checked on every one presented.
    pub issuer: String,
    /// How long an access token lasts.
    pub token_lifetime_s: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            tokens: Vec::new(),
            clients: Vec::new(),
            sandbox_client: "TRD".into(),
            signing_key: None,
            issuer: "webhook-manager".into(),
            token_lifetime_s: 3600,
        }
    }
}

impl AuthSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.issuer.trim().is_empty() {
            return Err(ConfigError::new("auth.issuer", "must not be empty"));
        }
        if self.signing_key.as_ref().is_some_and(|k| k.len() < 32) {
            return Err(ConfigError::new(
                "auth.signing_key",
                "must be at least 32 characters",
            ));
        }
        in_range("auth.token_lifetime_s", self.token_lifetime_s, 1..=86_400)
    }
}

/// One `[[auth.clients]]` entry: an OAuth2 client, its secret (or the hex
/// SHA-256 of it) and the program manager its tokens act for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSettings {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_sha256: Option<String>,
    pub program_manager_code: String,
}

/// One `[[auth.tokens]]` entry: the program manager and either the token or the
/// hex SHA-256 of it, so that a config file need not hold the secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    pub program_manager_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
}

/// What `masked` shows in place of a secret.
pub const MASK: &str = "***";

/// A configuration that cannot be used: the key at fault (or the file) and why.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// `Ok` when `value` lies in `range`, else an error naming `key` and the range.
fn in_range<T>(key: &str, value: T, range: std::ops::RangeInclusive<T>) -> Result<(), ConfigError>
where
    T: PartialOrd + std::fmt::Display,
{
    crate::store::in_range(key, value, range).map_err(|e| ConfigError::new(e.key, e.why))
}

impl Settings {
    /// Loads settings from `path` (which must exist) or, when `None`, from
    /// `config.toml` in the working directory if there is one. What they mean
    /// is checked once, by `Runtime::from_settings`.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let file = match path {
            Some(path) if !path.is_file() => {
                return Err(ConfigError::new(
                    "--config",
                    format!("config file {} not found", path.display()),
                ))
            }
            Some(path) => Some(path.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.is_file()),
        };
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let settings: Settings = figment
            .merge(Env::prefixed(ENV_PREFIX).split("__"))
            .extract()
            .map_err(|e| {
                let key = e.path.join(".");
                let source = file
                    .as_ref()
                    .map_or_else(|| "environment".to_owned(), |f| f.display().to_string());
                ConfigError::new(if key.is_empty() { source } else { key }, e.to_string())
            })?;
        Ok(settings)
    }

    /// The same settings with every secret replaced by `***`, for showing.
    pub fn masked(&self) -> Self {
        let mut shown = self.clone();
        if let Some(secret) = &mut shown.delivery.signing_secret {
            *secret = MASK.into();
        }
        for token in &mut shown.auth.tokens {
            if let Some(secret) = &mut token.token {
                *secret = MASK.into();
            }
        }
        for client in &mut shown.auth.clients {
            if let Some(secret) = &mut client.client_secret {
                *secret = MASK.into();
            }
        }
        if let Some(key) = &mut shown.auth.signing_key {
            *key = MASK.into();
        }
        for url in [&mut shown.database.url, &mut shown.database.postgres.url]
            .into_iter()
            .flatten()
        {
            *url = redact(url);
        }
        shown
    }

    /// TOML that, read back as a config file, gives these settings.
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| format!("showing the configuration: {e}"))
    }

    /// Rules the types alone do not express, section by section. What needs
    /// parsing (tokens, networks, fixtures, the signing secret) is checked when
    /// `Runtime::from_settings` builds it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.database.validate()?;
        self.heartbeat.validate()?;
        self.delivery.validate()?;
        self.retention.validate()?;
        self.sandbox.validate()?;
        self.auth.validate()?;
        self.limits.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_toml_matches_the_built_in_defaults_except_allow_http() {
        let shipped: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file_exact(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config.toml"
            )))
            .extract()
            .expect("shipped config.toml parses");
        let mut expected = Settings::default();
        expected.security.allow_http = true;
        assert_eq!(shipped, expected, "config.toml documents every default");
    }

    #[test]
    fn the_flat_database_keys_of_before_map_onto_the_backend_tables() {
        let read = |toml: &str| -> Settings {
            Figment::from(Serialized::defaults(Settings::default()))
                .merge(Toml::string(toml))
                .extract()
                .expect("parses")
        };
        let old = read(
            "[database]\nurl = \"postgres://u:p@h/d\"\npool_size = 3\nbusy_timeout_ms = 700\n",
        );
        let pg = old.database.postgres();
        assert_eq!(old.database.backend(), Backend::Postgres);
        assert_eq!(pg.url.as_deref(), Some("postgres://u:p@h/d"));
        assert_eq!((pg.pool_size, pg.pool_wait_ms), (3, 700));
        assert!(old.validate().is_ok());
        // A flat key wins over its table's (an environment variable of before
        // overrides the shipped file).
        let old = read(
            "[database]\npath = \"a.db\"\nsynchronous = \"normal\"\nmax_batch = 9\n\
             [database.sqlite]\npath = \"b.db\"\nread_connections = 4\n",
        );
        let sqlite = old.database.sqlite();
        assert_eq!(old.database.backend(), Backend::Sqlite);
        assert_eq!(sqlite.path, PathBuf::from("a.db"));
        assert_eq!(sqlite.synchronous, Synchronous::Normal);
        assert_eq!((sqlite.max_batch, sqlite.read_connections), (9, 4));
        let new = read(
            "[database]\nbackend = \"postgres\"\n[database.postgres]\nurl = \"postgres://h/d\"\n",
        );
        assert_eq!(new.database.backend(), Backend::Postgres);
        assert!(new.validate().is_ok());
        let refused = |toml: &str| read(toml).validate().expect_err("refused").key;
        assert_eq!(
            refused("[database]\nbackend = \"sqlite\"\nurl = \"postgres://h/d\"\n"),
            "database.url"
        );
        assert_eq!(
            refused("[database]\nbackend = \"postgres\"\n"),
            "database.postgres.url"
        );
        assert_eq!(
            refused("[database.sqlite]\nmax_batch = 0\n"),
            "database.sqlite.max_batch"
        );
        assert_eq!(refused("[database]\nmax_batch = 0\n"), "database.max_batch");
        assert_eq!(
            refused("[database]\nurl = \"mysql://h/d\"\n"),
            "database.url"
        );
    }

    #[test]
    fn the_shown_configuration_reads_back_and_hides_secrets() {
        let mut settings = Settings::default();
        settings.delivery.signing_secret = Some("whsec_c2VjcmV0LWtleQ==".into());
        settings.server.port = 9000;
        settings.auth.enabled = true;
        settings.auth.tokens = vec![
            TokenSettings {
                program_manager_code: "TRD".into(),
                token: Some("plain-token-value-1".into()),
                token_sha256: None,
            },
            TokenSettings {
                program_manager_code: "ABC".into(),
                token: None,
                token_sha256: Some("a".repeat(64)),
            },
        ];
        let shown = settings.masked().to_toml().expect("toml");
        assert!(!shown.contains("c2VjcmV0LWtleQ"), "{shown}");
        assert!(!shown.contains("plain-token-value-1"), "{shown}");
        assert!(
            shown.contains(&"a".repeat(64)),
            "a hash is not a secret: {shown}"
        );
        assert!(shown.contains("signing_secret = \"***\""), "{shown}");
        let read_back: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(&shown))
            .extract()
            .expect("shown TOML parses as a config file");
        assert_eq!(read_back, settings.masked());
    }
}
