//! The outbox contract: notifications, claims, attempts, backoff, resends,
//! scoping and resets.

use super::support::*;

/// What the suspension rule reads: the statuses of the webhook's latest
/// notifications to become final, newest first, and only when an attempt made
/// one final. A resent notification leaves that history until it is final again.
pub(super) fn recorded_attempts_answer_the_recent_final_statuses(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let other = store
        .create(webhook("TRD", Some(3)))
        .wait()
        .expect("create");
    let ns: Vec<Notification> = (0..4)
        .map(|i| notification(&w, 101, t0() + Duration::seconds(i)))
        .collect();
    let elsewhere = notification(&other, 101, t0());
    let mut all = ns.clone();
    all.push(elsewhere.clone());
    store.enqueue(all).wait().expect("enqueue");
    let record =
        |n: &Notification, outcome| record(store, n.id, failed(t0()), outcome, 3).expect("record");
    let retry = AttemptOutcome::RetryAt(t0() + Duration::seconds(5));
    assert_eq!(
        record(&ns[0], retry),
        Recorded {
            webhook_id: w.id,
            recent_final: vec![],
            queue: QueueHealth {
                failures: 1,
                ..QueueHealth::default()
            },
        },
        "still pending"
    );
    let statuses = |outcome| record(&ns[0], outcome).recent_final;
    assert_eq!(
        statuses(AttemptOutcome::Undelivered),
        [NotificationStatus::Undelivered]
    );
    assert_eq!(
        record(&elsewhere, AttemptOutcome::Undelivered).recent_final,
        [NotificationStatus::Undelivered],
        "per webhook"
    );
    assert_eq!(
        record(&ns[1], AttemptOutcome::Delivered).recent_final,
        [],
        "only an undelivered notification needs the history (domain::suspends)"
    );
    record(&ns[2], AttemptOutcome::Undelivered);
    assert_eq!(
        record(&ns[3], AttemptOutcome::Gone).recent_final,
        [
            NotificationStatus::Undelivered,
            NotificationStatus::Undelivered,
            NotificationStatus::Delivered
        ],
        "newest first, at most as many as asked"
    );
    assert!(
        matches!(
            store
                .record_attempt(
                    ns[3].id,
                    &ClaimToken::new("nobody"),
                    failed(t0()),
                    AttemptOutcome::Delivered,
                    RecordRules {
                        recent: 3,
                        backoff: BACKOFF
                    },
                )
                .wait(),
            Err(StoreError::NotificationNotFound)
        ),
        "a final notification takes no more attempts"
    );
    let (_, attempts) = &store
        .details(w.id, None, vec![ns[0].id])
        .wait()
        .expect("details")[0];
    assert_eq!(attempts.len(), 2, "every attempt is kept");

    store
        .resend(w.id, None, vec![ns[3].id, ns[2].id], t0())
        .wait()
        .expect("resend");
    assert_eq!(
        record(&ns[2], AttemptOutcome::Undelivered).recent_final,
        [
            NotificationStatus::Undelivered,
            NotificationStatus::Delivered,
            NotificationStatus::Undelivered
        ],
        "resent notifications left the history and come back when final again"
    );
}

/// The queue: due notifications are claimed soonest first, at most `limit`, each
/// once while its lease runs; after the lease another engine takes it over, and
/// the first engine's outcome is then refused; a retry is due again at its time.
pub(super) fn claims_follow_due_order_and_leases(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let [n1, n2, n3] = [0, 1, 3600].map(|s| notification(&w, 101, t0() + Duration::seconds(s)));
    let waker = store.waker();
    let _ = woken(&waker);
    store
        .enqueue(vec![n2.clone(), n1.clone(), n3.clone()])
        .wait()
        .expect("enqueue");
    assert!(woken(&waker), "an enqueue wakes the engine");
    let lease = Duration::seconds(30);
    let at = |s: i64| t0() + Duration::seconds(s);
    let claims = |engine: &str, now, limit| {
        store
            .claim_due(engine, now, lease, ClaimLimits::upto(limit))
            .wait()
            .expect("claim")
    };
    let claim = |engine: &str, now, limit| claims(engine, now, limit).claimed;
    let first = claim("a", at(10), 1);
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].notification.id, first[0].taken_over),
        (n1.id, false),
        "soonest due first"
    );
    let second = claim("a", at(10), 10);
    assert_eq!(ids_of(&second), [n2.id], "n1 is held, n3 not due");
    assert_eq!(
        claims("b", at(20), 10),
        Claims {
            claimed: vec![],
            next: Some(at(40)),
            gave_up: vec![],
        },
        "held until the lease ends: look again then"
    );
    let b = claim("b", at(41), 10);
    assert_eq!(
        b.iter()
            .map(|c| (c.notification.id, c.taken_over))
            .collect::<Vec<_>>(),
        [(n1.id, true), (n2.id, true)]
    );
    let lost = store
        .record_attempt(
            n1.id,
            &first[0].token,
            failed(at(41)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait();
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "got {lost:?}");
    store
        .record_attempt(
            n1.id,
            &b[0].token,
            failed(at(42)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait()
        .expect("the holder records");
    store
        .record_attempt(
            n2.id,
            &b[1].token,
            failed(at(42)),
            AttemptOutcome::RetryAt(at(7200)),
            RULES,
        )
        .wait()
        .expect("a retry");
    assert_eq!(claims("c", at(43), 10).next, Some(at(3600)));
    let backlog = store.backlog().wait().expect("backlog");
    assert_eq!((backlog.pending, backlog.oldest_due), (2, Some(at(3600))));
    let third = claim("c", at(3601), 10);
    assert_eq!(ids_of(&third), [n3.id]);
    store
        .record_attempt(
            n3.id,
            &third[0].token,
            failed(at(3601)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait()
        .expect("recorded");
    assert_eq!(
        ids_of(&claim("c", at(7200), 10)),
        [n2.id],
        "the retry, at its time"
    );
}

/// Claims by queue: a webhook with many notifications due sooner takes no more
/// than its room, and another webhook's later notification is claimed in the
/// same call; an attempt recorded makes room again.
pub(super) fn a_full_queue_does_not_hold_up_another(store: &dyn Store) {
    let busy = store.create(webhook("TRD", None)).wait().expect("create");
    let other = store
        .create(webhook("TRD", Some(7)))
        .wait()
        .expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let many: Vec<Notification> = (0..10).map(|i| notification(&busy, 101, at(i))).collect();
    let late = notification(&other, 101, at(50));
    let mut all = many.clone();
    all.push(late.clone());
    store.enqueue(all).wait().expect("enqueue");
    let lease = Duration::seconds(30);
    let limits = ClaimLimits {
        total: 10,
        per_webhook: 3,
        give_up: None,
    };
    let claims = |now| {
        store
            .claim_due("a", now, lease, limits.clone())
            .wait()
            .expect("claim")
    };
    let first = claims(at(60));
    assert_eq!(
        ids_of(&first.claimed),
        [many[0].id, many[1].id, many[2].id, late.id],
        "three of the busy webhook's, soonest first, then the other's"
    );
    assert_eq!(
        claims(at(61)),
        Claims {
            claimed: vec![],
            next: Some(at(90)),
            gave_up: vec![],
        },
        "no room: nothing more until an attempt ends (or the leases do)"
    );
    store
        .record_attempt(
            many[0].id,
            &first.claimed[0].token,
            failed(at(62)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait()
        .expect("record");
    let next = claims(at(62));
    assert_eq!(ids_of(&next.claimed), [many[3].id], "room for one more");
}

/// `record_and_claim` records like `record_attempt` and claims like
/// `claim_due`; when the record is refused (a lost claim), nothing is claimed.
/// Where the backend leaves a slot's next claim to the engine's loop
/// (`claims_on_record` false: PostgreSQL), the record claims nothing and the
/// loop's claim takes the next due instead.
pub(super) fn recording_claims_the_next_in_the_same_write(
    store: &dyn Store,
    claims_on_record: bool,
) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let [a, b, c] = [0, 1, 2].map(|s| notification(&w, 101, at(s)));
    store
        .enqueue(vec![a.clone(), b.clone(), c.clone()])
        .wait()
        .expect("enqueue");
    let lease = Duration::seconds(30);
    let one = ClaimLimits::upto(1);
    let first = store
        .claim_due("e", at(5), lease, one.clone())
        .wait()
        .expect("claim");
    let request = |now| ClaimRequest {
        engine: "e".into(),
        now,
        lease,
        limits: one.clone(),
    };
    let rules = RULES;
    let lost = store
        .record_and_claim(
            a.id,
            &ClaimToken::new("other"),
            failed(at(6)),
            AttemptOutcome::Delivered,
            rules,
            request(at(6)),
        )
        .wait();
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "got {lost:?}");
    let (recorded, next) = store
        .record_and_claim(
            a.id,
            &first.claimed[0].token,
            failed(at(6)),
            AttemptOutcome::Delivered,
            rules,
            request(at(6)),
        )
        .wait()
        .expect("record and claim");
    assert_eq!(recorded.webhook_id, w.id);
    let next = if claims_on_record {
        next
    } else {
        assert_eq!(ids_of(&next.claimed), [], "the loop claims");
        store
            .claim_due("e", at(6), lease, one.clone())
            .wait()
            .expect("claim")
    };
    assert_eq!(
        ids_of(&next.claimed),
        [b.id],
        "the next due, and only one: the refused call claimed nothing"
    );
    let (a_stored, _) = &store
        .details(w.id, None, vec![a.id])
        .wait()
        .expect("details")[0];
    assert_eq!(a_stored.status, NotificationStatus::Delivered);
    let last = store
        .claim_due("e", at(7), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&last.claimed), [c.id]);
}

/// "Deliver now": a notification waiting for its retry is due at once, even
/// while its queue backs off (the next probe may go now); a final one is
/// refused, an unknown one or another webhook's is `NotFound`, and an inactive
/// webhook is refused.
pub(super) fn deliver_now_makes_a_waiting_notification_due(store: &dyn Store) {
    let rule = Backoff {
        after: 1,
        ..BACKOFF
    };
    let w = store
        .create(webhook("TRD", Some(5)))
        .wait()
        .expect("create");
    let other = store
        .create(webhook("TRD", Some(4)))
        .wait()
        .expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let n = notification(&w, 101, at(0));
    store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    let lease = Duration::seconds(30);
    let claims = |now| {
        store
            .claim_due("e", now, lease, ClaimLimits::upto(10))
            .wait()
            .expect("claim")
    };
    let first = claims(at(1));
    let queue = store
        .record_attempt(
            n.id,
            &first.claimed[0].token,
            failed(at(1)),
            AttemptOutcome::RetryAt(at(3600)),
            RecordRules {
                recent: 5,
                backoff: rule,
            },
        )
        .wait()
        .expect("record")
        .queue;
    assert!(queue.backoff.is_some(), "backing off after one failure");
    assert!(claims(at(2)).claimed.is_empty(), "waiting for its retry");

    let now = store
        .deliver_now(w.id, None, n.id, at(2))
        .wait()
        .expect("deliver now");
    assert_eq!(now.next_attempt, Some(at(2)));
    assert_eq!(
        ids_of(&claims(at(2)).claimed),
        [n.id],
        "due now, and the probe may go now"
    );

    let missing = store
        .deliver_now(w.id, None, NotificationId::generate(), at(3))
        .wait();
    assert!(
        matches!(missing, Err(StoreError::NotificationNotFound)),
        "{missing:?}"
    );
    let elsewhere = store.deliver_now(other.id, None, n.id, at(3)).wait();
    assert!(
        matches!(elsewhere, Err(StoreError::NotificationNotFound)),
        "another webhook's notification: {elsewhere:?}"
    );

    let (_, done) = undelivered_one(store);
    let final_one = store
        .deliver_now(done.webhook_id, None, done.id, at(3))
        .wait();
    assert!(
        matches!(
            final_one,
            Err(StoreError::Refused(Refusal::NotPending("Undelivered")))
        ),
        "{final_one:?}"
    );
    set_status(store, w.id, None, WebhookStatus::Inactive, at(4))
        .wait()
        .expect("inactive");
    let inactive = store.deliver_now(w.id, None, n.id, at(5)).wait();
    assert!(
        matches!(inactive, Err(StoreError::Refused(Refusal::NotActive(_)))),
        "{inactive:?}"
    );
}

/// The delivery log: newest first, in pages that go on where the last one
/// stopped, each with its last attempt, and filtered by every field.
pub(super) fn recent_lists_newest_first_in_pages_with_filters(store: &dyn Store) {
    let a = store
        .create(webhook("TRD", Some(1)))
        .wait()
        .expect("create");
    let b = store
        .create(webhook("ABC", Some(2)))
        .wait()
        .expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let ns = [
        notification(&a, 101, at(0)),
        notification(&b, 102, at(1)),
        notification(&a, 103, at(2)),
        notification(&a, 101, at(3)),
        notification(&b, 101, at(4)),
    ];
    for n in &ns {
        store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    }
    let first = store
        .claim_due("e", at(10), Duration::minutes(1), ClaimLimits::upto(1))
        .wait()
        .expect("claim");
    store
        .record_attempt(
            ns[0].id,
            &first.claimed[0].token,
            failed(at(10)),
            AttemptOutcome::Delivered,
            RULES,
        )
        .wait()
        .expect("record");
    let ids = |page: &LogPage| page.entries.iter().map(|(n, _)| n.id).collect::<Vec<_>>();
    let all = LogFilter::default();
    let scan = |before: Option<u64>, limit: u32| LogScan {
        before,
        limit,
        window: 100,
    };
    let page1 = store
        .recent(None, all.clone(), scan(None, 2))
        .wait()
        .expect("recent");
    assert_eq!(ids(&page1), [ns[4].id, ns[3].id], "newest first");
    let page2 = store
        .recent(None, all.clone(), scan(page1.next, 2))
        .wait()
        .expect("recent");
    assert_eq!(ids(&page2), [ns[2].id, ns[1].id]);
    let page3 = store
        .recent(None, all.clone(), scan(page2.next, 2))
        .wait()
        .expect("recent");
    assert_eq!(ids(&page3), [ns[0].id]);
    assert_eq!(page3.next, None, "the last page");
    assert_eq!(page3.entries[0].0.status, NotificationStatus::Delivered);
    assert_eq!(
        page3.entries[0].1.as_ref().map(|a| a.time),
        Some(at(10)),
        "with its last attempt"
    );
    assert!(page1.entries.iter().all(|(_, last)| last.is_none()));

    let only = |filter: LogFilter| {
        store
            .recent(None, filter, scan(None, 10))
            .wait()
            .expect("recent")
    };
    assert_eq!(
        ids(&only(LogFilter {
            pm: Some(pm("ABC")),
            ..LogFilter::default()
        })),
        [ns[4].id, ns[1].id]
    );
    assert_eq!(
        ids(&only(LogFilter {
            webhook: Some(a.id),
            event: Some(code(101)),
            ..LogFilter::default()
        })),
        [ns[3].id, ns[0].id]
    );
    assert_eq!(
        ids(&only(LogFilter {
            status: Some(NotificationStatus::Delivered),
            ..LogFilter::default()
        })),
        [ns[0].id]
    );
    assert_eq!(
        ids(&only(LogFilter {
            id: Some(ns[2].id),
            ..LogFilter::default()
        })),
        [ns[2].id]
    );
    assert_eq!(
        ids(&only(LogFilter {
            since: Some(at(1)),
            until: Some(at(3)),
            ..LogFilter::default()
        })),
        [ns[2].id, ns[1].id],
        "created in [since, until)"
    );

    // A window of 2: a filter that matches only the oldest is found page by
    // page, each page reading 2 notifications at most.
    let delivered = LogFilter {
        status: Some(NotificationStatus::Delivered),
        ..LogFilter::default()
    };
    let mut before = None;
    let mut pages = Vec::new();
    loop {
        let page = store
            .recent(
                None,
                delivered.clone(),
                LogScan {
                    before,
                    limit: 10,
                    window: 2,
                },
            )
            .wait()
            .expect("recent");
        pages.push(ids(&page));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
        assert!(pages.len() < 10, "the pages end");
    }
    assert_eq!(pages, [vec![], vec![], vec![ns[0].id]]);
    // By id: found by key, outside any window.
    let by_id = store
        .recent(
            None,
            LogFilter {
                id: Some(ns[0].id),
                ..LogFilter::default()
            },
            LogScan {
                before: None,
                limit: 10,
                window: 1,
            },
        )
        .wait()
        .expect("recent");
    assert_eq!(ids(&by_id), [ns[0].id]);
}

/// Backoff: after `after` failed attempts in a row a webhook's queue yields
/// nothing until its probe time, then one probe at a time; a failed probe
/// doubles the wait, a delivered one ends the backoff and the queue drains.
/// Another webhook is claimed throughout. Setting the webhook active again
/// clears a backoff.
pub(super) fn a_failing_queue_backs_off_and_probes_one_at_a_time(store: &dyn Store) {
    let rule = Backoff {
        after: 2,
        first: Duration::seconds(5),
        max: Duration::seconds(60),
        suspend_after: Duration::hours(1),
    };
    let dead = store.create(webhook("TRD", None)).wait().expect("create");
    let healthy = store
        .create(webhook("TRD", Some(7)))
        .wait()
        .expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let ns: Vec<Notification> = (0..5)
        .map(|i| notification(&dead, 101, at(0) + Duration::milliseconds(i)))
        .collect();
    store.enqueue(ns.clone()).wait().expect("enqueue");
    let lease = Duration::seconds(30);
    let limits = ClaimLimits {
        total: 10,
        per_webhook: 2,
        give_up: None,
    };
    let claims = |now| {
        store
            .claim_due("a", now, lease, limits.clone())
            .wait()
            .expect("claim")
    };
    let ids = |c: &Claims| ids_of(&c.claimed);
    let record = |c: &Claimed, time, outcome| {
        store
            .record_attempt(
                c.notification.id,
                &c.token,
                failed(time),
                outcome,
                RecordRules {
                    recent: 5,
                    backoff: rule,
                },
            )
            .wait()
            .expect("record")
            .queue
    };
    let later = AttemptOutcome::RetryAt(at(3600));

    let first = claims(at(1));
    assert_eq!(ids(&first), [ns[0].id, ns[1].id]);
    assert_eq!(record(&first.claimed[0], at(1), later).backoff, None);
    let queue = record(&first.claimed[1], at(1), later);
    assert_eq!(
        queue.backoff.map(|b| (b.since, b.until)),
        Some((at(1), at(6))),
        "two failures in a row: backing off until the first probe"
    );
    assert_eq!(store.backlog().wait().expect("backlog").backing_off, 1);

    let h1 = notification(&healthy, 101, at(2));
    store.enqueue(vec![h1.clone()]).wait().expect("enqueue");
    let during = claims(at(2));
    assert_eq!(ids(&during), [h1.id], "the other webhook is not held up");
    assert_eq!(during.next, Some(at(6)), "the probe time");
    record(&during.claimed[0], at(2), AttemptOutcome::Delivered);

    let probe = claims(at(6));
    assert_eq!(
        ids(&probe),
        [ns[2].id],
        "one probe, though there is room for two"
    );
    assert!(claims(at(7)).claimed.is_empty(), "one probe at a time");
    let queue = record(&probe.claimed[0], at(7), later);
    assert_eq!(
        queue.backoff.map(|b| (b.since, b.until)),
        Some((at(1), at(17))),
        "a failed probe doubles the wait"
    );
    assert!(claims(at(16)).claimed.is_empty());
    let probe = claims(at(17));
    assert_eq!(ids(&probe), [ns[3].id]);
    let queue = record(&probe.claimed[0], at(17), AttemptOutcome::Delivered);
    assert_eq!(
        queue,
        QueueHealth::default(),
        "a delivered probe ends the backoff"
    );
    assert_eq!(ids(&claims(at(18))), [ns[4].id], "the queue drains");

    // Back into backoff, then set inactive and active: the backoff is cleared.
    let n = notification(&dead, 101, at(20));
    store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    for time in [20, 21] {
        let c = claims(at(time));
        if let Some(c) = c.claimed.iter().find(|c| c.notification.id == n.id) {
            record(c, at(time), AttemptOutcome::RetryAt(at(time + 1)));
        }
    }
    assert_eq!(store.backlog().wait().expect("backlog").backing_off, 1);
    set_status(store, dead.id, None, WebhookStatus::Inactive, at(22))
        .wait()
        .expect("inactive");
    set_status(store, dead.id, None, WebhookStatus::Active, at(23))
        .wait()
        .expect("active");
    assert_eq!(store.backlog().wait().expect("backlog").backing_off, 0);
}

/// A backed-off queue does not stretch a schedule: at probe time, its due
/// notifications that waited past their schedule's end (`GiveUp`) end
/// `Undelivered` with no attempt spent, the claim answers them for the
/// suspension rule, and the probe is the soonest of the rest. Without the
/// rule (`ClaimLimits::upto`) nothing gives up.
pub(super) fn waiting_notifications_give_up_when_their_schedule_runs_out(store: &dyn Store) {
    let rule = Backoff {
        after: 1,
        first: Duration::seconds(1),
        max: Duration::seconds(1),
        suspend_after: Duration::hours(1),
    };
    let dead = store.create(webhook("TRD", None)).wait().expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let old = notification(&dead, 101, at(0));
    let young = notification(&dead, 101, at(0) + Duration::milliseconds(1));
    let fresh = notification(&dead, 101, at(4));
    store
        .enqueue(vec![old.clone(), young.clone(), fresh.clone()])
        .wait()
        .expect("enqueue");
    let lease = Duration::seconds(30);
    let first = store
        .claim_due("a", at(0), lease, ClaimLimits::upto(1))
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&first.claimed), [old.id]);
    let recorded = store
        .record_attempt(
            old.id,
            &first.claimed[0].token,
            failed(at(0)),
            AttemptOutcome::RetryAt(at(1)),
            RecordRules {
                recent: 5,
                backoff: rule,
            },
        )
        .wait()
        .expect("record");
    assert!(recorded.queue.backoff.is_some(), "backing off");

    // A schedule of one 1 s wait: `young` (never attempted, due at 0) would
    // give up after 1.1 s, but it is the soonest due: the probe. `old` (one
    // failure, due at 1 s) gives up after 1 s; `fresh` (due at 4 s) waits on
    // till 5.1 s.
    let limits = ClaimLimits {
        give_up: Some(GivingUp {
            rule: GiveUp::new(&[1_000]),
            recent: 5,
        }),
        ..ClaimLimits::upto(10)
    };
    let probe = store
        .claim_due("a", at(5), lease, limits)
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&probe.claimed), [young.id], "the probe");
    assert_eq!(probe.gave_up.len(), 1, "{probe:?}");
    assert_eq!(probe.gave_up[0].webhook_id, dead.id);
    assert_eq!(
        probe.gave_up[0].recent_final,
        [NotificationStatus::Undelivered],
        "for the suspension rule"
    );
    let found = store
        .details(dead.id, None, vec![old.id, fresh.id])
        .wait()
        .expect("details");
    let status = |id| {
        found.iter().find(|(n, _)| n.id == id).map(|(n, attempts)| {
            (
                n.status,
                n.next_attempt.is_some(),
                n.attempts,
                attempts.len(),
            )
        })
    };
    assert_eq!(
        status(old.id),
        Some((NotificationStatus::Undelivered, false, 1, 1)),
        "gave up: no attempt spent"
    );
    assert_eq!(
        status(fresh.id),
        Some((NotificationStatus::Pending, true, 0, 0)),
        "still within its schedule"
    );
}

/// A suspended webhook's notifications end `Undelivered` as they come due
/// (listed as undelivered, to resend once it is active), unattempted; one
/// claimed before the suspension and given back ends the same way.
pub(super) fn a_suspended_webhooks_notifications_end_as_they_come_due(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let at = |s: i64| t0() + Duration::seconds(s);
    let claimed = notification(&w, 101, at(0));
    let due = notification(&w, 101, at(1));
    let later = notification(&w, 101, at(100));
    store
        .enqueue(vec![claimed.clone(), due.clone(), later.clone()])
        .wait()
        .expect("enqueue");
    let lease = Duration::seconds(30);
    let first = store
        .claim_due("a", at(0), lease, ClaimLimits::upto(1))
        .wait()
        .expect("claim");
    assert_eq!(ids_of(&first.claimed), [claimed.id]);
    store
        .modify(
            w.id,
            None,
            Box::new(move |w| {
                w.suspend(at(2));
                Ok(())
            }),
        )
        .wait()
        .expect("suspend");
    store
        .park(claimed.id, first.claimed[0].token.clone())
        .wait()
        .expect("given back");
    let claims = store
        .claim_due("a", at(10), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert!(claims.claimed.is_empty(), "nothing is sent");
    let status = |id| {
        store
            .details(w.id, None, vec![id])
            .wait()
            .expect("details")
            .pop()
            .map(|(n, attempts)| (n.status, attempts.len()))
    };
    assert_eq!(
        status(claimed.id),
        Some((NotificationStatus::Undelivered, 0))
    );
    assert_eq!(status(due.id), Some((NotificationStatus::Undelivered, 0)));
    assert_eq!(
        status(later.id),
        Some((NotificationStatus::Pending, 0)),
        "not due yet"
    );
    store
        .claim_due("a", at(100), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim");
    assert_eq!(status(later.id), Some((NotificationStatus::Undelivered, 0)));
}

/// A due notification of a webhook that is not active is parked, not claimed,
/// and comes back due when the webhook is set active; an engine that finds its
/// claimed notification's webhook inactive parks it under its claim.
pub(super) fn inactive_webhooks_park_their_notifications(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let n = notification(&w, 101, t0());
    store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    let at = |s: i64| t0() + Duration::seconds(s);
    let lease = Duration::seconds(30);
    set_status(store, w.id, None, WebhookStatus::Inactive, at(5))
        .wait()
        .expect("inactive");
    assert_eq!(
        store
            .claim_due("a", at(10), lease, ClaimLimits::upto(10))
            .wait()
            .expect("claim"),
        Claims::default(),
        "parked: nothing claimed and nothing to wake for"
    );
    assert_eq!(
        store.backlog().wait().expect("backlog").pending,
        1,
        "still pending"
    );
    let waker = store.waker();
    let _ = woken(&waker);
    set_status(store, w.id, None, WebhookStatus::Active, at(20))
        .wait()
        .expect("active");
    assert!(woken(&waker), "setting it active wakes the engine");
    assert_eq!(
        store
            .claim_due("a", at(19), lease, ClaimLimits::upto(10))
            .wait()
            .expect("claim")
            .next,
        Some(at(20)),
        "due when it was set active"
    );
    let claimed = store
        .claim_due("a", at(20), lease, ClaimLimits::upto(10))
        .wait()
        .expect("claim")
        .claimed;
    assert_eq!(ids_of(&claimed), [n.id]);

    set_status(store, w.id, None, WebhookStatus::Inactive, at(21))
        .wait()
        .expect("inactive");
    let lost = store.park(n.id, ClaimToken::new("other")).wait();
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "got {lost:?}");
    store
        .park(n.id, claimed[0].token.clone())
        .wait()
        .expect("park");
    set_status(store, w.id, None, WebhookStatus::Active, at(30))
        .wait()
        .expect("active");
    assert_eq!(
        store
            .claim_due("b", at(30), lease, ClaimLimits::upto(10))
            .wait()
            .expect("claim")
            .claimed
            .len(),
        1,
        "due again"
    );
}

/// A program-manager-level webhook with one notification, `Undelivered` after one attempt.
pub(super) fn undelivered_one(store: &dyn Store) -> (Webhook, Notification) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let n = notification(&w, 101, t0());
    store.enqueue(vec![n.clone()]).wait().expect("enqueue");
    record(store, n.id, failed(t0()), AttemptOutcome::Undelivered, 5).expect("record");
    (w, n)
}

/// Resend is refused as a whole, and changes nothing, unless the webhook is
/// active and visible to the caller.
pub(super) fn resend_needs_an_active_webhook_in_scope(store: &dyn Store) {
    let (w, n) = undelivered_one(store);
    let other = pm("ABC");
    assert!(
        matches!(
            store.resend(w.id, Some(&other), vec![n.id], t0()).wait(),
            Err(StoreError::NotFound)
        ),
        "another program manager's webhook"
    );
    set_status(store, w.id, None, WebhookStatus::Inactive, t0())
        .wait()
        .expect("inactive");
    let refused = store.resend(w.id, None, vec![n.id], t0()).wait();
    assert!(
        matches!(
            refused,
            Err(StoreError::Refused(Refusal::NotActive(
                WebhookStatus::Inactive
            )))
        ),
        "got {refused:?}"
    );
    assert_eq!(
        store
            .undelivered(w.id, None)
            .wait()
            .expect("undelivered")
            .len(),
        1,
        "nothing resent"
    );
}

/// A change the domain refuses writes nothing, and a refused replace keeps the owner.
pub(super) fn a_refused_change_writes_nothing(store: &dyn Store) {
    let w = store
        .create(webhook("TRD", Some(1)))
        .wait()
        .expect("create");
    let later = t0() + Duration::seconds(9);
    let other = pm("ABC");
    let refused = store
        .modify(
            w.id,
            None,
            Box::new(move |x| x.replace(Some(&other), spec(Some(2)), later)),
        )
        .wait();
    assert!(
        matches!(refused, Err(StoreError::Refused(Refusal::OwnerChange))),
        "got {refused:?}"
    );
    assert_eq!(*store.get(w.id, None).wait().expect("get"), w, "unchanged");
}

/// Retention: final notifications whose last attempt is older than the cut-off
/// are deleted with their attempts, oldest first and at most `limit` at a time;
/// a pending notification is never deleted, however old.
pub(super) fn purge_deletes_old_final_notifications_only(store: &dyn Store) {
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let hour = Duration::hours(1);
    let made: Vec<Notification> = (0..4).map(|_| notification(&w, 101, t0())).collect();
    store.enqueue(made.clone()).wait().expect("enqueue");
    let [oldest, old, recent, pending] = [&made[0], &made[1], &made[2], &made[3]];
    let record = |n: &Notification, at: OffsetDateTime, outcome| {
        record(store, n.id, failed(at), outcome, 5).expect("record");
    };
    record(oldest, t0(), AttemptOutcome::Delivered);
    record(
        old,
        t0() + Duration::seconds(1),
        AttemptOutcome::Undelivered,
    );
    record(recent, t0() + hour * 2, AttemptOutcome::Delivered);
    record(pending, t0(), AttemptOutcome::RetryAt(t0() + hour * 24));

    let cut_off = t0() + hour;
    assert_eq!(
        store.purge(cut_off, 1).wait().expect("purge"),
        1,
        "at most the limit"
    );
    let kept = |id: NotificationId| {
        !store
            .details(w.id, None, vec![id])
            .wait()
            .expect("details")
            .is_empty()
    };
    assert!(!kept(oldest.id) && kept(old.id), "oldest first");
    assert_eq!(store.purge(cut_off, 10).wait().expect("purge"), 1);
    assert_eq!(
        store.purge(cut_off, 10).wait().expect("purge"),
        0,
        "nothing more is old"
    );
    assert!(!kept(old.id));
    assert!(kept(recent.id), "a recent final notification stays");
    assert!(kept(pending.id), "a pending notification stays");
    assert_eq!(
        store.purge(t0() + hour * 48, 10).wait().expect("purge"),
        1,
        "with a later cut-off the recent one goes too, the pending one never"
    );
    assert!(kept(pending.id));
    assert_eq!(
        store
            .pending()
            .wait()
            .expect("pending")
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        [pending.id]
    );
}

/// Scoping lives in the store: program manager B never reads, resends or
/// delivers A's notifications; to B, A's webhook is not there.
pub(super) fn another_pm_sees_no_notifications(store: &dyn Store) {
    let (w, n) = undelivered_one(store);
    let (a, b) = (w.pm_code.clone(), pm("ABC"));
    let since = t0() - Duration::days(1);
    let not_found = |what: &str, answer: Result<(), StoreError>| {
        assert!(
            matches!(answer, Err(StoreError::NotFound)),
            "{what} for another program manager: {answer:?}"
        );
    };
    let code = n.event_code;
    not_found(
        "by_event",
        store
            .by_event(w.id, Some(&b), code, since, 10)
            .wait()
            .map(drop),
    );
    not_found(
        "details",
        store.details(w.id, Some(&b), vec![n.id]).wait().map(drop),
    );
    not_found(
        "undelivered",
        store.undelivered(w.id, Some(&b)).wait().map(drop),
    );
    not_found(
        "resend",
        store
            .resend(w.id, Some(&b), vec![n.id], t0())
            .wait()
            .map(drop),
    );
    not_found(
        "deliver now",
        store
            .deliver_now(w.id, Some(&b), n.id, t0())
            .wait()
            .map(drop),
    );
    let scan = LogScan {
        before: None,
        limit: 10,
        window: 1000,
    };
    let listed = |scope: &PmCode, filter: LogFilter| {
        ids_of_log(
            &store
                .recent(Some(scope), filter, scan)
                .wait()
                .expect("recent"),
        )
    };
    assert_eq!(listed(&b, LogFilter::default()), [], "B's log is empty");
    let asking_for_a = LogFilter {
        pm: Some(a.clone()),
        ..LogFilter::default()
    };
    assert_eq!(listed(&b, asking_for_a.clone()), [], "B asking for A's");
    let by_id = LogFilter {
        id: Some(n.id),
        ..LogFilter::default()
    };
    assert_eq!(listed(&b, by_id.clone()), [], "B asking for A's by id");
    assert_eq!(listed(&a, by_id), [n.id], "A sees its own");
    assert_eq!(listed(&a, asking_for_a), [n.id]);
    assert_eq!(
        store
            .details(w.id, Some(&a), vec![n.id])
            .wait()
            .expect("A's details")
            .len(),
        1
    );
    let (again, _) = &store
        .resend(w.id, Some(&a), vec![n.id], t0())
        .wait()
        .expect("A resends")[0];
    assert_eq!(*again, n.id);
}

pub(super) fn ids_of_log(page: &LogPage) -> Vec<NotificationId> {
    page.entries.iter().map(|(n, _)| n.id).collect()
}

/// A reset deletes notifications and attempts too.
/// A reset of one program manager deletes its webhooks, notifications and
/// claims, and nothing of another's (nor the inboxes), so that parallel test
/// jobs with their own program managers share one instance.
pub(super) fn a_scoped_reset_leaves_other_program_managers(store: &dyn Store) {
    let mine = store.create(webhook("TRD", None)).wait().expect("create");
    let theirs = store.create(webhook("ABC", None)).wait().expect("create");
    let (a1, a2) = (
        notification(&mine, 101, t0()),
        notification(&mine, 101, t0()),
    );
    let b = notification(&theirs, 101, t0());
    store
        .enqueue(vec![a1.clone(), a2.clone(), b.clone()])
        .wait()
        .expect("enqueue");
    let held = claim(store, a1.id).expect("claimed");
    capture_one(store);

    assert_eq!(
        store.reset(Some(&pm("TRD"))).wait().expect("reset"),
        Cleared {
            webhooks: 1,
            notifications: 2,
            inbox_requests: 0,
            configurations: 0,
            fraud_alerts: 0,
        }
    );
    assert!(matches!(
        store.get(mine.id, None).wait(),
        Err(StoreError::NotFound)
    ));
    assert!(store.list(&pm("TRD")).wait().expect("list").is_empty());
    assert_eq!(store.list(&pm("ABC")).wait().expect("list").len(), 1);
    let pending: Vec<NotificationId> = store
        .pending()
        .wait()
        .expect("pending")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(pending, [b.id], "the other program manager's is untouched");
    assert_eq!(store.inboxes().wait().expect("inboxes").len(), 1);
    assert!(
        records_nothing(store, a1.id, &held),
        "a claim held across the reset records nothing"
    );
    assert!(
        claim(store, b.id).is_ok(),
        "the other's is still claimed and delivered"
    );
    store
        .create(webhook("TRD", None))
        .wait()
        .expect("the key is free again");
}

pub(super) fn removing_a_webhook_takes_only_it_and_what_is_stored_about_it(store: &dyn Store) {
    let gone = store
        .create(webhook("TRD", Some(1)))
        .wait()
        .expect("create");
    let stays = store
        .create(webhook("TRD", Some(2)))
        .wait()
        .expect("create");
    let (a1, a2, b) = (
        notification(&gone, 101, t0()),
        notification(&gone, 101, t0()),
        notification(&stays, 101, t0()),
    );
    store
        .enqueue(vec![a1.clone(), a2.clone(), b.clone()])
        .wait()
        .expect("enqueue");
    let held = claim(store, a1.id).expect("claimed");
    assert!(
        matches!(
            store.remove(gone.id, Some(&pm("ABC"))).wait(),
            Err(StoreError::NotFound)
        ),
        "another program manager's is not found"
    );
    assert_eq!(
        store
            .remove(gone.id, Some(&pm("TRD")))
            .wait()
            .expect("remove"),
        2
    );
    assert!(matches!(
        store.get(gone.id, None).wait(),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.remove(gone.id, None).wait(),
        Err(StoreError::NotFound)
    ));
    let left: Vec<WebhookId> = store
        .list(&pm("TRD"))
        .wait()
        .expect("list")
        .iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(left, [stays.id]);
    assert_eq!(
        store.keys(&pm("TRD")).wait().expect("keys").len(),
        1,
        "its keys went with it"
    );
    let pending: Vec<NotificationId> = store
        .pending()
        .wait()
        .expect("pending")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        pending,
        [b.id],
        "the other webhook's notification is untouched"
    );
    assert!(
        records_nothing(store, a1.id, &held),
        "a claim held across the removal records nothing"
    );
    assert!(
        claim(store, b.id).is_ok(),
        "the other's is claimed as before"
    );
    store
        .create(webhook("TRD", Some(1)))
        .wait()
        .expect("its key is free again");
}

/// Whether recording an attempt under `held` is refused (its notification
/// or its claim is gone).
pub(super) fn records_nothing(store: &dyn Store, id: NotificationId, held: &ClaimToken) -> bool {
    let rules = RecordRules {
        recent: 5,
        backoff: BACKOFF,
    };
    store
        .record_attempt(id, held, failed(t0()), AttemptOutcome::Delivered, rules)
        .wait()
        .is_err()
}

/// One request kept in the inbox `demo`.
pub(super) fn capture_one(store: &dyn Store) {
    assert!(store
        .capture("demo".into(), captured("POST", "1"), InboxLimits::default())
        .wait()
        .expect("capture"));
}

pub(super) fn reset_deletes_notifications(store: &dyn Store) {
    let (w, n) = undelivered_one(store);
    capture_one(store);
    assert_eq!(
        store.reset(None).wait().expect("reset"),
        Cleared {
            webhooks: 1,
            notifications: 1,
            inbox_requests: 1,
            configurations: 0,
            fraud_alerts: 0,
        }
    );
    assert!(store.inboxes().wait().expect("inboxes").is_empty());
    assert!(store.pending().wait().expect("pending").is_empty());
    assert!(
        matches!(
            store.details(w.id, None, vec![n.id]).wait(),
            Err(StoreError::NotFound)
        ),
        "the webhook is gone with its notifications"
    );
    assert!(matches!(
        store.undelivered(w.id, None).wait(),
        Err(StoreError::NotFound)
    ));
}

/// The outbox's reads and its resend, on one webhook with three notifications:
/// one delivered, one undelivered, one still pending.
pub(super) fn outbox_reads_and_resend(store: &dyn Store) {
    let waker = store.waker();
    let w = store.create(webhook("TRD", None)).wait().expect("create");
    let other = store
        .create(webhook("TRD", Some(9)))
        .wait()
        .expect("create");
    let made = |event: i64, at: OffsetDateTime, owner: &Webhook| {
        let id = NotificationId::generate();
        Notification::new(owner.id, pm("TRD"), code(event), id, "{}".into(), at)
    };
    let day = Duration::days(1);
    let (delivered, undelivered, pending) = (
        made(101, t0(), &w),
        made(101, t0() + day, &w),
        made(102, t0() + day, &w),
    );
    let elsewhere = made(101, t0(), &other);
    store
        .enqueue(vec![
            delivered.clone(),
            undelivered.clone(),
            pending.clone(),
            elsewhere.clone(),
        ])
        .wait()
        .expect("enqueue");
    // What was sent and what came back is kept as it was given.
    let attempt = |status: u16| Attempt {
        time: t0() + Duration::milliseconds(250),
        http_status: Some(status),
        error: (status >= 300).then(|| format!("HTTP {status}")),
        latency_ms: 3,
        request_headers: [("content-type", "application/json"), ("apikey", "***")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        reply: Some(ReceiverReply {
            headers: [("x-answer".to_owned(), format!("{status}, again"))].into(),
            body: format!("{{\"status\": {status}}}"),
            body_truncated: status >= 500,
        }),
    };
    record(
        store,
        delivered.id,
        attempt(200),
        AttemptOutcome::Delivered,
        5,
    )
    .expect("record");
    record(
        store,
        undelivered.id,
        attempt(500),
        AttemptOutcome::Undelivered,
        5,
    )
    .expect("record");

    let ids = |found: Vec<Notification>| found.into_iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .by_event(w.id, None, code(101), t0(), 10)
            .wait()
            .expect("by event")),
        [delivered.id, undelivered.id],
        "oldest first, only this webhook's, only this code"
    );
    assert_eq!(
        ids(store
            .by_event(w.id, None, code(101), t0() + day, 10)
            .wait()
            .expect("by event")),
        [undelivered.id],
        "created at or after `since`"
    );
    assert_eq!(
        ids(store
            .by_event(w.id, None, code(101), t0(), 1)
            .wait()
            .expect("by event")),
        [delivered.id],
        "at most `count`"
    );

    let details = store
        .details(w.id, None, vec![undelivered.id, elsewhere.id, delivered.id])
        .wait()
        .expect("details");
    let seen: Vec<_> = details
        .iter()
        .map(|(n, attempts)| (n.id, n.status, attempts.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                undelivered.id,
                NotificationStatus::Undelivered,
                vec![attempt(500)]
            ),
            (
                delivered.id,
                NotificationStatus::Delivered,
                vec![attempt(200)]
            ),
        ],
        "asked order, another webhook's left out, attempts kept"
    );
    assert_eq!(
        store.undelivered(w.id, None).wait().expect("undelivered"),
        [(code(101), undelivered.id)]
    );

    let now = t0() + day * 2;
    let _ = woken(&waker);
    let each = store
        .resend(
            w.id,
            None,
            vec![undelivered.id, pending.id, elsewhere.id, delivered.id],
            now,
        )
        .wait()
        .expect("resend");
    let statuses: Vec<_> = each.iter().map(|(id, r)| (*id, r.status())).collect();
    assert_eq!(
        statuses,
        [
            (undelivered.id, "Resend request initiated"),
            (pending.id, "Unable to resend request"),
            (elsewhere.id, "Invalid notification details"),
            (delivered.id, "Resend request initiated"),
        ]
    );
    assert!(woken(&waker), "a resend wakes the engine");
    let Resend::Initiated(again) = &each[0].1 else {
        panic!("initiated");
    };
    assert_eq!(again.status, NotificationStatus::Pending);
    assert_eq!((again.attempts, again.cycle_start), (1, 1), "a new cycle");
    assert_eq!(again.next_attempt, Some(now), "due at once");
    assert!(
        store
            .undelivered(w.id, None)
            .wait()
            .expect("undelivered")
            .is_empty(),
        "no longer undelivered"
    );
    let pending_now: Vec<_> = store
        .pending()
        .wait()
        .expect("pending")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        pending_now,
        [delivered.id, undelivered.id, pending.id, elsewhere.id],
        "both resent notifications are pending again, for the engine to resume"
    );
}
