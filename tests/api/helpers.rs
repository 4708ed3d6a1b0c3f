//! Starting the service under test and talking to it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use awc::http::header::HeaderMap;
use awc::http::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_webhook-manager");

/// A running service with its own directory and database. Killed on drop.
pub struct TestApp {
    pub address: String,
    pub dir: Arc<TempDir>,
    env: Vec<(String, String)>,
    child: Child,
}

/// One answer from the service, body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The codes of an error envelope, asserting it is one.
    pub fn error_codes(&self) -> Vec<String> {
        assert_eq!(
            self.body["status"], "failure",
            "not an error envelope: {}",
            self.body
        );
        self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors array: {}", self.body))
            .iter()
            .map(|e| e["code"].as_str().expect("code is a string").to_owned())
            .collect()
    }

    /// Asserts the storage-unavailable answer: `503
    /// UNABLE_TO_GET_RESULTS_FROM_DATABASE`, `Retry-After: 1`, and no internals
    /// (SQL, file paths, lock words) in the body.
    pub fn assert_unavailable(&self) {
        assert_eq!(self.status, 503, "{}", self.body);
        assert_eq!(self.error_codes(), ["UNABLE_TO_GET_RESULTS_FROM_DATABASE"]);
        assert_eq!(
            self.headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        let text = self.body.to_string().to_lowercase();
        for internal in ["sqlite", "locked", "busy", ".db", "/tmp"] {
            assert!(
                !text.contains(internal),
                "no internals ({internal}) in {text}"
            );
        }
    }

    pub fn response(&self) -> &Value {
        assert_eq!(
            self.body["status"], "success",
            "not a success envelope: {}",
            self.body
        );
        &self.body["response"]
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts the service with extra `WHM_...` environment overrides.
    pub async fn spawn_with(env: &[(&str, &str)]) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::start(dir, env)
    }

    /// Starts the service on this configuration file's text (instead of the test
    /// default), with `WHM_...` overrides.
    pub async fn spawn_with_config(config: &str, env: &[(&str, &str)]) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        std::fs::write(Self::config_path(&dir), config).expect("write config");
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::start(dir, env)
    }

    fn config_path(dir: &TempDir) -> PathBuf {
        dir.path().join("config.toml")
    }

    fn start(dir: Arc<TempDir>, env: Vec<(String, String)>) -> Self {
        let config = Self::config_path(&dir);
        if !config.exists() {
            let db = dir.path().join("webhook-manager.db");
            std::fs::write(
                &config,
                format!(
                    "[server]\nhost = \"127.0.0.1\"\nport = 0\nworkers = 2\n\n[database]\npath = {:?}\n\n\
                     [heartbeat]\ntimeout_ms = 2000\nconnect_timeout_ms = 1000\n\n[security]\nallow_http = true\n",
                    db.to_str().expect("utf-8 temp path")
                ),
            )
            .expect("write config");
        }
        let log = std::fs::File::create(dir.path().join("service.log")).expect("log file");
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("WHM_")) {
            command.env_remove(key);
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = command.spawn().expect("start webhook-manager");
        let address = read_address(&mut child).unwrap_or_else(|| {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default();
            panic!("service did not start; its log:\n{log}");
        });
        Self {
            address,
            dir,
            env,
            child,
        }
    }

    /// Kills the process (SIGKILL) and starts a new one on the same directory,
    /// database and settings.
    pub async fn restart(mut self) -> Self {
        self.kill();
        Self::start(Arc::clone(&self.dir), self.env.clone())
    }

    /// Like [`TestApp::restart`], with other `WHM_...` overrides.
    pub async fn restart_with(mut self, env: &[(&str, &str)]) -> Self {
        self.kill();
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::start(Arc::clone(&self.dir), env)
    }

    /// SIGTERM, as a service manager stops it; waits (up to 15 s) for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        for _ in 0..150 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.kill();
        panic!("the service did not exit within 15 s of SIGTERM");
    }

    /// SIGKILL: no chance to flush or clean up, as in a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }

    /// Whether the service log contains `needle` within a few seconds (log lines
    /// are written just after the response).
    pub async fn log_contains(&self, needle: &str) -> bool {
        for _ in 0..50 {
            if self.log().contains(needle) {
                return true;
            }
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        pm: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let client = client();
        let mut request = client.request(method, self.url(path));
        if let Some(pm) = pm {
            request = request.insert_header(("X-PM-Code", pm));
        }
        let response = match body {
            Some(body) => request.send_json(&body).await,
            None => request.send().await,
        };
        into_reply(response).await
    }

    /// A request with a body sent exactly as given, for malformed input.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let client = client();
        let mut request = client.request(method, self.url(path));
        if let Some(content_type) = content_type {
            request = request.insert_header(("Content-Type", content_type));
        }
        into_reply(request.send_body(body).await).await
    }

    pub async fn get(&self, path: &str, pm: Option<&str>) -> Reply {
        self.request(Method::GET, path, pm, None).await
    }

    pub async fn post(&self, path: &str, pm: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, pm, Some(body)).await
    }

    pub async fn put(&self, path: &str, pm: Option<&str>, body: Value) -> Reply {
        self.request(Method::PUT, path, pm, Some(body)).await
    }

    /// Creates a webhook and returns its id, asserting the 201.
    pub async fn create_webhook(&self, pm: &str, body: Value) -> String {
        let reply = self.post("/api/v1/Webhooks", Some(pm), body).await;
        assert_eq!(reply.status, 201, "create failed: {}", reply.body);
        reply.response()["webhookId"]
            .as_str()
            .expect("webhookId")
            .to_owned()
    }

    /// The ids of a program manager's webhooks, in listed order.
    /// The program manager's webhook ids (none: Thredd's `404
    /// WEBHOOK_DETAILS_NOTFOUND`).
    pub async fn list_ids(&self, pm: &str) -> Vec<String> {
        let reply = self.get("/api/v1/Webhooks", Some(pm)).await;
        if reply.status == 404 && reply.error_codes() == ["WEBHOOK_DETAILS_NOTFOUND"] {
            return Vec::new();
        }
        assert_eq!(reply.status, 200, "list failed: {}", reply.body);
        reply.response()["content"]
            .as_array()
            .expect("content array")
            .iter()
            .map(|w| w["webhookId"].as_str().expect("webhookId").to_owned())
            .collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Asks `probe` every 20 ms until `done` accepts its answer or `within` has
/// passed; returns the last answer either way, for the caller to assert on.
pub async fn eventually<T, F, Fut>(within: Duration, mut probe: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        let answer = probe().await;
        if done(&answer) || std::time::Instant::now() >= deadline {
            return answer;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every route the service declares (`api::route_table`, which the OpenAPI
/// document must match), made concrete: `{id}` is `id`, `{eventCode}` is 101,
/// `{name}` is an inbox name, and each method that takes a body gets a valid one.
/// Tests that must cover every route take them from here, so a new route is
/// covered as soon as it is served. The sign-in route (`/connect/token`) is
/// left out: it takes a form, answers in OAuth2's format rather than the
/// envelope, and `tests/api/token.rs` covers it; so is the live stream
/// (`/sandbox/v1/stream`), which answers Server-Sent Events until the reader
/// leaves, and `tests/api/stream.rs` covers it, its token and scope included. (The dashboard's pages are
/// not in the table: `tests/api/dashboard.rs` covers them.)
pub fn every_route(id: &str) -> Vec<(Method, String, Option<Value>)> {
    webhook_manager::api::route_table()
        .into_iter()
        .filter(|route| route.path != "/connect/token" && route.path != "/sandbox/v1/stream")
        .flat_map(|route| {
            let template = route.path;
            let path = template
                .replace("{id}", id)
                .replace("{eventCode}", "101")
                .replace("{notificationId}", "af2d48de-2ad7-42f8-a252-8422cd9e6078")
                .replace("{name}", "every-route")
                .replace("{configId}", "5789653-20250602063331")
                .replace("{eventId}", "0190f6a3-0000-7000-8000-000000000000");
            let methods: Vec<Method> = match route.methods.as_slice() {
                [] => vec![Method::GET, Method::POST],
                methods => methods
                    .iter()
                    .map(|m| Method::from_bytes(m.as_str().as_bytes()).expect("method"))
                    .collect(),
            };
            methods.into_iter().map(move |method| {
                let body = sample_body(template, &method);
                (method, path.clone(), body)
            })
        })
        .collect()
}

/// A valid body for a route and method that take one; `None` for one that takes none.
fn sample_body(template: &str, method: &Method) -> Option<Value> {
    if ![Method::POST, Method::PUT, Method::PATCH].contains(method) {
        return None;
    }
    let ids = json!({"notificationIds": ["af2d48de-2ad7-42f8-a252-8422cd9e6078"]});
    if template.starts_with("/api/v1/configs") {
        return Some(match method {
            &Method::POST => json!({"pmId": 20, "messageTypeFilter": [1]}),
            _ => json!({"status": "Inactive"}),
        });
    }
    Some(match template.rsplit('/').next().unwrap_or_default() {
        "{name}" if template.starts_with("/sandbox/v1/scenarios") => {
            json!({"programManagerCode": "TRD"})
        }
        "webhooks" => webhook_body(Some(2), "https://client.example/every-route"),
        "{id}" => webhook_body(Some(1), "https://client.example/every-route"),
        "status" => json!({"webhookStatus": "inactive"}),
        "subscriptions" => json!({"events": [117]}),
        "details" | "resend" => ids,
        "events" => json!({"eventCode": 101}),
        "{name}" | "reset" => json!({}),
        "wait" => json!({"timeoutMs": 0}),
        "script" => json!({"steps": []}),
        "verify" => json!({"atLeast": 0}),
        "advance" => json!({"ms": 0}),
        "settings" => json!({"delivery": {}}),
        "chaos" => json!({"duplicates": false, "reorder": false}),
        "response" => json!({"fraudAlertId": "0b6c3f0e-7d1e-4a8e-9c39-5d7f8a1c2b3d",
                             "notificationId": "af2d48de-2ad7-42f8-a252-8422cd9e6078",
                             "response": "Yes"}),
        // Deliver now takes no body.
        "deliver" => return None,
        other => panic!("no sample body for {method} {template} ({other}): add one here"),
    })
}

pub fn webhook_body(product_id: Option<u64>, url: &str) -> Value {
    json!({
        "productId": product_id,
        "events": [101, 102],
        "config": {"url": url, "customHeaders": {"ApiKey": "secret-1"}}
    })
}

pub fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
}

pub async fn into_reply(
    response: Result<awc::ClientResponse, awc::error::SendRequestError>,
) -> Reply {
    let mut response = response.expect("request reached the service");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .body()
        .limit(16 * 1024 * 1024)
        .await
        .expect("read body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Reads the "listening on" line the service prints at start; then keeps
/// draining stdout so the service never blocks on a full pipe.
pub fn read_address(child: &mut Child) -> Option<String> {
    let stdout = child.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("webhook-manager listening on ") {
                let _ = tx.send(address.trim().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20)).ok()
}

/// One value of the service's /metrics (0 when it is not there yet).
pub async fn metric(app: &TestApp, name: &str) -> f64 {
    let reply = client()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .body()
        .await
        .expect("body");
    String::from_utf8_lossy(&reply)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Waits until the service counts `n` readers of its live stream: each has
/// subscribed by then, so no change made afterwards can pass it by.
pub async fn stream_readers(app: &TestApp, n: usize) {
    let counted = eventually(
        Duration::from_secs(10),
        || metric(app, "webhook_manager_sandbox_streams"),
        |count| *count == n as f64,
    )
    .await;
    assert_eq!(counted, n as f64, "readers of the live stream");
}
