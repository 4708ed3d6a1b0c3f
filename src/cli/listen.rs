//! `webhook-manager listen`: one line per event and attempt on a running
//! service as they happen (time, event code, webhook, outcome, latency),
//! read from the live stream; with `--json`, each change as the stream
//! carries it. Like `stripe listen`, without signing in anywhere.

use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::service::{Service, ServiceArgs};
use super::{fail, Exit, Output};

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Only this program manager's events and attempts
    #[arg(long)]
    pm: Option<String>,
    /// Only this event code's
    #[arg(long, value_name = "CODE")]
    event: Option<u16>,
    /// Only this webhook's
    #[arg(long, value_name = "ID")]
    webhook: Option<String>,
    /// Only the requests this capture inbox keeps
    #[arg(long, value_name = "NAME")]
    inbox: Option<String>,
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    output: Output,
}

pub async fn run(args: ListenArgs) -> ExitCode {
    match listen(args).await {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

async fn listen(args: ListenArgs) -> Result<ExitCode, Exit> {
    let mut query = Vec::new();
    if let Some(pm) = &args.pm {
        query.push(format!("programManagerCode={pm}"));
    }
    if let Some(code) = args.event {
        query.push(format!("eventCode={code}"));
    }
    if let Some(webhook) = &args.webhook {
        query.push(format!("webhookId={webhook}"));
    }
    if let Some(inbox) = &args.inbox {
        query.push(format!("inbox={inbox}"));
    }
    let service = Service::new(args.service.clone());
    let mut changes = service.stream(&query.join("&")).await?;
    if !args.output.json {
        eprintln!("listening to {} (Ctrl-C to stop)", args.service.url);
    }
    while let Some(change) = changes.next().await {
        if args.output.json {
            println!("{change}");
        } else if let Some(line) = line(&change) {
            println!("{line}");
        }
        if change["type"] == "end" {
            return Err(Exit::failed(format!(
                "the stream ended: {}",
                change["reason"].as_str().unwrap_or("no reason given")
            )));
        }
    }
    Err(Exit::unreachable(
        "the service closed the stream (did it stop?)".into(),
    ))
}

/// One change as a line for people: time, what, event code, webhook, and
/// for an attempt its outcome and latency.
fn line(change: &Value) -> Option<String> {
    let text = |key: &str| change[key].as_str().unwrap_or("-").to_owned();
    Some(match change["type"].as_str()? {
        "event" => format!(
            "{}  event    {}  {}  {} notification(s), {} skipped",
            text("time"),
            change["eventCode"],
            text("programManagerCode"),
            change["notifications"].as_array().map_or(0, Vec::len),
            change["skipped"].as_array().map_or(0, Vec::len),
        ),
        "attempt" => {
            let answered = change["httpStatus"]
                .as_u64()
                .map_or_else(|| text("error"), |s| format!("HTTP {s}"));
            format!(
                "{}  attempt  {}  webhook {}  {} ({answered}, {} ms)  {}",
                text("time"),
                change["eventCode"],
                text("webhookId"),
                text("outcome"),
                change["latencyMs"],
                text("notificationStatus"),
            )
        }
        "capture" => format!(
            "{}  capture  inbox {}  {}",
            text("receivedTime"),
            text("inbox"),
            text("method"),
        ),
        _ => return None,
    })
}
