"""Every GitHub API call ortfix makes, on PyGithub: App JWTs, installation tokens, retries, call counts.

It returns plain dataclasses and dicts, never PyGithub objects, and raises
GitHubError, so nothing else imports PyGithub. Each method names the REST
operation it calls.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import github
import requests
from github import Auth, GithubException, GithubIntegration

log = logging.getLogger("ortfix.github")

IDEMPOTENT = {"GET", "PUT", "PATCH", "DELETE", "HEAD"}
MAX_ATTEMPTS = 5
MAX_RATE_WAIT = 900.0  # wait up to 15 minutes for a rate limit to reset, then give up (the job is retried later)
TOKEN_MARGIN = 300  # renew an installation token five minutes before GitHub expires it
PER_PAGE = 100
GRAPHQL_BATCH = 50
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"GitHub answered {status}: {message}")
        self.status = status
        self.headers = headers or {}


@dataclass(frozen=True)
class PullFile:
    path: str
    status: str  # added | modified | removed | renamed | copied | changed | unchanged
    sha: str | None  # the blob at the head commit
    patch: str | None  # absent for binary files and very large diffs
    previous_path: str | None = None


@dataclass(frozen=True)
class TreeEntry:
    path: str
    sha: str
    size: int


@dataclass(frozen=True)
class ReviewComment:
    id: int
    path: str
    line: int | None
    body: str
    in_reply_to: int | None
    author: str


@dataclass(frozen=True)
class Listing:
    """A recursive tree: its blobs, and each folder's tree SHA (the root's under ""), which names its content."""

    sha: str
    blobs: list[TreeEntry]
    folders: dict[str, str]
    etag: str | None = None


@dataclass(frozen=True)
class ReviewThread:
    id: str  # GraphQL node id
    resolved: bool
    first_comment: int | None  # the REST id of the comment that opened it
    comments: int  # more than one: someone replied


@dataclass
class TokenCache:
    """Installation tokens, shared by the jobs of one process, kept until shortly before expiry."""

    tokens: dict[int, tuple[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class GitHubApp:
    """The app's own identity: signs JWTs and mints installation clients."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        api_url: str,
        delay: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_url = api_url
        self.delay = delay
        self.sleep = sleep
        self.clock = clock
        self.integration = GithubIntegration(
            auth=Auth.AppAuth(app_id, private_key),
            base_url=api_url,
            retry=0,
            seconds_between_requests=delay,
            seconds_between_writes=delay,
        )
        self.tokens = TokenCache()

    def token(self, installation_id: int) -> str:
        """POST /app/installations/{installation_id}/access_tokens, cached until shortly before it expires."""
        with self.tokens.lock:
            cached = self.tokens.tokens.get(installation_id)
            if cached and cached[1] - TOKEN_MARGIN > self.clock():
                return cached[0]
        try:
            granted = self.integration.get_access_token(installation_id)
        except GithubException as error:
            raise _error(error) from None
        expires = granted.expires_at.timestamp() if granted.expires_at else self.clock() + 3600
        with self.tokens.lock:
            self.tokens.tokens[installation_id] = (granted.token, expires)
        return granted.token

    def installation(self, installation_id: int) -> GitHubClient:
        return GitHubClient(self, installation_id)

    def app(self) -> Any:
        """GET /app (as the app): the app the key signs for. Network errors are requests' own exceptions."""
        try:
            return self.integration.requester.requestJsonAndCheck("GET", "/app")[1]
        except GithubException as error:
            raise _error(error) from None

    def hook_deliveries(self, pages: int = 3) -> list[dict]:
        """GET /app/hook/deliveries (as the app): the latest deliveries of its webhook, newest first."""

        def get(url: str, query: dict | None) -> tuple[dict[str, str], Any]:
            try:
                return self.integration.requester.requestJsonAndCheck("GET", url, parameters=query)
            except GithubException as error:
                raise _error(error) from None

        return list(pages_of(get, "/app/hook/deliveries", {"per_page": PER_PAGE}, max_pages=pages))

    def redeliver(self, delivery_id: int) -> None:
        """POST /app/hook/deliveries/{delivery_id}/attempts: GitHub sends that delivery again."""
        try:
            self.integration.requester.requestJsonAndCheck("POST", f"/app/hook/deliveries/{delivery_id}/attempts")
        except GithubException as error:
            raise _error(error) from None

    def installation_of(self, repo: str) -> int:
        """GET /repos/{owner}/{repo}/installation (as the app): which installation covers a repository."""
        owner, name = repo.split("/")
        try:
            return int(self.integration.get_repo_installation(owner, name).id)
        except GithubException as error:
            raise _error(error) from None

    def installations(self) -> list[dict]:
        """GET /app/installations (as the app itself): id and account login of each."""
        try:
            return [
                {"id": i.id, "account": i.account.login if i.account else ""}
                for i in self.integration.get_installations()
            ]
        except GithubException as error:
            raise _error(error) from None


class GitHubClient:
    """One installation's REST client for one job: counts its calls and the rate limit left."""

    def __init__(self, app: GitHubApp, installation_id: int) -> None:
        self.app = app
        self.installation_id = installation_id
        self.calls = 0
        self.rate_remaining: int | None = None  # REST's budget
        self.graphql_cost = 0  # GraphQL's own budget, in points: what its `rateLimit` says each query cost
        self.graphql_remaining: int | None = None
        self._graphql_failed_before = False  # logged once a client: a server without GraphQL would log every batch
        self._github = github.Github(
            auth=Auth.Token(app.token(installation_id)),
            base_url=app.api_url,
            retry=0,
            seconds_between_requests=app.delay,
            seconds_between_writes=app.delay,
        )

    # --- the one door -------------------------------------------------------------------------------------

    def request(
        self,
        verb: str,
        path: str,
        params: dict | None = None,
        body: Any = None,
        headers: dict | None = None,
        read_only: bool = False,
        graphql: bool = False,
    ) -> tuple[dict[str, str], Any]:
        """One REST call with retries: rate limits (Retry-After, X-RateLimit-Reset), and 5xx on idempotent
        methods or `read_only` POSTs (GraphQL queries). A `graphql` call's rate headers are GraphQL's own
        budget, not REST's: they are left out of `rate_remaining`."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.calls += 1
            try:
                response_headers, data = self._github.requester.requestJsonAndCheck(
                    verb, path, parameters=params, headers=headers, input=body
                )
                if not graphql:
                    self._note_rate(response_headers)
                return response_headers, data
            except GithubException as raw:
                error = _error(raw)
            except (requests.ConnectionError, requests.Timeout) as dropped:  # no answer at all
                error = GitHubError(0, f"no answer ({type(dropped).__name__})")
            if not graphql:
                self._note_rate(error.headers)
            wait = self._retry_wait("GET" if read_only else verb, error, attempt)
            if wait is None or attempt == MAX_ATTEMPTS:
                raise error
            log.warning("github.retry", extra={"status": error.status, "wait": wait, "path": path})
            self.app.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_wait(self, verb: str, error: GitHubError, attempt: int) -> float | None:
        headers = {k.lower(): v for k, v in error.headers.items()}
        if error.status in (403, 429):
            if "retry-after" in headers:  # a secondary rate limit
                wait = float(headers["retry-after"])
            elif headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
                wait = max(0.0, float(headers["x-ratelimit-reset"]) - self.app.clock()) + 1
            else:
                return None  # a real "forbidden"
            return wait if wait <= MAX_RATE_WAIT else None
        if (error.status >= 500 or error.status == 0) and verb in IDEMPOTENT:
            return min(2.0 ** (attempt - 1), 30.0)
        return None

    def _note_rate(self, headers: dict[str, str]) -> None:
        for name, value in headers.items():
            if name.lower() == "x-ratelimit-remaining" and value.isdigit():
                self.rate_remaining = int(value)

    def paginate(self, path: str, params: dict | None = None, key: str | None = None) -> Iterator[Any]:
        """Every item of a list endpoint (under `key`, for endpoints that wrap their list in an object)."""

        def get(url: str, query: dict | None) -> tuple[dict[str, str], Any]:
            return self.request("GET", url, params=query)

        yield from pages_of(get, path, {"per_page": PER_PAGE, **(params or {})}, key=key)

    # --- repository contents -----------------------------------------------------------------------------------

    def file_text(self, repo: str, path: str, ref: str | None = None) -> str | None:
        """GET /repos/{owner}/{repo}/contents/{path}: the file's text, or None when it does not exist."""
        try:
            _, data = self.request("GET", f"/repos/{repo}/contents/{quote(path)}", params={"ref": ref} if ref else None)
        except GitHubError as error:
            if error.status == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        return base64.b64decode(data.get("content") or "").decode("utf-8", "replace")

    def tree(self, repo: str, sha: str) -> list[TreeEntry]:
        """Every blob of a commit (see `listing`)."""
        listing = self.listing(repo, sha)
        assert listing is not None  # an unconditional request always has an answer
        return listing.blobs

    def listing(self, repo: str, ref: str, etag: str | None = None) -> Listing | None:
        """GET /repos/{owner}/{repo}/git/trees/{tree_sha}?recursive=1: blobs and folders of a commit or branch.

        `ref` may be a branch name. With `etag`, the request is conditional: None when the tree is unchanged
        (a 304, which costs no rate limit).
        """
        headers = {"If-None-Match": etag} if etag else None
        response_headers, data = self.request(
            "GET", f"/repos/{repo}/git/trees/{quote(ref, safe='')}", params={"recursive": "1"}, headers=headers
        )
        if not data:
            return None
        entries = data.get("tree", [])
        return Listing(
            sha=data["sha"],
            blobs=[TreeEntry(e["path"], e["sha"], e.get("size", 0)) for e in entries if e.get("type") == "blob"],
            folders={"": data["sha"], **{e["path"]: e["sha"] for e in entries if e.get("type") == "tree"}},
            etag={k.lower(): v for k, v in response_headers.items()}.get("etag"),
        )

    def blob(self, repo: str, sha: str) -> bytes:
        """GET /repos/{owner}/{repo}/git/blobs/{file_sha}: a file's bytes (up to 100 MB)."""
        _, data = self.request("GET", f"/repos/{repo}/git/blobs/{sha}")
        return base64.b64decode(data.get("content") or "")

    # --- pull requests -----------------------------------------------------------------------------------

    def pull_files(self, repo: str, number: int) -> list[PullFile]:
        """GET /repos/{owner}/{repo}/pulls/{pull_number}/files (paginated; GitHub lists up to 3,000)."""
        return [
            PullFile(f["filename"], f["status"], f.get("sha"), f.get("patch"), f.get("previous_filename"))
            for f in self.paginate(f"/repos/{repo}/pulls/{number}/files")
        ]

    def review_comments(self, repo: str, number: int) -> list[ReviewComment]:
        """GET /repos/{owner}/{repo}/pulls/{pull_number}/comments (paginated)."""
        return [
            ReviewComment(
                c["id"],
                c["path"],
                c.get("line"),
                c.get("body") or "",
                c.get("in_reply_to_id"),
                (c.get("user") or {}).get("login", ""),
            )
            for c in self.paginate(f"/repos/{repo}/pulls/{number}/comments")
        ]

    def review_bodies(self, repo: str, number: int) -> list[tuple[str, str]]:
        """GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews (paginated): each review's author login and body."""
        return [
            ((r.get("user") or {}).get("login", ""), r.get("body") or "")
            for r in self.paginate(f"/repos/{repo}/pulls/{number}/reviews")
        ]

    def create_review(self, repo: str, number: int, commit_id: str, body: str, comments: list[dict]) -> int:
        """POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews: one review, all its comments, one call."""
        payload = {"commit_id": commit_id, "event": "COMMENT", "body": body, "comments": comments}
        _, data = self.request("POST", f"/repos/{repo}/pulls/{number}/reviews", body=payload)
        return int(data["id"])

    def delete_review_comment(self, repo: str, comment_id: int) -> None:
        """DELETE /repos/{owner}/{repo}/pulls/comments/{comment_id}."""
        self.request("DELETE", f"/repos/{repo}/pulls/comments/{comment_id}")

    def pull(self, repo: str, number: int) -> dict:
        """GET /repos/{owner}/{repo}/pulls/{pull_number}: what a comment's payload does not say (head, fork)."""
        _, data = self.request("GET", f"/repos/{repo}/pulls/{number}")
        return data

    def pulls(self, repo: str, head: str, state: str = "all") -> list[dict]:
        """GET /repos/{owner}/{repo}/pulls?head=owner:branch: the pull requests from one branch, newest first."""
        return list(
            self.paginate(
                f"/repos/{repo}/pulls", {"head": head, "state": state, "sort": "created", "direction": "desc"}
            )
        )

    def create_pull(self, repo: str, title: str, head: str, base: str, body: str) -> dict:
        """POST /repos/{owner}/{repo}/pulls."""
        payload = {"title": title, "head": head, "base": base, "body": body, "maintainer_can_modify": True}
        _, data = self.request("POST", f"/repos/{repo}/pulls", body=payload)
        return data

    def update_pull(self, repo: str, number: int, **fields: Any) -> None:
        """PATCH /repos/{owner}/{repo}/pulls/{pull_number} (title, body, state)."""
        self.request("PATCH", f"/repos/{repo}/pulls/{number}", body=fields)

    def permission(self, repo: str, user: str) -> str:
        """GET /repos/{owner}/{repo}/collaborators/{username}/permission: admin, maintain, write, triage, read or none."""
        try:
            _, data = self.request("GET", f"/repos/{repo}/collaborators/{quote(user)}/permission")
        except GitHubError as error:
            if error.status == 404:
                return "none"
            raise
        return str(data.get("role_name") or data.get("permission") or "none")

    def repository(self, repo: str) -> dict:
        """GET /repos/{owner}/{repo}: default branch, archived, fork."""
        _, data = self.request("GET", f"/repos/{repo}")
        return data

    def repositories(self) -> list[dict]:
        """GET /installation/repositories (paginated): the repositories this installation may see."""
        return list(self.paginate("/installation/repositories", key="repositories"))

    def branch_head(self, repo: str, branch: str, etag: str | None = None) -> tuple[str | None, str | None]:
        """GET /repos/{owner}/{repo}/git/ref/{ref}, conditional: (sha, etag); (None, etag) when not modified.

        A 304 answer costs no rate limit, so an unchanged repository is re-checked for free.
        """
        headers = {"If-None-Match": etag} if etag else None
        response_headers, data = self.request("GET", f"/repos/{repo}/git/ref/heads/{quote(branch)}", headers=headers)
        new_etag = {k.lower(): v for k, v in response_headers.items()}.get("etag")
        if not data:
            return None, etag
        return data["object"]["sha"], new_etag

    # --- issues and comments -----------------------------------------------------------------------------

    def comment(self, repo: str, number: int, body: str) -> dict:
        """POST /repos/{owner}/{repo}/issues/{issue_number}/comments."""
        _, data = self.request("POST", f"/repos/{repo}/issues/{number}/comments", body={"body": body})
        return data

    def react(self, repo: str, comment_id: int, content: str) -> None:
        """POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions (eyes, rocket, confused, …)."""
        self.request("POST", f"/repos/{repo}/issues/comments/{comment_id}/reactions", body={"content": content})

    def issues_labelled(self, repo: str, label: str) -> list[dict]:
        """GET /repos/{owner}/{repo}/issues?labels=…&state=all (paginated), pull requests left out."""
        items = self.paginate(f"/repos/{repo}/issues", {"labels": label, "state": "all"})
        return [i for i in items if "pull_request" not in i]

    def create_issue(self, repo: str, title: str, body: str, labels: list[str]) -> int:
        """POST /repos/{owner}/{repo}/issues."""
        _, data = self.request("POST", f"/repos/{repo}/issues", body={"title": title, "body": body, "labels": labels})
        return int(data["number"])

    def update_issue(self, repo: str, number: int, **fields: Any) -> None:
        """PATCH /repos/{owner}/{repo}/issues/{issue_number} (title, body, state, state_reason)."""
        self.request("PATCH", f"/repos/{repo}/issues/{number}", body=fields)

    def add_labels(self, repo: str, number: int, labels: list[str]) -> None:
        """POST /repos/{owner}/{repo}/issues/{issue_number}/labels."""
        self.request("POST", f"/repos/{repo}/issues/{number}/labels", body={"labels": labels})

    # --- git data: one commit of many files -----------------------------------------------------------------

    def ref_sha(self, repo: str, branch: str) -> str | None:
        """GET /repos/{owner}/{repo}/git/ref/{ref}: the branch's head, or None when it does not exist."""
        try:
            _, data = self.request("GET", f"/repos/{repo}/git/ref/heads/{quote(branch)}")
        except GitHubError as error:
            if error.status == 404:
                return None
            raise
        return data["object"]["sha"]

    def git_commit(self, repo: str, sha: str) -> dict:
        """GET /repos/{owner}/{repo}/git/commits/{commit_sha}: message, tree, parents."""
        _, data = self.request("GET", f"/repos/{repo}/git/commits/{sha}")
        return data

    def commit_message(self, repo: str, sha: str) -> str:
        return str(self.git_commit(repo, sha).get("message") or "")

    def create_commit(self, repo: str, parent: str, files: dict[str, bytes], message: str) -> str:
        """Blobs, a tree on the parent's tree, a commit (POST …/git/blobs, …/git/trees, …/git/commits)."""
        tree = []
        for path, data in sorted(files.items()):
            _, blob = self.request(
                "POST",
                f"/repos/{repo}/git/blobs",
                body={"content": base64.b64encode(data).decode(), "encoding": "base64"},
            )
            tree.append({"path": path, "mode": "100644", "type": "blob", "sha": blob["sha"]})
        _, new_tree = self.request(
            "POST",
            f"/repos/{repo}/git/trees",
            body={"base_tree": self.git_commit(repo, parent)["tree"]["sha"], "tree": tree},
        )
        _, commit = self.request(
            "POST",
            f"/repos/{repo}/git/commits",
            body={"message": message, "tree": new_tree["sha"], "parents": [parent]},
        )
        return commit["sha"]

    def move_branch(self, repo: str, branch: str, sha: str, force: bool = False) -> None:
        """PATCH /repos/{owner}/{repo}/git/refs/{ref} (the plural path: the singular one only reads).

        Not forced, GitHub answers 422 when the branch moved since `sha`'s parent was read.
        """
        self.request("PATCH", f"/repos/{repo}/git/refs/heads/{quote(branch)}", body={"sha": sha, "force": force})

    def create_branch(self, repo: str, branch: str, sha: str) -> None:
        """POST /repos/{owner}/{repo}/git/refs."""
        self.request("POST", f"/repos/{repo}/git/refs", body={"ref": f"refs/heads/{branch}", "sha": sha})

    def delete_branch(self, repo: str, branch: str) -> None:
        """DELETE /repos/{owner}/{repo}/git/refs/{ref}."""
        self.request("DELETE", f"/repos/{repo}/git/refs/heads/{quote(branch)}")

    def blob_texts(self, repo: str, shas: list[str], batch_size: int = GRAPHQL_BATCH) -> dict[str, bytes]:
        """Many blobs' contents, 50 to a GraphQL query (one call instead of 50); large or binary ones by REST.

        GraphQL is an optimisation: a batch it cannot answer is read blob by blob over REST.
        """
        found: dict[str, bytes] = {}
        for start in range(0, len(shas), batch_size):
            batch = shas[start : start + batch_size]
            objects = self._graphql_blobs(repo, batch)
            for i, sha in enumerate(batch):
                blob = (objects or {}).get(f"b{i}") or {}
                if blob.get("text") is not None and not blob.get("isTruncated") and not blob.get("isBinary"):
                    found[sha] = blob["text"].encode()
                elif blob.get("isBinary"):
                    found[sha] = b"\0"  # a binary file: the detector skips it
                else:
                    found[sha] = self.blob(repo, sha)
        return found

    def _graphql_blobs(self, repo: str, batch: list[str]) -> dict | None:
        """`repository { bN: object(oid) }` for a batch of blobs; None when GraphQL could not answer."""
        owner, name = repo.split("/")
        fields = " ".join(
            f'b{i}: object(oid: "{sha}") {{ ... on Blob {{ text isBinary isTruncated }} }}'
            for i, sha in enumerate(batch)
        )
        query = f"query($owner: String!, $name: String!) {{ repository(owner: $owner, name: $name) {{ {fields} }} }}"
        data = self.graphql(query, {"owner": owner, "name": name})
        return None if data is None else data.get("repository") or {}

    def graphql(self, query: str, variables: dict, mutation: bool = False) -> dict | None:
        """POST /graphql, charged to GraphQL's own budget (`rateLimit { cost remaining }`): its `data`, or None.

        GraphQL is an optimisation, never a dependency: a 404 (switched off, or blocked by a proxy), a 5xx
        after retries or a body with `errors` (a secondary limit on points, a refused query) give None, and
        the caller reads over REST or leaves the nicety out. Logged once a client.
        """
        if not mutation:
            query = query.replace("{", "{ rateLimit { cost remaining }", 1)
        try:
            _, answer = self.request(
                "POST",
                self._github.requester.graphql_url,
                body={"query": query, "variables": variables},
                read_only=not mutation,  # a query is safe to send again after a 5xx
                graphql=True,
            )
        except GitHubError as error:
            if error.status not in (0, 403, 404) and error.status < 500:
                raise
            self._graphql_failed(f"status {error.status}")
            return None
        answer = answer if isinstance(answer, dict) else {}
        data = answer.get("data") or {}
        limit = data.get("rateLimit") or {}
        self.graphql_cost += int(limit.get("cost") or 0)
        if isinstance(limit.get("remaining"), int):
            self.graphql_remaining = limit["remaining"]
        if answer.get("errors"):
            self._graphql_failed(str(answer["errors"])[:200])
            return None
        return data

    def _graphql_failed(self, reason: str) -> None:
        if not self._graphql_failed_before:
            self._graphql_failed_before = True
            log.warning("github.graphql-unavailable", extra={"reason": reason})

    def review_threads(self, repo: str, number: int) -> list[ReviewThread] | None:
        """GraphQL `pullRequest.reviewThreads`: each thread's id, state and comments; None without GraphQL."""
        owner, name = repo.split("/")
        query = (
            "query($owner: String!, $name: String!, $number: Int!, $after: String) "
            "{ repository(owner: $owner, name: $name) { pullRequest(number: $number) { "
            "reviewThreads(first: 100, after: $after) { pageInfo { hasNextPage endCursor } "
            "nodes { id isResolved comments(first: 1) { totalCount nodes { databaseId } } } } } } }"
        )
        threads: list[ReviewThread] = []
        after = None
        while True:
            data = self.graphql(query, {"owner": owner, "name": name, "number": number, "after": after})
            if data is None:
                return None
            page = ((data.get("repository") or {}).get("pullRequest") or {}).get("reviewThreads") or {}
            for node in page.get("nodes") or []:
                comments = node.get("comments") or {}
                first = (comments.get("nodes") or [{}])[0].get("databaseId")
                threads.append(
                    ReviewThread(node["id"], bool(node.get("isResolved")), first, int(comments.get("totalCount") or 0))
                )
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return threads
            after = info.get("endCursor")

    def resolve_review_thread(self, thread_id: str) -> bool:
        """GraphQL mutation `resolveReviewThread`: the conversation stays, folded as resolved."""
        query = "mutation($thread: ID!) { resolveReviewThread(input: {threadId: $thread}) { thread { id } } }"
        return self.graphql(query, {"thread": thread_id}, mutation=True) is not None

    # --- check runs -----------------------------------------------------------------------------------

    def create_check_run(self, repo: str, head_sha: str, name: str) -> int:
        """POST /repos/{owner}/{repo}/check-runs, in progress."""
        body = {"name": name, "head_sha": head_sha, "status": "in_progress", "started_at": _now()}
        _, data = self.request("POST", f"/repos/{repo}/check-runs", body=body)
        return int(data["id"])

    def update_check_run(self, repo: str, check_run_id: int, **fields: Any) -> None:
        """PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}."""
        self.request("PATCH", f"/repos/{repo}/check-runs/{check_run_id}", body=fields)

    def complete_check_run(self, repo: str, check_run_id: int, conclusion: str, output: dict) -> None:
        """PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}: completed, with its conclusion."""
        self.update_check_run(
            repo, check_run_id, status="completed", conclusion=conclusion, completed_at=_now(), output=output
        )


def pages_of(
    get: Callable[[str, dict | None], tuple[dict[str, str], Any]],
    path: str,
    query: dict | None,
    key: str | None = None,
    max_pages: int | None = None,
) -> Iterator[Any]:
    """The items of every page, following the Link header's rel="next" (its URL carries the query)."""
    url: str | None = path
    page = 0
    while url and (max_pages is None or page < max_pages):
        headers, data = get(url, query)
        yield from (data.get(key) or []) if key else data
        match = _NEXT.search({k.lower(): v for k, v in headers.items()}.get("link", ""))
        url, query, page = (match.group(1) if match else None), None, page + 1


def convert_manifest(api_url: str, code: str) -> dict:
    """POST /app-manifests/{code}/conversions: the app GitHub created from the manifest, with its secrets.

    The one call that needs no authentication: the code itself is the proof, valid for an hour, once.
    """
    response = requests.post(
        f"{api_url.rstrip('/')}/app-manifests/{quote(code)}/conversions",
        headers={"Accept": "application/vnd.github+json"},
        timeout=30,
    )
    if response.status_code != 201:
        raise GitHubError(response.status_code, response.text[:200])
    return response.json()


def _error(raw: GithubException) -> GitHubError:
    data = raw.data if isinstance(raw.data, dict) else {}
    message = str(data.get("message") or raw.data or "")
    return GitHubError(raw.status, message, dict(raw.headers or {}))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
