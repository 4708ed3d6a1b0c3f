#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark tool: a bad argument or setup stops it with the reason
//! Open-loop load, for the latency columns of the benchmark: requests go out on a
//! fixed schedule (RATE per second) whatever the server's answers do, and each
//! latency is measured from when its request was *due*, not from when it was sent.
//! A stall of the server therefore counts against every request it held back
//! (coordinated omission corrected, as wrk2 does). wrk, being closed-loop, only
//! measures throughput here.
//!
//! Usage: bench-load URL SCENARIO RATE SECONDS
//! SCENARIO is one of get, list, create, update, heartbeat, mix, trigger; the
//! requests are the same as those of bench/wrk/SCENARIO.lua (trigger: deliver.lua,
//! with the due time in the payload for bench-receiver), except that creates use
//! program manager OPEN, so that they never collide with the closed-loop run
//! before them.
//! Prints one JSON line: rates, errors, latency percentiles (microseconds) and the
//! generator's own lag behind its schedule, which must stay small for the figures
//! to describe the server rather than the generator.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use awc::http::Method;
use awc::{Client, Connector};
use serde_json::json;

struct Call {
    method: Method,
    path: String,
    pm: Option<String>,
    body: Option<String>,
}

fn seeded(i: u64) -> (String, String) {
    (
        format!("/api/v1/webhooks/00000000-0000-4000-8000-{i:012}"),
        format!("B{:03}", i / 100),
    )
}

fn call(scenario: &str, n: u64) -> Call {
    let i = fastrand::u64(0..100_000);
    let (path, pm) = seeded(i);
    let get = || Call {
        method: Method::GET,
        path: path.clone(),
        pm: Some(pm.clone()),
        body: None,
    };
    let list = || Call {
        method: Method::GET,
        path: "/api/v1/webhooks".into(),
        pm: Some("LIST".into()),
        body: None,
    };
    let create = || Call {
        method: Method::POST,
        path: "/api/v1/webhooks".into(),
        pm: Some("OPEN".into()),
        body: Some(format!(
            r#"{{"productId":{n},"events":[101,103],"config":{{"url":"https://client.example/hook","customHeaders":{{"ApiKey":"k"}}}}}}"#
        )),
    };
    let update = || Call {
        method: Method::PUT,
        path: path.clone(),
        pm: Some(pm.clone()),
        body: Some(format!(
            r#"{{"productId":{},"events":[101,102],"config":{{"url":"https://client.example/updated"}}}}"#,
            i % 100
        )),
    };
    match scenario {
        "get" => get(),
        "list" => list(),
        "create" => create(),
        "update" => update(),
        // One notification for the bench receiver; it reads `sentAtUs` (filled
        // in when the call is due) for the trigger-to-receipt latency.
        "trigger" => Call {
            method: Method::POST,
            path: "/sandbox/v1/events".into(),
            pm: None,
            body: Some(
                r#"{"programManagerCode":"B000","productId":0,"eventCode":103,"payload":{"sentAtUs":SENT_AT}}"#
                    .into(),
            ),
        },
        "heartbeat" => Call {
            method: Method::GET,
            path: format!("{path}/heartbeat"),
            pm: None,
            body: None,
        },
        "mix" => match fastrand::u32(0..100) {
            0..70 => get(),
            70..85 => list(),
            85..95 => create(),
            _ => update(),
        },
        other => panic!("unknown scenario {other}"),
    }
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    lags_us: Vec<u64>,
    errors: u64,
}

async fn send(client: Client, base: Rc<str>, call: Call, due: Instant, tally: Rc<RefCell<Tally>>) {
    let mut request = client.request(call.method, format!("{base}{}", call.path));
    if let Some(pm) = call.pm {
        request = request.insert_header(("X-PM-Code", pm));
    }
    let lag = due.elapsed();
    let answer = match call.body {
        Some(body) => {
            let due_unix_us = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.saturating_sub(lag).as_micros());
            let body = body.replace("SENT_AT", &due_unix_us.to_string());
            request
                .insert_header(("Content-Type", "application/json"))
                .send_body(body)
                .await
        }
        None => request.send().await,
    };
    let ok = match answer {
        Ok(mut response) => {
            response.status().is_success() && response.body().limit(1 << 22).await.is_ok()
        }
        Err(_) => false,
    };
    let latency = due.elapsed();
    let mut tally = tally.borrow_mut();
    tally.latencies_us.push(latency.as_micros() as u64);
    tally.lags_us.push(lag.as_micros() as u64);
    if !ok {
        tally.errors += 1;
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[actix_rt::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, scenario, rate, seconds] = &args[..] else {
        eprintln!("usage: bench-load URL SCENARIO RATE SECONDS");
        std::process::exit(2);
    };
    let rate: f64 = rate.parse().expect("RATE");
    let seconds: f64 = seconds.parse().expect("SECONDS");
    let client = Client::builder()
        .connector(Connector::new().limit(1024))
        .timeout(Duration::from_secs(10))
        .finish();
    let base: Rc<str> = base.trim_end_matches('/').into();
    let tally = Rc::new(RefCell::new(Tally::default()));
    let total = (rate * seconds) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now() + Duration::from_millis(5);
    let mut sent = 0u64;
    while sent < total {
        let now = Instant::now();
        while sent < total && start + interval.mul_f64(sent as f64) <= now {
            let due = start + interval.mul_f64(sent as f64);
            let call = call(scenario, sent + 1);
            actix_rt::spawn(send(
                client.clone(),
                Rc::clone(&base),
                call,
                due,
                Rc::clone(&tally),
            ));
            sent += 1;
        }
        // Answers are read while yielding. When the next request is not due yet,
        // sleep until it is (up to 50 us), leaving the CPU to the heartbeat
        // receiver that shares it; a runtime timer would send in 1 ms bursts.
        actix_rt::task::yield_now().await;
        let next = start + interval.mul_f64(sent as f64);
        let wait = next.saturating_duration_since(Instant::now());
        if wait > Duration::from_micros(5) {
            std::thread::sleep(wait.min(Duration::from_micros(50)));
        }
    }
    let sending = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(15);
    while (tally.borrow().latencies_us.len() as u64) < sent && Instant::now() < deadline {
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    let mut tally = tally.take();
    let done = tally.latencies_us.len() as u64;
    tally.latencies_us.sort_unstable();
    tally.lags_us.sort_unstable();
    let l = &tally.latencies_us;
    println!(
        "{}",
        json!({
            "target_rps": rate,
            "sent_rps": sent as f64 / sending.as_secs_f64(),
            "sent": sent,
            "answered": done,
            "errors": tally.errors + (sent - done),
            "p50_us": percentile(l, 0.50),
            "p99_us": percentile(l, 0.99),
            "p999_us": percentile(l, 0.999),
            "max_us": l.last().copied().unwrap_or(0),
            "lag_p99_us": percentile(&tally.lags_us, 0.99),
        })
    );
}
