//! The body of a webhook create or full update, as a client sends it, and the
//! rules that turn it into a [`WebhookSpec`] with its owner. Every field is read
//! from raw JSON so that all problems are reported together.

use serde::Deserialize;
use serde_json::Value;

use super::custom_headers::CustomHeaders;
use super::event_code::EventSet;
use super::pm_code::{self, PmCode};
use super::problem::{ErrorCode, Problem, Problems};
use super::webhook::{ProductId, WebhookConfig, WebhookSpec, WebhookStatus};
use super::webhook_url::UrlRules;

/// The body of create and full update, as sent. Every field is a raw JSON value so
/// that all problems are found and reported together, not only the first type error.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WebhookBody {
    program_manager_code: Value,
    product_id: Value,
    events: Value,
    webhook_status: Value,
    config: Value,
}

impl WebhookBody {
    /// A create body: whose webhook it makes (see [`owner`]) and what it sets,
    /// or every problem of both.
    pub fn parse_new(
        self,
        header: Option<&PmCode>,
        rules: &UrlRules,
    ) -> Result<(PmCode, WebhookSpec), Vec<Problem>> {
        let (body_pm, spec) = self.parts(rules);
        merge_problems(
            body_pm.and_then(|body_pm| owner(header, body_pm.as_ref())),
            spec,
        )
    }

    /// A full-update (or fixture) body: the program manager it names, if any, and
    /// what it sets, or every problem of both.
    pub fn parse(self, rules: &UrlRules) -> Result<(Option<PmCode>, WebhookSpec), Vec<Problem>> {
        let (body_pm, spec) = self.parts(rules);
        merge_problems(body_pm, spec)
    }

    /// The program manager the body names (if any) and everything else it sets,
    /// each with all of its problems.
    fn parts(
        self,
        rules: &UrlRules,
    ) -> (
        Result<Option<PmCode>, Problem>,
        Result<WebhookSpec, Vec<Problem>>,
    ) {
        let pm_code = PmCode::from_json(&self.program_manager_code);
        let mut problems = Problems::default();
        let product_id = problems
            .take(ProductId::from_json(&self.product_id))
            .flatten();
        let events = match &self.events {
            Value::Null => Some(EventSet::default()),
            value => take_all(
                &mut problems,
                EventSet::from_json(value, "events", ErrorCode::DuplicateEventInEventArray),
            ),
        };
        let status = match &self.webhook_status {
            Value::Null => Some(None),
            value => problems.take(WebhookStatus::from_json(value)).map(Some),
        };
        let config = parse_config(&self.config, rules, &mut problems);
        let spec = match (problems.is_empty(), events, status, config) {
            (true, Some(events), Some(status), Some(config)) => Ok(WebhookSpec {
                product_id,
                events,
                status,
                config,
            }),
            _ => Err(problems.into_vec()),
        };
        (pm_code, spec)
    }
}

/// Both halves of a parsed body, or every problem of either.
fn merge_problems<T>(
    pm: Result<T, Problem>,
    spec: Result<WebhookSpec, Vec<Problem>>,
) -> Result<(T, WebhookSpec), Vec<Problem>> {
    match (pm, spec) {
        (Ok(pm), Ok(spec)) => Ok((pm, spec)),
        (pm, spec) => {
            let mut problems: Vec<Problem> = pm.err().into_iter().collect();
            problems.extend(spec.err().unwrap_or_default());
            Err(problems)
        }
    }
}

/// The value, or `None` with every problem of it added to `problems`.
fn take_all<T>(problems: &mut Problems, result: Result<T, Vec<Problem>>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(found) => {
            found.into_iter().for_each(|p| problems.push(p));
            None
        }
    }
}

fn parse_config(value: &Value, rules: &UrlRules, problems: &mut Problems) -> Option<WebhookConfig> {
    let Value::Object(config) = value else {
        let message = if value.is_null() {
            "config is required."
        } else {
            "config must be an object."
        };
        problems.push(Problem::at(
            ErrorCode::InvalidRequestBody,
            "config",
            message,
        ));
        return None;
    };
    let url = problems.take(rules.from_json(config.get("url").unwrap_or(&Value::Null)));
    // One of Thredd's examples spells the field `customHeader`; accept both.
    let headers = config
        .get("customHeaders")
        .or_else(|| config.get("customHeader"))
        .unwrap_or(&Value::Null);
    let custom_headers = take_all(problems, CustomHeaders::from_json(headers));
    Some(WebhookConfig {
        url: url?,
        custom_headers: custom_headers?,
    })
}

/// Whose webhook a create makes: the header's and the body's program manager
/// must agree, and one of them must be there.
pub fn owner(header: Option<&PmCode>, body: Option<&PmCode>) -> Result<PmCode, Problem> {
    match (header, body) {
        (Some(header), Some(body)) if header != body => Err(Problem::at(
            ErrorCode::PmCodeNotValid,
            pm_code::FIELD,
            "programManagerCode differs from the X-PM-Code header.",
        )),
        (Some(pm), _) | (None, Some(pm)) => Ok(pm.clone()),
        (None, None) => Err(Problem::at(
            ErrorCode::PmCodeRequired,
            pm_code::FIELD,
            "Program manager code is required.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BlockedNetworks;
    use serde_json::json;

    fn codes(body: Value, rules: &UrlRules) -> Vec<(ErrorCode, Option<String>)> {
        let body: WebhookBody = serde_json::from_value(body).expect("object");
        match body.parse(rules) {
            Ok(_) => vec![],
            Err(problems) => problems.into_iter().map(|p| (p.code, p.field)).collect(),
        }
    }

    #[test]
    fn body_rules() {
        use ErrorCode::*;
        let url = json!({"url": "https://client.example/webhook"});
        let f = |s: &str| Some(s.to_owned());
        let cases = [
            ("minimal", json!({"config": url}), vec![]),
            (
                "full",
                json!({"programManagerCode": "TRD", "productId": 1, "events": [101], "webhookStatus": "inactive",
                       "config": {"url": "https://a.example/", "customHeaders": {"ApiKey": "k"}}}),
                vec![],
            ),
            (
                "nulls are absent",
                json!({"productId": null, "events": null, "webhookStatus": null, "config": url}),
                vec![],
            ),
            (
                "customHeader alias",
                json!({"config": {"url": "https://a.example/", "customHeader": {"Host": "x"}}}),
                vec![(InvalidRequestBody, f("config.customHeaders.Host"))],
            ),
            (
                "config missing",
                json!({}),
                vec![(InvalidRequestBody, f("config"))],
            ),
            (
                "config not object",
                json!({"config": "x"}),
                vec![(InvalidRequestBody, f("config"))],
            ),
            (
                "url missing",
                json!({"config": {}}),
                vec![(InvalidRequestBody, f("config.url"))],
            ),
            (
                "http refused",
                json!({"config": {"url": "http://a.example/"}}),
                vec![(InvalidRequestBody, f("config.url"))],
            ),
            (
                "bad pm",
                json!({"programManagerCode": "TOOLONG", "config": url}),
                vec![(PmCodeNotValid, f("programManagerCode"))],
            ),
            (
                "unknown event",
                json!({"events": [113], "config": url}),
                vec![(EventCodeNotFound, f("events[0]"))],
            ),
            (
                "bad event",
                json!({"events": ["101"], "config": url}),
                vec![(InvalidEventCode, f("events[0]"))],
            ),
            (
                "duplicate event",
                json!({"events": [101, 101], "config": url}),
                vec![(DuplicateEventInEventArray, f("events[1]"))],
            ),
            (
                "suspended not settable",
                json!({"webhookStatus": "suspended", "config": url}),
                vec![(InvalidRequestBody, f("webhookStatus"))],
            ),
            (
                "product negative",
                json!({"productId": -5, "config": url}),
                vec![(InvalidRequestBody, f("productId"))],
            ),
            (
                "everything wrong at once",
                json!({"programManagerCode": 1, "productId": "x", "events": [1], "webhookStatus": 2,
                       "config": {"url": 5, "customHeaders": {"A": "1", "B": "2", "C": "3", "D": "4"}}}),
                vec![
                    (PmCodeNotValid, f("programManagerCode")),
                    (InvalidRequestBody, f("productId")),
                    (InvalidEventCode, f("events[0]")),
                    (InvalidRequestBody, f("webhookStatus")),
                    (InvalidRequestBody, f("config.url")),
                    (ExceedsMaximumCustomHeaderLimit, f("config.customHeaders")),
                ],
            ),
        ];
        for (name, body, expected) in cases {
            assert_eq!(codes(body, &UrlRules::default()), expected, "case {name}");
        }
        let sandbox = UrlRules {
            allow_http: true,
            blocked: BlockedNetworks::default(),
        };
        assert_eq!(
            codes(json!({"config": {"url": "http://localhost:9/"}}), &sandbox),
            vec![],
            "http allowed"
        );
        let guarded = UrlRules {
            allow_http: true,
            blocked: BlockedNetworks::parse(&["127.0.0.0/8".to_owned()]).expect("cidr"),
        };
        assert_eq!(
            codes(json!({"config": {"url": "http://127.0.0.2:9/"}}), &guarded),
            vec![(InvalidRequestBody, f("config.url"))],
            "a literal address in a blocked network"
        );
        assert_eq!(
            codes(json!({"config": {"url": "http://localhost:9/"}}), &guarded),
            vec![],
            "a host name is judged when it is resolved"
        );
    }

    #[test]
    fn owner_rules() {
        let trd = PmCode::parse("TRD").expect("valid");
        let abc = PmCode::parse("ABC").expect("valid");
        let cases = [
            (Some(&trd), None, Ok("TRD")),
            (None, Some(&trd), Ok("TRD")),
            (Some(&trd), Some(&trd), Ok("TRD")),
            (Some(&trd), Some(&abc), Err(ErrorCode::PmCodeNotValid)),
            (None, None, Err(ErrorCode::PmCodeRequired)),
        ];
        for (header, body, expected) in cases {
            let got = owner(header, body);
            let got = got.as_ref().map(PmCode::as_str).map_err(|p| p.code);
            assert_eq!(got, expected, "header {header:?} body {body:?}");
        }
    }
}
