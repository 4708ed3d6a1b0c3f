"""A Thredd-style client that no one here wrote: Authlib's OAuth2 session signs
in with client credentials at /connect/token (once with HTTP Basic, once with
the secret in the body) and calls every API operation of the service's own
OpenAPI document with the token, unchanged. Every answer must be neither 401
nor 403 (the token is accepted and names the caller) nor a 5xx.

Usage: python oauth2_client.py BASE_URL CLIENT_ID CLIENT_SECRET
"""

import sys

from authlib.integrations.requests_client import OAuth2Session

base, client_id, client_secret = sys.argv[1:4]

BODIES = {
    ("post", "/api/v1/Webhooks"): {
        "productId": 7,
        "events": [101, 103],
        "config": {"url": "https://client.example/hook", "customHeaders": {"ApiKey": "k"}},
    },
    ("put", "/api/v1/Webhooks/{id}"): {
        "productId": 7,
        "events": [101, 102],
        "config": {"url": "https://client.example/updated"},
    },
    ("put", "/api/v1/Webhooks/{id}/status"): {"webhookStatus": "inactive"},
    ("post", "/api/v1/Webhooks/{id}/subscriptions"): {"events": [117]},
    ("post", "/api/v1/Webhooks/{id}/notifications/details"): {
        "notificationIds": ["af2d48de-2ad7-42f8-a252-8422cd9e6078"]
    },
    ("post", "/api/v1/Webhooks/{id}/notifications/resend"): {
        "notificationIds": ["af2d48de-2ad7-42f8-a252-8422cd9e6078"]
    },
    ("post", "/sandbox/v1/events"): {"productId": 7, "eventCode": 101},
}

failures = []
for round_, method in enumerate(("client_secret_basic", "client_secret_post")):
    session = OAuth2Session(
        client_id,
        client_secret,
        token_endpoint=f"{base}/connect/token",
        token_endpoint_auth_method=method,
    )
    token = session.fetch_token(grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer", token
    assert token["expires_in"] > 0, token
    document = session.get(f"{base}/api/v1/openapi.json").json()

    # A webhook of this client's program manager, created v2 style: no
    # programManagerCode anywhere, the token says who is calling.
    body = dict(BODIES[("post", "/api/v1/Webhooks")], productId=100 + round_)
    created = session.post(f"{base}/api/v1/Webhooks", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["response"]["programManagerCode"] == "TRD", created.text
    webhook_id = created.json()["response"]["webhookId"]

    calls = 0
    for path, operations in document["paths"].items():
        for verb, operation in operations.items():
            if verb not in ("get", "post", "put", "patch", "delete") or path == "/connect/token":
                continue
            if operation.get("security") == []:
                continue  # open routes need no token
            url = base + path.replace("{id}", webhook_id).replace("{eventCode}", "101").replace(
                "{name}", "oauth2-client"
            )
            if "/events/{eventCode}/notifications" in path:
                url += "?from=2026-01-01"
            if path == "/sandbox/v1/stream":
                # The live stream answers until its reader leaves: its status
                # is all this client checks.
                answer = session.request(verb, url, stream=True)
                answer.close()
            else:
                answer = session.request(
                    verb, url, json=BODIES.get((verb, path), {}) if verb != "get" else None
                )
            calls += 1
            if answer.status_code in (401, 403) or answer.status_code >= 500:
                failures.append(f"{method}: {verb.upper()} {path}: {answer.status_code} {answer.text[:200]}")
    print(f"[oauth2] {method}: token fetched, {calls} operations called")

if failures:
    print("\n".join(failures))
    sys.exit(1)
