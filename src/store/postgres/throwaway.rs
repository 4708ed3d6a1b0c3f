//! A throwaway PostgreSQL for the tests and the benchmarks: a cluster made
//! with the installed binaries (`initdb` in a temporary directory, run as an
//! unprivileged user when the caller is root, since initdb refuses root), on
//! a free port, trusting local connections, stopped and deleted when the
//! process that started it exits; or the server at `TEST_POSTGRES_URL`.
//! Each caller gets a database of its own.
//!
//! Without either, [`database`] answers why (naming the package to install),
//! so a test can say SKIPPED; with `TEST_POSTGRES_REQUIRED=1` (as `.ci/run`
//! sets) that is a failure instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Why there is no PostgreSQL to test against.
pub const MISSING: &str =
    "no PostgreSQL: install Debian's postgresql package (apt-get install postgresql) or set TEST_POSTGRES_URL";

/// The server every database of this process lives on: its URL without a
/// database name, e.g. `postgres://postgres@127.0.0.1:5433`.
fn server() -> Result<&'static str, String> {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match std::env::var("TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(url.trim().trim_end_matches('/').to_owned()),
            _ => start_cluster(),
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// A new, empty database: its URL. `Err` says why there is none; with
/// `TEST_POSTGRES_REQUIRED=1` that panics instead.
pub fn database() -> Result<String, String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let made = server().and_then(|server| {
        let name = format!(
            "whm_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        create_database(server, &name)?;
        Ok(with_database(server, &name))
    });
    if let Err(why) = &made {
        if std::env::var("TEST_POSTGRES_REQUIRED").is_ok_and(|v| v == "1") {
            panic!("PostgreSQL is required here (TEST_POSTGRES_REQUIRED=1): {why}");
        }
    }
    made
}

/// `server` with the database `name` (a URL may carry a query).
fn with_database(server: &str, name: &str) -> String {
    match server.split_once('?') {
        Some((base, query)) => format!("{}/{name}?{query}", base.trim_end_matches('/')),
        None => format!("{server}/{name}"),
    }
}

/// Runs `work` on a thread of its own: the callers may be inside an async
/// runtime (an async test), where blocking on another one is refused.
fn aside<T: Send>(work: impl FnOnce() -> Result<T, String> + Send) -> Result<T, String> {
    std::thread::scope(|s| {
        s.spawn(work)
            .join()
            .unwrap_or_else(|_| Err("the PostgreSQL helper thread panicked".into()))
    })
}

fn create_database(server: &str, name: &str) -> Result<(), String> {
    aside(|| create_database_now(server, name))
}

fn create_database_now(server: &str, name: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let url = with_database(server, "postgres");
    runtime.block_on(async move {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("connecting to {url}: {e}"))?;
        let driving = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| format!("creating database {name}: {e}"))?;
        drop(client);
        let _ = driving.await;
        Ok(())
    })
}

/// The directory holding the installed server's binaries.
fn binaries() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has(d))
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `program args` as `user` (none: as the caller).
fn command(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={user}"),
                &format!("--regid={user}"),
                "--init-groups",
                "--",
            ])
            .arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// A new cluster's directory (`data` inside it), owned by the user that
/// runs it (`None`: the caller).
struct Initialised {
    bin: PathBuf,
    user: Option<&'static str>,
    dir: PathBuf,
}

fn initialise(name: &str) -> Result<Initialised, String> {
    let bin = binaries().ok_or_else(|| MISSING.to_owned())?;
    // initdb refuses root: the cluster belongs to the postgres user (Debian's
    // package makes it), or to nobody.
    let user = if is_root() {
        let exists = |u: &str| {
            Command::new("id")
                .arg(u)
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        Some(if exists("postgres") {
            "postgres"
        } else {
            "nobody"
        })
    } else {
        None
    };
    let dir = std::env::temp_dir().join(format!("whm-pg-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some(user) = user {
        let chown = Command::new("chown")
            .args([&format!("{user}:"), dir.to_string_lossy().as_ref()])
            .status()
            .map_err(|e| e.to_string())?;
        if !chown.success() {
            return Err(format!("chown {user} {}", dir.display()));
        }
    }
    let data = dir.join("data");
    let init = command(user, &bin.join("initdb"))
        .args([
            "-D",
            &data.to_string_lossy(),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ])
        .args(["--no-sync", "--no-instructions"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !init.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr).trim()
        ));
    }
    Ok(Initialised { bin, user, dir })
}

fn free_port() -> Result<u16, String> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port())
}

/// Waits until the server on `port` answers a statement.
fn wait_ready(port: u16, dir: &Path) -> Result<String, String> {
    let server = format!("postgres://postgres@127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && create_probe(&server).is_ok()
        {
            return Ok(server);
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(format!("postgres did not start within 30 s: {log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A cluster of one test's own, which it may stop and start again on the
/// same port (the database unavailable, then back). Deleted when dropped, or
/// when the process that made it exits.
pub struct Private {
    cluster: Initialised,
    port: u16,
    /// The database's URL.
    pub url: String,
}

impl Private {
    pub fn start() -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let cluster = initialise(&format!("own{}", NEXT.fetch_add(1, Ordering::Relaxed)))?;
        let port = free_port()?;
        let mut private = Self {
            url: String::new(),
            cluster,
            port,
        };
        private.resume()?;
        // A watcher stops it (and deletes its files) once this process has gone.
        let script = r#"
            while [ -d "/proc/$3" ] && [ -d "$2/data" ]; do sleep 1; done
            "$1/pg_ctl" -D "$2/data" stop -m immediate >/dev/null 2>&1; rm -rf "$2"
        "#;
        command(private.cluster.user, Path::new("/bin/sh"))
            .args(["-c", script, "sh"])
            .arg(&private.cluster.bin)
            .arg(&private.cluster.dir)
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the watcher: {e}"))?;
        let server = format!("postgres://postgres@127.0.0.1:{}", private.port);
        create_database(&server, "whm")?;
        private.url = with_database(&server, "whm");
        Ok(private)
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let c = &self.cluster;
        let out = command(c.user, &c.bin.join("pg_ctl"))
            .arg("-D")
            .arg(c.dir.join("data"))
            .args(args)
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("running pg_ctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Stops the server at once (connections are cut, as in a crash).
    pub fn stop(&self) -> Result<(), String> {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"])
    }

    /// Starts it (again) and waits until it answers; without syncing to disk
    /// (a test's data need not survive the machine).
    pub fn resume(&self) -> Result<(), String> {
        self.start_with("-c fsync=off")
    }

    /// Starts it (again) as a production server would run: every commit
    /// synced to disk (for the benchmarks' durable writes).
    pub fn resume_durable(&self) -> Result<(), String> {
        self.start_with(&format!(
            "-c fsync=on -c synchronous_commit=on {}",
            std::env::var("TEST_POSTGRES_OPTIONS").unwrap_or_default()
        ))
    }

    /// The postmaster's process id (its backends are its children).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.cluster.dir.join("data/postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn start_with(&self, settings: &str) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 {settings}",
            self.port,
            self.cluster.dir.display()
        );
        let log = self.cluster.dir.join("server.log");
        self.pg_ctl(&["start", "-w", "-l", &log.to_string_lossy(), "-o", &options])?;
        wait_ready(self.port, &self.cluster.dir).map(|_| ())
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]);
        let _ = std::fs::remove_dir_all(&self.cluster.dir);
    }
}

fn start_cluster() -> Result<String, String> {
    let Initialised { bin, user, dir } = initialise("shared")?;
    let port = free_port()?;
    // A watcher stops the server (and deletes its files) once this process
    // has gone, however it ended.
    let script = r#"
        "$1/postgres" -D "$2/data" -p "$3" -k "$2" -c listen_addresses=127.0.0.1 \
          -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
          -c max_connections=300 >"$2/server.log" 2>&1 &
        server=$!
        while [ -d "/proc/$4" ] && kill -0 "$server" 2>/dev/null; do sleep 1; done
        kill -INT "$server" 2>/dev/null; wait "$server"; rm -rf "$2"
    "#;
    command(user, Path::new("/bin/sh"))
        .args(["-c", script, "sh"])
        .arg(&bin)
        .arg(&dir)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting postgres: {e}"))?;
    wait_ready(port, &dir)
}

/// Whether the server accepts a connection and a statement yet.
fn create_probe(server: &str) -> Result<(), String> {
    aside(|| probe_now(server))
}

fn probe_now(server: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let url = with_database(server, "postgres");
    runtime.block_on(async move {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let driving = tokio::spawn(connection);
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| e.to_string())?;
        drop(client);
        let _ = driving.await;
        Ok(())
    })
}
