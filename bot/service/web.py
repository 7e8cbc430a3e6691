"""The web process: verify, record, enqueue, answer. It never calls GitHub.

Checks run in a fixed order, each refusal logged under a dotted name:
size (413) → signature (401) → headers and JSON (400) → ping (200) →
nothing to do (200) → duplicate (202, not queued again) → queued (202).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, redirect, request
from flask.typing import ResponseReturnValue
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from bot.adapters.github import GitHubError, convert_manifest
from bot.core import events
from bot.service import routing, setup_page
from bot.service.queue import Service, build
from bot.service.settings import MAX_BODY_BYTES, Settings, load, write_env

log = logging.getLogger("ortfix.web")

SETUP_COOKIE = "ortfix_setup"  # the browser's setup session: binds each state to the browser that started it
SETUP_DONE = "setup-done"
TOKEN_USED = "setup-token-used"
SETUP_PATHS = {"/", "/setup", "/setup/start", setup_page.CALLBACK}
STATE_SECONDS = 3600  # GitHub's manifest codes last an hour too
ALREADY_SET_UP = "This ortfix is already set up."
UNEXPECTED_HOST = "This server does not answer to that address. Open it at the address in ortfix's log."
NEEDS_TOKEN = (
    "This setup page is reachable from other machines, so it needs the one-time token that ortfix printed "
    "in its log: open the address shown there."
)
METRICS_UNSET = "/metrics is off: set METRICS_TOKEN, and scrape with the header Authorization: Bearer METRICS_TOKEN"
METRICS_REFUSED = "/metrics needs the header Authorization: Bearer METRICS_TOKEN"


def create_app(settings: Settings | None = None, service: Service | None = None) -> Flask:
    settings = settings or load()
    service = service or build(settings)
    app = Flask("ortfix")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    registry = CollectorRegistry()
    registry.register(_StoreCollector(service))

    @app.post(settings.webhook_path)
    def webhook() -> tuple[Response, int]:
        return _receive(service)

    _setup_routes(app, settings, service)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        service.store.get("healthz")  # the store answers, or this raises and the probe fails
        return jsonify(status="ok"), 200

    @app.get("/metrics")
    def metrics() -> ResponseReturnValue:
        if not settings.metrics_token:
            return jsonify(error=METRICS_UNSET), 403
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(sent.encode(), settings.metrics_token.encode()):
            return jsonify(error=METRICS_REFUSED), 401, {"WWW-Authenticate": "Bearer"}
        return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")

    @app.errorhandler(413)
    def too_large(_error: Exception) -> tuple[Response, int]:
        _count(service, "unknown", "too-large")
        log.warning("github.webhook.too-large")
        return jsonify(error=f"the body is over {MAX_BODY_BYTES:,} bytes"), 413

    return app


def _setup_routes(app: Flask, settings: Settings, service: Service) -> None:
    """First run: GitHub's App Manifest flow at / and /setup. Once configured: only that ortfix is running.

    Guards: the Host must be one this server expects (its URLs never come from the Host header); where the
    page is reachable from other machines, a browser first shows the one-time token from the log; a state
    works once, only in the browser that started the flow, and never after the app is set up.
    """
    base_url = setup_page.base_url(settings.public_url, settings.host, settings.port)
    expected = setup_page.expected_hosts(settings.public_url, settings.host)
    secure = base_url.startswith("https:")
    store = service.store

    def configured() -> bool:
        """The running setup-mode process keeps its old Settings: ask the store and the .env file too."""
        return not settings.missing or store.get(SETUP_DONE) is not None or not load(env_file=settings.env_file).missing

    def browser() -> str | None:
        """This browser's setup session, by its digest (the cookie itself is never stored)."""
        cookie = request.cookies.get(SETUP_COOKIE)
        return hashlib.sha256(cookie.encode()).hexdigest() if cookie else None

    def page(content: str, status: int = 200) -> Response:
        return Response(content, status=status, mimetype="text/html")

    @app.before_request
    def guard() -> ResponseReturnValue | None:
        if not settings.missing:
            return None
        host = (urlsplit(f"//{request.host}").hostname or "").lower()
        if host not in expected:
            log.warning("setup.unexpected-host")
            return page(setup_page.failed(UNEXPECTED_HOST), 400)
        if not settings.setup_token or request.path not in SETUP_PATHS:
            return None
        token = request.args.get("token")
        if token is not None and request.method == "GET" and request.path != setup_page.CALLBACK:
            if not hmac.compare_digest(token, settings.setup_token) or not store.acquire(TOKEN_USED, 10 * 365 * 86400):
                log.warning("setup.bad-token")
                return page(setup_page.failed(NEEDS_TOKEN), 403)
            session = secrets.token_urlsafe(24)
            store.put(f"setup-session:{hashlib.sha256(session.encode()).hexdigest()}", "1")
            response = redirect("/setup", 303)
            response.set_cookie(SETUP_COOKIE, session, httponly=True, samesite="Lax", secure=secure, path="/")
            return response
        digest = browser()
        if digest is None or store.get(f"setup-session:{digest}") is None:
            return page(setup_page.failed(NEEDS_TOKEN), 403)
        return None

    @app.get("/")
    @app.get("/setup")
    def home() -> Response:
        if not settings.missing:
            return page(setup_page.status())
        return page(setup_page.welcome(base_url + settings.webhook_path))

    @app.post("/setup/start")
    def start() -> Response:
        if configured():
            return page(setup_page.failed(ALREADY_SET_UP), 409)
        org = (request.form.get("org") or "").strip() or None
        if org and not org.replace("-", "").isalnum():
            return page(setup_page.failed("That is not an organization name."), 400)
        session = request.cookies.get(SETUP_COOKIE) or secrets.token_urlsafe(24)
        state = secrets.token_urlsafe(24)
        issued = {"at": store.clock(), "browser": hashlib.sha256(session.encode()).hexdigest()}
        store.put(f"setup-state:{state}", json.dumps(issued))
        action = setup_page.new_app_url(settings.github_web_url, org, state)
        response = page(setup_page.to_github(action, setup_page.manifest(base_url, settings.webhook_path)))
        response.set_cookie(SETUP_COOKIE, session, httponly=True, samesite="Lax", secure=secure, path="/")
        return response

    @app.get(setup_page.CALLBACK)
    def callback() -> Response:
        if configured():
            log.warning("setup.already-configured")
            return page(setup_page.failed(ALREADY_SET_UP), 409)
        state, code = request.args.get("state", ""), request.args.get("code", "")
        raw = store.get(f"setup-state:{state}") if state else None
        issued = json.loads(raw) if raw else {}
        if (
            not code
            or not issued
            or issued["at"] + STATE_SECONDS < store.clock()
            or not hmac.compare_digest(issued["browser"], browser() or "")
            or not store.acquire(f"setup-state-used:{state}", STATE_SECONDS)  # once, even when two race
        ):
            log.warning("setup.bad-state")
            return page(setup_page.failed("This link is not from a setup started in this browser."), 400)
        try:
            created = convert_manifest(settings.api_url, code)
        except (GitHubError, OSError) as error:
            return page(setup_page.failed(f"GitHub did not confirm the app: {error}"), 502)
        write_env(
            settings.env_file,
            {
                "APP_ID": str(created["id"]),
                "APP_SLUG": created["slug"],
                "PRIVATE_KEY": created["pem"],
                "WEBHOOK_SECRET": created["webhook_secret"],
            },
        )
        store.put(SETUP_DONE, str(store.clock()))  # every other state is void from now on
        install = f"{settings.github_web_url.rstrip('/')}/apps/{created['slug']}/installations/new"
        return page(setup_page.done(created.get("name") or created["slug"], install))


def _receive(service: Service) -> tuple[Response, int]:
    settings = service.settings
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _refuse(service, 413, "too-large", f"the body is over {MAX_BODY_BYTES:,} bytes")
    body = request.get_data(cache=False)
    secret = settings.webhook_secret
    if not secret or not events.signature_valid(secret, body, request.headers.get("X-Hub-Signature-256")):
        return _refuse(service, 401, "bad-signature", "missing or wrong X-Hub-Signature-256")
    name = request.headers.get("X-GitHub-Event", "")
    delivery_id = request.headers.get("X-GitHub-Delivery", "")
    if not name or not delivery_id:
        return _refuse(service, 400, "missing-headers", "X-GitHub-Event and X-GitHub-Delivery are required")
    try:
        event = events.parse(name, delivery_id, body)
    except events.BadDelivery as error:
        return _refuse(service, 400, "bad-body", str(error), name)
    if name == "ping":
        _count(service, name, "pong")
        return jsonify(ok=True, zen=event.payload.get("zen")), 200
    if routing.route(event) is None:
        _count(service, name, "ignored")
        return jsonify(ok=True, queued=False, reason="nothing to do for this event"), 200
    if not service.store.accept(delivery_id, name, event.action, body):  # counts queued or duplicate itself
        return jsonify(ok=True, queued=False, reason="delivery already received"), 202
    service.enqueue(delivery_id)
    return jsonify(ok=True, queued=True), 202


def _refuse(service: Service, status: int, reason: str, message: str, event: str = "unknown") -> tuple[Response, int]:
    _count(service, event, reason)
    log.warning(f"github.webhook.{reason}", extra={"delivery": request.headers.get("X-GitHub-Delivery")})
    return jsonify(error=message), status


def _count(service: Service, event: str, outcome: str) -> None:
    service.store.add("ortfix_deliveries_total", {"event": event, "outcome": outcome})


class _StoreCollector:
    """Metrics shared by every process and host: read from the store at scrape time."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self):
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
        for name, labels, value in self.service.store.series():
            kind = CounterMetricFamily if name.endswith("_total") else GaugeMetricFamily
            family = families.get(name)
            if family is None:
                family = families[name] = kind(
                    name.removesuffix("_total"), _HELP.get(name, name), labels=sorted(labels)
                )
            family.add_metric([labels[k] for k in sorted(labels)], value)
        depth = GaugeMetricFamily("ortfix_queue_depth", "Jobs waiting in the queue")
        depth.add_metric([], self.service.huey.pending_count())
        yield from families.values()
        yield depth


_HELP = {
    "ortfix_deliveries_total": "Webhook deliveries by event and outcome",
    "ortfix_jobs_total": "Jobs run, by job and outcome",
    "ortfix_job_seconds_total": "Seconds spent in jobs, by job (divide by ortfix_jobs_total for the mean)",
    "ortfix_github_api_calls_total": "GitHub API calls, by installation",
    "ortfix_github_rate_limit_remaining": "GitHub API rate limit left at the last call, by installation",
    "ortfix_github_graphql_points_total": "GitHub GraphQL points spent (its own budget), by installation",
    "ortfix_github_graphql_remaining": "GitHub GraphQL points left at the last query, by installation",
}


def wsgi() -> Flask:
    """gunicorn's entry point: `gunicorn 'bot.web:wsgi()'`."""
    from bot.service.logs import configure

    settings = load()
    configure(settings.log_level, settings.sentry_dsn)
    return create_app(settings)
