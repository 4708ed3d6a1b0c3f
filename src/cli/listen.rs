//! `webhook-manager listen`: one line per event and attempt on a running
//! service as they happen (time, event code, webhook, outcome, latency),
//! read from the live stream; with `--json`, each change as the stream
//! carries it. Like `stripe listen`, without signing in anywhere.
//!
//! With `--forward-to URL`, a receiver on a laptop gets a remote service's
//! events: `listen` registers a webhook for the program manager whose URL is
//! a capture inbox of the service (the stream opened first), forwards each
//! request the inbox keeps to the local URL with its headers and its body
//! byte for byte (a signature still checks), prints the local answer, and on
//! SIGINT or SIGTERM removes the webhook and empties the inbox.

use std::process::ExitCode;

use std::time::{Duration, Instant};

use awc::http::Method;
use clap::Args;
use serde_json::{json, Value};

use super::service::{Service, ServiceArgs};
use super::{fail, Exit, Output};
use crate::domain::event_code::CATALOGUE;
use crate::shutdown::signal;

/// Request headers not forwarded: the connection's own, remade for the local
/// call.
const HOP_BY_HOP: [&str; 6] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "accept-encoding",
];

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
    /// Forward every notification for --pm to this local URL (see above)
    #[arg(long, value_name = "URL", conflicts_with_all = ["webhook", "inbox"])]
    forward_to: Option<String>,
    /// With --forward-to: the product of the webhook it registers (none: every
    /// product; the program manager must then have no webhook of its own for
    /// every product)
    #[arg(long, requires = "forward_to")]
    product: Option<u64>,
    /// With --forward-to: a custom header the registered webhook sends,
    /// NAME=VALUE (at most 3)
    #[arg(long = "header", value_name = "NAME=VALUE", requires = "forward_to")]
    headers: Vec<String>,
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
    if let Some(local) = args.forward_to.clone() {
        return forward(args, local).await;
    }
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
    let service = Service::connect(args.service.clone()).await?;
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
                super::outcome(&text("outcome"), 0),
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

/// `listen --forward-to`: see the module's doc.
async fn forward(args: ListenArgs, local: String) -> Result<ExitCode, Exit> {
    let pm = args.pm.clone().unwrap_or_else(|| "TRD".to_owned());
    let service = Service::connect(args.service.clone()).await?;
    let inbox = format!("listen-{:08x}", fastrand::u32(..));
    // Opened before the webhook exists: nothing sent to it passes by.
    let mut changes = service.stream(&format!("inbox={inbox}")).await?;
    let codes: Vec<u16> = match args.event {
        Some(code) => vec![code],
        None => CATALOGUE.iter().map(|(code, _)| *code).collect(),
    };
    let custom = super::custom_headers(&args.headers)?;
    let body = json!({
        "productId": args.product,
        "events": codes,
        "config": {
            "url": format!("{}/sandbox/v1/inbox/{inbox}", args.service.url.trim_end_matches('/')),
            "customHeaders": custom,
        },
    });
    let created = service
        .call(Method::POST, "/api/v1/Webhooks", Some(&pm), Some(&body))
        .await?
        .response("registering the forwarding webhook")
        .map_err(|e| {
            Exit::failed(format!(
                "{} (a program manager has one webhook per product: with one for every product already, give --product)",
                e.message()
            ))
        })?;
    let webhook = created["webhookId"].as_str().unwrap_or_default().to_owned();
    if !args.output.json {
        eprintln!(
            "forwarding {pm}'s notifications to {local} through webhook {webhook} (Ctrl-C to stop and remove it)"
        );
    }
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let stop = signal();
    tokio::pin!(stop);
    let ended = loop {
        let change = tokio::select! {
            change = changes.next() => change,
            () = &mut stop => break None,
        };
        let Some(change) = change else {
            break Some(Exit::unreachable(
                "the service closed the stream (did it stop?)".into(),
            ));
        };
        if change["type"] == "end" {
            break Some(Exit::failed(format!(
                "the stream ended: {}",
                change["reason"].as_str().unwrap_or("no reason given")
            )));
        }
        if change["type"] != "capture" {
            continue;
        }
        relay(&client, &local, &change, args.output).await;
    };
    // Removed on the way out, whatever ended the loop.
    let removed = service
        .call(
            Method::DELETE,
            &format!("/sandbox/v1/webhooks/{webhook}"),
            Some(&pm),
            None,
        )
        .await
        .and_then(|answer| answer.response("removing the forwarding webhook"));
    let _ = service
        .call(
            Method::DELETE,
            &format!("/sandbox/v1/inbox/{inbox}/requests"),
            None,
            None,
        )
        .await;
    if let Err(e) = removed {
        return Err(Exit::failed(format!(
            "webhook {webhook} is left: {}",
            e.message()
        )));
    }
    if !args.output.json {
        eprintln!("webhook {webhook} removed");
    }
    match ended {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => Err(e),
    }
}

/// Sends one captured request to the local receiver, as it arrived, and
/// prints what it answered.
async fn relay(client: &awc::Client, local: &str, capture: &Value, output: Output) {
    let method = capture["method"]
        .as_str()
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(Method::POST);
    let mut request = client.request(method, local);
    for (name, value) in capture["headers"].as_object().into_iter().flatten() {
        if HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        if let Some(value) = value.as_str() {
            request = request.insert_header((name.as_str(), value));
        }
    }
    let raw = capture["raw"].as_str().unwrap_or_default().to_owned();
    let notification = capture["body"]["context"]["notificationId"].clone();
    let code = capture["body"]["context"]["eventCode"].clone();
    let started = Instant::now();
    let answered = request.send_body(raw).await;
    let latency_ms = started.elapsed().as_millis();
    let (status, error) = match &answered {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    if output.json {
        println!(
            "{}",
            json!({"type": "forwarded", "to": local, "eventCode": code,
                   "notificationId": notification, "status": status,
                   "error": error, "latencyMs": latency_ms})
        );
    } else {
        let answer = status.map_or_else(|| error.unwrap_or_default(), |s| format!("HTTP {s}"));
        println!(
            "{}  forwarded  {}  {}  -> {answer} ({latency_ms} ms)",
            capture["receivedTime"].as_str().unwrap_or("-"),
            code,
            notification.as_str().unwrap_or("-"),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_change_is_one_line_for_people() {
        let attempt = json!({"type": "attempt", "time": "2026-12-07T10:00:00.000Z",
            "eventCode": 103, "webhookId": "w1", "outcome": "failed", "httpStatus": 503,
            "latencyMs": 4, "notificationStatus": "Pending"});
        let shown = line(&attempt).expect("a line");
        assert!(shown.contains("attempt  103  webhook w1"), "{shown}");
        assert!(
            shown.contains("failed (HTTP 503, 4 ms)  Pending"),
            "{shown}"
        );
        let event = json!({"type": "event", "time": "t", "eventCode": 101,
            "programManagerCode": "TRD", "notifications": [{}], "skipped": []});
        assert!(line(&event)
            .expect("a line")
            .contains("1 notification(s), 0 skipped"));
        assert_eq!(line(&json!({"type": "end"})), None);
    }
}
