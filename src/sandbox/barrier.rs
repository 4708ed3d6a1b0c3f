//! The reset's barrier: every outbound call (a delivery attempt, a heartbeat)
//! passes it before it sends, and a reset waits for the calls of the program
//! managers it resets, cancelling them, so that nothing made before a reset
//! reaches a receiver after its answer.
//!
//! - A call *enters* with the generation it read before it claimed its work;
//!   it is refused while a reset of its program manager is under way, and when
//!   one has ended since that generation (what it claimed may be gone).
//! - A reset closes the barrier for its scope, cancels the calls in flight in
//!   it (the call drops its request and records nothing), waits until they
//!   have left, runs its work (the store's reset), then opens again with a new
//!   generation.
//!
//! Bounded: the calls in flight, and the last [`REMEMBERED`] resets.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::domain::PmCode;

/// The resets remembered for calls that entered with an older generation; a
/// call older than all of them is refused (its claim lapses and is taken again).
const REMEMBERED: usize = 64;

/// `None`: every program manager.
type Scope = Option<PmCode>;

fn covers(scope: &Scope, pm: &PmCode) -> bool {
    scope.as_ref().is_none_or(|s| s == pm)
}

#[derive(Debug, Default)]
struct State {
    generation: u64,
    next_pass: u64,
    in_flight: HashMap<u64, (PmCode, Arc<Notify>)>,
    /// The scopes of the resets under way.
    closed: Vec<Scope>,
    /// The last resets: the generation each ended with, and its scope.
    ended: VecDeque<(u64, Scope)>,
}

/// See the module's documentation.
#[derive(Debug, Default)]
pub struct Barrier {
    state: Mutex<State>,
    /// Notified whenever a call leaves.
    left: Notify,
}

/// A call through the barrier; it leaves when dropped.
#[derive(Debug)]
pub struct Pass {
    barrier: Arc<Barrier>,
    id: u64,
    cancel: Arc<Notify>,
}

impl Pass {
    /// Resolves when a reset cancels this call.
    pub async fn cancelled(&self) {
        self.cancel.notified().await;
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        self.barrier.state().in_flight.remove(&self.id);
        self.barrier.left.notify_waiters();
    }
}

impl Barrier {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The generation to enter with: read it before claiming the work.
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Lets a call of program manager `pm` through, unless a reset of `pm` is
    /// under way or has ended since `since`.
    pub fn enter(self: &Arc<Self>, pm: &PmCode, since: u64) -> Option<Pass> {
        let mut state = self.state();
        if state.closed.iter().any(|s| covers(s, pm)) {
            return None;
        }
        if state.generation != since {
            let remembered = state
                .ended
                .front()
                .is_some_and(|(first, _)| *first <= since + 1);
            let reset_since = state
                .ended
                .iter()
                .any(|(generation, scope)| *generation > since && covers(scope, pm));
            if !remembered || reset_since {
                return None;
            }
        }
        state.next_pass += 1;
        let id = state.next_pass;
        let cancel = Arc::new(Notify::new());
        state
            .in_flight
            .insert(id, (pm.clone(), Arc::clone(&cancel)));
        Some(Pass {
            barrier: Arc::clone(self),
            id,
            cancel,
        })
    }

    /// Closes the barrier for `scope`, cancels its calls in flight and waits
    /// for them to leave, runs `work`, and opens again with a new generation
    /// (also when `work` fails). Answers what `work` answered.
    pub async fn reset<T>(
        &self,
        scope: Option<&PmCode>,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let scope: Scope = scope.cloned();
        {
            let mut state = self.state();
            state.closed.push(scope.clone());
            for (pm, cancel) in state.in_flight.values() {
                if covers(&scope, pm) {
                    // Kept as a permit if the call is not listening yet.
                    cancel.notify_one();
                }
            }
        }
        let reopen = Reopen {
            barrier: self,
            scope: Some(scope),
        };
        loop {
            let left = self.left.notified();
            tokio::pin!(left);
            left.as_mut().enable();
            let waiting = {
                let state = self.state();
                let scope = reopen.scope.as_ref().and_then(|s| s.as_ref());
                state
                    .in_flight
                    .values()
                    .any(|(pm, _)| scope.is_none_or(|s| s == pm))
            };
            if !waiting {
                break;
            }
            left.await;
        }
        let answer = work.await;
        drop(reopen);
        answer
    }

    /// How many calls are in flight (for tests).
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.state().in_flight.len()
    }
}

/// Opens the barrier for a reset's scope when the reset ends (or its future
/// is dropped half way), with a new generation.
struct Reopen<'a> {
    barrier: &'a Barrier,
    scope: Option<Scope>,
}

impl Drop for Reopen<'_> {
    fn drop(&mut self) {
        let Some(scope) = self.scope.take() else {
            return;
        };
        let mut state = self.barrier.state();
        if let Some(i) = state.closed.iter().position(|s| *s == scope) {
            state.closed.remove(i);
        }
        state.generation += 1;
        let generation = state.generation;
        state.ended.push_back((generation, scope));
        while state.ended.len() > REMEMBERED {
            state.ended.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(code: &str) -> PmCode {
        PmCode::parse(code).expect("pm")
    }

    #[tokio::test]
    async fn a_reset_cancels_its_calls_waits_for_them_and_refuses_stale_ones() {
        let barrier = Arc::new(Barrier::default());
        let before = barrier.generation();
        let a = barrier.enter(&pm("AAA"), before).expect("open");
        let b = barrier.enter(&pm("BBB"), before).expect("open");
        let resetting = {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move { barrier.reset(Some(&pm("AAA")), async { "done" }).await })
        };
        // A's call sees the cancel and leaves; B's is not touched.
        a.cancelled().await;
        drop(a);
        assert_eq!(resetting.await.expect("joined"), "done");
        assert_eq!(barrier.in_flight(), 1, "B's call is still in flight");
        drop(b);
        assert!(
            barrier.enter(&pm("AAA"), before).is_none(),
            "A's work claimed before the reset may be gone"
        );
        assert!(
            barrier.enter(&pm("BBB"), before).is_some(),
            "B was not reset"
        );
        assert!(barrier.enter(&pm("AAA"), barrier.generation()).is_some());
    }

    #[tokio::test]
    async fn a_call_is_refused_while_a_reset_of_its_program_manager_runs() {
        let barrier = Arc::new(Barrier::default());
        let generation = barrier.generation();
        let inside = barrier
            .reset(None, async {
                (
                    barrier.enter(&pm("AAA"), generation).is_none(),
                    barrier.in_flight(),
                )
            })
            .await;
        assert_eq!(inside, (true, 0));
        assert!(barrier.enter(&pm("AAA"), generation).is_none());
        assert!(barrier.enter(&pm("AAA"), barrier.generation()).is_some());
    }

    #[tokio::test]
    async fn calls_too_old_to_judge_are_refused() {
        let barrier = Arc::new(Barrier::default());
        let generation = barrier.generation();
        for _ in 0..REMEMBERED + 1 {
            barrier.reset(Some(&pm("BBB")), async {}).await;
        }
        assert!(barrier.enter(&pm("AAA"), generation).is_none());
        assert!(barrier
            .enter(&pm("AAA"), barrier.generation() - 1)
            .is_some());
    }
}
