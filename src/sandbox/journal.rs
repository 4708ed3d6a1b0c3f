//! The fixture's record: every event triggered and every delivery attempt
//! made by this node, in memory and bounded, so that a test can read what was
//! sent, wait for it and verify it. Each change bumps a watch channel that
//! waits listen to: a wait wakes when an attempt is recorded, never on a
//! timer.
//!
//! Bounds: at most `capacity` events and `capacity` attempts (the oldest go
//! first), none older than the notifications' retention. The record starts
//! empty at each start; the notifications and attempts themselves stay in the
//! store (the details call, the dashboard). With several nodes on one
//! PostgreSQL database, each node's journal holds the attempts its own engine
//! made.
//!
//! Each change is also published, as it happens, to the live stream's
//! readers (`Journal::live`, `GET /sandbox/v1/stream`): a broadcast with a
//! fixed buffer, so a reader that falls behind misses items (and is told),
//! and the journal never holds anything for it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

use crate::domain::inbox::Captured;
use crate::domain::{
    Event, EventCode, EventId, FanOut, Notification, NotificationId, NotificationStatus, PmCode,
    ProductId, Skip, WebhookId,
};

/// One event as triggered, and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: EventId,
    pub seq: u64,
    pub pm: PmCode,
    pub product: Option<ProductId>,
    pub code: EventCode,
    pub payload: Value,
    pub time: OffsetDateTime,
    /// The notifications it made, one per receiving webhook.
    pub notifications: Vec<(WebhookId, NotificationId)>,
    /// The program manager's other webhooks, and why each got none.
    pub skipped: Vec<(WebhookId, Skip)>,
}

/// Whether an attempt delivered its notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One delivery attempt, as sent and as answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Its place in the journal (set when recorded).
    pub seq: u64,
    pub pm: PmCode,
    pub notification_id: NotificationId,
    /// The event that made the notification, while the journal holds it.
    pub event_id: Option<EventId>,
    pub event_code: EventCode,
    pub webhook_id: WebhookId,
    pub url: String,
    /// 1 for the first.
    pub attempt: u32,
    pub time: OffsetDateTime,
    /// Custom header values masked, as the details call shows them.
    pub request_headers: BTreeMap<String, String>,
    /// The envelope as sent.
    pub body: String,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
    /// The notification's status after this attempt.
    pub notification_status: NotificationStatus,
}

impl Delivery {
    /// The payload as delivered (the envelope's `payload`).
    pub fn payload(&self) -> Value {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|mut body| body.get_mut("payload").map(Value::take))
            .unwrap_or(Value::Null)
    }

    /// This attempt's value for one criterion of a match, for a message.
    pub fn describe(&self, criterion: &str) -> String {
        match criterion {
            "webhookId" => self.webhook_id.to_string(),
            "eventId" => self
                .event_id
                .map_or_else(|| "unknown".into(), |e| e.to_string()),
            "eventCode" => self.event_code.to_string(),
            "notificationId" => self.notification_id.to_string(),
            "outcome" => self.outcome.as_str().into(),
            "since" => crate::domain::time::rfc3339_millis(self.time),
            "notificationStatus" => self.notification_status.as_str().into(),
            _ => {
                let mut payload = self.payload().to_string();
                if payload.len() > 200 {
                    let mut cut = 200;
                    while !payload.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    payload.truncate(cut);
                    payload.push_str("...");
                }
                payload
            }
        }
    }
}

/// Whether a caller in `scope` may see a record of program manager `pm`.
pub fn visible(scope: Option<&PmCode>, pm: &PmCode) -> bool {
    scope.is_none_or(|own| own == pm)
}

/// Up to `limit` of `records`, and the `seq` of the last one taken when
/// there are more (where the next page starts).
fn page<'a, T: 'a>(
    records: impl Iterator<Item = &'a Arc<T>>,
    limit: usize,
    seq: impl Fn(&T) -> u64,
) -> (Vec<Arc<T>>, Option<u64>) {
    let mut page: Vec<Arc<T>> = records.take(limit + 1).cloned().collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = more.then(|| page.last().map(|r| seq(r))).flatten();
    (page, next)
}

#[derive(Debug, Default)]
struct State {
    /// The last sequence number given.
    seq: u64,
    /// Bumped by every clear: a wait that scanned before it scans again.
    clears: u64,
    events: VecDeque<Arc<EventRecord>>,
    deliveries: VecDeque<Arc<Delivery>>,
    /// The event of each notification of the events held.
    event_of: HashMap<NotificationId, EventId>,
}

/// One change, as the live stream carries it.
#[derive(Debug, Clone)]
pub enum Live {
    Event(Arc<EventRecord>),
    Attempt(Arc<Delivery>),
    /// A request a capture inbox kept.
    Capture {
        inbox: Arc<str>,
        captured: Arc<Captured>,
        /// The body exactly as it arrived (lossy UTF-8), for a forwarder
        /// whose receiver checks a signature over it.
        raw: Arc<str>,
    },
}

/// How many changes the live stream keeps for a reader that has not taken
/// them yet; one further behind misses the oldest.
pub const LIVE_BUFFER: usize = 1_024;

/// See the module's documentation.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    max_age: time::Duration,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    live: broadcast::Sender<Live>,
}

/// Where a reader of the journal stands: the last sequence number it saw, and
/// how many clears it has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mark {
    seq: u64,
    clears: u64,
}

impl Journal {
    pub fn new(capacity: usize, max_age: time::Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            max_age,
            state: Mutex::default(),
            changed: watch::Sender::new(0),
            live: broadcast::Sender::new(LIVE_BUFFER),
        }
    }

    /// A reader of the changes from now on (see the module's doc).
    pub fn live(&self) -> broadcast::Receiver<Live> {
        self.live.subscribe()
    }

    /// Whether the live stream has a reader now.
    pub fn watched(&self) -> bool {
        self.live.receiver_count() > 0
    }

    /// Publishes a request a capture inbox kept (the inboxes themselves are
    /// in the store).
    pub fn captured(&self, inbox: &str, captured: Captured, raw: &[u8]) {
        // No reader: nothing to do (the send fails, harmlessly).
        let _ = self.live.send(Live::Capture {
            inbox: inbox.into(),
            captured: Arc::new(captured),
            raw: String::from_utf8_lossy(raw).into(),
        });
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic under the lock leaves plain data behind; keep serving it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes every wait.
    fn bump(&self, seq: u64) {
        self.changed.send_replace(seq);
    }

    /// Records `event` and what became of it (`fan`) at `time`; answers the
    /// record, and the fan-out's notifications (for the caller to store).
    pub fn event(
        &self,
        event: &Event,
        fan: FanOut,
        time: OffsetDateTime,
    ) -> (Arc<EventRecord>, Vec<Notification>) {
        let FanOut {
            payload,
            notifications,
            skipped,
        } = fan;
        let mut state = self.state();
        state.seq += 1;
        let record = Arc::new(EventRecord {
            id: EventId::generate(),
            seq: state.seq,
            pm: event.pm.clone(),
            product: event.product,
            code: event.code,
            payload,
            time,
            notifications: notifications.iter().map(|n| (n.webhook_id, n.id)).collect(),
            skipped,
        });
        for (_, n) in &record.notifications {
            state.event_of.insert(*n, record.id);
        }
        state.events.push_back(Arc::clone(&record));
        let oldest = time - self.max_age;
        while state.events.len() > self.capacity
            || state.events.front().is_some_and(|e| e.time < oldest)
        {
            let Some(gone) = state.events.pop_front() else {
                break;
            };
            for (_, n) in &gone.notifications {
                state.event_of.remove(n);
            }
        }
        let seq = state.seq;
        drop(state);
        self.bump(seq);
        let _ = self.live.send(Live::Event(Arc::clone(&record)));
        (record, notifications)
    }

    /// Records one attempt (its `seq` and `event_id` are filled in here).
    pub fn attempted(&self, mut delivery: Delivery) {
        let mut state = self.state();
        state.seq += 1;
        delivery.seq = state.seq;
        delivery.event_id = state.event_of.get(&delivery.notification_id).copied();
        let oldest = delivery.time - self.max_age;
        let delivery = Arc::new(delivery);
        state.deliveries.push_back(Arc::clone(&delivery));
        while state.deliveries.len() > self.capacity
            || state.deliveries.front().is_some_and(|d| d.time < oldest)
        {
            state.deliveries.pop_front();
        }
        let seq = state.seq;
        drop(state);
        self.bump(seq);
        let _ = self.live.send(Live::Attempt(delivery));
    }

    /// Forgets an event whose notifications could not be stored.
    pub fn forget_event(&self, id: EventId) {
        let mut state = self.state();
        let state = &mut *state;
        if let Some(at) = state.events.iter().rposition(|e| e.id == id) {
            if let Some(gone) = state.events.remove(at) {
                for (_, n) in &gone.notifications {
                    state.event_of.remove(n);
                }
            }
        }
    }

    /// The event of notification `id`, while the journal holds it.
    pub fn event_of(&self, id: NotificationId) -> Option<EventId> {
        self.state().event_of.get(&id).copied()
    }

    /// Event `id`, if a caller in `scope` may see it.
    pub fn find_event(&self, id: EventId, scope: Option<&PmCode>) -> Option<Arc<EventRecord>> {
        self.state()
            .events
            .iter()
            .rev()
            .find(|e| e.id == id && visible(scope, &e.pm))
            .cloned()
    }

    /// Up to `limit` events that `keep` and `scope` allow, newest first,
    /// older than `before` (a previous page's `next`); and the next page's
    /// `before`, if there may be more.
    pub fn events(
        &self,
        scope: Option<&PmCode>,
        keep: impl Fn(&EventRecord) -> bool,
        before: Option<u64>,
        limit: usize,
    ) -> (Vec<Arc<EventRecord>>, Option<u64>) {
        let state = self.state();
        page(
            state
                .events
                .iter()
                .rev()
                .filter(|e| before.is_none_or(|b| e.seq < b))
                .filter(|e| visible(scope, &e.pm) && keep(e)),
            limit,
            |e| e.seq,
        )
    }

    /// Up to `limit` attempts that `keep` and `scope` allow, oldest first,
    /// after `after` (a previous page's `next`); and the next page's `after`,
    /// if there may be more.
    pub fn deliveries(
        &self,
        scope: Option<&PmCode>,
        keep: impl Fn(&Delivery) -> bool,
        after: Option<u64>,
        limit: usize,
    ) -> (Vec<Arc<Delivery>>, Option<u64>) {
        let state = self.state();
        page(
            state
                .deliveries
                .iter()
                .filter(|d| after.is_none_or(|a| d.seq > a))
                .filter(|d| visible(scope, &d.pm) && keep(d)),
            limit,
            |d| d.seq,
        )
    }

    /// Runs `f` over the attempts `scope` may see, oldest first.
    pub fn with_deliveries<R>(
        &self,
        scope: Option<&PmCode>,
        f: impl FnOnce(&mut dyn DoubleEndedIterator<Item = &Delivery>) -> R,
    ) -> R {
        let state = self.state();
        let mut visible = state
            .deliveries
            .iter()
            .map(|d| &**d)
            .filter(|d| visible(scope, &d.pm));
        f(&mut visible)
    }

    /// The attempts after `mark` that `keep` and `scope` allow, appended to
    /// `found` (which is emptied first when the journal was cleared since
    /// `mark`); answers the new mark. What a wait scans at each wake-up.
    pub fn scan(
        &self,
        scope: Option<&PmCode>,
        keep: impl Fn(&Delivery) -> bool,
        mark: Option<Mark>,
        found: &mut Vec<Arc<Delivery>>,
    ) -> Mark {
        let state = self.state();
        let from = match mark {
            Some(m) if m.clears == state.clears => m.seq,
            _ => {
                found.clear();
                0
            }
        };
        found.extend(
            state
                .deliveries
                .iter()
                .filter(|d| d.seq > from && visible(scope, &d.pm) && keep(d))
                .cloned(),
        );
        Mark {
            seq: state.seq,
            clears: state.clears,
        }
    }

    /// Forgets the events and attempts of `scope`'s program manager (every
    /// one's with `None`).
    pub fn clear(&self, scope: Option<&PmCode>) {
        let mut state = self.state();
        let state = &mut *state;
        state.clears += 1;
        state.deliveries.retain(|d| !visible(scope, &d.pm));
        let event_of = &mut state.event_of;
        state.events.retain(|e| {
            let gone = visible(scope, &e.pm);
            if gone {
                for (_, n) in &e.notifications {
                    event_of.remove(n);
                }
            }
            !gone
        });
        let seq = state.seq;
        self.bump(seq);
    }

    /// A receiver that sees every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// How many events and attempts it holds (for tests).
    #[cfg(test)]
    pub fn len(&self) -> (usize, usize) {
        let state = self.state();
        (state.events.len(), state.deliveries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn pm(code: &str) -> PmCode {
        PmCode::parse(code).expect("pm")
    }

    fn code() -> EventCode {
        EventCode::from_number(103, "eventCode").expect("code")
    }

    fn fan(pm_code: &str, at: OffsetDateTime) -> (Event, FanOut) {
        let event = Event {
            pm: pm(pm_code),
            product: None,
            code: code(),
            payload: Some(json!({"a": 1})),
            envelope: crate::domain::event_payload::EnvelopeForm::default(),
        };
        let n = Notification::new(
            WebhookId::generate(),
            pm(pm_code),
            code(),
            NotificationId::generate(),
            r#"{"payload":{"a":1}}"#.into(),
            at,
        );
        let fan = FanOut {
            payload: json!({"a": 1}),
            notifications: vec![n],
            skipped: vec![],
        };
        (event, fan)
    }

    fn delivery(fan: &FanOut, at: OffsetDateTime) -> Delivery {
        let n = &fan.notifications[0];
        Delivery {
            seq: 0,
            pm: n.pm_code.clone(),
            notification_id: n.id,
            event_id: None,
            event_code: n.event_code,
            webhook_id: n.webhook_id,
            url: "http://127.0.0.1:1/".into(),
            attempt: 1,
            time: at,
            request_headers: BTreeMap::new(),
            body: n.body.clone(),
            outcome: Outcome::Delivered,
            http_status: Some(200),
            error: None,
            latency_ms: 1,
            notification_status: NotificationStatus::Delivered,
        }
    }

    #[test]
    fn it_keeps_at_most_its_capacity_and_forgets_the_oldest_first() {
        let journal = Journal::new(3, time::Duration::days(30));
        let at = datetime!(2026-12-07 10:00 UTC);
        let mut ids = Vec::new();
        for _ in 0..5 {
            let (event, fan) = fan("TRD", at);
            let (record, _) = journal.event(&event, fan.clone(), at);
            journal.attempted(delivery(&fan, at));
            ids.push((record.id, fan.notifications[0].id));
        }
        assert_eq!(journal.len(), (3, 3));
        assert!(
            journal.find_event(ids[0].0, None).is_none(),
            "the oldest went"
        );
        assert_eq!(journal.event_of(ids[0].1), None, "with its notifications");
        assert_eq!(journal.event_of(ids[4].1), Some(ids[4].0));
        let (page, next) = journal.deliveries(None, |_| true, None, 2);
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].event_id, Some(ids[2].0), "oldest first, linked");
        let (rest, end) = journal.deliveries(None, |_| true, next, 2);
        assert_eq!((rest.len(), end), (1, None));
    }

    #[test]
    fn it_forgets_what_is_older_than_the_retention() {
        let journal = Journal::new(100, time::Duration::days(1));
        let (event, old) = fan("TRD", datetime!(2026-12-01 00:00 UTC));
        journal.event(&event, old.clone(), datetime!(2026-12-01 00:00 UTC));
        journal.attempted(delivery(&old, datetime!(2026-12-01 00:00 UTC)));
        let (event, new) = fan("TRD", datetime!(2026-12-07 00:00 UTC));
        journal.event(&event, new.clone(), datetime!(2026-12-07 00:00 UTC));
        journal.attempted(delivery(&new, datetime!(2026-12-07 00:00 UTC)));
        assert_eq!(journal.len(), (1, 1));
    }

    #[test]
    fn a_scoped_clear_leaves_other_program_managers_and_restarts_scans() {
        let journal = Journal::new(100, time::Duration::days(30));
        let at = datetime!(2026-12-07 10:00 UTC);
        for code in ["AAA", "BBB"] {
            let (event, fan) = fan(code, at);
            journal.event(&event, fan.clone(), at);
            journal.attempted(delivery(&fan, at));
        }
        let mut found = Vec::new();
        let mark = journal.scan(None, |_| true, None, &mut found);
        assert_eq!(found.len(), 2);
        journal.clear(Some(&pm("AAA")));
        journal.scan(None, |_| true, Some(mark), &mut found);
        assert_eq!(found.len(), 1, "a scan after a clear starts again");
        assert_eq!(found[0].pm, pm("BBB"));
        let scoped = journal.events(Some(&pm("AAA")), |_| true, None, 10).0;
        assert!(scoped.is_empty());
        assert_eq!(journal.events(None, |_| true, None, 10).0.len(), 1);
    }
}
