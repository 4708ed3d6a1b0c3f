//! `webhook-manager webhooks list|create|status` and `webhook-manager
//! deliveries wait`: thin verbs over the API for scripts, with the same
//! output and exit codes as the others.

use std::process::ExitCode;

use awc::http::Method;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::service::{Service, ServiceArgs};
use super::{fail, Exit, Output, EXIT_FAILED};

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(subcommand)]
    verb: WebhooksVerb,
    /// The program manager (X-PM-Code; with a token, the token's)
    #[arg(long, global = true, default_value = "TRD")]
    pm: String,
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Subcommand)]
enum WebhooksVerb {
    /// The program manager's webhooks
    List,
    /// Register a webhook
    Create {
        /// Where the service calls it
        #[arg(long, value_name = "URL")]
        endpoint: String,
        /// Event codes, comma-separated: 101,103
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<u16>,
        /// Its product (none: every product of the program manager)
        #[arg(long)]
        product: Option<u64>,
        /// A custom header sent with every notification: NAME=VALUE (at most 3)
        #[arg(long = "header", value_name = "NAME=VALUE")]
        headers: Vec<String>,
    },
    /// Set a webhook active or inactive
    Status {
        /// The webhook's id
        id: String,
        #[arg(value_parser = ["active", "inactive"])]
        status: String,
    },
}

pub async fn run(args: WebhooksArgs) -> ExitCode {
    match webhooks(args).await {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

async fn webhooks(args: WebhooksArgs) -> Result<ExitCode, Exit> {
    let service = Service::connect(args.service.clone()).await?;
    let pm = Some(args.pm.as_str());
    let shown = match &args.verb {
        WebhooksVerb::List => {
            let answer = service
                .call(Method::GET, "/api/v1/Webhooks", pm, None)
                .await?;
            if answer.status.as_u16() == 404 {
                // Thredd's answer for none: WEBHOOK_DETAILS_NOTFOUND.
                Vec::new()
            } else {
                answer.response("list")?["content"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            }
        }
        WebhooksVerb::Create {
            endpoint,
            events,
            product,
            headers,
        } => {
            let custom = super::custom_headers(headers)?;
            let body = json!({"productId": product, "events": events,
                              "config": {"url": endpoint, "customHeaders": custom}});
            let created = service
                .call(Method::POST, "/api/v1/Webhooks", pm, Some(&body))
                .await?
                .response("create")?;
            vec![created]
        }
        WebhooksVerb::Status { id, status } => {
            let changed = service
                .call(
                    Method::PATCH,
                    &format!("/api/v1/Webhooks/{id}/status"),
                    pm,
                    Some(&json!({"webhookStatus": status})),
                )
                .await?
                .response("status")?;
            vec![changed]
        }
    };
    if args.output.json {
        for webhook in &shown {
            println!("{webhook}");
        }
    } else if shown.is_empty() {
        println!("{} has no webhooks", args.pm);
    } else {
        for w in &shown {
            let product = w["productId"]
                .as_u64()
                .map_or_else(|| "all".to_owned(), |p| p.to_string());
            let events: Vec<String> = w["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(ToString::to_string)
                .collect();
            println!(
                "{}  {:<8} {:<9} {:<24} {}",
                w["webhookId"].as_str().unwrap_or("?"),
                product,
                w["webhookStatus"].as_str().unwrap_or("?"),
                events.join(","),
                w["config"]["url"].as_str().unwrap_or("?"),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    #[command(subcommand)]
    verb: DeliveriesVerb,
}

#[derive(Debug, Subcommand)]
enum DeliveriesVerb {
    /// Wait until attempts that match have been made (POST
    /// /sandbox/v1/deliveries/wait); exit 1 when the time runs out first
    Wait(WaitArgs),
}

#[derive(Debug, Args)]
struct WaitArgs {
    #[arg(long, value_name = "ID")]
    notification: Option<String>,
    #[arg(long, value_name = "ID")]
    webhook: Option<String>,
    #[arg(long, value_name = "ID")]
    event_id: Option<String>,
    #[arg(long, value_name = "CODE")]
    event_code: Option<u16>,
    /// delivered or failed
    #[arg(long, value_parser = ["delivered", "failed"])]
    outcome: Option<String>,
    /// How many attempts must match
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// The longest to wait, in milliseconds (the service caps it at
    /// sandbox.max_wait_ms)
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    output: Output,
}

pub async fn deliveries(args: DeliveriesArgs) -> ExitCode {
    let DeliveriesVerb::Wait(args) = args.verb;
    match wait(args).await {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

async fn wait(args: WaitArgs) -> Result<ExitCode, Exit> {
    let mut criteria = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            criteria.insert(key.to_owned(), value);
        }
    };
    put(
        "notificationId",
        args.notification.clone().map(Value::String),
    );
    put("webhookId", args.webhook.clone().map(Value::String));
    put("eventId", args.event_id.clone().map(Value::String));
    put("eventCode", args.event_code.map(|c| json!(c)));
    put("outcome", args.outcome.clone().map(Value::String));
    let body = json!({"match": criteria, "count": args.count, "timeoutMs": args.timeout_ms});
    let service = Service::connect(args.service.clone()).await?;
    let answer = service
        .call(
            Method::POST,
            "/sandbox/v1/deliveries/wait",
            None,
            Some(&body),
        )
        .await?;
    let timed_out = answer.status.as_u16() == 408;
    let matched = if timed_out {
        answer.body["response"].clone()
    } else {
        answer.response("wait")?
    };
    if args.output.json {
        println!("{matched}");
    } else {
        println!(
            "{} of {} attempt(s) matched{}",
            matched["matched"],
            args.count,
            if timed_out {
                " when the time ran out"
            } else {
                ""
            }
        );
    }
    Ok(if timed_out {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
