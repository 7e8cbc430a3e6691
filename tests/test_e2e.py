"""End to end: real gunicorn, a real `ortfix worker` process, the fake GitHub over HTTP on 127.0.0.1, SQLite and Redis.

Webhooks are GitHub's own examples, signed; the fake checks every request and
response against GitHub's OpenAPI description. Faults: GitHub errors and rate
limits, a worker SIGKILLed mid-job, Redis restarted under load, floods while no
worker runs, duplicate and out-of-order deliveries.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.core import events
from bot.core.detector import scan_files
from tests.conftest import SECRET, example, free_port, pull_request_payload, served
from tests.fake_github import FakeGitHub
from tests.fake_github import PullRequest as FakePull
from tests.paths import ORTFIX

pytestmark = pytest.mark.slow

REPO = "octo-org/web-app"
MANIFEST = '{\n  "dependencies": {\n    "onnxruntime-web": "^1.30.0"\n  }\n}\n'
SESSION = "export const open = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"
MODEL = "import * as ort from 'onnxruntime-web';\n" + SESSION
FIXED = "import * as ort from 'onnxruntime-web/webgpu';\n" + SESSION


@pytest.fixture
def github(github_http):
    """The fake GitHub as a real HTTP server on 127.0.0.1."""
    return github_http


class Ortfix:
    """The service as deployed: gunicorn for webhooks, `ortfix worker` for jobs, sharing SQLite or Redis."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.port = free_port()
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def start_web(self) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "2",
            "bot.web:wsgi()",
        ]
        self.web = subprocess.Popen(command, env=self.env, cwd=self.tmp, stderr=subprocess.DEVNULL)
        wait_for(lambda: _up(f"http://127.0.0.1:{self.port}/healthz"), 30, "gunicorn did not start")

    def start_worker(self) -> None:
        with open(self.tmp / "worker.log", "a") as log:  # the child keeps its own copy of the descriptor
            self.worker = subprocess.Popen([ORTFIX, "worker"], env=self.env, cwd=self.tmp, stderr=log)

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.kill()  # SIGKILL: no cleanup, the job in hand is simply gone
        self.worker.wait(timeout=10)

    def send(self, name: str, payload: dict, delivery: str) -> int:
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": name,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": events.sign(SECRET, body),
        }
        try:
            return requests.post(
                f"http://127.0.0.1:{self.port}/api/github/webhooks", data=body, headers=headers, timeout=10
            ).status_code
        except requests.ConnectionError:
            return 0

    def stop(self) -> None:
        for process in (self.worker, self.web):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:  # not up yet, or too busy starting to answer within the second
        return False


def wait_for(condition, seconds: float = 60, message: str = "timed out") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def service_env(private_key: str, github: FakeGitHub, **extra: str) -> dict[str, str]:
    """The environment of the service's processes: this test's app, the fake GitHub, short leases."""
    own = ("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "REDIS_URL", "ORTFIX_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env.update(
        {
            "APP_ID": "12345",
            "PRIVATE_KEY": private_key,
            "WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": github.url,
            "ORTFIX_GITHUB_DELAY": "0",
            "ORTFIX_LEASE_SECONDS": "3",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


@pytest.fixture(params=["sqlite", "redis"])
def ortfix(request, tmp_path, private_key, github):
    env = service_env(private_key, github, ORTFIX_DB=str(tmp_path / "ortfix.db"))
    if request.param == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    service = Ortfix(tmp_path, env)
    service.start_web()
    yield service
    service.stop()


def opened(pull: FakePull, action: str = "opened") -> dict:
    return pull_request_payload(action, REPO, pull.number, pull.head_sha)


def add_pull(github: FakeGitHub, number: int, head: dict[str, str], base: dict[str, str] | None = None) -> FakePull:
    base = {"package.json": MANIFEST} if base is None else base
    github.repo(REPO).refs.setdefault("main", github.add_commit(base))
    return github.add_pull(
        FakePull(REPO, number, base=base, head={**base, **head}, head_ref=f"feature-{number}", author="author")
    )


def apply_suggestions(text: str, comments: list[dict]) -> str:
    lines = text.split("\n")
    for comment in comments:
        suggested = comment["body"].split("```suggestion\n", 1)[1].split("\n```", 1)[0]
        lines[comment["line"] - 1] = suggested
    return "\n".join(lines)


def checks_for(github: FakeGitHub, sha: str) -> list[dict]:
    return [run for run in github.check_runs.values() if run["head_sha"] == sha]


def test_review_fix_push_ortfix_and_audit(ortfix, github) -> None:
    """opened → one review whose suggestions give the fixed file; synchronize with it → nothing new, green;
    /ortfix on another PR → one commit that leaves the detector clean; the audit → one issue, updated in place."""
    ortfix.start_worker()
    pull = add_pull(github, 7, {"src/model.js": MODEL})
    assert ortfix.send("pull_request", opened(pull), "d-1") == 202
    wait_for(lambda: pull.reviews, message="no review")
    wait_for(lambda: any(r.get("status") == "completed" for r in checks_for(github, pull.head_sha)))
    assert apply_suggestions(MODEL, pull.comments) == FIXED
    assert checks_for(github, pull.head_sha)[0]["conclusion"] == "failure"

    pull.head["src/model.js"] = FIXED
    github.add_pull(pull)
    assert ortfix.send("pull_request", opened(pull, "synchronize"), "d-2") == 202
    wait_for(lambda: any(r.get("conclusion") == "success" for r in checks_for(github, pull.head_sha)))
    (comment,) = pull.comments  # the answered-by-fix comment stays, its thread resolved; nothing new
    assert len(pull.reviews) == 1 and pull.resolved == {comment["id"]}

    add_pull(github, 8, {"src/a.js": MODEL, "src/b.js": "import 'onnxruntime-web';\n"})
    github.repo(REPO).permissions["author"] = "write"  # a branch of this repository: its author can push to it
    assert ortfix.send("issue_comment", ortfix_comment(8, "author", "author", 5), "d-3") == 202
    wait_for(lambda: github.count("PATCH", "/git/refs/heads/feature-8"), message="no commit")
    files = github.branch_files(REPO, "feature-8")
    report = scan_files([(p, t.encode()) for p, t in files.items()])
    assert [f for f in report.findings if f.replacement] == [] and github.count("POST", "/git/commits$") == 1

    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    from bot.service.queue import build
    from bot.service.settings import load

    build(load(ortfix.env, env_file=None)).audit_installation(42)  # what the weekly schedule queues
    wait_for(lambda: github.repo(REPO).issues, message="no audit issue")
    (number,) = github.repo(REPO).issues
    github.set_branch(
        REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL, "src/b.js": "import 'onnxruntime-web';\n"}
    )
    audit_run = subprocess.run(
        [ORTFIX, "audit", REPO, "--write"],
        env=ortfix.env,
        cwd=ortfix.tmp,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert audit_run.returncode == 1 and audit_run.stderr == "", audit_run.stderr  # 1: findings, and no error
    assert list(github.repo(REPO).issues) == [number]
    assert "in 2 places" in github.repo(REPO).issues[number]["title"]


def test_on_an_enterprise_server_every_link_goes_to_its_web_address(tmp_path, private_key, openapi_spec) -> None:
    """GITHUB_API_URL=http://HOST/api/v3 (GraphQL at /api/graphql): the review, check run, /ortfix reply, audit
    issue and org issue link only to http://HOST, never to github.com."""
    from bot.service.queue import build
    from bot.service.settings import load

    with served(FakeGitHub(None, openapi_spec, "https://ghe.test/api/v3")) as github:
        env = service_env(private_key, github, GITHUB_API_URL=f"{github.url}/api/v3", ORTFIX_DB=str(tmp_path / "db"))
        service = Ortfix(tmp_path, env)
        service.start_web()
        service.start_worker()
        try:
            pull = add_pull(github, 7, {"src/model.js": MODEL, "src/b.js": "import 'onnxruntime-web';\n"})
            assert service.send("pull_request", opened(pull), "d-1") == 202
            wait_for(lambda: any(r.get("status") == "completed" for r in checks_for(github, pull.head_sha)))
            github.repo(REPO).permissions["author"] = "write"
            assert service.send("issue_comment", ortfix_comment(7, "author", "author", 5), "d-2") == 202
            wait_for(lambda: github.repo(REPO).issue_comments, message="no /ortfix reply")
            github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
            github.set_branch("octo-org/.github", "main", {"README.md": "org\n"})
            jobs = build(load(env, env_file=None))
            jobs.audit_installation(42)
            wait_for(lambda: github.repo(REPO).issues, message="no audit issue")
            jobs.org_summary(42, [REPO, "octo-org/.github"])  # what the audit schedules for after the week's audits
            wait_for(lambda: github.repo("octo-org/.github").issues, message="no org issue")
        finally:
            service.stop()
    runs = [run for run in github.check_runs.values() if run.get("output")]
    posted = [
        *(review["body"] for review in pull.reviews),
        *(comment["body"] for comment in pull.comments),
        *(json.dumps(run["output"]) + json.dumps(run["annotations"]) for run in runs),
        *(comment["body"] for repo in github.repos.values() for comment in repo.issue_comments),
        *(issue["body"] for repo in github.repos.values() for issue in repo.issues.values()),
    ]
    assert github.graphql_queries and pull.reviews and runs and len(posted) >= 6
    links = [link for body in posted for link in re.findall(r"\]\(([^)\s]+)\)", body)]
    assert len(links) >= 3 and all(link.startswith(f"{github.url}/") for link in links)
    assert [body for body in posted if "github.com" in body] == []


def test_github_errors_and_rate_limits_during_a_review_land_it_once(ortfix, github) -> None:
    """A 502 on the review POST (after GitHub stored it), a secondary rate limit and a 500 on reads: one review."""
    ortfix.start_worker()
    pull = add_pull(github, 9, {"src/model.js": MODEL})
    github.fail("GET", r"/pulls/9/files", 403, {"Retry-After": "1"})
    github.fail("POST", "/graphql", 500)
    original = github._create_review
    calls = []

    def lands_then_502(repo, number, query, body):
        answer = original(repo, number, query, body)
        calls.append(1)
        return (502, {}, '{"message": "Bad Gateway"}') if len(calls) == 1 else answer

    github.routes = [(m, p, lands_then_502 if h == original else h) for m, p, h in github.routes]
    assert ortfix.send("pull_request", opened(pull), "d-1") == 202
    wait_for(lambda: any(r.get("status") == "completed" for r in checks_for(github, pull.head_sha)))
    assert len(pull.reviews) == 1 and len(pull.comments) == 1


def test_a_worker_killed_mid_job_is_redone_within_a_minute_and_posts_once(ortfix, github) -> None:
    """SIGKILL mid-review, a new worker at once, the default lease: the review lands once, within 60 s."""
    del ortfix.env["ORTFIX_LEASE_SECONDS"]  # the deployed default
    pull = add_pull(github, 10, {"src/model.js": MODEL})
    github.slow("GET", r"/pulls/10/comments", 8)  # the job stops here, after the check run, before the review
    ortfix.start_worker()
    assert ortfix.send("pull_request", opened(pull), "d-1") == 202
    wait_for(lambda: github.count("GET", r"/pulls/10/comments"), message="the job never started")
    ortfix.kill_worker()
    assert pull.reviews == []
    github.delays.clear()
    ortfix.start_worker()
    up = time.monotonic()
    wait_for(lambda: pull.reviews, 75, message="the job was lost")
    assert time.monotonic() - up < 60
    time.sleep(1)
    assert len(pull.reviews) == 1 and github.count("POST", r"/check-runs$") == 1


def test_a_job_longer_than_its_lease_stays_with_its_live_worker(ortfix, github) -> None:
    """A review slowed to three leases (3 s each) on a live worker, with a second worker sweeping: run once."""
    pull = add_pull(github, 12, {"src/model.js": MODEL})
    github.slow("GET", r"/pulls/12/comments", 9)
    ortfix.start_worker()
    first = ortfix.worker
    ortfix.start_worker()  # a second consumer, whose sweeps would take the job if its lease lapsed
    try:
        assert ortfix.send("pull_request", opened(pull), "d-1") == 202
        wait_for(lambda: pull.reviews, 60, message="no review")
        time.sleep(1)
        assert len(pull.reviews) == 1 and github.count("GET", r"/pulls/12/comments") == 1
    finally:
        assert first is not None
        first.terminate()
        first.wait(timeout=30)


def test_serve_restarted_after_sigkill_redoes_the_running_job_at_once(tmp_path, private_key, github) -> None:
    """`ortfix serve` on SQLite SIGKILLed mid-review and started again: the review lands once, long before the lease."""
    env = service_env(private_key, github, ORTFIX_DB=str(tmp_path / "ortfix.db"))
    del env["ORTFIX_LEASE_SECONDS"]  # 30 s: the job must not wait for it
    port = free_port()
    env["PORT"] = str(port)
    ortfix = Ortfix(tmp_path, env)
    ortfix.port = port
    pull = add_pull(github, 13, {"src/model.js": MODEL})
    github.slow("GET", r"/pulls/13/comments", 8)

    def serve() -> subprocess.Popen:
        command = [ORTFIX, "serve", "--host", "127.0.0.1", "--web-workers", "1"]
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: _up(f"http://127.0.0.1:{port}/healthz"), 30, "ortfix serve did not start")
        return process

    process = serve()
    try:
        assert ortfix.send("pull_request", opened(pull), "d-1") == 202
        wait_for(lambda: github.count("GET", r"/pulls/13/comments"), message="the job never started")
        os.killpg(process.pid, signal.SIGKILL)  # the consumer and gunicorn with it: nothing cleans up
        process.wait(timeout=10)
        github.delays.clear()
        wait_for(lambda: not _up(f"http://127.0.0.1:{port}/healthz"), 10, "the old server still answers")
        process = serve()
        up = time.monotonic()
        wait_for(lambda: pull.reviews, 60, message="the job was lost")
        assert time.monotonic() - up < 20  # the lease alone would take 30 s from the job's start
        time.sleep(1)
        assert len(pull.reviews) == 1 and github.count("POST", r"/check-runs$") == 1
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_a_flood_while_no_worker_runs_is_all_processed_after(ortfix, github) -> None:
    """40 deliveries (with duplicates and out of order) acknowledged with no worker running; all done after."""
    pulls = [add_pull(github, 100 + i, {"src/model.js": MODEL}) for i in range(20)]
    for i, pull in enumerate(reversed(pulls)):
        assert ortfix.send("pull_request", opened(pull), f"f-{i}") == 202
        assert ortfix.send("pull_request", opened(pull), f"f-{i}") == 202  # a duplicate delivery
        assert ortfix.send("pull_request", opened(pull, "reopened"), f"r-{i}") == 202  # a second event for the PR
    ortfix.start_worker()
    wait_for(lambda: all(p.reviews for p in pulls), 120, "some deliveries were lost")
    time.sleep(1)
    assert all(len(p.reviews) == 1 and len(p.comments) == 1 for p in pulls)


def test_path_traversal_in_file_names_is_only_a_name(ortfix, github) -> None:
    """File names from a PR never touch the server's disk: `../../etc/passwd.js` is just a path in the review."""
    ortfix.start_worker()
    pull = add_pull(github, 11, {"../../etc/passwd.js": MODEL, "a/../b.js": MODEL, "src/../../x.js": MODEL})
    assert ortfix.send("pull_request", opened(pull), "d-1") == 202
    wait_for(lambda: any(r.get("status") == "completed" for r in checks_for(github, pull.head_sha)))
    assert sorted(c["path"] for c in pull.comments) == ["../../etc/passwd.js", "a/../b.js", "src/../../x.js"]


@pytest.fixture
def own_redis(tmp_path):
    """A Redis this test may restart: append-only file fsynced on every write, as a production Redis should be."""
    port = free_port()
    directory = tmp_path / "redis"
    directory.mkdir()
    command = [
        shutil.which("redis-server") or "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(directory),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
    ]

    def start() -> subprocess.Popen:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        import redis

        wait_for(lambda: _redis_up(redis, port), 10, "redis did not start")
        return process

    holder = {"process": start()}
    yield f"redis://127.0.0.1:{port}/0", holder, start
    holder["process"].terminate()
    holder["process"].wait(timeout=10)


def _redis_up(redis, port: int) -> bool:
    try:
        return bool(redis.Redis(port=port).ping())
    except redis.ConnectionError:
        return False


def test_redis_restarted_under_load_loses_no_accepted_delivery(tmp_path, private_key, github, own_redis) -> None:
    """Deliveries keep coming while Redis restarts: some are refused (GitHub retries those); every 202 gets its review."""
    url, holder, start = own_redis
    env = service_env(private_key, github, REDIS_URL=url)
    service = Ortfix(tmp_path, env)
    service.start_web()
    service.start_worker()
    try:
        pulls = [add_pull(github, 200 + i, {"src/model.js": MODEL}) for i in range(30)]
        accepted = []
        for i, pull in enumerate(pulls):
            if i == 10:
                holder["process"].send_signal(signal.SIGTERM)
                holder["process"].wait(timeout=10)
            if i == 15:
                holder["process"] = start()
            if service.send("pull_request", opened(pull), f"d-{i}") == 202:
                accepted.append(pull)
        assert 15 <= len(accepted) < 30
        wait_for(lambda: all(p.reviews for p in accepted), 120, "an accepted delivery was lost")
        assert all(len(p.reviews) == 1 for p in accepted)
        assert _up(f"http://127.0.0.1:{service.port}/healthz")
    finally:
        service.stop()


NATIVE = "import * as ort from 'onnxruntime-web/webgpu';\n" + SESSION
BARE = "import * as ort from 'onnxruntime-web';\n"


def reviewed(github: FakeGitHub, pull: FakePull) -> None:
    wait_for(lambda: any(r.get("status") == "completed" for r in checks_for(github, pull.head_sha)), 90, "no check")


def test_bare_imports_beside_webgpu_files_get_no_comment_on_a_correct_line(ortfix, github) -> None:
    """The added bare imports are commented; the `/webgpu` files are not; one summary sentence says why."""
    ortfix.start_worker()
    base = {"package.json": MANIFEST, "src/gpu.js": NATIVE, "src/also.js": NATIVE}
    pull = add_pull(github, 20, {"src/a.js": BARE, "src/b.js": BARE}, base=base)
    assert ortfix.send("pull_request", opened(pull), "d-20") == 202
    reviewed(github, pull)
    assert sorted((c["path"], c["line"]) for c in pull.comments) == [("src/a.js", 1), ("src/b.js", 1)]
    (posted,) = pull.reviews
    assert posted["body"].count("second `ort` instance") == 1 and "fixing the 2 loads above" in posted["body"]


def test_a_webgpu_request_in_an_untouched_file_is_found_within_budget_then_free(ortfix, github) -> None:
    """Only an untouched file asks for 'webgpu': the added bare import gets one finding, the package costs one
    query; a second PR in that package costs no package read at all."""
    ortfix.start_worker()
    sources = {f"src/f{i}.js": f"export const v{i} = {i};\n" for i in range(100)}
    base = {"package.json": MANIFEST, "src/session.js": SESSION, **sources}
    first = add_pull(github, 21, {"src/model.js": BARE}, base=base)
    assert ortfix.send("pull_request", opened(first), "d-21") == 202
    reviewed(github, first)
    assert [(c["path"], "`jsep-import` · error" in c["body"]) for c in first.comments] == [("src/model.js", True)]
    assert github.count("POST", "/graphql") == 2  # the PR's files, then the package's other sources
    second = add_pull(github, 22, {"src/other.js": BARE}, base=base)
    assert ortfix.send("pull_request", opened(second), "d-22") == 202
    reviewed(github, second)
    assert len(second.comments) == 1 and github.count("POST", "/graphql") == 3


def test_graphql_404_errors_and_502_still_land_the_review_once(ortfix, github) -> None:
    """GraphQL answers 404, then `errors`, then 502 on every retry: blobs come by REST, one review lands."""
    from tests.fake_github import GRAPHQL_ERRORS

    ortfix.start_worker()
    web_session = SESSION.replace("open", "start")  # another blob than session.js: its own read
    base = {
        "package.json": MANIFEST,
        "web/package.json": MANIFEST,
        "web/session.js": web_session,
        "session.js": SESSION,
    }
    pull = add_pull(github, 23, {"src/model.js": BARE, "web/model.js": BARE}, base=base)
    github.fail("POST", "/graphql", 404)
    github.fail("POST", "/graphql", GRAPHQL_ERRORS)
    github.fail("POST", "/graphql", 502, times=5)
    assert ortfix.send("pull_request", opened(pull), "d-23") == 202
    reviewed(github, pull)
    time.sleep(1)
    assert len(pull.reviews) == 1 and sorted(c["path"] for c in pull.comments) == ["src/model.js", "web/model.js"]
    assert github.faults == [] and github.count("GET", "/git/blobs/") >= 4


def test_a_fixed_pull_request_resolves_its_thread_and_leaves_an_answered_one(ortfix, github) -> None:
    """After the fix: the unanswered comment stays with its thread resolved; the answered thread is untouched."""
    ortfix.start_worker()
    pull = add_pull(github, 24, {"src/a.js": MODEL, "src/b.js": MODEL})
    assert ortfix.send("pull_request", opened(pull), "d-24") == 202
    wait_for(lambda: len(pull.comments) == 2, message="no review")
    answered, lone = sorted(pull.comments, key=lambda c: c["path"])
    pull.comments.append({"id": 5, "path": "src/a.js", "line": 1, "body": "on it", "in_reply_to_id": answered["id"]})
    pull.head.update({"src/a.js": FIXED, "src/b.js": FIXED})
    github.add_pull(pull)
    assert ortfix.send("pull_request", opened(pull, "synchronize"), "d-25") == 202
    wait_for(lambda: any(r.get("conclusion") == "success" for r in checks_for(github, pull.head_sha)))
    assert pull.resolved == {lone["id"]} and len(pull.comments) == 3 and github.count("DELETE") == 0


# --- issue 17: no stranger runs code on the server or commits to a maintainer's branch ----------------------


YARN_LOCK = (
    '# yarn lockfile v1\n\n\nonnxruntime-web@^1.22.0:\n  version "1.22.0"\n'
    '  resolved "https://registry.yarnpkg.com/onnxruntime-web/-/onnxruntime-web-1.22.0.tgz#abc"\n'
)
PACKAGE_LOCK = '{"lockfileVersion": 3, "packages": {"node_modules/onnxruntime-web": {"version": "1.22.0"}}}\n'


def ortfix_comment(number: int, user: str, author: str, comment_id: int) -> dict:
    payload = example("issue_comment/created.on-pull-request.pytorch-test-infra.json")
    payload["repository"].update({"full_name": REPO, "default_branch": "main"})
    payload["issue"].update({"number": number})
    payload["issue"]["user"]["login"] = author
    payload["comment"].update({"body": "/ortfix", "id": comment_id})
    payload["comment"]["user"]["login"] = user
    payload["installation"] = {"id": 42}
    return payload


def test_a_fork_author_with_a_git_dependency_and_an_outsider_on_an_upstream_branch_run_nothing(
    tmp_path, private_key, github, evil
) -> None:
    """Through `ortfix serve`: the fork's git dependency is refused before any package manager runs, the outsider is
    refused; no marker, nothing fetched from the git daemon, no commit, and each gets its reply."""
    from bot.adapters.package_managers import NON_REGISTRY

    port = free_port()
    env = service_env(private_key, github, ORTFIX_DB=str(tmp_path / "ortfix.db"), PORT=str(port))
    serve = subprocess.Popen(
        [ORTFIX, "serve", "--host", "127.0.0.1", "--web-workers", "1"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: _up(f"http://127.0.0.1:{port}/healthz"), 30, "ortfix serve did not start")
        service = Ortfix(tmp_path, env)
        service.port = port
        model = FIXED  # already on the native backend: raising the range is the only fix
        manifest = '{\n  "dependencies": {\n    "onnxruntime-web": "^1.22.0",\n    "evil": "%s"\n  }\n}\n'
        base = {"package.json": MANIFEST, "src/model.js": model}
        github.repo(REPO).refs.setdefault("main", github.add_commit(base))
        fork = FakePull(
            REPO,
            40,
            base=base,
            head={**base, "package.json": manifest % evil["specs"][0], "yarn.lock": YARN_LOCK},
            head_ref="feature-40",
            head_repo="mallory/web-app",
            maintainer_can_modify=True,
            author="mallory",
        )
        upstream = FakePull(
            REPO,
            41,
            base=base,
            head={**base, "package.json": manifest % evil["specs"][1], "package-lock.json": PACKAGE_LOCK},
            head_ref="release",
            author="outsider",
        )
        github.add_pull(fork)
        github.add_pull(upstream)
        assert service.send("issue_comment", ortfix_comment(40, "mallory", "mallory", 401), "s-1") == 202
        assert service.send("issue_comment", ortfix_comment(41, "outsider", "outsider", 402), "s-2") == 202
        comments = github.repo(REPO).issue_comments
        wait_for(lambda: {c["issue"] for c in comments} == {40, 41}, 90, "no replies")
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    (to_fork,) = [c["body"] for c in comments if c["issue"] == 40]
    (to_outsider,) = [c["body"] for c in comments if c["issue"] == 41]
    assert NON_REGISTRY in to_fork and f"evil ({evil['specs'][0]})" in to_fork
    assert to_outsider.startswith("Sorry @outsider")
    assert github.count("POST", "/git/commits$") == 0
    assert github.repo("mallory/web-app").refs["feature-40"] == fork.head_sha
    assert github.repo(REPO).refs["release"] == upstream.head_sha
    assert list(evil["markers"].iterdir()) == [] and evil["served"]() == 0
