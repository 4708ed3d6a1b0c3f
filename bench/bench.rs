//! The benchmark driver: `bash bench/run` builds the release binaries and runs this.
//!
//! It seeds a database with 100,000 webhooks over 1,000 program managers, runs the
//! baseline B0 and every scenario under the same load (wrk, pinned to another CPU
//! than the server), and reports each scenario as a ratio to B0 measured in the
//! same run. B0 runs before and after the scenarios; a run whose two B0 figures
//! differ by more than 10% is rejected, since the machine was not steady.
//!
//! Throughput comes from wrk (closed loop, the most the server manages). Latency
//! comes from an open-loop run right after, at half that rate, with bench-load
//! (bench/load.rs), which measures each request from when it was due.
//!
//! `bash bench/run backlog` runs only the backlog scenario (see `backlog`);
//! `bash bench/run deliver` only B0, deliver and B0, printing the figures;
//! `bash bench/run dashboard` only the dashboard scenario (see `dashboard`);
//! `bash bench/run postgres` SQLite against PostgreSQL (see `postgres`).
//!
//! Environment: BENCH_DURATION (seconds per run, default 10), BENCH_CONNECTIONS
//! (default 64), BENCH_SERVER_CPU / BENCH_LOAD_CPU (defaults 0 and 1).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use time::OffsetDateTime;
use webhook_manager::domain::{
    CustomHeaders, EventCode, EventSet, Notification, NotificationId, PmCode, ProductId, Webhook,
    WebhookConfig, WebhookId, WebhookSpec, WebhookUrl,
};
/// PostgreSQL clusters of the bench's own: the library's test support, which
/// the shipped binary leaves out.
#[allow(dead_code)]
#[path = "../src/store/postgres/throwaway.rs"]
mod throwaway;
use throwaway::Private;
use webhook_manager::store::sqlite::{SqliteOptions, Synchronous};
use webhook_manager::store::{Outbox, PgStore, Repository, SqliteStore, Store};

const SEEDED: u64 = 100_000;
const LIST_SIZE: u64 = 20;

type Error = Box<dyn std::error::Error>;

struct Settings {
    duration: u64,
    connections: u32,
    server_cpu: String,
    load_cpu: String,
    root: PathBuf,
    work: PathBuf,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn main() -> Result<(), Error> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings {
        duration: env_or("BENCH_DURATION", "10").parse()?,
        connections: env_or("BENCH_CONNECTIONS", "64").parse()?,
        server_cpu: env_or("BENCH_SERVER_CPU", "0"),
        load_cpu: env_or("BENCH_LOAD_CPU", "1"),
        work: root.join("target/bench"),
        root,
    };
    // On the project's disk, not /tmp (often tmpfs): durable writes depend on the disk.
    let _ = fs::remove_dir_all(&settings.work);
    fs::create_dir_all(&settings.work)?;
    if std::env::args().nth(1).as_deref() == Some("backlog") {
        return backlog(&settings);
    }
    if std::env::args().nth(1).as_deref() == Some("dashboard") {
        return dashboard(&settings);
    }
    if std::env::args().nth(1).as_deref() == Some("postgres") {
        return postgres(&settings);
    }

    let cpu = fs::read_to_string("/proc/cpuinfo")?
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let (fsync_p50, fsync_p99) = fsync_probe(&settings.work.join("fsync.probe"))?;
    progress(&format!("machine: {cpu}, {cores} cores; 4 KiB fdatasync p50 {fsync_p50:.3} ms, p99 {fsync_p99:.3} ms"));

    let mut receiver = spawn(
        &settings.load_cpu,
        &settings.root.join("target/release/examples/bench-receiver"),
        &["0"],
        &[],
    )?;
    let receiver_url = format!("{}/hook", listening(&mut receiver.child)?);

    progress(&format!(
        "seeding {} webhooks over 1,000 program managers",
        SEEDED + LIST_SIZE
    ));
    let seed = settings.work.join("seed.db");
    let started = Instant::now();
    seed_database(&seed, &receiver_url)?;
    progress(&format!(
        "seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    progress("naive loop: one INSERT per commit, synchronous=FULL, 3 s");
    let naive = naive_commits_per_second(&settings.work.join("naive.db"))?;
    progress(&format!("naive loop: {naive:.0} commits/s"));

    let overflows_before = listen_overflows();
    let b0_before = run_baseline(&settings)?;
    if std::env::args().nth(1).as_deref() == Some("deliver") {
        // Only B0, deliver and B0 again (to try a change); nothing is written.
        let receiver_base = receiver_url.trim_end_matches("/hook").to_owned();
        let mut service = start_service(&settings, &seed, "full")?;
        let pid = service.pid();
        let d = deliver(&settings, &[&service], &receiver_base, &|| vec![pid])?;
        service.stop();
        let b0 = (b0_before.rps + run_baseline(&settings)?.rps) / 2.0;
        progress(&format!(
            "deliver: {:.0} events/s = {:.3} x B0 (B0 {b0:.0}), {:.1} CPU us/event, {} of {}, {} duplicates; open loop {:.0}/s trigger to receipt p50 / p99 / p99.9 {:.2} / {:.2} / {:.2} ms; at 100/s {:.2} / {:.2} / {:.2} ms",
            d.events_per_s, d.events_per_s / b0, d.cpu_us, d.delivered, d.triggered, d.duplicates, d.open_rate,
            d.receipt_ms[0], d.receipt_ms[1], d.receipt_ms[2],
            d.receipt_100_ms[0], d.receipt_100_ms[1], d.receipt_100_ms[2]
        ));
        return Ok(());
    }
    // The p99 targets at half load: reads, and writes with synchronous=normal,
    // within 1 ms; a durable write within two fsyncs and 1 ms.
    let durable_p99_ms = 2.0 * fsync_p99 + 1.0;
    let scenarios = [
        ("GET by id", "get", "full", 0.80, 1.0),
        ("list (20)", "list", "full", 0.60, 1.0),
        (
            "create, synchronous=full",
            "create",
            "full",
            0.50,
            durable_p99_ms,
        ),
        ("create, synchronous=normal", "create", "normal", 0.0, 1.0),
        ("full update", "update", "full", 0.50, durable_p99_ms),
        ("heartbeat", "heartbeat", "full", 0.35, durable_p99_ms),
        ("mix 70/15/10/5", "mix", "full", 0.70, durable_p99_ms),
    ];
    // Resident memory of the service idle on an empty database, to count the
    // cost per webhook against the seeded one's.
    let empty_db = settings.work.join("empty.db");
    remove_database(&empty_db);
    File::create(&empty_db)?;
    let mut service = start_service_on(&settings, &empty_db, "full", None)?;
    thread::sleep(Duration::from_secs(1));
    let rss_empty_kib = proc_status_kib(service.pid(), "VmRSS")?;
    service.stop();
    let mut rows = Vec::new();
    let mut startup_ms = None;
    let mut rss_idle_kib = None;
    for (name, scenario, synchronous, target, p99_target_ms) in scenarios {
        settle();
        let mut service = start_service(&settings, &seed, synchronous)?;
        startup_ms.get_or_insert(service.startup_ms);
        // The index loads behind the first answers (about 100 ms); a second covers it.
        thread::sleep(Duration::from_secs(1));
        rss_idle_kib.get_or_insert(proc_status_kib(service.pid(), "VmRSS")?);
        let result = measure(&settings, &service, scenario, settings.connections)?;
        let open = open_loop(&settings, &service, scenario, result.rps / 2.0)?;
        progress(&format!(
            "{name}: {:.0} req/s, {:.1} CPU us/req; at {:.0} req/s open loop p99 {:.2} ms",
            result.rps,
            result.cpu_us,
            open.sent_rps,
            open.p99_us / 1000.0
        ));
        rows.push((name, target, result, open, p99_target_ms));
        service.stop();
    }
    progress("deliver: triggers, then every notification delivered");
    settle();
    let mut service = start_service(&settings, &seed, "full")?;
    let receiver_base = receiver_url.trim_end_matches("/hook").to_owned();
    let pid = service.pid();
    let delivered = deliver(&settings, &[&service], &receiver_base, &|| vec![pid])?;
    progress(&format!(
        "deliver: {} of {} triggered delivered, {:.0} events/s, {:.1} CPU us/event, drained {:.1} s after the triggers; open loop {:.0}/s trigger to receipt p99 {:.2} ms",
        delivered.delivered, delivered.triggered, delivered.events_per_s, delivered.cpu_us, delivered.drain_s, delivered.open_rate, delivered.receipt_ms[1]
    ));
    service.stop();
    progress("mix with 256 connections, for memory");
    let mut service = start_service(&settings, &seed, "full")?;
    let mix256 = measure(&settings, &service, "mix", 256)?;
    let rss_peak_kib = proc_status_kib(service.pid(), "VmHWM")?;
    service.stop();
    let b0_after = run_baseline(&settings)?;
    receiver.stop();

    let drift = (b0_after.rps - b0_before.rps).abs() / b0_before.rps;
    let overflows = listen_overflows().saturating_sub(overflows_before);
    let binary = fs::metadata(service_binary(&settings))?.len();
    let create_full = rows
        .iter()
        .find(|r| r.0 == "create, synchronous=full")
        .map_or(0.0, |r| r.2.rps);

    let mut md = String::new();
    let now = OffsetDateTime::now_utc();
    md +=
        &format!("# Benchmark results\n\nRun {now} by `bash bench/run` on: {cpu}, {cores} cores. ");
    md += &format!(
        "Server pinned to CPU {}, load (wrk, 1 thread) to CPU {}; service and B0 with 1 worker; {} s per run, {} connections.\n\n",
        settings.server_cpu, settings.load_cpu, settings.duration, settings.connections
    );
    md +=
        &format!("4 KiB fdatasync on this disk: p50 {fsync_p50:.3} ms, p99 {fsync_p99:.3} ms.\n\n");
    md += &format!(
        "B0 (baseline): {:.0} req/s before, {:.0} after ({:.1}% apart; runs more than 10% apart are rejected). Ratios use their mean.\n\n",
        b0_before.rps,
        b0_after.rps,
        drift * 100.0
    );
    let b0 = (b0_before.rps + b0_after.rps) / 2.0;
    md += &format!(
        "Throughput is wrk's (closed loop, {} connections). Latency is measured open loop at half that throughput by bench-load, from when each request was due (coordinated omission corrected); \"lag\" is how late the generator itself sent (p99), which must stay small for the latency to be the server's. p99 targets: 1 ms for reads and `normal` writes, 2 x fsync p99 + 1 ms = {durable_p99_ms:.2} ms for durable writes.\n\n",
        settings.connections
    );
    md += "| scenario | req/s | x B0 | target | CPU us/req (server) | errors | open loop req/s | p50 / p99 / p99.9 (ms) | p99 target | lag (ms) | errors (open) |\n";
    md += "|---|---:|---:|---|---:|---:|---:|---|---|---:|---:|\n";
    md += &row("B0 baseline (before)", &b0_before, b0, 0.0, None);
    for (name, target, result, open, p99_target_ms) in &rows {
        md += &row(name, result, b0, *target, Some((open, *p99_target_ms)));
    }
    md += &row("mix, 256 connections", &mix256, b0, 0.0, None);
    md += &row("B0 baseline (after)", &b0_after, b0, 0.0, None);
    md += "\n| measure | value | target |\n|---|---:|---|\n";
    md += &format!(
        "| deliver: events triggered and delivered per second (receiver answers 200) | {:.0} events/s = {:.3} x B0; {:.1} CPU us/event; {} of {} delivered, the last {:.1} s after the triggers | >= 0.10 x B0 |\n",
        delivered.events_per_s,
        delivered.events_per_s / b0,
        delivered.cpu_us,
        delivered.delivered,
        delivered.triggered,
        delivered.drain_s
    );
    md += &format!(
        "| deliver: trigger (when due) to receipt, open loop at {:.0} events/s, p50 / p99 / p99.9 | {:.2} / {:.2} / {:.2} ms | p99 <= 2 ms |\n",
        delivered.open_rate,
        delivered.receipt_ms[0],
        delivered.receipt_ms[1],
        delivered.receipt_ms[2]
    );
    md += &format!(
        "| deliver: trigger (when due) to receipt, open loop at 100 events/s, p50 / p99 / p99.9 | {:.2} / {:.2} / {:.2} ms | p99 <= 1.3 ms |\n",
        delivered.receipt_100_ms[0],
        delivered.receipt_100_ms[1],
        delivered.receipt_100_ms[2]
    );
    md += &format!(
        "| deliver: notifications received more than once | {} | 0 |\n",
        delivered.duplicates
    );
    md += &format!(
        "| create full vs naive one-commit-per-request loop | {:.1} x ({create_full:.0} vs {naive:.0} commits/s) | >= 50 x |\n",
        create_full / naive
    );
    let rss_idle_kib = rss_idle_kib.unwrap_or(0);
    md += &format!(
        "| resident memory, idle, 100,020 webhooks (empty database: {:.1} MiB) | {:.1} MiB | <= 64 MiB |\n",
        rss_empty_kib as f64 / 1024.0,
        rss_idle_kib as f64 / 1024.0
    );
    md += &format!(
        "| resident memory per webhook (idle, seeded minus empty, / 100,020) | {:.0} bytes | <= 512 bytes |\n",
        rss_idle_kib.saturating_sub(rss_empty_kib) as f64 * 1024.0 / (SEEDED + LIST_SIZE) as f64
    );
    md += &format!(
        "| resident memory, peak under the mix, 256 connections | {:.1} MiB | <= 96 MiB |\n",
        rss_peak_kib as f64 / 1024.0
    );
    md += &format!(
        "| start-up to the first answered read, 100,020 webhooks | {:.0} ms | <= 50 ms |\n",
        startup_ms.unwrap_or(0.0)
    );
    md += &format!(
        "| connections dropped at a full listen queue during the run (TcpExt ListenOverflows; each costs its client a 1 s SYN retransmit) | {overflows} | 0 |\n"
    );
    md += &format!(
        "| stripped release binary | {:.2} MiB | <= 10 MiB |\n",
        binary as f64 / 1024.0 / 1024.0
    );
    accept(&settings, drift, &md, "latest.md")
}

fn progress(line: &str) {
    eprintln!("[bench] {line}");
}

fn met(ok: bool) -> &'static str {
    if ok {
        "(met)"
    } else {
        "(missed)"
    }
}

fn row(name: &str, r: &RunResult, b0: f64, target: f64, open: Option<(&OpenLoop, f64)>) -> String {
    let ratio = r.rps / b0;
    let target = if target > 0.0 {
        format!(">= {target:.2} {}", met(ratio >= target))
    } else {
        String::new()
    };
    let open = match open {
        Some((o, p99_target_ms)) => format!(
            "{:.0} | {:.2} / {:.2} / {:.2} | <= {p99_target_ms:.2} {} | {:.2} | {}",
            o.sent_rps,
            o.p50_us / 1000.0,
            o.p99_us / 1000.0,
            o.p999_us / 1000.0,
            met(o.p99_us / 1000.0 <= p99_target_ms),
            o.lag_p99_us / 1000.0,
            o.errors
        ),
        None => " | | | | ".into(),
    };
    format!(
        "| {name} | {:.0} | {ratio:.2} | {target} | {:.1} | {} | {open} |\n",
        r.rps, r.cpu_us, r.errors
    )
}

struct Process {
    child: Child,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(
    cpu: &str,
    program: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<Process, Error> {
    spawn_logged(cpu, program, args, env, None)
}

/// `spawn`, with the log at `info` into `log` when given (else `warn`, dropped).
fn spawn_logged(
    cpu: &str,
    program: &Path,
    args: &[&str],
    env: &[(&str, String)],
    log: Option<&Path>,
) -> Result<Process, Error> {
    let (level, stderr) = match log {
        Some(path) => ("info", Stdio::from(File::create(path)?)),
        None => ("warn", Stdio::null()),
    };
    let child = Command::new("taskset")
        .arg("-c")
        .arg(cpu)
        .arg(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", level)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", program.display()))?;
    Ok(Process { child })
}

/// The address a server prints as `... listening on http://HOST:PORT`.
fn listening(child: &mut Child) -> Result<String, Error> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().ok_or("server exited before listening")??;
    let address = line
        .split(" listening on ")
        .nth(1)
        .ok_or_else(|| format!("unexpected line {line:?}"))?;
    // Keep draining stdout so the server never blocks on a full pipe.
    thread::spawn(move || lines.for_each(drop));
    Ok(address.trim().to_owned())
}

struct Service {
    process: Process,
    url: String,
    startup_ms: f64,
}

impl Service {
    fn pid(&self) -> u32 {
        self.process.pid()
    }

    fn stop(&mut self) {
        self.process.stop();
    }
}

/// Starts the service on a fresh copy of the seeded database and waits for its
/// first 200 on a webhook read.
fn start_service(settings: &Settings, seed: &Path, synchronous: &str) -> Result<Service, Error> {
    let db = settings.work.join("service.db");
    remove_database(&db);
    fs::copy(seed, &db)?;
    start_service_on(settings, &db, synchronous, None)
}

fn remove_database(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// The service's binary: `BENCH_SERVICE`, to measure another build (say, the
/// commit before a change) against the same B0; else this tree's release build.
fn service_binary(settings: &Settings) -> PathBuf {
    std::env::var_os("BENCH_SERVICE").map_or_else(
        || settings.root.join("target/release/webhook-manager"),
        PathBuf::from,
    )
}

/// Starts the service on the database `db` as it is, logging into `log` if
/// given, and waits for its first 200 on a read of webhook `seeded_id(0)`.
fn start_service_on(
    settings: &Settings,
    db: &Path,
    synchronous: &str,
    log: Option<&Path>,
) -> Result<Service, Error> {
    start_service_with(settings, db, synchronous, log, None)
}

/// The same, on PostgreSQL at `postgres` when given.
fn start_service_with(
    settings: &Settings,
    db: &Path,
    synchronous: &str,
    log: Option<&Path>,
    postgres: Option<&str>,
) -> Result<Service, Error> {
    let mut env = vec![
        ("WHM_SERVER__PORT", "0".to_owned()),
        ("WHM_SERVER__WORKERS", "1".to_owned()),
        ("WHM_DATABASE__PATH", db.display().to_string()),
        ("WHM_DATABASE__SYNCHRONOUS", synchronous.to_owned()),
        ("WHM_SECURITY__ALLOW_HTTP", "true".to_owned()),
    ];
    if let Some(url) = postgres {
        env.push(("WHM_DATABASE__URL", url.to_owned()));
    }
    // Built-in defaults plus the overrides above; no config file from the repository.
    let config = settings.work.join("empty.toml");
    fs::write(&config, "")?;
    let config = config.display().to_string();
    // A seeded webhook's read answers readiness; on an empty file (before the
    // service writes its schema into it), the health check does.
    let empty = postgres.is_none() && fs::metadata(db).map_or(0, |m| m.len()) == 0;
    let started = Instant::now();
    let mut process = spawn_logged(
        &settings.server_cpu,
        &service_binary(settings),
        &["--config", &config],
        &env,
        log,
    )?;
    let url = listening(&mut process.child)?;
    let probe = if empty {
        format!("{url}/healthz")
    } else {
        format!("{url}/api/v1/webhooks/{}", seeded_id(0))
    };
    while !http_ok(&probe) {
        if started.elapsed() > Duration::from_secs(30) {
            return Err("service did not answer within 30 s".into());
        }
        thread::sleep(Duration::from_micros(200));
    }
    let startup_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(Service {
        process,
        url,
        startup_ms,
    })
}

/// One HTTP/1.1 GET over a plain socket: whether the status line says 200.
fn http_ok(url: &str) -> bool {
    use std::io::Read;
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

/// What the deliver scenario measured.
struct Delivered {
    triggered: u64,
    delivered: u64,
    /// Delivered over the time from the first trigger to the last delivery.
    events_per_s: f64,
    /// Server CPU over that same time, per delivered event.
    cpu_us: f64,
    /// How long after the triggers stopped the last delivery came.
    drain_s: f64,
    /// Open loop at half `events_per_s`: the triggers' rate, and trigger
    /// (when due) to receipt at the receiver, p50 / p99 / p99.9 in ms.
    open_rate: f64,
    receipt_ms: [f64; 3],
    /// The same, open loop at a gentle 100 events/s.
    receipt_100_ms: [f64; 3],
    /// Notifications the receiver got more than once.
    duplicates: u64,
}

/// The deliver scenario: wrk triggers events for `settings.duration` (one
/// notification each, to the bench receiver), then waits until every triggered
/// notification is delivered (or none more is for 10 s), reading the service's
/// own counters at /metrics.
/// With several nodes (`services`), the triggers go to the first, every
/// node's counters are summed, and `cpu_pids` (all the nodes, and the
/// database's processes when it shares the server CPU) are counted.
fn deliver(
    settings: &Settings,
    services: &[&Service],
    receiver: &str,
    cpu_pids: &dyn Fn() -> Vec<u32>,
) -> Result<Delivered, Error> {
    let service = services[0];
    let duplicates_before = duplicates_at(receiver)?;
    let counts = || -> Result<(u64, u64), Error> {
        let mut sums = (0, 0);
        for s in services {
            let metrics_url = format!("{}/metrics", s.url);
            sums.0 += metric(&metrics_url, TRIGGERED)?;
            sums.1 += metric(&metrics_url, DELIVERED)?;
        }
        Ok(sums)
    };
    let counts_before = counts()?;
    let ticks_before = ticks_of(&cpu_pids());
    let started = Instant::now();
    measure(settings, service, "deliver", settings.connections)?;
    let triggers_done = Instant::now();
    // Counted from what the services had already triggered and delivered
    // (the backlog scenario measures a service that drained a backlog first).
    let (t0, d0) = counts_before;
    let deltas = || -> Result<(u64, u64), Error> {
        let (t, d) = counts()?;
        Ok((t.saturating_sub(t0), d.saturating_sub(d0)))
    };
    let (mut triggered, mut delivered) = deltas()?;
    let mut last_change = Instant::now();
    let mut last_delivery = Instant::now();
    while delivered < triggered && last_change.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(20));
        let (t, d) = deltas()?;
        if d != delivered {
            last_change = Instant::now();
            last_delivery = last_change;
        }
        (triggered, delivered) = (t, d);
    }
    let elapsed = last_delivery.duration_since(started).as_secs_f64();
    let cpu_s =
        ticks_of(&cpu_pids()).saturating_sub(ticks_before) as f64 / clock_ticks_per_second();
    let events_per_s = delivered as f64 / elapsed;
    // Trigger to receipt, open loop at half that rate, then at 100 events/s.
    let receipt_ms = receipt(settings, service, receiver, events_per_s / 2.0)?;
    let receipt_100_ms = receipt(settings, service, receiver, 100.0)?;
    let duplicates = duplicates_at(receiver)?.saturating_sub(duplicates_before);
    Ok(Delivered {
        triggered,
        delivered,
        events_per_s,
        cpu_us: cpu_s * 1e6 / delivered.max(1) as f64,
        drain_s: last_delivery
            .saturating_duration_since(triggers_done)
            .as_secs_f64(),
        open_rate: receipt_ms.1,
        receipt_ms: receipt_ms.0,
        receipt_100_ms: receipt_100_ms.0,
        duplicates,
    })
}

/// Notifications the receiver has had more than once so far.
fn duplicates_at(receiver: &str) -> Result<u64, Error> {
    let stats = receiver_stats(receiver, false)?;
    let count = |key: &str| stats[key].as_u64().unwrap_or(0);
    Ok(count("notifications").saturating_sub(count("distinct")))
}

/// Trigger (when due) to receipt at the receiver, open loop at `rate`: p50,
/// p99 and p99.9 in ms, and the rate the triggers were sent at.
fn receipt(
    settings: &Settings,
    service: &Service,
    receiver: &str,
    rate: f64,
) -> Result<([f64; 3], f64), Error> {
    receiver_stats(receiver, true)?;
    let open = open_loop(settings, service, "trigger", rate)?;
    let sent = (open.sent_rps * OPEN_LOOP_SECONDS.parse::<f64>()?) as u64;
    let mut stats = receiver_stats(receiver, false)?;
    let mut last = (Instant::now(), 0);
    while stats["latencies"].as_u64().unwrap_or(0) < sent
        && last.0.elapsed() < Duration::from_secs(10)
    {
        thread::sleep(Duration::from_millis(50));
        stats = receiver_stats(receiver, false)?;
        let got = stats["latencies"].as_u64().unwrap_or(0);
        if got != last.1 {
            last = (Instant::now(), got);
        }
    }
    let ms = |key: &str| stats[key].as_f64().unwrap_or(0.0) / 1000.0;
    Ok(([ms("p50_us"), ms("p99_us"), ms("p999_us")], open.sent_rps))
}

/// Triggers answered 202, and attempts delivered, in the service's /metrics.
const TRIGGERED: &[&str] = &[
    "webhook_manager_http_requests_total{",
    "route=\"/sandbox/v1/events\"",
    "status=\"202\"",
];
const DELIVERED: &[&str] = &["webhook_manager_deliveries_total{", "outcome=\"delivered\""];

/// The sum of the /metrics lines that contain every one of `needles`.
fn metric(metrics_url: &str, needles: &[&str]) -> Result<u64, Error> {
    let text = http_get(metrics_url).ok_or("reading /metrics")?;
    Ok(text
        .lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64)
}

/// bench-receiver's counts (see bench/receiver.rs); `reset` forgets its latencies.
fn receiver_stats(receiver: &str, reset: bool) -> Result<Value, Error> {
    let url = format!("{receiver}/stats{}", if reset { "?reset" } else { "" });
    let body = http_get(&url).ok_or_else(|| format!("reading {url}"))?;
    Ok(serde_json::from_str(&body)?)
}

/// One HTTP/1.1 GET over a plain socket: the body of a 200 answer.
fn http_get(url: &str) -> Option<String> {
    use std::io::Read;
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

struct RunResult {
    rps: f64,
    cpu_us: f64,
    errors: u64,
}

/// What bench-load reports of an open-loop run.
struct OpenLoop {
    sent_rps: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    lag_p99_us: f64,
    errors: u64,
}

/// How long each open-loop run lasts: long enough for a stable p99.9.
const OPEN_LOOP_SECONDS: &str = "5";

/// Runs bench-load at `rate` requests per second against the server.
fn open_loop(
    settings: &Settings,
    server: &Service,
    scenario: &str,
    rate: f64,
) -> Result<OpenLoop, Error> {
    let output = Command::new("taskset")
        .args(["-c", &settings.load_cpu])
        .arg(settings.root.join("target/release/examples/bench-load"))
        .args([
            &server.url,
            scenario,
            &format!("{rate:.0}"),
            OPEN_LOOP_SECONDS,
        ])
        .output()
        .map_err(|e| format!("running bench-load: {e}"))?;
    let summary = json_summary("bench-load", &output)?;
    let number = |key: &str| summary[key].as_f64().unwrap_or(0.0);
    Ok(OpenLoop {
        sent_rps: number("sent_rps"),
        p50_us: number("p50_us"),
        p99_us: number("p99_us"),
        p999_us: number("p999_us"),
        lag_p99_us: number("lag_p99_us"),
        errors: number("errors") as u64,
    })
}

fn run_baseline(settings: &Settings) -> Result<RunResult, Error> {
    settle();
    let mut process = spawn(
        &settings.server_cpu,
        &settings.root.join("target/release/examples/bench-baseline"),
        &["0", "1"],
        &[],
    )?;
    let url = listening(&mut process.child)?;
    let service = Service {
        process,
        url,
        startup_ms: 0.0,
    };
    let result = measure(settings, &service, "baseline", settings.connections)?;
    progress(&format!(
        "B0: {:.0} req/s, {:.1} CPU us/req",
        result.rps, result.cpu_us
    ));
    Ok(result)
}

/// Lets the kernel write back what earlier runs left dirty (each scenario copies a
/// ~40 MB database), so that writeback does not steal the server's CPU mid-run.
fn settle() {
    let _ = Command::new("sync").status();
    thread::sleep(Duration::from_secs(2));
}

/// Runs wrk with a scenario's script (bench/wrk/SCENARIO.lua) against the server,
/// and reads the server's CPU time.
fn measure(
    settings: &Settings,
    server: &Service,
    scenario: &str,
    connections: u32,
) -> Result<RunResult, Error> {
    let scripts = settings.root.join("bench/wrk");
    let combined = settings.work.join(format!("run-{scenario}.lua"));
    let script = if scenario == "baseline" {
        String::new()
    } else {
        fs::read_to_string(scripts.join(format!("{scenario}.lua")))?
    };
    fs::write(
        &combined,
        script + "\n" + &fs::read_to_string(scripts.join("report.lua"))?,
    )?;
    let cpu_before = cpu_ticks(server.pid())?;
    let output = Command::new("taskset")
        .args(["-c", &settings.load_cpu, "wrk", "-t1"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", settings.duration))
        .arg("-s")
        .arg(&combined)
        .arg(format!("{}/", server.url))
        .output()
        .map_err(|e| format!("running wrk: {e}"))?;
    let cpu_after = cpu_ticks(server.pid())?;
    let summary = json_summary("wrk", &output)?;
    let number = |key: &str| summary[key].as_f64().unwrap_or(0.0);
    let requests = number("requests");
    let seconds = number("duration_us") / 1e6;
    let errors = ["connect", "read", "write", "status", "timeout"]
        .iter()
        .map(|k| number(k) as u64)
        .sum();
    Ok(RunResult {
        rps: requests / seconds,
        cpu_us: (cpu_after - cpu_before) as f64 * 1e6
            / clock_ticks_per_second()
            / requests.max(1.0),
        errors,
    })
}

/// The last JSON line a load tool printed: its summary of the run.
fn json_summary(tool: &str, output: &std::process::Output) -> Result<Value, Error> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            format!(
                "{tool} printed no summary: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    Ok(serde_json::from_str(line)?)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64, Error> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("bad stat")?
        .1
        .split_whitespace()
        .collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

/// CPU ticks (user + system) of these processes, those gone counting 0.
fn ticks_of(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|pid| cpu_ticks(*pid).ok()).sum()
}

/// A process and its children (PostgreSQL's postmaster and its backends).
fn with_children(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    if let Ok(out) = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
    {
        pids.extend(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    pids
}

/// The machine's count of connections dropped because a listen queue was
/// full (`TcpExt ListenOverflows` in /proc/net/netstat).
fn listen_overflows() -> u64 {
    let Ok(text) = fs::read_to_string("/proc/net/netstat") else {
        return 0;
    };
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("TcpExt:")).collect();
    let [names, values] = lines[..] else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "ListenOverflows")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn proc_status_kib(pid: u32, key: &str) -> Result<u64, Error> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .ok_or_else(|| format!("no {key}"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("bad status line")?
        .parse()?)
}

/// Seeded id `i`: a valid v4 UUID whose last group is `i` in decimal, so the wrk
/// scripts can name random existing webhooks.
fn seeded_id(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn seed_database(path: &Path, receiver_url: &str) -> Result<(), Error> {
    let options = SqliteOptions {
        synchronous: Synchronous::Normal,
        ..SqliteOptions::default()
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path, &options)?);
    seed_webhooks(store, receiver_url)?;
    // Fold the WAL into the main file, so that copying the file copies everything.
    let conn = rusqlite::Connection::open(path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// The seeded webhooks (`SEEDED` over 1,000 program managers, and `LIST_SIZE`
/// for the list scenario), through any store.
fn seed_webhooks(store: Arc<dyn Store>, receiver_url: &str) -> Result<(), Error> {
    let url = WebhookUrl::parse(receiver_url, true).map_err(|p| p.message)?;
    let headers = CustomHeaders::from_json(&json!({"ApiKey": "bench"})).map_err(|_| "headers")?;
    let events: EventSet = [101, 102, 103]
        .into_iter()
        .map(|n| EventCode::from_number(n, "events"))
        .collect::<Result<_, _>>()
        .map_err(|p| p.message)?;
    let make = move |id: String, pm: String, product: u64| -> Result<Webhook, Error> {
        let spec = WebhookSpec {
            product_id: ProductId::from_json(&json!(product)).map_err(|p| p.message)?,
            events: events.clone(),
            status: None,
            config: WebhookConfig {
                url: url.clone(),
                custom_headers: headers.clone(),
            },
        };
        let id = WebhookId::parse(&id).map_err(|p| p.message)?;
        let pm = PmCode::parse(&pm).map_err(|p| p.message)?;
        Ok(Webhook::create(
            id,
            pm,
            spec,
            OffsetDateTime::now_utc().replace_nanosecond(0)?,
        ))
    };
    let make = Arc::new(make);
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (store, make) = (Arc::clone(&store), Arc::clone(&make));
            thread::spawn(move || -> Result<(), String> {
                for i in (t..SEEDED).step_by(8) {
                    let webhook = make(seeded_id(i), format!("B{:03}", i / 100), i % 100)
                        .map_err(|e| e.to_string())?;
                    store.create(webhook).wait().map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "seeding thread panicked")??;
    }
    for k in 0..LIST_SIZE {
        store
            .create(make(
                format!("00000000-0000-4000-9000-{k:012}"),
                "LIST".into(),
                k,
            )?)
            .wait()?;
    }
    Ok(())
}

/// A webhook's document of the seeded size, for the naive loop's rows.
const NAIVE_DOCUMENT: &str = r#"{"webhookId":"00000000-0000-4000-8000-000000000001","programManagerCode":"NAIV","productId":1,"events":[101],"webhookStatus":"active","config":{"url":"https://client.example/hook","customHeaders":{"ApiKey":"bench"}},"createdTime":"2026-11-30T00:00:00Z","lastModifiedTime":"2026-11-30T00:00:00Z","lastHeartbeat":null}"#;

/// What a store without group commit manages: one INSERT per durable commit.
fn naive_commits_per_second(path: &Path) -> Result<f64, Error> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    conn.execute_batch(include_str!("../schema.sql"))?;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(3) {
        conn.execute(
            "INSERT INTO webhooks (id, pm_code, product_id, status, document) \
             VALUES (?1, 'NAIV', ?2, 'active', ?3)",
            rusqlite::params![seeded_id(n), n, NAIVE_DOCUMENT],
        )?;
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// 4 KiB writes, each followed by fdatasync: the cost of one durable commit.
fn fsync_probe(path: &Path) -> Result<(f64, f64), Error> {
    let mut file: File = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)?;
    let block = [0x5au8; 4096];
    let mut samples = Vec::with_capacity(500);
    for _ in 0..500 {
        let started = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    Ok((
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    ))
}

/// The webhook of the backlog scenario: `seeded_id(0)`, program manager B000,
/// product 0 (so bench-load's triggers reach it), its URL at `port`.
fn backlog_webhook(port: u16, i: usize) -> Result<Webhook, Error> {
    let url =
        WebhookUrl::parse(&format!("http://127.0.0.1:{port}/hook"), true).map_err(|p| p.message)?;
    let spec = WebhookSpec {
        product_id: ProductId::from_json(&json!(i)).map_err(|p| p.message)?,
        events: [EventCode::from_number(103, "events").map_err(|p| p.message)?]
            .into_iter()
            .collect(),
        status: None,
        config: WebhookConfig {
            url,
            custom_headers: CustomHeaders::from_json(&json!({})).map_err(|_| "headers")?,
        },
    };
    Ok(Webhook::create(
        WebhookId::parse(&seeded_id(i as u64)).map_err(|p| p.message)?,
        PmCode::parse("B000").map_err(|p| p.message)?,
        spec,
        OffsetDateTime::now_utc().replace_nanosecond(0)?,
    ))
}

/// A database with `webhooks` backlog webhooks (B000, products 0 to
/// `webhooks - 1`) and `pending` notifications due now, spread over them.
fn seed_backlog(path: &Path, port: u16, webhooks: usize, pending: u64) -> Result<(), Error> {
    remove_database(path);
    let options = SqliteOptions {
        synchronous: Synchronous::Normal,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(path, &options)?;
    let hooks = (0..webhooks.max(1))
        .map(|i| Ok(store.create(backlog_webhook(port, i)?).wait()?))
        .collect::<Result<Vec<Webhook>, Error>>()?;
    let code = EventCode::from_number(103, "events").map_err(|p| p.message)?;
    let now = OffsetDateTime::now_utc();
    let mut made = 0;
    while made < pending {
        let batch: Vec<Notification> = (made..(made + 10_000).min(pending))
            .map(|k| {
                let webhook = &hooks[(k % hooks.len() as u64) as usize];
                let id = NotificationId::generate();
                let body = format!(
                    r#"{{"context":{{"notificationId":"{id}","eventCode":103}},"payload":{{}}}}"#
                );
                Notification::new(webhook.id, webhook.pm_code.clone(), code, id, body, now)
            })
            .collect();
        made += batch.len() as u64;
        store.enqueue(batch).wait()?;
        if made % 200_000 == 0 {
            progress(&format!(
                "backlog: {made} of {pending} notifications stored"
            ));
        }
    }
    drop(store);
    let conn = rusqlite::Connection::open(path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// A port where nothing listens (yet).
fn free_port() -> Result<u16, Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The backlog scenario (`bash bench/run backlog`): BENCH_BACKLOG notifications
/// (default 1,000,000) pending for a receiver that refuses connections.
/// Measures start-up to ready with that backlog, resident memory through the
/// whole run (VmHWM), open-loop trigger latency with and without the backlog,
/// the delivery log's lines during the outage (BENCH_OUTAGE seconds, default
/// 60), and then, with the receiver back, that every notification arrives and
/// how many twice. Writes bench/results/backlog.md.
fn backlog(settings: &Settings) -> Result<(), Error> {
    let pending: u64 = env_or("BENCH_BACKLOG", "1000000").parse()?;
    let webhooks: usize = env_or("BENCH_BACKLOG_WEBHOOKS", "100").parse()?;
    let outage = Duration::from_secs(env_or("BENCH_OUTAGE", "60").parse()?);
    let trigger_rate = 1000.0;
    let port = free_port()?;
    let db = settings.work.join("backlog.db");

    progress("backlog: trigger latency with an empty outbox (receiver down)");
    seed_backlog(&db, port, webhooks, 0)?;
    let mut service = start_service_on(settings, &db, "full", None)?;
    let calm = open_loop(settings, &service, "trigger", trigger_rate)?;
    service.stop();

    progress(&format!("backlog: storing {pending} pending notifications"));
    let started = Instant::now();
    seed_backlog(&db, port, webhooks, pending)?;
    progress(&format!(
        "backlog: stored in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    settle();
    let log = settings.work.join("backlog.log");
    let mut service = start_service_on(settings, &db, "full", Some(&log))?;
    progress(&format!(
        "backlog: ready {:.0} ms after start with {pending} pending",
        service.startup_ms
    ));
    let outage_started = Instant::now();
    thread::sleep(Duration::from_secs(2));
    let loaded = open_loop(settings, &service, "trigger", trigger_rate)?;
    let triggered = metric(&format!("{}/metrics", service.url), TRIGGERED)?;
    thread::sleep(outage.saturating_sub(outage_started.elapsed()));
    let outage_s = outage_started.elapsed().as_secs_f64();
    let log_text = fs::read_to_string(&log)?;
    let delivery_lines = log_text
        .lines()
        .filter(|l| l.contains("webhook_manager::delivery"))
        .count();
    let rss_outage_kib = proc_status_kib(service.pid(), "VmHWM")?;
    progress(&format!(
        "backlog: {delivery_lines} delivery log lines in {outage_s:.0} s of outage; peak RSS {:.1} MiB",
        rss_outage_kib as f64 / 1024.0
    ));

    progress("backlog: the receiver is back; waiting for every notification");
    let mut receiver = spawn(
        &settings.load_cpu,
        &settings.root.join("target/release/examples/bench-receiver"),
        &[&port.to_string()],
        &[],
    )?;
    let receiver_base = listening(&mut receiver.child)?;
    let back = Instant::now();
    let expected = pending + triggered;
    let mut stats = receiver_stats(&receiver_base, false)?;
    let mut last = (Instant::now(), 0u64);
    let mut first_at = None;
    let mut progress_at = Instant::now();
    loop {
        let distinct = stats["distinct"].as_u64().unwrap_or(0);
        if distinct > 0 && first_at.is_none() {
            first_at = Some(back.elapsed().as_secs_f64());
        }
        if distinct != last.1 {
            last = (Instant::now(), distinct);
        }
        if distinct >= expected || last.0.elapsed() > Duration::from_secs(90) {
            break;
        }
        if progress_at.elapsed() > Duration::from_secs(30) {
            progress_at = Instant::now();
            progress(&format!("backlog: {distinct} of {expected} delivered"));
        }
        thread::sleep(Duration::from_millis(200));
        stats = receiver_stats(&receiver_base, false)?;
    }
    let drained_s = last.0.duration_since(back).as_secs_f64();
    let received = stats["received"].as_u64().unwrap_or(0);
    let distinct = stats["distinct"].as_u64().unwrap_or(0);
    let rss_peak_kib = proc_status_kib(service.pid(), "VmHWM")?;
    progress("backlog: the fresh deliver rate on the same service, for the ratio");
    let pid = service.pid();
    let fresh = deliver(settings, &[&service], &receiver_base, &|| vec![pid])?;
    service.stop();
    receiver.stop();
    let first_s = first_at.unwrap_or(f64::NAN);
    let rate = distinct as f64 / (drained_s - first_s).max(0.001);
    progress(&format!(
        "backlog: drained at {rate:.0} events/s; fresh deliver {:.0} events/s; ratio {:.2}",
        fresh.events_per_s,
        rate / fresh.events_per_s.max(0.001)
    ));
    progress(&format!(
        "backlog: {distinct} of {expected} delivered ({} duplicates), the first {first_s:.1} s and the last {drained_s:.1} s after the receiver came back",
        received - distinct
    ));

    let mut md = String::new();
    md += &format!(
        "# Backlog benchmark\n\nRun {} by `bash bench/run backlog`: {pending} notifications pending, spread over {webhooks} webhooks whose receiver refuses connections, service pinned to CPU {}, load to CPU {}, 1 worker, synchronous=full, built-in defaults.\n\n",
        OffsetDateTime::now_utc(),
        settings.server_cpu,
        settings.load_cpu
    );
    md += "| measure | value | target |\n|---|---:|---|\n";
    md += &format!(
        "| resident memory, peak (VmHWM) through the outage | {:.1} MiB | <= 64 MiB |\n",
        rss_outage_kib as f64 / 1024.0
    );
    md += &format!(
        "| resident memory, peak (VmHWM) through the whole run, drain included | {:.1} MiB | <= 64 MiB |\n",
        rss_peak_kib as f64 / 1024.0
    );
    md += &format!(
        "| start to ready (first 200) with the backlog | {:.0} ms | <= 1000 ms |\n",
        service.startup_ms
    );
    md += &format!(
        "| trigger, open loop {trigger_rate:.0}/s, p50 / p99 / p99.9: empty outbox | {:.2} / {:.2} / {:.2} ms | |\n",
        calm.p50_us / 1000.0,
        calm.p99_us / 1000.0,
        calm.p999_us / 1000.0
    );
    md += &format!(
        "| trigger, open loop {trigger_rate:.0}/s, p50 / p99 / p99.9: with the backlog | {:.2} / {:.2} / {:.2} ms | p99 unchanged within noise |\n",
        loaded.p50_us / 1000.0,
        loaded.p99_us / 1000.0,
        loaded.p999_us / 1000.0
    );
    md += &format!(
        "| delivery log lines during the outage ({webhooks} webhooks) | {delivery_lines} in {outage_s:.0} s = {:.1} per webhook per minute | <= 10 per webhook per minute |\n",
        delivery_lines as f64 * 60.0 / outage_s / webhooks.max(1) as f64
    );
    md += &format!(
        "| delivered after the receiver came back | {distinct} of {expected} ({pending} + {triggered} triggered); first after {first_s:.1} s (the next probe), last after {drained_s:.1} s, {rate:.0} events/s | all |\n"
    );
    md += &format!(
        "| backlog drain rate vs the fresh deliver rate of the same service afterwards ({:.0} events/s) | {:.2} x | >= 0.8 x |\n",
        fresh.events_per_s,
        rate / fresh.events_per_s.max(0.001)
    );
    md += &format!(
        "| duplicate deliveries | {} | 0 on one node |\n",
        received - distinct
    );
    println!("\n{md}");
    let out = settings.root.join("bench/results/backlog.md");
    fs::write(&out, md)?;
    progress(&format!("written to {}", out.display()));
    if distinct < expected {
        return Err(format!("only {distinct} of {expected} notifications delivered").into());
    }
    Ok(())
}

/// What rendering one dashboard page cost.
struct PageCost {
    cpu_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    bytes: usize,
}

/// GETs `path` `n` times, one after another, and measures the server's CPU
/// per page and each answer's time. Every answer must be a 200.
fn page_cost(service: &Service, path: &str, n: usize) -> Result<PageCost, Error> {
    let url = format!("{}{path}", service.url);
    let body = http_get(&url).ok_or_else(|| format!("GET {path}: not a 200"))?;
    let ticks = cpu_ticks(service.pid())?;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        http_get(&url).ok_or_else(|| format!("GET {path}: not a 200"))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu_s = (cpu_ticks(service.pid())? - ticks) as f64 / clock_ticks_per_second();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Ok(PageCost {
        cpu_ms: cpu_s * 1000.0 / n as f64,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        bytes: body.len(),
    })
}

/// The live log's stream as a browser holds it: counts its events and bytes
/// until `stop` is set.
fn watch_stream(
    url: &str,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Result<thread::JoinHandle<(u64, u64, u64)>, Error> {
    use std::io::Read;
    use std::sync::atomic::Ordering;
    let rest = url.strip_prefix("http://").ok_or("not http")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    stream.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n")
            .as_bytes(),
    )?;
    Ok(thread::spawn(move || {
        let (mut rows, mut strips, mut bytes) = (0u64, 0u64, 0u64);
        let mut buffer = vec![0u8; 1 << 16];
        let mut tail = String::new();
        while !stop.load(Ordering::Relaxed) {
            if let Ok(n) = stream.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                bytes += n as u64;
                tail.push_str(&String::from_utf8_lossy(&buffer[..n]));
                rows += tail.matches("event: rows").count() as u64;
                strips += tail.matches("event: strip").count() as u64;
                // Keep only what could be the start of a split event name.
                let keep = tail.len().saturating_sub(16);
                let cut = (keep..=tail.len())
                    .find(|i| tail.is_char_boundary(*i))
                    .unwrap_or(tail.len());
                tail.drain(..cut);
            }
        }
        (rows, strips, bytes)
    }))
}

/// The dashboard scenario (`bash bench/run dashboard`): 100,000 notifications
/// stored (BENCH_NOTIFICATIONS), pending for a receiver that refuses
/// connections. Measures each page's server CPU and time (one request after
/// another), the worst being a filter that matches nothing and so reads the
/// whole table; then triggers at 1,000 events/s (open loop) with no browser
/// and with one live log open, and counts what the stream sent. Writes
/// bench/results/dashboard.md.
fn dashboard(settings: &Settings) -> Result<(), Error> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stored: u64 = env_or("BENCH_NOTIFICATIONS", "100000").parse()?;
    let port = free_port()?;
    let db = settings.work.join("dashboard.db");
    progress(&format!("dashboard: storing {stored} notifications"));
    seed_backlog(&db, port, 1, stored)?;
    settle();
    let mut service = start_service_on(settings, &db, "full", None)?;
    // Past the first failed attempts: the queue backs off and only probes.
    thread::sleep(Duration::from_secs(3));
    let one = http_get(&format!("{}/?pm=B000", service.url))
        .and_then(|page| {
            page.split("data-notification=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        })
        .ok_or("no notification on the first page")?;
    let pages = [
        ("delivery log, newest 50".to_owned(), "/".to_owned()),
        (
            "filtered by program manager and event".to_owned(),
            "/?pm=B000&event=103".to_owned(),
        ),
        ("last hour".to_owned(), "/?range=1h".to_owned()),
        (
            "a filter nothing matches (reads one window of 10,000 rows)".to_owned(),
            "/?status=Delivered".to_owned(),
        ),
        ("one notification by id".to_owned(), format!("/?id={one}")),
        (
            "notification detail".to_owned(),
            format!("/dashboard/webhooks/{}/notifications/{one}", seeded_id(0)),
        ),
        (
            "webhooks".to_owned(),
            "/dashboard/webhooks?pm=B000".to_owned(),
        ),
        ("send an event".to_owned(), "/dashboard/send".to_owned()),
    ];
    let mut md = String::new();
    md += &format!(
        "# Dashboard benchmark\n\nRun {} by `bash bench/run dashboard`: {stored} notifications stored (pending for a receiver that refuses connections), service pinned to CPU {}, 1 worker, built-in defaults. Each page is asked for 200 times, one request after another; CPU is the server's (user + system) per page.\n\n",
        OffsetDateTime::now_utc(),
        settings.server_cpu
    );
    md += "| page | server CPU per page | p50 / p99 | size |\n|---|---:|---:|---:|\n";
    for (name, path) in &pages {
        let n = if path.contains("status=Delivered") {
            20
        } else {
            200
        };
        let cost = page_cost(&service, path, n)?;
        progress(&format!(
            "dashboard: {name}: {:.2} ms CPU, p50 {:.2} / p99 {:.2} ms, {} bytes",
            cost.cpu_ms, cost.p50_ms, cost.p99_ms, cost.bytes
        ));
        md += &format!(
            "| {name} (`{}`) | {:.2} ms | {:.2} / {:.2} ms | {:.1} KiB |\n",
            if path.len() > 40 { &path[..40] } else { path },
            cost.cpu_ms,
            cost.p50_ms,
            cost.p99_ms,
            cost.bytes as f64 / 1024.0
        );
    }

    let rate = 1000.0;
    // An open-loop run, its server CPU per event, and what the stream sent.
    type Watched = (OpenLoop, f64, Option<(u64, u64, u64)>);
    let run = |with_stream: bool| -> Result<Watched, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = if with_stream {
            Some(watch_stream(
                &format!("{}/dashboard/stream", service.url),
                Arc::clone(&stop),
            )?)
        } else {
            None
        };
        let ticks = cpu_ticks(service.pid())?;
        let started = Instant::now();
        let run = open_loop(settings, &service, "trigger", rate)?;
        let cpu_s = (cpu_ticks(service.pid())? - ticks) as f64 / clock_ticks_per_second();
        let seconds = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let seen = watcher
            .map(|w| w.join())
            .transpose()
            .map_err(|_| "stream watcher")?;
        let per_event = cpu_s * 1e6 / (run.sent_rps * seconds).max(1.0);
        Ok((run, per_event, seen))
    };
    let (quiet, quiet_cpu, _) = run(false)?;
    let (watched, watched_cpu, seen) = run(true)?;
    let (rows, strips, bytes) = seen.unwrap_or_default();
    let seconds: f64 = OPEN_LOOP_SECONDS.parse()?;
    progress(&format!(
        "dashboard: trigger {rate:.0}/s, no browser: p99 {:.2} ms, {quiet_cpu:.0} CPU us/event; one live log open: p99 {:.2} ms, {watched_cpu:.0} CPU us/event; the stream sent {rows} rows and {strips} strip events, {:.0} KiB",
        quiet.p99_us / 1000.0,
        watched.p99_us / 1000.0,
        bytes as f64 / 1024.0
    ));
    service.stop();
    md += &format!(
        "\nLive log under load: triggers at {rate:.0} events/s (open loop, {seconds:.0} s) to the same webhook.\n\n| | trigger p50 / p99 | server CPU per event | what the stream sent |\n|---|---:|---:|---|\n"
    );
    md += &format!(
        "| no browser open | {:.2} / {:.2} ms | {quiet_cpu:.0} us | |\n",
        quiet.p50_us / 1000.0,
        quiet.p99_us / 1000.0
    );
    md += &format!(
        "| one live log open | {:.2} / {:.2} ms | {watched_cpu:.0} us | {rows} `rows` + {strips} `strip` events ({:.1} per second), {:.0} KiB |\n",
        watched.p50_us / 1000.0,
        watched.p99_us / 1000.0,
        (rows + strips) as f64 / seconds,
        bytes as f64 / 1024.0
    );
    println!("\n{md}");
    let out = settings.root.join("bench/results/dashboard.md");
    fs::write(&out, md)?;
    progress(&format!("written to {}", out.display()));
    Ok(())
}

/// Prints a run's results and, when B0 stayed within 10% from start to end,
/// writes them to bench/results/`file`; otherwise the run is rejected.
fn accept(settings: &Settings, drift: f64, md: &str, file: &str) -> Result<(), Error> {
    println!("\n{md}");
    if drift > 0.10 {
        return Err(format!(
            "rejected: B0 moved {:.1}% between the start and the end of the run",
            drift * 100.0
        )
        .into());
    }
    let out = settings.root.join("bench/results").join(file);
    fs::write(&out, md)?;
    progress(&format!("written to {}", out.display()));
    Ok(())
}

/// One row of the PostgreSQL comparison.
struct Compared {
    name: String,
    rps: f64,
    cpu_us: f64,
    errors: u64,
    open: Option<OpenLoop>,
}

/// `bash bench/run postgres`: GET, durable create, full update and deliver
/// on SQLite and on PostgreSQL in the same run, each as a ratio to B0, and
/// deliver with two nodes on one PostgreSQL database. PostgreSQL is a
/// cluster of the bench's own (the installed binaries), seeded with the same
/// 100,020 webhooks without fsync, then restarted with every commit synced
/// and pinned to the server's CPU, which the service, the second node and the
/// database share, as the SQLite runs have the service alone on it. CPU per
/// request counts the service (or both nodes) and the database's processes.
/// Writes bench/results/postgres.md.
fn postgres(settings: &Settings) -> Result<(), Error> {
    let mut receiver = spawn(
        &settings.load_cpu,
        &settings.root.join("target/release/examples/bench-receiver"),
        &["0"],
        &[],
    )?;
    let receiver_url = format!("{}/hook", listening(&mut receiver.child)?);
    let receiver_base = receiver_url.trim_end_matches("/hook").to_owned();
    progress("postgres: seeding SQLite");
    let seed = settings.work.join("seed.db");
    seed_database(&seed, &receiver_url)?;
    progress("postgres: a cluster of the bench's own, seeded without fsync");
    let cluster = Private::start()?;
    {
        let store = PgStore::open(
            &cluster.url,
            &webhook_manager::store::postgres::PgOptions::default(),
        )?;
        let store: Arc<dyn Store> = Arc::new(store);
        seed_webhooks(store, &receiver_url)?;
    }
    cluster.stop()?;
    cluster.resume_durable()?;
    let postmaster = cluster.pid().ok_or("no postmaster pid")?;
    let pinned = Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            &settings.server_cpu,
            &postmaster.to_string(),
        ])
        .stdout(Stdio::null())
        .status()?;
    if !pinned.success() {
        return Err("pinning PostgreSQL to the server CPU".into());
    }
    progress(&format!(
        "postgres: restarted with fsync on, pinned to CPU {}",
        settings.server_cpu
    ));
    let unused = settings.work.join("unused.db");
    let b0_before = run_baseline(settings)?;
    let mut rows: Vec<Compared> = Vec::new();
    // Deliver first: the update runs change the seeded webhooks' URLs on
    // PostgreSQL, whose database is not copied afresh for each run as
    // SQLite's file is.
    let mut delivered_rows = Vec::new();
    for (name, nodes) in [
        ("deliver, SQLite", 0),
        ("deliver, PostgreSQL, one node", 1),
        ("deliver, PostgreSQL, two nodes", 2),
    ] {
        settle();
        let mut services = Vec::new();
        if nodes == 0 {
            services.push(start_service(settings, &seed, "full")?);
        }
        for node in 0..nodes {
            let log = settings.work.join(format!("deliver-{nodes}-{node}.log"));
            services.push(start_service_with(
                settings,
                &unused,
                "full",
                Some(&log),
                Some(&cluster.url),
            )?);
        }
        let node_pids: Vec<u32> = services.iter().map(Service::pid).collect();
        let pids = || {
            let mut pids = node_pids.clone();
            if nodes > 0 {
                pids.extend(with_children(postmaster));
            }
            pids
        };
        let refs: Vec<&Service> = services.iter().collect();
        let d = deliver(settings, &refs, &receiver_base, &pids)?;
        progress(&format!(
            "{name}: {:.0} events/s, {:.1} CPU us/event, {} of {} delivered; trigger to receipt p99 {:.2} ms",
            d.events_per_s, d.cpu_us, d.delivered, d.triggered, d.receipt_ms[1]
        ));
        for mut s in services {
            s.stop();
        }
        delivered_rows.push((name, d));
    }
    // BENCH_PG_DELIVER_ONLY=1 runs only the deliver runs (to try a change).
    let api = if env_or("BENCH_PG_DELIVER_ONLY", "0") == "1" {
        &[][..]
    } else {
        &[
            ("GET by id", "get"),
            ("create (durable)", "create"),
            ("full update", "update"),
        ][..]
    };
    for &(name, scenario) in api {
        for backend in ["SQLite", "PostgreSQL"] {
            settle();
            let mut service = if backend == "SQLite" {
                start_service(settings, &seed, "full")?
            } else {
                start_service_with(settings, &unused, "full", None, Some(&cluster.url))?
            };
            let pid = service.pid();
            let pids = || {
                let mut pids = vec![pid];
                if backend == "PostgreSQL" {
                    pids.extend(with_children(postmaster));
                }
                pids
            };
            let ticks = ticks_of(&pids());
            let result = measure(settings, &service, scenario, settings.connections)?;
            let cpu_s = ticks_of(&pids()).saturating_sub(ticks) as f64 / clock_ticks_per_second();
            let requests = result.rps * settings.duration as f64;
            let open = open_loop(settings, &service, scenario, result.rps / 2.0)?;
            progress(&format!(
                "{name} on {backend}: {:.0} req/s, {:.1} CPU us/req (service and database); open loop p99 {:.2} ms",
                result.rps,
                cpu_s * 1e6 / requests.max(1.0),
                open.p99_us / 1000.0
            ));
            rows.push(Compared {
                name: format!("{name}, {backend}"),
                rps: result.rps,
                cpu_us: cpu_s * 1e6 / requests.max(1.0),
                errors: result.errors + open.errors,
                open: Some(open),
            });
            service.stop();
        }
    }
    if env_or("BENCH_PG_STATEMENTS", "0") == "1" {
        // With TEST_POSTGRES_OPTIONS="-c shared_preload_libraries=pg_stat_statements":
        // the statements that took the database's time.
        let top = Command::new(
            PathBuf::from(
                String::from_utf8_lossy(&Command::new("pg_config").arg("--bindir").output()?.stdout)
                    .trim(),
            )
            .join("psql"),
        )
        .arg(&cluster.url)
        .args(["-c", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "-c",
            "SELECT calls, round(total_exec_time) AS ms, round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25"])
        .output()?;
        println!("{}", String::from_utf8_lossy(&top.stdout));
    }
    let b0_after = run_baseline(settings)?;
    receiver.stop();
    let drift = (b0_after.rps - b0_before.rps).abs() / b0_before.rps;
    let b0 = (b0_before.rps + b0_after.rps) / 2.0;

    let mut md = String::new();
    md += &format!(
        "# SQLite and PostgreSQL\n\nRun {} by `bash bench/run postgres`. Service (and the second node) and PostgreSQL pinned to CPU {}, load to CPU {}; 1 worker per node; {} s per run, {} connections; both databases hold the same 100,020 webhooks; every commit synced (SQLite `synchronous=full`, PostgreSQL `fsync=on`, `synchronous_commit=on`). CPU per request counts the service and, on PostgreSQL, the database's processes.\n\n",
        OffsetDateTime::now_utc(),
        settings.server_cpu,
        settings.load_cpu,
        settings.duration,
        settings.connections
    );
    md += &format!(
        "B0: {:.0} req/s before, {:.0} after ({:.1}% apart; more than 10% is rejected).\n\n",
        b0_before.rps,
        b0_after.rps,
        drift * 100.0
    );
    md += "| scenario | req/s | x B0 | CPU us/req (service + database) | open loop p50 / p99 / p99.9 (ms) | errors |\n|---|---:|---:|---:|---|---:|\n";
    for r in &rows {
        let open = r.open.as_ref().map_or(String::new(), |o| {
            format!(
                "{:.2} / {:.2} / {:.2} at {:.0}/s",
                o.p50_us / 1000.0,
                o.p99_us / 1000.0,
                o.p999_us / 1000.0,
                o.sent_rps
            )
        });
        md += &format!(
            "| {} | {:.0} | {:.3} | {:.1} | {open} | {} |\n",
            r.name,
            r.rps,
            r.rps / b0,
            r.cpu_us,
            r.errors
        );
    }
    md += "\n| deliver | events/s | x B0 | CPU us/event (nodes + database) | delivered | duplicates | trigger to receipt p50 / p99 (ms) | at 100/s p50 / p99 (ms) |\n|---|---:|---:|---:|---|---:|---|---|\n";
    for (name, d) in &delivered_rows {
        md += &format!(
            "| {name} | {:.0} | {:.3} | {:.1} | {} of {} | {} | {:.2} / {:.2} at {:.0}/s | {:.2} / {:.2} |\n",
            d.events_per_s,
            d.events_per_s / b0,
            d.cpu_us,
            d.delivered,
            d.triggered,
            d.duplicates,
            d.receipt_ms[0],
            d.receipt_ms[1],
            d.open_rate,
            d.receipt_100_ms[0],
            d.receipt_100_ms[1]
        );
    }
    accept(settings, drift, &md, "postgres.md")
}
