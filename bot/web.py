"""The web process: verify, record, enqueue, answer. It never calls GitHub.

Checks run in a fixed order, each refusal logged under a dotted name:
size (413) → signature (401) → headers and JSON (400) → ping (200) →
nothing to do (200) → duplicate (202, not queued again) → queued (202).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from bot import events, routing
from bot.jobs import Service, build
from bot.settings import MAX_BODY_BYTES, Settings, load

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
}


def wsgi() -> Flask:
    """gunicorn's entry point: `gunicorn 'bot.web:wsgi()'`."""
    from bot.logs import configure

    settings = load()
    configure(settings.log_level)
    return create_app(settings)
