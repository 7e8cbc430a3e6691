"""The audit of a repository's default branch: one standing issue while it has findings, found again by a marker.

Cheap by construction: a conditional request for the branch's tree first (a
304 costs no rate limit, so an unchanged repository costs nothing), then
one query for the manifests and HTML, and only the blobs that can matter
(see repo_scan); the repository's config and head commit only when there is
something to report.
A repository whose audit keeps failing waits longer each time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from bot.adapters.github import GitHubClient, GitHubError
from bot.adapters.store import Store
from bot.core import render
from bot.core.detector import INFO
from bot.core.detector.rules import fold_mixed
from bot.core.repo_config import RepoConfig
from bot.jobs.repo_scan import scan_commit, scanner_for
from bot.jobs.review import load_config

log = logging.getLogger("ortfix.audit")

LABEL = "ortfix"
WEEK = 7 * 24 * 3600


@dataclass(frozen=True)
class RepoInfo:
    full_name: str
    default_branch: str
    archived: bool = False
    fork: bool = False

    @classmethod
    def from_api(cls, data: dict) -> RepoInfo:
        return cls(
            data["full_name"], data.get("default_branch") or "main", bool(data.get("archived")), bool(data.get("fork"))
        )


@dataclass(frozen=True)
class AuditOutcome:
    action: str  # skipped | off | unchanged | clean | opened | updated | reopened | closed | waiting
    findings: int = 0
    issue: int | None = None
    summary: dict | None = None  # for the org-wide view: findings by rule, versions in use


def audit_repository(
    client: GitHubClient, store: Store, repo: RepoInfo, web_url: str, dry_run: bool = False
) -> AuditOutcome:
    """Audit `repo`'s default branch; the issue's links go to `web_url` (github.com or an Enterprise Server)."""
    if repo.archived or repo.fork:
        return AuditOutcome("skipped")
    with store.lock(f"audit-lock:{repo.full_name}", store.lease):  # Busy: another audits it now; one issue, not two
        state = _load(store, repo.full_name)
        if state.get("retry_at", 0) > store.clock():
            return AuditOutcome("waiting")  # failed before: backing off instead of failing the same way every week
        try:
            return _audit(client, store, repo, state, web_url, dry_run)
        except Exception:
            failures = state.get("failures", 0) + 1
            state.update(failures=failures, retry_at=store.clock() + WEEK * (2 ** (failures - 1) - 1))
            _save(store, repo.full_name, state)
            raise


def _audit(
    client: GitHubClient, store: Store, repo: RepoInfo, state: dict, web_url: str, dry_run: bool
) -> AuditOutcome:
    # the tree by branch name, conditional: one call, and a 304 (free) when nothing changed
    listing = client.listing(repo.full_name, repo.default_branch, state.get("etag"))
    if listing is None and "outcome" in state:
        return AuditOutcome("unchanged", state.get("findings", 0), state.get("issue"), state.get("summary"))
    if listing is None:  # a 304 without a record of the last audit: ask again, unconditionally
        listing = client.listing(repo.full_name, repo.default_branch)
    if listing is None:
        return AuditOutcome("skipped")
    # The config is read only when there is something to report: most repositories never need it.
    scan = scan_commit(client, store, repo.full_name, listing.sha, RepoConfig(), cdn_scope=True, listing=listing)
    findings = [f for f in scan.report.findings if f.severity != INFO]
    if findings:
        config = load_config(client, store, repo.full_name, repo.default_branch)
        if not config.audit:
            return AuditOutcome("off")
        if config.ignore or config.min_version:
            rescan = scanner_for(config)
            for path, data in scan.texts.items():
                rescan.add(path, data)
            scan.report = rescan.finish()
            findings = [f for f in scan.report.findings if f.severity != INFO]
        dry_run = dry_run or config.dry_run
    findings, folded = fold_mixed(findings)
    summary = render.audit_summary(findings, scan.report.versions)
    issue = state.get("issue") or (_find_issue(client, repo.full_name) if findings else None)
    action = "clean"
    if dry_run:
        action = "would-write" if findings else "clean"
        log.info("audit.dry-run", extra={"repo": repo.full_name, "findings": len(findings), "issue": issue})
    elif findings:
        head = _head(client, repo)  # the commit, for links that stay true after the branch moves
        title = render.audit_title(findings)
        body = render.audit_body(repo.full_name, head, findings, scan.report.versions, web_url, folded)
        if issue is None:
            issue, action = client.create_issue(repo.full_name, title, body, [LABEL]), "opened"
        else:
            client.update_issue(repo.full_name, issue, title=title, body=body, state="open")
            action = "reopened" if state.get("closed") else "updated"
    elif issue is not None and not state.get("closed"):
        client.comment(repo.full_name, issue, render.AUDIT_CLEAN.format(sha=_head(client, repo)))
        client.update_issue(repo.full_name, issue, state="closed", state_reason="completed")
        action = "closed"
    etag, head = listing.etag, listing.sha
    state.update(
        etag=etag,
        sha=head,
        issue=issue,
        closed=issue is not None and action in ("closed", "clean"),
        findings=len(findings),
        outcome=action,
        summary=summary,
        failures=0,
        retry_at=0,
    )
    _save(store, repo.full_name, state)
    return AuditOutcome(action, len(findings), issue, summary)


def _head(client: GitHubClient, repo: RepoInfo) -> str:
    head = client.ref_sha(repo.full_name, repo.default_branch)
    if head is None:
        raise GitHubError(404, f"{repo.default_branch} is gone")
    return head


def _find_issue(client: GitHubClient, repo: str) -> int | None:
    """The standing issue, by its hidden marker (a title may have been edited by people)."""
    for issue in client.issues_labelled(repo, LABEL):
        if render.AUDIT_MARKER in (issue.get("body") or ""):
            return int(issue["number"])
    return None


def _load(store: Store, repo: str) -> dict:
    saved = store.get(f"audit:{repo}")
    return json.loads(saved) if saved else {}


def _save(store: Store, repo: str, state: dict) -> None:
    store.put(f"audit:{repo}", json.dumps(state))


RATE_RESERVE = 1000  # calls left for reviews and commands while an audit runs
CALLS_PER_REPO = 12  # a generous estimate: head, config, tree, a few GraphQL batches, the issue
HOURLY_LIMIT = 5000  # an installation's REST budget
MIN_SPACING = 2.0  # seconds between two audits' starts: no bursts, no secondary rate limit


def pacing(repositories: int, remaining: int | None) -> list[float]:
    """Delays (seconds from now) to start each repository's audit so the installation never runs dry.

    Within what the rate limit has left, audits start MIN_SPACING apart; beyond it they spread over the
    following hours at the pace the hourly budget allows, so a large org finishes over hours, never fails.
    """
    budget = max(0, (HOURLY_LIMIT if remaining is None else remaining) - RATE_RESERVE)
    now_capacity = budget // CALLS_PER_REPO
    hourly_spacing = 3600.0 * CALLS_PER_REPO / (HOURLY_LIMIT - RATE_RESERVE)
    delays = []
    for index in range(repositories):
        if index < now_capacity:
            delays.append(index * MIN_SPACING)
        else:
            delays.append(now_capacity * MIN_SPACING + (index - now_capacity + 1) * max(hourly_spacing, MIN_SPACING))
    return delays


def write_org_issue(client: GitHubClient, store: Store, org: str, repositories: list[str], web_url: str) -> int | None:
    """One issue in `{org}/.github` with a row per affected repository; None when the org has no such repository."""
    home = f"{org}/.github"
    if home not in repositories:
        return None
    rows = {repo: state for repo in repositories if (state := _load(store, repo)).get("findings")}
    title, body = render.org_body(org, rows, web_url)
    number = next(
        (int(i["number"]) for i in client.issues_labelled(home, LABEL) if render.ORG_MARKER in (i.get("body") or "")),
        None,
    )
    if number is None:
        return client.create_issue(home, title, body, [LABEL]) if rows else None
    client.update_issue(home, number, title=title, body=body, state="open" if rows else "closed")
    return number
