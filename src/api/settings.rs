//! The sandbox's settings, which Thredd does not have: `GET` and `PATCH
//! /sandbox/v1/settings` show and change the `[delivery]` settings a test
//! steers (the retry schedule, the timeout, the backoff, suspension, the
//! per-webhook limit and the signing secret) without a restart. A change is
//! checked with the configuration file's rules and keys, applies whole or not
//! at all, and is in effect from the next attempt; a reset of everything
//! restores the configured values.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::{Map, Value};

use super::success;
use crate::config::DeliverySettings;
use crate::domain::{ErrorCode, Problem};
use crate::error::ApiError;
use crate::outbound::live::{Delivery, LiveSettings};
use crate::routes::Routes;

/// The `[delivery]` keys that change at runtime. `concurrency` (the engine's
/// attempt slots) is fixed at start.
pub const CHANGEABLE: [&str; 8] = [
    "retry_schedule_ms",
    "timeout_ms",
    "backoff_after",
    "probe_interval_ms",
    "probe_interval_max_ms",
    "suspend_after",
    "per_webhook_concurrency",
    "signing_secret",
];

/// How a set signing secret is shown.
const HIDDEN: &str = "(set)";

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/settings")
        .get(show)
        .patch(change)
        .served_if(on);
}

#[derive(Serialize)]
struct SettingsView {
    /// The changeable keys as in effect now (a set secret is not shown).
    delivery: Map<String, Value>,
    /// The keys whose value differs from the configuration file's.
    changed: Vec<&'static str>,
}

impl SettingsView {
    fn of(live: &LiveSettings) -> Self {
        let now = shown(&live.now().settings);
        let configured = shown(&live.configured().settings);
        let changed = CHANGEABLE
            .into_iter()
            .filter(|key| now.get(*key) != configured.get(*key))
            .collect();
        Self {
            delivery: now,
            changed,
        }
    }
}

/// The changeable keys of `settings`, a set secret hidden.
fn shown(settings: &DeliverySettings) -> Map<String, Value> {
    let Ok(Value::Object(mut all)) = serde_json::to_value(settings) else {
        return Map::new();
    };
    all.retain(|key, _| CHANGEABLE.contains(&key.as_str()));
    if let Some(secret) = all.get_mut("signing_secret").filter(|s| !s.is_null()) {
        *secret = Value::from(HIDDEN);
    }
    all
}

/// `GET /sandbox/v1/settings`.
async fn show(live: web::Data<LiveSettings>) -> HttpResponse {
    success(StatusCode::OK, SettingsView::of(&live))
}

/// `PATCH /sandbox/v1/settings` with `{"delivery": {"retry_schedule_ms": [200, 300]}}`:
/// the keys given change, the others keep their value.
async fn change(
    body: web::Json<Value>,
    live: web::Data<LiveSettings>,
) -> Result<HttpResponse, ApiError> {
    let changed = patched(&live.now().settings, body.into_inner())?;
    live.set(changed);
    log::info!(
        "sandbox settings changed: {:?}",
        SettingsView::of(&live).changed
    );
    Ok(success(StatusCode::OK, SettingsView::of(&live)))
}

/// `current` with `patch` applied, checked as the configuration file is;
/// every problem names its key (`delivery.timeout_ms`).
fn patched(current: &DeliverySettings, patch: Value) -> Result<Delivery, ApiError> {
    let bad =
        |field: String, message: String| Problem::at(ErrorCode::InvalidRequestBody, field, message);
    let Value::Object(mut sections) = patch else {
        return Err(ApiError::bad_request(Problem::new(
            ErrorCode::InvalidRequestBody,
            "Request body must be a JSON object: {\"delivery\": {...}}.",
        )));
    };
    let mut problems = Vec::new();
    for section in sections.keys().filter(|s| *s != "delivery") {
        problems.push(bad(
            section.clone(),
            format!("Only [delivery] settings change at runtime; [{section}] needs a restart."),
        ));
    }
    let keys = match sections.remove("delivery") {
        Some(Value::Object(keys)) => keys,
        None if !problems.is_empty() => Map::new(),
        None | Some(_) => {
            problems.push(bad(
                "delivery".into(),
                "delivery must be an object of [delivery] keys.".into(),
            ));
            Map::new()
        }
    };
    let Ok(Value::Object(mut merged)) = serde_json::to_value(current) else {
        return Err(ApiError::Internal("delivery settings as JSON".into()));
    };
    for (key, value) in keys {
        let field = format!("delivery.{key}");
        if !CHANGEABLE.contains(&key.as_str()) {
            let why = if merged.contains_key(&key) {
                format!("{field} is fixed at start; restart the service to change it.")
            } else {
                format!(
                    "{field} is not a [delivery] key; these change: {}.",
                    CHANGEABLE.join(", ")
                )
            };
            problems.push(bad(field, why));
            continue;
        }
        // Each key alone, so that a value of the wrong type is named.
        let mut one = merged.clone();
        one.insert(key.clone(), value.clone());
        match serde_json::from_value::<DeliverySettings>(Value::Object(one)) {
            Ok(_) => {
                merged.insert(key, value);
            }
            Err(e) => problems.push(bad(field.clone(), format!("{field}: {e}"))),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::BadRequest(problems));
    }
    let settings: DeliverySettings = serde_json::from_value(Value::Object(merged))
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Delivery::ready(settings)
        .map_err(|e| ApiError::bad_request(bad(e.key.clone(), format!("{}: {}", e.key, e.message))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(patch: Value) -> Vec<(Option<String>, String)> {
        match patched(&DeliverySettings::default(), patch) {
            Err(ApiError::BadRequest(problems)) => {
                problems.into_iter().map(|p| (p.field, p.message)).collect()
            }
            Err(other) => panic!("{other}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn a_patch_changes_only_the_keys_it_gives() {
        let changed = patched(
            &DeliverySettings::default(),
            json!({"delivery": {"retry_schedule_ms": [200, 300], "signing_secret": "whsec_c2VjcmV0LWtleQ=="}}),
        )
        .expect("valid");
        assert_eq!(changed.settings.retry_schedule_ms, [200, 300]);
        assert!(changed.signer.is_some());
        assert_eq!(
            changed.settings.timeout_ms,
            DeliverySettings::default().timeout_ms
        );
        let off = patched(
            &changed.settings,
            json!({"delivery": {"signing_secret": null}}),
        )
        .expect("valid");
        assert!(off.signer.is_none(), "null turns signing off");
        assert_eq!(off.settings.retry_schedule_ms, [200, 300]);
    }

    #[test]
    fn a_bad_value_gets_the_configuration_files_key() {
        let cases = [
            (
                json!({"delivery": {"timeout_ms": 0}}),
                "delivery.timeout_ms",
            ),
            (
                json!({"delivery": {"timeout_ms": "fast"}}),
                "delivery.timeout_ms",
            ),
            (
                json!({"delivery": {"retry_schedule_ms": [1, -1]}}),
                "delivery.retry_schedule_ms",
            ),
            (
                json!({"delivery": {"probe_interval_max_ms": 1}}),
                "delivery.probe_interval_max_ms",
            ),
            (
                json!({"delivery": {"signing_secret": "secret"}}),
                "delivery.signing_secret",
            ),
            (
                json!({"delivery": {"suspend_after": 0}}),
                "delivery.suspend_after",
            ),
            (
                json!({"delivery": {"concurrency": 2}}),
                "delivery.concurrency",
            ),
            (json!({"delivery": {"retries": 2}}), "delivery.retries"),
            (json!({"server": {"port": 1}}), "server"),
            (json!({"delivery": 5}), "delivery"),
            (json!({}), "delivery"),
        ];
        for (patch, key) in cases {
            let found = problems(patch.clone());
            assert_eq!(found.len(), 1, "{patch}: {found:?}");
            assert_eq!(found[0].0.as_deref(), Some(key), "{patch}: {found:?}");
            assert!(found[0].1.contains(key), "the message names it: {found:?}");
        }
    }

    #[test]
    fn a_set_secret_is_not_shown() {
        let settings = DeliverySettings {
            signing_secret: Some("whsec_c2VjcmV0LWtleQ==".into()),
            ..DeliverySettings::default()
        };
        let view = shown(&settings);
        assert_eq!(view["signing_secret"], HIDDEN);
        assert_eq!(view.len(), CHANGEABLE.len());
        assert!(!view.contains_key("concurrency"));
    }
}
