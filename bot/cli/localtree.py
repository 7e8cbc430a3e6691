"""Feeds a directory tree on disk to a Scanner: the only file reading the CLI scan does."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pathspec

from bot.core.detector.javascript import warm
from bot.core.detector.scanner import SKIPPED_DIRS, Examined, Scanner, examine, kind, size_cap
from bot.core.detector.sources import PAGE_SUFFIXES

GITIGNORE = ".gitignore"

NOT_READ = "{path}: not read ({reason})"
NOT_JSON = "{path}: not read as a package.json ({error})"
BATCH = 500  # files a worker process takes at once; a tree of one batch is scanned in-process
PROGRESS_FROM = 3000  # trees smaller than this finish before a progress line is worth printing
Job = tuple[list[tuple[str, str, str]], int, bool]  # (relative, absolute path, kind) of each file; size cap; linking
Outcomes = list[Examined | str]  # per file, what it holds or a note that it could not be read


def scan_root(
    scanner: Scanner, root: Path, only: list[Path] | None = None, progress: bool = False, gitignore: bool = True
) -> list[str]:
    """Add every file under `root` that the scanner wants (or, with `only`, those files and the manifests above them).

    With `gitignore`, what the tree's .gitignore files ignore is not scanned (build output, vendored copies).
    Large trees are read and parsed by a process per core (threads lose to the
    GIL here; measured in bench/scan_bench.py); the scanner records the results
    in walk order either way. Returns the paths whose contents the findings
    depend on (manifests, lockfiles, sources with something to say or that load
    other files): what a fix needs to hold in memory.
    """
    unread: list[str] = []
    paths = _files_and_manifests(root, only) if only else _walk(root, unread, gitignore)
    wanted = [(relative, absolute, file_kind) for relative, absolute in paths if (file_kind := scanner.wants(relative))]
    scanner.report.notes.extend(unread)
    show = _bar(len(wanted)) if progress and sys.stderr.isatty() and len(wanted) >= PROGRESS_FROM else None
    # relative imports only matter to what a page loads: a tree without a page skips reading them
    scanner.linking = any(relative.lower().endswith(PAGE_SUFFIXES) for relative, _, _ in wanted)

    jobs: list[Job] = [
        (wanted[i : i + BATCH], scanner.max_bytes, scanner.linking) for i in range(0, len(wanted), BATCH)
    ]
    results = _map(_examine_batch, iter(jobs))
    count = 0
    relevant = []
    for outcomes in results:
        for outcome in outcomes:
            if isinstance(outcome, str):
                scanner.report.notes.append(outcome)
            else:
                scanner.record(outcome)
                if outcome.links or (outcome.result is not None and not isinstance(outcome.result, str | int)):
                    relevant.append(outcome.path)
        count += len(outcomes)
        if show:
            show(count)
    if show:
        show(len(wanted))
        sys.stderr.write("\n")
    return relevant


def _map(function: Callable[[Job], Outcomes], jobs: Iterator[Job]) -> Iterator[Outcomes]:
    """`function` over `jobs`: in worker processes when there are two or more, else here; all taken before returning."""
    first = list(itertools.islice(jobs, 2))
    if len(first) < 2 or (os.cpu_count() or 1) < 2:
        return map(function, [*first, *jobs])
    warm()  # compiled once here, inherited by every forked worker
    pool = ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("fork"))
    return _finally_shut(pool, pool.map(function, itertools.chain(first, jobs)))


def _finally_shut(pool: ProcessPoolExecutor, results: Iterator[Outcomes]) -> Iterator[Outcomes]:
    with pool:
        yield from results


def _examine_batch(job: Job) -> Outcomes:
    batch, max_bytes, linking = job
    return [_examine_file(item, max_bytes, linking) for item in batch]


def _examine_file(item: tuple[str, str, str], max_bytes: int, linking: bool) -> Examined | str:
    relative, absolute, file_kind = item
    cap = size_cap(file_kind, max_bytes)
    try:
        data = _read(absolute, cap)
        if data is None:
            return Examined(relative, file_kind, os.stat(absolute).st_size)
    except OSError as error:
        return NOT_READ.format(path=relative, reason=error.strerror)
    examined = examine(relative, data, file_kind, cap, linking)
    if file_kind == "manifest" and examined.result is None:
        return _manifest_note(relative, data)
    return examined


def _manifest_note(relative: str, data: bytes) -> str:
    """Why a package.json could not be read: the JSON error and where."""
    try:
        json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        return NOT_JSON.format(path=relative, error=f"not UTF-8 at byte {error.start}")
    except json.JSONDecodeError as error:
        return NOT_JSON.format(path=relative, error=f"{error.msg} at line {error.lineno}, column {error.colno}")
    return NOT_JSON.format(path=relative, error="not a JSON object")


def _read(path: str, cap: int) -> bytes | None:
    """The file's bytes, or None when it is larger than `cap` (then it is not read)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(descriptor).st_size
        if size > cap:
            return None
        data = os.read(descriptor, size + 1)  # one read is the rule: a short read is the end of the file
        if len(data) > size:  # the file grew since fstat: read on to its end or past the cap
            chunks = [data]
            while chunks[-1] and sum(map(len, chunks)) <= cap:
                chunks.append(os.read(descriptor, 1 << 16))
            data = b"".join(chunks)
    finally:
        os.close(descriptor)
    return None if len(data) > cap else data


def _walk(root: Path, unread: list[str], gitignore: bool = True):
    """Every file under `root`, in a stable order; with `gitignore`, as git sees it (ripgrep's rules).

    Each .gitignore applies below its own directory, a deeper one overriding a
    shallower one; a directory it ignores is not entered. A directory that
    cannot be listed adds a note to `unread`.
    """

    def note(error: OSError) -> None:
        relative = Path(os.path.relpath(error.filename, root)).as_posix()
        unread.append(NOT_READ.format(path=relative + "/", reason=error.strerror))

    rules: dict[str, list[tuple[str, pathspec.GitIgnoreSpec]]] = {"": []}  # directory → the .gitignore files above
    for directory, subdirectories, files in os.walk(root, onerror=note):
        relative_dir = os.path.relpath(directory, root)
        prefix = "" if relative_dir == "." else relative_dir.replace(os.sep, "/") + "/"
        active = rules.pop(prefix.rstrip("/"), [])
        if gitignore and GITIGNORE in files:
            active = [*active, (prefix, _gitignore(os.path.join(directory, GITIGNORE)))]
        kept = []
        for name in sorted(subdirectories):
            if name not in SKIPPED_DIRS and not _ignored(active, prefix + name + "/"):
                kept.append(name)
                rules[prefix + name] = active
        subdirectories[:] = kept
        for name in sorted(files):
            if not _ignored(active, prefix + name):
                yield prefix + name, os.path.join(directory, name)


def _gitignore(path: str) -> pathspec.GitIgnoreSpec:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return pathspec.GitIgnoreSpec.from_lines(file)
    except OSError:
        return pathspec.GitIgnoreSpec.from_lines([])


def _ignored(rules: list[tuple[str, pathspec.GitIgnoreSpec]], path: str) -> bool:
    """Whether the deepest .gitignore with a say on `path` (relative to the root) ignores it."""
    for base, spec in reversed(rules):
        decided = spec.check_file(path[len(base) :]).include
        if decided is not None:
            return decided
    return False


def _files_and_manifests(root: Path, only: list[Path]):
    """Each of `only`, plus the package.json files and lockfiles from their directories up to `root`, each once."""
    seen: set[Path] = set()
    for file in only:
        found = [file]
        directory = file.parent
        while True:
            found += [
                e for e in sorted(directory.iterdir()) if e.is_file() and kind(e.name) in ("manifest", "lockfile")
            ]
            if directory == root:
                break
            directory = directory.parent
        for entry in found:
            if entry not in seen:
                seen.add(entry)
                yield entry.relative_to(root).as_posix(), str(entry)


def find_root(path: Path) -> Path:
    """The repository a single file belongs to (its git top level), or the file's directory."""
    for directory in path.parents:
        if (directory / ".git").exists():
            return directory
    return path.parent


def _bar(total: int, width: int = 30) -> Callable[[int], None]:
    def show(count: int) -> None:
        done = width * count // total
        sys.stderr.write(f"\rortfix [{'#' * done}{'.' * (width - done)}] {count:,}/{total:,} files")
        sys.stderr.flush()

    return show
