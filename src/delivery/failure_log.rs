//! What the log says while a receiver fails: a line per webhook at most once a
//! minute instead of one per failed attempt, and a line when a queue starts or
//! ends a backoff.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use crate::domain::time::rfc3339_seconds;
use crate::domain::{AttemptOutcome, Notification, WebhookId};
use crate::store::Recorded;

/// How often, at most, the failures of one webhook are summarised in the log.
const FAILURE_SUMMARY_INTERVAL: time::Duration = time::Duration::seconds(60);

/// Keeps the log quiet while a receiver fails: instead of a line per failed
/// attempt, one line per webhook at most every [`FAILURE_SUMMARY_INTERVAL`],
/// with the count and the last error. Holds one entry per failing webhook; a
/// delivery forgets the webhook's entry.
#[derive(Debug, Default)]
pub(super) struct FailureLog {
    failing: HashMap<WebhookId, Failures>,
    /// Webhooks whose queue this engine saw start a backoff that has not ended.
    backed_off: HashSet<WebhookId>,
}

#[derive(Debug)]
struct Failures {
    since: OffsetDateTime,
    count: u64,
    last: String,
}

impl FailureLog {
    /// Counts one failed attempt; answers the summary line when one is due:
    /// at the first failure, and then once an interval has passed.
    pub(super) fn failed(
        &mut self,
        webhook: WebhookId,
        error: &str,
        now: OffsetDateTime,
    ) -> Option<String> {
        let entry = self.failing.entry(webhook).or_insert_with(|| Failures {
            since: now - FAILURE_SUMMARY_INTERVAL,
            count: 0,
            last: String::new(),
        });
        entry.count += 1;
        error.clone_into(&mut entry.last);
        if now - entry.since < FAILURE_SUMMARY_INTERVAL {
            return None;
        }
        let line = format!(
            "webhook {webhook}: {} failed attempts since {} (last: {})",
            entry.count,
            rfc3339_seconds(entry.since.max(now - FAILURE_SUMMARY_INTERVAL)),
            entry.last
        );
        entry.since = now;
        entry.count = 0;
        Some(line)
    }

    pub(super) fn delivered(&mut self, webhook: WebhookId) {
        self.failing.remove(&webhook);
    }
}

impl FailureLog {
    /// What the log says of an attempt: every attempt at debug level; a line
    /// per notification that ends undelivered or is delivered after retries;
    /// and a failing webhook's attempts summarised (see [`FailureLog`]).
    pub(super) fn attempt(
        &mut self,
        n: &Notification,
        error: Option<&str>,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
    ) {
        let number = n.attempts + 1;
        let error = error.unwrap_or("");
        log::debug!(
            "notification {} attempt {number} to webhook {}: {outcome:?} {error}",
            n.id,
            n.webhook_id
        );
        match outcome {
            AttemptOutcome::Delivered => {
                self.delivered(n.webhook_id);
                if number > 1 {
                    log::info!("notification {} delivered after {number} attempts", n.id);
                }
            }
            AttemptOutcome::RetryAt(_) | AttemptOutcome::Undelivered | AttemptOutcome::Gone => {
                if let Some(line) = self.failed(n.webhook_id, error, now) {
                    log::warn!("{line}");
                }
                if !matches!(outcome, AttemptOutcome::RetryAt(_)) {
                    log::info!(
                        "notification {} undelivered after {number} attempts (last: {error})",
                        n.id
                    );
                }
            }
        }
    }

    /// What the log says of a queue's health: a line when it starts to back
    /// off, and one when a delivery ends a backoff. (A failed probe is one more
    /// failed attempt, summarised with the others.)
    pub(super) fn queue(&mut self, recorded: &Recorded, outcome: AttemptOutcome) {
        let webhook = recorded.webhook_id;
        match (recorded.queue.backoff, outcome) {
            (None, AttemptOutcome::Delivered) if self.backed_off.remove(&webhook) => {
                log::info!(
                    "webhook {webhook}: a probe was delivered; the backoff ends and its waiting notifications follow"
                );
            }
            (Some(b), _) if self.backed_off.insert(webhook) => log::warn!(
                "webhook {webhook}: {} failed attempts in a row; its notifications wait while one probe at a time tests the receiver (next after {})",
                recorded.queue.failures,
                rfc3339_seconds(b.until)
            ),
            _ => {}
        }
    }
}
