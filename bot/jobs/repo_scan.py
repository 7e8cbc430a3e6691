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

from bot.adapters.github import GitHubClient, Listing, TreeEntry
from bot.adapters.store import Store
from bot.core.detector import Report, Scanner
from bot.core.detector.scanner import ancestors
from bot.core.detector.sources import links, mentions
from bot.core.repo_config import RepoConfig
from bot.core.versions import PACKAGE, table, wrappers

IRRELEVANT = "0"
PACKAGE_QUERY_BLOBS = 250  # a package's sources in one query: GitHub charges a query by connections, not objects


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
    client: GitHubClient,
    store: Store,
    repo: str,
    sha: str,
    config: RepoConfig,
    cdn_scope: bool = False,
    listing: Listing | None = None,
) -> CommitScan:
    """Scan `sha` of `repo` (its `listing`, when the caller has it). With `cdn_scope` (the audit), source files
    are read only where they can matter:

    in packages whose package.json (or one above it) names onnxruntime-web or a wrapper, and HTML anywhere
    (a `<script src>` or an import map can load the CDN build without any package.json). The HTML is read
    in the manifests' batch, so a repository without onnxruntime-web costs one query.
    """
    scanner = scanner_for(config)
    entries = [e for e in (listing.blobs if listing else client.tree(repo, sha)) if scanner.wants(e.path)]
    scan = CommitScan(Report())
    kinds = {e.path: scanner.wants(e.path) for e in entries}
    marks = {e.path: store.get(f"blob:{e.sha}") or "" for e in entries if kinds[e.path] == "source"}
    known = {path for path, mark in marks.items() if mark.startswith(IRRELEVANT)}  # read once, mentioned nothing
    html = [e for e in entries if cdn_scope and e.path in marks and e.path not in known and _is_html(e.path)]
    _read(client, store, repo, scanner, scan, [e for e in entries if kinds[e.path] == "manifest"] + html)
    names = (PACKAGE, *wrappers())
    interesting = {
        posixpath.dirname(p)
        for p, d in scan.texts.items()
        if kinds[p] == "manifest" and any(n.encode() in d for n in names)
    }
    lockfiles = [
        e for e in entries if kinds[e.path] == "lockfile" and _above_any(posixpath.dirname(e.path), interesting)
    ]
    sources = []
    for entry in entries:
        if entry.path not in marks or entry in html:
            continue
        if entry.path in known:
            scanner.add_links(entry.path, json.loads(marks[entry.path][len(IRRELEVANT) :] or "[]"))
        elif not cdn_scope or _under_any(entry.path, interesting):
            sources.append(entry)
    _read(client, store, repo, scanner, scan, lockfiles + sources)
    scanner.report.files_scanned += sum(1 for e in entries if kinds[e.path] == "source") - len(sources) - len(html)
    scan.report = scanner.finish()
    return scan


def _read(
    client: GitHubClient, store: Store, repo: str, scanner: Scanner, scan: CommitScan, entries: list[TreeEntry]
) -> None:
    """Read `entries` in batches; a source that mentions nothing is marked so that its blob is never read again."""
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
        if scanner.wants(entry.path) == "source" and not mentions(data):
            _mark_irrelevant(store, entry.path, entry.sha, data)
        else:
            scan.texts[entry.path] = data
        scanner.add(entry.path, data)


def _mark_irrelevant(store: Store, path: str, sha: str, data: bytes) -> None:
    """A blob that mentions nothing is never read again; the mark keeps the local files it imports."""
    found = links(path, data)
    store.put(f"blob:{sha}", IRRELEVANT + (json.dumps(found) if found else ""))


def _is_html(path: str) -> bool:
    return path.endswith((".html", ".htm"))


def _under_any(path: str, interesting: set[str]) -> bool:
    """Whether a package.json at or above `path` names onnxruntime-web or a wrapper."""
    return any(directory in interesting for directory in ancestors(posixpath.dirname(path)))


def _above_any(directory: str, below: set[str]) -> bool:
    """Whether `directory` is one of `below` or an ancestor of one (a lockfile serves the packages under it)."""
    return any(d == directory or not directory or d.startswith(directory + "/") for d in below)


def package_folder(listing: Listing, path: str) -> str:
    """The folder of the package.json nearest to `path` ("" for the root, also when there is none)."""
    manifests = {posixpath.dirname(e.path) for e in listing.blobs if posixpath.basename(e.path) == "package.json"}
    return next((d for d in ancestors(posixpath.dirname(path)) if d in manifests), "")


def package_sources(
    client: GitHubClient,
    store: Store,
    repo: str,
    listing: Listing,
    folder: str,
    scanner: Scanner,
    have: dict[str, bytes],
) -> dict[str, bytes]:
    """The package's source files beyond `have` (already read) that mention what ortfix looks for: its
    'webgpu' requests, its loads.

    Remembered per the folder's tree SHA (it names the folder's content), and per blob: a second pull
    request that leaves these files alone reads nothing.
    """
    key = f"package:{repo}:{listing.folders.get(folder, listing.sha)}"
    saved = store.get(key)
    if saved is not None:
        relevant = json.loads(saved)
    else:
        nested = {
            posixpath.dirname(e.path)
            for e in listing.blobs
            if posixpath.basename(e.path) == "package.json" and posixpath.dirname(e.path) != folder
        }
        relevant = {
            e.path: e.sha
            for e in listing.blobs
            if (not folder or e.path.startswith(folder + "/"))
            and scanner.wants(e.path) == "source"
            and e.size <= scanner.cap("source")
            and not _in_nested(e.path, nested, folder)
            and not (store.get(f"blob:{e.sha}") or "").startswith(IRRELEVANT)
        }
    texts = {relevant[path]: data for path, data in have.items() if path in relevant}
    for sha in set(relevant.values()) - set(texts):
        if (text := store.get(f"text:{sha}")) is not None:
            texts[sha] = text.encode()
    unknown = sorted(set(relevant.values()) - set(texts))
    paths = {sha: path for path, sha in relevant.items()}
    texts.update(client.blob_texts(repo, unknown, PACKAGE_QUERY_BLOBS))
    for sha in unknown:
        if mentions(texts[sha]):
            store.put(f"text:{sha}", texts[sha].decode("utf-8", "replace"))
        else:
            _mark_irrelevant(store, paths[sha], sha, texts[sha])
    relevant = {path: sha for path, sha in relevant.items() if mentions(texts[sha])}
    store.put(key, json.dumps(relevant))
    return {path: texts[sha] for path, sha in relevant.items() if path not in have}


def _in_nested(path: str, nested: set[str], folder: str) -> bool:
    """Whether `path` belongs to a package nested below `folder` rather than to `folder`'s own."""
    below = [
        d for d in ancestors(posixpath.dirname(path)) if d != folder and (not folder or d.startswith(folder + "/"))
    ]
    return any(d in nested for d in below)
