"""The PR review job against the fake GitHub: one review, suggestions on the right lines, a check run, no repeats."""

from __future__ import annotations

import pytest

from bot.adapters.store import Busy, SqliteStore
from bot.core import render
from bot.jobs.review import MAX_INLINE, PullRequest, review_pull_request
from tests.conftest import pull_request_payload
from tests.fake_github import FakeGitHub
from tests.fake_github import PullRequest as FakePull

REPO = "octo-org/web-app"
MANIFEST = '{\n  "dependencies": {\n    "onnxruntime-web": "^1.30.0"\n  }\n}\n'
SESSION = "export const open = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"
APP = "import { helper } from './helper';\n\nexport function run() {\n  return helper();\n}\n"


def make_pull(
    github: FakeGitHub, head: dict[str, str], base: dict[str, str] | None = None, number: int = 7, **extra
) -> FakePull:
    base = {"package.json": MANIFEST, "src/app.js": APP} if base is None else base
    return github.add_pull(FakePull(REPO, number, base=base, head={**base, **head}, **extra))


def review(service, github: FakeGitHub, pull: FakePull, draft: bool = False):
    client = service.app.installation(42)
    pr = PullRequest(REPO, pull.number, pull.head_sha, "main", draft)
    return client, review_pull_request(client, service.store, pr)


def apply_suggestions(text: str, comments: list[dict], path: str) -> str:
    """What GitHub's "Commit suggestion" does: the commented line's content replaced, its line ending kept."""
    lines = text.split("\n")
    for comment in comments:
        if comment["path"] == path and "```suggestion\n" in comment["body"]:
            suggested = comment["body"].split("```suggestion\n", 1)[1].split("\n```", 1)[0]
            ending = "\r" if lines[comment["line"] - 1].endswith("\r") else ""
            lines[comment["line"] - 1] = suggested + ending
    return "\n".join(lines)


def test_one_review_with_a_suggestion_on_the_added_import(service, github) -> None:
    """The new bare import gets one inline comment whose suggestion, applied, is the fixed line."""
    head = "import * as ort from 'onnxruntime-web';\n" + SESSION
    pull = make_pull(github, {"src/model.js": head})
    _, outcome = review(service, github, pull)
    assert github.count("POST", r"/reviews$") == 1
    assert [(c["path"], c["line"], c["side"]) for c in pull.comments] == [("src/model.js", 1, "RIGHT")]
    fixed = apply_suggestions(head, pull.comments, "src/model.js")
    assert fixed == "import * as ort from 'onnxruntime-web/webgpu';\n" + SESSION
    assert "microsoft/onnxruntime#32578" in pull.comments[0]["body"]
    assert outcome.inline == 1 and outcome.conclusion == "failure"


def test_the_check_run_completes_with_annotations(service, github) -> None:
    """in_progress first, then completed/failure with one annotation per finding and a summary."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    review(service, github, pull)
    (run,) = github.check_runs.values()
    assert run["name"] == "ortfix" and run["head_sha"] == pull.head_sha
    assert github.check_statuses[run["id"]][-2:] == ["in_progress", "completed"]
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert [(a["path"], a["start_line"], a["annotation_level"]) for a in run["annotations"]] == [
        ("src/model.js", 1, "failure")
    ]
    assert "1 error(s)" in run["output"]["title"]


def test_a_redelivery_posts_nothing_new(service, github) -> None:
    """The same event twice: the second run finds its own fingerprints and posts no review."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    review(service, github, pull)
    review(service, github, pull)
    assert github.count("POST", r"/reviews$") == 1
    assert len(pull.comments) == 1
    assert github.count("POST", r"/check-runs$") == 1  # the same commit's check run is updated, not duplicated
    (run_id,) = github.check_runs
    assert github.check_statuses[run_id] == ["in_progress", "completed", "in_progress", "completed"]


def test_a_push_that_fixes_it_resolves_the_stale_thread_and_passes(service, github) -> None:
    """After the fix lands, ortfix's unanswered comment stays with its thread resolved; nothing new, a green check."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    review(service, github, pull)
    (ours,) = pull.comments
    pull.head["src/model.js"] = "import * as ort from 'onnxruntime-web/webgpu';\n" + SESSION
    github.add_pull(pull)
    _, outcome = review(service, github, pull)
    assert pull.comments == [ours] and pull.resolved == {ours["id"]} and github.count("DELETE") == 0
    assert github.count("POST", r"/reviews$") == 1
    assert outcome.resolved == 1 and outcome.conclusion == "success"
    review(service, github, pull)
    assert github.graphql_queries == 7  # contents, the package; contents, threads, resolve; contents, threads


def test_stale_comments_delete_removes_the_stale_comment(service, github) -> None:
    """`stale_comments: delete` in the repo config: the unanswered comment of a fixed finding is deleted."""
    github.contents[(REPO, ".github/ortfix.yml")] = "stale_comments: delete\n"
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    review(service, github, pull)
    pull.head["src/model.js"] = "import * as ort from 'onnxruntime-web/webgpu';\n" + SESSION
    github.add_pull(pull)
    _, outcome = review(service, github, pull)
    assert pull.comments == [] and pull.resolved == set() and outcome.deleted == 1


def test_stale_comments_delete_leaves_a_thread_someone_answered(service, github) -> None:
    """Even with `stale_comments: delete`, a comment with a reply is neither deleted nor resolved: the talk stays."""
    github.contents[(REPO, ".github/ortfix.yml")] = "stale_comments: delete\n"
    bare = "import * as ort from 'onnxruntime-web';\n" + SESSION
    pull = make_pull(github, {"src/a.js": bare, "src/b.js": bare})
    review(service, github, pull)
    answered, lone = sorted(pull.comments, key=lambda c: c["path"])
    pull.comments.append({"id": 9001, "path": "src/a.js", "line": 1, "body": "why?", "in_reply_to_id": answered["id"]})
    fixed = bare.replace("'onnxruntime-web'", "'onnxruntime-web/webgpu'")
    pull.head.update({"src/a.js": fixed, "src/b.js": fixed})
    github.add_pull(pull)
    _, outcome = review(service, github, pull)
    assert [c["id"] for c in pull.comments] == [answered["id"], 9001] and pull.resolved == set()
    assert outcome.deleted == 1 and lone["id"] not in [c["id"] for c in pull.comments]


def test_several_hunks_crlf_and_a_rename(service, github) -> None:
    """Anchors follow the new file's numbering across hunks, in a CRLF file and a renamed one."""
    long_base = "".join(f"const v{i} = {i};\r\n" for i in range(40))
    long_head = (
        "import * as ort from 'onnxruntime-web';\r\n"
        + long_base[: 20 * 16]
        + "import 'onnxruntime-web';\r\n"
        + long_base[20 * 16 :]
        + SESSION.replace("\n", "\r\n")
    )
    base = {"package.json": MANIFEST, "src/long.js": long_base, "src/old-name.js": APP}
    head = {"src/long.js": long_head, "src/new-name.js": APP + "export * from 'onnxruntime-web';\n"}
    pull = make_pull(github, head, base=base, renames={"src/new-name.js": "src/old-name.js"})
    del pull.head["src/old-name.js"]
    github.add_pull(pull)
    review(service, github, pull)
    anchors = sorted((c["path"], c["line"]) for c in pull.comments)
    added_import = long_head.split("\r\n").index("import 'onnxruntime-web';") + 1
    assert anchors == [("src/long.js", 1), ("src/long.js", added_import), ("src/new-name.js", 6)]
    fixed = apply_suggestions(long_head, pull.comments, "src/long.js")
    assert "'onnxruntime-web';" not in fixed and fixed.count("\r\n") == long_head.count("\r\n")


def test_deleted_and_binary_files_are_never_anchored(service, github) -> None:
    """A removed file is not fetched; a file without a patch is read, and its finding goes in the body."""
    base = {"package.json": MANIFEST, "src/gone.js": "import 'onnxruntime-web';\n" + SESSION, "src/app.js": APP}
    head = {"src/big.js": "import * as ort from 'onnxruntime-web';\n" + SESSION}
    pull = make_pull(github, head, base=base, binary={"src/big.js"})
    del pull.head["src/gone.js"]
    github.add_pull(pull)
    review(service, github, pull)
    assert pull.comments == []
    (posted,) = pull.reviews
    assert "`src/big.js` line 1" in posted["body"]
    assert github.count("POST", "/graphql") == 2 and "src/gone.js" not in str(github.calls)  # the PR's, the package's


def test_more_than_three_hundred_files_are_paginated(service, github) -> None:
    """All pages of the file list are read; only the candidate's blob is fetched."""
    head = {f"docs/page{i}.md": f"page {i}\n" for i in range(320)}
    head["src/model.js"] = "import * as ort from 'onnxruntime-web';\n" + SESSION
    pull = make_pull(github, head)
    review(service, github, pull)
    assert github.count("GET", r"/pulls/7/files") == 4  # 321 files at 100 a page
    assert [(c["path"], c["line"]) for c in pull.comments] == [("src/model.js", 1)]
    assert github.count("POST", "/graphql") == 2  # the PR's files, then the package's other source (src/app.js)


def test_the_call_budget_of_one_review(service, github) -> None:
    """Config (repo, then org), check create, files, tree, contents (one query), the package's other sources (one
    query), own comments and reviews, review, check."""
    import re

    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    client, _ = review(service, github, pull)
    made = [f"{m} {re.sub(r'[0-9a-f]{40}', 'SHA', p)}" for m, p in github.calls if "access_tokens" not in p]
    assert made == [
        f"GET /repos/{REPO}/contents/.github/ortfix.yml",
        "GET /repos/octo-org/.github/contents/.github/ortfix.yml",
        f"POST /repos/{REPO}/check-runs",
        f"GET /repos/{REPO}/pulls/7/files",
        f"GET /repos/{REPO}/git/trees/SHA",
        "POST /graphql",
        "POST /graphql",
        f"GET /repos/{REPO}/pulls/7/comments",
        f"GET /repos/{REPO}/pulls/7/reviews",
        f"POST /repos/{REPO}/pulls/7/reviews",
        f"PATCH /repos/{REPO}/check-runs/1000",
    ]
    assert client.calls == len(made)


def test_no_review_without_findings(service, github) -> None:
    """A PR that does not touch onnxruntime-web gets a green check and no review."""
    pull = make_pull(github, {"src/app.js": APP + "export const x = 1;\n"})
    _, outcome = review(service, github, pull)
    assert pull.reviews == [] and outcome.skipped == "no candidate files" and outcome.conclusion == "success"
    (run,) = github.check_runs.values()
    assert run["conclusion"] == "success"
    assert run["output"]["summary"] == render.CHECK_SUMMARY_CLEAN.format(files=1)
    assert github.count("GET", "/git/trees/") == 0


def test_a_repo_without_package_json_is_reviewed_from_the_file_alone(service, github) -> None:
    """No manifest: the import is still found, and no version finding is invented."""
    pull = make_pull(github, {"index.js": "import * as ort from 'onnxruntime-web';\n" + SESSION}, base={})
    review(service, github, pull)
    assert [(c["path"], c["line"]) for c in pull.comments] == [("index.js", 1)]


def test_cpu_only_code_gets_no_comment(service, github) -> None:
    """Without WebGPU use, the bare import is only a note: no review, a green check."""
    pull = make_pull(
        github, {"src/model.js": "import * as ort from 'onnxruntime-web';\nexport const t = ort.Tensor;\n"}
    )
    _, outcome = review(service, github, pull)
    assert pull.reviews == [] and outcome.conclusion == "success"
    (run,) = github.check_runs.values()
    assert run["output"]["summary"] == render.CHECK_SUMMARY_CLEAN.format(files=1)


def test_a_pull_request_that_only_changes_package_json_is_reviewed(service, github) -> None:
    """A manifest is always a candidate: a range lowered below the native release is a warning, the check neutral."""
    base = {"package.json": MANIFEST, "src/model.js": "import * as ort from 'onnxruntime-web/webgpu';\n" + SESSION}
    lowered = MANIFEST.replace("^1.30.0", "^1.20.0")
    pull = make_pull(github, {"package.json": lowered}, base=base)
    _, outcome = review(service, github, pull)
    assert [(c["path"], c["line"]) for c in pull.comments] == [("package.json", 3)]
    (run,) = github.check_runs.values()
    assert run["conclusion"] == "neutral" and outcome.conclusion == "neutral"
    assert [a["annotation_level"] for a in run["annotations"]] == ["warning"]


def test_a_pull_request_that_only_changes_a_lockfile_is_reviewed(service, github) -> None:
    """A lockfile is always a candidate too: one that now installs a release outside the range is found."""
    lock = '{{"lockfileVersion": 3, "packages": {{"node_modules/onnxruntime-web": {{"version": "{v}"}}}}}}\n'
    source = "import * as ort from 'onnxruntime-web/webgpu';\n" + SESSION
    base = {"package.json": MANIFEST, "package-lock.json": lock.format(v="1.30.0"), "src/model.js": source}
    pull = make_pull(github, {"package-lock.json": lock.format(v="1.20.1")}, base=base)
    _, outcome = review(service, github, pull)
    assert outcome.skipped is None and outcome.conclusion == "failure"
    (run,) = github.check_runs.values()
    assert [(a["path"], a["annotation_level"]) for a in run["annotations"]] == [("package-lock.json", "failure")]


def test_a_package_in_a_subfolder_decides_the_version_of_its_sources(service, github) -> None:
    """The manifest that decides a source is the nearest one above it, read though the PR leaves it alone."""
    base = {"packages/app/package.json": '{"dependencies": {"onnxruntime-web": "1.20.1"}}\n'}
    pull = make_pull(
        github, {"packages/app/src/m.js": "import * as ort from 'onnxruntime-web';\n" + SESSION}, base=base
    )
    review(service, github, pull)
    (comment,) = pull.comments
    assert comment["path"] == "packages/app/src/m.js" and "1.20.1" in comment["body"]


def test_inline_comments_are_capped_and_the_rest_go_in_the_body(service, github) -> None:
    """More findings than the cap: MAX_INLINE inline, the others listed in the review body."""
    lines = "".join(f"import * as ort{i} from 'onnxruntime-web'; // {i}\n" for i in range(MAX_INLINE + 5))
    pull = make_pull(github, {"src/many.js": lines + SESSION})
    _, outcome = review(service, github, pull)
    assert len(pull.comments) == MAX_INLINE
    assert outcome.in_body == 5
    assert len(render.fingerprints_in(pull.reviews[0]["body"])) == 5
    (run,) = github.check_runs.values()
    assert len(run["annotations"]) == MAX_INLINE + 5  # one update carries up to 50
    assert github.count("PATCH", "/check-runs/") == 1


def test_annotations_go_fifty_a_call(service, github) -> None:
    """120 findings: three check run updates, every annotation kept."""
    lines = "".join(f"import * as ort{i} from 'onnxruntime-web'; // {i}\n" for i in range(120))
    pull = make_pull(github, {"src/many.js": lines + SESSION})
    review(service, github, pull)
    (run,) = github.check_runs.values()
    assert len(run["annotations"]) == 120 and github.count("PATCH", "/check-runs/") == 3


def test_a_dry_run_config_posts_nothing(service, github, caplog) -> None:
    """`dry_run: true` on the default branch: no review, no check run, no deletion."""
    github.contents[(REPO, ".github/ortfix.yml")] = "dry_run: true\n"
    lines = "".join(f"import * as ort{i} from 'onnxruntime-web'; // {i}\n" for i in range(MAX_INLINE + 2))
    pull = make_pull(github, {"src/model.js": lines + SESSION})
    with caplog.at_level("INFO", logger="ortfix"):
        _, outcome = review(service, github, pull)
    assert (outcome.inline, outcome.in_body, outcome.deleted) == (MAX_INLINE, 2, 0)
    assert github.count("POST", "^/repos/") == 0 and github.count("PATCH") == 0 and github.count("DELETE") == 0
    assert github.check_runs == {}
    (logged,) = [r for r in caplog.records if r.getMessage() == "review.dry-run"]
    assert (logged.inline, logged.body, logged.stale) == (MAX_INLINE, 2, 0)


def test_a_broken_config_is_reported_in_the_check_and_defaults_apply(service, github) -> None:
    """Invalid YAML: the review still runs with the defaults, and the check summary says what was wrong."""
    github.contents[(REPO, ".github/ortfix.yml")] = "check: [unclosed\n"
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    review(service, github, pull)
    (run,) = github.check_runs.values()
    assert ".github/ortfix.yml is not valid YAML" in run["output"]["summary"]
    assert len(pull.comments) == 1


def test_check_off_makes_no_check_run(service, github) -> None:
    github.contents[(REPO, ".github/ortfix.yml")] = "check: off\n"
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    _, outcome = review(service, github, pull)
    assert github.check_runs == {} and len(pull.comments) == 1 and outcome.conclusion is None


def test_the_org_config_applies_when_the_repo_has_none(service, github) -> None:
    """`{owner}/.github`'s config is the fallback: here it turns reviews off, and the check still runs."""
    github.contents[("octo-org/.github", ".github/ortfix.yml")] = "review: false\ncheck: neutral\n"
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    _, outcome = review(service, github, pull)
    assert pull.reviews == [] and outcome.conclusion == "neutral"


def test_drafts_wait(service, github) -> None:
    """A draft PR is not reviewed and costs no call beyond the token."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    _, outcome = review(service, github, pull, draft=True)
    assert outcome.skipped == "draft" and github.count("GET") == 0


def test_a_review_post_that_failed_with_502_is_not_posted_twice(service, github) -> None:
    """GitHub answered 502 but had stored the review: ortfix finds its marker and posts no second one."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    original = github._create_review

    def lands_then_502(repo, number, query, body):
        original(repo, number, query, body)
        return 502, {}, '{"message": "Bad Gateway"}'

    github.routes = [(m, p, lands_then_502 if h == original else h) for m, p, h in github.routes]
    review(service, github, pull)
    assert len(pull.reviews) == 1


@pytest.mark.parametrize("status", [500, 502])
def test_a_review_post_lost_to_a_5xx_is_posted_once_more(service, github, status: int) -> None:
    """A 5xx that stored nothing (500 included): the review is posted again, once."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    github.fail("POST", r"/pulls/7/reviews$", status)
    review(service, github, pull)
    assert len(pull.reviews) == 1 and github.count("POST", r"/reviews$") == 2


def test_rate_limits_and_5xx_on_reads_are_retried(service, github) -> None:
    """A secondary rate limit (403 + Retry-After) and a 503 on GETs: waited out, then the review lands."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    waits: list[float] = []
    service.app.sleep = waits.append
    github.fail("GET", r"/pulls/7/files", 403, {"Retry-After": "7"})
    github.fail("GET", r"/git/trees/", 503)
    review(service, github, pull)
    assert waits == [7.0, 1.0]
    assert len(pull.reviews) == 1


def test_one_job_per_pull_request_at_a_time(service, github) -> None:
    """While another job holds the PR, a second one is refused (and retried later by the queue)."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    assert service.store.acquire(f"pr:{REPO}#7", 60)
    with pytest.raises(Busy):
        review(service, github, pull)
    assert pull.reviews == []


def test_a_lock_left_by_a_killed_job_expires(tmp_path) -> None:
    """The per-PR lock frees itself after its time, so a crashed job cannot block a PR forever."""
    now = [1000.0]
    store = SqliteStore(str(tmp_path / "s.db"), clock=lambda: now[0])
    assert store.acquire("pr:x#1", 60)
    assert not store.acquire("pr:x#1", 60)
    now[0] += 61
    assert store.acquire("pr:x#1", 60)


def test_dropped_connections_are_retried_and_a_dropped_review_post_lands_once(service, github) -> None:
    """No answer to a GET: retried. No answer to the review POST: ortfix looks for its review, then posts once."""
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    github.drop("GET", r"/pulls/7/files")
    github.drop("POST", r"/pulls/7/reviews$")
    review(service, github, pull)
    assert len(pull.reviews) == 1
    assert github.count("GET", r"/pulls/7/files") == 2 and github.count("POST", r"/pulls/7/reviews$") == 2


def test_a_replayed_body_under_another_delivery_id_posts_nothing_twice(service, github) -> None:
    """A signed body replayed under a new X-GitHub-Delivery is refused; the same head delivered twice is harmless."""
    import json

    from bot.service.queue import run_delivery
    from tests.conftest import pull_request_payload

    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n" + SESSION})
    body = json.dumps(pull_request_payload("opened", REPO, 7, pull.head_sha)).encode()
    assert service.store.accept("original", "pull_request", "opened", body)
    run_delivery(service, "original")
    assert not service.store.accept("replay", "pull_request", "opened", body)
    assert service.store.accept("again", "pull_request", "opened", body + b"\n")  # another delivery, same head
    run_delivery(service, "again")
    assert len(pull.reviews) == 1 and len(pull.comments) == 1


NATIVE = "import * as ort from 'onnxruntime-web/webgpu';\n" + SESSION


def test_a_bare_import_beside_webgpu_files_gets_no_comment_on_the_correct_lines(service, github) -> None:
    """The new bare import is commented; the untouched `/webgpu` file is not; one summary sentence says why."""
    base = {"package.json": MANIFEST, "src/gpu.js": NATIVE}
    pull = make_pull(github, {"src/more.js": "import * as ort from 'onnxruntime-web';\n"}, base=base)
    review(service, github, pull)
    assert [(c["path"], c["line"], "`jsep-import`" in c["body"]) for c in pull.comments] == [("src/more.js", 1, True)]
    (posted,) = pull.reviews
    assert posted["body"].count("fixing the 1 load above also removes the second `ort` instance") == 1
    (run,) = github.check_runs.values()
    assert [a["title"] for a in run["annotations"]] == ["jsep-import"]
    assert run["output"]["summary"].count("second `ort` instance") == 1


def test_a_webgpu_import_beside_untouched_jsep_files_is_commented_naming_them(service, github) -> None:
    """The JSEP side is outside the PR: mixed-entry goes inline on the added `/webgpu` line, naming that file."""
    base = {"package.json": MANIFEST, "src/old.js": "import * as ort from 'onnxruntime-web';\n" + SESSION}
    pull = make_pull(github, {"src/gpu.js": NATIVE}, base=base)
    review(service, github, pull)
    (comment,) = pull.comments
    assert (comment["path"], comment["line"]) == ("src/gpu.js", 1)
    assert "`mixed-entry`" in comment["body"] and "src/old.js:1" in comment["body"]


def test_the_webgpu_request_in_an_untouched_file_makes_the_finding_loud(service, github) -> None:
    """Same finding, severity and suggestion as `ortfix scan` of the head; within 3 extra calls; 0 the second time."""
    from bot.core.detector import scan_files

    sources = {f"src/f{i}.js": f"export const v{i} = {i};\n" for i in range(497)}
    base = {"package.json": MANIFEST, "src/session.js": SESSION, **sources}
    pull = make_pull(github, {"src/model.js": "import * as ort from 'onnxruntime-web';\n"}, base=base)
    client, _ = review(service, github, pull)
    (comment,) = pull.comments
    expected = [f for f in scan_files([(p, t.encode()) for p, t in pull.head.items()]).findings if f.severity != "info"]
    assert [(f.path, f.line, f.rule, f.severity) for f in expected] == [("src/model.js", 1, "jsep-import", "error")]
    assert render.comment_body(expected[0]) == comment["body"]
    assert client.calls == 10 + 2  # today's review, and the package's 499 other sources in two queries
    second = make_pull(github, {"src/other.js": "import 'onnxruntime-web';\n"}, base=base, number=8, head_ref="f8")
    before = github.count("POST", "/graphql")
    client, _ = review(service, github, second)
    assert len(second.comments) == 1 and github.count("POST", "/graphql") == before + 1  # the PR's own file only
    assert client.calls == 10 - 2  # the config is cached for a few minutes; the package costs nothing


# --- the dedupe: fingerprints of path, rule and the line's text ------------------------------------------------

IMPORT = "import * as ort from 'onnxruntime-web';\n"


def push(github: FakeGitHub, pull: FakePull, files: dict[str, str]) -> None:
    """A new head commit on the pull request's branch."""
    pull.head.update(files)
    github.add_pull(pull)


def test_a_push_that_moves_a_flagged_line_posts_nothing_new(service, github) -> None:
    """The flagged import two lines lower is the same finding: no second review, its comment kept."""
    pull = make_pull(github, {"src/model.js": IMPORT + SESSION})
    review(service, github, pull)
    push(github, pull, {"src/model.js": "// the model\n\n" + IMPORT + SESSION})
    _, outcome = review(service, github, pull)
    assert github.count("POST", r"/reviews$") == 1 and len(pull.comments) == 1
    assert outcome.inline == 0 and outcome.deleted == 0


def test_a_reindented_line_posts_nothing_new(service, github) -> None:
    """Indentation is not part of the fingerprint: the re-indented import keeps its one comment."""
    pull = make_pull(github, {"src/model.js": IMPORT + SESSION})
    review(service, github, pull)
    push(github, pull, {"src/model.js": "    " + IMPORT + SESSION})
    _, outcome = review(service, github, pull)
    assert github.count("POST", r"/reviews$") == 1 and len(pull.comments) == 1
    assert outcome.inline == 0 and outcome.deleted == 0


def test_the_same_line_in_a_second_file_gets_its_own_comment(service, github) -> None:
    """The path is part of the fingerprint: b.js's copy of a.js's flagged line is commented too."""
    pull = make_pull(github, {"src/a.js": IMPORT + SESSION})
    review(service, github, pull)
    push(github, pull, {"src/b.js": IMPORT + SESSION})
    review(service, github, pull)
    assert sorted((c["path"], c["line"]) for c in pull.comments) == [("src/a.js", 1), ("src/b.js", 1)]


def test_removing_one_of_two_identical_lines_resolves_only_its_thread(service, github) -> None:
    """The line gone from a.js but not from b.js: a.js's comment is stale and its thread resolved, b.js's stays open."""
    pull = make_pull(github, {"src/a.js": IMPORT + SESSION, "src/b.js": IMPORT + SESSION})
    review(service, github, pull)
    (stale,) = [c["id"] for c in pull.comments if c["path"] == "src/a.js"]
    push(github, pull, {"src/a.js": SESSION})
    _, outcome = review(service, github, pull)
    assert pull.resolved == {stale} and outcome.resolved == 1 and len(pull.comments) == 2


def test_findings_listed_only_in_the_review_body_are_not_posted_again(service, github) -> None:
    """A line the PR does not add goes in the review body; a second run finds it there and posts nothing."""
    base = {"package.json": MANIFEST, "src/model.js": IMPORT}
    pull = make_pull(github, {"src/model.js": IMPORT + SESSION}, base=base)
    _, first = review(service, github, pull)
    assert first.in_body == 1 and first.inline == 0
    _, second = review(service, github, pull)
    assert github.count("POST", r"/reviews$") == 1 and second.in_body == 0


def test_a_patch_that_names_a_jsep_asset_url_but_not_the_package_is_read(service, github) -> None:
    """The patch filter looks for the asset names too: a CDN URL of the JSEP wasm alone makes the file a candidate."""
    worker = "const PRECACHE = ['https://cdn.example.com/ort/ort-wasm-simd-threaded.jsep.wasm'];\n"
    pull = make_pull(github, {"public/sw.js": worker, "src/model.js": IMPORT + SESSION}, base=None)
    review(service, github, pull)
    assert ("public/sw.js", 1) in [(c["path"], c["line"]) for c in pull.comments]


def test_a_fingerprint_pasted_by_a_person_silences_nothing(service, github) -> None:
    """Only an app's comments and reviews count as ortfix's: a person's copy of a fingerprint posts no less."""
    head = "import * as ort from 'onnxruntime-web';\n" + SESSION
    pull = make_pull(github, {"src/model.js": head})
    _, first = review(service, github, pull)
    (comment,) = pull.comments
    pasted = f"quoting the bot: {comment['body']}"
    pull.comments = [{**comment, "id": 1, "body": pasted, "user": {"login": "mallory", "type": "User"}}]
    pull.reviews = [{**pull.reviews[0], "body": pasted, "user": {"login": "mallory"}}]
    _, second = review(service, github, pull)
    assert first.inline == second.inline == 1
    assert [c["user"]["login"] for c in pull.comments] == ["mallory", "ortfix[bot]"]


@pytest.mark.parametrize("draft", [True, False])
def test_a_pull_request_event_names_the_pull_request_to_review(draft: bool) -> None:
    """GitHub's own pull_request payload: the base repository, number, head, default branch and draft flag."""
    payload = pull_request_payload("opened", REPO, 12, "f" * 40, draft=draft)
    payload["repository"]["default_branch"] = "trunk"
    assert PullRequest.from_payload(payload) == PullRequest(REPO, 12, "f" * 40, "trunk", draft)


def test_a_payload_without_the_draft_flag_is_ready_for_review() -> None:
    payload = pull_request_payload("opened", REPO, 12, "f" * 40)
    del payload["pull_request"]["draft"]
    assert PullRequest.from_payload(payload).draft is False


def test_a_lost_review_is_not_mistaken_for_an_earlier_one(service, github) -> None:
    """Each review's marker is its own: after a 502 on the second push's review, the first one's marker is no proof."""
    pull = make_pull(github, {"src/a.js": IMPORT + SESSION})
    review(service, github, pull)
    push(github, pull, {"src/b.js": IMPORT + SESSION})
    github.fail("POST", r"/pulls/7/reviews$", 502)
    review(service, github, pull)
    assert len(pull.reviews) == 2
    assert sorted((c["path"], c["line"]) for c in pull.comments) == [("src/a.js", 1), ("src/b.js", 1)]
