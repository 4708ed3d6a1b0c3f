//! A running service, as the CLI's verbs reach it: its URL and the caller's
//! token, the JSON calls, and the live stream read as it arrives.

use std::time::Duration;

use actix_web::web::{Bytes, BytesMut};
use awc::http::StatusCode;
use clap::Args;
use futures_util::StreamExt;
use serde_json::Value;

use super::Exit;

/// Where the service is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// The service's address
    #[arg(
        long,
        env = "WHM_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// A bearer token, when the service has auth on
    #[arg(long, env = "WHM_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Or OAuth2 client credentials, exchanged at /connect/token for an
    /// access token (with --client-secret)
    #[arg(long, env = "WHM_CLIENT_ID", global = true, conflicts_with = "token")]
    pub client_id: Option<String>,
    #[arg(
        long,
        env = "WHM_CLIENT_SECRET",
        hide_env_values = true,
        global = true,
        requires = "client_id"
    )]
    pub client_secret: Option<String>,
}

/// One answer: its status and JSON body.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// The success envelope's `response`, or an error saying what the service
    /// refused and why (its own messages).
    pub fn response(self, what: &str) -> Result<Value, Exit> {
        if self.status.is_success() {
            return Ok(self.body["response"].clone());
        }
        let errors: Vec<String> = self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        let field = e["field"]
                            .as_str()
                            .map(|f| format!("{f}: "))
                            .unwrap_or_default();
                        let detail = e["detail"].as_str().or(e["message"].as_str()).unwrap_or("");
                        format!("{} {field}{detail}", e["code"].as_str().unwrap_or("ERROR"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Err(Exit::failed(format!(
            "{what}: the service answered {}{}{}",
            self.status,
            if errors.is_empty() { "" } else { ": " },
            errors.join("; ")
        )))
    }
}

pub struct Service {
    args: ServiceArgs,
    client: awc::Client,
}

impl Service {
    /// The service as `args` name it; with client credentials, signed in
    /// first (`POST /connect/token`, client credentials grant).
    pub async fn connect(mut args: ServiceArgs) -> Result<Self, Exit> {
        // No overall timeout: the live stream lasts; each call is short.
        let client = awc::Client::builder().disable_timeout().finish();
        if let Some(id) = args.client_id.clone() {
            let secret = args.client_secret.clone().ok_or_else(|| {
                Exit::usage("--client-id needs --client-secret (or WHM_CLIENT_SECRET)".into())
            })?;
            args.token = Some(sign_in(&client, &args.url, &id, &secret).await?);
        }
        Ok(Self { args, client })
    }

    fn request(&self, method: awc::http::Method, path: &str) -> awc::ClientRequest {
        let mut request = self.client.request(
            method,
            format!("{}{path}", self.args.url.trim_end_matches('/')),
        );
        if let Some(token) = &self.args.token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        request
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> Exit {
        Exit::unreachable(format!(
            "{} did not answer: {e}. Is the service running (webhook-manager serve), and is --url (or WHM_URL) right?",
            self.args.url
        ))
    }

    /// A JSON call, on behalf of `pm` (the `X-PM-Code` header) when given.
    pub async fn call(
        &self,
        method: awc::http::Method,
        path: &str,
        pm: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, Exit> {
        let mut request = self.request(method, path).timeout(Duration::from_secs(90));
        if let Some(pm) = pm {
            request = request.insert_header(("X-PM-Code", pm));
        }
        let sent = match body {
            Some(body) => request.send_json(body).await,
            None => request.send().await,
        };
        let mut response = sent.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let bytes = response
            .body()
            .limit(16 << 20)
            .await
            .map_err(|e| self.unreachable(e))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status == StatusCode::UNAUTHORIZED {
            return Err(Exit::failed(format!(
                "{path}: the service needs a token: give --token or set WHM_TOKEN"
            )));
        }
        Ok(Answer { status, body })
    }

    /// The live stream with `query`, open.
    pub async fn stream(&self, query: &str) -> Result<Changes, Exit> {
        let path = format!("/sandbox/v1/stream?{query}");
        let response = self
            .request(awc::http::Method::GET, &path)
            .insert_header(("Accept", "text/event-stream"))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if !response.status().is_success() {
            return Err(Exit::failed(format!(
                "{path}: the service answered {} (is the sandbox on, and the token right?)",
                response.status()
            )));
        }
        Ok(Changes {
            body: Box::pin(response),
            buffer: BytesMut::new(),
        })
    }
}

type Body =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, awc::error::PayloadError>>>>;

/// The live stream's changes, read as they arrive.
pub struct Changes {
    body: Body,
    buffer: BytesMut,
}

impl Changes {
    /// The next change as JSON (its `type` says which); `None` when the
    /// stream ends.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            // One Server-Sent Event ends at a blank line.
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let event = self.buffer.split_to(end + 2);
                let text = String::from_utf8_lossy(&event);
                let data: String = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                    .collect::<Vec<_>>()
                    .join("\n");
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                if let Ok(value) = serde_json::from_str(&data) {
                    return Some(value);
                }
                continue;
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// An access token for client credentials.
async fn sign_in(client: &awc::Client, url: &str, id: &str, secret: &str) -> Result<String, Exit> {
    let token_url = format!("{}/connect/token", url.trim_end_matches('/'));
    let mut response = client
        .post(&token_url)
        .timeout(Duration::from_secs(30))
        .send_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .await
        .map_err(|e| {
            Exit::unreachable(format!(
                "{url} did not answer: {e}. Is the service running, and is --url (or WHM_URL) right?"
            ))
        })?;
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match body["access_token"].as_str() {
        Some(token) if response.status().is_success() => Ok(token.to_owned()),
        _ => Err(Exit::failed(format!(
            "signing in as {id} at {token_url} was refused ({}): check --client-id and --client-secret",
            body["error"].as_str().unwrap_or("no token")
        ))),
    }
}
