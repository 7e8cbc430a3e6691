"""An operator's mistakes and signals, through the real `ortfix serve`, `worker` and `audit` processes.

Each mistake is one line naming the setting, what is wrong and how to fix it, with exit code 2; `serve` takes its
children with it on TERM, INT and HUP, and when it is SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from tests.conftest import free_port
from tests.test_service_process import ORTFIX, service_env, wait_until_up

pytestmark = pytest.mark.slow
COMMANDS = {"serve": ["serve", "--host", "127.0.0.1"], "worker": ["worker"], "audit": ["audit", "octo-org/web-app"]}


@pytest.fixture
def not_github():
    """An HTTP server that is not GitHub: every path 404 with an HTML page."""
    server = make_server("127.0.0.1", 0, Response("<html>nothing here</html>", 404, mimetype="text/html"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def other_public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def run(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ORTFIX, *COMMANDS[command]], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def assert_one_line(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2, no traceback, and one `ortfix:` line that holds every word."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("ortfix: ")]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and all(word in lines[0] for word in words), result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_key_file(command, tmp_path, private_key, github_http) -> None:
    """PRIVATE_KEY_PATH names a file that does not exist."""
    env = service_env(tmp_path, private_key, GITHUB_API_URL=github_http.url, PRIVATE_KEY_PATH="/nowhere/app.pem")
    del env["PRIVATE_KEY"]
    assert_one_line(run(command, env, tmp_path), "PRIVATE_KEY_PATH", "/nowhere/app.pem", "does not exist", ".pem")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_key_that_is_not_a_pem_rsa_key(command, tmp_path, private_key, github_http) -> None:
    """PRIVATE_KEY holds something else: said at start, not as a JWT error later."""
    env = service_env(tmp_path, private_key, GITHUB_API_URL=github_http.url, PRIVATE_KEY="not a key")
    assert_one_line(run(command, env, tmp_path), "PRIVATE_KEY", "not a PEM RSA private key", "settings page")


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unreachable_github_api(command, tmp_path, private_key) -> None:
    """GITHUB_API_URL where nothing listens: its address, no requests traceback."""
    url = f"http://127.0.0.1:{free_port()}/api/v3"
    result = run(command, service_env(tmp_path, private_key, GITHUB_API_URL=url), tmp_path)
    assert_one_line(result, "GITHUB_API_URL", url, "unreachable", "https://api.github.com")


@pytest.mark.parametrize("command", COMMANDS)
def test_an_api_url_that_is_not_github(command, tmp_path, private_key, not_github) -> None:
    """GITHUB_API_URL answers, but GET /app is not GitHub's."""
    result = run(command, service_env(tmp_path, private_key, GITHUB_API_URL=not_github), tmp_path)
    assert_one_line(result, "GITHUB_API_URL", not_github, "not a GitHub API")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_key_of_another_app(command, tmp_path, private_key, github_http) -> None:
    """GitHub refuses the JWT (the key is not APP_ID's): said at start."""
    github_http.app_key = other_public_key()
    result = run(command, service_env(tmp_path, private_key, GITHUB_API_URL=github_http.url), tmp_path)
    assert_one_line(result, "PRIVATE_KEY", "not the key of app 12345", "APP_ID")


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unreachable_redis(command, tmp_path, private_key, github_http) -> None:
    """REDIS_URL where nothing listens; its password is not printed."""
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    result = run(command, service_env(tmp_path, private_key, GITHUB_API_URL=github_http.url, REDIS_URL=url), tmp_path)
    assert_one_line(result, "REDIS_URL", "does not answer", "127.0.0.1", "unset REDIS_URL")
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_webhook_secret(command, tmp_path, private_key, github_http) -> None:
    """WEBHOOK_SECRET="" with the rest set: not the setup page, a message."""
    env = service_env(tmp_path, private_key, GITHUB_API_URL=github_http.url, WEBHOOK_SECRET="")
    assert_one_line(run(command, env, tmp_path), "WEBHOOK_SECRET", "is empty", "webhook secret")


# --- signals ---------------------------------------------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    found: set[int] = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found |= {int(child), *descendants(int(child))}
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status  # a zombie holds no port and runs nothing


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start_serve(tmp_path: Path, private_key: str, github_url: str, configured: bool) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = service_env(tmp_path, private_key, PORT=str(port), GITHUB_API_URL=github_url)
    if not configured:
        env = {k: v for k, v in env.items() if k not in ("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET")}
    process = subprocess.Popen(
        [ORTFIX, "serve", "--host", "127.0.0.1", "--web-workers", "1"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    return process, port


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize(
    ("configured", "signum"),
    [
        (False, signal.SIGTERM),
        (False, signal.SIGINT),
        (False, signal.SIGHUP),
        (True, signal.SIGINT),
        (True, signal.SIGHUP),
    ],
)
def test_serve_stops_its_children_on_a_signal(configured, signum, tmp_path, private_key, github_http) -> None:
    """TERM, INT or HUP, in setup mode and configured: gunicorn and the worker stop, the port is free, exit."""
    process, port = start_serve(tmp_path, private_key, github_http.url, configured)
    children = descendants(process.pid)
    assert len(children) >= 2  # gunicorn and its worker (the consumer runs in `serve` itself)
    process.send_signal(signum)
    assert process.wait(timeout=60) == 0
    assert port_free(port) and not [pid for pid in children if alive(pid)]


def test_serve_killed_leaves_no_child_holding_the_port(tmp_path, private_key, github_http) -> None:
    """SIGKILL on `ortfix serve`: the parent-death signal stops its children; the port is free within seconds."""
    process, port = start_serve(tmp_path, private_key, github_http.url, configured=True)
    children = descendants(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    try:
        assert wait_for(lambda: port_free(port), 10), "a child still holds the port"
        assert wait_for(lambda: not [pid for pid in children if alive(pid)], 30)
    finally:
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
