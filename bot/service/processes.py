"""`ortfix serve`'s children: they die with it, even when it is SIGKILLed, and stop with it on TERM, INT and HUP."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
GRACE_SECONDS = 30  # gunicorn's graceful timeout and the consumer's shutdown timeout are 25
POLL_SECONDS = 0.2


def spawn(command: list[str], env: dict[str, str] | None = None, idle: bool = False) -> subprocess.Popen:
    """Start `command` as a child that Linux sends SIGTERM when this process dies, however it dies.

    `idle`: Linux's SCHED_IDLE, so that the child runs on a core nothing else wants, and gives it up at once to a
    process that wakes (a web worker with a webhook to answer). A niced process still takes its share.
    """
    parent = os.getpid()

    def die_with_parent() -> None:  # in the child, between fork and exec
        if idle:
            with contextlib.suppress(OSError):  # a sandbox that forbids it (seccomp): the child runs as the parent does
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return subprocess.Popen(command, env=env, preexec_fn=die_with_parent if sys.platform == "linux" else None)


def supervise(children: list[subprocess.Popen], done: Callable[[], bool] = lambda: False) -> str:
    """Wait for a stop signal, a child's exit or `done()`; then stop every child and wait for them.

    Returns what ended the wait: "signal", "child" or "done".
    """
    received: list[int] = []
    previous = {number: signal.signal(number, lambda n, _frame: received.append(n)) for number in STOP_SIGNALS}
    try:
        while True:
            if received:
                return "signal"
            if any(child.poll() is not None for child in children):
                return "child"
            if done():
                return "done"
            time.sleep(POLL_SECONDS)
    finally:
        stop(children)
        for number, handler in previous.items():
            signal.signal(number, handler)


def stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM to each (gunicorn and the consumer stop gracefully on it), then wait; SIGKILL what outlives the grace."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
