"""The weekly audit against the fake GitHub: one standing issue, updated in place, closed and reopened; cheap."""

from __future__ import annotations

import dataclasses

import pytest

from bot.adapters.github import GitHubError
from bot.adapters.store import Busy, RedisStore
from bot.core import render
from bot.core.repo_config import RepoConfig
from bot.jobs.audit import CALLS_PER_REPO, MIN_SPACING, AuditOutcome, RepoInfo, audit_repository, pacing
from bot.jobs.repo_scan import scan_commit
from bot.service.queue import build, fan_out_audits

REPO = "octo-org/web-app"
MANIFEST = '{\n  "dependencies": {\n    "onnxruntime-web": "^1.22.0"\n  }\n}\n'
MODEL = "import * as ort from 'onnxruntime-web';\nexport const s = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"
FIXED = MODEL.replace("'onnxruntime-web'", "'onnxruntime-web/webgpu'")
GOOD_MANIFEST = MANIFEST.replace("^1.22.0", "^1.30.0")
WEB = "https://github.com"


def audit(service, repo: str = REPO) -> AuditOutcome:
    return audit_repository(service.app.installation(42), service.store, RepoInfo(repo, "main"), WEB)


def issues(github, repo: str = REPO) -> list[dict]:
    return list(github.repo(repo).issues.values())


def writes(github) -> list[tuple[str, str]]:
    return [(m, p) for m, p in github.calls if m != "GET" and p != "/graphql" and "access_tokens" not in p]


def test_an_issue_with_a_table_of_findings(service, github) -> None:
    """Title with the count, the marker, a row per finding linking the exact line, the fix, the versions in use."""
    sha = github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    outcome = audit(service)
    (issue,) = issues(github)
    assert outcome.action == "opened" and issue["labels"] == ["ortfix"]
    assert issue["title"] == "onnxruntime-web loads the JSEP WebGPU backend in 2 places"
    body = issue["body"]
    assert render.AUDIT_MARKER in body and "comment `/ortfix` on this issue" in body
    assert f"[src/model.js:1](https://github.com/{REPO}/blob/{sha}/src/model.js#L1)" in body
    assert "`import * as ort from 'onnxruntime-web/webgpu';`" in body
    assert "`.`: `^1.22.0`" in body


def test_on_an_enterprise_server_the_issue_links_to_its_web_address(tmp_path, private_key, openapi_spec) -> None:
    """REST under https://HOST/api/v3, GraphQL at /api/graphql: the issue's links go to https://HOST, none to github.com."""
    import responses

    from bot.service.settings import load
    from tests.conftest import SECRET
    from tests.fake_github import FakeGitHub

    environ = {"APP_ID": "1", "PRIVATE_KEY": private_key, "WEBHOOK_SECRET": SECRET, "ORTFIX_GITHUB_DELAY": "0"}
    settings = load(
        {**environ, "GITHUB_API_URL": "https://ghe.example/api/v3", "ORTFIX_DB": str(tmp_path / "db")}, None
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        github = FakeGitHub(mock, openapi_spec, settings.api_url)
        sha = github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
        service = build(settings)
        audit_repository(service.app.installation(42), service.store, RepoInfo(REPO, "main"), settings.github_web_url)
    (issue,) = issues(github)
    assert f"[src/model.js:1](https://ghe.example/{REPO}/blob/{sha}/src/model.js#L1)" in issue["body"]
    assert "github.com" not in issue["body"] and github.graphql_queries  # served at /api/graphql


def test_with_graphql_down_the_audit_reads_over_rest_and_writes_the_same_issue(service, github) -> None:
    """GraphQL answering 502 on every try: the blobs come one by one over REST and the issue is the same."""
    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    github.fail("POST", "/graphql", 502, times=50)
    outcome = audit(service)
    (issue,) = issues(github)
    assert outcome.action == "opened" and outcome.findings == 2 and github.count("GET", "/git/blobs/") == 2
    assert issue["title"] == "onnxruntime-web loads the JSEP WebGPU backend in 2 places"


def test_an_unchanged_repository_costs_one_free_call(service, github) -> None:
    """Second run, nothing changed: one conditional request answered 304, no issue write."""
    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    audit(service)
    before = len(github.calls)
    outcome = audit(service)
    assert outcome.action == "unchanged" and len(issues(github)) == 1
    assert github.calls[before:] == [("GET", f"/repos/{REPO}/git/trees/main")] and github.not_modified == 1


def test_updated_in_place_closed_and_reopened(service, github) -> None:
    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    number = audit(service).issue
    github.set_branch(
        REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL, "src/b.js": "import 'onnxruntime-web';\n"}
    )
    summary = {"by_rule": {"ort-version": 1, "jsep-import": 2}, "versions": "`.`: `^1.22.0`"}
    assert audit(service) == AuditOutcome("updated", 3, number, summary)
    github.set_branch(REPO, "main", {"package.json": GOOD_MANIFEST, "src/model.js": FIXED})
    assert audit(service).action == "closed"
    assert github.repo(REPO).issues[number]["state"] == "closed"
    assert github.repo(REPO).issue_comments[-1]["body"].startswith("The audit of")
    github.set_branch(REPO, "main", {"package.json": GOOD_MANIFEST, "src/model.js": MODEL})
    assert audit(service).action == "reopened" and github.repo(REPO).issues[number]["state"] == "open"
    assert len(issues(github)) == 1


def test_the_issue_is_found_by_its_marker_when_the_store_forgot_it(service, github) -> None:
    """A fresh store (another host, a wiped disk): the standing issue is found by its marker, not re-created."""
    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    number = audit(service).issue
    github.repo(REPO).issues[number]["title"] = "renamed by a human"
    service.store.put(f"audit:{REPO}", "{}")
    github.set_branch(
        REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL, "x.js": "import 'onnxruntime-web';\n"}
    )
    assert audit(service).issue == number and len(issues(github)) == 1


def test_a_repository_without_onnxruntime_web_is_cheap(service, github) -> None:
    """The tree by branch name and one batch for its package.json and HTML files: two calls the first time,
    one (answered 304, free) the second."""
    files = {
        "package.json": '{"dependencies": {"react": "^18"}}',
        "web/package.json": "{}",
        "web/index.html": "<p>hi</p>\n",
    }
    files.update({f"src/f{i}.js": f"export const v = {i};\n" for i in range(200)})
    github.set_branch(REPO, "main", files)
    outcome = audit(service)
    assert outcome.action == "clean" and issues(github) == []
    reads = [p for m, p in github.calls if "access_tokens" not in p]
    assert reads == [f"/repos/{REPO}/git/trees/main", "/graphql"]  # package.json files and HTML in one query
    audit(service)
    assert len(github.calls) == len(reads) + 2 and github.not_modified == 1


def test_a_repository_without_package_json_reads_only_its_html(service, github) -> None:
    """A static site: the HTML is read (CDN script tags); its JS is not."""
    files = {
        "index.html": '<script src="https://cdn.jsdelivr.net/npm/onnxruntime-web@1.20.1/dist/ort.min.js"></script>\n<script>ort.InferenceSession.create("m", {executionProviders: ["webgpu"]})</script>\n'
    }
    files.update({f"js/f{i}.js": f"export const v = {i};\n" for i in range(50)})
    github.set_branch(REPO, "main", files)
    outcome = audit(service)
    assert outcome.action == "opened" and outcome.findings == 1
    assert github.count("POST", "/graphql") == 1


def test_a_second_audit_of_a_changed_repository_reads_only_new_blobs(service, github) -> None:
    """Blob SHAs that once mentioned nothing are never fetched again."""
    files = {
        "package.json": MANIFEST,
        "src/model.js": MODEL,
        **{f"src/f{i}.js": f"export const v = {i};\n" for i in range(60)},
    }
    github.set_branch(REPO, "main", files)
    audit(service)
    github.set_branch(REPO, "main", {**files, "src/new.js": "export const n = 1;\n"})
    github.graphql_queries = 0
    audit(service)
    assert github.graphql_queries == 2  # the manifests, then model.js and new.js; never the 60 unchanged blobs


def test_audit_off_archived_and_forks_write_nothing(service, github) -> None:
    github.set_branch(
        REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL, ".github/ortfix.yml": "audit: off\n"}
    )
    assert audit(service).action == "off"
    client = service.app.installation(42)
    assert audit_repository(client, service.store, RepoInfo(REPO, "main", archived=True), WEB).action == "skipped"
    assert audit_repository(client, service.store, RepoInfo(REPO, "main", fork=True), WEB).action == "skipped"
    assert issues(github) == [] and writes(github) == []


def test_a_repository_that_keeps_failing_backs_off(service, github) -> None:
    """The first failure retries next week; the second skips a week; the third skips three."""
    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    clock = {"now": 1_000_000.0}
    service.store.clock = lambda: clock["now"]
    for _ in range(2):
        github.fail("GET", "/git/trees/", 404)
        with pytest.raises(GitHubError):
            audit(service)
    assert audit(service).action == "waiting"
    clock["now"] += 7 * 24 * 3600 + 1
    github.fail("GET", "/git/trees/", 404)
    with pytest.raises(GitHubError):
        audit(service)
    clock["now"] += 2 * 7 * 24 * 3600
    assert audit(service).action == "waiting"
    clock["now"] += 7 * 24 * 3600 + 1
    assert audit(service).action == "opened"


def test_two_workers_never_audit_one_repository_at_once(service, github) -> None:
    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    assert service.store.acquire(f"audit-lock:{REPO}", 60)
    with pytest.raises(Busy):
        audit(service)


def test_pacing_stays_inside_the_rate_limit() -> None:
    """Within the budget audits start MIN_SPACING apart; beyond it they spread to at most the hourly limit."""
    assert pacing(3, 5000) == [0.0, MIN_SPACING, 2 * MIN_SPACING]
    delays = pacing(2000, 4000)
    assert delays == sorted(delays)
    started_in_first_hour = sum(1 for d in delays if d < 3600)
    assert started_in_first_hour * CALLS_PER_REPO <= 4000 + 5000 - 1000
    assert delays[-1] < 6 * 3600  # a 2,000-repository org finishes within hours, never fails


def test_the_weekly_fan_out_queues_each_repository_once_with_two_consumers_on_redis(
    settings, github, redis_url
) -> None:
    """Two services (two consumers) on one real Redis both fire the weekly task: each repository is queued once."""
    for name in ("octo-org/a", "octo-org/b", "octo-org/c"):
        github.set_branch(name, "main", {"README.md": "x\n"})
    github.repo("octo-org/c").archived = True
    shared = dataclasses.replace(settings, redis_url=redis_url)
    first, second = build(shared, store=RedisStore(redis_url)), build(shared, store=RedisStore(redis_url))
    first.audit_week()
    second.audit_week()
    audits = []
    for service in (first, second):  # each consumer runs what it takes off the shared queue
        while (task := service.huey.dequeue()) is not None:
            if task.name == "audit_repo":
                audits.append(task.args[1]["full_name"])
            else:
                service.huey.execute(task)
    audits += [t.args[1]["full_name"] for t in first.huey.scheduled() if t.name == "audit_repo"]
    assert sorted(audits) == ["octo-org/a", "octo-org/b"]


def test_new_installations_are_audited_right_away_once(service, github) -> None:
    for name in ("octo-org/a", "octo-org/b"):
        github.set_branch(name, "main", {"README.md": "x\n"})
    assert fan_out_audits(service, 42, only=["octo-org/a"]) == 1
    assert fan_out_audits(service, 42, only=["octo-org/a"]) == 0
    (task,) = service.huey.pending() + service.huey.scheduled()
    assert task.args == (42, {"full_name": "octo-org/a", "default_branch": "main", "archived": False, "fork": False})


@pytest.fixture
def cli_env(private_key, tmp_path, monkeypatch) -> None:
    """The settings `ortfix audit` reads, for an app installed on the fake GitHub; the database in tmp_path."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "APP_ID": "1",
        "PRIVATE_KEY": private_key,
        "WEBHOOK_SECRET": "s",
        "ORTFIX_DB": str(tmp_path / "o.db"),
        "ORTFIX_GITHUB_DELAY": "0",
    }.items():
        monkeypatch.setenv(name, value)


def test_the_audit_command_prints_and_writes_only_when_asked(cli_env, github, tmp_path, monkeypatch, capsys) -> None:
    """`ortfix audit OWNER/REPO` prints the table and writes nothing; with --write the issue is opened."""
    from bot.cli.commands import main

    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    assert main(["audit", REPO]) == 1
    out = capsys.readouterr().out
    assert f"| {REPO} | would-write | 2 | jsep-import ×1, ort-version ×1 |" in out and "Nothing was written" in out
    assert issues(github) == []
    monkeypatch.setenv("ORTFIX_DB", str(tmp_path / "fresh.db"))
    assert main(["audit", "--all", "--write"]) == 1
    assert len(issues(github)) == 1 and "Issues were written." in capsys.readouterr().out
    assert main(["audit"]) == 2


def test_the_audit_command_waits_for_a_running_audit_then_gives_up_in_a_sentence(
    cli_env, github, tmp_path, monkeypatch, capsys
) -> None:
    """The worker audits the repository right now: `ortfix audit` waits for its lock instead of a Busy traceback,
    and after a lease without it says so."""
    import threading

    from bot.adapters.store import SqliteStore
    from bot.cli.commands import main

    monkeypatch.setenv("ORTFIX_LEASE_SECONDS", "2")
    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    worker = SqliteStore(str(tmp_path / "o.db"))
    owner = worker.acquire(f"audit-lock:{REPO}", 60)
    assert owner
    threading.Timer(0.5, worker.release, (f"audit-lock:{REPO}", owner)).start()
    assert main(["audit", REPO, "--write"]) == 1 and len(issues(github)) == 1
    assert worker.acquire(f"audit-lock:{REPO}", 60)
    assert main(["audit", REPO, "--write"]) == 1
    assert capsys.readouterr().err == f"ortfix: {REPO}: another audit still runs; try again when it ends\n"


def test_a_config_that_ignores_paths_is_applied_before_the_issue(service, github) -> None:
    """ignore globs and min_version from the repo config shape the issue (re-scanned in memory, no refetch)."""
    files = {
        "package.json": MANIFEST,
        "src/model.js": MODEL,
        "vendor/old.js": MODEL,
        ".github/ortfix.yml": "ignore: [vendor/]\nmin_version: 1.29.0\n",
    }
    github.set_branch(REPO, "main", files)
    audit(service)
    (issue,) = issues(github)
    assert "vendor/old.js" not in issue["body"] and "^1.29.0" in issue["body"]


def test_an_installation_webhook_audits_its_repositories(service, github) -> None:
    """installation.created (GitHub's example, edited to our repositories) → each repository audited once."""
    import json

    from bot.core import events
    from bot.service.queue import run_delivery
    from tests.conftest import example

    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    payload = example("installation/created.payload.json")
    payload["installation"]["id"] = 42
    payload["repositories"] = [{"id": 1, "name": "web-app", "full_name": REPO, "private": False}]
    body = json.dumps(payload).encode()
    assert service.store.accept("i-1", "installation", "created", body)
    run_delivery(service, "i-1")
    while (task := service.huey.dequeue()) is not None:
        service.huey.execute(task)
    for task in service.huey.scheduled():
        service.huey.execute(task, timestamp=task.eta)
    assert len(issues(github)) == 1
    assert events.parse("installation", "x", body).installation_id == 42


def test_the_org_issue_lists_affected_repositories_and_a_tick_opens_a_fix_pull(service, github) -> None:
    """One issue in the org's .github repository; ticking a box (an issues.edited event) opens that repo's fix PR."""
    import json

    from bot.core import events
    from bot.jobs.audit import write_org_issue
    from bot.service import routing
    from bot.service.queue import run_delivery
    from tests.conftest import example

    github.set_branch(REPO, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    github.set_branch("octo-org/clean", "main", {"README.md": "x\n"})
    github.set_branch("octo-org/.github", "main", {"README.md": "org\n"})
    audit(service)
    audit(service, "octo-org/clean")
    client = service.app.installation(42)
    names = [REPO, "octo-org/clean", "octo-org/.github"]
    number = write_org_issue(client, service.store, "octo-org", names, WEB)
    assert write_org_issue(client, service.store, "octo-org", names, WEB) == number  # updated in place
    org_issue = github.repo("octo-org/.github").issues[number]
    assert f"- [ ] **{REPO}**: 2 finding(s)" in org_issue["body"] and "octo-org/clean" not in org_issue["body"]
    assert write_org_issue(client, service.store, "elsewhere", ["elsewhere/app"], WEB) is None  # no .github repository

    # GitHub's examples have no issues.edited; its issue_comment.edited carries the same issue, repository and
    # changes shapes, so that payload is edited into one (without the comment)
    payload = example("issue_comment/edited.payload.json")
    del payload["comment"]
    payload["issue"].update({"number": number, "body": org_issue["body"].replace("- [ ]", "- [x]")})
    payload["changes"] = {"body": {"from": org_issue["body"]}}
    payload["repository"].update({"full_name": "octo-org/.github", "default_branch": "main"})
    payload["sender"].update({"login": "lead", "type": "User"})
    payload["installation"] = {"id": 42}
    body = json.dumps(payload).encode()
    assert routing.route(events.parse("issues", "t", body)) == routing.ORG_TICK
    github.repo(REPO).permissions["lead"] = "maintain"
    service.store.accept("t-1", "issues", "edited", body)
    run_delivery(service, "t-1")
    assert [p.head_ref for p in github.pulls.values()] == ["ortfix/webgpu"]
    untick = {**payload, "changes": {"body": {"from": payload["issue"]["body"]}}}
    assert routing.route(events.parse("issues", "u", json.dumps(untick).encode())) is None


def test_mixed_entry_is_a_sentence_in_the_issue_not_a_row(service, github) -> None:
    """The `/webgpu` file needs no change: no row for it, one sentence after the table; the org view counts no mixed-entry."""
    github.set_branch(REPO, "main", {"package.json": GOOD_MANIFEST, "src/model.js": MODEL, "src/gpu.js": FIXED})
    outcome = audit(service)
    (issue,) = issues(github)
    assert "src/gpu.js" not in issue["body"] and "`mixed-entry`" not in issue["body"]
    assert issue["body"].count("fixing the 1 load above also removes the second `ort` instance") == 1
    assert outcome.summary["by_rule"] == {"jsep-import": 1}


def test_a_page_reaches_its_import_map_through_files_read_before(service, github) -> None:
    """A module with nothing to find is not fetched again, but the files it imports still belong to its page."""
    page = (
        '<script type="importmap">\n'
        '{ "imports": { "onnxruntime-web": "https://esm.sh/onnxruntime-web@1.30.0/webgpu" } }\n'
        '</script>\n<script type="module" src="./app.js"></script>\n'
    )
    files = {"index.html": page, "app.js": "import './lib/model.js';\n", "lib/model.js": MODEL}
    sha = github.set_branch(REPO, "main", files)
    client = service.app.installation(42)
    first = scan_commit(client, service.store, REPO, sha, RepoConfig())
    second = scan_commit(client, service.store, REPO, sha, RepoConfig())
    assert "app.js" not in second.texts  # not fetched again
    assert first.report.findings == second.report.findings == []
