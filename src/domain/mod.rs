//! Validated domain types: once built, they hold only what the contract allows.
//! Nothing here knows about HTTP or SQL.

pub mod custom_headers;
pub mod event_code;
pub mod event_payload;
pub mod network;
pub mod notification;
pub mod pm_code;
pub mod problem;
pub mod webhook;
pub mod webhook_url;

pub use custom_headers::CustomHeaders;
pub use event_code::{EventCode, EventSet};
pub use network::BlockedNetworks;
pub use notification::{
    Attempt, AttemptOutcome, Notification, NotificationId, NotificationStatus, Resend,
};
pub use pm_code::PmCode;
pub use problem::{quote, ErrorCode, Problem, Problems};
pub use webhook::{
    now_utc, HealthStatus, Heartbeat, ProductId, Webhook, WebhookConfig, WebhookId, WebhookSpec,
    WebhookStatus,
};
pub use webhook_url::{UrlRules, WebhookUrl};
