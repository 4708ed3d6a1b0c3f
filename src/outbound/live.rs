//! The `[delivery]` settings in effect, which every outbound call reads when it
//! starts (deliveries and heartbeats alike): the configured ones, or what the
//! sandbox's settings call put in their place.

use std::sync::{Arc, RwLock};

use super::signing::Signer;
use crate::config::{ConfigError, DeliverySettings};
use crate::store::GivingUp;

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
