"""Files on disk replaced all or nothing: each through a temporary file and a rename, undone if a later one fails."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


class WriteFailed(Exception):
    """A file could not be written; every file written before it has its old bytes back."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def replace_all(files: dict[Path, bytes]) -> None:
    """Write every file's new bytes, or (raising WriteFailed) leave every one of them as it was."""
    before: dict[Path, bytes] = {}
    for path, data in files.items():
        try:
            if not os.access(path, os.W_OK):
                raise PermissionError(errno.EACCES, "the file is read-only")
            before[path] = path.read_bytes()
            _replace(path, data)
        except OSError as error:
            for written, old in before.items():
                if written != path:
                    _replace(written, old)
            raise WriteFailed(path, error.strerror or str(error)) from error


def _replace(path: Path, data: bytes) -> None:
    """A reader sees the old bytes or the new ones, never half a file; the file's mode is kept."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".ortfix")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
