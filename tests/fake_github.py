"""A stateful fake of GitHub's REST API for the suite, on `responses`.

Every request ortfix sends is checked against GitHub's OpenAPI description
(`../shared/github/api.github.com.pr-bot.json`): a request the real API would
reject fails the test. Pull requests carry patches made from real diffs, and
a review comment off the diff gets the 422 GitHub gives.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import requests
import responses
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "github"
API = "https://api.github.com"
_URL = re.compile(r"https://api\.github\.com(:443)?/.*")
_SLASHED = re.compile(r"^(/repos/[^/]+/[^/]+/(?:contents|git/ref|git/refs|git/matching-refs|compare)/)(.+)$")


def load_spec() -> OpenAPI:
    return OpenAPI.from_file_path(str(SHARED / "api.github.com.pr-bot.json"), config=Config(spec_validator_cls=None))


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def patch_of(old: str | None, new: str | None) -> str | None:
    """GitHub's `patch` for one file: the unified diff's hunks without the file headers."""
    lines = list(difflib.unified_diff((old or "").splitlines(True), (new or "").splitlines(True), n=3))
    body = []
    for line in lines[2:]:
        body.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(body).rstrip("\n") or None


@dataclass
class PullRequest:
    repo: str
    number: int
    base: dict[str, str]  # path → text at the base
    head: dict[str, str]  # path → text at the head
    binary: set[str] = field(default_factory=set)  # paths GitHub shows without a patch
    renames: dict[str, str] = field(default_factory=dict)  # new path → old path
    comments: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)

    @property
    def head_sha(self) -> str:
        return hashlib.sha1(json.dumps(self.head, sort_keys=True).encode()).hexdigest()

    def files(self) -> list[dict]:
        found = []
        for path in sorted(set(self.base) | set(self.head)):
            old_path = self.renames.get(path, path)
            old, new = self.base.get(old_path), self.head.get(path)
            if old == new and path not in self.renames:
                continue
            status = "added" if old is None else "removed" if new is None else "modified"
            if path in self.renames:
                status = "renamed"
            if path in set(self.renames.values()) and path not in self.head:
                continue  # the old side of a rename
            entry = {
                "sha": blob_sha(new.encode()) if new is not None else "0" * 40,
                "filename": path,
                "status": status,
                "additions": 0,
                "deletions": 0,
                "changes": 0,
                "blob_url": f"https://github.com/{self.repo}/blob/{self.head_sha}/{path}",
                "raw_url": f"https://github.com/{self.repo}/raw/{self.head_sha}/{path}",
                "contents_url": f"{API}/repos/{self.repo}/contents/{path}?ref={self.head_sha}",
            }
            patch = None if path in self.binary else patch_of(old, new)
            if patch is not None:
                entry["patch"] = patch
            if path in self.renames:
                entry["previous_filename"] = old_path
            found.append(entry)
        return found

    def added(self, path: str) -> set[int]:
        from bot.diffs import added_lines

        file = next((f for f in self.files() if f["filename"] == path), None)
        return added_lines(file.get("patch")) if file else set()


class FakeGitHub:
    def __init__(self, mock: responses.RequestsMock, spec: OpenAPI) -> None:
        self.spec = spec
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.contents: dict[tuple[str, str], str] = {}  # (repo, path) → text on the default branch
        self.blobs: dict[str, bytes] = {}
        self.check_runs: dict[int, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.faults: list[tuple[str, re.Pattern, int, dict, dict]] = []
        self._ids = itertools.count(1000)
        self.routes: list[tuple[str, re.Pattern, Callable]] = [
            ("POST", re.compile(r"/app/installations/(\d+)/access_tokens"), self._token),
            ("GET", re.compile(r"/repos/([^/]+/[^/]+)/contents/(.+)"), self._contents),
            ("GET", re.compile(r"/repos/([^/]+/[^/]+)/pulls/(\d+)/files"), self._pull_files),
            ("GET", re.compile(r"/repos/([^/]+/[^/]+)/git/trees/(\w+)"), self._tree),
            ("GET", re.compile(r"/repos/([^/]+/[^/]+)/git/blobs/(\w+)"), self._blob),
            ("GET", re.compile(r"/repos/([^/]+/[^/]+)/pulls/(\d+)/comments"), self._comments),
            ("GET", re.compile(r"/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews"), self._reviews),
            ("POST", re.compile(r"/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews"), self._create_review),
            ("DELETE", re.compile(r"/repos/([^/]+/[^/]+)/pulls/comments/(\d+)"), self._delete_comment),
            ("POST", re.compile(r"/repos/([^/]+/[^/]+)/check-runs"), self._create_check),
            ("PATCH", re.compile(r"/repos/([^/]+/[^/]+)/check-runs/(\d+)"), self._update_check),
        ]
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            mock.add_callback(method, _URL, callback=self._dispatch)

    # --- set-up -------------------------------------------------------------------------------

    def add_pull(self, pull: PullRequest) -> PullRequest:
        self.pulls[(pull.repo, pull.number)] = pull
        for text in pull.head.values():
            self.blobs[blob_sha(text.encode())] = text.encode()
        return pull

    def fail(self, method: str, path: str, status: int, headers: dict | None = None, times: int = 1) -> None:
        """The next `times` requests matching make GitHub answer `status` (a 5xx, a rate limit)."""
        for _ in range(times):
            self.faults.append((method, re.compile(path), status, headers or {}, {"message": f"fault {status}"}))

    def count(self, method: str, pattern: str = "") -> int:
        return sum(1 for m, p in self.calls if m == method and re.search(pattern, p))

    # --- the door -------------------------------------------------------------------------------

    def _dispatch(self, request: requests.PreparedRequest):
        parts = urlsplit(request.url)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self._validate(request, parts.path, parts.query)
        self.calls.append((request.method, path))
        for fault in list(self.faults):
            method, pattern, status, headers, body = fault
            if method == request.method and pattern.search(path):
                self.faults.remove(fault)
                return status, headers, json.dumps(body)
        body = json.loads(request.body) if request.body else None
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if method == request.method and match:
                return handler(*match.groups(), query=query, body=body)
        raise AssertionError(f"the fake GitHub has no route for {request.method} {path}")

    def _validate(self, request: requests.PreparedRequest, raw_path: str, query: str) -> None:
        """Fail the test on a request GitHub's OpenAPI description does not allow."""
        slashed = _SLASHED.match(raw_path)
        if slashed:  # a path parameter that may hold "/" must reach the matcher as one segment
            raw_path = slashed[1] + quote(unquote(slashed[2]), safe="")
        url = f"{API}{raw_path}" + (f"?{query}" if query else "")
        checked = requests.Request(request.method, url, data=request.body, headers=dict(request.headers)).prepare()
        self.spec.validate_request(RequestsOpenAPIRequest(checked))

    # --- handlers -------------------------------------------------------------------------------

    def _token(self, installation: str, query: dict, body: dict | None):
        return 201, {}, json.dumps({"token": f"ghs_test{installation}", "expires_at": "2099-01-01T00:00:00Z"})

    def _contents(self, repo: str, path: str, query: dict, body: dict | None):
        text = self.contents.get((repo, path))
        if text is None:
            return 404, {}, json.dumps({"message": "Not Found"})
        data = text.encode()
        return (
            200,
            {},
            json.dumps(
                {
                    "type": "file",
                    "encoding": "base64",
                    "size": len(data),
                    "name": path.rsplit("/", 1)[-1],
                    "path": path,
                    "content": base64.b64encode(data).decode(),
                    "sha": blob_sha(data),
                }
            ),
        )

    def _page(self, items: list, query: dict, path: str):
        per_page = int(query.get("per_page", 30))
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"X-RateLimit-Remaining": "4999"}
        if page * per_page < len(items):
            headers["Link"] = f'<{API}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
        return 200, headers, json.dumps(chunk)

    def _pull_files(self, repo: str, number: str, query: dict, body: dict | None):
        pull = self.pulls[(repo, int(number))]
        return self._page(pull.files(), query, f"/repos/{repo}/pulls/{number}/files")

    def _tree(self, repo: str, sha: str, query: dict, body: dict | None):
        pull = next(p for p in self.pulls.values() if p.repo == repo and p.head_sha == sha)
        tree = [
            {"path": path, "mode": "100644", "type": "blob", "sha": blob_sha(text.encode()), "size": len(text.encode())}
            for path, text in sorted(pull.head.items())
        ]
        return (
            200,
            {},
            json.dumps({"sha": sha, "url": f"{API}/repos/{repo}/git/trees/{sha}", "tree": tree, "truncated": False}),
        )

    def _blob(self, repo: str, sha: str, query: dict, body: dict | None):
        data = self.blobs[sha]
        return (
            200,
            {},
            json.dumps(
                {
                    "sha": sha,
                    "size": len(data),
                    "encoding": "base64",
                    "content": base64.b64encode(data).decode(),
                    "url": "",
                    "node_id": "",
                }
            ),
        )

    def _comments(self, repo: str, number: str, query: dict, body: dict | None):
        return self._page(self.pulls[(repo, int(number))].comments, query, f"/repos/{repo}/pulls/{number}/comments")

    def _reviews(self, repo: str, number: str, query: dict, body: dict | None):
        return self._page(self.pulls[(repo, int(number))].reviews, query, f"/repos/{repo}/pulls/{number}/reviews")

    def _create_review(self, repo: str, number: str, query: dict, body: dict | None):
        pull = self.pulls[(repo, int(number))]
        assert body is not None
        for comment in body.get("comments", []):
            if comment.get("side", "RIGHT") != "RIGHT" or comment["line"] not in pull.added(
                comment["path"]
            ) | self._context(pull, comment["path"]):
                return (
                    422,
                    {},
                    json.dumps({"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}),
                )
        review_id = next(self._ids)
        pull.reviews.append(
            {
                "id": review_id,
                "body": body.get("body", ""),
                "commit_id": body.get("commit_id"),
                "state": "COMMENTED",
                "user": {"login": "ortfix[bot]"},
            }
        )
        for comment in body.get("comments", []):
            pull.comments.append(
                {
                    "id": next(self._ids),
                    "pull_request_review_id": review_id,
                    "path": comment["path"],
                    "line": comment["line"],
                    "side": "RIGHT",
                    "body": comment["body"],
                    "user": {"login": "ortfix[bot]", "type": "Bot"},
                }
            )
        return 200, {}, json.dumps({"id": review_id, "body": body.get("body", ""), "state": "COMMENTED"})

    def _context(self, pull: PullRequest, path: str) -> set[int]:
        """Right-side lines inside the hunks (context included): where GitHub accepts a comment."""
        from unidiff import PatchSet

        file = next((f for f in pull.files() if f["filename"] == path), None)
        if not file or "patch" not in file:
            return set()
        patch = PatchSet(f"--- a/f\n+++ b/f\n{file['patch']}\n")
        return {line.target_line_no for hunk in patch[0] for line in hunk if line.target_line_no}

    def _delete_comment(self, repo: str, comment_id: str, query: dict, body: dict | None):
        for pull in self.pulls.values():
            pull.comments = [c for c in pull.comments if c["id"] != int(comment_id)]
        return 204, {}, ""

    def _create_check(self, repo: str, query: dict, body: dict | None):
        assert body is not None
        check_id = next(self._ids)
        self.check_runs[check_id] = {**body, "id": check_id, "annotations": []}
        return (
            201,
            {},
            json.dumps(
                {"id": check_id, "head_sha": body["head_sha"], "name": body["name"], "status": body.get("status")}
            ),
        )

    def _update_check(self, repo: str, check_id: str, query: dict, body: dict | None):
        assert body is not None
        run = self.check_runs[int(check_id)]
        output = body.get("output") or {}
        run["annotations"] += output.get("annotations", [])
        run.update({k: v for k, v in body.items() if k != "output"})
        run["output"] = {k: v for k, v in output.items() if k != "annotations"}
        return (
            200,
            {},
            json.dumps({"id": int(check_id), "status": run.get("status"), "conclusion": run.get("conclusion")}),
        )
