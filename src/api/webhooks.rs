//! The webhook resource: create, list, details, full replace and status change.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::heartbeat::HeartbeatView;
use super::{find, parse_id, success, Caller};
use crate::domain::{
    now_utc, pm_code, CustomHeaders, ErrorCode, EventCode, EventSet, PmCode, Problem, Problems,
    ProductId, UrlRules, Webhook, WebhookConfig, WebhookId, WebhookSpec, WebhookStatus,
};
use crate::error::ApiError;
use crate::store::Repository;

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
    /// The program manager the body names (if any) and everything else it sets,
    /// each with all of its problems.
    pub fn parse(
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
            value => collect(
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
fn both<T>(
    pm: Result<T, Problem>,
    spec: Result<WebhookSpec, Vec<Problem>>,
) -> Result<(T, WebhookSpec), ApiError> {
    match (pm, spec) {
        (Ok(pm), Ok(spec)) => Ok((pm, spec)),
        (pm, spec) => {
            let mut problems: Vec<Problem> = pm.err().into_iter().collect();
            problems.extend(spec.err().unwrap_or_default());
            Err(ApiError::BadRequest(problems))
        }
    }
}

fn collect<T>(problems: &mut Problems, result: Result<T, Vec<Problem>>) -> Option<T> {
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
    let custom_headers = collect(problems, CustomHeaders::from_json(headers));
    Some(WebhookConfig {
        url: url?,
        custom_headers: custom_headers?,
    })
}

/// Reads a JSON body that must be an object into `T`.
pub fn object_body<T: for<'de> Deserialize<'de>>(body: Value) -> Result<T, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(Problem::new(
            ErrorCode::InvalidRequestBody,
            "Request body must be a JSON object.",
        )));
    }
    serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(Problem::new(
            ErrorCode::InvalidRequestBody,
            format!("Invalid request body: {e}."),
        ))
    })
}

/// RFC 3339 in UTC with a `Z`, at second precision.
pub fn format_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A webhook on the wire. It borrows from the stored webhook, so answering a
/// read copies nothing but the id and the two formatted times.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView<'a> {
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
            created_time: format_time(w.created_time),
            last_modified_time: format_time(w.last_modified_time),
            last_heartbeat: w.last_heartbeat.as_ref().map(HeartbeatView::from),
        }
    }
}

/// `POST /api/v1/Webhooks`
pub async fn create(
    caller: Caller,
    body: web::Json<Value>,
    repo: web::Data<dyn Repository>,
    rules: web::Data<UrlRules>,
) -> Result<HttpResponse, ApiError> {
    caller.check_body(&body)?;
    let body: WebhookBody = object_body(body.into_inner())?;
    let (body_pm, spec) = body.parse(&rules);
    let owner = body_pm.and_then(|body_pm| owner(caller.scope(), body_pm.as_ref()));
    let (pm, spec) = both(owner, spec)?;
    let webhook = Webhook::create(WebhookId::new_random(), pm, spec, now_utc());
    let webhook = repo.create(webhook).await?;
    log::info!(
        "webhook {} created for program manager {}",
        webhook.id,
        webhook.pm_code
    );
    Ok(success(StatusCode::CREATED, WebhookView::from(&webhook)))
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

#[derive(Serialize)]
struct WebhookList<'a> {
    content: Vec<WebhookView<'a>>,
}

/// `GET /api/v1/Webhooks`
pub async fn list(
    caller: Caller,
    repo: web::Data<dyn Repository>,
) -> Result<HttpResponse, ApiError> {
    let webhooks = repo.list(caller.required()?)?;
    let content = webhooks.iter().map(|w| WebhookView::from(&**w)).collect();
    Ok(success(StatusCode::OK, WebhookList { content }))
}

/// `GET /api/v1/Webhooks/{id}`
pub async fn details(
    caller: Caller,
    path: web::Path<String>,
    repo: web::Data<dyn Repository>,
) -> Result<HttpResponse, ApiError> {
    let webhook = find(&caller, &path, &repo)?;
    Ok(success(StatusCode::OK, WebhookView::from(&*webhook)))
}

/// `PUT /api/v1/Webhooks/{id}`: a full replace; the program manager cannot change.
pub async fn replace(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    repo: web::Data<dyn Repository>,
    rules: web::Data<UrlRules>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    caller.check_body(&body)?;
    let body: WebhookBody = object_body(body.into_inner())?;
    let (body_pm, spec) = body.parse(&rules);
    let (body_pm, spec) = both(body_pm, spec)?;
    let current = repo.get(id, caller.scope())?;
    if body_pm.is_some_and(|pm| pm != current.pm_code) {
        return Err(ApiError::bad_request(Problem::at(
            ErrorCode::PmCodeNotValid,
            pm_code::FIELD,
            "programManagerCode cannot change; it must be the webhook's own.",
        )));
    }
    // The owner never changes, so scoping the write to it is as safe as one transaction.
    let owner = current.pm_code.clone();
    let webhook = repo.replace(id, Some(&owner), spec, now_utc()).await?;
    Ok(success(StatusCode::OK, WebhookView::from(&webhook)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StatusBody {
    webhook_status: Value,
}

/// `PATCH` or `PUT /api/v1/Webhooks/{id}/status`
pub async fn set_status(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    repo: web::Data<dyn Repository>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body: StatusBody = object_body(body.into_inner())?;
    let status = WebhookStatus::from_json(&body.webhook_status).map_err(ApiError::bad_request)?;
    let webhook = repo
        .set_status(id, caller.scope(), status, now_utc())
        .await?;
    Ok(success(StatusCode::OK, WebhookView::from(&webhook)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BlockedNetworks;
    use serde_json::json;

    fn codes(body: Value, rules: &UrlRules) -> Vec<(ErrorCode, Option<String>)> {
        let body: WebhookBody = serde_json::from_value(body).expect("object");
        let (pm, spec) = body.parse(rules);
        match both(pm, spec) {
            Ok(_) => vec![],
            Err(ApiError::BadRequest(problems)) => {
                problems.into_iter().map(|p| (p.code, p.field)).collect()
            }
            Err(other) => panic!("not a 400: {other}"),
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
