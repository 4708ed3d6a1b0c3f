//! The benchmarks' webhook receiver: answers every request 200 at once, and
//! counts what it received.
//!
//! `GET /stats` answers JSON: `received` (requests), `notifications` (those
//! with a `context.notificationId`), `distinct` (different ids, so
//! `notifications - distinct` is the duplicates), and
//! the trigger-to-receipt latency percentiles (`p50_us`, `p99_us`, `p999_us`)
//! of the notifications whose payload carries `sentAtUs` (the Unix time in
//! microseconds when bench-load's trigger was due). `GET /stats?reset` also
//! forgets the latencies.
//!
//! Usage: bench-receiver PORT

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

#[derive(Default)]
struct Tally {
    received: u64,
    /// Requests that carried a notification id (heartbeats carry none).
    notifications: u64,
    distinct: HashSet<String>,
    latencies_us: Vec<u64>,
}

/// Latencies kept at most (enough for any open-loop run).
const MAX_LATENCIES: usize = 4_000_000;

async fn receive(body: web::Bytes, tally: web::Data<Mutex<Tally>>) -> HttpResponse {
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let envelope: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut tally) = tally.lock() {
        tally.received += 1;
        if let Some(id) = envelope["context"]["notificationId"].as_str() {
            tally.notifications += 1;
            tally.distinct.insert(id.to_owned());
        }
        if let Some(sent) = envelope["payload"]["sentAtUs"].as_u64() {
            if tally.latencies_us.len() < MAX_LATENCIES {
                tally.latencies_us.push(now_us.saturating_sub(sent));
            }
        }
    }
    HttpResponse::Ok().finish()
}

async fn stats(request: HttpRequest, tally: web::Data<Mutex<Tally>>) -> HttpResponse {
    let Ok(mut tally) = tally.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut sorted = tally.latencies_us.clone();
    sorted.sort_unstable();
    let at = |p: f64| {
        let rank = ((sorted.len() as f64) * p).ceil() as usize;
        sorted
            .get(rank.clamp(1, sorted.len().max(1)) - 1)
            .copied()
            .unwrap_or(0)
    };
    let answer = json!({
        "received": tally.received,
        "notifications": tally.notifications,
        "distinct": tally.distinct.len(),
        "latencies": sorted.len(),
        "p50_us": at(0.50),
        "p99_us": at(0.99),
        "p999_us": at(0.999),
    });
    if request.query_string().contains("reset") {
        tally.latencies_us.clear();
    }
    HttpResponse::Ok().json(answer)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let tally = web::Data::new(Mutex::new(Tally::default()));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(tally.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .route("/stats", web::get().to(stats))
            .default_service(web::to(receive))
    })
    .workers(1)
    .bind(("127.0.0.1", port))?;
    for address in server.addrs() {
        println!("bench-receiver listening on http://{address}");
    }
    server.run().await
}
