"""Webhook deliveries: GitHub's signature, and a body made an Event (or refused with a reason the sender sees)."""

from __future__ import annotations

import json

import pytest

from bot.core import events
from tests.conftest import example


def test_a_real_payload_becomes_its_event() -> None:
    """GitHub's own pull_request example: the names, the installation and the repository come out of the body."""
    payload = example("pull_request/opened.payload.json")
    payload["installation"] = {"id": 42}
    event = events.parse("pull_request", "delivery-1", json.dumps(payload).encode())
    assert event == events.Event(
        name="pull_request",
        action="opened",
        delivery_id="delivery-1",
        installation_id=42,
        repository=payload["repository"]["full_name"],
        payload=payload,
    )
    assert "/" in event.repository


def test_a_body_without_action_installation_or_repository() -> None:
    """Fields a payload lacks (or that are not objects) are empty, not a crash."""
    event = events.parse("ping", "d", b'{"zen": "Keep it simple.", "repository": "not an object"}')
    assert (event.action, event.installation_id, event.repository) == ("", None, None)


def test_a_body_that_is_not_an_object_is_refused_with_its_reason() -> None:
    """The reason is the 400 response's text: it says what is wrong with the body."""
    with pytest.raises(events.BadDelivery) as refused:
        events.parse("push", "d", b"[1, 2]")
    assert str(refused.value) == "the body is not a JSON object"


def test_a_body_that_is_not_json_is_refused_with_the_parsers_words() -> None:
    with pytest.raises(events.BadDelivery) as refused:
        events.parse("push", "d", b'{"action": ')
    assert str(refused.value).startswith("the body is not JSON: Expecting value: line 1")


def test_a_signature_is_checked_against_the_body_and_the_secret() -> None:
    """Only sha256= and the HMAC of this body with this secret pass."""
    body = b'{"action": "opened"}'
    assert events.signature_valid("s3cret", body, events.sign("s3cret", body))
    for header in (None, "", events.sign("other", body), events.sign("s3cret", body + b" "), "sha1=00"):
        assert not events.signature_valid("s3cret", body, header)
    assert not events.signature_valid("s3cret", body, events.sign("s3cret", body).removeprefix("sha256="))
