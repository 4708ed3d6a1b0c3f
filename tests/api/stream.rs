//! The live JSON stream (issue 26, part 1): a reader sees each event and
//! its attempts as JSON as they happen, filtered; a reader that never reads
//! is dropped, and the service holds nothing for it (counted in /metrics).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::delivery::hook;
use crate::helpers::{metric, stream_readers, TestApp};

/// Opens `path` as a raw HTTP/1.0 request (a close-delimited body, no
/// chunking), the connection left for the caller.
fn open(app: &TestApp, path: &str) -> TcpStream {
    open_with(app, path, "")
}

/// The same with more request header lines (each ending in CRLF).
fn open_with(app: &TestApp, path: &str, headers: &str) -> TcpStream {
    let host = app.address.trim_start_matches("http://");
    let mut socket = TcpStream::connect(host).expect("connect");
    write!(
        socket,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n{headers}\r\n"
    )
    .expect("request");
    socket
}

/// Reads a stream on a thread: each `data:` line's JSON, as it arrives.
fn read(socket: TcpStream) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(socket).lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data: ") {
                if let Ok(value) = serde_json::from_str::<Value>(data) {
                    if tx.send(value).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// The next change that `wanted` accepts, within 30 s.
fn next(rx: &mpsc::Receiver<Value>, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let value = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the stream carried it");
        if wanted(&value) {
            return value;
        }
    }
}

#[actix_rt::test]
async fn a_reader_sees_an_event_and_its_attempt_as_json_filtered() {
    let app = TestApp::spawn().await;
    let url = app.url("/sandbox/v1/inbox/streamed");
    let webhook = app.create_webhook("TRD", hook(None, &[103], &url)).await;
    let rx = read(open(&app, "/sandbox/v1/stream?programManagerCode=TRD"));
    let everything = read(open(&app, "/sandbox/v1/stream"));
    stream_readers(&app, 2).await;
    // Another program manager's event is not this reader's.
    app.create_webhook("ABC", hook(None, &[103], "https://client.example/abc"))
        .await;
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "ABC", "eventCode": 103}),
        )
        .await;
    assert_eq!(reply.status, 202);
    let reply = app
        .post(
            "/sandbox/v1/events",
            None,
            json!({"programManagerCode": "TRD", "eventCode": 103}),
        )
        .await;
    let event_id = reply.response()["eventId"].as_str().expect("id").to_owned();
    let event = next(&rx, |v| v["type"] == "event");
    assert_eq!(
        event["eventId"],
        event_id.as_str(),
        "the ABC event was filtered out"
    );
    assert_eq!(event["notifications"][0]["webhookId"], webhook.as_str());
    assert_eq!(event["payload"]["newCardStatus"], "41");
    let attempt = next(&rx, |v| v["type"] == "attempt");
    assert_eq!(attempt["eventId"], event_id.as_str());
    assert_eq!(attempt["outcome"], "delivered");
    assert_eq!(attempt["httpStatus"], 200);
    let capture = next(&everything, |v| v["type"] == "capture");
    assert_eq!(capture["inbox"], "streamed");
    assert_eq!(capture["body"]["context"]["eventCode"], 103);
}

#[actix_rt::test]
async fn a_reader_that_never_reads_is_dropped_and_nothing_is_held_for_it() {
    let app = TestApp::spawn().await;
    let silent = open(&app, "/sandbox/v1/stream");
    stream_readers(&app, 1).await;
    // Events of half a megabyte each, until the socket's buffers and the
    // stream's own are full and the reader is dropped.
    let blob = "x".repeat(500_000);
    let mut sent = 0;
    while metric(&app, "webhook_manager_sandbox_streams_dropped_total").await < 1.0 {
        assert!(sent < 400, "a reader that never reads was not dropped");
        let reply = app
            .post(
                "/sandbox/v1/events",
                None,
                json!({"programManagerCode": "TRD", "eventCode": 103, "payload": {"blob": blob}}),
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        sent += 1;
    }
    assert_eq!(
        metric(&app, "webhook_manager_sandbox_streams").await,
        0.0,
        "its reader's task ended"
    );
    drop(silent);
}

#[actix_rt::test]
async fn with_auth_on_the_stream_needs_a_token_and_shows_only_its_program_managers_changes() {
    let token = "trd-token-0123456789";
    let tokens = format!("[{{program_manager_code=\"TRD\", token=\"{token}\"}}, {{program_manager_code=\"ABC\", token=\"abc-token-0123456789\"}}]");
    let app =
        TestApp::spawn_with(&[("WHM_AUTH__ENABLED", "true"), ("WHM_AUTH__TOKENS", &tokens)]).await;
    let mut refused = String::new();
    std::io::Read::read_to_string(&mut open(&app, "/sandbox/v1/stream"), &mut refused)
        .expect("answer");
    assert!(refused.starts_with("HTTP/1.0 401"), "{refused}");
    let rx = read(open_with(
        &app,
        "/sandbox/v1/stream",
        &format!("Authorization: Bearer {token}\r\n"),
    ));
    stream_readers(&app, 1).await;
    for (pm, bearer) in [("ABC", "abc-token-0123456789"), ("TRD", token)] {
        let reply = crate::helpers::client()
            .post(app.url("/sandbox/v1/events"))
            .insert_header(("Authorization", format!("Bearer {bearer}")))
            .send_json(&json!({"programManagerCode": pm, "eventCode": 103}))
            .await
            .expect("trigger");
        assert_eq!(reply.status().as_u16(), 202);
    }
    let event = next(&rx, |v| v["type"] == "event");
    assert_eq!(
        event["programManagerCode"], "TRD",
        "ABC's event is not TRD's to see"
    );
}
