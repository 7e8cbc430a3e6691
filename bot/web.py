"""The web process: verify, record, enqueue, answer. It never calls GitHub.

Checks run in a fixed order, each refusal logged under a dotted name:
size (413) → signature (401) → headers and JSON (400) → ping (200) →
nothing to do (200) → duplicate (202, not queued again) → queued (202).
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, Response, jsonify, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from bot import events, routing, setup_page
from bot.github_client import GitHubError, convert_manifest
from bot.jobs import Service, build
from bot.settings import MAX_BODY_BYTES, Settings, load, write_env

log = logging.getLogger("ortfix.web")


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
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")

    @app.errorhandler(413)
    def too_large(_error: Exception) -> tuple[Response, int]:
        _count(service, "unknown", "too-large")
        log.warning("github.webhook.too-large")
        return jsonify(error=f"the body is over {MAX_BODY_BYTES:,} bytes"), 413

    return app


def _setup_routes(app: Flask, settings: Settings, service: Service) -> None:
    """First run: GitHub's App Manifest flow at / and /setup. Once configured: the app's status (never a secret)."""

    def base_url() -> str:
        return (settings.public_url or request.host_url).rstrip("/")

    @app.get("/")
    @app.get("/setup")
    def home() -> Response:
        if settings.missing:
            return Response(setup_page.welcome(base_url() + settings.webhook_path), mimetype="text/html")
        installations = {
            labels.get("installation") for name, labels, _ in service.store.series() if "installation" in labels
        }
        app_name = settings.app_slug or f"App {settings.app_id}"
        page = setup_page.status(app_name, len(installations), service.huey.pending_count(), service.store.recent(10))
        return Response(page, mimetype="text/html")

    @app.post("/setup/start")
    def start() -> Response | tuple[Response, int]:
        if not settings.missing:
            return Response(setup_page.failed("This ortfix is already set up."), status=409, mimetype="text/html")
        org = (request.form.get("org") or "").strip() or None
        if org and not org.replace("-", "").isalnum():
            return Response(setup_page.failed("That is not an organization name."), status=400, mimetype="text/html")
        state = secrets.token_urlsafe(24)
        service.store.put(f"setup-state:{state}", str(service.store.clock()))
        action = setup_page.new_app_url(settings.github_web_url, org, state)
        manifest = setup_page.manifest(base_url(), settings.webhook_path)
        return Response(setup_page.to_github(action, manifest), mimetype="text/html")

    @app.get(setup_page.CALLBACK)
    def callback() -> Response:
        state, code = request.args.get("state", ""), request.args.get("code", "")
        issued = service.store.get(f"setup-state:{state}") if state else None
        if not issued or float(issued) + 3600 < service.store.clock() or not code:
            log.warning("setup.bad-state")
            return Response(
                setup_page.failed("This link is not from a setup started here."), status=400, mimetype="text/html"
            )
        try:
            created = convert_manifest(settings.api_url, code)
        except (GitHubError, OSError) as error:
            return Response(
                setup_page.failed(f"GitHub did not confirm the app: {error}"), status=502, mimetype="text/html"
            )
        write_env(
            settings.env_file,
            {
                "APP_ID": str(created["id"]),
                "APP_SLUG": created["slug"],
                "PRIVATE_KEY": created["pem"],
                "WEBHOOK_SECRET": created["webhook_secret"],
            },
        )
        service.store.put(f"setup-state:{state}", "0")  # once
        install = f"{settings.github_web_url.rstrip('/')}/apps/{created['slug']}/installations/new"
        return Response(setup_page.done(created.get("name") or created["slug"], install), mimetype="text/html")


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
    from bot.logs import configure

    settings = load()
    configure(settings.log_level, settings.sentry_dsn)
    return create_app(settings)
