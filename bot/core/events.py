"""Webhook deliveries, pure: the signature check, and the raw body made an Event."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

SIGNATURE_PREFIX = "sha256="


class BadDelivery(ValueError):
    """A delivery that was signed correctly but cannot be read."""


@dataclass(frozen=True)
class Event:
    name: str
    action: str
    delivery_id: str
    installation_id: int | None
    repository: str | None  # owner/name
    payload: dict


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is `sha256=` + the hex HMAC-SHA256 of `body` with `secret` (compared in constant time)."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(SIGNATURE_PREFIX) :])


def sign(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 header GitHub would send for `body`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse(name: str, delivery_id: str, body: bytes) -> Event:
    """The Event in a verified body; BadDelivery when it is not a JSON object."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise BadDelivery(f"the body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadDelivery("the body is not a JSON object")
    installation = payload.get("installation")
    repository = payload.get("repository")
    return Event(
        name=name,
        action=str(payload.get("action") or ""),
        delivery_id=delivery_id,
        installation_id=installation.get("id") if isinstance(installation, dict) else None,
        repository=repository.get("full_name") if isinstance(repository, dict) else None,
        payload=payload,
    )
