"""A scan of a tree: files go in one by one, the report comes out at the end.

Pure: the caller reads the files (from disk, or from GitHub) and hands over
bytes; nothing here touches the network or the disk.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.backends import PACKAGE, VersionTable, min_version, table, wrappers
from bot.detector.findings import SEVERITIES, Finding, Report
from bot.detector.lockfiles import LOCKFILE_NAMES, resolved_version
from bot.detector.manifests import Manifest, parse_manifest
from bot.detector.rules import Package, WrapperUse, evaluate
from bot.detector.sources import SOURCE_SUFFIXES, FileFacts, mentions, read_facts, skip_reason

MAX_SOURCE_BYTES = 1_000_000
MAX_LOCKFILE_BYTES = 64_000_000
SKIPPED_DIRS = ("node_modules", ".git")
TOO_LARGE_NOTE = "{path}: not scanned, {size:,} bytes is over the {cap:,}-byte cap"


class Scanner:
    def __init__(
        self,
        *,
        ignore: Iterable[str] = (),
        max_bytes: int = MAX_SOURCE_BYTES,
        versions: VersionTable | None = None,
    ) -> None:
        self.ignore = tuple(ignore)
        self.max_bytes = max_bytes
        self.table = versions or table()
        self.report = Report()
        self._facts: list[FileFacts] = []
        self._manifests: dict[str, Manifest] = {}
        self._lockfiles: dict[str, tuple[str, str]] = {}  # directory → (lockfile name, text)

    def wants(self, path: str) -> str | None:
        """The kind of file `path` is, or None when it cannot matter: lets a caller skip reading it."""
        file_kind = kind(path)
        if file_kind is None or _in_skipped_dir(path) or self._ignored(path):
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
            self.record(examine(path, data, file_kind, self.cap(file_kind)))

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
            if isinstance(result, str):
                self.report.skipped[result] += 1
            elif result is not None:
                self._facts.append(result)

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
        return self.report

    def _packages(self) -> list[Package]:
        packages: dict[str, Package] = {}
        for facts in self._facts:
            directory = self._package_dir(facts.path)
            packages.setdefault(directory, Package(directory)).files.append(facts)
        for package in packages.values():
            self._resolve_versions(package)
        return list(packages.values())

    def _package_dir(self, path: str) -> str:
        for directory in ancestors(posixpath.dirname(path)):
            if directory in self._manifests:
                return directory
        return ""

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
                    installed = self._locked(manifest.dir, name, line.range) or min_version(line.range)
                    package.wrappers.append(WrapperUse(line, wrapper, installed))
        if declaring is not None:
            package.declared = declaring.declared[0].range
            package.resolved = self._locked(declaring.dir, PACKAGE, package.declared)

    def _locked(self, manifest_dir: str, name: str, declared: str) -> str | None:
        """The version of `name` that the nearest lockfile at or above `manifest_dir` installs there."""
        for directory in ancestors(manifest_dir):
            if directory in self._lockfiles:
                lockfile, text = self._lockfiles[directory]
                relative = posixpath.relpath(manifest_dir or ".", directory or ".")
                return resolved_version(lockfile, text, "" if relative == "." else relative, declared, name)
        return None

    def _ignored(self, path: str) -> bool:
        return any(_glob_match(path, pattern) for pattern in self.ignore)


@dataclass(frozen=True)
class Lockfile:
    text: str


@dataclass(frozen=True)
class Examined:
    """What one file holds, found without touching the scanner: safe to compute on any thread.

    `result`: a Manifest, a Lockfile, the source's FileFacts, a skip reason,
    the size of a file over the cap, or None when a source holds nothing.
    """

    path: str
    kind: str
    result: Manifest | Lockfile | FileFacts | str | int | None


def examine(path: str, data: bytes, file_kind: str, cap: int) -> Examined:
    result: Manifest | Lockfile | FileFacts | str | int | None = None
    if len(data) > cap:
        result = len(data)
    elif file_kind == "manifest":
        result = parse_manifest(path, data, wrappers())
    elif file_kind == "lockfile":
        result = Lockfile(data.decode("utf-8", "replace")) if PACKAGE.encode() in data else None
    elif mentions(data):
        result = skip_reason(path, data)
        if result is None:
            facts = read_facts(path, data)
            result = facts if facts.loads or facts.providers or facts.companions else None
    return Examined(path, file_kind, result)


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


def _in_skipped_dir(path: str) -> bool:
    return any(part in SKIPPED_DIRS for part in path.split("/")[:-1])


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
