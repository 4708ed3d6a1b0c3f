//! Token auth (API.md section 2): every API and sandbox route needs a valid bearer
//! token; the token's program manager is the caller and sees only its own webhooks.

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{client, every_route, webhook_body, Reply, TestApp};

/// Routes open without a token.
const OPEN: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"];

const TRD_TOKEN: &str = "trd-token-0123456789";
const ABC_TOKEN: &str = "abc-token-9876543210";

/// Auth on, with a TRD token given plainly and an ABC token given as its SHA-256.
async fn app() -> TestApp {
    let tokens = format!(
        "[{{program_manager_code=\"TRD\", token=\"{TRD_TOKEN}\"}}, \
          {{program_manager_code=\"ABC\", token_sha256=\"{}\"}}]",
        sha256_hex(ABC_TOKEN)
    );
    TestApp::spawn_with(&[("WHM_AUTH__ENABLED", "true"), ("WHM_AUTH__TOKENS", &tokens)]).await
}

/// SHA-256 in hex, computed with the `sha2` crate (the service uses ring).
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    pm: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let client = client();
    let mut request = client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    if let Some(pm) = pm {
        request = request.insert_header(("X-PM-Code", pm));
    }
    let response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    };
    crate::helpers::into_reply(response).await
}

#[actix_rt::test]
async fn every_route_needs_a_valid_token_but_health_checks_do_not() {
    let app = app().await;
    let created = call(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        Some(TRD_TOKEN),
        None,
        Some(webhook_body(Some(1), "https://client.example/a")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.response()["webhookId"]
        .as_str()
        .expect("id")
        .to_owned();
    // Every served route but the open ones, the API-hub alias, and a path that
    // does not exist.
    let mut routes: Vec<(Method, String, Option<Value>)> = every_route(&id)
        .into_iter()
        .filter(|(_, path, _)| !OPEN.contains(&path.as_str()))
        .collect();
    routes.push((Method::GET, format!("/eds/api/v1/Webhooks/{id}"), None));
    routes.push((Method::GET, "/no/such/path".into(), None));
    for (method, path, body) in &routes {
        for token in [
            None,
            Some("not-a-valid-token-at-all"),
            Some(&TRD_TOKEN[..TRD_TOKEN.len() - 1]),
        ] {
            let reply = call(&app, method.clone(), path, token, Some("TRD"), body.clone()).await;
            assert_eq!(
                (reply.status, reply.error_codes()),
                (401, vec!["UNAUTHORIZED".to_owned()]),
                "{method} {path} with {token:?}"
            );
            assert_eq!(
                reply
                    .headers
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some("Bearer"),
                "{method} {path}"
            );
        }
        let with_token = call(
            &app,
            method.clone(),
            path,
            Some(TRD_TOKEN),
            None,
            body.clone(),
        )
        .await;
        assert_ne!(
            with_token.status, 401,
            "{method} {path}: {}",
            with_token.body
        );
    }
    for open in ["/healthz", "/readyz"] {
        assert_eq!(
            call(&app, Method::GET, open, None, None, None).await.status,
            200,
            "{open}"
        );
    }
    let metrics = client()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(metrics.status().as_u16(), 200, "/metrics stays open");
    // Nothing the refused calls asked for happened.
    let listed = call(
        &app,
        Method::GET,
        "/api/v1/Webhooks",
        Some(ABC_TOKEN),
        None,
        None,
    )
    .await;
    assert_eq!(
        listed.error_codes(),
        ["WEBHOOK_DETAILS_NOTFOUND"],
        "ABC has no webhooks: {}",
        listed.body
    );
}

#[actix_rt::test]
async fn a_token_sees_only_its_own_program_managers_webhooks() {
    let app = app().await;
    let trd = call(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        Some(TRD_TOKEN),
        None,
        Some(webhook_body(None, "https://client.example/trd")),
    )
    .await;
    assert_eq!(trd.status, 201, "{}", trd.body);
    assert_eq!(
        trd.response()["programManagerCode"],
        "TRD",
        "the token names the PM"
    );
    let id = trd.response()["webhookId"].as_str().expect("id").to_owned();

    let own = call(
        &app,
        Method::GET,
        &format!("/api/v1/Webhooks/{id}"),
        Some(TRD_TOKEN),
        None,
        None,
    )
    .await;
    assert_eq!(own.status, 200);
    for path in [
        format!("/api/v1/Webhooks/{id}"),
        format!("/api/v1/Webhooks/{id}/subscriptions"),
        format!("/api/v1/Webhooks/{id}/heartbeat"),
        format!("/api/v1/Webhooks/{id}/notifications/undelivered"),
    ] {
        let other = call(&app, Method::GET, &path, Some(ABC_TOKEN), None, None).await;
        assert_eq!(
            (other.status, other.error_codes()),
            (404, vec!["WEBHOOK_NOT_REGISTERED".to_owned()]),
            "{path}"
        );
    }
    let list = call(
        &app,
        Method::GET,
        "/api/v1/Webhooks",
        Some(ABC_TOKEN),
        None,
        None,
    )
    .await;
    assert_eq!(
        (list.status, list.error_codes()),
        (404, vec!["WEBHOOK_DETAILS_NOTFOUND".to_owned()]),
        "none of TRD's: {}",
        list.body
    );
}

#[actix_rt::test]
async fn a_code_that_names_another_program_manager_than_the_token_is_forbidden() {
    let app = app().await;
    let header = call(
        &app,
        Method::GET,
        "/api/v1/Webhooks",
        Some(TRD_TOKEN),
        Some("ABC"),
        None,
    )
    .await;
    assert_eq!(
        (header.status, header.error_codes()),
        (403, vec!["PMCODE_NOT_VALID".to_owned()])
    );
    let same = call(
        &app,
        Method::GET,
        "/api/v1/Webhooks",
        Some(TRD_TOKEN),
        Some("trd"),
        None,
    )
    .await;
    assert_eq!(
        (same.status, same.error_codes()),
        (404, vec!["WEBHOOK_DETAILS_NOTFOUND".to_owned()]),
        "the token's own code, in any case (it has no webhooks): {}",
        same.body
    );

    let mut body = webhook_body(Some(5), "https://client.example/x");
    body["programManagerCode"] = json!("ABC");
    let created = call(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        Some(TRD_TOKEN),
        None,
        Some(body),
    )
    .await;
    assert_eq!(
        (created.status, created.error_codes()),
        (403, vec!["PMCODE_NOT_VALID".to_owned()])
    );
    let triggered = call(
        &app,
        Method::POST,
        "/sandbox/v1/events",
        Some(TRD_TOKEN),
        None,
        Some(json!({"programManagerCode": "ABC", "eventCode": 101})),
    )
    .await;
    assert_eq!(
        (triggered.status, triggered.error_codes()),
        (403, vec!["PMCODE_NOT_VALID".to_owned()])
    );
    let listed = call(
        &app,
        Method::GET,
        "/api/v1/Webhooks",
        Some(ABC_TOKEN),
        None,
        None,
    )
    .await;
    assert_eq!(
        listed.error_codes(),
        ["WEBHOOK_DETAILS_NOTFOUND"],
        "nothing stored: {}",
        listed.body
    );
}

/// The on-prem profile as shipped (`deploy/config.onprem.toml`), started as the
/// README says: tokens from the environment. Auth and the guard are on.
#[actix_rt::test]
async fn the_on_prem_profile_starts_with_auth_and_the_guard_on() {
    let config = include_str!("../../deploy/config.onprem.toml");
    let scratch = tempfile::tempdir().expect("temp dir");
    let db = scratch.path().join("onprem.db");
    let tokens = format!(
        "[{{program_manager_code=\"TRD\", token_sha256=\"{}\"}}]",
        sha256_hex(TRD_TOKEN)
    );
    let app = TestApp::spawn_with_config(
        config,
        &[
            ("WHM_SERVER__HOST", "127.0.0.1"),
            ("WHM_SERVER__PORT", "0"),
            ("WHM_DATABASE__PATH", db.to_str().expect("utf-8")),
            ("WHM_AUTH__TOKENS", &tokens),
        ],
    )
    .await;
    let anonymous = call(
        &app,
        Method::GET,
        "/api/v1/Webhooks",
        None,
        Some("TRD"),
        None,
    )
    .await;
    assert_eq!(anonymous.status, 401);
    let create = |url: &'static str| {
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/Webhooks",
                Some(TRD_TOKEN),
                None,
                Some(webhook_body(None, url)),
            )
            .await
        }
    };
    assert_eq!(
        create("http://client.example/hook").await.status,
        400,
        "https only"
    );
    assert_eq!(
        create("https://10.1.2.3/hook").await.status,
        400,
        "private network blocked"
    );
    assert_eq!(
        create("https://169.254.169.254/latest").await.status,
        400,
        "metadata blocked"
    );
    let made = create("https://client.example/hook").await;
    assert_eq!(made.status, 201, "{}", made.body);
}
