"""A stateful fake of GitHub's REST API (and the GraphQL ortfix sends), for the whole suite.

Repositories hold commits, branches, pull requests, issues and their
comments. Every REST request ortfix sends is checked against GitHub's
OpenAPI description (`../shared/github/api.github.com.pr-bot.json`): a
request the real API would reject fails the test. Pull requests carry
patches made from real diffs, a review comment off the diff gets GitHub's
422, and a non-forced ref update that is not a fast-forward gets its 422 too.
Faults (5xx, rate limits) can be injected per route. Built with an
Enterprise Server's `rest_root` (https://HOST/api/v3), it answers REST only
under /api/v3 and GraphQL only at /api/graphql, as Enterprise Server does.
"""

from __future__ import annotations

import base64
import difflib
import functools
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jwt
import requests
import responses
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from unidiff import PatchSet

from tests import paths

SHARED = paths.SHARED / "github"
API = "https://api.github.com"
_SLASHED = re.compile(r"^(/repos/[^/]+/[^/]+/(?:contents|git/ref|git/refs|git/matching-refs|compare)/)(.+)$")
_GRAPHQL_BLOB = re.compile(r'(b\d+): object\(oid: "([0-9a-f]+)"\)')
APP_LOGIN = "ortfix[bot]"
DROPPED = -1  # a fault that answers nothing
GRAPHQL_ERRORS = -2  # a fault that answers 200 with GraphQL `errors` (a secondary limit on points)


def _complete(schema: dict, example, data):
    """`data` with every field the schema *requires* and `data` lacks taken from GitHub's example.

    Optional fields stay as the fake decided (absent means absent: `patch`, `in_reply_to_id`, …).
    """
    schema = _resolve(_document(), schema)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            parts = [_resolve(_document(), part) for part in schema[key]]
            if key == "allOf":
                schema = {
                    "type": "object",
                    "properties": {k: v for part in parts for k, v in part.get("properties", {}).items()},
                    "required": [r for part in parts for r in part.get("required", [])],
                }
            else:  # the alternative the example (and the data) fit best
                known = set(example or {}) | set(data) if isinstance(data, dict) else set()
                schema = max(
                    parts,
                    key=lambda p: sum(k in known for k in p.get("required", [])) - len(p.get("required", [])) / 1000,
                )
    if isinstance(data, dict) and isinstance(example, dict):
        properties = schema.get("properties", {})
        done = dict(data)
        for key in schema.get("required", []):
            if key not in done:
                done[key] = example[key] if key in example else _placeholder(properties.get(key, {}))
        for key, value in list(done.items()):
            if key in properties and key in example:
                done[key] = _complete(properties[key], example[key], value)
        return done
    if isinstance(data, list) and isinstance(example, list) and example:
        return [_complete(schema.get("items", {}), example[0], item) for item in data]
    return data


def _placeholder(schema: dict):
    """A value of the schema's type, for a required field GitHub's example leaves out."""
    schema = _resolve(_document(), schema)
    if schema.get("nullable"):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        return "2026-01-01T00:00:00Z" if schema.get("format") == "date-time" else "x"
    return {"integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}.get(kind, "x")


def _resolve(document: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@functools.lru_cache(maxsize=1)
def _document() -> dict:
    return json.loads((SHARED / "api.github.com.pr-bot.json").read_text())


def _template_for(method: str, path: str) -> str:
    paths = _document()["paths"]
    for template in paths:
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in paths[template]:
            return template
    raise AssertionError(f"no documented operation for {method} {path}")


def load_spec() -> OpenAPI:
    return OpenAPI.from_file_path(str(SHARED / "api.github.com.pr-bot.json"), config=Config(spec_validator_cls=None))


def _sha1(value: object) -> str:
    return hashlib.sha1(json.dumps(value).encode()).hexdigest()


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def patch_of(old: str | None, new: str | None) -> str | None:
    """GitHub's `patch` for one file: the unified diff's hunks without the file headers."""
    lines = list(difflib.unified_diff((old or "").splitlines(True), (new or "").splitlines(True), n=3))
    body = []
    for line in lines[2:]:
        body.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(body).rstrip("\n") or None


def _right_lines(patch: str | None, added_only: bool) -> set[int]:
    if not patch:
        return set()
    hunks = PatchSet(f"--- a/f\n+++ b/f\n{patch}\n")[0]
    return {ln.target_line_no for h in hunks for ln in h if ln.target_line_no and (ln.is_added or not added_only)}


@dataclass
class Commit:
    files: dict[str, str]
    parents: list[str]
    message: str = "a commit"
    author: str = "dev"


@dataclass
class PullRequest:
    repo: str
    number: int
    base: dict[str, str]  # path → text at the base
    head: dict[str, str]  # path → text at the head
    binary: set[str] = field(default_factory=set)  # paths GitHub shows without a patch
    renames: dict[str, str] = field(default_factory=dict)  # new path → old path
    head_ref: str = "feature"
    head_repo: str | None = None  # a fork's owner/name; None: the same repository
    fork_owner_type: str = "User"
    maintainer_can_modify: bool = False
    author: str = "dev"
    title: str = "A change"
    body: str = ""
    state: str = "open"
    merged: bool = False
    labels: list[str] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)  # review comments
    resolved: set[int] = field(default_factory=set)  # ids of the comments whose review thread is resolved
    reviews: list[dict] = field(default_factory=list)

    @property
    def head_sha(self) -> str:
        return hashlib.sha1(json.dumps([self.head_ref, self.head], sort_keys=True).encode()).hexdigest()

    @property
    def base_sha(self) -> str:
        return hashlib.sha1(json.dumps(["base", self.base], sort_keys=True).encode()).hexdigest()

    def files(self) -> list[dict]:
        found = []
        old_sides = set(self.renames.values())
        for path in sorted(set(self.base) | set(self.head)):
            if path in old_sides and path not in self.head:
                continue  # the old side of a rename
            old_path = self.renames.get(path, path)
            old, new = self.base.get(old_path), self.head.get(path)
            if old == new and path not in self.renames:
                continue
            status = (
                "renamed"
                if path in self.renames
                else "added"
                if old is None
                else "removed"
                if new is None
                else "modified"
            )
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

    def patch(self, path: str) -> str | None:
        return next((f.get("patch") for f in self.files() if f["filename"] == path), None)

    def added(self, path: str) -> set[int]:
        return _right_lines(self.patch(path), added_only=True)


@dataclass
class Repo:
    full_name: str
    default_branch: str = "main"
    owner_type: str = "Organization"
    refs: dict[str, str] = field(default_factory=dict)  # branch → commit sha
    permissions: dict[str, str] = field(default_factory=dict)  # login → role (admin, maintain, write, triage, read)
    issue_comments: list[dict] = field(default_factory=list)  # every issue and PR conversation comment
    reactions: list[tuple[int, str]] = field(default_factory=list)  # (comment id, content)
    issues: dict[int, dict] = field(default_factory=dict)  # number → issue
    archived: bool = False
    fork: bool = False
    installation: int = 42


class FakeGitHub:
    """On `responses` in the test process, or (`wsgi`) as a real HTTP server on 127.0.0.1 for processes and benches."""

    def __init__(self, mock: responses.RequestsMock | None, spec: OpenAPI, rest_root: str = API) -> None:
        """`rest_root`: github.com's API, or an Enterprise Server's https://HOST/api/v3 (GraphQL at /api/graphql)."""
        self.spec = spec
        root = urlsplit(rest_root)
        self.origin = f"{root.scheme}://{root.netloc}"
        self.prefix = root.path.rstrip("/")  # "" on github.com, "/api/v3" on an Enterprise Server
        self.graphql_path = self.prefix.removesuffix("/v3") + "/graphql"
        self.repos: dict[str, Repo] = {}
        self.commits: dict[str, Commit] = {}
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.contents: dict[tuple[str, str], str] = {}  # (repo, path) → text, over the default branch's
        self.blobs: dict[str, bytes] = {}
        self.check_runs: dict[int, dict] = {}
        self.check_statuses: dict[int, list[str]] = {}  # each check run's statuses, in the order they were sent
        self.calls: list[tuple[str, str]] = []
        self.violations: list[str] = []  # route misses, OpenAPI violations, harness errors: asserted empty at teardown
        self.graphql_queries = 0
        self.not_modified = 0
        self.hook_deliveries: list[dict] = []  # what GitHub's "Recent Deliveries" shows
        self.redelivered: list[int] = []
        self._if_none_match: str | None = None
        self._authorization = ""
        self.app_key: str | None = None  # the app's public key (PEM): when set, JWTs it does not verify get a 401
        self.faults: list[tuple[str, re.Pattern, int, dict]] = []
        self.delays: list[tuple[str, re.Pattern, float]] = []
        self._ids = itertools.count(1000)
        self.routes: list[tuple[str, re.Pattern, Callable]] = [
            (m, re.compile(p), h)
            for m, p, h in [
                ("GET", r"/app", self._app),
                ("POST", r"/app/installations/(\d+)/access_tokens", self._token),
                ("POST", r"/graphql", self._graphql),
                ("GET", r"/app/installations", self._installations),
                ("GET", r"/app/hook/deliveries", self._hook_deliveries),
                ("POST", r"/app/hook/deliveries/(\d+)/attempts", self._redeliver),
                ("GET", r"/installation/repositories", self._installation_repos),
                ("GET", r"/repos/([^/]+/[^/]+)/installation", self._repo_installation),
                ("GET", r"/repos/([^/]+/[^/]+)", self._repository),
                ("GET", r"/repos/([^/]+/[^/]+)/issues", self._list_issues),
                ("POST", r"/repos/([^/]+/[^/]+)/issues", self._create_issue),
                ("PATCH", r"/repos/([^/]+/[^/]+)/issues/(\d+)", self._update_issue),
                ("GET", r"/repos/([^/]+/[^/]+)/contents/(.+)", self._contents),
                ("GET", r"/repos/([^/]+/[^/]+)/pulls/(\d+)/files", self._pull_files),
                ("GET", r"/repos/([^/]+/[^/]+)/pulls/(\d+)/comments", self._review_comments),
                ("GET", r"/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews", self._reviews),
                ("POST", r"/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews", self._create_review),
                ("GET", r"/repos/([^/]+/[^/]+)/pulls/(\d+)", self._pull),
                ("PATCH", r"/repos/([^/]+/[^/]+)/pulls/(\d+)", self._update_pull),
                ("GET", r"/repos/([^/]+/[^/]+)/pulls", self._list_pulls),
                ("POST", r"/repos/([^/]+/[^/]+)/pulls", self._create_pull),
                ("DELETE", r"/repos/([^/]+/[^/]+)/pulls/comments/(\d+)", self._delete_review_comment),
                ("GET", r"/repos/([^/]+/[^/]+)/collaborators/([^/]+)/permission", self._permission),
                ("POST", r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", self._comment),
                ("POST", r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)/reactions", self._react),
                ("POST", r"/repos/([^/]+/[^/]+)/issues/(\d+)/labels", self._labels),
                ("GET", r"/repos/([^/]+/[^/]+)/git/trees/(\w+)", self._tree),
                ("GET", r"/repos/([^/]+/[^/]+)/git/blobs/(\w+)", self._blob),
                ("POST", r"/repos/([^/]+/[^/]+)/git/blobs", self._create_blob),
                ("POST", r"/repos/([^/]+/[^/]+)/git/trees", self._create_tree),
                ("GET", r"/repos/([^/]+/[^/]+)/git/commits/(\w+)", self._git_commit),
                ("POST", r"/repos/([^/]+/[^/]+)/git/commits", self._create_commit),
                ("GET", r"/repos/([^/]+/[^/]+)/git/ref/heads/(.+)", self._ref),
                ("PATCH", r"/repos/([^/]+/[^/]+)/git/refs/heads/(.+)", self._move_ref),
                ("POST", r"/repos/([^/]+/[^/]+)/git/refs", self._create_ref),
                ("DELETE", r"/repos/([^/]+/[^/]+)/git/refs/heads/(.+)", self._delete_ref),
                ("POST", r"/repos/([^/]+/[^/]+)/check-runs", self._create_check),
                ("PATCH", r"/repos/([^/]+/[^/]+)/check-runs/(\d+)", self._update_check),
            ]
        ]
        self._lock = threading.RLock()
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            if mock is not None:
                mock.add_callback(method, re.compile(re.escape(self.origin) + r"(:443)?/.*"), callback=self._dispatch)
        self.public_url = rest_root  # where Link headers point: GitHub's API, or this server when served over HTTP

    def wsgi(self, environ: dict, start_response: Callable):
        """The same API over HTTP: GitHub's paths at the root of this server (under /api/v3 as an Enterprise Server)."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        query = environ.get("QUERY_STRING", "")
        url = f"{self.origin}{quote(environ.get('PATH_INFO', ''), safe='/:@')}" + (f"?{query}" if query else "")
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        request = requests.Request(environ["REQUEST_METHOD"], url, data=body, headers=headers).prepare()
        self.public_url = f"http://{environ['HTTP_HOST']}{self.prefix}"
        status, response_headers, text = self._dispatch(request)
        reason = {
            200: "OK",
            201: "Created",
            204: "No Content",
            304: "Not Modified",
            404: "Not Found",
            422: "Unprocessable Entity",
        }
        start_response(
            f"{status} {reason.get(status, 'Status')}",
            [("Content-Type", "application/json"), *response_headers.items()],
        )
        return [text.encode() if isinstance(text, str) else text]

    # --- set-up -------------------------------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        return self.repos.setdefault(full_name, Repo(full_name))

    def add_commit(
        self, files: dict[str, str], parents: list[str] | None = None, message: str = "a commit", author: str = "dev"
    ) -> str:
        commit = Commit(dict(files), list(parents or []), message, author)
        sha = hashlib.sha1(json.dumps([commit.files, commit.parents, message]).encode()).hexdigest()
        self.commits[sha] = commit
        for text in files.values():
            self.blobs[blob_sha(text.encode())] = text.encode()
        return sha

    def set_branch(self, repo: str, branch: str, files: dict[str, str], author: str = "dev") -> str:
        parent = self.repo(repo).refs.get(branch)
        sha = self.add_commit(files, [parent] if parent else [], author=author)
        self.repo(repo).refs[branch] = sha
        return sha

    def branch_files(self, repo: str, branch: str) -> dict[str, str] | None:
        sha = self.repo(repo).refs.get(branch)
        return self.commits[sha].files if sha else None

    def add_pull(self, pull: PullRequest) -> PullRequest:
        self.repo(pull.repo)
        self.pulls[(pull.repo, pull.number)] = pull
        self.commits[pull.base_sha] = Commit(dict(pull.base), [])
        self.commits[pull.head_sha] = Commit(dict(pull.head), [pull.base_sha])
        for text in [*pull.head.values(), *pull.base.values()]:
            self.blobs[blob_sha(text.encode())] = text.encode()
        self.repo(pull.head_repo or pull.repo).refs[pull.head_ref] = pull.head_sha
        return pull

    def fail(self, method: str, path: str, status: int, headers: dict | None = None, times: int = 1) -> None:
        """The next `times` requests matching make GitHub answer `status` (a 5xx, a rate limit)."""
        for _ in range(times):
            self.faults.append((method, re.compile(path), status, headers or {}))

    def drop(self, method: str, path: str, times: int = 1) -> None:
        """The next `times` matching requests get no answer: the connection breaks."""
        self.fail(method, path, DROPPED, times=times)

    def slow(self, method: str, path: str, seconds: float, times: int = 1) -> None:
        """The next `times` matching requests take `seconds` to answer (a job caught mid-flight)."""
        for _ in range(times):
            self.delays.append((method, re.compile(path), seconds))

    def count(self, method: str, pattern: str = "") -> int:
        return sum(1 for m, p in self.calls if m == method and re.search(pattern, p))

    # --- the door -------------------------------------------------------------------------------

    def _dispatch(self, request: requests.PreparedRequest):
        """Answer one request. An error here is also recorded, because the code under test may catch what it raises."""
        with self._lock:  # one request at a time, as the state is shared
            try:
                return self._dispatch_locked(request)
            except requests.ConnectionError:
                raise  # an injected fault (`drop`), not a mistake
            except Exception as error:
                self.violations.append(f"{request.method} {urlsplit(request.url).path}: {error!r}")
                raise

    def _dispatch_locked(self, request: requests.PreparedRequest):
        parts = urlsplit(request.url)
        raw_path = self._api_path(parts.path)
        path = unquote(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if path != "/graphql":
            self._validate(request, raw_path, parts.query)
        self.calls.append((request.method, path))
        for delay in list(self.delays):
            if delay[0] == request.method and delay[1].search(path):
                self.delays.remove(delay)
                time.sleep(delay[2])
        for fault in list(self.faults):
            method, pattern, status, headers = fault
            if method == request.method and pattern.search(path):
                self.faults.remove(fault)
                if status == DROPPED:
                    raise requests.ConnectionError("connection reset by the fake GitHub")
                if status == GRAPHQL_ERRORS:
                    return self._json(200, {"errors": [{"type": "RATE_LIMITED", "message": "secondary rate limit"}]})
                return status, headers, json.dumps({"message": f"fault {status}"})
        body = json.loads(request.body) if request.body else None
        self._if_none_match = request.headers.get("If-None-Match")
        self._authorization = request.headers.get("Authorization", "")
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if method == request.method and match:
                status, headers, text = handler(*match.groups(), query=query, body=body)
                if path != "/graphql" and 200 <= status < 300 and text:
                    text = self._documented(request, raw_path, parts.query, status, headers, text)
                return status, headers, text
        raise AssertionError(f"the fake GitHub has no route for {request.method} {path}")

    def _api_path(self, raw_path: str) -> str:
        """The path as github.com's API spells it: GraphQL at /graphql, REST without an Enterprise Server's prefix."""
        if raw_path == self.graphql_path:
            return "/graphql"
        assert raw_path.startswith(self.prefix + "/"), f"{raw_path} is not under the API's root {self.prefix}/"
        rest = raw_path.removeprefix(self.prefix)
        assert rest != "/graphql", f"GraphQL is at {self.graphql_path}, not {raw_path}"
        return rest

    def _documented(
        self, request: requests.PreparedRequest, raw_path: str, query: str, status: int, headers: dict, text: str
    ) -> str:
        """The answer in GitHub's documented shape: the spec's own example under what the fake decided.

        Then checked against the operation's response schema, so ortfix never relies on a field GitHub
        does not send.
        """
        slashed = _SLASHED.match(raw_path)
        if slashed:
            raw_path = slashed[1] + quote(unquote(slashed[2]), safe="")
        url = f"{API}{raw_path}" + (f"?{query}" if query else "")
        checked = requests.Request(request.method, url, data=request.body, headers=dict(request.headers)).prepare()
        schema, example = self._example(checked, status)
        data = _complete(schema, example, json.loads(text)) if example is not None else json.loads(text)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(data).encode()
        response.headers.update({"Content-Type": "application/json", **headers})
        self.spec.validate_response(RequestsOpenAPIRequest(checked), RequestsOpenAPIResponse(response))
        return json.dumps(data)

    def _example(self, request: requests.PreparedRequest, status: int) -> tuple[dict, object]:
        template = _template_for(request.method, urlsplit(request.url).path)
        operation = _document()["paths"][template][request.method.lower()]
        response = _resolve(_document(), operation["responses"].get(str(status), {}))
        content = response.get("content", {}).get("application/json", {})
        for example in content.get("examples", {}).values():
            return content.get("schema", {}), _resolve(_document(), example).get("value")
        return {}, None

    def _validate(self, request: requests.PreparedRequest, raw_path: str, query: str) -> None:
        """Fail the test on a request GitHub's OpenAPI description does not allow."""
        slashed = _SLASHED.match(raw_path)
        if slashed:  # a path parameter that may hold "/" must reach the matcher as one segment
            raw_path = slashed[1] + quote(unquote(slashed[2]), safe="")
        url = f"{API}{raw_path}" + (f"?{query}" if query else "")
        checked = requests.Request(request.method, url, data=request.body, headers=dict(request.headers)).prepare()
        self.spec.validate_request(RequestsOpenAPIRequest(checked))

    @staticmethod
    def _json(status: int, data: object, headers: dict | None = None):
        return status, headers or {}, json.dumps(data)

    def _not_found(self):
        return self._json(404, {"message": "Not Found"})

    # --- handlers: app, contents, graphql -------------------------------------------------------------------------------

    def _app(self, query: dict, body: dict | None):
        """GET /app: the app the JWT names; GitHub's 401 when the app's key (if the test set one) does not verify it."""
        token = self._authorization.removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token,
                self.app_key or "",
                algorithms=["RS256"],
                options={"verify_signature": self.app_key is not None, "verify_exp": True},
            )
        except jwt.InvalidTokenError:
            return self._json(401, {"message": "A JSON web token could not be decoded"})
        return self._json(200, {"id": int(claims["iss"]), "slug": "ortfix", "name": "ortfix"})

    def _token(self, installation: str, query: dict, body: dict | None):
        return self._json(201, {"token": f"ghs_test{installation}", "expires_at": "2099-01-01T00:00:00Z"})

    def _graphql(self, query: dict, body: dict | None):
        """ortfix's GraphQL: blob batches, a pull request's `reviewThreads`, `resolveReviewThread`.

        Each query's `rateLimit` costs one point (a GRAPHQL_ERRORS fault answers with `errors` instead).
        """
        assert body is not None and set(body) == {"query", "variables"}
        self.graphql_queries += 1
        text, variables = body["query"], body["variables"]
        if text.startswith("mutation"):
            assert "resolveReviewThread" in text and set(variables) == {"thread"}
            comment_id = int(variables["thread"].removeprefix("PRRT_"))
            pull = next(p for p in self.pulls.values() if any(c["id"] == comment_id for c in p.comments))
            pull.resolved.add(comment_id)
            return self._json(200, {"data": {"resolveReviewThread": {"thread": {"id": variables["thread"]}}}})
        data: dict = {"rateLimit": {"cost": 1, "remaining": 4999 - self.graphql_queries}} if "rateLimit" in text else {}
        if "reviewThreads" in text:
            pull = self.pulls[(f"{variables['owner']}/{variables['name']}", variables["number"])]
            nodes = [
                {
                    "id": f"PRRT_{c['id']}",
                    "isResolved": c["id"] in pull.resolved,
                    "comments": {
                        "totalCount": 1 + sum(r.get("in_reply_to_id") == c["id"] for r in pull.comments),
                        "nodes": [{"databaseId": c["id"]}],
                    },
                }
                for c in pull.comments
                if not c.get("in_reply_to_id")
            ]
            threads = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}
            data["repository"] = {"pullRequest": {"reviewThreads": threads}}
            return self._json(200, {"data": data})
        assert set(variables) == {"owner", "name"}
        objects = {}
        for alias, sha in _GRAPHQL_BLOB.findall(text):
            blob = self.blobs.get(sha)
            binary = blob is not None and b"\0" in blob
            objects[alias] = (
                None
                if blob is None
                else {"text": None if binary else blob.decode(), "isBinary": binary, "isTruncated": False}
            )
        data["repository"] = objects
        return self._json(200, {"data": data})

    def _contents(self, repo: str, path: str, query: dict, body: dict | None):
        text = self.contents.get((repo, path))
        if text is None and repo in self.repos:
            text = (self.branch_files(repo, query.get("ref") or self.repos[repo].default_branch) or {}).get(path)
        if text is None:
            return self._not_found()
        data = text.encode()
        return self._json(
            200,
            {
                "type": "file",
                "encoding": "base64",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": base64.b64encode(data).decode(),
                "sha": blob_sha(data),
            },
        )

    def _page(self, items: list, query: dict, path: str):
        per_page = int(query.get("per_page", 30))
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"X-RateLimit-Remaining": "4999"}
        if page * per_page < len(items):
            rest = "&".join(f"{k}={v}" for k, v in query.items() if k not in ("page", "per_page"))
            headers["Link"] = (
                f'<{self.public_url}{path}?per_page={per_page}&page={page + 1}{"&" + rest if rest else ""}>; rel="next"'
            )
        return self._json(200, chunk, headers)

    def _repo_json(self, repo: Repo) -> dict:
        owner, name = repo.full_name.split("/")
        return {
            "id": abs(hash(repo.full_name)) % 10**8,
            "name": name,
            "full_name": repo.full_name,
            "owner": {"login": owner, "type": repo.owner_type},
            "default_branch": repo.default_branch,
            "archived": repo.archived,
            "fork": repo.fork,
            "private": False,
        }

    def _hook_deliveries(self, query: dict, body: dict | None):
        return self._page(sorted(self.hook_deliveries, key=lambda d: -d["id"]), query, "/app/hook/deliveries")

    def _redeliver(self, delivery_id: str, query: dict, body: dict | None):
        self.redelivered.append(int(delivery_id))
        return self._json(202, {})

    def _installations(self, query: dict, body: dict | None):
        ids = sorted({r.installation for r in self.repos.values()})
        return self._json(
            200, [{"id": i, "account": {"login": f"org{i}", "type": "Organization"}, "app_id": 12345} for i in ids]
        )

    def _installation_repos(self, query: dict, body: dict | None):
        repos = [self._repo_json(r) for r in sorted(self.repos.values(), key=lambda r: r.full_name)]
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        chunk = repos[(page - 1) * per_page : page * per_page]
        headers = {"X-RateLimit-Remaining": "4990"}
        if page * per_page < len(repos):
            headers["Link"] = (
                f'<{self.public_url}/installation/repositories?per_page={per_page}&page={page + 1}>; rel="next"'
            )
        return self._json(200, {"total_count": len(repos), "repositories": chunk}, headers)

    def _repo_installation(self, repo: str, query: dict, body: dict | None):
        if repo not in self.repos:
            return self._not_found()
        return self._json(
            200, {"id": self.repos[repo].installation, "account": {"login": repo.split("/")[0]}, "app_id": 12345}
        )

    def _repository(self, repo: str, query: dict, body: dict | None):
        return self._json(200, self._repo_json(self.repos[repo])) if repo in self.repos else self._not_found()

    def _issue_json(self, repo: str, issue: dict) -> dict:
        return {**issue, "labels": [{"name": n} for n in issue["labels"]], "user": {"login": APP_LOGIN, "type": "Bot"}}

    def _list_issues(self, repo: str, query: dict, body: dict | None):
        label = query.get("labels")
        state = query.get("state", "open")
        found = [
            self._issue_json(repo, i)
            for i in sorted(self.repo(repo).issues.values(), key=lambda i: -i["number"])
            if (not label or label in i["labels"]) and (state == "all" or i["state"] == state)
        ]
        return self._page(found, query, f"/repos/{repo}/issues")

    def _create_issue(self, repo: str, query: dict, body: dict | None):
        assert body is not None
        number = max([*self.repo(repo).issues, *(n for r, n in self.pulls if r == repo), 0]) + 1
        issue = {
            "number": number,
            "title": body["title"],
            "body": body.get("body", ""),
            "state": "open",
            "labels": list(body.get("labels", [])),
        }
        self.repo(repo).issues[number] = issue
        return self._json(201, self._issue_json(repo, issue))

    def _update_issue(self, repo: str, number: str, query: dict, body: dict | None):
        assert body is not None
        issue = self.repo(repo).issues[int(number)]
        issue.update({k: body[k] for k in ("title", "body", "state") if k in body})
        return self._json(200, self._issue_json(repo, issue))

    # --- handlers: pull requests -------------------------------------------------------------------------------

    def _pull_json(self, pull: PullRequest) -> dict:
        head_repo = pull.head_repo or pull.repo
        head_sha = self.repo(head_repo).refs.get(pull.head_ref, pull.head_sha)  # the branch, as it is now
        owner_type = pull.fork_owner_type if pull.head_repo else self.repo(pull.repo).owner_type
        return {
            "number": pull.number,
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "merged_at": "2026-01-01T00:00:00Z" if pull.merged else None,
            "user": {"login": pull.author, "type": "Bot" if pull.author.endswith("[bot]") else "User"},
            "maintainer_can_modify": pull.maintainer_can_modify,
            "draft": False,
            "head": {
                "ref": pull.head_ref,
                "sha": head_sha,
                "repo": {"full_name": head_repo, "owner": {"login": head_repo.split("/")[0], "type": owner_type}},
            },
            "base": {
                "ref": self.repo(pull.repo).default_branch,
                "sha": pull.base_sha,
                "repo": {"full_name": pull.repo},
            },
            "labels": [{"name": name} for name in pull.labels],
        }

    def _pull(self, repo: str, number: str, query: dict, body: dict | None):
        pull = self.pulls.get((repo, int(number)))
        return self._json(200, self._pull_json(pull)) if pull else self._not_found()

    def _list_pulls(self, repo: str, query: dict, body: dict | None):
        state = query.get("state", "open")
        owner, _, branch = query.get("head", ":").partition(":")
        found = [
            self._pull_json(p)
            for p in sorted(self.pulls.values(), key=lambda p: -p.number)
            if p.repo == repo
            and (state == "all" or p.state == state)
            and (not branch or (p.head_ref == branch and (p.head_repo or p.repo).split("/")[0] == owner))
        ]
        return self._page(found, query, f"/repos/{repo}/pulls")

    def _create_pull(self, repo: str, query: dict, body: dict | None):
        assert body is not None
        head_files = self.branch_files(repo, body["head"])
        base_files = self.branch_files(repo, body["base"])
        assert head_files is not None and base_files is not None, "GitHub answers 422 for a missing branch"
        number = max([n for r, n in self.pulls if r == repo] + [100]) + 1
        pull = PullRequest(
            repo,
            number,
            base=dict(base_files),
            head=dict(head_files),
            head_ref=body["head"],
            author=APP_LOGIN,
            title=body["title"],
            body=body.get("body", ""),
        )
        self.pulls[(repo, number)] = pull
        return self._json(201, self._pull_json(pull))

    def _update_pull(self, repo: str, number: str, query: dict, body: dict | None):
        assert body is not None
        pull = self.pulls[(repo, int(number))]
        for key in ("title", "body", "state"):
            if key in body:
                setattr(pull, key, body[key])
        return self._json(200, self._pull_json(pull))

    def _pull_files(self, repo: str, number: str, query: dict, body: dict | None):
        pull = self.pulls[(repo, int(number))]
        return self._page(pull.files(), query, f"/repos/{repo}/pulls/{number}/files")

    def _review_comments(self, repo: str, number: str, query: dict, body: dict | None):
        return self._page(self.pulls[(repo, int(number))].comments, query, f"/repos/{repo}/pulls/{number}/comments")

    def _reviews(self, repo: str, number: str, query: dict, body: dict | None):
        return self._page(self.pulls[(repo, int(number))].reviews, query, f"/repos/{repo}/pulls/{number}/reviews")

    def _create_review(self, repo: str, number: str, query: dict, body: dict | None):
        pull = self.pulls[(repo, int(number))]
        assert body is not None
        for comment in body.get("comments", []):
            in_diff = _right_lines(pull.patch(comment["path"]), added_only=False)
            if comment.get("side", "RIGHT") != "RIGHT" or comment["line"] not in in_diff:
                return self._json(422, {"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]})
        review_id = next(self._ids)
        pull.reviews.append(
            {
                "id": review_id,
                "body": body.get("body", ""),
                "commit_id": body.get("commit_id"),
                "state": "COMMENTED",
                "user": {"login": APP_LOGIN},
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
                    "user": {"login": APP_LOGIN, "type": "Bot"},
                }
            )
        return self._json(200, {"id": review_id, "body": body.get("body", ""), "state": "COMMENTED"})

    def _delete_review_comment(self, repo: str, comment_id: str, query: dict, body: dict | None):
        for pull in self.pulls.values():
            pull.comments = [c for c in pull.comments if c["id"] != int(comment_id)]
        return 204, {}, ""

    def _permission(self, repo: str, user: str, query: dict, body: dict | None):
        role = self.repo(repo).permissions.get(user)
        if role is None:
            return (
                self._json(404, {"message": f"{user} is not a user"})
                if user.startswith("ghost")
                else self._json(200, {"permission": "read", "role_name": "read", "user": {"login": user}})
            )
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        return self._json(200, {"permission": permission, "role_name": role, "user": {"login": user}})

    # --- handlers: issues -------------------------------------------------------------------------------

    def _comment(self, repo: str, number: str, query: dict, body: dict | None):
        assert body is not None
        comment = {
            "id": next(self._ids),
            "issue": int(number),
            "body": body["body"],
            "user": {"login": APP_LOGIN, "type": "Bot"},
        }
        self.repo(repo).issue_comments.append(comment)
        return self._json(201, comment)

    def _react(self, repo: str, comment_id: str, query: dict, body: dict | None):
        assert body is not None
        self.repo(repo).reactions.append((int(comment_id), body["content"]))
        return self._json(201, {"id": next(self._ids), "content": body["content"]})

    def _labels(self, repo: str, number: str, query: dict, body: dict | None):
        assert body is not None
        pull = self.pulls.get((repo, int(number)))
        if pull:
            pull.labels += body["labels"]
        return self._json(200, [{"name": n} for n in body["labels"]])

    # --- handlers: git data -------------------------------------------------------------------------------

    def _tree(self, repo: str, ref: str, query: dict, body: dict | None):
        """A commit's (or a branch's) recursive tree: blobs, and folders whose SHA follows their content."""
        sha = ref if ref in self.commits else self.repo(repo).refs.get(ref, "")
        commit = self.commits.get(sha)
        if commit is None:
            return self._not_found()
        etag = f'"tree-{sha}"'
        if self._if_none_match == etag:
            self.not_modified += 1
            return 304, {"ETag": etag}, ""  # costs no rate limit on GitHub
        folders = sorted({path.rsplit("/", 1)[0] for path in commit.files if "/" in path})
        folders = sorted({"/".join(f.split("/")[: i + 1]) for f in folders for i in range(f.count("/") + 1)})
        tree = [
            {"path": path, "mode": "100644", "type": "blob", "sha": blob_sha(text.encode()), "size": len(text.encode())}
            for path, text in sorted(commit.files.items())
        ]
        for folder in folders:
            inside = sorted((p, blob_sha(t.encode())) for p, t in commit.files.items() if p.startswith(folder + "/"))
            tree.append({"path": folder, "mode": "040000", "type": "tree", "sha": _sha1(inside)})
        return self._json(
            200,
            {"sha": sha, "url": f"{API}/repos/{repo}/git/trees/{sha}", "tree": tree, "truncated": False},
            {"ETag": etag},
        )

    def _blob(self, repo: str, sha: str, query: dict, body: dict | None):
        data = self.blobs.get(sha)
        if data is None:
            return self._not_found()
        return self._json(
            200,
            {
                "sha": sha,
                "size": len(data),
                "encoding": "base64",
                "content": base64.b64encode(data).decode(),
                "url": "",
                "node_id": "",
            },
        )

    def _create_blob(self, repo: str, query: dict, body: dict | None):
        assert body is not None and body.get("encoding") == "base64"
        data = base64.b64decode(body["content"])
        self.blobs[blob_sha(data)] = data
        return self._json(201, {"sha": blob_sha(data), "url": ""})

    def _create_tree(self, repo: str, query: dict, body: dict | None):
        assert body is not None
        base = self.commits[body["base_tree"]].files if body.get("base_tree") else {}
        files = dict(base)
        for entry in body["tree"]:
            files[entry["path"]] = self.blobs[entry["sha"]].decode()
        sha = self.add_commit(files, [], message="(tree)")  # a tree is kept as a parentless commit of its files
        return self._json(201, {"sha": sha, "url": "", "tree": [], "truncated": False})

    def _git_commit(self, repo: str, sha: str, query: dict, body: dict | None):
        commit = self.commits.get(sha)
        if commit is None:
            return self._not_found()
        return self._json(
            200,
            {
                "sha": sha,
                "message": commit.message,
                "tree": {"sha": sha, "url": ""},
                "parents": [{"sha": p} for p in commit.parents],
            },
        )

    def _create_commit(self, repo: str, query: dict, body: dict | None):
        assert body is not None
        files = self.commits[body["tree"]].files
        sha = self.add_commit(files, body["parents"], message=body["message"], author=APP_LOGIN)
        return self._json(
            201,
            {
                "sha": sha,
                "message": body["message"],
                "tree": {"sha": body["tree"]},
                "parents": [{"sha": p} for p in body["parents"]],
            },
        )

    def _ref(self, repo: str, branch: str, query: dict, body: dict | None):
        sha = self.repo(repo).refs.get(branch)
        if sha is None:
            return self._not_found()
        etag = f'"{sha}"'
        if self._if_none_match == etag:
            self.not_modified += 1
            return 304, {"ETag": etag}, ""  # costs no rate limit on GitHub
        return self._json(
            200, {"ref": f"refs/heads/{branch}", "object": {"sha": sha, "type": "commit"}}, {"ETag": etag}
        )

    def _move_ref(self, repo: str, branch: str, query: dict, body: dict | None):
        assert body is not None
        refs = self.repo(repo).refs
        current = refs.get(branch)
        if current is None:
            return self._json(422, {"message": "Reference does not exist"})
        if not body.get("force") and current not in self.commits[body["sha"]].parents:
            return self._json(422, {"message": "Update is not a fast forward"})
        refs[branch] = body["sha"]
        for pull in self.pulls.values():  # a pull request follows its branch
            if (pull.head_repo or pull.repo) == repo and pull.head_ref == branch:
                pull.head = dict(self.commits[body["sha"]].files)
                self.commits[pull.head_sha] = self.commits[body["sha"]]
        return self._json(200, {"ref": f"refs/heads/{branch}", "object": {"sha": body["sha"]}})

    def _create_ref(self, repo: str, query: dict, body: dict | None):
        assert body is not None
        branch = body["ref"].removeprefix("refs/heads/")
        if branch in self.repo(repo).refs:
            return self._json(422, {"message": "Reference already exists"})
        self.repo(repo).refs[branch] = body["sha"]
        return self._json(201, {"ref": body["ref"], "object": {"sha": body["sha"]}})

    def _delete_ref(self, repo: str, branch: str, query: dict, body: dict | None):
        if self.repo(repo).refs.pop(branch, None) is None:
            return self._json(422, {"message": "Reference does not exist"})
        return 204, {}, ""

    # --- handlers: check runs -------------------------------------------------------------------------------

    def _create_check(self, repo: str, query: dict, body: dict | None):
        assert body is not None
        check_id = next(self._ids)
        self.check_runs[check_id] = {**body, "id": check_id, "annotations": []}
        self.check_statuses[check_id] = [body["status"]] if "status" in body else []
        return self._json(
            201, {"id": check_id, "head_sha": body["head_sha"], "name": body["name"], "status": body.get("status")}
        )

    def _update_check(self, repo: str, check_id: str, query: dict, body: dict | None):
        assert body is not None
        run = self.check_runs[int(check_id)]
        if "status" in body:
            self.check_statuses[int(check_id)].append(body["status"])
        output = body.get("output") or {}
        run["annotations"] += output.get("annotations", [])
        run.update({k: v for k, v in body.items() if k != "output"})
        run["output"] = {k: v for k, v in output.items() if k != "annotations"}
        return self._json(200, {"id": int(check_id), "status": run.get("status"), "conclusion": run.get("conclusion")})
