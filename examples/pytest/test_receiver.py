"""What a Thredd client's tests look like against the fixture. Here the
webhook points at the service's own capture inbox; point it at your receiver
instead."""
import json
import socket


def create_webhook(service, pm, url, events):
    status, body = service.call(
        "POST", "/api/v1/Webhooks", {"events": events, "config": {"url": url}}, pm=pm
    )
    assert status == 201, body
    return body["response"]["webhookId"]


def test_a_card_status_change_is_delivered_once(service, pm):
    webhook = create_webhook(service, pm, f"{service.url}/sandbox/v1/inbox/{pm}", [103])
    status, sent = service.call(
        "POST", "/sandbox/v1/events",
        {"eventCode": 103, "payload": {"tokenId": "123456789", "newCardStatus": "41"}},
        pm=pm,
    )
    assert status == 202 and sent["response"]["skipped"] == []
    [delivery] = service.wait(webhookId=webhook, notificationStatus="Delivered")
    assert json.loads(delivery["body"])["payload"]["newCardStatus"] == "41"
    service.verify(1, webhookId=webhook, eventCode=103)


def test_a_redelivery_is_processed_once(service, pm, receiver):
    # Thredd delivers at least once; this webhook gets every notification twice.
    webhook = create_webhook(service, pm, receiver.url, [103])
    status, _ = service.call(
        "PUT", f"/sandbox/v1/webhooks/{webhook}/chaos", {"duplicates": True, "reorder": False}
    )
    assert status == 200
    status, sent = service.call("POST", "/sandbox/v1/events", {"eventCode": 103}, pm=pm)
    [notification] = sent["response"]["notifications"]
    service.wait(count=2, notificationId=notification["notificationId"], outcome="delivered")
    assert list(receiver.processed) == [notification["notificationId"]]
    assert receiver.duplicates == [notification["notificationId"]]


def test_an_event_nobody_subscribes_to_says_why(service, pm):
    webhook = create_webhook(service, pm, f"{service.url}/sandbox/v1/inbox/{pm}", [101])
    status, sent = service.call("POST", "/sandbox/v1/events", {"eventCode": 103}, pm=pm)
    assert status == 202
    assert sent["response"]["notifications"] == []
    assert sent["response"]["skipped"] == [{"webhookId": webhook, "reason": "NOT_SUBSCRIBED"}]


def test_a_receiver_that_is_down_gets_every_retry(service, pm):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{free.getsockname()[1]}/hook"
    webhook = create_webhook(service, pm, dead, [103])
    service.call("POST", "/sandbox/v1/events", {"eventCode": 103}, pm=pm)
    service.wait(webhookId=webhook, notificationStatus="Undelivered")
    service.verify(3, webhookId=webhook, outcome="failed")


def test_a_receiver_that_fails_twice_gets_the_retries(service, pm):
    # The capture inbox fails on cue: 500, 500, then 200 for ever.
    inbox = f"{service.url}/sandbox/v1/inbox/{pm}"
    status, _ = service.call(
        "PUT", f"/sandbox/v1/inbox/{pm}/script",
        {"steps": [{"status": 500}, {"status": 500}], "then": {"status": 200}},
    )
    assert status == 200
    webhook = create_webhook(service, pm, inbox, [103])
    service.call("POST", "/sandbox/v1/events", {"eventCode": 103}, pm=pm)
    [delivered] = service.wait(webhookId=webhook, notificationStatus="Delivered")
    assert delivered["attempt"] == 3
    service.verify(2, webhookId=webhook, outcome="failed")


THREDDS_SCHEDULE_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000]


def test_two_hours_of_retries_pass_in_a_moment(service, pm):
    # Thredd's own schedule (six retries over 1 h 43 min) for this test, and a
    # receiver that always answers 500; then the clock moves two hours on and
    # every retry due on the way runs, in order, before the answer.
    inbox = f"{service.url}/sandbox/v1/inbox/{pm}"
    service.call("PUT", f"/sandbox/v1/inbox/{pm}/script", {"then": {"status": 500}})
    status, _ = service.call(
        "PATCH", "/sandbox/v1/settings", {"delivery": {"retry_schedule_ms": THREDDS_SCHEDULE_MS}}
    )
    assert status == 200
    try:
        webhook = create_webhook(service, pm, inbox, [103])
        service.call("POST", "/sandbox/v1/events", {"eventCode": 103}, pm=pm)
        service.wait(webhookId=webhook)  # the first attempt
        status, moved = service.call("POST", "/sandbox/v1/clock/advance", {"ms": 2 * 3600 * 1000})
        assert status == 200 and moved["response"]["settled"]
        [last] = service.wait(webhookId=webhook, notificationStatus="Undelivered")
        assert last["attempt"] == 7
        service.verify(7, webhookId=webhook, outcome="failed")
    finally:
        # Settings and the clock are shared by every program manager: a reset of
        # everything restores both; one program manager's test puts back its own.
        service.call("PATCH", "/sandbox/v1/settings", {"delivery": {"retry_schedule_ms": [100, 200]}})
