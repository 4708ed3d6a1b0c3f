//! The domain: validated types (once built, they hold only what the contract
//! allows) and the rules of webhooks, events and notifications. Nothing here
//! knows about HTTP or SQL; every other layer depends on this one.

pub mod chaos;
pub mod configuration;
pub mod custom_headers;
pub mod event;
pub mod event_code;
pub mod event_payload;
pub mod fraud;
pub mod inbox;
pub mod inbox_script;
pub mod network;
pub mod notification;
pub mod pm_code;
pub mod problem;
pub mod queue;
pub mod scenario;
pub mod sensitive;
pub mod time;
pub mod webhook;
pub mod webhook_body;
pub mod webhook_document;
pub mod webhook_url;

pub use self::time::{Clock, MovableClock, SystemClock, TestClock};
pub use configuration::{ConfigId, ConfigSpec, ConfigStatus, Configuration};
pub use custom_headers::CustomHeaders;
pub use event::{Event, EventId, FanOut, Skip, WebhookKeys};
pub use event_code::{EventCode, EventSet};
pub use fraud::{AlertState, FraudAlert, FraudAlertId, FraudAnswer, FraudResponse};
pub use network::BlockedNetworks;
pub use notification::{
    suspends, Attempt, AttemptOutcome, ClaimToken, Notification, NotificationId,
    NotificationStatus, ReceiverReply, Resend,
};
pub use pm_code::PmCode;
pub use problem::{quote, whole_number, ErrorCode, Problem, Problems};
pub use queue::{BackingOff, Backoff, GiveUp, QueueHealth, ScheduleStep, Waiting};
pub use webhook::{
    HealthStatus, Heartbeat, ProductId, Refusal, Webhook, WebhookConfig, WebhookId, WebhookSpec,
    WebhookStatus,
};
pub use webhook_body::WebhookBody;
pub use webhook_document::WebhookDocument;
pub use webhook_url::{UrlRules, WebhookUrl};
