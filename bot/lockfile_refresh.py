"""Lockfiles brought back in line after a range change, the way Renovate does its artifact updates.

The project's own package manager runs in a temporary directory that holds
only the manifests and the lockfile: never the repository's scripts
(`--ignore-scripts`), never its `.npmrc`, with a time limit. When that
cannot be done, the caller leaves the range alone and says what to run.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

TIMEOUT = 180
COMMANDS = {
    "package-lock.json": ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
    "npm-shrinkwrap.json": ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
    "pnpm-lock.yaml": ["corepack", "pnpm", "install", "--lockfile-only", "--ignore-scripts"],
    "yarn.lock": ["corepack", "yarn", "install", "--mode=update-lockfile"],  # yarn berry; classic below
    "bun.lock": ["bun", "install", "--lockfile-only", "--ignore-scripts"],
}
YARN_CLASSIC = ["npx", "--yes", "yarn@1", "install", "--ignore-scripts", "--non-interactive", "--no-progress"]

Runner = Callable[..., subprocess.CompletedProcess]


class RefreshFailed(Exception):
    """The lockfile could not be regenerated; `command` is what the user should run instead."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.reason = reason


def command_for(lockfile: str, text: bytes) -> list[str]:
    name = posixpath.basename(lockfile)
    if name == "yarn.lock" and b"__metadata:" not in text:
        return YARN_CLASSIC
    return COMMANDS[name]


def refresh(lockfile: str, files: dict[str, bytes], run: Runner = subprocess.run, timeout: float = TIMEOUT) -> bytes:
    """The new lockfile for `files` (the lockfile and the package.json files it covers, paths relative to the repo)."""
    root = posixpath.dirname(lockfile)
    command = command_for(lockfile, files[lockfile])
    shown = " ".join(command[:3]) + (f" (in {root}/)" if root else "")
    if shutil.which(command[0]) is None:
        raise RefreshFailed(shown, f"{command[0]} is not installed on the ortfix server")
    with tempfile.TemporaryDirectory(prefix="ortfix-lock-") as temp:
        for path, data in files.items():
            target = Path(temp) / posixpath.relpath(path, root or ".")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": temp, "COREPACK_ENABLE_DOWNLOAD_PROMPT": "0", "CI": "1"}
        try:
            result = run(command, cwd=temp, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RefreshFailed(shown, f"gave up after {timeout:.0f} s") from None
        if result.returncode != 0:
            last = (result.stderr or result.stdout or "").strip().splitlines()[-1:] or ["failed"]
            raise RefreshFailed(shown, last[0])
        return (Path(temp) / posixpath.basename(lockfile)).read_bytes()
