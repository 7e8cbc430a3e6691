"""Feeds a directory tree on disk to a Scanner: the only file reading the CLI scan does."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.detector.scanner import SKIPPED_DIRS, Scanner, kind

PROGRESS_EVERY = 1000
PROGRESS_FROM = 3000  # trees smaller than this finish before a progress line is worth printing


def scan_root(scanner: Scanner, root: Path, only: Path | None = None, progress: bool = False) -> None:
    """Add every file under `root` that the scanner wants (or, with `only`, that file and the manifests above it)."""
    paths = _manifests_above(root, only) if only else _walk(root)
    bar = None
    if progress and sys.stderr.isatty():
        paths = list(paths)  # a bar needs the total; listing is cheap next to reading
        bar = _bar(len(paths)) if len(paths) >= PROGRESS_FROM else None
    for count, (relative, absolute) in enumerate(paths, 1):
        if bar and count % PROGRESS_EVERY == 0:
            bar(count)
        if not scanner.wants(relative):
            continue
        try:
            size = os.stat(absolute).st_size
            if size > scanner.cap(relative):
                scanner.too_large(relative, size)
                continue
            with open(absolute, "rb") as handle:
                data = handle.read()
        except OSError as error:
            scanner.report.notes.append(f"{relative}: not read ({error.strerror})")
            continue
        scanner.add(relative, data)
    if bar:
        bar(len(paths))
        sys.stderr.write("\n")


def _walk(root: Path):
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRS)
        relative_dir = os.path.relpath(directory, root)
        prefix = "" if relative_dir == "." else relative_dir.replace(os.sep, "/") + "/"
        for name in sorted(files):
            yield prefix + name, os.path.join(directory, name)


def _manifests_above(root: Path, only: Path):
    """`only`, plus the package.json files and lockfiles from its directory up to `root`."""
    yield only.relative_to(root).as_posix(), str(only)
    directory = only.parent
    while True:
        for entry in sorted(directory.iterdir()):
            if entry.is_file() and entry != only and kind(entry.name) in ("manifest", "lockfile"):
                yield entry.relative_to(root).as_posix(), str(entry)
        if directory == root:
            return
        directory = directory.parent


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
