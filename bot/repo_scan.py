"""A whole commit of a repository through the detector, cheaply: one tree call, then only the blobs that can matter.

Blob SHAs name content, so a blob once read and found to mention nothing
ortfix looks for is never fetched again (a mark in the store, which keeps
the local files it imports: a page's import map reaches through it). Manifests
are always read; lockfiles only where a manifest names onnxruntime-web or
a wrapper; other files in batches over GraphQL.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from dataclasses import dataclass, field

from bot.backends import PACKAGE, table, wrappers
from bot.detector import Report, Scanner
from bot.detector.scanner import ancestors
from bot.detector.sources import links, mentions
from bot.github_client import GitHubClient, TreeEntry
from bot.repo_config import RepoConfig
from bot.store import Store

IRRELEVANT = "0"


@dataclass
class CommitScan:
    report: Report
    texts: dict[str, bytes] = field(default_factory=dict)  # every file read that can carry a finding or a fix
    blobs_read: int = 0


def scanner_for(config: RepoConfig) -> Scanner:
    versions = table()
    if config.min_version:
        versions = dataclasses.replace(versions, latest=config.min_version)
    return Scanner(ignore=config.ignore, versions=versions)


def scan_commit(
    client: GitHubClient, store: Store, repo: str, sha: str, config: RepoConfig, cdn_scope: bool = False
) -> CommitScan:
    """Scan `sha` of `repo`. With `cdn_scope` (the audit), source files are read only where they can matter:

    in packages whose package.json (or one above it) names onnxruntime-web or a wrapper, and HTML anywhere
    (a `<script src>` or an import map can load the CDN build without any package.json).
    """
    scanner = scanner_for(config)
    entries = [e for e in client.tree(repo, sha) if scanner.wants(e.path)]
    scan = CommitScan(Report())
    kinds = {e.path: scanner.wants(e.path) for e in entries}
    manifests = [e for e in entries if kinds[e.path] == "manifest"]
    _read(client, store, repo, scanner, scan, manifests, remember=False)
    names = (PACKAGE, *wrappers())
    interesting = {posixpath.dirname(p) for p, d in scan.texts.items() if any(n.encode() in d for n in names)}
    lockfiles = [
        e for e in entries if kinds[e.path] == "lockfile" and _above_any(posixpath.dirname(e.path), interesting)
    ]
    sources = []
    for entry in entries:
        if kinds[entry.path] != "source":
            continue
        mark = store.get(f"blob:{entry.sha}")
        if mark is not None and mark.startswith(IRRELEVANT):
            scanner.add_links(entry.path, json.loads(mark[len(IRRELEVANT) :] or "[]"))
        elif not cdn_scope or entry.path.endswith((".html", ".htm")) or _under_any(entry.path, interesting):
            sources.append(entry)
    _read(client, store, repo, scanner, scan, lockfiles, remember=False)
    _read(client, store, repo, scanner, scan, sources, remember=True)
    scanner.report.files_scanned += sum(1 for e in entries if kinds[e.path] == "source") - len(sources)
    scan.report = scanner.finish()
    return scan


def _read(
    client: GitHubClient,
    store: Store,
    repo: str,
    scanner: Scanner,
    scan: CommitScan,
    entries: list[TreeEntry],
    remember: bool,
) -> None:
    small = []
    for entry in entries:
        if entry.size > scanner.cap(scanner.wants(entry.path) or "source"):
            scanner.too_large(entry.path, entry.size)
        else:
            small.append(entry)
    contents = client.blob_texts(repo, sorted({e.sha for e in small}))
    scan.blobs_read += len(contents)
    for entry in small:
        data = contents[entry.sha]
        relevant = mentions(data) or not remember
        if remember and not relevant:
            found = links(entry.path, data)
            store.put(f"blob:{entry.sha}", IRRELEVANT + (json.dumps(found) if found else ""))
        if relevant:
            scan.texts[entry.path] = data
        scanner.add(entry.path, data)


def _under_any(path: str, interesting: set[str]) -> bool:
    """Whether a package.json at or above `path` names onnxruntime-web or a wrapper."""
    return any(directory in interesting for directory in ancestors(posixpath.dirname(path)))


def _above_any(directory: str, below: set[str]) -> bool:
    """Whether `directory` is one of `below` or an ancestor of one (a lockfile serves the packages under it)."""
    return any(d == directory or not directory or d.startswith(directory + "/") for d in below)
