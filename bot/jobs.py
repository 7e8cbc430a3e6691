"""The queue and its jobs: huey (SQLite by default, Redis when REDIS_URL is set), and thin task shells.

Only a delivery id crosses the queue; the worker reads the delivery from the
store, so a job redone after a crash sees exactly what GitHub sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from huey import Huey, RedisHuey, crontab
from huey.storage import SqliteStorage

from bot import events, routing
from bot.github_client import GitHubApp, GitHubClient
from bot.logs import JOB_CONTEXT
from bot.review import Busy, PullRequest, review_pull_request
from bot.settings import Settings
from bot.store import CHECKPOINT_PAGES, DONE, FAILED, Store, open_store

log = logging.getLogger("ortfix.jobs")

RETRIES = 5
RETRY_DELAY = 20  # seconds; a busy pull request or a GitHub outage gets a few more tries
QUEUED_GRACE = 900.0  # a delivery queued this long was lost between the store and the queue: queue it again
EMPTY_QUEUE_GRACE = 60.0  # …or this long, when the queue is empty (its task was taken by a worker that died)


@dataclass
class Service:
    """Everything a job needs, built once per process."""

    settings: Settings
    store: Store
    huey: Huey
    app: GitHubApp | None
    enqueue: Callable[[str], object] = field(init=False)  # queue a delivery's job
    sweep: Callable[[], object] = field(init=False)  # queue again what a dead worker left (a periodic task)


class _SqliteStorage(SqliteStorage):
    """huey's SQLite storage in WAL mode with synchronous=NORMAL, like the store.

    A commit then survives the process being killed (the WAL is on disk) but
    not a power cut before the next checkpoint; in exchange a webhook's two
    commits take microseconds instead of two fsyncs under the write lock,
    which is what p99 latency under concurrent deliveries is made of
    (bench/webhook_bench.py).
    """

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("pragma synchronous=1")
        connection.execute(f"pragma wal_autocheckpoint={CHECKPOINT_PAGES}")
        return connection


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("ortfix", url=settings.redis_url)
    return Huey("ortfix", storage_class=_SqliteStorage, filename=settings.db_path, timeout=30)


def build(settings: Settings, store: Store | None = None, huey: Huey | None = None) -> Service:
    app = None
    if settings.app_id and settings.private_key:
        app = GitHubApp(settings.app_id, settings.private_key, settings.api_url, delay=settings.github_delay)
    service = Service(
        settings=settings,
        store=store or open_store(settings.redis_url, settings.db_path),
        huey=huey or make_huey(settings),
        app=app,
    )

    @service.huey.task(retries=RETRIES, retry_delay=RETRY_DELAY, name="handle_delivery")
    def handle_delivery(delivery_id: str) -> None:
        run_delivery(service, delivery_id)

    @service.huey.periodic_task(crontab(minute="*"), name="requeue_orphans")
    def requeue_orphans() -> None:
        grace = EMPTY_QUEUE_GRACE if service.huey.pending_count() == 0 else QUEUED_GRACE
        for delivery_id in service.store.orphans(grace):
            log.warning("delivery.requeued", extra={"delivery": delivery_id})
            handle_delivery(delivery_id)
        service.store.checkpoint()

    service.enqueue = handle_delivery
    service.sweep = requeue_orphans.call_local
    return service


def run_delivery(service: Service, delivery_id: str) -> None:
    """Run one delivery's job, at most once at a time; a failure leaves it to be retried."""
    store = service.store
    if not store.start(delivery_id):
        return  # done already, or running under a live lease elsewhere
    delivery = store.delivery(delivery_id)
    assert delivery is not None
    event = events.parse(delivery.event, delivery_id, delivery.body)
    job = routing.route(event)
    token = JOB_CONTEXT.set(
        {"delivery": delivery_id, "installation": event.installation_id, "repo": event.repository, "job": job}
    )
    started = time.monotonic()
    status = FAILED
    try:
        if job is not None:
            HANDLERS[job](service, event)
        status = DONE
    except Busy:
        log.info("job.busy")
        raise
    except Exception:
        log.exception("job.failed")
        raise
    finally:
        store.finish(delivery_id, status)
        store.add("ortfix_jobs_total", {"job": job or "none", "outcome": status})
        store.add("ortfix_job_seconds_total", {"job": job or "none"}, time.monotonic() - started)
        JOB_CONTEXT.reset(token)


def review_job(service: Service, event: events.Event) -> None:
    pr = _pull_request(event)
    if pr is None:
        log.info("review.no-pull-request")
        return
    JOB_CONTEXT.set({**(JOB_CONTEXT.get() or {}), "pr": pr.number})
    client = _client(service, event)
    try:
        outcome = review_pull_request(client, service.store, pr)
    finally:
        _record_calls(service, client)
    log.info("review.done", extra={"outcome": vars(outcome), "github_calls": client.calls})


def _pull_request(event: events.Event) -> PullRequest | None:
    """The PR a review event is about: the payload's own, or the one a re-requested check belongs to."""
    payload = event.payload
    if "pull_request" in payload:
        return PullRequest.from_payload(payload)
    suite = payload.get("check_suite") or (payload.get("check_run") or {}).get("check_suite") or {}
    pulls = suite.get("pull_requests") or (payload.get("check_run") or {}).get("pull_requests") or []
    if not pulls:
        return None
    repository = payload["repository"]
    return PullRequest(
        repo=repository["full_name"],
        number=int(pulls[0]["number"]),
        head_sha=suite.get("head_sha") or pulls[0]["head"]["sha"],
        default_branch=repository["default_branch"],
        draft=False,
    )


def _client(service: Service, event: events.Event) -> GitHubClient:
    if service.app is None or event.installation_id is None:
        raise RuntimeError("GitHub App credentials are not set (APP_ID, PRIVATE_KEY)")
    return service.app.installation(event.installation_id)


def _record_calls(service: Service, client: GitHubClient) -> None:
    labels = {"installation": str(client.installation_id)}
    service.store.add("ortfix_github_api_calls_total", labels, client.calls)
    if client.rate_remaining is not None:
        service.store.set_gauge("ortfix_github_rate_limit_remaining", labels, client.rate_remaining)


HANDLERS: dict[str, Callable[[Service, events.Event], None]] = {routing.REVIEW: review_job}
