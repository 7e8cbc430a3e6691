"""A command run as the unprivileged sandbox user: its own directory, empty HOME, scrubbed environment, limits.

The service itself runs as root or as its own user and holds the app's private
key, `.env` and database; a package manager reads files a pull request chose.
So it runs as another account that owns nothing but a fresh temporary
directory, in its own session (the whole group is killed on timeout), with
limits on CPU time, memory, file size and processes. When the service cannot
switch to that account it runs nothing: `Unavailable` says why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CPU_SECONDS = 300
MEMORY_BYTES = 2 * 1024**3  # RLIMIT_DATA: node's heap and buffers; V8's address-space reservations are not counted
FILE_BYTES = 512 * 1024**2
PROCESSES = 256  # counted per user: every sandboxed run at once shares it


class Unavailable(Exception):
    """The sandbox user cannot be switched to: nothing is run."""


def account(user: str) -> pwd.struct_passwd:
    """The sandbox user's entry, when this process may become it."""
    if os.geteuid() != 0:
        raise Unavailable(f"the service does not run as root, so it cannot switch to the user {user}")
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise Unavailable(f"the user {user} does not exist (create it with: useradd --system {user})") from None
    if entry.pw_uid == 0:
        raise Unavailable(f"the user {user} is root")
    return entry


@contextmanager
def workdir(user: str) -> Iterator[Path]:
    """A temporary directory owned by the sandbox user (mode 0700), with an empty `home` inside; removed after."""
    entry = account(user)
    temp = Path(tempfile.mkdtemp(prefix="ortfix-sandbox-"))
    try:
        os.chown(temp, entry.pw_uid, entry.pw_gid)
        (temp / "home").mkdir()
        (temp / "work").mkdir()
        yield temp
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def hand_over(directory: Path, user: str) -> None:
    """Everything under `directory` owned by the sandbox user, so that it may write there."""
    entry = account(user)
    for root, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    os.chown(directory, entry.pw_uid, entry.pw_gid)


def _limits() -> None:  # pragma: no cover - runs in the child process, between fork and exec
    """In the child, after it became the sandbox user: limits it cannot raise again."""
    for limit, value in (
        (resource.RLIMIT_CPU, CPU_SECONDS),
        (resource.RLIMIT_DATA, MEMORY_BYTES),
        (resource.RLIMIT_FSIZE, FILE_BYTES),
        (resource.RLIMIT_NPROC, PROCESSES),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def run(command: list[str], cwd: Path, env: dict[str, str], user: str, timeout: float) -> subprocess.CompletedProcess:
    """`command` as `user` in its own session; on timeout its whole process group is killed and TimeoutExpired raised."""
    entry = account(user)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        umask=0o077,
        start_new_session=True,
        preexec_fn=_limits,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever it left running in the background
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
