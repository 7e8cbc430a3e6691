"""bench/soak.py's own checks, so that its `duplicated=0` and its mix can be trusted (the soak itself runs by hand)."""

from __future__ import annotations

import collections

from bench.soak import MANIFEST, REPO, duplicated_effects, plan
from tests.fake_github import FakeGitHub
from tests.fake_github import PullRequest as FakePull


def test_a_review_or_a_comment_posted_twice_is_counted(openapi_spec) -> None:
    """Two reviews of one head and two replies on one issue are two duplicated effects; one of each is none."""
    github = FakeGitHub(None, openapi_spec)
    pull = github.add_pull(FakePull(REPO, 1, base={"package.json": MANIFEST}, head={"package.json": MANIFEST}))
    pull.reviews.append({"commit_id": pull.head_sha})
    github.repo(REPO).issue_comments.append({"issue": 7, "body": "help"})
    assert sum(duplicated_effects(github).values()) == 0
    pull.reviews.append({"commit_id": pull.head_sha})
    github.repo(REPO).issue_comments.append({"issue": 7, "body": "help"})
    twice = duplicated_effects(github)
    assert (twice["review"], twice["comment"], sum(twice.values())) == (1, 1, 2)


def test_the_mix_opens_every_pull_request_once_and_resends_some_ids() -> None:
    """Every PR opened once; re-deliveries (same id), and comments, pushes and installations among the rest."""
    pulls = [FakePull(REPO, n, base={}, head={"a.js": str(n)}) for n in range(1, 11)]
    deliveries = plan(2000, pulls, ["o/audited"], "t", 1000, seed=1)
    distinct = {d.id: d for d in deliveries}.values()
    opened = [d.key[1] for d in distinct if d.key]
    assert sorted(opened) == list(range(1, 11))
    events = collections.Counter(d.event for d in distinct)
    assert {"pull_request", "issue_comment", "push", "installation"} <= set(events)
    assert len({d.id for d in deliveries}) < len(deliveries)
