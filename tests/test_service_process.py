"""The service as it runs: real gunicorn serving real payloads, `ortfix serve` starting and stopping, clear errors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.core import events
from tests.conftest import METRICS_AUTH, METRICS_TOKEN, SECRET, free_port, pull_request_payload
from tests.paths import ORTFIX


def service_env(tmp_path: Path, private_key: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "REDIS_URL"))
    }
    env.update(
        {
            "APP_ID": "12345",
            "PRIVATE_KEY": private_key,
            "WEBHOOK_SECRET": SECRET,
            "METRICS_TOKEN": METRICS_TOKEN,
            "ORTFIX_DB": str(tmp_path / "o.db"),
            "LOG_LEVEL": "warning",
        }
    )
    env.update(extra)
    return env


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:  # refused, or too slow on a busy machine: not up yet
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def gunicorn(tmp_path, private_key):
    port = free_port()
    env = service_env(tmp_path, private_key)
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "bot.web:wsgi()"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/healthz", process)
    yield base, tmp_path / "o.db"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def test_real_gunicorn_records_and_queues_a_signed_delivery(gunicorn) -> None:
    """Through gunicorn: 202, the delivery in the SQLite store, its task in the queue; a forged one 401."""
    base, db = gunicorn
    body = json.dumps(pull_request_payload("opened", "octo-org/web-app", 7, "a" * 40)).encode()
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "g-1", "Content-Type": "application/json"}
    forged = requests.post(
        f"{base}/api/github/webhooks", data=body, headers={**headers, "X-Hub-Signature-256": "sha256=00"}, timeout=10
    )
    assert forged.status_code == 401
    sent = requests.post(
        f"{base}/api/github/webhooks",
        data=body,
        headers={**headers, "X-Hub-Signature-256": events.sign(SECRET, body)},
        timeout=10,
    )
    assert sent.status_code == 202
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT status FROM ortfix_deliveries WHERE id = 'g-1'").fetchone() == ("queued",)
        assert connection.execute("SELECT count(*) FROM task").fetchone() == (1,)
    metrics = requests.get(f"{base}/metrics", headers=METRICS_AUTH, timeout=10).text
    assert 'ortfix_deliveries_total{event="pull_request",outcome="queued"} 1.0' in metrics


def test_a_worker_without_credentials_says_what_is_missing(tmp_path) -> None:
    """No APP_ID, key or secret: exit 2 and the names of the settings and where to get them, no traceback."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET")
    }
    result = subprocess.run([ORTFIX, "worker"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    for name in ("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET"):
        assert f"  {name}: " in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_runs_web_and_worker_and_stops_on_sigterm(tmp_path, private_key, github_http) -> None:
    """`ortfix serve`: /healthz answers; SIGTERM stops the worker and the web server, exit 0."""
    port = free_port()
    env = service_env(tmp_path, private_key, PORT=str(port), GITHUB_API_URL=github_http.url)
    process = subprocess.Popen(
        [ORTFIX, "serve", "--host", "127.0.0.1", "--web-workers", "1"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_serve_runs_its_consumer_below_its_web_server(tmp_path, private_key, github_http) -> None:
    """`ortfix serve`: gunicorn scheduled as serve was, its consumer process (every thread of it) SCHED_IDLE."""
    port = free_port()
    env = service_env(tmp_path, private_key, PORT=str(port), GITHUB_API_URL=github_http.url)
    process = subprocess.Popen(
        [ORTFIX, "serve", "--host", "127.0.0.1", "--web-workers", "1"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        children = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in children}
        (web,) = (pid for pid, argv in commands.items() if any(b"gunicorn" in arg for arg in argv))  # setproctitle too
        (worker,) = (pid for pid, argv in commands.items() if b"worker" in argv)
        assert os.sched_getscheduler(web) == os.sched_getscheduler(0) == os.SCHED_OTHER
        deadline = time.monotonic() + 30
        while len(threads := [int(tid) for tid in os.listdir(f"/proc/{worker}/task")]) < 2:  # its threads started
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert {os.sched_getscheduler(tid) for tid in threads} == {os.SCHED_IDLE}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_a_child_starts_where_the_sandbox_forbids_sched_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A seccomp profile may refuse SCHED_IDLE: the consumer then runs as serve does, rather than not at all."""
    from bot.service import processes

    def refused(*_args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(processes.os, "sched_setscheduler", refused)  # the child, forked from here, sees it too
    child = processes.spawn([sys.executable, "-c", "pass"], idle=True)
    assert child.wait(timeout=30) == 0
