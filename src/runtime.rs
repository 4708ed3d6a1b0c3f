//! The configuration, parsed once into the objects the service runs with. Both
//! `serve` and `check-config` build a [`Runtime`], so whatever `check-config`
//! accepts, the service starts with, and nothing is parsed twice.

use std::sync::Arc;

use crate::auth::Auth;
use crate::config::{ConfigError, Settings};
use crate::domain::{BlockedNetworks, MovableClock, UrlRules};
use crate::outbound::live::{Delivery, LiveSettings};
use crate::seed::Seeds;

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
            ("database.sqlite.read_connections", |s| {
                s.database.sqlite.read_connections = 0
            }),
            ("database.sqlite.max_batch", |s| {
                s.database.sqlite.max_batch = 0
            }),
            ("database.sqlite.queue_capacity", |s| {
                s.database.sqlite.queue_capacity = 0
            }),
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
            ("database.sqlite.path", |s| {
                s.database.sqlite.path = PathBuf::new()
            }),
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
