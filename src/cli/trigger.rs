//! `webhook-manager trigger`: an event (or a scenario's events) on a running
//! service, its fan-out printed: each notification, and each webhook it
//! skipped with the reason. With `--wait`, each delivery's outcome as it
//! lands (read from the live stream, opened before the trigger so no attempt
//! passes by), and exit 1 if one ends undelivered.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use awc::http::Method;
use clap::Args;
use serde_json::{json, Map, Value};

use super::service::{Service, ServiceArgs};
use super::{fail, Exit, Output, EXIT_FAILED};

#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The event code (left out with --scenario)
    #[arg(value_name = "CODE", required_unless_present = "scenario")]
    code: Option<u16>,
    /// The program manager
    #[arg(long, default_value = "TRD")]
    pm: String,
    /// The product
    #[arg(long)]
    product: Option<u64>,
    /// A field of the generated sample: payload.newCardStatus=41 sets the text
    /// "41", payload.orangeFlowIndicator:=true a JSON value (as httpie
    /// writes them); repeat for more
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// A scenario instead of one event: token-provisioning, fraud-alert, card-lifecycle
    #[arg(long, conflicts_with_all = ["code", "set"])]
    scenario: Option<String>,
    /// Wait for each delivery's outcome; exit 1 if one ends undelivered
    #[arg(long)]
    wait: bool,
    /// With --wait, the longest to wait, in milliseconds
    #[arg(long, default_value_t = 60_000)]
    timeout_ms: u64,
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    output: Output,
}

pub async fn run(args: TriggerArgs) -> ExitCode {
    match trigger(args).await {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

/// `--set` values as a trigger's `overrides`.
fn overrides(set: &[String]) -> Result<Map<String, Value>, Exit> {
    let mut found = Map::new();
    for item in set {
        let (path, value) = item.split_once('=').ok_or_else(|| {
            Exit::usage(format!(
                "--set {item}: give PATH=TEXT or PATH:=JSON, such as payload.newCardStatus=41"
            ))
        })?;
        let (path, value) = match path.strip_suffix(':') {
            Some(path) => (
                path,
                serde_json::from_str(value).map_err(|e| {
                    Exit::usage(format!("--set {item}: the value after := is not JSON: {e}"))
                })?,
            ),
            None => (path, Value::String(value.into())),
        };
        let path = path.strip_prefix("payload.").unwrap_or(path);
        found.insert(path.to_owned(), value);
    }
    Ok(found)
}

async fn trigger(args: TriggerArgs) -> Result<ExitCode, Exit> {
    let overrides = overrides(&args.set)?;
    let service = Service::connect(args.service.clone()).await?;
    // Opened first: every attempt of what is triggered next is on it.
    let mut changes = if args.wait {
        Some(
            service
                .stream(&format!("programManagerCode={}", args.pm))
                .await?,
        )
    } else {
        None
    };
    let mut body = json!({"programManagerCode": args.pm, "productId": args.product});
    let (path, what) = match (&args.scenario, args.code) {
        (Some(name), _) => (
            format!("/sandbox/v1/scenarios/{name}"),
            format!("scenario {name}"),
        ),
        (None, Some(code)) => {
            body["eventCode"] = json!(code);
            if !overrides.is_empty() {
                body["overrides"] = Value::Object(overrides);
            }
            ("/sandbox/v1/events".to_owned(), format!("event {code}"))
        }
        (None, None) => return Err(Exit::usage("give an event code or --scenario".into())),
    };
    let answer = service
        .call(Method::POST, &path, None, Some(&body))
        .await?
        .response(&what)?;
    // A trigger answers one event, a scenario a list.
    let events: Vec<Value> = match answer.get("events") {
        Some(Value::Array(events)) => events.clone(),
        _ => {
            let mut event = answer.clone();
            event["eventCode"] = json!(args.code);
            vec![event]
        }
    };
    let mut pending = HashSet::new();
    for event in &events {
        print_event(event, args.output);
        for n in event["notifications"].as_array().into_iter().flatten() {
            if let Some(id) = n["notificationId"].as_str() {
                pending.insert(id.to_owned());
            }
        }
    }
    let Some(changes) = changes.as_mut() else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut undelivered = 0;
    let deadline = tokio::time::sleep(Duration::from_millis(args.timeout_ms));
    tokio::pin!(deadline);
    while !pending.is_empty() {
        let change = tokio::select! {
            change = changes.next() => change,
            () = &mut deadline => {
                return Err(Exit::failed(format!(
                    "{} notification(s) still pending after {} ms: {}",
                    pending.len(),
                    args.timeout_ms,
                    pending.iter().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        };
        let Some(change) = change else {
            return Err(Exit::unreachable(
                "the live stream ended before every delivery landed".into(),
            ));
        };
        let Some(id) = change["notificationId"].as_str() else {
            continue;
        };
        if change["type"] != "attempt" || !pending.contains(id) {
            continue;
        }
        print_attempt(&change, args.output);
        match change["notificationStatus"].as_str() {
            Some("Delivered") => {
                pending.remove(id);
            }
            Some("Undelivered") => {
                pending.remove(id);
                undelivered += 1;
            }
            _ => {}
        }
    }
    if undelivered > 0 {
        eprintln!("webhook-manager: {undelivered} notification(s) ended undelivered");
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn short(id: &Value) -> String {
    id.as_str().unwrap_or("?").to_owned()
}

fn print_event(event: &Value, output: Output) {
    if output.json {
        println!("{}", json!({"type": "event", "event": event}));
        return;
    }
    let code = event["eventCode"]
        .as_u64()
        .map_or(String::new(), |c| format!(" {c}"));
    println!("event {}{code}", short(&event["eventId"]));
    for n in event["notifications"].as_array().into_iter().flatten() {
        println!(
            "  notification {}  to webhook {}",
            short(&n["notificationId"]),
            short(&n["webhookId"])
        );
    }
    for s in event["skipped"].as_array().into_iter().flatten() {
        println!(
            "  skipped webhook {}  {}",
            short(&s["webhookId"]),
            s["reason"].as_str().unwrap_or("")
        );
    }
    if let Some(message) = event["message"].as_str() {
        println!("  {message}");
    }
}

fn print_attempt(attempt: &Value, output: Output) {
    if output.json {
        println!("{attempt}");
        return;
    }
    let answered = match (attempt["httpStatus"].as_u64(), attempt["error"].as_str()) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.to_owned(),
        (None, None) => "no answer".to_owned(),
    };
    println!(
        "{} notification {}  attempt {}  {answered}  {} ms  now {}",
        super::outcome(attempt["outcome"].as_str().unwrap_or("?"), 11),
        short(&attempt["notificationId"]),
        attempt["attempt"],
        attempt["latencyMs"],
        attempt["notificationStatus"].as_str().unwrap_or("?")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_takes_text_or_json_by_httpies_convention() {
        let found = overrides(&[
            "payload.newCardStatus=41".into(),
            "deviceInfo.deviceType=WATCH".into(),
            "orangeFlowIndicator:=true".into(),
        ])
        .expect("valid");
        assert_eq!(found["newCardStatus"], "41");
        assert_eq!(found["deviceInfo.deviceType"], "WATCH");
        assert_eq!(found["orangeFlowIndicator"], true);
        assert!(overrides(&["newCardStatus".into()]).is_err());
        assert!(overrides(&["x:=not json".into()]).is_err());
    }
}
