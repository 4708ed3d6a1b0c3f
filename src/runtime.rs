//! The configuration, parsed once into the objects the service runs with. Both
//! `serve` and `check-config` build a [`Runtime`], so whatever `check-config`
//! accepts, the service starts with, and nothing is parsed twice.

use std::sync::{Arc, RwLock};

use crate::auth::Auth;
use crate::config::{ConfigError, DeliverySettings, Settings};
use crate::domain::{BlockedNetworks, MovableClock, UrlRules};
use crate::seed::Seeds;
use crate::signing::Signer;
use crate::store::GivingUp;

/// Settings, validated and turned into ready objects.
pub struct Runtime {
    pub settings: Settings,
    pub auth: Auth,
    pub rules: UrlRules,
    pub seeds: Seeds,
    /// The `[delivery]` settings in effect, and their signer.
    pub delivery: Arc<LiveSettings>,
    /// The one clock every part reads: the wall clock, unless the sandbox's
    /// clock call moves it ahead.
    pub clock: Arc<MovableClock>,
}

impl Runtime {
    /// Every error names the key at fault.
    pub fn from_settings(settings: Settings) -> Result<Self, ConfigError> {
        settings.validate()?;
        let blocked = BlockedNetworks::parse(&settings.security.blocked_networks)
            .map_err(|(i, why)| ConfigError::new(format!("security.blocked_networks[{i}]"), why))?;
        let rules = UrlRules {
            allow_http: settings.security.allow_http,
            blocked,
        };
        let clock = Arc::new(MovableClock::default());
        let auth = Auth::from_settings(&settings.auth, settings.sandbox.enabled, clock.clone())?;
        let seeds = Seeds::parse(&settings.seed.webhooks, &rules)?;
        let delivery = Arc::new(LiveSettings::new(Delivery::ready(
            settings.delivery.clone(),
        )?));
        Ok(Self {
            settings,
            auth,
            rules,
            seeds,
            delivery,
            clock,
        })
    }
}

/// `[delivery]` settings, validated, with the signer their secret makes.
#[derive(Clone)]
pub struct Delivery {
    pub settings: DeliverySettings,
    pub signer: Option<Signer>,
    /// When a notification waiting in a backed-off queue gives up.
    pub giving_up: GivingUp,
}

impl Delivery {
    /// Every error names its key, as the configuration file's do.
    pub fn ready(settings: DeliverySettings) -> Result<Self, ConfigError> {
        settings.validate()?;
        let signer = settings
            .signing_secret
            .as_deref()
            .map(Signer::from_secret)
            .transpose()
            .map_err(|why| ConfigError::new("delivery.signing_secret", why))?;
        let giving_up = GivingUp {
            rule: settings.give_up(),
            recent: settings.suspend_after,
        };
        Ok(Self {
            settings,
            signer,
            giving_up,
        })
    }
}

/// The `[delivery]` settings in effect: the configured ones, unless the
/// sandbox's settings call changed them (in effect from the next attempt);
/// a reset restores the configured ones. Each reader takes the whole set at
/// once, so an attempt never mixes old and new values.
pub struct LiveSettings {
    configured: Arc<Delivery>,
    current: RwLock<Arc<Delivery>>,
}

impl LiveSettings {
    pub fn new(configured: Delivery) -> Self {
        let configured = Arc::new(configured);
        Self {
            current: RwLock::new(Arc::clone(&configured)),
            configured,
        }
    }

    /// The settings in effect now.
    pub fn now(&self) -> Arc<Delivery> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub fn set(&self, delivery: Delivery) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(delivery);
    }

    /// The settings the configuration file gave.
    pub fn configured(&self) -> Arc<Delivery> {
        Arc::clone(&self.configured)
    }

    /// Back to the configured settings.
    pub fn restore(&self) {
        self.set((*self.configured).clone());
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::{ClientSettings, TokenSettings};

    #[test]
    fn the_defaults_make_a_runtime() {
        assert!(Runtime::from_settings(Settings::default()).is_ok());
    }

    #[test]
    fn validation_names_the_key() {
        type Breaks = fn(&mut Settings);
        let cases: [(&str, Breaks); 31] = [
            ("delivery.timeout_ms", |s| s.delivery.timeout_ms = 0),
            ("delivery.retry_schedule_ms", |s| {
                s.delivery.retry_schedule_ms = vec![u64::MAX]
            }),
            ("delivery.suspend_after", |s| s.delivery.suspend_after = 0),
            ("delivery.concurrency", |s| s.delivery.concurrency = 0),
            ("delivery.signing_secret", |s| {
                s.delivery.signing_secret = Some("secret".into())
            }),
            ("delivery.signing_secret", |s| {
                s.delivery.signing_secret = Some("whsec_not base64!".into())
            }),
            ("delivery.signing_secret", |s| {
                s.delivery.signing_secret = Some("whsec_".into())
            }),
            ("database.read_connections", |s| {
                s.database.read_connections = 0
            }),
            ("database.max_batch", |s| s.database.max_batch = 0),
            ("database.queue_capacity", |s| s.database.queue_capacity = 0),
            ("server.host", |s| s.server.host = " ".into()),
            ("server.workers", |s| s.server.workers = 1000),
            ("security.blocked_networks[0]", |s| {
                s.security.blocked_networks = vec!["10.0.0.0/99".into()]
            }),
            ("auth.tokens", |s| {
                s.auth.enabled = true;
                s.sandbox.enabled = false;
            }),
            ("auth.sandbox_client", |s| {
                s.auth.sandbox_client = "x".into()
            }),
            ("auth.signing_key", |s| {
                s.auth.signing_key = Some("short".into())
            }),
            ("auth.issuer", |s| s.auth.issuer = " ".into()),
            ("auth.token_lifetime_s", |s| s.auth.token_lifetime_s = 0),
            ("auth.clients[0].client_secret", |s| {
                s.auth.clients = vec![ClientSettings {
                    client_id: "a".into(),
                    client_secret: Some("short".into()),
                    client_secret_sha256: None,
                    program_manager_code: "TRD".into(),
                }]
            }),
            ("auth.tokens[0].program_manager_code", |s| {
                s.auth.tokens = vec![TokenSettings {
                    program_manager_code: "TOOLONG".into(),
                    token: Some("a-token-of-enough-length".into()),
                    token_sha256: None,
                }]
            }),
            ("auth.tokens[0]", |s| {
                s.auth.tokens = vec![TokenSettings {
                    program_manager_code: "TRD".into(),
                    token: None,
                    token_sha256: None,
                }]
            }),
            ("auth.tokens[0].token", |s| {
                s.auth.tokens = vec![TokenSettings {
                    program_manager_code: "TRD".into(),
                    token: Some("short".into()),
                    token_sha256: None,
                }]
            }),
            ("auth.tokens[0].token_sha256", |s| {
                s.auth.tokens = vec![TokenSettings {
                    program_manager_code: "TRD".into(),
                    token: None,
                    token_sha256: Some("abc".into()),
                }]
            }),
            ("server.shutdown_timeout_ms", |s| {
                s.server.shutdown_timeout_ms = 700_000
            }),
            ("database.path", |s| s.database.path = PathBuf::new()),
            ("heartbeat.timeout_ms", |s| s.heartbeat.timeout_ms = 0),
            ("heartbeat.connect_timeout_ms", |s| {
                s.heartbeat.connect_timeout_ms = 0
            }),
            ("limits.max_body_bytes", |s| s.limits.max_body_bytes = 10),
            ("retention.days", |s| s.retention.days = 0),
            ("retention.interval_ms", |s| s.retention.interval_ms = 10),
            ("retention.batch", |s| s.retention.batch = 0),
        ];
        for (key, breaks) in cases {
            let mut settings = Settings::default();
            breaks(&mut settings);
            let error = Runtime::from_settings(settings).err().expect(key);
            assert_eq!(error.key, key, "{error}");
            assert!(
                error.to_string().contains(key),
                "the message names the key: {error}"
            );
        }
    }
}
