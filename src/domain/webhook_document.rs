//! A webhook's document: the JSON object the API answers with (API.md, the
//! webhook resource), rendered once, when the webhook is written.
//!
//! Why: reads are the hot path, and a webhook is read far more often than it is
//! written. Rendering it on every read (formatting the id and two times,
//! walking its headers) cost more than the lookup itself. Every backend keeps
//! each webhook as its document (SQLite and PostgreSQL beside the keys that
//! queries need, and the format version): a read answers these bytes
//! as they are (a list is their concatenation), and a rule that needs the
//! webhook itself reads it back with [`WebhookDocument::webhook`]. One
//! representation also keeps the resident cost per webhook small.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::custom_headers::CustomHeaders;
use super::event_code::{EventCode, EventSet};
use super::pm_code::PmCode;
use super::time::rfc3339_seconds;
use super::webhook::{Heartbeat, ProductId, Webhook, WebhookConfig, WebhookId};
use super::webhook_url::WebhookUrl;

/// The rendered JSON object of one webhook; cheap to clone (shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDocument(Arc<str>);

impl WebhookDocument {
    /// The format `render` writes, stored beside each document. A change to
    /// the document's shape bumps it, and the upgrade step that comes with it
    /// re-renders the stored documents; a store refuses documents in a format
    /// it does not know rather than answer them.
    pub const FORMAT: i64 = 1;

    /// Whether a store may answer its documents, given a stored format that
    /// is not [`WebhookDocument::FORMAT`] (`None`: every row has it). The
    /// error says why it may not, for the store's open error.
    pub fn readable(other: Option<i64>) -> Result<(), String> {
        match other {
            None => Ok(()),
            Some(format) => Err(format!(
                "it holds webhook documents in format {format}, which this binary does not read (it reads format {}); use a newer webhook-manager",
                Self::FORMAT
            )),
        }
    }

    pub fn render(webhook: &Webhook) -> Self {
        // Serialising plain strings, numbers and maps into a Vec cannot fail.
        let json = serde_json::to_string(&WebhookView::from(webhook)).unwrap_or_default();
        Self(json.into())
    }

    /// A document read back from storage, where [`WebhookDocument::render`]
    /// (or schema version 6's migration) wrote it.
    pub fn from_stored(json: &str) -> Self {
        Self(json.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The webhook this document describes. It was validated when written, so
    /// a failure means corrupt storage; the message names what was wrong.
    pub fn webhook(&self) -> Result<Webhook, String> {
        let read: ReadView =
            serde_json::from_str(&self.0).map_err(|e| format!("webhook document: {e}"))?;
        let time = |raw: &str| {
            OffsetDateTime::parse(raw, &Rfc3339).map_err(|e| format!("time {raw:?}: {e}"))
        };
        let events = read
            .events
            .into_iter()
            .map(|n| EventCode::from_number(i64::from(n), "events").map_err(|p| p.message))
            .collect::<Result<EventSet, _>>()?;
        let last_heartbeat = match read.last_heartbeat {
            None => None,
            Some(h) => Some(Heartbeat {
                health_status: h.health_status.parse()?,
                http_status: h.http_status,
                latency_ms: h.latency_ms,
                error: h.error,
                checked_time: time(&h.checked_time)?,
            }),
        };
        Ok(Webhook {
            id: WebhookId::parse(&read.webhook_id).map_err(|p| p.message)?,
            pm_code: PmCode::parse(&read.program_manager_code).map_err(|p| p.message)?,
            product_id: read.product_id.map(ProductId::from_stored),
            events,
            status: read.webhook_status.parse()?,
            config: WebhookConfig {
                url: WebhookUrl::from_stored(read.config.url),
                custom_headers: CustomHeaders::from_stored(read.config.custom_headers),
            },
            created_time: time(&read.created_time)?,
            last_modified_time: time(&read.last_modified_time)?,
            last_heartbeat,
        })
    }
}

/// A webhook on the wire. It borrows from the webhook, so rendering copies
/// nothing but the id and the formatted times.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookView<'a> {
    webhook_id: String,
    program_manager_code: &'a str,
    product_id: Option<u64>,
    events: Vec<u16>,
    webhook_status: &'static str,
    config: ConfigView<'a>,
    created_time: String,
    last_modified_time: String,
    /// The last heartbeat verdict, `null` before the first.
    last_heartbeat: Option<HeartbeatView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigView<'a> {
    url: &'a str,
    custom_headers: &'a BTreeMap<String, String>,
}

impl<'a> From<&'a Webhook> for WebhookView<'a> {
    fn from(w: &'a Webhook) -> Self {
        Self {
            webhook_id: w.id.to_string(),
            program_manager_code: w.pm_code.as_str(),
            product_id: w.product_id.map(ProductId::value),
            events: w.events.iter().map(EventCode::value).collect(),
            webhook_status: w.status.as_str(),
            config: ConfigView {
                url: w.config.url.as_str(),
                custom_headers: w.config.custom_headers.as_map(),
            },
            created_time: rfc3339_seconds(w.created_time),
            last_modified_time: rfc3339_seconds(w.last_modified_time),
            last_heartbeat: w.last_heartbeat.as_ref().map(HeartbeatView::from),
        }
    }
}

/// A heartbeat verdict on the wire: Thredd's `healthStatus` plus what was seen.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatView {
    health_status: &'static str,
    http_status: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
    checked_time: String,
}

impl From<&Heartbeat> for HeartbeatView {
    fn from(h: &Heartbeat) -> Self {
        Self {
            health_status: h.health_status.as_str(),
            http_status: h.http_status,
            latency_ms: h.latency_ms,
            error: h.error.clone(),
            checked_time: rfc3339_seconds(h.checked_time),
        }
    }
}

/// The document read back; every field is required, as `render` writes them all.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadView {
    webhook_id: String,
    program_manager_code: String,
    product_id: Option<u64>,
    events: Vec<u16>,
    webhook_status: String,
    config: ReadConfig,
    created_time: String,
    last_modified_time: String,
    last_heartbeat: Option<ReadHeartbeat>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadConfig {
    url: String,
    custom_headers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadHeartbeat {
    health_status: String,
    http_status: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
    checked_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HealthStatus, WebhookSpec, WebhookStatus};
    use serde_json::{json, Value};

    fn webhook() -> Webhook {
        let spec = WebhookSpec {
            product_id: Some(ProductId::from_stored(42)),
            events: [101, 112]
                .into_iter()
                .map(|n| EventCode::from_number(n, "events"))
                .collect::<Result<_, _>>()
                .unwrap(),
            status: Some(WebhookStatus::Inactive),
            config: WebhookConfig {
                url: WebhookUrl::parse("https://client.example/hook?a=\"b\"", false).unwrap(),
                custom_headers: CustomHeaders::from_json(&json!({"X-Key": "é \"q\""})).unwrap(),
            },
        };
        let at = OffsetDateTime::from_unix_timestamp(1_706_138_428).unwrap();
        Webhook::create(
            WebhookId::generate(),
            PmCode::parse("TRD").unwrap(),
            spec,
            at,
        )
    }

    #[test]
    fn renders_the_resource_as_the_api_documents_it() {
        let w = webhook();
        let doc: Value = serde_json::from_str(WebhookDocument::render(&w).as_str()).unwrap();
        assert_eq!(
            doc,
            json!({
                "webhookId": w.id.to_string(),
                "programManagerCode": "TRD",
                "productId": 42,
                "events": [101, 112],
                "webhookStatus": "inactive",
                "config": {"url": "https://client.example/hook?a=%22b%22", "customHeaders": {"X-Key": "é \"q\""}},
                "createdTime": "2024-01-24T23:20:28Z",
                "lastModifiedTime": "2024-01-24T23:20:28Z",
                "lastHeartbeat": null,
            })
        );
    }

    #[test]
    fn reads_back_the_webhook_it_rendered() {
        let mut w = webhook();
        assert_eq!(WebhookDocument::render(&w).webhook().unwrap(), w);
        w.record_heartbeat(Heartbeat {
            health_status: HealthStatus::Unhealthy,
            http_status: Some(503),
            latency_ms: 12,
            error: Some("HTTP 503".into()),
            checked_time: OffsetDateTime::from_unix_timestamp(1_706_138_500).unwrap(),
        });
        w.product_id = None;
        assert_eq!(WebhookDocument::render(&w).webhook().unwrap(), w);
    }

    #[test]
    fn a_corrupt_document_is_an_error_not_a_webhook() {
        let bad = WebhookDocument::from_stored(r#"{"webhookId":"x"}"#);
        assert!(bad.webhook().is_err());
        let mut doc: Value =
            serde_json::from_str(WebhookDocument::render(&webhook()).as_str()).unwrap();
        doc["webhookStatus"] = json!("gone");
        assert!(WebhookDocument::from_stored(&doc.to_string())
            .webhook()
            .is_err());
    }
}
