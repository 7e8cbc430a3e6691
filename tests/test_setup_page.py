"""First run: `ortfix serve` without credentials serves the setup page; a real browser drives GitHub's App
Manifest flow against a local fake of GitHub's two manifest endpoints, and ortfix comes back up configured."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.conftest import free_port
from tests.test_service_process import wait_until_up

ORTFIX = str(Path(sys.executable).with_name("ortfix"))
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

        # ortfix restarts itself with the credentials: the page now shows the app's status, and no secret
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
        assert "ortfix-octo" in status and "s3cr3t" not in status and "PRIVATE KEY" not in status
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)


def test_a_callback_without_a_state_from_this_server_is_refused(settings, service) -> None:
    """CSRF: a redirect that this server did not start is refused, and nothing is written."""
    import dataclasses

    from bot.web import create_app

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
