//! `GET /metrics`: Prometheus (OpenMetrics) text that counts what happened.

use std::time::Duration;

use crate::delivery::{hook, trigger};
use crate::helpers::{client, eventually, TestApp};
use crate::receiver::{closed_port_url, Behaviour, Receiver};

async fn scrape(app: &TestApp) -> String {
    let mut response = client()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let body = response.body().await.expect("body");
    String::from_utf8(body.to_vec()).expect("utf-8")
}

/// The value of the sample line that starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[actix_rt::test]
async fn metrics_count_requests_heartbeats_deliveries_and_commits() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let healthy = app
        .create_webhook("TRD", hook(None, &[103], &receiver.url))
        .await;
    let dead = app
        .create_webhook("TRD", hook(Some(9), &[103], &closed_port_url()))
        .await;
    for _ in 0..3 {
        let reply = app
            .get(&format!("/api/v1/Webhooks/{healthy}"), Some("TRD"))
            .await;
        assert_eq!(reply.status, 200);
    }
    let missing = app.get("/api/v1/Webhooks/not-a-uuid", Some("TRD")).await;
    assert_eq!(missing.status, 400);
    app.get(
        &format!("/api/v1/Webhooks/{healthy}/heartbeat"),
        Some("TRD"),
    )
    .await;
    app.get(&format!("/api/v1/Webhooks/{dead}/heartbeat"), Some("TRD"))
        .await;
    trigger(&app, "TRD", None, 103).await;
    receiver.wait_for(1, Duration::from_secs(5)).await;

    let text = eventually(
        Duration::from_secs(5),
        || scrape(&app),
        |t| {
            sample(
                t,
                r#"webhook_manager_deliveries_total{outcome="delivered"}"#,
            )
            .is_some()
        },
    )
    .await;
    let route = r#"route="/api/v1/webhooks/{id}""#;
    assert_eq!(
        sample(
            &text,
            &format!(r#"webhook_manager_http_requests_total{{{route},method="GET",status="200"}}"#)
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"webhook_manager_http_requests_total{{{route},method="GET",status="400"}}"#)
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"webhook_manager_http_request_duration_seconds_count{{{route}}}"#)
        ),
        Some(4.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"webhook_manager_heartbeats_total{verdict="healthy"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"webhook_manager_heartbeats_total{verdict="unhealthy"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"webhook_manager_deliveries_total{outcome="delivered"}"#
        ),
        Some(1.0)
    );
    // Two creates, two heartbeat verdicts and one notification were committed
    // before their answers (the attempt's record may still be on its way).
    let writes = sample(&text, "webhook_manager_db_write_batch_size_sum").expect("batch sizes");
    assert!(writes >= 5.0, "{writes}");
    assert!(
        sample(&text, "webhook_manager_db_commit_duration_seconds_count").is_some_and(|n| n >= 1.0)
    );
    for gauge in [
        "webhook_manager_delivery_queue_depth",
        "webhook_manager_delivery_backlog_pending",
        "webhook_manager_delivery_backlog_overdue_seconds",
        "webhook_manager_delivery_claims_taken_over_total",
    ] {
        assert!(sample(&text, gauge).is_some(), "{gauge}: {text}");
    }
    assert!(text.trim_end().ends_with("# EOF"));
}
