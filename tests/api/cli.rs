//! The command line's verbs (issue 26, part 2), run as the real binary:
//! `send` signs what it sends as a receiver checks it with an independent
//! HMAC; `completions` and `man` are generated.

use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use crate::helpers::BIN;
use crate::notifications::expected_signature;
use crate::receiver::{Behaviour, Receiver};

/// Runs the binary with `args` off the test's runtime (a receiver on it must
/// answer meanwhile).
async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    actix_rt::task::spawn_blocking(move || Command::new(BIN).args(&args).output().expect("run"))
        .await
        .expect("the binary ran")
}

#[actix_rt::test]
async fn send_signs_what_a_receiver_checks_with_an_independent_hmac() {
    let receiver = Receiver::start(Behaviour::Status(202)).await;
    let secret = format!(
        "whsec_{}",
        STANDARD.encode(b"a key of thirty-two bytes, exact")
    );
    let out = run(&[
        "send",
        "--url",
        &receiver.url,
        "--event",
        "107",
        "--secret",
        &secret,
        "--json",
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(printed["status"], 202);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    let header = |name: &str| r.headers.get(name).cloned().expect(name);
    assert_eq!(
        header("webhook-id"),
        printed["notificationId"].as_str().expect("id")
    );
    assert_eq!(
        header("webhook-signature"),
        expected_signature(
            &secret,
            &header("webhook-id"),
            &header("webhook-timestamp"),
            &r.raw
        ),
        "the signature checks out"
    );
    assert_eq!(r.body["context"]["eventCode"], 107);
    assert!(
        r.body["payload"]["otpValue"].is_string(),
        "the sample: {}",
        r.body
    );
}

#[actix_rt::test]
async fn send_says_what_failed_with_its_exit_code() {
    let failing = Receiver::start(Behaviour::Status(500)).await;
    let out = run(&["send", "--url", &failing.url, "--event", "103"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "the receiver answered a failure"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("500"));
    let out = run(&[
        "send",
        "--url",
        "http://127.0.0.1:9/nothing",
        "--event",
        "103",
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "nothing listens there");
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not answer"));
    let out = run(&[
        "send",
        "--url",
        &failing.url,
        "--event",
        "103",
        "--secret",
        "plain",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "a bad secret is bad usage");
    assert!(String::from_utf8_lossy(&out.stderr).contains("whsec_"));
    assert_eq!(
        failing.received().len(),
        1,
        "nothing was sent for the bad usage"
    );
}

#[actix_rt::test]
async fn completions_and_the_man_page_are_generated() {
    let bash = run(&["completions", "bash"]).await;
    assert!(bash.status.success());
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(
        script.contains("complete") && script.contains("send"),
        "{script}"
    );
    let man = run(&["man"]).await;
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH webhook-manager"), "{page}");
}

#[actix_rt::test]
async fn trigger_wait_prints_the_fan_out_and_each_delivery() {
    let app = crate::helpers::TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/cli");
    let webhook = app
        .create_webhook("TRD", crate::delivery::hook(None, &[103], &url))
        .await;
    let out = run(&[
        "trigger",
        "103",
        "--pm",
        "TRD",
        "--set",
        "payload.newCardStatus=62",
        "--wait",
        "--url",
        &app.address,
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("to webhook {webhook}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("delivered") && stdout.contains("HTTP 200"),
        "{stdout}"
    );
    let kept = app.get("/sandbox/v1/inbox/cli/requests", None).await;
    assert_eq!(
        kept.response()["requests"][0]["body"]["payload"]["newCardStatus"],
        "62",
        "--set set the field"
    );
}

#[actix_rt::test]
async fn trigger_wait_exits_non_zero_when_the_receiver_fails_every_attempt() {
    let app = crate::delivery::app_with_schedule("[50, 50]", "100").await;
    let failing = Receiver::start(Behaviour::Status(500)).await;
    app.create_webhook("TRD", crate::delivery::hook(None, &[103], &failing.url))
        .await;
    let out = run(&["trigger", "103", "--wait", "--json", "--url", &app.address]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let attempts = lines.iter().filter(|l| l["type"] == "attempt").count();
    assert_eq!(attempts, 3, "the first try and two retries: {lines:?}");
    assert_eq!(
        lines.last().expect("lines")["notificationStatus"],
        "Undelivered"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("undelivered"));
    let out = run(&["trigger", "103", "--url", "http://127.0.0.1:9"]).await;
    assert_eq!(out.status.code(), Some(3), "no service there");
}

#[actix_rt::test]
async fn listen_prints_each_event_and_attempt_as_it_happens() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    let app = crate::helpers::TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/listened");
    app.create_webhook("TRD", crate::delivery::hook(None, &[103], &url))
        .await;
    let mut child = Command::new(BIN)
        .args(["listen", "--pm", "TRD", "--json", "--url", &app.address])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("listen");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line) {
                if tx.send(value).is_err() {
                    return;
                }
            }
        }
    });
    // Listening once the service counts its reader.
    crate::helpers::stream_readers(&app, 1).await;
    let id = crate::delivery::trigger(&app, "TRD", None, 103).await[0]
        .1
        .clone();
    let mut seen = Vec::new();
    let attempt = loop {
        let change = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("listen printed no attempt: {seen:?}"));
        if change["type"] == "attempt" {
            break change;
        }
        seen.push(change);
    };
    assert_eq!(attempt["notificationId"], id.as_str());
    assert_eq!(attempt["outcome"], "delivered");
    assert!(seen.iter().any(|c| c["type"] == "event"), "{seen:?}");
    child.kill().expect("stop listen");
    let _ = child.wait();
}

#[actix_rt::test]
async fn the_thin_verbs_create_list_set_status_and_wait() {
    let app = crate::helpers::TestApp::spawn().await;
    let service = app.address.clone();
    let inbox = app.url("/sandbox/v1/inbox/thin");
    let empty = run(&["webhooks", "list", "--pm", "TRD", "--url", &service]).await;
    assert!(empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stdout).contains("TRD has no webhooks"));
    let created = run(&[
        "webhooks",
        "create",
        "--pm",
        "TRD",
        "--endpoint",
        &inbox,
        "--events",
        "101,103",
        "--header",
        "ApiKey=k1",
        "--json",
        "--url",
        &service,
    ])
    .await;
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let webhook: Value = serde_json::from_slice(&created.stdout).expect("JSON");
    let id = webhook["webhookId"].as_str().expect("id").to_owned();
    assert_eq!(webhook["config"]["customHeaders"]["ApiKey"], "k1");
    let listed = run(&["webhooks", "list", "--pm", "TRD", "--url", &service]).await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id));
    let paused = run(&["webhooks", "status", &id, "inactive", "--url", &service]).await;
    assert!(
        paused.status.success(),
        "{}",
        String::from_utf8_lossy(&paused.stderr)
    );
    assert!(String::from_utf8_lossy(&paused.stdout).contains("inactive"));
    let again = run(&["webhooks", "status", &id, "inactive", "--url", &service]).await;
    assert_eq!(again.status.code(), Some(1), "refused: the status it has");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("CURRENT_STATUS_IS_SAME_AS_ENTERED_STATUS"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    run(&["webhooks", "status", &id, "active", "--url", &service]).await;
    let notification = crate::delivery::trigger(&app, "TRD", None, 103).await[0]
        .1
        .clone();
    let waited = run(&[
        "deliveries",
        "wait",
        "--notification",
        &notification,
        "--outcome",
        "delivered",
        "--url",
        &service,
    ])
    .await;
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    assert!(String::from_utf8_lossy(&waited.stdout).contains("1 of 1"));
    let unmet = run(&[
        "deliveries",
        "wait",
        "--notification",
        &notification,
        "--count",
        "2",
        "--timeout-ms",
        "100",
        "--url",
        &service,
    ])
    .await;
    assert_eq!(unmet.status.code(), Some(1), "the time ran out");
}

#[actix_rt::test]
async fn listen_forward_to_relays_each_notification_unchanged_and_removes_its_webhook_on_sigint() {
    use std::process::Stdio;
    use std::time::Duration;

    let app = crate::helpers::TestApp::spawn().await;
    let local = Receiver::start(Behaviour::Status(200)).await;
    let child = Command::new(BIN)
        .args([
            "listen",
            "--pm",
            "TRD",
            "--forward-to",
            &local.url,
            "--header",
            "X-Tenant=t-42",
            "--json",
            "--url",
            &app.address,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("listen");
    // Its webhook is registered once TRD lists one.
    let ids = crate::helpers::eventually(
        Duration::from_secs(15),
        || async {
            let reply = app.get("/api/v1/Webhooks", Some("TRD")).await;
            reply.body["response"]["content"]
                .as_array()
                .map_or(0, Vec::len)
        },
        |n| *n == 1,
    )
    .await;
    assert_eq!(ids, 1, "listen registered its webhook");
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            serde_json::json!({"programManagerCode": "TRD", "eventCode": 107}),
        )
        .await;
    let id = reply.response()["notifications"][0]["notificationId"]
        .as_str()
        .expect("a notification to the forwarding webhook")
        .to_owned();
    let received = local.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1, "forwarded to the local receiver");
    let sent = crate::sandbox::waited(
        &app,
        serde_json::json!({"notificationId": id, "outcome": "delivered"}),
        1,
    )
    .await;
    assert_eq!(
        received[0].raw,
        sent[0]["body"].as_str().expect("body"),
        "the body byte for byte"
    );
    assert_eq!(
        received[0].headers.get("x-tenant").map(String::as_str),
        Some("t-42")
    );
    // SIGINT: the webhook goes.
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exited = actix_rt::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joined")
        .expect("waited");
    assert!(
        exited.status.success(),
        "{}",
        String::from_utf8_lossy(&exited.stderr)
    );
    let left = app.get("/api/v1/Webhooks", Some("TRD")).await;
    assert_eq!(
        left.status, 404,
        "the forwarding webhook is gone: {}",
        left.body
    );
}

#[actix_rt::test]
async fn the_verbs_sign_in_with_client_credentials() {
    let secret = "a-client-secret-of-some-length";
    let clients = format!(
        "[{{client_id=\"trd\", client_secret=\"{secret}\", program_manager_code=\"TRD\"}}]"
    );
    let app = crate::helpers::TestApp::spawn_with(&[
        ("WHM_AUTH__ENABLED", "true"),
        ("WHM_AUTH__CLIENTS", &clients),
    ])
    .await;
    let refused = run(&["webhooks", "list", "--url", &app.address]).await;
    assert_eq!(refused.status.code(), Some(1), "no token");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--token"));
    let wrong = run(&[
        "webhooks",
        "list",
        "--client-id",
        "trd",
        "--client-secret",
        "wrong",
        "--url",
        &app.address,
    ])
    .await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--client-secret"));
    let listed = run(&[
        "webhooks",
        "list",
        "--client-id",
        "trd",
        "--client-secret",
        secret,
        "--url",
        &app.address,
    ])
    .await;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("has no webhooks"));
}
