//! The delivery protocol, written once: each outbox operation (enqueue, claim,
//! record and claim the next, park, deliver now, resend, activation) as the
//! order of its steps over [`OutboxTx`], the few storage primitives a backend
//! implements in its own SQL and threading. The rules stay in `domain`
//! (`Notification::record`, `QueueHealth`, `Webhook::accepts_resend`); a
//! backend says only how a step is stored.
//!
//! The model is taskchampion-sync-server's `core/src/server.rs` over its
//! `StorageTxn`. The primitives are async so that one signature fits every
//! backend: PostgreSQL awaits its round trips; SQLite and memory answer at
//! once, and run a flow to completion without a runtime ([`at_once`]).
//!
//! Every flow runs inside one transaction of its backend: all its steps are
//! committed together or none is.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use time::OffsetDateTime;

use super::{
    ClaimLimits, ClaimRequest, Claimed, Claims, GivingUp, RecordRules, Recorded, StoreError,
};
use crate::domain::{
    Attempt, AttemptOutcome, ClaimToken, Notification, NotificationId, NotificationStatus, PmCode,
    QueueHealth, Resend, Webhook, WebhookId, WebhookStatus,
};

type Result<T> = std::result::Result<T, StoreError>;

/// The storage primitives of the outbox, inside one open transaction. A new
/// backend implements these and the protocol above them is its own.
///
/// Where the queue state lives is the backend's choice: SQLite and memory keep
/// claims, due times and health in the process (`store::local`), since one
/// process owns the data and a claim dies with it exactly as a durable lease
/// would lapse; PostgreSQL keeps them in rows, shared by its nodes.
pub(crate) trait OutboxTx {
    /// A notification by id (locked for the transaction where that means
    /// something), with the token of the claim holding it.
    async fn notification(
        &mut self,
        id: NotificationId,
    ) -> Result<Option<(Notification, Option<ClaimToken>)>>;

    /// A webhook as a caller in `scope` may see it.
    async fn webhook(&mut self, id: WebhookId, scope: Option<&PmCode>) -> Result<Option<Webhook>>;

    /// Whether the webhook exists and is active.
    async fn active(&mut self, id: WebhookId) -> Result<bool>;

    /// Stores a new notification; `Duplicate` if its id is taken.
    async fn insert(&mut self, n: &Notification) -> Result<()>;

    /// Writes where a notification stands (status, attempts, cycle, last sent,
    /// next attempt) and releases any claim on it. One that is now final is
    /// ordered after its webhook's last final one (for [`OutboxTx::recent_final`]);
    /// `was` is its status before.
    async fn save(&mut self, n: &Notification, was: NotificationStatus) -> Result<()>;

    /// Stores attempt number `n.attempts` of `n`.
    async fn insert_attempt(&mut self, n: &Notification, attempt: &Attempt) -> Result<()>;

    /// The statuses of the webhook's last `count` notifications to become
    /// final, newest first.
    async fn recent_final(
        &mut self,
        webhook: WebhookId,
        count: u32,
    ) -> Result<Vec<NotificationStatus>>;

    /// The webhook's queue health as read (not locked: most attempts leave
    /// it as it is).
    async fn health(&mut self, webhook: WebhookId) -> Result<QueueHealth>;

    /// The same, held for this transaction, to be changed from what is read:
    /// two attempts of one webhook recorded at once must not both count from
    /// the same failures. Where one thread owns the state, [`OutboxTx::health`].
    async fn health_to_change(&mut self, webhook: WebhookId) -> Result<QueueHealth> {
        self.health(webhook).await
    }

    async fn save_health(&mut self, webhook: WebhookId, health: &QueueHealth) -> Result<()>;

    /// Claimed notifications whose lease ended at or before `now`, soonest
    /// ended first, at most `limit`.
    async fn lapsed(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<Notification>>;

    /// Webhooks whose queue is ready at `now`, soonest ready first, at most `limit`.
    async fn ready(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<WebhookId>>;

    /// How many claims the webhook's queue holds.
    async fn in_flight(&mut self, webhook: WebhookId) -> Result<u32>;

    /// The webhook's unclaimed pending notifications due at `now`, soonest
    /// first, at most `limit`.
    async fn due(
        &mut self,
        webhook: WebhookId,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Notification>>;

    /// Claims `n` under `token` until `until` (taking over a lapsed claim).
    async fn take(
        &mut self,
        n: &Notification,
        token: &ClaimToken,
        until: OffsetDateTime,
    ) -> Result<()>;

    /// Parks the webhook's unclaimed notifications due at `now` (its webhook
    /// is not active): pending, with no next attempt.
    async fn park_due(&mut self, webhook: WebhookId, now: OffsetDateTime) -> Result<()>;

    /// Makes the webhook's parked notifications due at `at`.
    async fn unpark(&mut self, webhook: WebhookId, at: OffsetDateTime) -> Result<()>;

    /// After claims or parking took notifications from the webhook's queue:
    /// its due time is its soonest unclaimed one again.
    async fn taken_from(&mut self, webhook: WebhookId) -> Result<()>;

    /// When to look again after a claim at `now`: the soonest a queue that is
    /// not ready will be, or a claim's lease ends.
    async fn next_look(&mut self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>>;

    /// Wake the delivery engines once the transaction commits.
    fn wake(&mut self);
}

/// Stores new notifications, all or none, each due at once; wakes the engines.
pub(crate) async fn enqueue(tx: &mut impl OutboxTx, notifications: &[Notification]) -> Result<()> {
    for n in notifications {
        tx.insert(n).await?;
    }
    tx.wake();
    Ok(())
}

/// `Outbox::claim_due`: lapsed claims first, taken over as they are; then the
/// ready queues; and when to look again.
pub(crate) async fn claim_due(
    tx: &mut impl OutboxTx,
    engine: &str,
    now: OffsetDateTime,
    lease: time::Duration,
    limits: ClaimLimits,
) -> Result<Claims> {
    let until = now + lease;
    let mut claimed = Vec::new();
    for n in tx.lapsed(now, limits.total).await? {
        let token = ClaimToken::new(engine);
        tx.take(&n, &token, until).await?;
        claimed.push(Claimed {
            notification: n,
            token,
            taken_over: true,
        });
    }
    let gave_up = claim_ready(tx, engine, now, until, &limits, &mut claimed).await?;
    let next = tx.next_look(now).await?;
    Ok(Claims {
        claimed,
        next,
        gave_up,
    })
}

/// The most waiting notifications of one queue looked at for giving up in
/// one claim: the rest are looked at by the next.
const GIVE_UP_PAGE: u32 = 100;

/// A backed-off queue at probe time: the soonest due notification is the
/// probe; each other due notification that waited past its schedule's end
/// (`GiveUp`) ends `Undelivered`, spending no attempt. Answers a record for
/// the suspension rule when any did.
async fn give_up_waiting(
    tx: &mut impl OutboxTx,
    webhook: WebhookId,
    health: &QueueHealth,
    now: OffsetDateTime,
    giving_up: &GivingUp,
) -> Result<Option<Recorded>> {
    let mut gave_up = 0;
    for mut n in tx
        .due(webhook, now, GIVE_UP_PAGE)
        .await?
        .into_iter()
        .skip(1)
    {
        if giving_up.rule.at(&n).is_some_and(|at| at < now) {
            n.give_up();
            tx.save(&n, NotificationStatus::Pending).await?;
            gave_up += 1;
        }
    }
    if gave_up == 0 {
        return Ok(None);
    }
    log::info!(
        "webhook {webhook}: {gave_up} notifications undelivered: their schedule ran out while the receiver was backing off"
    );
    Ok(Some(Recorded {
        webhook_id: webhook,
        recent_final: tx.recent_final(webhook, giving_up.recent).await?,
        queue: *health,
    }))
}

/// A suspended webhook's due notifications end `Undelivered` (a page at a
/// time; the queue stays ready for the rest): the service has given up on
/// its receiver, so they are listed as undelivered and can be resent once it
/// is set active. (A webhook the client set inactive parks them instead.)
async fn end_due(tx: &mut impl OutboxTx, webhook: WebhookId, now: OffsetDateTime) -> Result<()> {
    let mut ended = 0;
    for mut n in tx.due(webhook, now, GIVE_UP_PAGE).await? {
        n.give_up();
        tx.save(&n, NotificationStatus::Pending).await?;
        ended += 1;
    }
    if ended > 0 {
        log::info!(
            "webhook {webhook}: {ended} notifications undelivered: the webhook is suspended"
        );
    }
    Ok(())
}

/// Claims from the ready queues, soonest ready first, each within its room
/// (`QueueHealth::room`), until `claimed` holds `limits.total`. The due
/// notifications of a webhook that is not active are parked on the way, and
/// those of a backed-off queue that waited past their schedule give up
/// (answered for the suspension rule).
async fn claim_ready(
    tx: &mut impl OutboxTx,
    engine: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
    limits: &ClaimLimits,
    claimed: &mut Vec<Claimed>,
) -> Result<Vec<Recorded>> {
    let mut gave_up = Vec::new();
    let total = limits.total as usize;
    // Queues with no room stay ready; there are few (the claims out divided by
    // the room of each), and a few more are read to step over them.
    let page = limits.total.saturating_add(64);
    for webhook in tx.ready(now, page).await? {
        if claimed.len() >= total {
            break;
        }
        if !tx.active(webhook).await? {
            let suspended = tx
                .webhook(webhook, None)
                .await?
                .is_some_and(|w| w.status == WebhookStatus::Suspended);
            if suspended {
                end_due(tx, webhook, now).await?;
            } else {
                tx.park_due(webhook, now).await?;
            }
            tx.taken_from(webhook).await?;
            continue;
        }
        let mut health = tx.health(webhook).await?;
        let in_flight = tx.in_flight(webhook).await?;
        let room = health
            .room(limits.per_webhook, in_flight)
            .min(u32::try_from(total - claimed.len()).unwrap_or(u32::MAX));
        if room == 0 {
            continue;
        }
        if let (Some(_), Some(giving_up)) = (health.backoff, &limits.give_up) {
            if let Some(record) = give_up_waiting(tx, webhook, &health, now, giving_up).await? {
                gave_up.push(record);
            }
        }
        let before = health;
        for n in tx.due(webhook, now, room).await? {
            let token = ClaimToken::new(engine);
            tx.take(&n, &token, until).await?;
            health.claimed(until);
            claimed.push(Claimed {
                notification: n,
                token,
                taken_over: false,
            });
        }
        if health != before {
            tx.save_health(webhook, &health).await?;
        }
        tx.taken_from(webhook).await?;
    }
    Ok(gave_up)
}

/// `Outbox::record_attempt`: the attempt is stored, the notification moves on
/// (`Notification::record`) and its claim is released, and the queue's health
/// follows the outcome. A notification that is not pending is
/// `NotificationNotFound`; one whose claim `token` no longer holds is `ClaimLost`.
pub(crate) async fn record(
    tx: &mut impl OutboxTx,
    id: NotificationId,
    token: &ClaimToken,
    attempt: &Attempt,
    outcome: AttemptOutcome,
    rules: RecordRules,
) -> Result<Recorded> {
    let (mut n, claim) = tx
        .notification(id)
        .await?
        .filter(|(n, _)| n.status == NotificationStatus::Pending)
        .ok_or(StoreError::NotificationNotFound)?;
    if claim.as_ref() != Some(token) {
        return Err(StoreError::ClaimLost);
    }
    n.record(attempt, outcome);
    tx.insert_attempt(&n, attempt).await?;
    tx.save(&n, NotificationStatus::Pending).await?;
    let webhook = n.webhook_id;
    let follow = |mut queue: QueueHealth| {
        match outcome {
            AttemptOutcome::Delivered => queue.delivered(),
            _ => queue.failed(&rules.backoff, attempt.time),
        }
        queue
    };
    // A healthy queue that delivers stays as it was: nothing to write, and
    // nothing to hold. Otherwise the change is made from the health as held.
    let read = tx.health(webhook).await?;
    let mut queue = follow(read);
    if queue != read {
        let held = tx.health_to_change(webhook).await?;
        queue = follow(held);
        if queue != held {
            tx.save_health(webhook, &queue).await?;
        }
    }
    // Only an undelivered notification can suspend its webhook (`domain::suspends`).
    let recent_final = if n.status == NotificationStatus::Undelivered {
        tx.recent_final(webhook, rules.recent).await?
    } else {
        Vec::new()
    };
    Ok(Recorded {
        webhook_id: webhook,
        recent_final,
        queue,
    })
}

/// `Outbox::record_and_claim`: the record, then claims from the ready queues
/// in the same transaction. Lapsed claims are left to `claim_due`.
pub(crate) async fn record_and_claim(
    tx: &mut impl OutboxTx,
    id: NotificationId,
    token: &ClaimToken,
    attempt: &Attempt,
    outcome: AttemptOutcome,
    rules: RecordRules,
    next: &ClaimRequest,
) -> Result<(Recorded, Claims)> {
    let recorded = record(tx, id, token, attempt, outcome, rules).await?;
    let mut claimed = Vec::new();
    let until = next.now + next.lease;
    let gave_up = claim_ready(
        tx,
        &next.engine,
        next.now,
        until,
        &next.limits,
        &mut claimed,
    )
    .await?;
    Ok((
        recorded,
        Claims {
            claimed,
            next: None,
            gave_up,
        },
    ))
}

/// `Outbox::queue_health`.
pub(crate) async fn queue_health(
    tx: &mut impl OutboxTx,
    webhook: WebhookId,
) -> Result<QueueHealth> {
    tx.health(webhook).await
}

/// `Outbox::park`: a claimed notification given back unattempted, parked
/// (its webhook was set inactive since the claim), or ended `Undelivered`
/// when it was suspended.
pub(crate) async fn park(
    tx: &mut impl OutboxTx,
    id: NotificationId,
    token: &ClaimToken,
) -> Result<()> {
    let (mut n, claim) = tx
        .notification(id)
        .await?
        .ok_or(StoreError::NotificationNotFound)?;
    if claim.as_ref() != Some(token) {
        return Err(StoreError::ClaimLost);
    }
    let was = n.status;
    let suspended = tx
        .webhook(n.webhook_id, None)
        .await?
        .is_some_and(|w| w.status == WebhookStatus::Suspended);
    if suspended {
        // As at a claim (`end_due`): a suspension ends what comes due.
        n.give_up();
    } else {
        n.next_attempt = None;
    }
    tx.save(&n, was).await
}

/// One of `webhook`'s notifications with the claim holding it; `None` when
/// the id is unknown or another webhook's (the caller's scope was checked
/// when `webhook` was read).
async fn webhooks_notification(
    tx: &mut impl OutboxTx,
    webhook: &Webhook,
    id: NotificationId,
) -> Result<Option<(Notification, Option<ClaimToken>)>> {
    Ok(tx
        .notification(id)
        .await?
        .filter(|(n, _)| n.webhook_id == webhook.id))
}

/// `Outbox::deliver_now`.
pub(crate) async fn deliver_now(
    tx: &mut impl OutboxTx,
    webhook: WebhookId,
    scope: Option<&PmCode>,
    id: NotificationId,
    now: OffsetDateTime,
) -> Result<Notification> {
    let owner = tx
        .webhook(webhook, scope)
        .await?
        .ok_or(StoreError::NotFound)?;
    owner.accepts_resend()?;
    let (mut n, claim) = webhooks_notification(tx, &owner, id)
        .await?
        .ok_or(StoreError::NotificationNotFound)?;
    if claim.is_some() {
        // Being attempted right now.
        return Ok(n);
    }
    n.deliver_now(now)?;
    tx.save(&n, n.status).await?;
    let mut queue = tx.health_to_change(webhook).await?;
    let before = queue;
    queue.probe_now(now);
    if queue != before {
        tx.save_health(webhook, &queue).await?;
    }
    tx.wake();
    Ok(n)
}

/// `Outbox::resend`.
pub(crate) async fn resend(
    tx: &mut impl OutboxTx,
    webhook: WebhookId,
    scope: Option<&PmCode>,
    ids: Vec<NotificationId>,
    now: OffsetDateTime,
) -> Result<Vec<(NotificationId, Resend)>> {
    let owner = tx
        .webhook(webhook, scope)
        .await?
        .ok_or(StoreError::NotFound)?;
    owner.accepts_resend()?;
    let mut each = Vec::with_capacity(ids.len());
    for id in ids {
        let resend = match webhooks_notification(tx, &owner, id).await? {
            None => Resend::Invalid,
            Some((mut n, _)) => {
                let was = n.status;
                let resend = n.resend(now);
                if let Resend::Initiated(n) = &resend {
                    tx.save(n, was).await?;
                }
                resend
            }
        };
        each.push((id, resend));
    }
    tx.wake();
    Ok(each)
}

/// A webhook was set active (`Repository`'s unparking): its parked
/// notifications are due at `at`, its queue healthy again, and the engines wake.
pub(crate) async fn activated(
    tx: &mut impl OutboxTx,
    webhook: WebhookId,
    at: OffsetDateTime,
) -> Result<()> {
    tx.unpark(webhook, at).await?;
    tx.save_health(webhook, &QueueHealth::default()).await?;
    tx.wake();
    Ok(())
}

/// Runs a flow over primitives that answer at once (SQLite on its writer
/// thread, memory under its lock) to its end, on the calling thread.
pub(crate) fn at_once<T>(flow: impl Future<Output = Result<T>>) -> Result<T> {
    let mut flow = pin!(flow);
    match flow.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(done) => done,
        Poll::Pending => Err(StoreError::Internal(
            "a synchronous store's step did not answer at once".into(),
        )),
    }
}
