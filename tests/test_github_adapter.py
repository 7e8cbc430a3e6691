"""The GitHub adapter: installation tokens, Enterprise Server URLs, retries and what it refuses to retry."""

from __future__ import annotations

import re

import pytest
import responses

from bot.adapters.github import GitHubApp, GitHubError
from tests.fake_github import GRAPHQL_ERRORS, FakeGitHub, PullRequest, blob_sha


def make_app(private_key: str, clock=None) -> GitHubApp:
    app = GitHubApp("12345", private_key, "https://api.github.com", sleep=lambda s: None, clock=clock or (lambda: 1.0))
    return app


def test_tokens_are_cached_until_shortly_before_expiry(private_key, github: FakeGitHub) -> None:
    """One token request per installation while the token lives; a new one five minutes before it expires."""
    now = [1_000.0]
    app = make_app(private_key, clock=lambda: now[0])
    app.installation(1)
    app.installation(1)
    assert github.count("POST", "access_tokens") == 1
    now[0] = 4_102_444_800 - 200  # 2100-01-01 minus less than the margin
    app.installation(1)
    assert github.count("POST", "access_tokens") == 2


def test_a_primary_rate_limit_waits_for_the_reset(private_key, github: FakeGitHub) -> None:
    """403 with X-RateLimit-Remaining: 0 waits until X-RateLimit-Reset (+1 s), then succeeds."""
    waits: list[float] = []
    app = make_app(private_key, clock=lambda: 1000.0)
    app.sleep = waits.append
    client = app.installation(1)
    github.contents[("o/r", "a.txt")] = "hi"
    github.fail("GET", "/contents/a.txt", 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"})
    assert client.file_text("o/r", "a.txt") == "hi"
    assert waits == [31.0]


def test_a_wait_too_long_and_a_plain_403_are_raised(private_key, github: FakeGitHub) -> None:
    """A reset hours away is not slept through (the queue retries later); a real 403 is an error at once."""
    client = make_app(private_key, clock=lambda: 0.0).installation(1)
    github.fail("GET", "/contents/a.txt", 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999"})
    with pytest.raises(GitHubError) as raised:
        client.file_text("o/r", "a.txt")
    assert raised.value.status == 403
    github.fail("GET", "/contents/b.txt", 403)
    with pytest.raises(GitHubError):
        client.file_text("o/r", "b.txt")
    assert github.count("GET", "/contents/b.txt") == 1


def test_a_post_is_not_retried_on_5xx_but_a_get_is(private_key, github: FakeGitHub) -> None:
    """POST is not idempotent: a 502 is the caller's to judge. GETs retry with backoff, up to five tries."""
    client = make_app(private_key).installation(1)
    github.fail("POST", "/check-runs", 502)
    with pytest.raises(GitHubError):
        client.create_check_run("o/r", "a" * 40, "ortfix")
    assert github.count("POST", "/check-runs") == 1
    github.fail("GET", "/contents/x", 500, times=5)
    with pytest.raises(GitHubError):
        client.file_text("o/r", "x")
    assert github.count("GET", "/contents/x") == 5


def test_rate_limit_remaining_is_tracked(private_key, github: FakeGitHub) -> None:
    client = make_app(private_key).installation(1)
    github.add_pull(PullRequest("o/r", 1, base={}, head={"a.js": "x\n"}))
    client.pull_files("o/r", 1)
    assert client.rate_remaining == 4999 and client.calls == 1


def test_an_enterprise_server_url_is_used_for_every_call(private_key) -> None:
    """GHE: tokens and REST calls go to https://HOST/api/v3/…"""
    with responses.RequestsMock() as mock:
        # PyGithub writes the port out (":443"), as it does for api.github.com
        token_url = re.compile(r"https://ghe\.example\.com(:443)?/api/v3/app/installations/1/access_tokens")
        mock.add(responses.POST, token_url, json={"token": "t", "expires_at": "2099-01-01T00:00:00Z"}, status=201)
        contents_url = re.compile(r"https://ghe\.example\.com(:443)?/api/v3/repos/o/r/contents/a\.txt")
        mock.add(responses.GET, contents_url, status=404, json={"message": "Not Found"})
        app = GitHubApp("1", private_key, "https://ghe.example.com/api/v3", sleep=lambda s: None)
        assert app.installation(1).file_text("o/r", "a.txt") is None


def test_a_refused_installation_token_is_a_github_error(private_key) -> None:
    with responses.RequestsMock() as mock:
        token_url = re.compile(r"https://api\.github\.com(:443)?/app/installations/9/access_tokens")
        mock.add(responses.POST, token_url, status=404, json={"message": "Not Found"})
        with pytest.raises(GitHubError) as raised:
            make_app(private_key).installation(9)
    assert raised.value.status == 404


@pytest.mark.parametrize("fault", ["404", "errors", "502"])
def test_a_graphql_batch_that_fails_is_read_over_rest(private_key, github: FakeGitHub, fault: str, caplog) -> None:
    """GraphQL answering 404, a body with `errors`, or 502 after every retry: the blobs come by REST, logged once."""
    client = make_app(private_key).installation(1)
    texts = [f"export const v = {i};\n".encode() for i in range(3)]
    pull = github.add_pull(PullRequest("o/r", 1, base={}, head={f"f{i}.js": t.decode() for i, t in enumerate(texts)}))
    assert pull.head
    github.fail("POST", "/graphql", GRAPHQL_ERRORS if fault == "errors" else int(fault), times=10)
    shas = [blob_sha(t) for t in texts]
    assert client.blob_texts("o/r", shas) == dict(zip(shas, texts, strict=True))
    assert client.blob_texts("o/r", shas[:1]) == {shas[0]: texts[0]}
    assert github.count("GET", "/git/blobs/") == 4
    assert [r.message for r in caplog.records if r.message == "github.graphql-unavailable"] == [
        "github.graphql-unavailable"
    ]


def test_graphql_points_are_their_own_budget(private_key, github: FakeGitHub) -> None:
    """A query's `rateLimit` cost and remaining points are kept apart from REST's remaining calls."""
    client = make_app(private_key).installation(1)
    github.add_pull(PullRequest("o/r", 1, base={}, head={"a.js": "x\n"}))
    client.pull_files("o/r", 1)
    client.blob_texts("o/r", [blob_sha(b"x\n")])
    assert (client.rate_remaining, client.graphql_cost, client.graphql_remaining) == (4999, 1, 4998)
