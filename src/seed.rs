//! Fixtures (`[[seed.webhooks]]`): webhooks a CI pipeline or a demo wants from the
//! start. Each entry takes the fields of a create body. They are created at start
//! when absent (a program manager and product that already has a webhook keeps
//! it, so a restart changes nothing) and again after `POST /sandbox/v1/reset`.

use crate::api::webhooks::{object_body, WebhookBody};
use crate::config::Settings;
use crate::domain::{now_utc, PmCode, Problem, Webhook, WebhookId, WebhookSpec};
use crate::store::{Repository, StoreError};

/// The configured fixtures, validated like create requests.
#[derive(Debug, Default)]
pub struct Seeds(Vec<(PmCode, WebhookSpec)>);

/// What applying the fixtures did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    pub created: usize,
    pub present: usize,
}

impl Seeds {
    /// Validates every entry; the error names the first bad one by index and
    /// field (`seed.webhooks[1].config.url: ...`).
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let rules = settings.url_rules().map_err(|e| e.to_string())?;
        let mut seeds: Vec<(PmCode, WebhookSpec)> = Vec::new();
        for (i, entry) in settings.seed.webhooks.iter().enumerate() {
            let at = |p: &Problem| match &p.field {
                Some(field) => format!("seed.webhooks[{i}].{field}: {}", p.message),
                None => format!("seed.webhooks[{i}]: {}", p.message),
            };
            let body: WebhookBody = object_body(entry.clone()).map_err(|e| {
                format!("seed.webhooks[{i}]: {e} (each entry takes a create body's fields)")
            })?;
            let (pm, spec) = body.parse(&rules);
            let pm = pm.map_err(|p| at(&p))?.ok_or_else(|| {
                format!("seed.webhooks[{i}].programManagerCode: required in a seed entry")
            })?;
            let spec = spec.map_err(|problems| at(&problems[0]))?;
            if let Some(j) = seeds
                .iter()
                .position(|(p, s)| *p == pm && s.product_id == spec.product_id)
            {
                return Err(format!(
                    "seed.webhooks[{i}]: the same programManagerCode and productId as seed.webhooks[{j}]"
                ));
            }
            seeds.push((pm, spec));
        }
        Ok(Self(seeds))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Creates each fixture whose (program manager, product) key is free.
    pub async fn apply(&self, repo: &dyn Repository) -> Result<Seeded, StoreError> {
        let mut seeded = Seeded::default();
        for (pm, spec) in &self.0 {
            let webhook =
                Webhook::create(WebhookId::new_random(), pm.clone(), spec.clone(), now_utc());
            match repo.create(webhook).await {
                Ok(_) => seeded.created += 1,
                Err(StoreError::Duplicate) => seeded.present += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(seeded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn settings(entries: Vec<Value>) -> Settings {
        let mut settings = Settings::default();
        settings.security.allow_http = true;
        settings.seed.webhooks = entries;
        settings
    }

    #[test]
    fn entries_are_validated_like_create_bodies() {
        let good = json!({"programManagerCode": "TRD", "productId": 1, "events": [101],
                          "config": {"url": "http://127.0.0.1:9/hook"}});
        assert!(Seeds::from_settings(&settings(vec![good.clone()])).is_ok_and(|s| !s.is_empty()));
        let cases = [
            (
                json!({"events": [101], "config": {"url": "https://a.example/"}}),
                "seed.webhooks[1].programManagerCode",
            ),
            (
                json!({"programManagerCode": "TRD", "config": {"url": "ftp://a.example/"}}),
                "seed.webhooks[1].config.url",
            ),
            (
                json!({"programManagerCode": "TRD", "events": [999], "config": {"url": "https://a.example/"}}),
                "seed.webhooks[1].events[0]",
            ),
            (json!("a string"), "seed.webhooks[1]"),
            (
                good.clone(),
                "the same programManagerCode and productId as seed.webhooks[0]",
            ),
        ];
        for (bad, needle) in cases {
            let why =
                Seeds::from_settings(&settings(vec![good.clone(), bad.clone()])).expect_err(needle);
            assert!(why.contains(needle), "{bad}: {why}");
        }
    }
}
