//! Moving the sandbox's clock forward, and running the work that falls due
//! within the jump.
//!
//! A jump is made in steps: the engine first finishes what is due now; then
//! the clock moves to the next due time the engine saw, the engine is woken
//! and finishes what fell due (a failed attempt's retry, counted from the
//! moved clock, may fall due within the jump too), and again, until the next
//! due time lies beyond the target. So the attempts of a jump run in due
//! order, within the engine's usual limits, and a notification whose whole
//! schedule fits in the jump ends within it. The clock then shows the
//! target. The engine tells when it has nothing left to do through [`Idle`].
//!
//! The steps are bounded by [`MAX_STEPS`] and by a budget of wall time
//! (`sandbox.max_wait_ms`): past either, the clock moves to the target at
//! once, the engine catches up on its own, and the answer says the jump was
//! not settled.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{watch, Notify};

use crate::domain::{Clock, MovableClock};
use crate::shutdown::Stopping;

/// The most steps one jump takes.
pub const MAX_STEPS: u32 = 10_000;

/// A look at the outbox that left the engine with nothing to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Idle {
    /// When it looked, by the engine's clock (`None`: not yet).
    pub at: Option<OffsetDateTime>,
    /// The next due time it saw, if any.
    pub next: Option<OffsetDateTime>,
}

/// What a jump did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jump {
    /// Moves of the clock to a due time within the jump.
    pub steps: u32,
    /// Whether the work due within the jump was done before the answer
    /// (`false`: the steps or the budget ran out, or the service is stopping).
    pub settled: bool,
}

/// The engine, as a jump needs it: its wake-up and its idle looks.
pub struct EngineHandle<'a> {
    pub wake: &'a Notify,
    pub idle: &'a watch::Sender<Idle>,
}

/// Moves `clock` forward to `to` in steps (see the module's doc).
pub async fn advance(
    clock: &MovableClock,
    to: OffsetDateTime,
    engine: EngineHandle<'_>,
    budget: Duration,
    stopping: &Stopping,
) -> Jump {
    let deadline = tokio::time::Instant::now() + budget;
    let mut idle = engine.idle.subscribe();
    let mut steps = 0;
    // First what is due now, then each due time within the jump.
    let mut step = clock.now();
    let settled = loop {
        engine.wake.notify_one();
        let looked = tokio::select! {
            looked = idle.wait_for(|i| i.at.is_some_and(|at| at >= step)) => {
                looked.map(|i| *i).ok()
            }
            () = tokio::time::sleep_until(deadline) => None,
            () = stopping.wait() => None,
        };
        let Some(looked) = looked else {
            break false;
        };
        match looked.next {
            Some(next) if next <= to && steps < MAX_STEPS => {
                steps += 1;
                step = clock.advance_to(next);
            }
            Some(next) if next <= to => break false,
            _ => break true,
        }
    };
    clock.advance_to(to);
    // The engine sleeps until its next due time by the clock it read last.
    engine.wake.notify_one();
    Jump { steps, settled }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// An engine stand-in: at each wake it looks at the clock and answers
    /// the next of its due times after it, as idle, after "running" the ones
    /// due (it records the clock at which each ran).
    fn engine(
        clock: Arc<MovableClock>,
        due: Vec<OffsetDateTime>,
    ) -> (
        Arc<Notify>,
        Arc<watch::Sender<Idle>>,
        tokio::task::JoinHandle<Vec<OffsetDateTime>>,
    ) {
        let wake = Arc::new(Notify::new());
        let idle = Arc::new(watch::Sender::new(Idle::default()));
        let (w, i) = (Arc::clone(&wake), Arc::clone(&idle));
        let task = tokio::spawn(async move {
            let mut ran = Vec::new();
            let mut left = due;
            loop {
                w.notified().await;
                let now = clock.now();
                let (now_due, later): (Vec<_>, Vec<_>) = left.iter().partition(|at| **at <= now);
                ran.extend(now_due.iter().map(|_| now));
                left = later;
                i.send_replace(Idle {
                    at: Some(now),
                    next: left.iter().min().copied(),
                });
                if left.is_empty() && ran.len() == 3 {
                    return ran;
                }
            }
        });
        (wake, idle, task)
    }

    #[tokio::test]
    async fn a_jump_stops_at_each_due_time_within_it_in_order() {
        let clock = Arc::new(MovableClock::default());
        let start = clock.now();
        let due = vec![
            start + time::Duration::hours(2),
            start + time::Duration::minutes(5),
            start + time::Duration::days(2),
        ];
        let (wake, idle, task) = engine(Arc::clone(&clock), due.clone());
        let (_signals, stopping) = crate::shutdown::channel();
        let handle = EngineHandle {
            wake: &wake,
            idle: &idle,
        };
        let to = start + time::Duration::hours(3);
        let jump = advance(&clock, to, handle, Duration::from_secs(10), &stopping).await;
        assert_eq!(
            jump,
            Jump {
                steps: 2,
                settled: true
            }
        );
        assert!(clock.now() >= to, "the clock shows the target");
        // The third, two days on, is due after the jump: a second one runs it.
        let handle = EngineHandle {
            wake: &wake,
            idle: &idle,
        };
        let jump = advance(
            &clock,
            start + time::Duration::days(3),
            handle,
            Duration::from_secs(10),
            &stopping,
        )
        .await;
        assert_eq!(jump.steps, 1);
        let ran = task.await.expect("engine");
        assert_eq!(ran.len(), 3);
        assert!(
            ran.windows(2).all(|w| w[0] <= w[1]),
            "in due order: {ran:?}"
        );
        assert!(ran[0] >= due[1] && ran[0] < due[0], "{ran:?}");
        assert!(ran[1] >= due[0] && ran[1] < to, "{ran:?}");
        assert!(ran[2] >= due[2], "{ran:?}");
    }

    #[tokio::test]
    async fn a_jump_without_an_engine_moves_the_clock_and_says_it_is_not_settled() {
        let clock = MovableClock::default();
        let wake = Notify::new();
        let idle = watch::Sender::new(Idle::default());
        let (_signals, stopping) = crate::shutdown::channel();
        let to = clock.now() + time::Duration::hours(1);
        let handle = EngineHandle {
            wake: &wake,
            idle: &idle,
        };
        let jump = advance(&clock, to, handle, Duration::from_millis(20), &stopping).await;
        assert_eq!(
            jump,
            Jump {
                steps: 0,
                settled: false
            }
        );
        assert!(clock.now() >= to);
    }
}
