//! Start-up, configuration, persistence across restarts, and concurrent writes.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{webhook_body, TestApp, BIN};

const URL: &str = "https://client.example/webhook";

#[actix_rt::test]
async fn liveness_and_readiness() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/readyz"] {
        let reply = app.get(path, None).await;
        assert_eq!(
            (reply.status, reply.body.clone()),
            (200, json!({"status": "ok"})),
            "{path}"
        );
    }
}

#[actix_rt::test]
async fn webhooks_survive_a_kill_and_restart() {
    let app = TestApp::spawn().await;
    let a = app.create_webhook("TRD", webhook_body(Some(1), URL)).await;
    let b = app.create_webhook("TRD", webhook_body(None, URL)).await;
    let status = app
        .put(
            &format!("/api/v1/Webhooks/{b}/status"),
            Some("TRD"),
            json!({"webhookStatus": "inactive"}),
        )
        .await;
    assert_eq!(status.status, 200);
    let before_a = app
        .get(&format!("/api/v1/Webhooks/{a}"), None)
        .await
        .response()
        .clone();
    let before_b = app
        .get(&format!("/api/v1/Webhooks/{b}"), None)
        .await
        .response()
        .clone();

    let app = app.restart().await;

    assert_eq!(app.list_ids("TRD").await, vec![a.clone(), b.clone()]);
    assert_eq!(
        app.get(&format!("/api/v1/Webhooks/{a}"), None)
            .await
            .response(),
        &before_a
    );
    assert_eq!(
        app.get(&format!("/api/v1/Webhooks/{b}"), None)
            .await
            .response(),
        &before_b
    );
    let duplicate = app
        .post("/api/v1/Webhooks", Some("TRD"), webhook_body(Some(1), URL))
        .await;
    assert_eq!(duplicate.status, 409, "uniqueness holds after restart");
}

#[actix_rt::test]
async fn concurrent_creates_for_one_key_give_one_201_and_one_409() {
    let app = TestApp::spawn().await;
    for product in 0..10u64 {
        let requests: Vec<_> = (0..2)
            .map(|_| {
                let url = app.url("/api/v1/Webhooks");
                actix_rt::spawn(async move {
                    crate::helpers::client()
                        .post(url)
                        .insert_header(("X-PM-Code", "TRD"))
                        .send_json(&webhook_body(Some(product), URL))
                        .await
                        .expect("create answered")
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for request in requests {
            statuses.push(request.await.expect("task"));
        }
        statuses.sort_unstable();
        assert_eq!(statuses, vec![201, 409], "product {product}");
    }
    assert_eq!(app.list_ids("TRD").await.len(), 10);
}

#[actix_rt::test]
async fn without_a_config_file_the_defaults_apply_and_the_database_is_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env("WHM_SERVER__PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let address = crate::helpers::read_address(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    let address = address.expect("started on built-in defaults");
    assert!(
        address.starts_with("http://127.0.0.1:"),
        "default host is loopback: {address}"
    );
    assert!(
        dir.path().join("webhook-manager.db").exists(),
        "database created in the working directory"
    );
}

/// Runs the binary expecting it to refuse to start; returns its stderr.
fn start_failure(args: &[&str], env: &[(&str, &str)]) -> String {
    // Should it start after all, keep it away from the repository and port 8080.
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .current_dir(cwd.path())
        .args(args)
        .envs(env.iter().copied())
        .env("WHM_SERVER__PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(!status.success(), "exit status must be non-zero");
            let output = child.wait_with_output().expect("output");
            return String::from_utf8_lossy(&output.stderr).into_owned();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("service started although it should have refused: {args:?} {env:?}");
}

#[actix_rt::test]
async fn bad_configuration_stops_start_up_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write config");
        path.to_str().expect("utf-8").to_owned()
    };
    let wrong_type = write("wrong-type.toml", "[server]\nworkers = \"many\"\n");
    let unknown_key = write("unknown.toml", "[server]\nprot = 8080\n");
    let zero_timeout = write("zero.toml", "[heartbeat]\ntimeout_ms = 0\n");
    let missing = dir
        .path()
        .join("missing.toml")
        .to_str()
        .expect("utf-8")
        .to_owned();
    let db = dir
        .path()
        .join("db.sqlite")
        .to_str()
        .expect("utf-8")
        .to_owned();

    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["--config", &wrong_type], vec![], "server.workers"),
        (vec!["--config", &unknown_key], vec![], "prot"),
        (
            vec!["--config", &zero_timeout],
            vec![("WHM_DATABASE__PATH", &db)],
            "heartbeat.timeout_ms",
        ),
        (vec!["--config", &missing], vec![], "missing.toml"),
        (
            vec![],
            vec![
                ("WHM_DATABASE__PATH", &db),
                ("WHM_LIMITS__MAX_BODY_BYTES", "lots"),
            ],
            "max_body_bytes",
        ),
        (
            vec![],
            vec![("WHM_DATABASE__PATH", "/nonexistent-dir/sub/db.sqlite")],
            "/nonexistent-dir/sub/db.sqlite",
        ),
    ];
    for (args, env, needle) in cases {
        let stderr = start_failure(&args, &env);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "one clear line for {args:?} {env:?}: {stderr}"
        );
        assert!(
            lines[0].to_lowercase().contains(&needle.to_lowercase()),
            "{args:?} {env:?}: the line names {needle}: {stderr}"
        );
    }
}

#[actix_rt::test]
async fn a_locked_database_gives_503_without_internals_and_the_service_recovers() {
    let app = TestApp::spawn_with(&[("WHM_DATABASE__BUSY_TIMEOUT_MS", "200")]).await;
    let id = app.create_webhook("TRD", webhook_body(Some(1), URL)).await;
    let db = app.dir.path().join("webhook-manager.db");

    // Another process holding SQLite's write lock: the service's writes cannot proceed.
    let holder = rusqlite::Connection::open(&db).expect("open the service's database");
    holder
        .execute_batch("BEGIN EXCLUSIVE;")
        .expect("take the write lock");

    let refused = app
        .post("/api/v1/Webhooks", Some("TRD"), webhook_body(Some(2), URL))
        .await;
    refused.assert_unavailable();
    let read = app.get(&format!("/api/v1/Webhooks/{id}"), None).await;
    assert_eq!(
        read.status, 200,
        "reads go on while a writer holds the lock (WAL)"
    );
    assert!(
        app.log_contains("database is locked").await,
        "the cause is in the log"
    );

    holder.execute_batch("ROLLBACK;").expect("release the lock");
    drop(holder);
    app.create_webhook("TRD", webhook_body(Some(2), URL)).await;
    assert_eq!(
        app.list_ids("TRD").await.len(),
        2,
        "writes work again; the refused one was not stored"
    );
}

/// Runs `webhook-manager check-config` with these arguments and environment.
fn check_config(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let cwd = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .current_dir(cwd.path())
        .arg("check-config")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run check-config");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_config_prints_the_effective_configuration_with_secrets_masked() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let (ok, stdout, stderr) = check_config(
        &["--config", shipped],
        &[
            ("WHM_SERVER__PORT", "9123"),
            ("WHM_DELIVERY__SIGNING_SECRET", "whsec_c2VjcmV0LWtleQ=="),
        ],
    );
    assert!(ok, "exit 0: {stderr}");
    assert!(
        stdout.contains("port = 9123"),
        "environment applied: {stdout}"
    );
    assert!(
        stdout.contains("allow_http = true"),
        "file applied: {stdout}"
    );
    assert!(stdout.contains("signing_secret = \"***\""), "{stdout}");
    assert!(!stdout.contains("c2VjcmV0LWtleQ"), "secret shown: {stdout}");

    // A PostgreSQL URL is shown without its password; a bad one is named,
    // not repeated.
    let (ok, stdout, stderr) = check_config(
        &["--config", shipped],
        &[(
            "WHM_DATABASE__URL",
            "postgres://whm:pg-secret-77@db.internal:5432/webhooks",
        )],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("postgres://whm:***@db.internal:5432/webhooks"),
        "{stdout}"
    );
    assert!(!stdout.contains("pg-secret-77"), "{stdout}");
    let (ok, _, stderr) = check_config(
        &["--config", shipped],
        &[("WHM_DATABASE__URL", "mysql://whm:pg-secret-77@db/webhooks")],
    );
    assert!(!ok);
    assert!(stderr.contains("database.url"), "{stderr}");
    assert!(!stderr.contains("pg-secret-77"), "{stderr}");

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[delivery]\nconcurrency = 0\n").expect("write");
    let (ok, stdout, stderr) = check_config(&["--config", bad.to_str().expect("utf-8")], &[]);
    assert!(!ok, "exit 1");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("delivery.concurrency"), "{stderr}");
}

#[test]
fn version_and_help_describe_the_binary() {
    let version = Command::new(BIN).arg("--version").output().expect("run");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("webhook-manager {}", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(BIN).arg("--help").output().expect("run");
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for needle in ["serve", "check-config", "--config"] {
        assert!(help.contains(needle), "{needle} in:\n{help}");
    }
}

#[actix_rt::test]
async fn start_up_names_every_thread_it_starts_in_order() {
    let app = TestApp::spawn().await;
    let expected = "threads started: sqlite-writer, sqlite-checkpoint, sqlite-reader-0, \
                    sqlite-reader-1, delivery, fraud-alerts, retention, then 2 HTTP workers";
    assert!(app.log_contains(expected).await, "{}", app.log());
}
