//! webhook-manager: a self-hosted implementation of Thredd's Webhook Management API.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod heartbeat;
pub mod startup;
pub mod store;
