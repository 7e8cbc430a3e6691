"""Feeds a directory tree on disk to a Scanner: the only file reading the CLI scan does."""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.core.detector.scanner import SKIPPED_DIRS, Examined, Scanner, examine, kind, size_cap
from bot.core.detector.sources import PAGE_SUFFIXES, links

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import pathspec

GITIGNORE = ".gitignore"

NOT_READ = "{path}: not read ({reason})"
NOT_JSON = "{path}: not read as a package.json ({error})"
BATCH = 500  # files a worker process takes at once; a tree of one batch is scanned in-process
FIRST_READ = 1 << 16  # bytes of a file read before asking its size
PROGRESS_FROM = 3000  # trees smaller than this finish before a progress line is worth printing
Job = tuple[str, list[tuple[str, str]], int, bool]  # the root; (relative path, kind) of each file; size cap; linking
Outcomes = tuple[int, list[Examined | str]]  # sources that hold nothing; of the others, what each holds or a note
Rules = list[tuple[str, "pathspec.GitIgnoreSpec"]]  # the .gitignore files above a directory, by their directory
T = TypeVar("T")
R = TypeVar("R")


def scan_root(
    scanner: Scanner, root: Path, only: list[Path] | None = None, progress: bool = False, gitignore: bool = True
) -> list[str]:
    """Add every file under `root` that the scanner wants (or, with `only`, those files and the manifests above them).

    With `gitignore`, what the tree's .gitignore files ignore is not scanned (build output, vendored copies).
    Large trees are read and parsed by a process per core (threads lose to the
    GIL here; measured in bench/scan_bench.py), which start on the first files
    while the walk goes on; the scanner records the results in walk order either
    way. Returns the paths whose contents the findings depend on (manifests,
    lockfiles, sources with something to say or that load other files): what a
    fix needs to hold in memory.
    """
    unread: list[str] = []
    paths = _files_and_manifests(root, only) if only else _walk(root, unread, gitignore)
    wanted = ((relative, file_kind) for relative in paths if (file_kind := scanner.wants(relative)))
    sent: list[Job] = []
    results = _map(_examine_batch, _jobs(str(root), wanted, scanner.max_bytes, sent))  # the walk ends in here
    scanner.report.notes.extend(unread)
    scanner.linking = any(linking for *_, linking in sent)
    total = sum(len(batch) for _, batch, _, _ in sent)
    show = _bar(total) if progress and sys.stderr.isatty() and total >= PROGRESS_FROM else None
    count = 0
    relevant = set()
    for empty, outcomes in results:
        scanner.record_empty(empty)
        for outcome in outcomes:
            if isinstance(outcome, str):
                scanner.report.notes.append(outcome)
            else:
                scanner.record(outcome)
                if outcome.links or (outcome.result is not None and not isinstance(outcome.result, str | int)):
                    relevant.add(outcome.path)
        count += empty + len(outcomes)
        if show:
            show(count)
    if show:
        show(total)
        sys.stderr.write("\n")
    if scanner.linking:  # a page turned up after the first files went out: their imports are read now
        for path, found in itertools.chain.from_iterable(_map(_links_batch, (job for job in sent if not job[3]))):
            scanner.add_links(path, found)
            relevant.add(path)
    return [path for _, batch, _, _ in sent for path, _ in batch if path in relevant]  # in walk order


def _jobs(root: str, wanted: Iterator[tuple[str, str]], max_bytes: int, sent: list[Job]) -> Iterator[Job]:
    """`wanted` in batches as the walk finds the files, so that workers start before it ends; each kept in `sent`.

    Relative imports only matter to what a page loads: the batches read them from the first page seen on.
    """
    linking = False
    while batch := list(itertools.islice(wanted, BATCH)):
        linking = linking or any(relative.lower().endswith(PAGE_SUFFIXES) for relative, _ in batch)
        sent.append((root, batch, max_bytes, linking))
        yield sent[-1]


def _map(function: Callable[[T], R], jobs: Iterator[T]) -> Iterator[R]:
    """`function` over `jobs`: in worker processes when there are two or more, else here; all taken before returning."""
    first = list(itertools.islice(jobs, 2))
    if len(first) < 2 or (os.cpu_count() or 1) < 2:
        return map(function, [*first, *jobs])
    import multiprocessing  # here: a small tree, or a tree of one file, never pays for the import
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("fork"))
    return _finally_shut(pool, pool.map(function, itertools.chain(first, jobs)))


def _finally_shut(pool: Executor, results: Iterator[R]) -> Iterator[R]:
    with pool:
        yield from results


def _examine_batch(job: Job) -> Outcomes:
    """What a batch holds, without the sources that hold nothing: most of a tree, not worth pickling one by one."""
    root, batch, max_bytes, linking = job
    above = os.path.join(root, "")  # the root with its separator: a concatenation per file, not an os.path.join
    outcomes = [
        _examine_file(above + relative, relative, file_kind, max_bytes, linking) for relative, file_kind in batch
    ]
    kept = [outcome for outcome in outcomes if isinstance(outcome, str) or not outcome.empty]
    return len(outcomes) - len(kept), kept


def _links_batch(job: Job) -> list[tuple[str, tuple[str, ...]]]:
    """The relative imports of a batch's sources (sent before a page was seen), for those that have some."""
    root, batch, max_bytes, _ = job
    above = os.path.join(root, "")
    found = []
    for relative, file_kind in batch:
        try:
            data = _read(above + relative, size_cap(file_kind, max_bytes)) if file_kind == "source" else None
        except OSError:
            continue  # noted when it was examined
        if data is not None and (loaded := links(relative, data)):
            found.append((relative, loaded))
    return found


def _examine_file(absolute: str, relative: str, file_kind: str, max_bytes: int, linking: bool) -> Examined | str:
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
    """The file's bytes, or None when it is larger than `cap` (then, past its first read, it is not read)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        data = os.read(descriptor, FIRST_READ)  # a short read is the end of the file: most sources need no fstat
        if len(data) == FIRST_READ:
            size = os.fstat(descriptor).st_size
            if size > cap:
                return None
            data += os.read(descriptor, max(1, size + 1 - FIRST_READ))
            if len(data) > size:  # the file grew since fstat: read on to its end or past the cap
                chunks = [data]
                while chunks[-1] and sum(map(len, chunks)) <= cap:
                    chunks.append(os.read(descriptor, FIRST_READ))
                data = b"".join(chunks)
    finally:
        os.close(descriptor)
    return None if len(data) > cap else data


def _walk(root: Path, unread: list[str], gitignore: bool = True) -> Iterator[str]:
    """Every file under `root` (its path relative to `root`), in a stable order; with `gitignore`, as git sees it.

    Each .gitignore applies below its own directory, a deeper one overriding a
    shallower one; a directory it ignores is not entered. A directory that
    cannot be listed adds a note to `unread`. Like `os.walk`, a file's directory
    comes before its subdirectories and a symlink to a directory is not entered;
    unlike it, paths come out relative, without a relpath per directory.
    """
    pending: list[tuple[str, Rules]] = [("", [])]  # directories to list: relative path with a trailing `/`, rules
    while pending:
        prefix, active = pending.pop()
        directory = os.path.join(root, prefix)
        files, subdirectories = [], []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if _is_dir(entry):
                        subdirectories.append((entry.name, entry.is_symlink()))
                    else:
                        files.append(entry.name)
        except OSError as error:
            unread.append(NOT_READ.format(path=prefix or "./", reason=error.strerror))
            continue
        if gitignore and GITIGNORE in files:
            active = [*active, (prefix, _gitignore(os.path.join(directory, GITIGNORE)))]
        for name in sorted(files):
            path = prefix + name
            if not (active and _ignored(active, path)):
                yield path
        for name, link in sorted(subdirectories, reverse=True):  # popped in name order
            path = prefix + name + "/"
            if not link and name not in SKIPPED_DIRS and not (active and _ignored(active, path)):
                pending.append((path, active))


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # as os.walk: what cannot be looked at is listed as a file (and reading it gives the note)
        return False


def _gitignore(path: str) -> pathspec.GitIgnoreSpec:
    import pathspec  # here: most trees have no .gitignore, and the import costs a scan 30 ms

    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return pathspec.GitIgnoreSpec.from_lines(file)
    except OSError:
        return pathspec.GitIgnoreSpec.from_lines([])


def _ignored(rules: Rules, path: str) -> bool:
    """Whether the deepest .gitignore with a say on `path` (relative to the root) ignores it."""
    for base, spec in reversed(rules):
        decided = spec.check_file(path[len(base) :]).include
        if decided is not None:
            return decided
    return False


def _files_and_manifests(root: Path, only: list[Path]) -> Iterator[str]:
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
                yield entry.relative_to(root).as_posix()


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
