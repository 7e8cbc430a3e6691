"""Pure: GitHub's App Manifest flow for first-run setup, and the pages that walk a person through it.

The manifest is app.yml with this server's URLs filled in; GitHub answers the
form with a code that the callback exchanges for the app's credentials.
"""

from __future__ import annotations

import html
import ipaddress
import json
from importlib import resources
from urllib.parse import quote, urlencode, urlsplit

import yaml

CALLBACK = "/setup/callback"
LOOPBACK = "127.0.0.1"
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
WILDCARDS = {"", "0.0.0.0", "::"}


def base_url(public_url: str | None, host: str | None, port: int) -> str:
    """This server's address for GitHub and the browser: PUBLIC_URL, else the bind address (never a Host header)."""
    if public_url:
        return public_url.rstrip("/")
    host = host or LOOPBACK
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def expected_hosts(public_url: str | None, host: str | None) -> set[str]:
    """The names a request's Host may carry: PUBLIC_URL's, the bind address, and the local names on loopback."""
    names = {(urlsplit(public_url).hostname or "").lower()} if public_url else set()
    host = (host or LOOPBACK).lower()
    if host not in WILDCARDS:
        names.add(host)
    if is_loopback(host):
        names |= LOCAL_NAMES
    return names - {""}


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def reachable_from_elsewhere(public_url: str | None, host: str | None) -> bool:
    """Whether other machines can open the setup page: listening beyond loopback, or behind a public URL."""
    public = urlsplit(public_url).hostname if public_url else None
    return not is_loopback(host or LOOPBACK) or (public is not None and not is_loopback(public))


def manifest(base_url: str, webhook_path: str) -> dict:
    """app.yml with this server's webhook URL and setup callback."""
    document = yaml.safe_load(resources.files("bot").joinpath("data/app.yml").read_text("utf-8"))
    document["url"] = document.get("url") or base_url
    document["hook_attributes"] = {"url": base_url.rstrip("/") + webhook_path, "active": True}
    document["redirect_url"] = base_url.rstrip("/") + CALLBACK
    return document


def new_app_url(github_web: str, org: str | None, state: str) -> str:
    where = f"/organizations/{quote(org)}/settings/apps/new" if org else "/settings/apps/new"
    return f"{github_web.rstrip('/')}{where}?{urlencode({'state': state})}"


STYLE = """
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --accent: #0b5cad;
  --card: #f6f8fa; --border: #d1d9e0; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --accent: #5cacff;
  --card: #151b23; --border: #3d444d; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
main { max-width: 44rem; margin: 0 auto; padding: 2.5rem 1.25rem 4rem; }
h1 { font-size: 1.9rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.tagline { color: var(--muted); margin: 0 0 1.5rem; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 1.25rem 1.5rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
.hint { color: var(--muted); font-size: .9rem; margin: .25rem 0 0; }
input[type=text] { width: 100%; padding: .6rem .75rem; font: inherit; color: var(--fg); background: var(--bg);
  border: 1px solid var(--border); border-radius: 8px; }
input[type=text]:focus, button:focus, a:focus { outline: 3px solid var(--accent); outline-offset: 2px; }
button, .button { display: inline-block; margin-top: 1.25rem; padding: .7rem 1.2rem; font: inherit; font-weight: 600;
  color: #ffffff; background: #0b5cad; border: 0; border-radius: 8px; cursor: pointer; text-decoration: none; }
a { color: var(--accent); }
ul { padding-left: 1.2rem; } li { margin: .3rem 0; }
table { width: 100%; border-collapse: collapse; } th, td { text-align: left; padding: .4rem .5rem;
  border-bottom: 1px solid var(--border); font-size: .95rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · ortfix</title>
<style>{style}</style>
</head>
<body>
<main>
<h1>ortfix</h1>
<p class="tagline">Keeps onnxruntime-web on its native WebGPU backend.</p>
{content}
</main>
</body>
</html>
"""

WELCOME = """<p>The bare <code>onnxruntime-web</code> import loads <strong>JSEP</strong>, the deprecated JavaScript
WebGPU backend, which computes wrong results for some quantized models on real GPUs and never in headless CI.
ortfix finds those loads in your pull requests and repositories and fixes them:</p>
<ul>
<li>review comments with one-click suggestions, and an <code>ortfix</code> check run;</li>
<li>a <code>/ortfix</code> command that commits the fix, and fix pull requests where you opt in;</li>
<li>a weekly audit issue per repository.</li>
</ul>
<h2>Create your GitHub App</h2>
<div class="card">
<form method="post" action="/setup/start">
<label for="org">Organization (leave empty for your personal account)</label>
<input type="text" id="org" name="org" autocomplete="organization" placeholder="my-org"
  aria-describedby="org-hint" pattern="[A-Za-z0-9-]*">
<p class="hint" id="org-hint">GitHub asks you to confirm; ortfix then stores the app's credentials in
<code>.env</code> next to this server (readable only by you).</p>
<button type="submit">Create the GitHub App</button>
</form>
</div>
<p class="hint">The app asks for contents, pull requests, issues and checks (write) and metadata (read), never
workflows. Webhooks will go to <code>{hook}</code>.</p>"""

TO_GITHUB = """<h2>Continue on GitHub</h2>
<div class="card">
<p>GitHub will show the app's name and permissions; confirm with <em>Create GitHub App</em>.</p>
<form method="post" action="{action}" id="manifest-form">
<input type="hidden" name="manifest" value="{manifest}">
<button type="submit">Continue to GitHub</button>
</form>
</div>"""

DONE = """<h2>The app {name} is ready</h2>
<div class="card">
<p>Its credentials are in <code>.env</code>. Next, install it on the repositories ortfix should watch:</p>
<a class="button" href="{install}">Install {name}</a>
<p class="hint">ortfix restarts on its own with the new credentials in a few seconds.</p>
</div>"""

FAILED = """<h2>Setup did not finish</h2><div class="card"><p role="alert">{reason}</p>
<a class="button" href="/setup">Start again</a></div>"""

STATUS = """<h2>Running</h2>
<p>ortfix is running.</p>"""


def page(title: str, content: str) -> str:
    return PAGE.format(title=html.escape(title), style=STYLE, content=content)


def welcome(hook_url: str) -> str:
    return page("Set up", WELCOME.format(hook=html.escape(hook_url)))


def to_github(action: str, app_manifest: dict) -> str:
    value = html.escape(json.dumps(app_manifest), quote=True)
    return page("Continue on GitHub", TO_GITHUB.format(action=html.escape(action, quote=True), manifest=value))


def done(name: str, install_url: str) -> str:
    return page("Ready", DONE.format(name=html.escape(name), install=html.escape(install_url, quote=True)))


def failed(reason: str) -> str:
    return page("Setup failed", FAILED.format(reason=html.escape(reason)))


def status() -> str:
    """All the public learns: that ortfix runs (no app name, installation or delivery)."""
    return page("Status", STATUS)
