#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing
//! Black-box tests: each starts the real `webhook-manager` binary on a free port
//! with its own temporary database and talks to it, and to real local receivers,
//! over HTTP. One test binary, one module per feature.

mod helpers;
mod receiver;
/// PostgreSQL clusters for the tests: the library's own test support, which
/// the shipped binary leaves out.
#[allow(dead_code)]
#[path = "../../src/store/postgres/throwaway.rs"]
mod throwaway;

mod auth;
mod chaos;
mod cli;
mod clock;
mod configs;
mod corpus;
mod crash;
mod dashboard;
mod delivery;
mod docs;
mod envelopes;
mod errors;
mod faults;
mod fixtures;
mod fraud;
mod guard;
mod heartbeat;
mod inbox_scripts;
mod lifecycle;
mod messages;
mod metrics;
mod notifications;
mod postgres;
mod sandbox;
mod scenarios;
mod scoping;
mod stream;
mod subscriptions;
mod token;
mod webhooks;
