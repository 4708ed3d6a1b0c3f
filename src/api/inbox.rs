//! The capture inbox, which Thredd does not have: `/sandbox/v1/inbox/{name}`
//! answers 200 to any method and keeps what it was sent, so a webhook can point
//! at the service itself. In memory: a debugging aid, not a record.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::routes::Routes;
use super::success;
use crate::domain::time::{now_seconds, rfc3339_seconds};
use crate::domain::{ErrorCode, Problem};
use crate::error::ApiError;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/inbox/{name}/requests")
        .get(requests)
        .delete(clear)
        .served_if(on);
    r.resource("/sandbox/v1/inbox/{name}")
        .any(capture)
        .served_if(on);
}

/// The most requests an inbox keeps (the oldest go first) and the most inboxes.
const INBOX_CAPACITY: usize = 1000;
const MAX_INBOXES: usize = 1000;
const MAX_NAME_LEN: usize = 64;

/// One request as it arrived at an inbox.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Captured {
    pub method: String,
    pub headers: BTreeMap<String, String>,
    /// The body as JSON when it parses, else as text (lossy UTF-8), else null.
    pub body: Value,
    pub received_time: String,
}

/// The capture inboxes, in memory: they are a debugging aid, not a record, so
/// they do not survive a restart.
#[derive(Default)]
pub struct Inbox {
    boxes: Mutex<HashMap<String, VecDeque<Captured>>>,
}

impl Inbox {
    /// Every inbox's name and how many requests it holds, by name.
    pub fn names(&self) -> Vec<(String, usize)> {
        let mut names: Vec<(String, usize)> =
            self.with(|boxes| boxes.iter().map(|(n, r)| (n.clone(), r.len())).collect());
        names.sort();
        names
    }

    /// What arrived at inbox `name`, oldest first.
    pub fn requests(&self, name: &str) -> Vec<Captured> {
        self.with(|boxes| {
            boxes
                .get(name)
                .map(|r| r.iter().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Empties every inbox; answers how many requests there were.
    pub fn clear_all(&self) -> usize {
        self.with(|boxes| {
            let count = boxes.values().map(VecDeque::len).sum();
            boxes.clear();
            count
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, VecDeque<Captured>>) -> T) -> T {
        let mut boxes = match self.boxes.lock() {
            Ok(boxes) => boxes,
            // A panic elsewhere cannot leave a half-written entry here; carry on.
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut boxes)
    }
}

fn inbox_name(raw: &str) -> Result<String, ApiError> {
    let valid = (1..=MAX_NAME_LEN).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::bad_request(Problem::at(
            ErrorCode::InvalidRequestBody,
            "name",
            format!("An inbox name is 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'."),
        )))
    }
}

/// Any method on `/sandbox/v1/inbox/{name}`: kept, and answered 200.
async fn capture(
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
    inbox: web::Data<Inbox>,
) -> Result<HttpResponse, ApiError> {
    let name = inbox_name(&name)?;
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let captured = Captured {
        method: req.method().to_string(),
        headers,
        body,
        received_time: rfc3339_seconds(now_seconds()),
    };
    let kept = inbox.with(|boxes| {
        if !boxes.contains_key(&name) && boxes.len() >= MAX_INBOXES {
            return false;
        }
        let requests = boxes.entry(name).or_default();
        if requests.len() >= INBOX_CAPACITY {
            requests.pop_front();
        }
        requests.push_back(captured);
        true
    });
    if !kept {
        return Err(ApiError::Conflict(Problem::new(
            ErrorCode::InvalidRequestBody,
            format!("There are already {MAX_INBOXES} inboxes; empty one with DELETE first."),
        )));
    }
    Ok(success(
        StatusCode::OK,
        serde_json::json!({"received": true}),
    ))
}

#[derive(Serialize)]
struct Requests {
    name: String,
    count: usize,
    requests: Vec<Captured>,
}

/// `GET /sandbox/v1/inbox/{name}/requests`: what arrived, oldest first.
async fn requests(
    name: web::Path<String>,
    inbox: web::Data<Inbox>,
) -> Result<HttpResponse, ApiError> {
    let name = inbox_name(&name)?;
    let requests = inbox.requests(&name);
    Ok(success(
        StatusCode::OK,
        Requests {
            count: requests.len(),
            name,
            requests,
        },
    ))
}

/// `DELETE /sandbox/v1/inbox/{name}/requests`: empties the inbox.
async fn clear(name: web::Path<String>, inbox: web::Data<Inbox>) -> Result<HttpResponse, ApiError> {
    let name = inbox_name(&name)?;
    let removed = inbox.with(|boxes| boxes.remove(&name).map_or(0, |r| r.len()));
    Ok(success(
        StatusCode::OK,
        serde_json::json!({"name": name, "removed": removed}),
    ))
}
