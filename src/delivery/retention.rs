//! Retention: final notifications (`Delivered`, `Undelivered`) and their
//! attempts are kept `retention.days` after their last attempt, then purged in
//! the background, a small batch per write so that the writer is held only
//! briefly. Pending notifications are never purged.

use std::sync::Arc;
use std::thread;

use crate::config::RetentionSettings;
use crate::domain::Clock;
use crate::store::{Store, StoreError};

pub struct Retention {
    pub settings: RetentionSettings,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Retention {
    /// Starts the purge on a thread named `retention`; answers its name.
    pub fn start(self: Arc<Self>) -> std::io::Result<&'static str> {
        const NAME: &str = "retention";
        thread::Builder::new()
            .name(NAME.into())
            .spawn(move || loop {
                thread::sleep(self.settings.interval());
                match self.purge() {
                    Ok(0) => {}
                    Ok(deleted) => log::info!(
                        "retention: {deleted} final notifications older than {} days deleted",
                        self.settings.days
                    ),
                    Err(e) => log::warn!("retention: purge failed (the next one retries): {e}"),
                }
            })?;
        Ok(NAME)
    }

    /// One purge: batch after batch until fewer than a batch are old; answers
    /// how many notifications were deleted. Blocks the calling thread.
    pub fn purge(&self) -> Result<u64, StoreError> {
        let before = self.clock.now() - self.settings.max_age();
        // Fraud alerts closed as long ago go too: few, in one write.
        self.store.purge_fraud_alerts(before).wait()?;
        let mut deleted = 0;
        loop {
            let batch = self.store.purge(before, self.settings.batch).wait()?;
            deleted += batch;
            if batch < u64::from(self.settings.batch) {
                return Ok(deleted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::domain::{
        Attempt, AttemptOutcome, CustomHeaders, EventCode, EventSet, Notification, NotificationId,
        PmCode, TestClock, Webhook, WebhookConfig, WebhookId, WebhookSpec, WebhookUrl,
    };
    use crate::store::{ClaimLimits, MemoryStore, Outbox, RecordRules, Repository};

    const T0: OffsetDateTime = datetime!(2024-01-01 00:00 UTC);

    /// Ten final notifications, one a day, and one pending since the first
    /// day; 7 days kept, on day 10, a batch of 2: one purge takes the three
    /// older final ones in two writes and leaves the pending one.
    #[test]
    fn a_purge_takes_every_old_final_notification_in_batches() {
        let store = Arc::new(MemoryStore::new());
        let spec = WebhookSpec {
            product_id: None,
            events: EventSet::default(),
            status: None,
            config: WebhookConfig {
                url: WebhookUrl::parse("https://a.example/", false).expect("url"),
                custom_headers: CustomHeaders::default(),
            },
        };
        let pm = PmCode::parse("TRD").expect("pm");
        let webhook = Webhook::create(WebhookId::generate(), pm.clone(), spec, T0);
        let webhook = store.create(webhook).wait().expect("create").id;
        let code = EventCode::from_number(101, "eventCode").expect("code");
        let made: Vec<Notification> = (0..11)
            .map(|_| {
                let id = NotificationId::generate();
                Notification::new(webhook, pm.clone(), code, id, "{}".into(), T0)
            })
            .collect();
        store.enqueue(made.clone()).wait().expect("enqueue");
        for (day, n) in made.iter().enumerate() {
            let attempt = Attempt {
                time: T0 + Duration::days(day as i64 % 10),
                http_status: Some(200),
                error: None,
                latency_ms: 1,
                request_headers: BTreeMap::new(),
                reply: None,
            };
            let outcome = match day {
                10 => AttemptOutcome::RetryAt(T0 + Duration::days(20)),
                _ => AttemptOutcome::Delivered,
            };
            let claimed = store
                .claim_due(
                    "test",
                    T0 + Duration::days(30),
                    Duration::minutes(1),
                    ClaimLimits::upto(1),
                )
                .wait()
                .expect("claim")
                .claimed;
            let backoff = crate::config::DeliverySettings::default().backoff();
            store
                .record_attempt(
                    n.id,
                    &claimed[0].token,
                    attempt,
                    outcome,
                    RecordRules { recent: 5, backoff },
                )
                .wait()
                .expect("record");
        }
        // Day 10 is "now": days 0, 1 and 2 are more than 7 days old.
        let retention = Retention {
            settings: RetentionSettings {
                days: 7,
                interval_ms: 60_000,
                batch: 2,
            },
            store: store.clone(),
            clock: Arc::new(TestClock::at(T0 + Duration::days(10))),
        };
        assert_eq!(retention.purge().expect("purge"), 3);
        assert_eq!(retention.purge().expect("purge"), 0, "nothing more is old");
        let left: Vec<NotificationId> = store
            .details(webhook, None, made.iter().map(|n| n.id).collect())
            .wait()
            .expect("details")
            .into_iter()
            .map(|(n, _)| n.id)
            .collect();
        assert_eq!(
            left,
            made[3..].iter().map(|n| n.id).collect::<Vec<_>>(),
            "days 3 to 9 and the pending one are kept"
        );
    }
}
