//! The PostgreSQL backend (`[database] url = "postgres://..."`): the same
//! contract as SQLite's (the contract suite runs on both), for several nodes
//! sharing one database.
//!
//! The driver is `tokio-postgres` with `deadpool-postgres`'s pool, run on the
//! store's own thread, `postgres` (a Tokio runtime that owns the pool's
//! connections): every call is a task there, answered through a
//! [`StoreFuture`], so no HTTP worker ever waits on the database, and calls
//! from the engine's and the workers' runtimes share one pool. There is no
//! local index: every read asks the database, so a write answered on one node
//! is read on every node. Claims lock ready queues with `FOR UPDATE SKIP
//! LOCKED`, so nodes claiming at once take different notifications; a claim
//! has a lease, and a node that dies loses its claims when their leases lapse.
//! A commit that makes notifications due (new ones, a resend, deliver now, a
//! webhook set active) sends `NOTIFY whm_due`; every node LISTENs on its own
//! connection and wakes its engine, which also looks every few seconds (the
//! backstop when a notification is missed while reconnecting). The schema is
//! applied under an advisory lock (`schema.rs`).

mod configurations;
mod fraud_alerts;
mod inboxes;
mod notifications;
mod outbox;
mod queues;
mod rows;
pub(crate) mod schema;
mod sql;
#[cfg(test)]
mod tests;
/// Throwaway clusters for tests (`initdb` as the `postgres` user). Not in the
/// shipped binary: the library's tests build it here, and the black-box tests
/// and the benchmarks include the same file (`#[path]`), so no feature or
/// production code carries it.
#[cfg(test)]
pub mod throwaway;
mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::runtime::Handle;

use super::{in_range, BadSetting, OpenError};
use tokio::sync::{oneshot, Notify};
use tokio_postgres::NoTls;

use self::outbox::PgTx;
pub use self::rows::classify;
use super::flows;
use super::wake::Wake;
use super::{
    AlertChange, Backlog, Change, ClaimLimits, ClaimRequest, Claims, Cleared, ConfigChange,
    Configurations, FraudAlerts, Inboxes, LogFilter, LogPage, LogScan, Outbox, RecordRules,
    Recorded, Repository, StoreError, StoreFuture,
};
use crate::domain::configuration;
use crate::domain::inbox::{Captured, InboxLimits};
use crate::domain::{
    Attempt, AttemptOutcome, ClaimToken, ConfigId, Configuration, EventCode, FraudAlert,
    FraudAlertId, Notification, NotificationId, PmCode, ProductId, QueueHealth, Resend, Webhook,
    WebhookDocument, WebhookId, WebhookKeys, WebhookStatus,
};

pub use self::schema::SCHEMA_VERSION;

/// `[database.postgres]`: this backend's settings table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PgSettings {
    /// `postgres://user:password@host:port/database`: the database several
    /// nodes share. Best given through `WHM_DATABASE__POSTGRES__URL` (or the
    /// older `WHM_DATABASE__URL`); `check-config` never shows its password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Connections in this node's pool.
    pub pool_size: usize,
    /// How long a call waits for a connection before it gets a 503.
    pub pool_wait_ms: u64,
}

impl Default for PgSettings {
    fn default() -> Self {
        let o = PgOptions::default();
        Self {
            url: None,
            pool_size: o.pool_size,
            pool_wait_ms: u64::try_from(o.wait.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl PgSettings {
    pub fn validate(&self) -> Result<(), BadSetting> {
        // The message never repeats the URL: it may hold a password.
        let url = self.url.as_deref().unwrap_or("");
        let scheme = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !scheme || url.parse::<tokio_postgres::Config>().is_err() {
            return Err(BadSetting {
                key: "url".into(),
                why: "must be a PostgreSQL URL: postgres://user:password@host:port/database".into(),
            });
        }
        in_range("pool_size", self.pool_size, 1..=1000)?;
        in_range("pool_wait_ms", self.pool_wait_ms, 1..=600_000)
    }

    pub fn options(&self) -> PgOptions {
        PgOptions {
            pool_size: self.pool_size,
            wait: Duration::from_millis(self.pool_wait_ms),
        }
    }
}

/// How the store uses the database.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in the pool.
    pub pool_size: usize,
    /// How long a call waits for a connection (or for one to be made) before
    /// it is answered `Unavailable`.
    pub wait: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            wait: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    runtime: Handle,
    wake: Arc<Wake>,
    /// Ends the `postgres` thread's runtime when the store is dropped.
    _stop: oneshot::Sender<()>,
    threads: Vec<String>,
}

/// A URL for messages: the password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl PgStore {
    /// Connects to `url`, applies the schema, and starts the `postgres`
    /// thread. The error names the database without its password.
    pub fn open(url: &str, options: &PgOptions) -> Result<Self, OpenError> {
        Self::start(url, options).map_err(|reason| OpenError {
            at: redact(url),
            reason,
        })
    }

    fn start(url: &str, options: &PgOptions) -> Result<Self, String> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        thread::Builder::new()
            .name("postgres".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(runtime.handle().clone()));
                let _ = runtime.block_on(stopped);
            })
            .map_err(|e| format!("starting thread postgres: {e}"))?;
        let runtime = handle_rx
            .recv()
            .map_err(|e| e.to_string())
            .and_then(|r| r)?;
        let listening = config.clone();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.wait))
            .create_timeout(Some(options.wait))
            .build()
            .map_err(|e| e.to_string())?;
        // Run on the store's thread and waited for here (also when the caller
        // is itself inside an async runtime, as startup is).
        let migrating = pool.clone();
        let (migrated_tx, migrated) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let done = match migrating.get().await {
                Ok(mut client) => schema::migrate(&mut client).await,
                Err(e) => Err(format!("connecting: {e}")),
            };
            let _ = migrated_tx.send(done);
        });
        migrated
            .recv()
            .map_err(|e| e.to_string())
            .and_then(|done| done)
            .map_err(|e| format!("{}: {e}", redact(url)))?;
        let wake = Arc::new(Wake::default());
        runtime.spawn(listen(listening, Arc::clone(&wake)));
        Ok(Self {
            pool,
            runtime,
            wake,
            _stop: stop,
            threads: vec!["postgres".into()],
        })
    }

    /// The threads this store started.
    pub fn threads(&self) -> &[String] {
        &self.threads
    }

    /// Runs `work` on the `postgres` thread with the pool.
    fn run<T, F, Fut>(&self, work: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: FnOnce(Pool, Arc<Wake>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (answer, future) = StoreFuture::channel();
        let (pool, wake) = (self.pool.clone(), Arc::clone(&self.wake));
        self.runtime.spawn(async move {
            let _ = answer.send(work(pool, wake).await);
        });
        future
    }
}

/// The channel of the wake-ups between nodes.
const DUE: &str = "whm_due";

/// Tells every node's engine, once the transaction commits, that
/// notifications may be due now.
async fn notify_due<C: deadpool_postgres::GenericClient>(tx: &C) -> Result<(), StoreError> {
    sql::exec(tx, "SELECT pg_notify($1, '')", &[&DUE])
        .await
        .map_err(classify)?;
    Ok(())
}

/// LISTENs for [`DUE`] on a connection of its own and wakes the engine at
/// each notification; reconnects (1 s, doubling to 30 s) when the connection
/// is lost, and wakes the engine once listening again, for what it missed.
async fn listen(config: tokio_postgres::Config, wake: Arc<Wake>) {
    let mut delay = Duration::from_secs(1);
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let heard = Arc::clone(&wake);
            let driver = tokio::spawn(async move {
                while let Some(Ok(message)) =
                    std::future::poll_fn(|cx| connection.poll_message(cx)).await
                {
                    if let tokio_postgres::AsyncMessage::Notification(_) = message {
                        heard.wake();
                    }
                }
            });
            if client.batch_execute(&format!("LISTEN {DUE}")).await.is_ok() {
                delay = Duration::from_secs(1);
                wake.wake();
                let _ = driver.await;
            }
            drop(client);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// A pooled connection, or `Unavailable` when none comes in time.
async fn connect(pool: &Pool) -> Result<deadpool_postgres::Client, StoreError> {
    pool.get()
        .await
        .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}").into()))
}

/// Runs `$body` in a transaction on a pooled connection and commits it.
macro_rules! transaction {
    ($pool:expr, |$tx:ident| $body:expr) => {{
        let mut client = connect(&$pool).await?;
        let $tx = client.transaction().await.map_err(classify)?;
        let answer = $body;
        $tx.commit().await.map_err(classify)?;
        Ok::<_, StoreError>(answer)
    }};
}

impl Repository for PgStore {
    fn create(&self, webhook: Webhook) -> StoreFuture<Webhook> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            webhooks::insert(&client, &webhook, &WebhookDocument::render(&webhook)).await?;
            Ok(webhook)
        })
    }

    fn get(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<Arc<Webhook>> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            webhooks::find(&client, id, scope.as_ref(), false)
                .await?
                .map(Arc::new)
                .ok_or(StoreError::NotFound)
        })
    }

    fn list(&self, pm: &PmCode) -> StoreFuture<Vec<Arc<Webhook>>> {
        let pm = pm.clone();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            Ok(webhooks::list(&client, &pm)
                .await?
                .into_iter()
                .map(Arc::new)
                .collect())
        })
    }

    fn active_for(
        &self,
        pm: &PmCode,
        product: Option<ProductId>,
    ) -> StoreFuture<Vec<Arc<Webhook>>> {
        let pm = pm.clone();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            Ok(webhooks::active_for(&client, &pm, product)
                .await?
                .into_iter()
                .map(Arc::new)
                .collect())
        })
    }

    /// The row's document as stored: several nodes share the database, so no
    /// node keeps documents of its own.
    fn document(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<WebhookDocument> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            webhooks::find_document(&client, id, scope.as_ref(), false)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    fn keys(&self, pm: &PmCode) -> StoreFuture<Vec<WebhookKeys>> {
        let pm = pm.clone();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            webhooks::keys(&client, &pm).await
        })
    }

    fn documents(&self, pm: &PmCode) -> StoreFuture<Vec<WebhookDocument>> {
        let pm = pm.clone();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            webhooks::documents(&client, &pm).await
        })
    }

    fn modify(
        &self,
        id: WebhookId,
        scope: Option<&PmCode>,
        change: Change,
    ) -> StoreFuture<Webhook> {
        let scope = scope.cloned();
        self.run(move |pool, wake| async move {
            let (webhook, woke): (Webhook, bool) = transaction!(pool, |tx| {
                let mut webhook = webhooks::find(&tx, id, scope.as_ref(), true)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let was = webhook.status;
                change(&mut webhook)?;
                webhooks::update(&tx, &webhook, &WebhookDocument::render(&webhook)).await?;
                // Set active again: its parked notifications are due now.
                let woke = was != WebhookStatus::Active && webhook.status == WebhookStatus::Active;
                if woke {
                    let mut flow = PgTx::new(&tx);
                    flows::activated(&mut flow, id, webhook.last_modified_time).await?;
                    notify_due(&tx).await?;
                }
                (webhook, woke)
            })?;
            if woke {
                wake.wake();
            }
            Ok(webhook)
        })
    }

    fn ready(&self) -> StoreFuture<()> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            client.simple_query("SELECT 1").await.map_err(classify)?;
            Ok(())
        })
    }

    fn remove(&self, id: WebhookId, scope: Option<&PmCode>) -> StoreFuture<u64> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            transaction!(pool, |tx| {
                let owner: Option<String> = sql::opt(
                    &tx,
                    "SELECT pm_code FROM webhooks WHERE id = $1 FOR UPDATE",
                    &[&id.to_string()],
                )
                .await
                .map_err(classify)?
                .map(|row| row.get(0));
                let mine = owner.is_some_and(|pm| scope.as_ref().is_none_or(|s| s.as_str() == pm));
                if !mine {
                    return Err(StoreError::NotFound);
                }
                let notifications = notifications::delete_of_webhook(&tx, id).await?;
                sql::exec(
                    &tx,
                    "DELETE FROM webhooks WHERE id = $1",
                    &[&id.to_string()],
                )
                .await
                .map_err(classify)?;
                notifications
            })
        })
    }

    fn reset(&self, scope: Option<&PmCode>) -> StoreFuture<Cleared> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            transaction!(pool, |tx| {
                match &scope {
                    None => {
                        let notifications = notifications::delete_all(&tx).await?;
                        let webhooks = sql::exec(&tx, "DELETE FROM webhooks", &[])
                            .await
                            .map_err(classify)?;
                        let inbox_requests = inboxes::clear_all(&tx).await?;
                        let configurations = configurations::delete(&tx, None).await?;
                        let fraud_alerts = fraud_alerts::delete(&tx, None).await?;
                        Cleared {
                            webhooks,
                            notifications,
                            inbox_requests,
                            configurations,
                            fraud_alerts,
                        }
                    }
                    Some(pm) => {
                        let notifications = notifications::delete_of(&tx, pm).await?;
                        let webhooks = sql::exec(
                            &tx,
                            "DELETE FROM webhooks WHERE pm_code = $1",
                            &[&pm.as_str()],
                        )
                        .await
                        .map_err(classify)?;
                        let configurations = configurations::delete(&tx, Some(pm)).await?;
                        let fraud_alerts = fraud_alerts::delete(&tx, Some(pm)).await?;
                        Cleared {
                            webhooks,
                            notifications,
                            inbox_requests: 0,
                            configurations,
                            fraud_alerts,
                        }
                    }
                }
            })
        })
    }
}

impl Inboxes for PgStore {
    fn capture(&self, name: String, request: Captured, limits: InboxLimits) -> StoreFuture<bool> {
        self.run(move |pool, _| async move {
            transaction!(pool, |tx| {
                inboxes::capture(&tx, &name, &request, limits).await?
            })
        })
    }

    fn inboxes(&self) -> StoreFuture<Vec<(String, usize)>> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            inboxes::names(&client).await
        })
    }

    fn captured(&self, name: String) -> StoreFuture<Vec<Captured>> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            inboxes::requests(&client, &name).await
        })
    }

    fn clear_inbox(&self, name: String) -> StoreFuture<usize> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            inboxes::clear(&client, &name).await
        })
    }
}

impl Configurations for PgStore {
    fn create_configuration(&self, created: Configuration) -> StoreFuture<Configuration> {
        self.run(move |pool, _| async move {
            transaction!(pool, |tx| {
                let held = configurations::count_of(&tx, &created.pm_code).await?;
                configuration::room(held)?;
                configurations::insert(&tx, &created).await?;
                created
            })
        })
    }

    fn configurations(&self, pm: &PmCode) -> StoreFuture<Vec<Configuration>> {
        let pm = pm.clone();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            configurations::of(&client, &pm).await
        })
    }

    fn configuration(&self, id: ConfigId, scope: Option<&PmCode>) -> StoreFuture<Configuration> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            configurations::find(&client, &id, scope.as_ref(), false).await
        })
    }

    fn modify_configuration(
        &self,
        id: ConfigId,
        scope: Option<&PmCode>,
        change: ConfigChange,
    ) -> StoreFuture<Configuration> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            transaction!(pool, |tx| {
                let mut changed = configurations::find(&tx, &id, scope.as_ref(), true).await?;
                change(&mut changed)?;
                configurations::update(&tx, &changed).await?;
                changed
            })
        })
    }
}

impl FraudAlerts for PgStore {
    fn raise_fraud_alert(&self, alert: FraudAlert) -> StoreFuture<bool> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            fraud_alerts::insert(&client, &alert).await
        })
    }

    fn modify_fraud_alert(
        &self,
        id: FraudAlertId,
        scope: Option<&PmCode>,
        change: AlertChange,
    ) -> StoreFuture<FraudAlert> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            transaction!(pool, |tx| {
                let mut changed = fraud_alerts::find_for_update(&tx, id, scope.as_ref()).await?;
                change(&mut changed)?;
                fraud_alerts::update(&tx, &changed).await?;
                changed
            })
        })
    }

    fn expire_fraud_alerts(&self, now: OffsetDateTime, limit: u32) -> StoreFuture<Vec<FraudAlert>> {
        self.run(move |pool, _| async move {
            transaction!(pool, |tx| {
                let mut due = fraud_alerts::due(&tx, now, limit).await?;
                for alert in &mut due {
                    alert.expire();
                    fraud_alerts::update(&tx, alert).await?;
                }
                due
            })
        })
    }

    fn next_fraud_expiry(&self) -> StoreFuture<Option<OffsetDateTime>> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            fraud_alerts::next_expiry(&client).await
        })
    }

    fn purge_fraud_alerts(&self, before: OffsetDateTime) -> StoreFuture<u64> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            fraud_alerts::purge(&client, before).await
        })
    }
}

/// Runs a flow of the delivery protocol (`store::flows`) in one
/// transaction on the `postgres` thread: `|flow| body` sees the transaction's
/// primitives as `flow`; when the flow asks to wake the engines, every node is
/// notified at the commit and this node's engine after it.
macro_rules! flow {
    ($store:expr, |$flow:ident| $body:expr) => {
        $store.run(move |pool, wake| async move {
            let (answer, woke) = transaction!(pool, |tx| {
                let mut primitives = PgTx::new(&tx);
                let $flow = &mut primitives;
                let answer = $body.await?;
                let woke = primitives.wake;
                if woke {
                    notify_due(&tx).await?;
                }
                (answer, woke)
            })?;
            if woke {
                wake.wake();
            }
            Ok(answer)
        })
    };
}

impl Outbox for PgStore {
    fn waker(&self) -> Arc<Notify> {
        self.wake.waker()
    }

    fn claim_due(
        &self,
        engine: &str,
        now: OffsetDateTime,
        lease: time::Duration,
        limits: ClaimLimits,
    ) -> StoreFuture<Claims> {
        let engine = engine.to_owned();
        flow!(self, |tx| flows::claim_due(tx, &engine, now, lease, limits))
    }

    fn queue_health(&self, webhook: WebhookId) -> StoreFuture<QueueHealth> {
        flow!(self, |tx| flows::queue_health(tx, webhook))
    }

    fn park(&self, id: NotificationId, token: ClaimToken) -> StoreFuture<()> {
        flow!(self, |tx| flows::park(tx, id, &token))
    }

    fn backlog(&self) -> StoreFuture<Backlog> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            let (pending, oldest_due, backing_off) = notifications::summary(&client).await?;
            Ok(Backlog {
                pending,
                oldest_due,
                backing_off,
                dead_tuples: Some(queues::dead_tuples(&client).await?),
            })
        })
    }

    fn enqueue(&self, batch: Vec<Notification>) -> StoreFuture<()> {
        flow!(self, |tx| flows::enqueue(tx, &batch))
    }

    fn record_attempt(
        &self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
    ) -> StoreFuture<Recorded> {
        let token = token.clone();
        flow!(self, |tx| flows::record(
            tx, id, &token, &attempt, outcome, rules
        ))
    }

    /// Records only: the slot's next notification is claimed by the engine's
    /// loop. A claim locks its webhook's queue row, and sixteen slots of one
    /// node each taking it after every attempt kept the other nodes from that
    /// webhook altogether (10,000 events on two nodes: all delivered by one).
    fn record_and_claim(
        &self,
        id: NotificationId,
        token: &ClaimToken,
        attempt: Attempt,
        outcome: AttemptOutcome,
        rules: RecordRules,
        _next: ClaimRequest,
    ) -> StoreFuture<(Recorded, Claims)> {
        let token = token.clone();
        flow!(self, |tx| async {
            let recorded = flows::record(tx, id, &token, &attempt, outcome, rules).await?;
            Ok::<_, StoreError>((recorded, Claims::default()))
        })
    }

    fn log(&self, filter: LogFilter, scan: LogScan) -> StoreFuture<LogPage> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            notifications::recent(&client, &filter, scan).await
        })
    }

    fn pending(&self) -> StoreFuture<Vec<Notification>> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            notifications::pending(&client).await
        })
    }

    fn by_event(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        code: EventCode,
        since: OffsetDateTime,
        count: u32,
    ) -> StoreFuture<Vec<Notification>> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            webhooks::find(&client, webhook, scope.as_ref(), false)
                .await?
                .ok_or(StoreError::NotFound)?;
            notifications::by_event(&client, webhook, code, since, count).await
        })
    }

    fn details(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
    ) -> StoreFuture<Vec<(Notification, Vec<Attempt>)>> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            webhooks::find(&client, webhook, scope.as_ref(), false)
                .await?
                .ok_or(StoreError::NotFound)?;
            notifications::details(&client, webhook, &ids).await
        })
    }

    fn undelivered(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
    ) -> StoreFuture<Vec<(EventCode, NotificationId)>> {
        let scope = scope.cloned();
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            webhooks::find(&client, webhook, scope.as_ref(), false)
                .await?
                .ok_or(StoreError::NotFound)?;
            notifications::undelivered(&client, webhook).await
        })
    }

    fn purge(&self, before: OffsetDateTime, limit: u32) -> StoreFuture<u64> {
        self.run(move |pool, _| async move {
            let client = connect(&pool).await?;
            notifications::purge(&client, before, limit).await
        })
    }

    fn deliver_now(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        id: NotificationId,
        now: OffsetDateTime,
    ) -> StoreFuture<Notification> {
        let scope = scope.cloned();
        flow!(self, |tx| flows::deliver_now(
            tx,
            webhook,
            scope.as_ref(),
            id,
            now
        ))
    }

    fn resend(
        &self,
        webhook: WebhookId,
        scope: Option<&PmCode>,
        ids: Vec<NotificationId>,
        now: OffsetDateTime,
    ) -> StoreFuture<Vec<(NotificationId, Resend)>> {
        let scope = scope.cloned();
        flow!(self, |tx| flows::resend(
            tx,
            webhook,
            scope.as_ref(),
            ids,
            now
        ))
    }
}
