"""The pull request review: the PR's candidate files through the detector, one review and a check run out.

The client is passed in. Calls, in order: the config (cached a few minutes),
the check run's create, the PR's files, the head tree (only when a file is a
candidate: it says where the package.json files and lockfiles are), the
candidates' contents (one GraphQL query for up to 50), ortfix's earlier
comments and reviews, one review, the check run's update(s).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import posixpath
from dataclasses import dataclass

from bot.adapters.github import GitHubClient, GitHubError, Listing, PullFile
from bot.adapters.store import Store
from bot.core import render, repo_config
from bot.core.detector import ERROR, INFO, Finding, Scanner
from bot.core.detector.companions import JSEP_MARK
from bot.core.detector.lockfiles import LOCKFILE_NAMES
from bot.core.detector.rules import fold_mixed
from bot.core.detector.scanner import ancestors
from bot.core.diffs import added_lines
from bot.core.repo_config import RepoConfig
from bot.core.versions import PACKAGE
from bot.jobs.repo_scan import package_folder, package_sources, scanner_for

log = logging.getLogger("ortfix.review")

MAX_INLINE = 30  # more comments than this bury the PR; the rest go in the review body
ANNOTATIONS_PER_CALL = 50  # GitHub's limit per check run update
CONFIG_TTL = 300.0
_PATCH_MENTIONS = (PACKAGE, "webg", JSEP_MARK.decode())


@dataclass(frozen=True)
class PullRequest:
    repo: str  # owner/name of the base repository
    number: int
    head_sha: str
    default_branch: str
    draft: bool

    @classmethod
    def from_payload(cls, payload: dict) -> PullRequest:
        pr = payload["pull_request"]
        return cls(
            repo=payload["repository"]["full_name"],
            number=int(pr["number"]),
            head_sha=pr["head"]["sha"],
            default_branch=payload["repository"]["default_branch"],
            draft=bool(pr.get("draft")),
        )


@dataclass(frozen=True)
class Outcome:
    inline: int = 0
    in_body: int = 0
    deleted: int = 0
    resolved: int = 0
    conclusion: str | None = None
    skipped: str | None = None


def review_pull_request(client: GitHubClient, store: Store, pr: PullRequest) -> Outcome:
    if pr.draft:
        return Outcome(skipped="draft")
    with store.lock(f"pr:{pr.repo}#{pr.number}", store.lease):  # Busy: another job reviews it right now
        return _review(client, store, pr)


def load_config(client: GitHubClient, store: Store, repo: str, default_branch: str) -> RepoConfig:
    """`.github/ortfix.yml` from the default branch only (a PR cannot change the rules), else the org's `.github` repo."""
    key = f"config:{repo}"
    cached = store.get(key)
    if cached:
        saved = json.loads(cached)
        if saved["at"] + CONFIG_TTL > store.clock():
            return repo_config.parse(saved["text"])
    text = client.file_text(repo, repo_config.PATH, ref=default_branch)
    if text is None:
        owner = repo.split("/")[0]
        text = client.file_text(f"{owner}/.github", repo_config.PATH)
    store.put(key, json.dumps({"at": store.clock(), "text": text}))
    return repo_config.parse(text)


def _review(client: GitHubClient, store: Store, pr: PullRequest) -> Outcome:
    config = load_config(client, store, pr.repo, pr.default_branch)
    check = _CheckRun(client, store, pr, config)
    check.start()
    files = client.pull_files(pr.repo, pr.number)
    scanner = scanner_for(config)
    candidates = [f for f in files if _is_candidate(scanner, f)]
    if not candidates:
        conclusion = check.finish([], len(files))
        return Outcome(conclusion=conclusion, skipped="no candidate files")
    listing = client.listing(pr.repo, pr.head_sha)
    assert listing is not None  # an unconditional request
    shown = _contents(client, pr.repo, listing, candidates)
    for path, data in shown.items():
        scanner.add(path, data)
    # the package is judged whole: its 'webgpu' request or JSEP loads may sit in files the PR leaves alone, and a
    # changed range or lockfile is judged against the loads of the package it decides
    folders = {package_folder(listing, f.path) for f in candidates}
    for folder in sorted(folders):
        for path, data in package_sources(client, store, pr.repo, listing, folder, scanner, shown).items():
            scanner.add(path, data)
    report = scanner.finish()
    findings, folded = fold_mixed([f for f in report.findings if f.severity != INFO], set(shown))
    added = {f.path: added_lines(f.patch) for f in candidates}
    inline = [f for f in findings if f.line in added.get(f.path, ())]
    elsewhere = [f for f in findings if f not in inline]
    outcome = Outcome()
    if config.review:
        outcome = _post_review(client, pr, config, inline, elsewhere, folded)
    conclusion = check.finish(findings, len(files), folded)
    return dataclasses.replace(outcome, conclusion=conclusion)


def _is_candidate(scanner: Scanner, file: PullFile) -> bool:
    if file.status == "removed" or not file.sha:
        return False
    kind = scanner.wants(file.path)
    if kind in ("manifest", "lockfile"):
        return True
    # a patch GitHub did not include (binary, or too large to show) could hide anything: fetch the file
    return kind == "source" and (file.patch is None or any(word in file.patch for word in _PATCH_MENTIONS))


def _contents(client: GitHubClient, repo: str, listing: Listing, candidates: list[PullFile]) -> dict[str, bytes]:
    """The candidates' bytes, and the package.json files and lockfiles that decide their versions."""
    wanted = {f.path: f.sha for f in candidates}
    tree = {entry.path: entry.sha for entry in listing.blobs}
    for file in candidates:
        for directory in ancestors(posixpath.dirname(file.path)):
            for name in ("package.json", *LOCKFILE_NAMES):
                path = posixpath.join(directory, name)
                if path in tree:
                    wanted.setdefault(path, tree[path])
    contents = client.blob_texts(repo, sorted({sha for sha in wanted.values() if sha}))
    return {path: contents[sha] for path, sha in sorted(wanted.items()) if sha}


def _by_app(login: str) -> bool:
    """A GitHub App's login (`name[bot]`): no person's account can end so."""
    return login.endswith("[bot]")


def _post_review(
    client: GitHubClient,
    pr: PullRequest,
    config: RepoConfig,
    inline: list[Finding],
    elsewhere: list[Finding],
    folded: tuple[int, ...],
) -> Outcome:
    comments = client.review_comments(pr.repo, pr.number)
    # only an app's comment can be ortfix's: a person who pastes a fingerprint must not silence a finding
    ours = [c for c in comments if _by_app(c.author) and render.fingerprints_in(c.body)]
    standing = set().union(*(render.fingerprints_in(c.body) for c in ours))
    for author, body in client.review_bodies(pr.repo, pr.number):
        if _by_app(author):
            standing |= render.fingerprints_in(body)
    new_inline = [f for f in inline if f.fingerprint not in standing]
    overflow, new_inline = new_inline[MAX_INLINE:], new_inline[:MAX_INLINE]
    new_body = [f for f in elsewhere if f.fingerprint not in standing] + overflow
    current = {f.fingerprint for f in (*inline, *elsewhere)}
    replied = {c.in_reply_to for c in comments if c.in_reply_to}
    stale = [c for c in ours if not render.fingerprints_in(c.body) & current and c.id not in replied]
    if config.dry_run:
        log.info("review.dry-run", extra={"inline": len(new_inline), "body": len(new_body), "stale": len(stale)})
        return Outcome(inline=len(new_inline), in_body=len(new_body), deleted=len(stale))
    deleted = resolved = 0
    if config.stale_comments == "delete":
        for comment in stale:
            client.delete_review_comment(pr.repo, comment.id)
        deleted = len(stale)
    elif stale:
        resolved = _resolve(client, pr, {c.id for c in stale})
    if new_inline or new_body:
        _create_review(client, pr, new_inline, new_body, folded)
    return Outcome(inline=len(new_inline), in_body=len(new_body), deleted=deleted, resolved=resolved)


def _resolve(client: GitHubClient, pr: PullRequest, stale: set[int]) -> int:
    """Resolve the open threads that `stale` comments opened and nobody answered: the conversation stays readable."""
    threads = client.review_threads(pr.repo, pr.number) or []  # without GraphQL they simply stay open
    due = [t for t in threads if t.first_comment in stale and not t.resolved and t.comments == 1]
    return sum(client.resolve_review_thread(thread.id) for thread in due)


def _create_review(
    client: GitHubClient, pr: PullRequest, inline: list[Finding], body_findings: list[Finding], folded: tuple[int, ...]
) -> None:
    """One review, one call. A POST is not retried blindly: after a 5xx, look whether it landed first."""
    key = hashlib.sha256(
        (pr.head_sha + "".join(sorted(f.fingerprint for f in (*inline, *body_findings)))).encode()
    ).hexdigest()[:16]
    body = render.review_body(body_findings, key, folded)
    comments = [{"path": f.path, "line": f.line, "side": "RIGHT", "body": render.comment_body(f)} for f in inline]
    try:
        client.create_review(pr.repo, pr.number, pr.head_sha, body, comments)
    except GitHubError as error:
        if 0 < error.status < 500:
            raise  # refused; a 5xx or no answer at all leaves the outcome unknown
        marker = render.REVIEW_MARKER.format(key)
        if any(marker in body for author, body in client.review_bodies(pr.repo, pr.number) if _by_app(author)):
            return
        client.create_review(pr.repo, pr.number, pr.head_sha, body, comments)


class _CheckRun:
    """The `ortfix` check run on the head commit: created once per commit (its id kept in the store)."""

    def __init__(self, client: GitHubClient, store: Store, pr: PullRequest, config: RepoConfig) -> None:
        self.client, self.store, self.pr, self.config = client, store, pr, config
        self.key = f"check:{pr.repo}:{pr.head_sha}"
        self.id: int | None = None
        self.enabled = config.check != "off" and not config.dry_run

    def start(self) -> None:
        if not self.enabled:
            return
        saved = self.store.get(self.key)
        if saved:
            self.id = int(saved)
            self.client.update_check_run(self.pr.repo, self.id, status="in_progress")
        else:
            self.id = self.client.create_check_run(self.pr.repo, self.pr.head_sha, render.CHECK_NAME)
            self.store.put(self.key, str(self.id))

    def finish(self, findings: list[Finding], files: int, folded: tuple[int, ...] = ()) -> str | None:
        if not self.enabled or self.id is None:
            return None
        if any(f.severity == ERROR for f in findings):
            conclusion = "failure" if self.config.check == "failure" else "neutral"
        else:
            conclusion = "neutral" if findings else "success"
        output = render.check_output(findings, files, self.config.errors, folded)
        notes = render.check_annotations(findings)
        batches = [notes[i : i + ANNOTATIONS_PER_CALL] for i in range(0, len(notes), ANNOTATIONS_PER_CALL)] or [[]]
        for batch in batches[:-1]:
            self.client.update_check_run(self.pr.repo, self.id, output={**output, "annotations": batch})
        self.client.complete_check_run(self.pr.repo, self.id, conclusion, {**output, "annotations": batches[-1]})
        return conclusion
