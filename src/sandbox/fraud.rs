//! The fraud alerts' expiry: an alert left unanswered past
//! `sandbox.fraud_alert_expiry_ms` (by the service's clock) expires, and a
//! 102 `Timeout` follows to the program manager's webhooks. A thread named
//! `fraud-alerts` watches for the soonest expiry; moving the sandbox's clock
//! runs [`expire_due`] at once.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::send::send;
use super::Fixture;
use crate::domain::Clock;
use crate::store::{Store, StoreError};

/// Alerts expired per write.
const BATCH: u32 = 100;
/// The longest the watch sleeps without looking: alerts another node raised,
/// and a clock moved without a jump's own pass, are seen within it.
const LOOK_AGAIN: Duration = Duration::from_secs(5);

/// Expires the alerts due by the clock now, each once, and sends each one's
/// 102 `Timeout`; answers how many expired.
pub async fn expire_due(
    store: &dyn Store,
    fixture: &Fixture,
    clock: &dyn Clock,
) -> Result<usize, StoreError> {
    let mut expired = 0;
    loop {
        let now = clock.now();
        let batch = store.expire_fraud_alerts(now, BATCH).await?;
        for alert in &batch {
            if let Some(timeout) = alert.follow_up() {
                let sent = send(store, fixture, &timeout, clock.now_seconds()).await?;
                log::info!(
                    "fraud alert {} of program manager {} expired unanswered: 102 Timeout sent as event {} ({} notifications)",
                    alert.id,
                    alert.pm_code,
                    sent.record.id,
                    sent.record.notifications.len()
                );
            }
        }
        expired += batch.len();
        if batch.len() < BATCH as usize {
            return Ok(expired);
        }
    }
}

/// The watch: expires what is due, then sleeps until the soonest open
/// alert's expiry (at most [`LOOK_AGAIN`]), or until an alert is raised.
pub struct Watch {
    pub store: Arc<dyn Store>,
    pub fixture: Arc<Fixture>,
    pub clock: Arc<dyn Clock>,
}

impl Watch {
    /// Starts the watch on a thread named `fraud-alerts`; answers its name.
    pub fn start(self) -> std::io::Result<&'static str> {
        const NAME: &str = "fraud-alerts";
        thread::Builder::new().name(NAME.into()).spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(self.run());
        })?;
        Ok(NAME)
    }

    async fn run(self) {
        loop {
            if let Err(e) = expire_due(&*self.store, &self.fixture, &*self.clock).await {
                log::warn!("fraud alerts: expiry failed (the next look retries): {e}");
            }
            let wait = match self.store.next_fraud_expiry().await {
                Ok(Some(next)) => {
                    let left = next - self.clock.now();
                    Duration::try_from(left)
                        .unwrap_or(Duration::ZERO)
                        .min(LOOK_AGAIN)
                }
                Ok(None) | Err(_) => LOOK_AGAIN,
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.fixture.alert_raised.notified() => {}
            }
        }
    }
}
