//! Sending an event: the one path by which a trigger, and the 102 that
//! follows a fraud alert's answer or expiry, reach the program manager's
//! webhooks. The fan-out is decided by the domain (`Event::fan_out`, and
//! `FanOut::confirmed` for a 112), a webhook's reorder holds what it
//! reorders (`domain::chaos`), a 101's fraud alert is raised, the event
//! is kept in the journal, and its notifications are stored (and so handed
//! to the delivery engine).

use std::sync::Arc;

use time::OffsetDateTime;

use super::journal::EventRecord;
use super::Fixture;
use crate::domain::{Event, FraudAlert};
use crate::store::{Store, StoreError};

/// What a send did.
#[derive(Debug)]
pub struct Sent {
    /// The event as the journal keeps it: its notifications and skipped webhooks.
    pub record: Arc<EventRecord>,
    /// How many webhooks its program manager has.
    pub webhooks: usize,
}

/// Sends `event` at `now` (see the module's doc). A fraud alert is raised
/// before the notifications are stored, so that an answer that follows at
/// once finds it.
pub async fn send(
    store: &dyn Store,
    fixture: &Fixture,
    event: &Event,
    now: OffsetDateTime,
) -> Result<Sent, StoreError> {
    // The candidates are read whole; the program manager's other webhooks
    // only by their keys, however many it has.
    let keys = store.keys(&event.pm).await?;
    let candidates = store.active_for(&event.pm, event.product).await?;
    let mut fan = event.fan_out(&keys, candidates.iter().map(|w| &**w), now);
    if event.needs_configuration() && !fan.notifications.is_empty() {
        fan = fan.confirmed(event, &store.configurations(&event.pm).await?);
    }
    // A webhook that reorders (`domain::chaos`) holds the notification.
    for n in &mut fan.notifications {
        if let Some(due) = fixture.hold(n.webhook_id, n.event_code, now) {
            n.next_attempt = Some(due);
        }
    }
    let carried = fan.notifications.iter().map(|n| n.id).collect();
    if let Some(alert) =
        FraudAlert::raised_by(event, &fan.payload, carried, fixture.fraud_expiry(), now)
    {
        if store.raise_fraud_alert(alert).await? {
            fixture.alert_raised.notify_one();
        }
    }
    // Kept before the notifications are stored, so that an attempt that
    // follows at once finds its event; forgotten again if they are not.
    let (record, notifications) = fixture.journal.event(event, fan, now);
    if !notifications.is_empty() {
        if let Err(e) = store.enqueue(notifications).await {
            fixture.journal.forget_event(record.id);
            return Err(e);
        }
    }
    Ok(Sent {
        record,
        webhooks: keys.len(),
    })
}
