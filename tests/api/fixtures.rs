//! Fixtures for CI: `[[seed.webhooks]]` created at start when absent, and
//! `POST /sandbox/v1/reset` back to them.

use serde_json::json;

use crate::delivery::trigger;
use crate::helpers::{webhook_body, TestApp};

const SEEDED: &str = r#"
[server]
host = "127.0.0.1"
port = 0
workers = 1

[security]
allow_http = true

[[seed.webhooks]]
programManagerCode = "TRD"
productId = 12345
events = [101, 103]
config = { url = "http://127.0.0.1:9/trd", customHeaders = { ApiKey = "secret-1" } }

[[seed.webhooks]]
programManagerCode = "ABC"
events = [117]
config = { url = "http://127.0.0.1:9/abc" }
"#;

#[actix_rt::test]
async fn seeds_are_created_once_and_a_reset_returns_to_them() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let db = scratch.path().join("fixtures.db");
    let app = TestApp::spawn_with_config(
        SEEDED,
        &[("WHM_DATABASE__PATH", db.to_str().expect("utf-8"))],
    )
    .await;
    let trd = app.list_ids("TRD").await;
    assert_eq!((trd.len(), app.list_ids("ABC").await.len()), (1, 1));
    let seeded = app
        .get(&format!("/api/v1/Webhooks/{}", trd[0]), Some("TRD"))
        .await;
    assert_eq!(seeded.response()["productId"], 12345);
    assert_eq!(seeded.response()["events"], json!([101, 103]));
    assert_eq!(
        seeded.response()["config"]["customHeaders"],
        json!({"ApiKey": "secret-1"})
    );

    let app = app.restart().await;
    assert_eq!(
        app.list_ids("TRD").await,
        trd,
        "a restart keeps the seeded webhook as it is"
    );

    app.create_webhook("TRD", webhook_body(Some(7), "http://127.0.0.1:9/extra"))
        .await;
    assert_eq!(trigger(&app, "TRD", Some(12345), 101).await.len(), 1);
    let inbox = app
        .post("/sandbox/v1/inbox/ci", None, json!({"a": 1}))
        .await;
    assert_eq!(inbox.status, 200);

    let reset = app.post("/sandbox/v1/reset", None, json!({})).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(
        reset.response(),
        &json!({"programManagerCode": null, "webhooksDeleted": 3, "notificationsDeleted": 1,
                "inboxRequestsDeleted": 1, "configurationsDeleted": 0, "fraudAlertsDeleted": 1,
                "webhooksSeeded": 2})
    );
    let after = app.list_ids("TRD").await;
    assert_eq!(after.len(), 1, "only the fixture again");
    assert_ne!(after, trd, "recreated, under a new id");
    let old = app
        .get(&format!("/api/v1/Webhooks/{}", trd[0]), Some("TRD"))
        .await;
    assert_eq!(old.status, 404);
    let requests = app.get("/sandbox/v1/inbox/ci/requests", None).await;
    assert_eq!(requests.response()["count"], 0);
}

#[actix_rt::test]
async fn a_bad_seed_stops_start_up_naming_it() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let config = scratch.path().join("bad-seed.toml");
    std::fs::write(
        &config,
        "[[seed.webhooks]]\nprogramManagerCode = \"TRD\"\nconfig = { url = \"ftp://x.example/\" }\n",
    )
    .expect("write");
    let output = std::process::Command::new(crate::helpers::BIN)
        .args(["check-config", "--config", config.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("seed.webhooks[0].config.url"), "{stderr}");
}

#[actix_rt::test]
async fn with_auth_on_a_reset_is_scoped_to_the_tokens_program_manager() {
    let token = "trd-token-0123456789";
    let app = TestApp::spawn_with(&[
        ("WHM_AUTH__ENABLED", "true"),
        (
            "WHM_AUTH__TOKENS",
            &format!("[{{program_manager_code=\"TRD\", token=\"{token}\"}}]"),
        ),
    ])
    .await;
    let reply = crate::helpers::client()
        .post(app.url("/sandbox/v1/reset"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&json!({}))
        .await;
    let reply = crate::helpers::into_reply(reply).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.response()["programManagerCode"], "TRD");
}

/// docs/fixtures.md shows the pytest fixture that `.ci/pytest-example` runs, as it is.
#[test]
fn the_readme_shows_the_pytest_example_as_it_runs() {
    let readme = include_str!("../../docs/fixtures.md");
    for (name, file) in [
        (
            "conftest.py",
            include_str!("../../examples/pytest/conftest.py"),
        ),
        (
            "test_receiver.py",
            include_str!("../../examples/pytest/test_receiver.py"),
        ),
        (
            "receiver.py",
            include_str!("../../examples/pytest/receiver.py"),
        ),
    ] {
        assert!(
            readme.contains(file),
            "docs/fixtures.md does not show examples/pytest/{name} as it is"
        );
    }
}

/// `database.path = ":memory:"`: a throwaway service for tests, with nothing
/// on disk and nothing kept across a restart.
#[actix_rt::test]
async fn a_memory_database_keeps_nothing_on_disk_or_across_a_restart() {
    let app = TestApp::spawn_with(&[("WHM_DATABASE__PATH", ":memory:")]).await;
    let id = app
        .create_webhook("TRD", webhook_body(None, "http://127.0.0.1:9/hook"))
        .await;
    assert_eq!(app.list_ids("TRD").await, [id]);
    let files: Vec<String> = std::fs::read_dir(app.dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .all(|f| f == "config.toml" || f == "service.log"),
        "nothing but the config and the log: {files:?}"
    );
    assert!(
        !std::path::Path::new(":memory:").exists(),
        "no file named :memory: in the working directory"
    );
    assert!(app.log_contains("database: in memory").await);
    let app = app.restart().await;
    assert!(
        app.list_ids("TRD").await.is_empty(),
        "gone with the process"
    );
}
