"""First run: `ortfix serve` without credentials serves the setup page; a real browser drives GitHub's App
Manifest flow against a local fake of GitHub's two manifest endpoints, and ortfix comes back up configured."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import stat
import subprocess
import threading
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.core.events import sign
from tests.conftest import free_port
from tests.paths import ORTFIX
from tests.test_service_process import wait_until_up

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.slow


class ManifestGitHub:
    """GitHub's two manifest endpoints: the new-app form, and the code's conversion into credentials."""

    def __init__(self, private_key: str) -> None:
        self.private_key = private_key
        self.manifests: list[dict] = []
        self.conversions: list[str] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.method == "POST" and request.path.endswith("/settings/apps/new"):
            manifest = json.loads(request.form["manifest"])
            self.manifests.append({"path": request.path, "manifest": manifest})
            state = request.args["state"]
            return Response(status=302, headers={"Location": f"{manifest['redirect_url']}?code=abc123&state={state}"})(
                environ, start_response
            )
        if request.method == "POST" and request.path == "/api/v3/app-manifests/abc123/conversions":
            self.conversions.append(request.path)
            created = {
                "id": 4242,
                "slug": "ortfix-octo",
                "name": "ortfix",
                "pem": self.private_key,
                "webhook_secret": "s3cr3t",
                "client_id": "Iv1.x",
                "client_secret": "y",
                "html_url": "http://github/apps/ortfix-octo",
                "owner": {"login": "octo-org"},
            }
            return Response(json.dumps(created), status=201, mimetype="application/json")(environ, start_response)
        if request.method == "GET" and request.path == "/api/v3/app":  # ortfix's start-up check, with the app's JWT
            public = serialization.load_pem_private_key(self.private_key.encode(), None).public_key()
            try:
                claims = jwt.decode(request.headers["Authorization"].removeprefix("Bearer "), public, ["RS256"])
            except (KeyError, jwt.InvalidTokenError):
                return Response("{}", status=401, mimetype="application/json")(environ, start_response)
            app = {"id": int(claims["iss"]), "slug": "ortfix-octo", "name": "ortfix"}
            return Response(json.dumps(app), mimetype="application/json")(environ, start_response)
        return Response("not found", status=404)(environ, start_response)


@pytest.fixture
def manifest_github(private_key):
    fake = ManifestGitHub(private_key)
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    yield fake
    server.shutdown()


def test_the_manifest_flow_in_a_real_browser(tmp_path, manifest_github) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed (apt-get install -y chromium, as .ci/run does)"
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_", "PRIVATE_KEY", "WEBHOOK_SECRET", "REDIS_URL", "GITHUB_", "ORTFIX_"))
    }
    env.update(
        {
            "PORT": str(port),
            "ORTFIX_DB": str(tmp_path / "o.db"),
            "GITHUB_API_URL": f"{manifest_github.url}/api/v3",
            "GITHUB_WEB_URL": manifest_github.url,
            "LOG_LEVEL": "WARNING",
        }
    )
    serve = subprocess.Popen(
        [ORTFIX, "serve", "--host", "127.0.0.1", "--web-workers", "1"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", serve)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(base + "/")
            assert page.get_by_role("heading", name="Create your GitHub App").is_visible()
            field = page.get_by_label("Organization (leave empty for your personal account)")
            assert field.is_visible() and page.locator("html").get_attribute("lang") == "en"
            assert page.locator("link[rel=stylesheet], script[src], img[src^=http]").count() == 0  # no external assets
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "setup-welcome.png"), full_page=True)
            field.fill("octo-org")
            page.get_by_role("button", name="Create the GitHub App").click()
            page.get_by_role("button", name="Continue to GitHub").click()
            page.wait_for_selector("text=is ready")
            page.screenshot(path=str(ARTIFACTS / "setup-done.png"), full_page=True)
            install = page.get_by_role("link", name="Install ortfix")
            assert install.get_attribute("href") == f"{manifest_github.url}/apps/ortfix-octo/installations/new"
            page.set_viewport_size({"width": 380, "height": 800})  # a phone: nothing overflows sideways
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            browser.close()
        (sent,) = manifest_github.manifests
        assert sent["path"] == "/organizations/octo-org/settings/apps/new"
        manifest = sent["manifest"]
        assert manifest["hook_attributes"]["url"] == f"{base}/api/github/webhooks"
        assert manifest["redirect_url"] == f"{base}/setup/callback"
        assert (
            manifest["default_permissions"]["checks"] == "write" and "workflows" not in manifest["default_permissions"]
        )
        dotenv = tmp_path / ".env"
        assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
        text = dotenv.read_text()
        assert 'APP_ID="4242"' in text and 'APP_SLUG="ortfix-octo"' in text and 'WEBHOOK_SECRET="s3cr3t"' in text

        # ortfix restarts itself with the credentials: the page says only that it runs, webhooks verify with the
        # new secret, and the setup callback is closed
        def configured() -> bool:
            try:
                return "Running" in requests.get(base + "/", timeout=2).text
            except requests.RequestException:
                return False

        import time

        deadline = time.monotonic() + 60
        while not configured():
            assert time.monotonic() < deadline, "ortfix did not come back configured"
            time.sleep(0.5)
        status = requests.get(base + "/", timeout=5).text
        assert "s3cr3t" not in status and "PRIVATE KEY" not in status and "ortfix-octo" not in status
        ping = json.dumps({"zen": "Keep it simple.", "hook_id": 1}).encode()
        headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "p-1", "X-Hub-Signature-256": sign("s3cr3t", ping)}
        assert requests.post(base + "/api/github/webhooks", data=ping, headers=headers, timeout=5).status_code == 200
        assert requests.get(base + "/setup/callback?code=abc123&state=x", timeout=5).status_code == 409
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)


def test_a_callback_without_a_state_from_this_server_is_refused(settings, service) -> None:
    """CSRF: a redirect that this server did not start is refused, and nothing is written."""
    import dataclasses

    from bot.service.web import create_app

    unconfigured = dataclasses.replace(settings, app_id=None, private_key=None, webhook_secret=None)
    client = create_app(unconfigured, service).test_client()
    response = client.get("/setup/callback?code=abc&state=forged")
    assert response.status_code == 400 and not Path(unconfigured.env_file).exists()
    assert client.post("/setup/start", data={"org": "bad org!"}).status_code == 400


def test_setup_prints_the_steps_for_a_headless_server(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "PRIVATE_KEY", "WEBHOOK_SECRET"))}
    result = subprocess.run(
        [ORTFIX, "setup", "--url", "https://ortfix.example.com", "--org", "octo-org"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert '"url": "https://ortfix.example.com/api/github/webhooks"' in result.stdout
    assert "https://github.com/organizations/octo-org/settings/apps/new" in result.stdout


# --- the setup flow's guards: one browser, one use, closed once set up ----------------------------------------


@pytest.fixture
def setup_client(settings, service, tmp_path):
    """The setup routes as a server without credentials has them, GitHub's conversion answered by `responses`."""
    import dataclasses

    import responses

    from bot.service.web import create_app

    unconfigured = dataclasses.replace(
        settings, app_id=None, private_key=None, webhook_secret=None, env_file=str(tmp_path / ".env")
    )
    app = create_app(unconfigured, service)
    created = {"id": 4242, "slug": "ortfix-octo", "name": "ortfix", "pem": "PEM", "webhook_secret": "s3cr3t"}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as github:
        github.post(re.compile(r".*/app-manifests/\w+/conversions"), json=created, status=201)
        yield app, Path(unconfigured.env_file)


def started_state(client) -> str:
    page = client.post("/setup/start", data={"org": ""}).get_data(as_text=True)
    return re.search(r"state=([\w-]+)", page)[1]


def test_the_setup_cookie_is_http_only_and_same_site_lax(setup_client) -> None:
    """Lax, not Strict: GitHub's redirect back is a top-level GET from github.com, which must carry it."""
    app, _ = setup_client
    cookie = app.test_client().post("/setup/start", data={"org": ""}).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_state_works_only_in_the_browser_that_started_it(setup_client) -> None:
    """A state taken from one browser's flow is refused in another: nothing is written."""
    app, env_file = setup_client
    state = started_state(app.test_client())
    response = app.test_client().get(f"/setup/callback?code=abc&state={state}")
    assert response.status_code == 400 and not env_file.exists()


def test_a_state_works_once_and_every_other_is_revoked_after_success(setup_client) -> None:
    """The first callback writes .env; that state again, and a state started before, get 409; so does a new start."""
    app, env_file = setup_client
    browser = app.test_client()
    first, second = started_state(browser), started_state(browser)
    assert browser.get(f"/setup/callback?code=abc&state={first}").status_code == 200
    written = env_file.read_text()
    assert 'APP_ID="4242"' in written
    assert browser.get(f"/setup/callback?code=abc&state={first}").status_code == 409
    assert browser.get(f"/setup/callback?code=def&state={second}").status_code == 409
    assert browser.post("/setup/start", data={"org": ""}).status_code == 409
    assert env_file.read_text() == written


def test_the_callback_is_refused_once_the_env_file_has_credentials(setup_client) -> None:
    """Set up by another process (its Settings still the old ones here): a valid state gets 409, .env is kept."""
    from bot.service.settings import write_env

    app, env_file = setup_client
    browser = app.test_client()
    state = started_state(browser)
    write_env(env_file, {"APP_ID": "7", "PRIVATE_KEY": "PEM", "WEBHOOK_SECRET": "first"})
    assert browser.get(f"/setup/callback?code=abc&state={state}").status_code == 409
    assert 'WEBHOOK_SECRET="first"' in env_file.read_text()


# --- the setup page behind its bind address, Host check and token: the real `ortfix serve` ----------------------


def setup_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_", "PRIVATE_KEY", "WEBHOOK_SECRET", "REDIS_URL", "GITHUB_", "ORTFIX_"))
        and k not in ("HOST", "PUBLIC_URL")
    }
    return {**env, "PORT": str(port), "ORTFIX_DB": str(tmp_path / "o.db"), "LOG_LEVEL": "WARNING", **extra}


@pytest.fixture
def setup_server(tmp_path):
    """Start `ortfix serve` in setup mode with extra settings; yields (base URL, its log so far as a function)."""
    started: list[subprocess.Popen] = []

    def start(*args: str, **extra: str):
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        with log.open("w") as handle:
            process = subprocess.Popen(
                [ORTFIX, "serve", *args], env=setup_env(tmp_path, port, **extra), cwd=tmp_path, stderr=handle
            )
        started.append(process)
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        return f"http://127.0.0.1:{port}", port, log.read_text

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def listening_addresses(port: int) -> set[str]:
    """The local addresses listening on `port`, from the kernel's own table."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_setup_mode_listens_on_loopback_only_by_default(setup_server) -> None:
    """No HOST, no --host: the setup page is bound to 127.0.0.1, not to every interface, and needs no token."""
    base, port, _ = setup_server()
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, little-endian
    assert requests.get(base + "/", timeout=10).status_code == 200


def test_a_foreign_host_header_is_refused_and_never_reaches_the_manifest(setup_server) -> None:
    """Host: evil.example gets 400; the manifest's URLs are the bind address's."""
    base, port, _ = setup_server()
    evil = {"Host": "evil.example"}
    assert requests.get(base + "/", headers=evil, timeout=10).status_code == 400
    assert requests.post(base + "/setup/start", data={"org": ""}, headers=evil, timeout=10).status_code == 400
    page = requests.post(base + "/setup/start", data={"org": ""}, timeout=10).text
    assert "evil.example" not in page and f"http://127.0.0.1:{port}/api/github/webhooks" in html.unescape(page)


def test_public_url_gives_the_manifest_urls_and_a_one_time_token_guards_the_page(setup_server) -> None:
    """PUBLIC_URL (reachable from elsewhere): its URLs in the manifest; the page needs the logged token, once."""
    base, _, log = setup_server(PUBLIC_URL="http://ortfix.example.com")  # http: the test's client sends the cookie
    public = {"Host": "ortfix.example.com"}
    assert requests.get(base + "/setup", headers=public, timeout=10).status_code == 403
    token = re.search(r"http://ortfix\.example\.com/setup\?token=([\w-]+)", log())[1]
    browser = requests.Session()
    entered = browser.get(f"{base}/setup?token={token}", headers=public, timeout=10)
    assert entered.status_code == 200 and "Create your GitHub App" in entered.text
    page = html.unescape(browser.post(base + "/setup/start", data={"org": ""}, headers=public, timeout=10).text)
    assert '"url": "http://ortfix.example.com/api/github/webhooks"' in page
    assert '"redirect_url": "http://ortfix.example.com/setup/callback"' in page
    stranger = requests.get(f"{base}/setup?token={token}", headers=public, timeout=10)
    assert stranger.status_code == 403  # the token was spent by the first browser


def test_the_old_public_url_name_still_works(setup_server) -> None:
    """ORTFIX_PUBLIC_URL is PUBLIC_URL's alias."""
    _, _, log = setup_server(ORTFIX_PUBLIC_URL="https://old.example.com")
    assert "https://old.example.com/setup?token=" in log()


def test_a_wildcard_host_without_public_url_is_refused(tmp_path) -> None:
    """HOST=0.0.0.0 names no address for GitHub's callback: one line, exit 2, nothing listens."""
    env = setup_env(tmp_path, free_port(), HOST="0.0.0.0")
    result = subprocess.run([ORTFIX, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "set PUBLIC_URL" in result.stderr and "Traceback" not in result.stderr
