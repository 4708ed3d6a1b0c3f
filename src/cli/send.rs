//! `webhook-manager send`: one notification envelope, generated for an
//! event code or given as a payload file, sent straight to a URL with no
//! service running, signed when a secret is given (Standard Webhooks, as the
//! service signs), and the answer printed. For a receiver's developer who
//! wants "this body, at my endpoint, now".

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{fail, Exit, Output};
use crate::domain::event_payload::{envelope, sample};
use crate::domain::{EventCode, NotificationId, PmCode, ProductId};
use crate::outbound::signing::Signer;
use crate::outbound::USER_AGENT;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Where to send it (http or https)
    #[arg(long)]
    url: String,
    /// The event code (a sample payload with Thredd's fields, unless --payload)
    #[arg(long, value_name = "CODE")]
    event: u16,
    /// A JSON file with the payload to send instead of the sample
    #[arg(long, value_name = "FILE")]
    payload: Option<PathBuf>,
    /// Sign it: a whsec_ secret, as in [delivery] signing_secret
    #[arg(long, value_name = "whsec_...", env = "WHM_SIGNING_SECRET")]
    secret: Option<String>,
    /// The program manager of the sample
    #[arg(long, default_value = "TRD")]
    pm: String,
    /// The product of the sample
    #[arg(long)]
    product: Option<u64>,
    /// How long to wait for the answer, in milliseconds
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    #[command(flatten)]
    output: Output,
}

pub async fn run(args: SendArgs) -> ExitCode {
    match send(&args).await {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

async fn send(args: &SendArgs) -> Result<ExitCode, Exit> {
    let code = EventCode::from_number(i64::from(args.event), "--event")
        .map_err(|p| Exit::usage(format!("--event: {}", p.message)))?;
    let pm = PmCode::parse(&args.pm).map_err(|p| Exit::usage(format!("--pm: {}", p.message)))?;
    let product = args
        .product
        .map(|p| ProductId::from_json(&json!(p)))
        .transpose()
        .map_err(|p| Exit::usage(format!("--product: {}", p.message)))?
        .flatten();
    let signer = args
        .secret
        .as_deref()
        .map(Signer::from_secret)
        .transpose()
        .map_err(|e| Exit::usage(format!("--secret {e}")))?;
    let now = OffsetDateTime::now_utc();
    let payload = match &args.payload {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Exit::usage(format!("--payload: cannot read {}: {e}", file.display()))
            })?;
            serde_json::from_str::<Value>(&text).map_err(|e| {
                Exit::usage(format!("--payload: {} is not JSON: {e}", file.display()))
            })?
        }
        None => sample(code, &pm, product, now),
    };
    let id = NotificationId::generate();
    let body = envelope(id, code, &payload, now);
    let client = awc::Client::builder()
        .timeout(Duration::from_millis(args.timeout_ms))
        .finish();
    let mut request = client
        .post(&args.url)
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("User-Agent", USER_AGENT));
    if let Some(signer) = &signer {
        for (name, value) in signer.headers(&id.to_string(), now.unix_timestamp(), &body) {
            request = request.insert_header((name, value));
        }
    }
    let started = Instant::now();
    let mut answer = request.send_body(body.clone()).await.map_err(|e| {
        Exit::unreachable(format!(
            "{} did not answer: {e}. Is the receiver running, and is the URL right?",
            args.url
        ))
    })?;
    let latency_ms = started.elapsed().as_millis();
    let status = answer.status();
    let reply = answer.body().limit(1 << 20).await.unwrap_or_default();
    let reply = String::from_utf8_lossy(&reply);
    if args.output.json {
        println!(
            "{}",
            json!({
                "url": args.url,
                "notificationId": id.to_string(),
                "eventCode": code.value(),
                "signed": signer.is_some(),
                "status": status.as_u16(),
                "latencyMs": latency_ms,
                "body": reply,
            })
        );
    } else {
        println!(
            "sent {} ({}) to {}{}",
            code.value(),
            code.description(),
            args.url,
            if signer.is_some() { ", signed" } else { "" }
        );
        println!("notification {id}");
        println!("answered {} in {latency_ms} ms", status);
        if !reply.is_empty() {
            println!("{reply}");
        }
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_FAILED)
    })
}
