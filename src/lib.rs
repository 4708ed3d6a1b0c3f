//! webhook-manager: a self-hosted implementation of Thredd's Webhook Management API.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod outbound;
pub mod routes;
pub mod runtime;
pub mod sandbox;
pub mod seed;
pub mod shutdown;
pub mod startup;
pub mod store;
