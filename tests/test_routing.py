"""Which events start which job, from GitHub's own payload examples."""

from __future__ import annotations

import json

import pytest

from bot.core import events
from bot.service import routing
from bot.service.queue import _pull_request
from tests.conftest import example


def event_of(name: str, file: str) -> events.Event:
    return events.parse(name, "d", json.dumps(example(file)).encode())


@pytest.mark.parametrize(
    ("name", "file", "job"),
    [
        ("pull_request", "pull_request/opened.payload.json", routing.REVIEW),
        ("pull_request", "pull_request/synchronize.payload.json", routing.REVIEW),
        ("pull_request", "pull_request/reopened.payload.json", routing.REVIEW),
        ("pull_request", "pull_request/ready_for_review.with-installation.payload.json", routing.REVIEW),
        ("pull_request", "pull_request/opened.from-fork.pytorch-test-infra.json", routing.REVIEW),
        ("check_suite", "check_suite/rerequested.payload.json", routing.REVIEW),
        ("pull_request", "pull_request/closed.payload.json", None),
        ("pull_request", "pull_request/converted_to_draft.with-installation.payload.json", None),
        ("ping", "ping/payload.json", None),
    ],
)
def test_routes(name: str, file: str, job: str | None) -> None:
    assert routing.route(event_of(name, file)) == job


def test_an_event_without_an_installation_is_not_routed() -> None:
    """A delivery that names no installation cannot be acted on: nothing is queued."""
    payload = example("pull_request/opened.payload.json")
    del payload["installation"]
    assert routing.route(events.parse("pull_request", "d", json.dumps(payload).encode())) is None


def test_a_rerequested_check_suite_names_its_pull_request() -> None:
    """ "Re-run all checks": the review runs for the suite's PR at the suite's head."""
    pr = _pull_request(event_of("check_suite", "check_suite/rerequested.payload.json"))
    assert pr is not None
    assert (pr.repo, pr.number, pr.head_sha, pr.default_branch) == (
        "Codertocat/Hello-World",
        2,
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        "master",
    )


def test_a_rerequested_check_run_outside_a_pull_request_reviews_nothing() -> None:
    """GitHub's check_run example belongs to no PR: nothing to review."""
    assert _pull_request(event_of("check_run", "check_run/rerequested.payload.json")) is None
