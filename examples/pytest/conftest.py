"""webhook-manager as the Thredd a test suite talks to.

Starts the real binary on a free port with a throwaway database, and gives each
test a program manager of its own, reset after it: tests may run in parallel
against one service. Nothing waits by sleeping: `wait` answers when a delivery
lands, `verify` fails with a message that names the near misses.
"""
import json
import os
import re
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid

import pytest

from receiver import Receiver

BINARY = os.environ.get("WEBHOOK_MANAGER", "target/release/webhook-manager")


class Service:
    def __init__(self, url):
        self.url = url

    def call(self, method, path, body=None, pm=None):
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", **({"X-PM-Code": pm} if pm else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=90) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def wait(self, count=1, timeout_ms=10_000, **match):
        """The attempts that match, once at least `count` do."""
        status, body = self.call(
            "POST", "/sandbox/v1/deliveries/wait",
            {"match": match, "count": count, "timeoutMs": timeout_ms},
        )
        assert status == 200, body["errors"][0]["message"]
        return body["response"]["content"]

    def verify(self, count, **match):
        status, body = self.call(
            "POST", "/sandbox/v1/deliveries/verify", {"match": match, "count": count}
        )
        assert status == 200, body["errors"][0]["message"]


@pytest.fixture(scope="session")
def service():
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(
            os.environ,
            WHM_SERVER__PORT="0",
            WHM_DATABASE__PATH=os.path.join(scratch, "fixture.db"),
            WHM_SECURITY__ALLOW_HTTP="true",
            WHM_DELIVERY__RETRY_SCHEDULE_MS="[100, 200]",
        )
        process = subprocess.Popen([BINARY], env=env, stdout=subprocess.PIPE, text=True)
        for line in process.stdout:
            listening = re.search(r"listening on (http://\S+)", line)
            if listening:
                break
        else:
            raise RuntimeError("webhook-manager did not start; see its log above")
        yield Service(listening.group(1))
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def pm(service):
    """A program manager of this test's own; its webhooks, notifications and
    events are reset after the test (the reset waits for attempts in flight)."""
    code = uuid.uuid4().hex[:4].upper()
    yield code
    service.call("POST", f"/sandbox/v1/reset?programManagerCode={code}")


@pytest.fixture
def receiver():
    """The receiver app under test, on a free port."""
    app = Receiver()
    yield app
    app.close()
