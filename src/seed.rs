//! Fixtures (`[[seed.webhooks]]`): webhooks a CI pipeline or a demo wants from the
//! start. Each entry takes the fields of a create body. They are created at start
//! when absent (a program manager and product that already has a webhook keeps
//! it, so a restart changes nothing) and again after `POST /sandbox/v1/reset`.

use serde_json::Value;

use crate::config::ConfigError;
use time::OffsetDateTime;

use crate::domain::{PmCode, Problem, UrlRules, Webhook, WebhookBody, WebhookId, WebhookSpec};
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
    pub fn parse(entries: &[Value], rules: &UrlRules) -> Result<Self, ConfigError> {
        let mut seeds: Vec<(PmCode, WebhookSpec)> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let key = format!("seed.webhooks[{i}]");
            let at = |p: &Problem| match &p.field {
                Some(field) => ConfigError::new(format!("{key}.{field}"), p.message.clone()),
                None => ConfigError::new(&key, p.message.clone()),
            };
            let body: WebhookBody = match entry {
                Value::Object(_) => serde_json::from_value(entry.clone()).map_err(|e| {
                    ConfigError::new(
                        &key,
                        format!("{e} (each entry takes a create body's fields)"),
                    )
                })?,
                _ => {
                    return Err(ConfigError::new(
                        &key,
                        "must be a table with a create body's fields",
                    ))
                }
            };
            let (pm, spec) = body.parse(rules).map_err(|problems| at(&problems[0]))?;
            let pm = pm.ok_or_else(|| {
                ConfigError::new(
                    format!("{key}.programManagerCode"),
                    "required in a seed entry",
                )
            })?;
            if let Some(j) = seeds
                .iter()
                .position(|(p, s)| *p == pm && s.product_id == spec.product_id)
            {
                return Err(ConfigError::new(
                    key,
                    format!("the same programManagerCode and productId as seed.webhooks[{j}]"),
                ));
            }
            seeds.push((pm, spec));
        }
        Ok(Self(seeds))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Creates each fixture whose (program manager, product) key is free,
    /// created at `now`.
    pub async fn apply(
        &self,
        repo: &(impl Repository + ?Sized),
        now: OffsetDateTime,
    ) -> Result<Seeded, StoreError> {
        let mut seeded = Seeded::default();
        for (pm, spec) in &self.0 {
            let webhook = Webhook::create(WebhookId::generate(), pm.clone(), spec.clone(), now);
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
    use serde_json::json;

    fn parse(entries: Vec<Value>) -> Result<Seeds, ConfigError> {
        let rules = UrlRules {
            allow_http: true,
            ..UrlRules::default()
        };
        Seeds::parse(&entries, &rules)
    }

    #[test]
    fn entries_are_validated_like_create_bodies() {
        let good = json!({"programManagerCode": "TRD", "productId": 1, "events": [101],
                          "config": {"url": "http://127.0.0.1:9/hook"}});
        assert!(parse(vec![good.clone()]).is_ok_and(|s| !s.is_empty()));
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
            let why = parse(vec![good.clone(), bad.clone()])
                .expect_err(needle)
                .to_string();
            assert!(why.contains(needle), "{bad}: {why}");
        }
    }
}
