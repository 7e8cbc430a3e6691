"""`/ortfix` and fix pull requests against the fake GitHub, from GitHub's own issue_comment and push examples."""

from __future__ import annotations

import json
import textwrap

import pytest

from bot.adapters.package_managers import NON_REGISTRY, NOT_RUN, UNRESOLVED, RefreshFailed, refresh
from bot.core import events, markdown, render
from bot.core.repo_config import RepoConfig
from bot.jobs.fix_commits import FIX_BRANCH, ensure_fix_pull, fix_pull_request, plan
from bot.service import routing
from bot.service.queue import run_delivery
from tests.conftest import example
from tests.fake_github import APP_LOGIN, GRAPHQL_ERRORS, PullRequest

REPO = "octo-org/web-app"
MANIFEST = '{\n  "dependencies": {\n    "onnxruntime-web": "^1.22.0"\n  }\n}\n'
LOCK = (
    '{\n  "lockfileVersion": 3,\n  "packages": {\n    "node_modules/onnxruntime-web": {"version": "1.22.0"}\n  }\n}\n'
)
MODEL = "import * as ort from 'onnxruntime-web';\nexport const s = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"
SETUP = "ort.env.wasm.wasmPaths = { wasm: '/ort-wasm-simd-threaded.jsep.wasm' };\n"
WORKFLOW = "steps:\n  - run: node -e \"require('onnxruntime-web')\" # webgpu\n"


def fake_refresher(lockfile: str, files: dict[str, bytes], managers=None) -> bytes:
    """A recorded result: what `npm install --package-lock-only` wrote for ^1.30.0."""
    assert json.loads(files["package.json"])["dependencies"]["onnxruntime-web"] == "^1.30.0"
    return LOCK.replace("1.22.0", "1.30.0").encode()


@pytest.fixture(autouse=True)
def recorded_npm(monkeypatch):
    monkeypatch.setattr("bot.jobs.fix_commits.refresh", fake_refresher)


def make_pull(github, **extra) -> PullRequest:
    base = {
        "package.json": MANIFEST,
        "package-lock.json": LOCK,
        "src/setup.js": SETUP,
        ".github/workflows/ci.yml": WORKFLOW,
    }
    head = {**base, "src/model.js": MODEL}
    github.repo(REPO).refs["main"] = github.add_commit(base)
    github.repo(REPO).permissions["author"] = "write"  # who pushed the branch to the repository
    return github.add_pull(PullRequest(REPO, 31, base=base, head=head, head_ref="feature", author="author", **extra))


def comment_payload(body: str, user: str = "author", on_pull: bool = True, number: int = 31) -> dict:
    payload = example("issue_comment/created.on-pull-request.pytorch-test-infra.json")
    owner, name = REPO.split("/")
    payload["repository"].update({"full_name": REPO, "name": name, "default_branch": "main"})
    payload["repository"]["owner"]["login"] = owner
    payload["issue"].update({"number": number})
    payload["issue"]["user"]["login"] = "author"
    if not on_pull:
        del payload["issue"]["pull_request"]
    payload["comment"].update({"body": body, "id": 890173751})
    payload["comment"]["user"]["login"] = user
    payload["installation"] = {"id": 42}
    return payload


def deliver(service, name: str, payload: dict, delivery: str = "c-1") -> None:
    event = events.parse(name, delivery, json.dumps(payload).encode())
    assert routing.route(event) is not None
    assert service.store.accept(delivery, name, event.action, json.dumps(payload).encode())
    run_delivery(service, delivery)


def replies(github) -> list[str]:
    return [c["body"] for c in github.repo(REPO).issue_comments]


def test_ortfix_commits_every_fix_in_one_commit(service, github) -> None:
    """The import, the asset and the range (with its lockfile) in one commit on the PR's branch; workflows untouched."""
    pull = make_pull(github)
    old_head = pull.head_sha
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    new_head = github.repo(REPO).refs["feature"]
    commit = github.commits[new_head]
    assert commit.parents == [old_head] and commit.author == APP_LOGIN
    assert render.COMMIT_TRAILER in commit.message
    assert "'onnxruntime-web/webgpu'" in commit.files["src/model.js"]
    assert "ort-wasm-simd-threaded.asyncify.wasm" in commit.files["src/setup.js"]
    assert '"onnxruntime-web": "^1.30.0"' in commit.files["package.json"]
    assert '"version": "1.30.0"' in commit.files["package-lock.json"]
    assert commit.files[".github/workflows/ci.yml"] == WORKFLOW
    assert github.count("POST", "/git/commits$") == 1
    (reply,) = replies(github)
    assert f"https://github.com/{REPO}/commit/{new_head}" in reply and "`feature`" in reply
    assert [r for _, r in github.repo(REPO).reactions] == ["eyes", "rocket"]


def test_with_graphql_down_ortfix_still_commits_every_fix(service, github) -> None:
    """GraphQL answering with `errors` on every try: the files come over REST; the same one commit lands."""
    old_head = make_pull(github).head_sha
    github.fail("POST", "/graphql", GRAPHQL_ERRORS, times=50)
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    commit = github.commits[github.repo(REPO).refs["feature"]]
    assert commit.parents == [old_head] and github.count("POST", "/git/commits$") == 1
    assert "'onnxruntime-web/webgpu'" in commit.files["src/model.js"]
    assert '"onnxruntime-web": "^1.30.0"' in commit.files["package.json"]
    assert github.count("GET", "/git/blobs/") > 0


def test_a_second_ortfix_finds_nothing_and_says_so(service, github) -> None:
    make_pull(github)
    deliver(service, "issue_comment", comment_payload("/ortfix"), "c-1")
    deliver(service, "issue_comment", comment_payload("/ortfix fix"), "c-2")
    assert github.count("POST", "/git/commits$") == 1
    assert replies(github)[-1].startswith("ortfix found nothing to fix")


def test_a_redelivered_command_is_answered_once(service, github) -> None:
    """GitHub's Redeliver of a finished delivery, and the same comment in a new delivery: one answer."""
    make_pull(github)
    deliver(service, "issue_comment", comment_payload("/ortfix"), "c-1")
    run_delivery(service, "c-1")
    event_body = json.dumps(comment_payload("/ortfix")).encode()
    service.store.accept("c-9", "issue_comment", "created", event_body)
    run_delivery(service, "c-9")
    assert len(replies(github)) == 1


@pytest.mark.parametrize("role", ["read", "triage", None])
def test_people_without_write_access_are_refused_politely(service, github, role) -> None:
    """read, triage or an outside commenter: a short reply, and nothing changes."""
    pull = make_pull(github)
    if role:
        github.repo(REPO).permissions["visitor"] = role
    deliver(service, "issue_comment", comment_payload("/ortfix", user="visitor"))
    assert github.repo(REPO).refs["feature"] == pull.head_sha
    assert replies(github) == [render.REFUSED.format(user="visitor")]


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
def test_people_with_write_access_are_served(service, github, role) -> None:
    pull = make_pull(github)
    github.repo(REPO).permissions["maintainer"] = role
    deliver(service, "issue_comment", comment_payload("/ortfix", user="maintainer"))
    assert github.repo(REPO).refs["feature"] != pull.head_sha


def test_the_branch_moving_meanwhile_is_retried_once_on_the_new_head(service, github) -> None:
    """Someone pushes between ortfix's read and its ref update: the non-forced update fails, the retry lands."""
    pull = make_pull(github)
    original = github._create_commit
    pushed = []

    def push_first(repo, query, body):
        if not pushed:  # a human pushes just before ortfix's first commit lands
            pushed.append(github.set_branch(REPO, "feature", {**pull.head, "README.md": "hi\n"}))
            pull.head = dict(github.commits[pushed[0]].files)
            github.commits[pull.head_sha] = github.commits[pushed[0]]
        return original(repo, query, body)

    github.routes = [(m, p, push_first if h == original else h) for m, p, h in github.routes]
    result = fix_pull_request(service.app.installation(42), service.store, REPO, 31, RepoConfig())
    head = github.commits[github.repo(REPO).refs["feature"]]
    assert result.commit == github.repo(REPO).refs["feature"]
    assert head.files["README.md"] == "hi\n" and "'onnxruntime-web/webgpu'" in head.files["src/model.js"]
    assert github.count("PATCH", "/git/refs/heads/feature") == 2


@pytest.mark.parametrize(
    ("fork_owner", "can_modify", "pushed"),
    [("User", True, True), ("User", False, False), ("Organization", True, False)],
)
def test_forks(service, github, fork_owner: str, can_modify: bool, pushed: bool) -> None:
    """A user-owned fork that allows edits gets the commit; otherwise the author gets the diff and a review."""
    pull = make_pull(github, head_repo="someone/web-app", fork_owner_type=fork_owner, maintainer_can_modify=can_modify)
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    fork_head = github.repo("someone/web-app").refs["feature"]
    assert (fork_head != pull.head_sha) is pushed
    if not pushed:
        (reply,) = replies(github)
        assert "```diff\n" in reply and "+import * as ort from 'onnxruntime-web/webgpu';" in reply
        assert len(pull.reviews) == 1  # the one-click suggestions


def test_a_lockfile_that_cannot_be_refreshed_keeps_its_range(service, github, monkeypatch) -> None:
    """npm missing or failing: the range stays, the rest is committed, and the reply says what to run."""

    def broken(lockfile, files, managers=None):
        raise RefreshFailed("npm install --package-lock-only", "npm is not installed on the ortfix server")

    monkeypatch.setattr("bot.jobs.fix_commits.refresh", broken)
    make_pull(github)
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    commit = github.commits[github.repo(REPO).refs["feature"]]
    assert commit.files["package.json"] == MANIFEST and commit.files["package-lock.json"] == LOCK
    assert "'onnxruntime-web/webgpu'" in commit.files["src/model.js"]
    assert "npm install --package-lock-only" in replies(github)[0]


def test_an_outsider_who_opened_a_pull_request_from_an_upstream_branch_is_refused(service, github) -> None:
    """Authorship is not write access: a PR from `release` in the repository itself gets no commit from its author."""
    pull = make_pull(github)
    del github.repo(REPO).permissions["author"]  # opened the PR, but cannot push to the repository
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    assert github.repo(REPO).refs["feature"] == pull.head_sha and github.count("POST", "/git/commits$") == 0
    assert replies(github) == [render.REFUSED.format(user="author")]


@pytest.mark.parametrize(("fork", "served"), [("author/web-app", True), ("someone/web-app", False)])
def test_authorship_counts_only_for_the_authors_own_fork(service, github, fork: str, served: bool) -> None:
    """The author of a PR from their own fork is served without write access; from someone else's fork, not."""
    pull = make_pull(github, head_repo=fork, maintainer_can_modify=True)
    del github.repo(REPO).permissions["author"]
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    assert (github.repo(fork).refs["feature"] != pull.head_sha) is served
    assert (replies(github) == [render.REFUSED.format(user="author")]) is not served


def test_write_access_is_asked_each_time_the_command_runs(service, github) -> None:
    """Access revoked after a first /ortfix: the next one is refused."""
    make_pull(github)
    deliver(service, "issue_comment", comment_payload("/ortfix"), "c-1")
    github.repo(REPO).permissions["author"] = "read"
    payload = comment_payload("/ortfix fix")
    payload["comment"]["id"] += 1
    deliver(service, "issue_comment", payload, "c-2")
    assert replies(github)[-1] == render.REFUSED.format(user="author")
    assert github.count("GET", "/collaborators/author/permission") == 2


def test_no_package_manager_runs_for_a_change_ortfix_cannot_push(service, github, monkeypatch) -> None:
    """A fork without maintainer edits: the plan never calls the refresher; the reply says what to run."""
    ran = []
    monkeypatch.setattr("bot.jobs.fix_commits.refresh", lambda *args: ran.append(args))
    make_pull(github, head_repo="author/web-app", maintainer_can_modify=False)
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    assert ran == []
    (reply,) = replies(github)
    assert "`npm install --package-lock-only`" in reply and NOT_RUN in reply
    assert '-    "onnxruntime-web": "^1.22.0"' not in reply  # the range is left out of the patch


def test_package_manager_output_reaches_the_reply_only_in_a_code_block(service, github, monkeypatch) -> None:
    """The fixed reason as text; the tool's own words, backticks and mentions included, fenced and escaped."""
    detail = "npm error ``` @octo-org/admins [x](https://evil.example)\n```\n@everyone"

    def broken(lockfile, files, managers=None):
        raise RefreshFailed("npm install --package-lock-only", UNRESOLVED, detail)

    monkeypatch.setattr("bot.jobs.fix_commits.refresh", broken)
    make_pull(github)
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    (reply,) = replies(github)
    assert UNRESOLVED in reply and "  ````\n  npm error ``` @octo-org/admins" in reply
    outside = reply.replace(textwrap.indent(markdown.block(detail), "  ", lambda _: True), "")
    assert "@octo-org" not in outside and "@everyone" not in outside and "evil.example" not in outside


def test_a_git_dependency_holds_the_range_back_and_the_reply_names_it(service, github, monkeypatch) -> None:
    """The real refresh refuses before running anything; with nothing else to fix, nothing is committed and the
    reply names the dependency and the command to run."""
    monkeypatch.setattr("bot.jobs.fix_commits.refresh", refresh)
    manifest = '{\n  "dependencies": {\n    "onnxruntime-web": "^1.22.0",\n    "x": "github:attacker/x"\n  }\n}\n'
    fixed_model = MODEL.replace("'onnxruntime-web'", "'onnxruntime-web/webgpu'")
    files = {"package.json": manifest, "package-lock.json": LOCK, "src/model.js": fixed_model}
    github.repo(REPO).refs["main"] = github.add_commit(files)
    github.repo(REPO).permissions["author"] = "write"
    pull = github.add_pull(PullRequest(REPO, 31, base=files, head=files, head_ref="feature", author="author"))
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    assert github.repo(REPO).refs["feature"] == pull.head_sha and github.count("POST", "/git/commits$") == 0
    (reply,) = replies(github)
    assert reply.startswith("ortfix committed nothing") and NON_REGISTRY in reply
    assert "package.json: x (github:attacker/x)" in reply and "`npm install --package-lock-only`" in reply


def test_check_and_help_are_rate_limited_per_person_and_per_pull_request(service, github) -> None:
    """Edits or copies of `/ortfix check` within a minute: one review; `help` likewise, from anyone on the PR."""
    pull = make_pull(github)
    for i in range(3):
        payload = comment_payload("/ortfix check", user="visitor")
        payload["comment"]["id"] += i
        deliver(service, "issue_comment", payload, f"c-{i}")
    assert len(pull.reviews) == 1 and github.count("GET", r"/pulls/31$") == 1
    for i, user in enumerate(["visitor", "other"]):
        payload = comment_payload("/ortfix help", user=user)
        payload["comment"]["id"] += 10 + i
        deliver(service, "issue_comment", payload, f"h-{i}")
    assert replies(github) == [render.HELP]


def test_check_reruns_the_review_and_help_answers(service, github) -> None:
    pull = make_pull(github)
    deliver(service, "issue_comment", comment_payload("/ortfix check", user="visitor"), "c-1")
    assert len(pull.reviews) == 1 and github.check_runs
    deliver(service, "issue_comment", comment_payload("/ortfix help", user="visitor"), "c-2")
    assert replies(github) == [render.HELP]


@pytest.mark.expects_failure_log
def test_a_failure_gets_a_confused_reaction_and_a_reply(service, github) -> None:
    make_pull(github)
    github.fail("GET", r"/pulls/31$", 404)
    deliver(service, "issue_comment", comment_payload("/ortfix"))
    assert [r for _, r in github.repo(REPO).reactions] == ["eyes", "confused"]
    assert "GitHub answered 404" in replies(github)[0]


@pytest.mark.expects_failure_log
def test_an_error_that_is_not_githubs_fails_the_delivery_and_is_retried(service, github) -> None:
    """A harness error (the test's GitHub lacks the commit route) is no "could not finish" reply: the retry does it."""
    make_pull(github)
    routes = github.routes
    github.routes = [route for route in routes if route[2] != github._create_commit]
    with pytest.raises(AssertionError, match="no route"):
        deliver(service, "issue_comment", comment_payload("/ortfix"))
    assert replies(github) == [] and [r for _, r in github.repo(REPO).reactions] == ["eyes"]
    assert [v.split(":")[0] for v in github.violations] == [f"POST /repos/{REPO}/git/commits"]
    github.violations.clear()
    github.routes = routes
    run_delivery(service, "c-1")
    assert "'onnxruntime-web/webgpu'" in github.commits[github.repo(REPO).refs["feature"]].files["src/model.js"]
    assert len(replies(github)) == 1


def test_comments_by_bots_and_without_commands_are_not_routed() -> None:
    bot = comment_payload("/ortfix")
    bot["comment"]["user"].update({"login": APP_LOGIN, "type": "Bot"})
    plain = comment_payload("thanks!")
    quoted = comment_payload("> /ortfix\nI wonder what this does")
    for payload in (bot, plain, quoted):
        assert routing.route(events.parse("issue_comment", "x", json.dumps(payload).encode())) is None


def test_an_edit_that_keeps_the_command_is_not_a_new_command() -> None:
    """Fixing a typo in a comment that already said /ortfix does not run it again; adding it does."""
    payload = comment_payload("/ortfix\nthanks!")
    payload["action"] = "edited"
    payload["changes"] = {"body": {"from": "/ortfix\nthanx"}}
    assert routing.route(events.parse("issue_comment", "x", json.dumps(payload).encode())) is None
    payload["changes"] = {"body": {"from": "thanks!"}}
    assert routing.route(events.parse("issue_comment", "x", json.dumps(payload).encode())) == routing.COMMAND


# --- the fix pull request ---------------------------------------------------------------------------------


def default_branch(github, files: dict[str, str] | None = None) -> str:
    base = files or {"package.json": MANIFEST, "package-lock.json": LOCK, "src/model.js": MODEL, "src/setup.js": SETUP}
    return github.set_branch(REPO, "main", base)


def push_payload() -> dict:
    payload = example("push/with-installation.payload.json")
    payload["repository"].update({"full_name": REPO, "default_branch": "main"})
    payload.update({"ref": "refs/heads/main", "deleted": False})
    payload["installation"] = {"id": 42}
    return payload


def fix_pulls(github) -> list[PullRequest]:
    return [p for p in github.pulls.values() if p.head_ref == FIX_BRANCH]


def test_ortfix_on_an_issue_opens_one_fix_pull_request(service, github) -> None:
    default_branch(github)
    github.repo(REPO).permissions["maintainer"] = "write"
    deliver(service, "issue_comment", comment_payload("/ortfix", user="maintainer", on_pull=False, number=5))
    (pull,) = fix_pulls(github)
    assert pull.labels == ["ortfix"] and pull.state == "open"
    assert "'onnxruntime-web/webgpu'" in pull.head["src/model.js"]
    assert "microsoft/onnxruntime#32578" in pull.body and "How to verify" in pull.body
    assert replies(github) == [render.FIX_PULL_OPENED.format(number=pull.number)]


def test_a_push_opens_the_fix_pull_request_only_where_the_config_opts_in(service, github) -> None:
    default_branch(github)
    deliver(service, "push", push_payload(), "p-1")
    assert fix_pulls(github) == []
    github.contents[(REPO, ".github/ortfix.yml")] = "fix_prs: true\n"
    service.store.put(f"config:{REPO}", "")  # the cached config expires
    deliver(service, "push", {**push_payload(), "after": "b" * 40}, "p-2")  # the next push
    assert len(fix_pulls(github)) == 1


def client_and_config(service):
    return service.app.installation(42), RepoConfig(fix_prs=True)


def test_no_duplicate_and_kept_current_as_the_default_branch_moves(service, github) -> None:
    """A re-run changes nothing; a new commit on main rebuilds the branch on it; the PR is the same one."""
    client, config = client_and_config(service)
    default_branch(github)
    first = ensure_fix_pull(client, service.store, REPO, "main", config)
    again = ensure_fix_pull(client, service.store, REPO, "main", config)
    assert (first.action, again.action) == ("opened", "unchanged") and len(fix_pulls(github)) == 1
    files = {**github.branch_files(REPO, "main"), "README.md": "news\n"}
    github.set_branch(REPO, "main", files)
    moved = ensure_fix_pull(client, service.store, REPO, "main", config)
    assert moved == type(first)("updated", first.number)
    assert github.branch_files(REPO, FIX_BRANCH)["README.md"] == "news\n"


def test_closed_when_the_findings_are_gone(service, github) -> None:
    client, config = client_and_config(service)
    default_branch(github)
    opened = ensure_fix_pull(client, service.store, REPO, "main", config)
    github.set_branch(REPO, "main", github.branch_files(REPO, FIX_BRANCH))  # the fix was merged by hand
    closed = ensure_fix_pull(client, service.store, REPO, "main", config)
    assert closed.action == "closed" and github.pulls[(REPO, opened.number)].state == "closed"
    assert FIX_BRANCH not in github.repo(REPO).refs


def test_a_pull_request_a_human_closed_stays_closed(service, github) -> None:
    """Closed without merging: not reopened while the findings are the same; a new finding brings it back."""
    client, config = client_and_config(service)
    default_branch(github)
    opened = ensure_fix_pull(client, service.store, REPO, "main", config)
    github.pulls[(REPO, opened.number)].state = "closed"
    assert ensure_fix_pull(client, service.store, REPO, "main", config).action == "respected-close"
    files = {**github.branch_files(REPO, "main"), "src/more.js": "import 'onnxruntime-web';\n"}
    github.set_branch(REPO, "main", files)
    assert ensure_fix_pull(client, service.store, REPO, "main", config).action == "opened"


def test_a_branch_a_human_pushed_to_is_left_alone(service, github) -> None:
    client, config = client_and_config(service)
    default_branch(github)
    ensure_fix_pull(client, service.store, REPO, "main", config)
    human = github.set_branch(REPO, FIX_BRANCH, {**github.branch_files(REPO, FIX_BRANCH), "NOTE.md": "mine\n"})
    github.set_branch(REPO, "main", {**github.branch_files(REPO, "main"), "README.md": "news\n"})
    assert ensure_fix_pull(client, service.store, REPO, "main", config).action == "human-pushed"
    assert github.repo(REPO).refs[FIX_BRANCH] == human


def test_a_workspace_member_gets_the_root_lockfile_refreshed(service, github) -> None:
    """The member's own stale lockfile is what npm ignores: the root lockfile is the one regenerated."""
    refreshed = []

    def record(lockfile: str, files: dict[str, bytes]) -> bytes:
        refreshed.append(lockfile)
        return files[lockfile]

    sha = github.set_branch(
        REPO,
        "main",
        {
            "package.json": '{ "private": true, "workspaces": ["packages/*"] }\n',
            "package-lock.json": LOCK,
            "packages/app/package.json": MANIFEST,
            "packages/app/package-lock.json": LOCK.replace("1.22.0", "1.20.1"),
            "packages/app/src/model.js": MODEL,
        },
    )
    fix = plan(service.app.installation(42), service.store, REPO, sha, RepoConfig(), refresher=record)
    assert refreshed == ["package-lock.json"]
    assert "packages/app/package-lock.json" not in fix.files


def test_a_lockfile_that_does_not_name_the_package_yet_is_still_refreshed(service, github) -> None:
    """The package manager's lockfile is the one to refresh whatever it holds (and its refresher checks run)."""
    refreshed = []

    def record(lockfile: str, files: dict[str, bytes]) -> bytes:
        refreshed.append(lockfile)
        return files[lockfile]

    files = {"package.json": MANIFEST, "package-lock.json": '{ "lockfileVersion": 3, "packages": {} }\n'}
    sha = github.set_branch(REPO, "main", {**files, "src/model.js": MODEL})
    plan(service.app.installation(42), service.store, REPO, sha, RepoConfig(), refresher=record)
    assert refreshed == ["package-lock.json"]
