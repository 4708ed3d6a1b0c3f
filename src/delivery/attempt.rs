//! One attempt of a claimed notification, as typed stages (the way svix's
//! worker goes prepare -> call -> handle the outcome): `prepare` reads and
//! checks what the attempt needs, `call` sends the request and reads the
//! answer, `record` decides the outcome, journals it, stores it under the
//! claim with the slot's next claim, and applies what follows from it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use awc::http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use time::OffsetDateTime;

use crate::config::DeliverySettings;
use crate::delivery::activity::Landed;
use crate::domain::notification::MASKED;
use crate::domain::ClaimToken;
use crate::domain::{
    suspends, Attempt, AttemptOutcome, Notification, NotificationStatus, ReceiverReply, Webhook,
    WebhookStatus,
};
use crate::metrics::METRICS;
use crate::outbound::live::Delivery;
use crate::sandbox::barrier::Pass;
use crate::sandbox::{self};
use crate::store::{ClaimLimits, ClaimRequest, Claimed, RecordRules, StoreError};

use super::engine::{lease, Worker};

/// The most of a receiver's answer read; the attempt keeps its first 4 KiB.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

impl Worker {
    /// One attempt of a claimed notification: sends, records the outcome under
    /// the claim and claims the next due notification in the same write, and
    /// suspends the webhook when the outcome calls for it. When something fails
    /// before the outcome is recorded, the claim simply lapses and the
    /// notification is claimed again later. With the sandbox on, the attempt
    /// passes the reset's barrier first (`since`: the generation read before
    /// the claim); a reset refuses or cancels it, and it records nothing.
    /// Answers the next claim, if any, with the generation read before it.
    pub(super) async fn attempt(&self, claimed: Claimed, since: u64) -> Option<(Claimed, u64)> {
        let prepared = self.prepare(claimed, since).await?;
        let called = self.call(prepared).await?;
        self.record(called).await
    }

    /// Stage 1: the webhook read and still active (else the notification is
    /// parked), and the reset's barrier passed.
    async fn prepare(&self, claimed: Claimed, since: u64) -> Option<Prepared> {
        let Claimed {
            notification: n,
            token,
            ..
        } = claimed;
        let engine = &self.engine;
        let live = engine.settings.now();
        let webhook = match engine.store.get(n.webhook_id, None).await {
            Ok(webhook) => webhook,
            Err(e) => {
                log::warn!("notification {}: reading its webhook: {e}", n.id);
                return None;
            }
        };
        if webhook.status != WebhookStatus::Active {
            // It turned inactive since the claim: wait for it to be set active.
            if let Err(e) = engine.store.park(n.id, token).await {
                log::debug!("notification {}: parking it: {e}", n.id);
            }
            return None;
        }
        let pass = match &engine.fixture {
            Some(fixture) => match fixture.barrier.enter(&n.pm_code, since) {
                Some(pass) => Some(pass),
                None => {
                    log::debug!("notification {}: not sent: a reset came first", n.id);
                    return None;
                }
            },
            None => None,
        };
        Some(Prepared {
            n,
            token,
            webhook,
            live,
            pass,
        })
    }

    /// Stage 2: the request sent and the answer read, unless a reset cancels it.
    async fn call(&self, prepared: Prepared) -> Option<Called> {
        let Prepared {
            n,
            webhook,
            live,
            pass,
            ..
        } = &prepared;
        let time = self.engine.clock.now();
        let started = Instant::now();
        let sent = match pass {
            Some(pass) => tokio::select! {
                sent = self.send(live, webhook, n) => sent,
                () = pass.cancelled() => {
                    log::debug!("notification {}: attempt cancelled by a reset", n.id);
                    return None;
                }
            },
            None => self.send(live, webhook, n).await,
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Some(Called {
            prepared,
            time,
            sent,
            latency_ms,
        })
    }

    /// Stage 3: the outcome decided, journalled, recorded under the claim with
    /// the slot's next claim, and what follows from it (a duplicate on
    /// request, the activity strip, the log, suspension).
    async fn record(&self, called: Called) -> Option<(Claimed, u64)> {
        let Called {
            prepared:
                Prepared {
                    n,
                    token,
                    webhook,
                    live,
                    pass,
                },
            time,
            sent,
            latency_ms,
        } = called;
        let engine = &self.engine;
        let outcome = match sent.http_status {
            Some(200..=299) => AttemptOutcome::Delivered,
            Some(410) => AttemptOutcome::Gone,
            _ => next_try(
                &live.settings,
                engine.clock.now(),
                n.failures_this_cycle() + 1,
                sent.retry_after,
            ),
        };
        METRICS.delivery(match outcome {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::RetryAt(_) => "retry",
            AttemptOutcome::Undelivered => "undelivered",
            AttemptOutcome::Gone => "gone",
        });
        self.failures
            .borrow_mut()
            .attempt(&n, sent.error.as_deref(), outcome, engine.clock.now());
        let journalled = engine.fixture.as_ref().map(|_| sandbox::Delivery {
            seq: 0,
            pm: n.pm_code.clone(),
            notification_id: n.id,
            event_id: None,
            event_code: n.event_code,
            webhook_id: n.webhook_id,
            url: webhook.config.url.to_string(),
            attempt: n.attempts + 1,
            time,
            request_headers: sent.request_headers.clone(),
            body: n.body.clone(),
            outcome: match outcome {
                AttemptOutcome::Delivered => sandbox::Outcome::Delivered,
                _ => sandbox::Outcome::Failed,
            },
            http_status: sent.http_status,
            error: sent.error.clone(),
            latency_ms,
            notification_status: match outcome {
                AttemptOutcome::Delivered => NotificationStatus::Delivered,
                AttemptOutcome::RetryAt(_) => NotificationStatus::Pending,
                AttemptOutcome::Undelivered | AttemptOutcome::Gone => {
                    NotificationStatus::Undelivered
                }
            },
        });
        let record = Attempt {
            time,
            http_status: sent.http_status,
            error: sent.error,
            latency_ms,
            request_headers: sent.request_headers,
            reply: sent.reply,
        };
        let rules = RecordRules {
            recent: live.settings.suspend_after,
            backoff: live.settings.backoff(),
        };
        let next = ClaimRequest {
            engine: self.instance.clone(),
            now: engine.clock.now(),
            lease: lease(&live.settings),
            limits: ClaimLimits {
                total: 1,
                per_webhook: live.settings.per_webhook_concurrency,
                give_up: Some(live.giving_up.clone()),
            },
        };
        let next_since = self.generation();
        let recorded = engine
            .store
            .record_and_claim(n.id, &token, record, outcome, rules, next)
            .await;
        match recorded {
            Ok((recorded, mut claims)) => {
                // Journalled before the pass is given back: a reset that
                // follows clears it with the rest.
                if let (Some(fixture), Some(journalled)) = (&engine.fixture, journalled) {
                    let again = (outcome == AttemptOutcome::Delivered
                        && fixture.chaos(n.webhook_id).is_some_and(|c| c.duplicates))
                    .then(|| journalled.clone());
                    fixture.journal.attempted(journalled);
                    if let Some(first) = again {
                        self.duplicate(&live, &webhook, &n, first).await;
                    }
                }
                drop(pass);
                // Counted once recorded, so the strip never runs ahead of the log.
                engine.stats.activity.record(
                    time,
                    match outcome {
                        AttemptOutcome::Delivered => Landed::Delivered,
                        AttemptOutcome::RetryAt(_) => Landed::Failed,
                        AttemptOutcome::Undelivered | AttemptOutcome::Gone => Landed::Undelivered,
                    },
                    latency_ms,
                );
                self.failures.borrow_mut().queue(&recorded, outcome);
                let now = engine.clock.now();
                if suspends(outcome, &recorded.recent_final, rules.recent)
                    || recorded.queue.suspends(&rules.backoff, now)
                {
                    let why = format!("after notification {} ({outcome:?})", n.id);
                    self.suspend(recorded.webhook_id, &why).await;
                }
                for gave_up in &claims.gave_up {
                    self.gave_up(gave_up).await;
                }
                claims.claimed.pop().map(|claim| (claim, next_since))
            }
            // No longer pending (the sandbox was reset), or another engine took
            // the claim over after its lease: that engine's attempt counts.
            Err(StoreError::NotificationNotFound | StoreError::ClaimLost) => {
                log::debug!(
                    "notification {}: outcome not recorded: no longer ours",
                    n.id
                );
                None
            }
            Err(e) => {
                log::warn!(
                    "notification {}: recording an attempt: {e} (it is attempted again once its claim lapses)",
                    n.id
                );
                None
            }
        }
    }

    /// Sends a delivered notification again, with the same id, as an
    /// at-least-once redelivery would (a webhook's `duplicates`,
    /// `domain::chaos`): journalled like any attempt after `first`, not
    /// recorded in the store, where the notification stays delivered once.
    pub(super) async fn duplicate(
        &self,
        live: &Delivery,
        webhook: &Webhook,
        n: &Notification,
        first: sandbox::Delivery,
    ) {
        let time = self.engine.clock.now();
        let started = Instant::now();
        let sent = self.send(live, webhook, n).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let Some(fixture) = &self.engine.fixture else {
            return;
        };
        fixture.journal.attempted(sandbox::Delivery {
            attempt: first.attempt + 1,
            time,
            request_headers: sent.request_headers,
            outcome: match sent.http_status {
                Some(200..=299) => sandbox::Outcome::Delivered,
                _ => sandbox::Outcome::Failed,
            },
            http_status: sent.http_status,
            error: sent.error,
            latency_ms,
            ..first
        });
    }

    /// Sends one attempt. A webhook whose URL names a blocked address is not
    /// called (the resolver refuses blocked names the same way).
    pub(super) async fn send(&self, live: &Delivery, webhook: &Webhook, n: &Notification) -> Sent {
        let outbound = &self.outbound;
        let timeout = live.settings.timeout();
        let mut request = outbound
            .post(webhook)
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        if let Some(signer) = &live.signer {
            let id = n.id.to_string();
            // The wall clock, even when the sandbox's clock runs ahead:
            // receivers refuse a `webhook-timestamp` minutes off theirs.
            let wall = OffsetDateTime::now_utc().unix_timestamp();
            for header in signer.headers(&id, wall, &n.body) {
                request = request.insert_header(header);
            }
        }
        let request_headers = masked(request.headers(), webhook);
        let failed = |error: String| Sent {
            http_status: None,
            error: Some(error),
            retry_after: None,
            reply: None,
            request_headers: request_headers.clone(),
        };
        if let Some(blocked) = outbound.refuses(webhook) {
            return failed(blocked.into());
        }
        let sent = actix_rt::time::timeout(timeout, async {
            let mut response = request.send_body(n.body.clone()).await?;
            // Reading the answer also lets the connection be reused.
            let body = response.body().limit(MAX_ANSWER_BYTES).await;
            Ok::<_, awc::error::SendRequestError>((response, body))
        })
        .await;
        let (response, body) = match sent {
            Ok(Ok(answered)) => answered,
            Ok(Err(e)) => return failed(outbound.describe(&e)),
            Err(_) => return failed(format!("timeout after {} ms", timeout.as_millis())),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER));
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        let reply = match body {
            Ok(body) => ReceiverReply::new(headers, &body),
            // Longer than MAX_ANSWER_BYTES, or cut off: none of it is kept.
            Err(_) => ReceiverReply {
                headers,
                body: String::new(),
                body_truncated: true,
            },
        };
        Sent {
            http_status: Some(status.as_u16()),
            error: (!status.is_success()).then(|| format!("HTTP {}", status.as_u16())),
            retry_after,
            reply: Some(reply),
            request_headers,
        }
    }
}

/// Stage 1's product: what an attempt needs, read and checked.
struct Prepared {
    n: Notification,
    token: ClaimToken,
    webhook: Arc<Webhook>,
    live: Arc<Delivery>,
    /// The reset's barrier, passed (with the sandbox on).
    pass: Option<Pass>,
}

/// Stage 2's product: the request sent and what came back.
struct Called {
    prepared: Prepared,
    /// When it was sent, by the engine's clock.
    time: OffsetDateTime,
    sent: Sent,
    latency_ms: u64,
}

/// What one attempt sent and saw.
pub(super) struct Sent {
    pub(super) http_status: Option<u16>,
    pub(super) error: Option<String>,
    retry_after: Option<Duration>,
    reply: Option<ReceiverReply>,
    request_headers: BTreeMap<String, String>,
}

/// The request's headers by lower-case name, the webhook's custom header values
/// masked: what an attempt keeps of what it sent.
fn masked(headers: &awc::http::header::HeaderMap, webhook: &Webhook) -> BTreeMap<String, String> {
    let custom = &webhook.config.custom_headers;
    headers
        .iter()
        .map(|(name, value)| {
            let secret = custom
                .iter()
                .any(|(c, _)| c.eq_ignore_ascii_case(name.as_str()));
            let value = if secret {
                MASKED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// After the `failures`th failed attempt of a cycle: the next retry on the
/// schedule, with up to 10% jitter, or later if the receiver asked; or
/// `Undelivered` when the schedule is used up.
pub(super) fn next_try(
    settings: &DeliverySettings,
    now: OffsetDateTime,
    failures: u32,
    retry_after: Option<Duration>,
) -> AttemptOutcome {
    let Some(wait_ms) = settings
        .retry_schedule_ms
        .get(failures.saturating_sub(1) as usize)
    else {
        return AttemptOutcome::Undelivered;
    };
    let jitter_ms = fastrand::u64(0..=wait_ms / 10);
    let wait = Duration::from_millis(wait_ms + jitter_ms).max(retry_after.unwrap_or_default());
    AttemptOutcome::RetryAt(now + wait)
}
