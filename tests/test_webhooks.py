"""The webhook endpoint: verified, recorded, queued, answered; every bad input its own status, the service healthy after."""

from __future__ import annotations

import json

import pytest

from bot.core import events
from bot.service.web import create_app
from tests.conftest import METRICS_AUTH, SECRET, example, pull_request_payload

PATH = "/api/github/webhooks"


@pytest.fixture
def client(settings, service):
    return create_app(settings, service).test_client()


def post(client, event: str, payload: dict | bytes, delivery: str = "d-1", signature: str | None = None, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature if signature is not None else events.sign(SECRET, body),
        "Content-Type": "application/json",
        **headers,
    }
    return client.post(PATH, data=body, headers={k: v for k, v in sent.items() if v != ""})


def opened() -> dict:
    return pull_request_payload("opened", "octo-org/web-app", 7, "a" * 40)


def test_a_signed_pull_request_is_recorded_and_queued(client, service) -> None:
    """202 once the delivery is in the store and its task in the queue."""
    response = post(client, "pull_request", opened())
    assert response.status_code == 202 and response.json["queued"]
    assert service.store.delivery("d-1").event == "pull_request"
    assert service.huey.pending_count() == 1


def test_a_duplicate_delivery_is_acknowledged_not_queued_again(client, service) -> None:
    """The same X-GitHub-Delivery twice: 202 both times, one task."""
    post(client, "pull_request", opened())
    second = post(client, "pull_request", opened())
    assert second.status_code == 202 and not second.json["queued"]
    assert service.huey.pending_count() == 1


def test_a_failed_delivery_redelivered_by_github_runs_again(client, service) -> None:
    """GitHub's Redeliver keeps the delivery id: after a failure it is queued again."""
    post(client, "pull_request", opened())
    service.store.start("d-1")
    service.store.finish("d-1", "failed")
    assert post(client, "pull_request", opened()).json["queued"]


@pytest.mark.parametrize(
    "signature",
    [
        "",  # missing
        "sha256=" + "0" * 64,  # wrong
        "sha1=0123456789abcdef0123456789abcdef01234567",  # another algorithm
        events.sign("another secret", b"{}"),  # another secret
    ],
)
def test_forged_or_missing_signatures_are_401(client, service, signature: str) -> None:
    """Nothing is parsed, recorded or queued without a valid signature."""
    response = post(client, "pull_request", opened(), signature=signature)
    assert response.status_code == 401
    assert service.store.delivery("d-1") is None and service.huey.pending_count() == 0


def test_a_truncated_signature_is_401(client) -> None:
    """The right signature cut short does not pass the constant-time compare."""
    body = json.dumps(opened()).encode()
    assert post(client, "pull_request", body, signature=events.sign(SECRET, body)[:-2]).status_code == 401


def test_a_body_replayed_with_another_delivery_id_is_not_queued_again(client, service) -> None:
    """A captured body is validly signed (GitHub signs the body, not the id): under a new id it is a duplicate."""
    assert post(client, "pull_request", opened(), delivery="d-1").json["queued"]
    replay = post(client, "pull_request", opened(), delivery="d-2")
    assert replay.status_code == 202 and not replay.json["queued"]
    assert service.store.delivery("d-2") is None and service.huey.pending_count() == 1


@pytest.mark.parametrize(
    "body", [b'{"action": "opened", "pull_', b"not json", b"[1, 2]", b"[" * 100_000 + b"]" * 100_000]
)
def test_malformed_json_is_400(client, body: bytes) -> None:
    """Truncated, non-JSON, non-object and absurdly nested bodies: 400 with a reason."""
    response = post(client, "pull_request", body)
    assert response.status_code == 400 and response.json["error"]


def test_a_thirty_megabyte_body_is_413(client) -> None:
    """Over GitHub's 25 MB cap: refused before reading or verifying."""
    response = post(client, "pull_request", b"x" * (30 * 1024 * 1024), signature="sha256=00")
    assert response.status_code == 413


def test_missing_event_or_delivery_headers_are_400(client) -> None:
    body = json.dumps(opened()).encode()
    assert post(client, "", body).status_code == 400
    assert post(client, "pull_request", body, delivery="").status_code == 400


def test_ping_answers_200(client) -> None:
    """GitHub's ping (real payload) gets 200 and is not queued."""
    response = post(client, "ping", example("ping/payload.json"))
    assert response.status_code == 200 and response.json["ok"]


@pytest.mark.parametrize(
    ("event", "file"),
    [
        ("issues", "pull_request/labeled.payload.json"),
        ("pull_request", "pull_request/labeled.payload.json"),
        ("push", "push/payload.json"),
    ],
)
def test_events_ortfix_does_not_handle_are_200_and_not_queued(client, service, event: str, file: str) -> None:
    """Unknown events and actions: acknowledged, nothing queued, nothing stored."""
    response = post(client, event, example(file))
    assert response.status_code == 200 and not response.json["queued"]
    assert service.huey.pending_count() == 0


def test_a_draft_is_not_queued(client, service) -> None:
    payload = pull_request_payload("opened", "octo-org/web-app", 7, "a" * 40, draft=True)
    assert post(client, "pull_request", payload).status_code == 200
    assert service.huey.pending_count() == 0


def test_ready_for_review_is_queued(client, service) -> None:
    payload = pull_request_payload("ready_for_review", "octo-org/web-app", 7, "a" * 40)
    assert post(client, "pull_request", payload).status_code == 202


def test_a_custom_webhook_path(settings, service) -> None:
    """WEBHOOK_PATH moves the endpoint."""
    import dataclasses

    custom = dataclasses.replace(settings, webhook_path="/hooks/gh")
    client = create_app(custom, service).test_client()
    body = json.dumps(opened()).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "x",
        "X-Hub-Signature-256": events.sign(SECRET, body),
    }
    assert client.post("/hooks/gh", data=body, headers=headers).status_code == 202
    assert client.post(PATH, data=body, headers=headers).status_code == 404


def test_healthz_and_metrics_after_bad_input(client) -> None:
    """After refusals the service is healthy, and /metrics counts deliveries by event and outcome."""
    post(client, "pull_request", opened(), signature="sha256=00")
    post(client, "pull_request", opened())
    post(client, "ping", example("ping/payload.json"), delivery="p")
    assert client.get("/healthz").status_code == 200
    text = client.get("/metrics", headers=METRICS_AUTH).get_data(as_text=True)
    assert 'ortfix_deliveries_total{event="unknown",outcome="bad-signature"} 1.0' in text
    assert 'ortfix_deliveries_total{event="pull_request",outcome="queued"} 1.0' in text
    assert 'ortfix_deliveries_total{event="ping",outcome="pong"} 1.0' in text
    assert "ortfix_queue_depth 1.0" in text


@pytest.mark.parametrize("secret", [None, ""])
def test_without_a_webhook_secret_every_delivery_is_refused(secret, settings, service) -> None:
    """No secret set: unsigned, signed with an empty key, or signed with any key, nothing is accepted or queued."""
    import dataclasses
    import hashlib
    import hmac

    unset = dataclasses.replace(settings, webhook_secret=secret)
    client = create_app(unset, dataclasses.replace(service, settings=unset)).test_client()
    body = json.dumps(opened()).encode()
    empty_key = "sha256=" + hmac.new(b"", body, hashlib.sha256).hexdigest()
    for delivery, signature in [("d-1", ""), ("d-2", empty_key), ("d-3", events.sign(SECRET, body))]:
        assert post(client, "pull_request", body, delivery, signature=signature).status_code == 401
        assert service.store.delivery(delivery) is None
    assert service.huey.pending_count() == 0


def test_metrics_needs_the_bearer_token(client) -> None:
    """No token, a wrong one or another scheme: 401 and no series; the right bearer token: the series."""
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": METRICS_AUTH["Authorization"][7:]}).status_code == 401
    response = client.get("/metrics", headers=METRICS_AUTH)
    assert response.status_code == 200 and "ortfix_queue_depth" in response.get_data(as_text=True)


def test_metrics_without_a_token_configured_says_to_set_one(settings, service) -> None:
    """METRICS_TOKEN unset: /metrics is refused, and the answer names the setting."""
    import dataclasses

    client = create_app(dataclasses.replace(settings, metrics_token=None), service).test_client()
    response = client.get("/metrics", headers=METRICS_AUTH)
    assert response.status_code == 403 and "set METRICS_TOKEN" in response.json["error"]
    assert "ortfix_" not in response.get_data(as_text=True)


def test_the_status_page_says_only_that_ortfix_runs(client, service) -> None:
    """No app name, installation id or delivery id for the public."""
    post(client, "pull_request", opened(), delivery="d-secret-id")
    page = client.get("/").get_data(as_text=True)
    assert "ortfix is running" in page
    for private in ("d-secret-id", "12345", "42", "pull_request"):
        assert private not in page
