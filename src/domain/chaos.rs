//! Disorder on request: what Thredd warns its clients of, made to happen to
//! one webhook in the sandbox. `duplicates`: each delivered notification is
//! delivered a second time, with the same id, as an at-least-once
//! redelivery would. `reorder`: 103s (card status changes, which Thredd
//! sends in batches in no particular order) are held for a window and then
//! delivered in a shuffled order, drawn from a seeded generator, so one seed
//! gives one order whatever the timing of the triggers.

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::event_code::EventCode;
use super::problem::{whole_number, ErrorCode, Problem, Problems};

/// The default hold of a reorder batch.
pub const DEFAULT_WINDOW_MS: u64 = 1_000;
/// The longest hold a client may ask for.
pub const MAX_WINDOW_MS: u64 = 60_000;
/// The shuffled notifications of a batch are due within this after the
/// window: each at its own millisecond, drawn from the seed.
pub const SPREAD_MS: u32 = 1_000;

/// One webhook's disorder, as a client asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chaos {
    pub duplicates: bool,
    pub reorder: bool,
    pub seed: u64,
    pub window_ms: u64,
}

impl Chaos {
    /// Orderly delivery: what a webhook has until a client asks otherwise.
    pub const OFF: Self = Self {
        duplicates: false,
        reorder: false,
        seed: 0,
        window_ms: DEFAULT_WINDOW_MS,
    };

    /// `{"duplicates": bool, "reorder": bool, "seed"?: n, "windowMs"?: n}`:
    /// both flags required (`false` turns one off); the seed defaults to 0.
    pub fn from_json(body: &Value) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::default();
        let flag = |field: &str| match body.get(field) {
            Some(Value::Bool(on)) => Ok(*on),
            _ => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                field,
                format!("{field} must be true or false."),
            )),
        };
        let number = |field: &str, default: u64, most: u64| match body.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => whole_number(v).filter(|n| *n <= most).ok_or_else(|| {
                Problem::at(
                    ErrorCode::InvalidRequestBody,
                    field,
                    format!("{field} must be a whole number from 0 to {most}."),
                )
            }),
        };
        let duplicates = problems.take(flag("duplicates"));
        let reorder = problems.take(flag("reorder"));
        let seed = problems.take(number("seed", 0, u64::from(u32::MAX)));
        let window_ms = problems.take(number("windowMs", DEFAULT_WINDOW_MS, MAX_WINDOW_MS));
        match (duplicates, reorder, seed, window_ms) {
            (Some(duplicates), Some(reorder), Some(seed), Some(window_ms)) => Ok(Self {
                duplicates,
                reorder,
                seed,
                window_ms,
            }),
            _ => Err(problems.into_vec()),
        }
    }

    /// Whether it does anything.
    pub fn is_on(&self) -> bool {
        self.duplicates || self.reorder
    }

    /// Whether a notification of `code` is held and shuffled.
    pub fn reorders(&self, code: EventCode) -> bool {
        self.reorder && code == EventCode::CARD_STATUS_CHANGE
    }
}

/// A webhook's reorder state: the batch being held and the seeded generator
/// that orders it.
#[derive(Debug, Clone)]
pub struct Reorder {
    rng: fastrand::Rng,
    window: Duration,
    /// The open batch: when it is released, and the offsets taken in it.
    batch: Option<(OffsetDateTime, Vec<u32>)>,
}

impl Reorder {
    pub fn new(chaos: &Chaos) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(chaos.seed),
            window: Duration::milliseconds(i64::try_from(chaos.window_ms).unwrap_or(0)),
            batch: None,
        }
    }

    /// When a notification held at `now` falls due: the batch opened by the
    /// first held one is released a window later, each of its notifications
    /// at its own offset within [`SPREAD_MS`] after that, drawn from the seed.
    pub fn hold(&mut self, now: OffsetDateTime) -> OffsetDateTime {
        let (release, taken) = match &mut self.batch {
            Some((release, taken)) if now < *release => (*release, taken),
            _ => {
                let batch = self.batch.insert((now + self.window, Vec::new()));
                (batch.0, &mut batch.1)
            }
        };
        // A batch has at most SPREAD_MS offsets; past that they repeat.
        let offset = loop {
            let offset = self.rng.u32(0..SPREAD_MS);
            if taken.len() >= SPREAD_MS as usize || !taken.contains(&offset) {
                break offset;
            }
        };
        taken.push(offset);
        release + Duration::milliseconds(i64::from(offset))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_body_names_every_bad_field() {
        let ok = Chaos::from_json(&json!({"duplicates": true, "reorder": false, "seed": 7}))
            .expect("valid");
        assert_eq!(ok.window_ms, DEFAULT_WINDOW_MS);
        assert!(ok.is_on());
        let problems =
            Chaos::from_json(&json!({"duplicates": "yes", "seed": -1, "windowMs": 60_001}))
                .expect_err("invalid");
        let fields: Vec<_> = problems.iter().filter_map(|p| p.field.as_deref()).collect();
        assert_eq!(fields, ["duplicates", "reorder", "seed", "windowMs"]);
    }

    #[test]
    fn one_seed_gives_one_order_whatever_the_timing() {
        let chaos = Chaos {
            duplicates: false,
            reorder: true,
            seed: 7,
            window_ms: 1_000,
        };
        let start = datetime!(2026-12-07 10:00 UTC);
        let due = |gaps: &[i64]| {
            let mut r = Reorder::new(&chaos);
            gaps.iter()
                .map(|g| r.hold(start + Duration::milliseconds(*g)))
                .collect::<Vec<_>>()
        };
        let a = due(&[0, 1, 2, 3, 4, 5]);
        let b = due(&[0, 300, 301, 700, 800, 999]);
        assert_eq!(
            a, b,
            "the triggers' timing within the window does not matter"
        );
        let mut sorted = a.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), a.len(), "each at its own time");
        assert_ne!(sorted, a, "shuffled");
        assert!(
            a.iter().all(|t| *t >= start + Duration::seconds(1)),
            "held a window"
        );
        let mut r = Reorder::new(&chaos);
        let first = r.hold(start);
        let next = r.hold(start + Duration::seconds(2));
        assert!(
            next >= start + Duration::seconds(3),
            "a new batch after the window: {first} {next}"
        );
    }
}
