"""Shared fixtures: the corpus, a scan of a directory, the SARIF schema."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from bot.cli.localtree import scan_root
from bot.core.detector import Report, Scanner
from tests.paths import SHARED

TESTS = Path(__file__).parent
CORPUS = TESTS / "corpus"
CACHE = TESTS / ".cache"
SARIF_PACKAGE = "@microsoft/jest-sarif@1.0.0-beta.0"  # ships Microsoft's SARIF 2.1.0 schema
SARIF_MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"


def scan_dir(root: Path, **options) -> Report:
    scanner = Scanner(**options)
    scan_root(scanner, root)
    return scanner.finish()


@pytest.fixture(scope="session")
def sarif_schema() -> dict:
    """The SARIF 2.1.0 JSON schema, from the npm registry once, then from the cache."""
    cached = CACHE / "sarif-2.1.0-rtm.5.json"
    if not cached.exists():
        CACHE.mkdir(exist_ok=True)
        tarball = subprocess.run(
            ["npm", "pack", SARIF_PACKAGE, "--pack-destination", str(CACHE), "--json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        name = json.loads(tarball.stdout)[0]["filename"]
        with tarfile.open(CACHE / name) as archive:
            member = archive.extractfile(SARIF_MEMBER)
            assert member is not None
            cached.write_bytes(io.BytesIO(member.read()).getvalue())
    return json.loads(cached.read_text("utf-8"))


# --- failures that must not go unnoticed ------------------------------------------------------------

FAILURE_LOGS = ("command.failed", "job.failed")


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() in FAILURE_LOGS:
            self.seen.append(f"{record.getMessage()}: {record.exc_info[1]!r}" if record.exc_info else record.msg)


@pytest.fixture(autouse=True)
def no_unexpected_failure_logs(request):
    """A job or command that fails fails the test, unless the test says it expects that (`expects_failure_log`)."""
    failures = _Failures()
    logger = logging.getLogger("ortfix")
    logger.addHandler(failures)
    try:
        yield failures
    finally:
        logger.removeHandler(failures)
    if request.node.get_closest_marker("expects_failure_log"):
        assert failures.seen, "the test expected a command.failed or job.failed log and none came"
    else:
        assert failures.seen == [], "a job or command failed"


# --- the service -----------------------------------------------------------------------------------

SECRET = "It's a Secret to Everybody"
METRICS_TOKEN = "scrape-token"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}
EXAMPLES = SHARED / "github" / "webhook-examples"


@pytest.fixture(scope="session")
def openapi_spec():
    from tests.fake_github import load_spec

    return load_spec()


@pytest.fixture(scope="session")
def private_key() -> str:
    """An RSA key for the app's JWTs, made for the test session, never committed."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def settings(tmp_path: Path, private_key: str):
    from bot.service.settings import load

    environ = {
        "APP_ID": "12345",
        "PRIVATE_KEY": private_key,
        "WEBHOOK_SECRET": SECRET,
        "METRICS_TOKEN": METRICS_TOKEN,
        "ORTFIX_DB": str(tmp_path / "ortfix.db"),
        "ORTFIX_GITHUB_DELAY": "0",
    }
    return load(environ, env_file=None)


@pytest.fixture
def github(openapi_spec):
    import responses

    from tests.fake_github import FakeGitHub

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeGitHub(mock, openapi_spec)
        yield fake
    assert fake.violations == [], "requests the fake GitHub refused (a route miss or an OpenAPI violation)"


@contextlib.contextmanager
def served(fake):
    """`fake` (a FakeGitHub) as a real HTTP server on 127.0.0.1, its address in `fake.url`."""
    import logging
    import threading

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, fake.wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()


@pytest.fixture
def github_http(openapi_spec):
    """The fake GitHub as a real HTTP server on 127.0.0.1 (`.url`), for the processes a test starts."""
    from tests.fake_github import FakeGitHub

    with served(FakeGitHub(None, openapi_spec)) as fake:
        yield fake
    assert fake.violations == [], "requests the fake GitHub refused (a route miss or an OpenAPI violation)"


@pytest.fixture
def service(settings):
    from bot.service.queue import build

    built = build(settings)
    if built.app is not None:
        built.app.sleep = lambda seconds: None  # retries and rate-limit waits: counted, not slept
    return built


def example(name: str) -> dict:
    """A real webhook payload from ../shared/github/webhook-examples/."""
    return json.loads((EXAMPLES / name).read_text())


def pull_request_payload(action: str, repo: str, number: int, head_sha: str, draft: bool = False) -> dict:
    """GitHub's own pull_request example, edited only where the scenario needs: repo, number, head, draft."""
    payload = example(f"pull_request/{action}.payload.json")
    owner, name = repo.split("/")
    payload["repository"].update({"full_name": repo, "name": name, "default_branch": "main"})
    payload["repository"]["owner"]["login"] = owner
    payload["pull_request"].update({"number": number, "draft": draft})
    payload["pull_request"]["head"]["sha"] = head_sha
    payload["number"] = number
    payload["installation"] = {"id": 42, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI="}
    return payload


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real Redis on 127.0.0.1 for the session (Debian's redis-server; .ci/run installs it)."""
    import shutil
    import time

    import redis

    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: apt-get install -y redis-server (as .ci/run does)"
    port = free_port()
    directory = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server):
    """The session's Redis, emptied for each test."""
    import redis

    redis.Redis.from_url(redis_server).flushall()
    return redis_server


class Clock:
    """A clock the test moves: leases, locks and backoffs expire without sleeping."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the lockfile-refresh attack (issue 17) ---------------------------------------------------------------

EVIL_SCRIPT = "node -e \"require('fs').writeFileSync('{markers}/' + Date.now(), 'ran')\""  # a marker per run


@pytest.fixture
def evil():
    """A git dependency whose prepare/prepack scripts write into a world-writable directory, served by git daemon."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed")
    base = Path(tempfile.mkdtemp(prefix="ortfix-evil-"))
    markers = base / "markers"
    markers.mkdir()
    markers.chmod(0o1777)  # the sandbox user could write here, if anything of the dependency ran
    source = base / "src"
    source.mkdir()
    script = EVIL_SCRIPT.format(markers=markers)
    scripts = {"prepare": script, "prepack": script, "preinstall": script, "postinstall": script}
    (source / "package.json").write_text(json.dumps({"name": "evil", "version": "1.0.0", "scripts": scripts}))
    git = ["git", "-c", "user.email=e@example.com", "-c", "user.name=e"]
    subprocess.run([*git, "init", "-q", str(source)], check=True)
    subprocess.run([*git, "-C", str(source), "add", "."], check=True)
    subprocess.run([*git, "-C", str(source), "commit", "-qm", "evil"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(base / "evil.git")], check=True)
    for root, dirs, files in os.walk(base):
        for name in [*dirs, *files]:
            os.chmod(os.path.join(root, name), os.stat(os.path.join(root, name)).st_mode | 0o055)
    base.chmod(0o755)
    port = free_port()
    log = base / "daemon.log"
    with open(log, "w") as handle:
        daemon = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all", "--listen=127.0.0.1",
             f"--port={port}", "--verbose", str(base)],
            stderr=handle,
        )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    probe_clone = subprocess.run(["git", "ls-remote", f"git://127.0.0.1:{port}/evil.git"], capture_output=True)
    assert probe_clone.returncode == 0, "the daemon does not serve the repository"
    served_before = log.read_text().count("Request upload-pack")
    yield {
        "specs": [f"git://127.0.0.1:{port}/evil.git", f"git+file://{base}/evil.git"],
        "markers": markers,
        "served": lambda: log.read_text().count("Request upload-pack") - served_before,
    }
    daemon.terminate()
    daemon.wait(timeout=10)
    shutil.rmtree(base, ignore_errors=True)
