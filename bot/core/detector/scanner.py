"""A scan of a tree: files go in one by one, the report comes out at the end.

Pure: the caller reads the files (from disk, or from GitHub) and hands over
bytes; nothing here touches the network or the disk.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.core.detector.findings import SEVERITIES, Finding, Report
from bot.core.detector.lockfiles import LOCKFILE_NAMES, covers, resolved_version, resolving_row
from bot.core.detector.manifests import Manifest, parse_manifest
from bot.core.detector.rules import Locked, Package, WrapperUse, evaluate
from bot.core.detector.sources import (
    CODE_GRAMMARS,
    PAGE_SUFFIXES,
    SOURCE_SUFFIXES,
    FileFacts,
    Place,
    links,
    mentions,
    read_facts,
    skip_reason,
    vendored_bundle,
)
from bot.core.versions import PACKAGE, VersionTable, min_version, table, wrappers

MAX_SOURCE_BYTES = 1_000_000
MAX_LOCKFILE_BYTES = 64_000_000
SKIPPED_DIRS = ("node_modules", ".git")
_SKIPPED = frozenset(SKIPPED_DIRS)
TOO_LARGE_NOTE = "{path}: not scanned, {size:,} bytes is over the {cap:,}-byte cap"


class Scanner:
    def __init__(
        self,
        *,
        ignore: Iterable[str] = (),
        max_bytes: int = MAX_SOURCE_BYTES,
        versions: VersionTable | None = None,
        linking: bool = True,
    ) -> None:
        self.ignore = tuple(ignore)
        self.max_bytes = max_bytes
        self.table = versions or table()
        self.linking = linking  # read the files' relative imports (only pages need them; a caller may know none)
        self.report = Report()
        self._facts: list[FileFacts] = []
        self._manifests: dict[str, Manifest] = {}
        self._lockfiles: dict[str, tuple[str, str]] = {}  # directory → (lockfile name, text)
        self._links: dict[str, tuple[str, ...]] = {}  # source path → the local files it loads, as written

    def wants(self, path: str) -> str | None:
        """The kind of file `path` is, or None when it cannot matter: lets a caller skip reading it."""
        file_kind = kind(path)
        if file_kind is None or _in_skipped_dir(path) or (self.ignore and self._ignored(path)):
            return None
        return file_kind

    def cap(self, file_kind: str) -> int:
        return size_cap(file_kind, self.max_bytes)

    def too_large(self, path: str, size: int) -> None:
        self.report.skipped["too-large"] += 1
        cap = self.cap(kind(path) or "source")
        self.report.notes.append(TOO_LARGE_NOTE.format(path=path, size=size, cap=cap))

    def add(self, path: str, data: bytes, file_kind: str | None = None) -> None:
        """Take one file; `file_kind` is what `wants` answered, when the caller already asked."""
        file_kind = file_kind or self.wants(path)
        if file_kind is not None:
            self.record(examine(path, data, file_kind, self.cap(file_kind), self.linking))

    def record(self, examined: Examined) -> None:
        """Keep what `examine` found; the only step that changes the scanner."""
        path, result = examined.path, examined.result
        if isinstance(result, int):
            self.too_large(path, result)
        elif isinstance(result, Manifest):
            self._manifests[result.dir] = result
        elif isinstance(result, Lockfile):
            self._lockfiles.setdefault(posixpath.dirname(path), (posixpath.basename(path), result.text))
        elif examined.kind == "source":
            self.report.files_scanned += 1
            if examined.links:
                self._links[path] = examined.links
            if isinstance(result, str):
                self.report.skipped[result] += 1
            elif result is not None:
                self._facts.append(result)

    def record_empty(self, count: int) -> None:
        """Keep `count` sources that hold nothing (see `Examined.empty`): a large tree's files, sent as a number."""
        self.report.files_scanned += count

    def add_links(self, path: str, found: Iterable[str]) -> None:
        """The local files a source loads, found apart from the rest of it (see `links`)."""
        if found:
            self._links[path] = tuple(found)

    def finish(self) -> Report:
        # a root override seen from several packages is one finding, as loud as its loudest package
        findings: dict[tuple[str, int, int, str], Finding] = {}
        for package in self._packages():
            if package.declared:
                self.report.versions[package.dir or "."] = {"range": package.declared, "installed": package.resolved}
            for finding in evaluate(package, self.table):
                key = (finding.path, finding.line, finding.column, finding.rule)
                if key not in findings or SEVERITIES.index(finding.severity) < SEVERITIES.index(findings[key].severity):
                    findings[key] = finding
        self.report.findings = sorted(findings.values(), key=lambda f: (f.path, f.line, f.column, f.rule))
        for directory in self._manifests:
            lockfile_dir = self.lockfile_dir(directory)
            if lockfile_dir is not None:
                lockfile = posixpath.join(lockfile_dir, self._lockfiles[lockfile_dir][0])
                self.report.lockfiles[directory or "."] = lockfile
        return self.report

    def _packages(self) -> list[Package]:
        """The units the rules judge as a whole: a package; outside any package.json, a page or a folder.

        A page is an HTML document with every script it loads, transitively; a
        loose file that no page loads belongs to its folder.
        """
        pages = self._pages()
        loaded_by: dict[str, list[str]] = defaultdict(list)
        for page, loaded in pages.items():
            for path in loaded:
                loaded_by[path].append(page)
        units: dict[tuple[str, str], Package] = {}
        for facts in self._facts:
            directory = self._package_dir(facts.path)
            if directory is not None:
                keys = [("package", directory)]
            else:
                keys = [("page", page) for page in loaded_by[facts.path]] or [("folder", posixpath.dirname(facts.path))]
            for key in keys:
                units.setdefault(key, Package(posixpath.dirname(key[1]) if key[0] == "page" else key[1]))
                units[key].files.append(facts)
        for manifest in self._manifests.values():
            if manifest.aliases:  # package.json "imports" entries load onnxruntime-web for the whole package
                package = units.setdefault(("package", manifest.dir), Package(manifest.dir))
                package.files.append(FileFacts(manifest.path, loads=list(manifest.aliases)))
        asked_in: dict[str, set[str]] = defaultdict(set)  # folder → the providers its files ask for
        for facts in self._facts:
            asked_in[posixpath.dirname(facts.path)] |= facts.providers
        for (unit_kind, name), package in units.items():
            package.mapped_paths = _mapped_paths(package, pages)
            if unit_kind == "package":
                self._resolve_versions(package)
            elif unit_kind == "folder":  # a page next to loose files says what the folder's code asks for
                package.nearby_providers = asked_in[name]
        return list(units.values())

    def _pages(self) -> dict[str, set[str]]:
        """Each page (an HTML document) → the files it loads: itself, its scripts and their imports, transitively."""
        known = set(self._links) | {facts.path for facts in self._facts}
        pages = {}
        for page in sorted(p for p in known if p.lower().endswith(PAGE_SUFFIXES)):
            loaded, stack = {page}, [page]
            while stack:
                path = stack.pop()
                for written in self._links.get(path, ()):
                    target = _resolve_link(path, written, known)
                    if target is not None and target not in loaded:
                        loaded.add(target)
                        stack.append(target)
            pages[page] = loaded
        return pages

    def _package_dir(self, path: str) -> str | None:
        for directory in ancestors(posixpath.dirname(path)):
            if directory in self._manifests:
                return directory
        return None

    def _resolve_versions(self, package: Package) -> None:
        """The package's ranges (its own declaration, the global overrides above it), versions and wrappers."""
        declaring: Manifest | None = None
        for directory in ancestors(package.dir):
            manifest = self._manifests.get(directory)
            if manifest is None:
                continue
            if declaring is None and manifest.declared:
                declaring = manifest
                package.ranges.extend(manifest.declared)
            # an override scoped to a wrapper changes the wrapper's copy, not the one this package loads
            package.ranges.extend(r for r in manifest.overrides if not r.parent)
            for name, wrapper in wrappers().items():
                line = manifest.wrapper(name)
                if line is not None and all(use.wrapper.name != name for use in package.wrappers):
                    locked = self._locked(manifest.dir, name, line.range)
                    installed = locked.version if locked else min_version(line.range)
                    package.wrappers.append(WrapperUse(line, wrapper, installed))
        if declaring is not None:
            package.declared = declaring.declared[0].range
            package.lock = self._locked(declaring.dir, PACKAGE, package.declared)
            package.resolved = package.lock.version if package.lock else None

    def _locked(self, manifest_dir: str, name: str, declared: str) -> Locked | None:
        """The version of `name` that the project's lockfile installs at `manifest_dir`, and where it says so.

        Even a lockfile that no longer matches `declared` answers: what it holds is what `npm ci` installs.
        """
        directory = self.lockfile_dir(manifest_dir)
        if directory is None:
            return None
        lockfile, text = self._lockfiles[directory]
        relative = posixpath.relpath(manifest_dir or ".", directory or ".")
        relative = "" if relative == "." else relative
        version = resolved_version(lockfile, text, relative, declared, name) or resolved_version(
            lockfile, text, relative, None, name
        )
        if version is None:
            return None
        row = resolving_row(lockfile, text, relative, version, name)
        line = text.split("\n")[row].removesuffix("\r").encode()
        at = Place(posixpath.join(directory, lockfile), row, 0, 0, line, version, "lockfile")
        return Locked(at, version, lockfile)

    def lockfile_dir(self, manifest_dir: str) -> str | None:
        """Where the lockfile that decides `manifest_dir`'s versions is: a workspace root's, else the nearest.

        npm, yarn, pnpm and bun install a workspace member from the root's lockfile and ignore one of its own.
        """
        nearest = None
        for directory in ancestors(manifest_dir):
            if directory not in self._lockfiles:
                continue
            if nearest is None:
                nearest = directory
            if directory != manifest_dir and self._is_workspace_of(directory, manifest_dir):
                return directory
        return nearest

    def _is_workspace_of(self, root: str, member: str) -> bool:
        relative = member[len(root) + 1 :] if root else member
        manifest = self._manifests.get(root)
        if manifest is not None and any(fnmatch.fnmatchcase(relative, glob) for glob in manifest.workspaces):
            return True
        lockfile, text = self._lockfiles[root]
        return covers(lockfile, text, relative)

    def _ignored(self, path: str) -> bool:
        return any(_glob_match(path, pattern) for pattern in self.ignore)


@dataclass(frozen=True)
class Lockfile:
    text: str  # empty when it does not name onnxruntime-web: nothing to read in it


@dataclass(frozen=True)
class Examined:
    """What one file holds, found without touching the scanner: safe to compute on any thread.

    `result`: a Manifest, a Lockfile, the source's FileFacts, a skip reason,
    the size of a file over the cap, or None when a source holds nothing.
    """

    path: str
    kind: str
    result: Manifest | Lockfile | FileFacts | str | int | None
    links: tuple[str, ...] = ()  # the local files a source loads (see sources.links)

    @property
    def empty(self) -> bool:
        """Nothing for `Scanner.record` to keep but that a source was scanned."""
        return self.kind == "source" and self.result is None and not self.links


def examine(path: str, data: bytes, file_kind: str, cap: int, linking: bool = True) -> Examined:
    result: Manifest | Lockfile | FileFacts | str | int | None = None
    found_links: tuple[str, ...] = ()
    if len(data) > cap:
        result = len(data)
    elif file_kind == "manifest":
        result = parse_manifest(path, data, wrappers())
    elif file_kind == "lockfile":
        # every lockfile says which package manager installs there; only one naming the package is worth decoding
        result = Lockfile(data.decode("utf-8", "replace") if PACKAGE.encode() in data else "")
    else:
        found_links = links(path, data) if linking else ()
        if mentions(data):
            result = vendored_bundle(path, data) or skip_reason(path, data)
            if result is None:
                facts = read_facts(path, data)
                result = facts if facts.loads or facts.providers or facts.companions else None
    return Examined(path, file_kind, result, found_links)


def scan_files(files: Iterable[tuple[str, bytes]], **options) -> Report:
    """Scan (path, bytes) pairs; paths are relative with `/` separators."""
    scanner = Scanner(**options)
    for path, data in files:
        scanner.add(path, data)
    return scanner.finish()


def size_cap(file_kind: str, max_source_bytes: int) -> int:
    return MAX_LOCKFILE_BYTES if file_kind == "lockfile" else max_source_bytes


def kind(path: str) -> str | None:
    name = posixpath.basename(path)
    if name == "package.json":
        return "manifest"
    if name in LOCKFILE_NAMES:
        return "lockfile"
    if name.lower().endswith(SOURCE_SUFFIXES):
        return "source"
    return None


def _resolve_link(source: str, written: str, known: set[str]) -> str | None:
    """The scanned file that `written` (an import or `src` in `source`) names, trying the usual extensions."""
    written = written.split("?", 1)[0].split("#", 1)[0]
    if written.startswith("/"):
        base = posixpath.normpath(written.lstrip("/"))
    else:
        base = posixpath.normpath(posixpath.join(posixpath.dirname(source), written))
    if base.startswith("../") or base == "..":
        return None
    candidates = [base, *(base + suffix for suffix in CODE_GRAMMARS), *(f"{base}/index{s}" for s in CODE_GRAMMARS)]
    return next((c for c in candidates if c in known), None)


def _mapped_paths(package: Package, pages: dict[str, set[str]]) -> set[str]:
    """The unit's files whose bare `onnxruntime-web` imports an import map resolves.

    An HTML import map covers the files its page loads; a standalone import map file covers its whole unit.
    """
    paths = {facts.path for facts in package.files}
    mapped: set[str] = set()
    for facts in package.files:
        if PACKAGE not in facts.mapped:
            continue
        if facts.path not in pages:
            return paths  # a standalone import map file (Deno's, a bundler's): no page says what it covers
        mapped |= pages[facts.path] & paths
    return mapped


def _in_skipped_dir(path: str) -> bool:
    return not _SKIPPED.isdisjoint(path.split("/")[:-1])


def ancestors(directory: str) -> Iterator[str]:
    """`directory`, its parent, … up to the root ('')."""
    while True:
        yield directory
        if not directory:
            return
        directory = posixpath.dirname(directory)


def _glob_match(path: str, pattern: str) -> bool:
    """gitignore-like: `dir/` matches below it, `**/` matches at any depth, `*` crosses `/`."""
    pattern = pattern.strip()
    if pattern.endswith("/"):
        return path.startswith(pattern) or f"/{pattern}" in f"/{path}"
    candidates = (pattern, pattern.removeprefix("**/"))
    return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(posixpath.basename(path), p) for p in candidates)
