//! Notifications: one event sent to one webhook, and the attempts to deliver it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use uuid::Uuid;

use super::event_code::EventCode;
use super::pm_code::PmCode;
use super::problem::{quote, ErrorCode, Problem};
use super::time::truncate_to_seconds;
use super::webhook::{Refusal, WebhookId};

/// A notification id: a UUID, written lower-case and hyphenated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationId(Uuid);

impl NotificationId {
    /// The greatest id: an upper bound for ordered keys that end in an id.
    pub const LAST: Self = Self(Uuid::max());

    /// A new id: a time-ordered UUID (version 7: the time in milliseconds,
    /// then 74 random bits). Ids made later sort after earlier ones, so a new
    /// notification is appended at the end of the store's id index instead of
    /// landing on a random page of it; with a million notifications stored,
    /// random (version 4) ids made every insert touch a page that was not in
    /// the cache.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(raw: &str) -> Result<Self, Problem> {
        Uuid::parse_str(raw).map(Self).map_err(|_| {
            Problem::at(
                ErrorCode::InvalidNotificationId,
                "notificationIds",
                format!("{} is not a valid notification id (a UUID).", quote(raw)),
            )
        })
    }
}

impl fmt::Display for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A claim on a pending notification: it names the engine that holds it and is
/// different for every claim, so an engine whose lease lapsed (and was taken
/// over) cannot record an outcome under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(String);

impl ClaimToken {
    /// A new claim by `engine`.
    pub fn new(engine: &str) -> Self {
        Self(format!("{engine}/{}", Uuid::new_v4().simple()))
    }

    /// Rebuilds a token read back from storage.
    pub fn from_stored(token: String) -> Self {
        Self(token)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a notification stands: `Pending` until a receiver answers 2xx
/// (`Delivered`) or the last retry fails (`Undelivered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    Pending,
    Delivered,
    Undelivered,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Delivered => "Delivered",
            Self::Undelivered => "Undelivered",
        }
    }
}

impl FromStr for NotificationStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Pending" => Ok(Self::Pending),
            "Delivered" => Ok(Self::Delivered),
            "Undelivered" => Ok(Self::Undelivered),
            other => Err(format!("unknown notification status {other:?}")),
        }
    }
}

/// One event for one webhook. `body` is the exact JSON envelope sent on every
/// attempt, so a receiver that checks a signature or deduplicates by body sees
/// the same bytes each time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub webhook_id: WebhookId,
    pub pm_code: PmCode,
    pub event_code: EventCode,
    pub body: String,
    pub status: NotificationStatus,
    pub created_time: OffsetDateTime,
    pub last_sent_time: Option<OffsetDateTime>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Attempts made before the current delivery cycle (a resend starts a new
    /// one); the retry schedule counts from here.
    pub cycle_start: u32,
    /// When the next attempt is due; `None` once the notification is final, and
    /// while it waits (parked) for its webhook to be set active again.
    pub next_attempt: Option<OffsetDateTime>,
}

impl Notification {
    /// A new notification, due at once.
    pub fn new(
        webhook_id: WebhookId,
        pm_code: PmCode,
        event_code: EventCode,
        id: NotificationId,
        body: String,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            webhook_id,
            pm_code,
            event_code,
            body,
            status: NotificationStatus::Pending,
            created_time: now,
            last_sent_time: None,
            attempts: 0,
            cycle_start: 0,
            next_attempt: Some(now),
        }
    }

    /// Failed attempts in the current delivery cycle.
    pub fn failures_this_cycle(&self) -> u32 {
        self.attempts.saturating_sub(self.cycle_start)
    }

    /// Moves a pending notification on after one attempt. Answers whether this
    /// attempt made it final (`Delivered` or `Undelivered`).
    pub fn record(&mut self, attempt: &Attempt, outcome: AttemptOutcome) -> bool {
        self.attempts += 1;
        // Like the other notification times it is kept to the second; the
        // attempt itself keeps milliseconds.
        self.last_sent_time = Some(truncate_to_seconds(attempt.time));
        let (status, next) = match outcome {
            AttemptOutcome::Delivered => (NotificationStatus::Delivered, None),
            AttemptOutcome::RetryAt(at) => (NotificationStatus::Pending, Some(at)),
            AttemptOutcome::Undelivered | AttemptOutcome::Gone => {
                (NotificationStatus::Undelivered, None)
            }
        };
        self.status = status;
        self.next_attempt = next;
        status != NotificationStatus::Pending
    }

    /// Ends a pending notification that waited past its schedule's end while
    /// its queue backed off (`GiveUp`): `Undelivered`, with no attempt spent.
    pub fn give_up(&mut self) {
        self.status = NotificationStatus::Undelivered;
        self.next_attempt = None;
    }

    /// Starts a new delivery cycle, due `now`, with the whole retry schedule
    /// ahead of it again. A notification still `Pending` is being delivered
    /// already and is left alone.
    pub fn resend(&mut self, now: OffsetDateTime) -> Resend {
        if self.status == NotificationStatus::Pending {
            return Resend::Unable;
        }
        self.status = NotificationStatus::Pending;
        self.cycle_start = self.attempts;
        self.next_attempt = Some(now);
        Resend::Initiated(self.clone())
    }
}

impl Notification {
    /// "Deliver now" (the sandbox's, not Thredd's): a pending notification
    /// waiting for its next attempt is due at `now` instead. A final one is
    /// refused; one being attempted right now is left as it is.
    pub fn deliver_now(&mut self, now: OffsetDateTime) -> Result<(), Refusal> {
        if self.status != NotificationStatus::Pending {
            return Err(Refusal::NotPending(self.status.as_str()));
        }
        self.next_attempt = Some(self.next_attempt.map_or(now, |at| at.min(now)));
        Ok(())
    }
}

/// Whether an attempt's outcome suspends its webhook: a `410 Gone`, or the
/// webhook's last `suspend_after` notifications to become final (newest first
/// in `recent_final`, this one included) all ended `Undelivered`.
pub fn suspends(
    outcome: AttemptOutcome,
    recent_final: &[NotificationStatus],
    suspend_after: u32,
) -> bool {
    match outcome {
        AttemptOutcome::Gone => true,
        AttemptOutcome::Undelivered => {
            let n = suspend_after as usize;
            recent_final.len() >= n
                && recent_final[..n]
                    .iter()
                    .all(|s| *s == NotificationStatus::Undelivered)
        }
        AttemptOutcome::Delivered | AttemptOutcome::RetryAt(_) => false,
    }
}

/// What one delivery attempt sent and saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub time: OffsetDateTime,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
    /// The headers the service set on the request, by lower-case name, the
    /// values of the webhook's custom headers masked (they often carry a secret).
    pub request_headers: BTreeMap<String, String>,
    /// What the receiver answered; `None` when no answer came.
    pub reply: Option<ReceiverReply>,
}

/// A receiver's answer, as kept with an attempt: its headers and the start of
/// its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReply {
    /// By lower-case name; a header sent more than once is joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The first [`REPLY_BODY_LIMIT`] bytes of the body, as text (invalid UTF-8
    /// replaced).
    pub body: String,
    /// Whether the body was longer than what is kept.
    pub body_truncated: bool,
}

/// How much of a receiver's answer body an attempt keeps.
pub const REPLY_BODY_LIMIT: usize = 4096;

/// What [`Attempt::request_headers`] shows in place of a custom header's value.
pub const MASKED: &str = "***";

impl ReceiverReply {
    /// Keeps the headers and at most [`REPLY_BODY_LIMIT`] bytes of `body`, cut
    /// at a character boundary.
    pub fn new(headers: BTreeMap<String, String>, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let body_truncated = text.len() > REPLY_BODY_LIMIT;
        let mut cut = text.len().min(REPLY_BODY_LIMIT);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        Self {
            headers,
            body: text[..cut].to_owned(),
            body_truncated,
        }
    }
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed; try again at this time.
    RetryAt(OffsetDateTime),
    /// It failed and there is no retry left.
    Undelivered,
    /// The receiver answered `410 Gone`: no retry, and the webhook is suspended.
    Gone,
}

/// What a resend request did with one notification id, in Thredd's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resend {
    /// A new delivery cycle started; the notification, now `Pending` and due.
    Initiated(Notification),
    /// The notification is still `Pending`: it is being delivered already.
    Unable,
    /// No such notification for this webhook.
    Invalid,
}

impl Resend {
    /// Thredd's `resendStatus`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Initiated(_) => "Resend request initiated",
            Self::Unable => "Unable to resend request",
            Self::Invalid => "Invalid notification details",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn notification() -> Notification {
        let code = EventCode::from_number(101, "eventCode").expect("catalogued");
        let pm = PmCode::parse("TRD").expect("valid");
        let at = datetime!(2024-01-24 23:20:28 UTC);
        Notification::new(
            WebhookId::generate(),
            pm,
            code,
            NotificationId::generate(),
            "{}".into(),
            at,
        )
    }

    #[test]
    fn an_attempt_moves_a_notification_on() {
        let t = datetime!(2024-01-24 23:21:00.250 UTC);
        let attempt = Attempt {
            time: t,
            http_status: Some(500),
            error: None,
            latency_ms: 1,
            request_headers: BTreeMap::new(),
            reply: None,
        };
        let later = t + time::Duration::seconds(5);
        let cases = [
            (
                AttemptOutcome::Delivered,
                NotificationStatus::Delivered,
                None,
                true,
            ),
            (
                AttemptOutcome::RetryAt(later),
                NotificationStatus::Pending,
                Some(later),
                false,
            ),
            (
                AttemptOutcome::Undelivered,
                NotificationStatus::Undelivered,
                None,
                true,
            ),
            (
                AttemptOutcome::Gone,
                NotificationStatus::Undelivered,
                None,
                true,
            ),
        ];
        for (outcome, status, next, final_) in cases {
            let mut n = notification();
            assert_eq!(n.record(&attempt, outcome), final_, "{outcome:?}");
            assert_eq!(
                (n.status, n.next_attempt, n.attempts),
                (status, next, 1),
                "{outcome:?}"
            );
            assert_eq!(
                n.last_sent_time,
                Some(datetime!(2024-01-24 23:21:00 UTC)),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn resend_starts_a_new_cycle_for_a_final_notification_only() {
        let mut n = notification();
        assert_eq!(
            n.resend(datetime!(2024-01-25 00:00 UTC)),
            Resend::Unable,
            "still pending"
        );
        let attempt = Attempt {
            time: n.created_time,
            http_status: None,
            error: None,
            latency_ms: 0,
            request_headers: BTreeMap::new(),
            reply: None,
        };
        n.record(&attempt, AttemptOutcome::RetryAt(n.created_time));
        n.record(&attempt, AttemptOutcome::Undelivered);
        assert_eq!(n.failures_this_cycle(), 2);
        let now = datetime!(2024-01-25 00:00 UTC);
        let Resend::Initiated(again) = n.resend(now) else {
            panic!("a final notification is resent");
        };
        assert_eq!(again, n, "the answer is the notification as stored");
        assert_eq!(
            (n.status, n.next_attempt),
            (NotificationStatus::Pending, Some(now))
        );
        assert_eq!(
            (n.attempts, n.cycle_start, n.failures_this_cycle()),
            (2, 2, 0)
        );
    }

    #[test]
    fn a_reply_keeps_4_kib_of_the_body_cut_at_a_character() {
        let cases: [(Vec<u8>, usize, bool); 4] = [
            (b"ok".to_vec(), 2, false),
            (vec![b'a'; REPLY_BODY_LIMIT], REPLY_BODY_LIMIT, false),
            (vec![b'a'; REPLY_BODY_LIMIT + 1], REPLY_BODY_LIMIT, true),
            // '€' is three bytes: the 4,096th byte would split one, so it goes.
            ("€".repeat(1366).into_bytes(), REPLY_BODY_LIMIT - 1, true),
        ];
        for (body, kept, truncated) in cases {
            let reply = ReceiverReply::new(BTreeMap::new(), &body);
            assert_eq!(
                (reply.body.len(), reply.body_truncated),
                (kept, truncated),
                "{} bytes",
                body.len()
            );
        }
    }

    #[test]
    fn suspension_rules() {
        use AttemptOutcome::*;
        use NotificationStatus::{Delivered as D, Undelivered as U};
        let retry = RetryAt(datetime!(2024-01-25 00:00 UTC));
        let cases: [(AttemptOutcome, &[NotificationStatus], u32, bool); 8] = [
            (Gone, &[U], 5, true),
            (Gone, &[], 5, true),
            (Undelivered, &[U, U, U], 3, true),
            (Undelivered, &[U, U, U, D], 3, true),
            (Undelivered, &[U, U], 3, false),
            (Undelivered, &[U, D, U], 3, false),
            (Delivered, &[D, U, U], 1, false),
            (retry, &[U, U, U], 1, false),
        ];
        for (outcome, recent, n, expected) in cases {
            assert_eq!(
                suspends(outcome, recent, n),
                expected,
                "{outcome:?} {recent:?} n={n}"
            );
        }
    }
}
