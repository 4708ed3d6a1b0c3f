//! Thredd's sign-in: OAuth2 client credentials at `POST /connect/token` (RFC
//! 6749 section 4.4), JWT access tokens on every call, the token's program
//! manager as the caller, and `X-Region`.

use awc::http::Method;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use crate::auth::sha256_hex;
use crate::helpers::{client, into_reply, webhook_body, Reply, TestApp};

const TRD_SECRET: &str = "trd-client-secret-0123";
const ABC_SECRET: &str = "abc-client-secret-9876";
const STATIC_TOKEN: &str = "trd-static-token-0123456789";

/// Auth on: client `trd` (secret given plainly), client `abc` (its SHA-256),
/// and a static token for TRD.
async fn app() -> TestApp {
    let clients = format!(
        "[{{client_id=\"trd\", client_secret=\"{TRD_SECRET}\", program_manager_code=\"TRD\"}}, \
          {{client_id=\"abc\", client_secret_sha256=\"{}\", program_manager_code=\"ABC\"}}]",
        sha256_hex(ABC_SECRET)
    );
    let tokens = format!("[{{program_manager_code=\"TRD\", token=\"{STATIC_TOKEN}\"}}]");
    TestApp::spawn_with(&[
        ("WHM_AUTH__ENABLED", "true"),
        ("WHM_AUTH__CLIENTS", &clients),
        ("WHM_AUTH__TOKENS", &tokens),
    ])
    .await
}

/// `POST /connect/token` with this form body and extra headers.
async fn ask(app: &TestApp, form: &str, headers: &[(&str, &str)]) -> Reply {
    ask_at(app, "/connect/token", form, headers).await
}

/// The same at `path` (the API hub's `/eds` alias).
async fn ask_at(app: &TestApp, path: &str, form: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = client()
        .post(app.url(path))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    into_reply(request.send_body(form.to_owned()).await).await
}

async fn token_of(app: &TestApp, client_id: &str, secret: &str) -> String {
    let reply = ask(
        app,
        &format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}"),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut request = client()
        .request(method, app.url(path))
        .insert_header(("Authorization", format!("Bearer {token}")));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    };
    into_reply(response).await
}

#[actix_rt::test]
async fn a_client_signs_in_by_body_or_basic_and_its_token_is_its_program_manager() {
    let app = app().await;
    let reply = ask(
        &app,
        &format!(
            "grant_type=client_credentials&client_id=trd&client_secret={TRD_SECRET}&scope=webhooks"
        ),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    assert_eq!(reply.body["scope"], "webhooks", "the scope is echoed");
    assert_eq!(
        reply.headers.get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let trd = reply.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(trd.split('.').nth(1).expect("payload"))
            .expect("base64"),
    )
    .expect("claims");
    assert_eq!(claims["sub"], "trd");
    assert_eq!(claims["program_manager_code"], "TRD");
    assert_eq!(claims["iss"], "webhook-manager");

    let basic = format!("Basic {}", STANDARD.encode(format!("abc:{ABC_SECRET}")));
    let reply = ask_at(
        &app,
        "/eds/connect/token",
        "grant_type=client_credentials",
        &[("Authorization", &basic)],
    )
    .await;
    assert_eq!(
        reply.status, 200,
        "HTTP Basic, secret by SHA-256, at the /eds alias: {}",
        reply.body
    );
    let abc = reply.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // v2 style: no programManagerCode in the body, no X-PM-Code.
    let created = call(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        &trd,
        &[("X-Region", "1")],
        Some(webhook_body(Some(1), "https://client.example/a")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.response()["webhookId"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/Webhooks/{id}");
    let got = call(&app, Method::GET, &path, &trd, &[], None).await;
    assert_eq!(got.response()["programManagerCode"], "TRD");
    let listed = call(&app, Method::GET, "/api/v1/Webhooks", &trd, &[], None).await;
    assert_eq!(listed.status, 200);
    assert!(listed.body.to_string().contains(&id));
    let by_static = call(&app, Method::GET, &path, STATIC_TOKEN, &[], None).await;
    assert_eq!(by_static.status, 200, "static tokens keep working");

    // ABC's token never sees TRD's webhook.
    let other = call(&app, Method::GET, &path, &abc, &[], None).await;
    assert_eq!(other.status, 404, "{}", other.body);
    let listed = call(&app, Method::GET, "/api/v1/Webhooks", &abc, &[], None).await;
    assert!(!listed.body.to_string().contains(&id));

    // Naming another program manager: 403 PMCODE_NOT_VALID.
    let mut body = webhook_body(Some(2), "https://client.example/b");
    body["programManagerCode"] = json!("ABC");
    let named = call(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        &trd,
        &[],
        Some(body),
    )
    .await;
    assert_eq!(named.status, 403, "{}", named.body);
    assert_eq!(named.error_codes(), ["PMCODE_NOT_VALID"]);
    let header = call(
        &app,
        Method::GET,
        "/api/v1/Webhooks",
        &trd,
        &[("X-PM-Code", "ABC")],
        None,
    )
    .await;
    assert_eq!(header.status, 403, "{}", header.body);
}

#[actix_rt::test]
async fn every_error_of_the_token_endpoint_is_rfc_6749s() {
    let app = app().await;
    let good = format!("client_id=trd&client_secret={TRD_SECRET}");
    let basic = format!("Basic {}", STANDARD.encode(format!("trd:{TRD_SECRET}")));
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (good.clone(), vec![], 400, "invalid_request"),
        (
            format!("grant_type=password&{good}"),
            vec![],
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type=client_credentials&client_id=trd".into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            format!("grant_type=client_credentials&grant_type=client_credentials&{good}"),
            vec![],
            400,
            "invalid_request",
        ),
        (
            format!("grant_type=client_credentials&{good}"),
            vec![("Authorization", basic.as_str())],
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&client_id=trd&client_secret=wrong-secret-000000".into(),
            vec![],
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&client_id=nobody&client_secret={TRD_SECRET}"),
            vec![],
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&client_id=abc&client_secret={TRD_SECRET}"),
            vec![],
            401,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials".into(),
            vec![],
            401,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials".into(),
            vec![("Authorization", "Basic !!!")],
            401,
            "invalid_client",
        ),
    ];
    for (form, headers, status, error) in cases {
        let reply = ask(&app, &form, &headers).await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (status, Some(error)),
            "{form} {headers:?}: {}",
            reply.body
        );
        assert!(reply.body["error_description"].is_string());
        assert!(
            reply.body.get("status").is_none(),
            "not the webhook envelope"
        );
        if status == 401 {
            assert!(reply.headers.contains_key("www-authenticate"), "{form}");
        }
    }
    let json = client()
        .post(app.url("/connect/token"))
        .send_json(&json!({"grant_type": "client_credentials"}))
        .await;
    let json = into_reply(json).await;
    assert_eq!(
        (json.status, json.body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[actix_rt::test]
async fn tampered_unsigned_and_foreign_tokens_get_invalid_token() {
    let app = app().await;
    let token = token_of(&app, "trd", TRD_SECRET).await;
    let parts: Vec<&str> = token.split('.').collect();
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("utf8");
    let forged = URL_SAFE_NO_PAD.encode(claims.replace("\"TRD\"", "\"ABC\""));
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let foreign = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::from_str::<Value>(&claims).expect("claims"),
        &jsonwebtoken::EncodingKey::from_secret(b"a key this service never had......"),
    )
    .expect("encode");
    for bad in [
        format!("{}.{forged}.{}", parts[0], parts[2]),
        format!("{none}.{}.", parts[1]),
        foreign,
    ] {
        let reply = call(&app, Method::GET, "/api/v1/Webhooks", &bad, &[], None).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert_eq!(reply.error_codes(), ["UNAUTHORIZED"]);
        let challenge = reply.headers.get("www-authenticate").expect("challenge");
        assert_eq!(challenge.as_bytes(), br#"Bearer error="invalid_token""#);
    }
    let fine = call(
        &app,
        Method::GET,
        "/api/v1/Webhooks/0190f6a3-0000-7000-8000-000000000000",
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(
        fine.error_codes(),
        ["WEBHOOK_NOT_REGISTERED"],
        "signed in: {}",
        fine.body
    );
}

#[actix_rt::test]
async fn x_region_is_0_1_or_2() {
    let app = app().await;
    let token = token_of(&app, "trd", TRD_SECRET).await;
    // TRD has no webhooks: a signed-in list answers Thredd's 404.
    for (region, status) in [
        ("0", 404),
        ("1", 404),
        ("2", 404),
        ("3", 400),
        ("EMEA", 400),
        ("", 400),
    ] {
        let reply = call(
            &app,
            Method::GET,
            "/api/v1/Webhooks",
            &token,
            &[("X-Region", region)],
            None,
        )
        .await;
        assert_eq!(reply.status, status, "X-Region {region:?}: {}", reply.body);
        if status == 400 {
            assert_eq!(reply.error_codes(), ["INVALID_REGION"]);
        }
    }
}

/// The sandbox profile's default client: with auth on and no client
/// configured, `sandbox` signs in with the secret printed at start.
#[actix_rt::test]
async fn the_sandbox_prints_its_default_clients_secret() {
    let tokens = format!("[{{program_manager_code=\"ABC\", token=\"{STATIC_TOKEN}\"}}]");
    let app =
        TestApp::spawn_with(&[("WHM_AUTH__ENABLED", "true"), ("WHM_AUTH__TOKENS", &tokens)]).await;
    assert!(
        app.log_contains("client_id=sandbox client_secret=").await,
        "{}",
        app.log()
    );
    let log = app.log();
    let secret = log
        .split("client_secret=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("secret in the log")
        .to_owned();
    let token = token_of(&app, "sandbox", &secret).await;
    let created = call(
        &app,
        Method::POST,
        "/api/v1/Webhooks",
        &token,
        &[],
        Some(webhook_body(Some(3), "https://client.example/s")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.response()["programManagerCode"], "TRD");
}
