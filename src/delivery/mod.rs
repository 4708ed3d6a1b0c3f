//! Event delivery: sends each due notification to its webhook, retries it on the
//! configured schedule, and records every attempt.
//!
//! Shape: the outbox is the work queue (`store::Outbox`), with a queue per
//! webhook. The engine claims due notifications a page at a time, ready queues
//! soonest first and each within its room (`delivery.per_webhook_concurrency`,
//! one probe while a failing receiver backs off: `domain::queue`), never more
//! than it has free attempt slots (`delivery.concurrency`), so what it holds is
//! bounded by that, not by the backlog. Each claim has a lease; the attempt's
//! outcome is recorded under the claim, which releases it, in the same write
//! that claims the slot's next notification; a retry is simply a later due time
//! in the store. An engine that dies leaves claims that lapse, and any
//! engine takes them over: delivery is at least once, and the notification id
//! (`webhook-id` when signing) is the same on every attempt so that a receiver
//! can drop a duplicate. The engine sleeps until the next due time, or until
//! the store wakes it after a commit that makes a notification due now.
//!
//! It runs on a thread of its own with its own single-threaded runtime and HTTP
//! client, so deliveries never take time from the API's workers; each attempt
//! is its own task, so one slow receiver never holds up another. Every "now"
//! comes from the engine's [`Clock`], so retries, backoff and suspension are
//! tested without waiting.
//!
//! The folder: `engine` (the thread, its loop of claims and the attempt
//! slots), `attempt` (one attempt as typed stages: prepare, call, record),
//! `failure_log` (what the log says while a receiver fails), `retention` (the
//! purge of old final notifications) and `activity` (the last hour of
//! attempts, for the dashboard's strip).

pub mod activity;
mod attempt;
mod engine;
mod failure_log;
pub mod retention;
#[cfg(test)]
mod tests;

pub use self::engine::{lease, Engine, EngineStats};
