"""The queue and its jobs: huey (SQLite by default, Redis when REDIS_URL is set), and thin task shells.

Only a delivery id crosses the queue; the worker reads the delivery from the
store, so a job redone after a crash sees exactly what GitHub sent.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from huey import Huey, PriorityRedisHuey, crontab
from huey.storage import SqliteStorage

from bot.adapters.github import GitHubApp, GitHubClient, GitHubError
from bot.adapters.package_managers import PackageManagers
from bot.adapters.store import (
    CHECKPOINT_PAGES,
    DONE,
    FAILED,
    Busy,
    Heartbeat,
    PatientConnection,
    Store,
    open_store,
    private_file,
)
from bot.core import events, render, slash_commands
from bot.jobs import audit, fix_commits
from bot.jobs.review import PullRequest, load_config, review_pull_request
from bot.service import routing
from bot.service.logs import JOB_CONTEXT
from bot.service.settings import Settings

log = logging.getLogger("ortfix.jobs")

RETRIES = 5
RETRY_DELAY = 20  # seconds; a busy pull request or a GitHub outage gets a few more tries
QUEUED_GRACE = 900.0  # a delivery queued this long was lost between the store and the queue: queue it again
EMPTY_QUEUE_GRACE = 60.0  # …or this long, when the queue is empty (its task was taken by a worker that died)
AUDIT_KEY_TTL = 8 * 24 * 3600  # a week's audit key outlives the week
ORG_SUMMARY_AFTER = 600.0  # seconds after the last repository's audit starts
# A delivery the sweep queues again (its worker died) runs next, not behind the backlog that built up meanwhile.
REQUEUED_PRIORITY = 10


@dataclass
class Service:
    """Everything a job needs, built once per process."""

    settings: Settings
    store: Store
    huey: Huey
    app: GitHubApp | None
    enqueue: Callable[[str], object] = field(init=False)  # queue a delivery's job
    sweep: Callable[[], object] = field(init=False)  # queue again what a dead worker left (also a periodic task)
    audit_week: Callable[[], object] = field(init=False)  # the weekly fan-out (a periodic task)
    audit_installation: Any = field(init=False)  # huey tasks: call to queue, .schedule(...) to delay
    audit_repo: Any = field(init=False)
    org_summary: Any = field(init=False)


class _SqliteStorage(SqliteStorage):
    """huey's SQLite storage in WAL mode with synchronous=NORMAL, on the store's patient connections.

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
        return PriorityRedisHuey("ortfix", url=settings.redis_url)  # a sorted set: priorities, as on SQLite
    private_file(settings.db_path)
    return Huey("ortfix", storage_class=_SqliteStorage, filename=settings.db_path, timeout=0, factory=PatientConnection)


def build(settings: Settings, store: Store | None = None, huey: Huey | None = None) -> Service:
    app = None
    if settings.app_id and settings.private_key:
        app = GitHubApp(settings.app_id, settings.private_key, settings.api_url, delay=settings.github_delay)
    service = Service(
        settings=settings,
        store=store or open_store(settings.redis_url, settings.db_path, settings.lease_seconds),
        huey=huey or make_huey(settings),
        app=app,
    )

    @service.huey.task(retries=RETRIES, retry_delay=RETRY_DELAY, name="handle_delivery")
    def handle_delivery(delivery_id: str) -> None:
        run_delivery(service, delivery_id)

    @service.huey.periodic_task(_crontab(settings.audit_cron), name="audit_week")
    def audit_week() -> None:
        if service.app is not None:
            for installation in service.app.installations():
                audit_installation(installation["id"])

    @service.huey.task(retries=3, retry_delay=300, name="audit_installation")
    def audit_installation(installation_id: int, only: list[str] | None = None) -> None:
        fan_out_audits(service, installation_id, only)

    @service.huey.task(retries=2, retry_delay=600, name="audit_repo")
    def audit_repo(installation_id: int, repo: dict) -> None:
        run_audit(service, installation_id, repo)

    @service.huey.task(retries=2, retry_delay=600, name="org_summary")
    def org_summary(installation_id: int, repositories: list[str]) -> None:
        assert service.app is not None
        client = service.app.installation(installation_id)
        org = repositories[0].split("/")[0] if repositories else ""
        audit.write_org_issue(client, service.store, org, repositories, service.settings.github_web_url)
        _record_calls(service, client)

    @service.huey.periodic_task(crontab(minute="*/10"), name="redeliver_failed")
    def redeliver_failed() -> None:
        if service.app is not None:
            redeliver_missed(service)

    def sweep() -> None:
        grace = EMPTY_QUEUE_GRACE if service.huey.pending_count() == 0 else QUEUED_GRACE
        for delivery_id in service.store.orphans(grace):
            log.warning("delivery.requeued", extra={"delivery": delivery_id})
            handle_delivery(delivery_id, priority=REQUEUED_PRIORITY)

    @service.huey.periodic_task(crontab(minute="*"), name="requeue_orphans")
    def requeue_orphans() -> None:
        sweep()

    service.enqueue = handle_delivery
    service.sweep = sweep
    service.audit_installation = audit_installation
    service.audit_repo = audit_repo
    service.audit_week = audit_week.call_local
    service.org_summary = org_summary
    return service


def adopt_list_queue(huey: Huey) -> int:
    """Move tasks queued by an ortfix from before priorities (a Redis list) into the priority queue.

    The priority queue is a sorted set under the same key, so the list is renamed aside first. Returns how many.
    """
    storage = huey.storage
    if not isinstance(storage, PriorityRedisHuey.storage_class) or storage.conn.type(storage.queue_key) != b"list":
        return 0
    aside = f"{storage.queue_key}.list"
    try:
        storage.conn.rename(storage.queue_key, aside)
    except redis.ResponseError:  # another consumer starting at the same time moved it first
        return 0
    moved = 0
    while (data := storage.conn.rpop(aside)) is not None:  # oldest first, as the list would have served them
        storage.enqueue(data)
        moved += 1
    return moved


def every(seconds: float, action: Callable[[], object], stop: threading.Event) -> None:
    """Run `action` every `seconds` until `stop` is set (the consumer's sweep and checkpoints, in threads)."""
    while not stop.wait(seconds):
        try:
            action()
        except Exception:  # the store is briefly away (a Redis restart): the next round tries again
            log.warning("housekeeping.failed", extra={"action": getattr(action, "__name__", "")}, exc_info=True)


def _crontab(spec: str):
    minute, hour, day, month, weekday = spec.split()
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday)


REDELIVER_MAX = 50  # per run: an outage's backlog is worked off over a few runs, not in one burst


def redeliver_missed(service: Service) -> int:
    """Ask GitHub to send again each recent delivery that never reached ortfix (it was down, or answered 5xx).

    A delivery counts as missed when no attempt of its GUID succeeded and the store never accepted it;
    each is asked for once. Returns how many were asked for.
    """
    assert service.app is not None
    attempts = service.app.hook_deliveries()
    succeeded = {a["guid"] for a in attempts if 200 <= int(a.get("status_code") or 0) < 300}
    asked = 0
    for attempt in attempts:  # newest first: the latest failed attempt of each GUID
        guid = attempt["guid"]
        if guid in succeeded or service.store.delivery(guid) is not None or service.store.get(f"redelivered:{guid}"):
            continue
        service.app.redeliver(attempt["id"])
        service.store.put(f"redelivered:{guid}", str(service.store.clock()))
        succeeded.add(guid)
        asked += 1
        if asked >= REDELIVER_MAX:
            break
    if asked:
        log.warning("deliveries.redelivered", extra={"count": asked})
    return asked


def fan_out_audits(service: Service, installation_id: int, only: list[str] | None = None) -> int:
    """Queue one audit per repository of an installation, paced by its rate limit; once per repo and week.

    `only`: the repositories just added (audited once, right away). Returns how many were queued.
    """
    assert service.app is not None
    client = service.app.installation(installation_id)
    repos = [r for r in client.repositories() if not r.get("archived") and not r.get("fork")]
    if only is not None:
        repos = [r for r in repos if r["full_name"] in only]
    week = time.strftime("%G-W%V", time.gmtime(service.store.clock()))
    due = []
    for repo in repos:
        key = f"audit-once:{repo['full_name']}" if only is not None else f"audit-week:{repo['full_name']}:{week}"
        if service.store.acquire(key, AUDIT_KEY_TTL):  # two consumers firing the weekly task queue it once
            due.append(repo)
    delays = audit.pacing(len(due), client.rate_remaining)
    for repo, delay in zip(due, delays, strict=True):
        fields = {k: repo.get(k) for k in ("full_name", "default_branch", "archived", "fork")}
        service.audit_repo.schedule((installation_id, fields), delay=delay)
    if only is None and due:  # the org-wide view, once the week's audits are through
        names = [r["full_name"] for r in repos]
        service.org_summary.schedule((installation_id, names), delay=(delays[-1] if delays else 0) + ORG_SUMMARY_AFTER)
    _record_calls(service, client)
    return len(due)


def run_audit(service: Service, installation_id: int, repo: dict) -> audit.AuditOutcome:
    assert service.app is not None
    client = service.app.installation(installation_id)
    token = JOB_CONTEXT.set({"installation": installation_id, "repo": repo["full_name"], "job": "audit"})
    try:
        if not repo.get("default_branch"):
            repo = client.repository(repo["full_name"])
        with Heartbeat(service.store):  # keeps the audit's lock while it runs
            outcome = audit.audit_repository(
                client,
                service.store,
                audit.RepoInfo.from_api(repo),
                service.settings.github_web_url,
                dry_run=service.settings.dry_run,
            )
        log.info(
            "audit.done", extra={"outcome": outcome.action, "findings": outcome.findings, "github_calls": client.calls}
        )
        return outcome
    finally:
        _record_calls(service, client)
        JOB_CONTEXT.reset(token)


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
            with Heartbeat(store, delivery_id):
                HANDLERS[job](service, event)
        status = DONE
    except Busy:
        log.info("job.busy")
        raise
    except Exception:
        log.exception("job.failed")
        raise
    finally:
        counts = [
            ("ortfix_jobs_total", {"job": job or "none", "outcome": status}, 1),
            ("ortfix_job_seconds_total", {"job": job or "none"}, time.monotonic() - started),
        ]
        store.finish(delivery_id, status, counts)  # one write: the consumer's writes are what webhooks wait behind
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
    if client.graphql_cost:
        service.store.add("ortfix_github_graphql_points_total", labels, client.graphql_cost)
    if client.graphql_remaining is not None:
        service.store.set_gauge("ortfix_github_graphql_remaining", labels, client.graphql_remaining)


WRITERS = ("admin", "maintain", "write")
COMMAND_INTERVAL = 60.0  # seconds between two `/ortfix check` (or `help`) of one person, or on one pull request


def command_job(service: Service, event: events.Event) -> None:
    """`/ortfix`, `/ortfix fix|check|help` in a comment on a pull request or an issue."""
    payload = event.payload
    issue, comment = payload["issue"], payload["comment"]
    repo, number = payload["repository"]["full_name"], int(issue["number"])
    command = slash_commands.parse(comment.get("body"))
    JOB_CONTEXT.set({**(JOB_CONTEXT.get() or {}), "pr": number, "command": command})
    done_key = f"command:{comment['id']}:{hashlib.sha256((comment.get('body') or '').encode()).hexdigest()[:12]}"
    if service.store.get(done_key):
        return  # this comment, in this wording, was answered already
    client = _client(service, event)
    try:
        client.react(repo, comment["id"], "eyes")
        _command(service, client, payload, command, repo, number)
        client.react(repo, comment["id"], "rocket")
    except GitHubError as error:  # GitHub refused a step: say so; anything else fails the delivery, to be retried
        log.exception("command.failed")
        client.react(repo, comment["id"], "confused")
        reason = f"GitHub answered {error.status}"
        client.comment(repo, number, render.FAILED.format(reason=reason, delivery=event.delivery_id))
    finally:
        _record_calls(service, client)
    service.store.put(done_key, "1")


def _command(
    service: Service, client: GitHubClient, payload: dict, command: str | None, repo: str, number: int
) -> None:
    issue, comment = payload["issue"], payload["comment"]
    is_pull = "pull_request" in issue
    default_branch = payload["repository"]["default_branch"]
    user = comment["user"]["login"]
    if command in (slash_commands.HELP, slash_commands.CHECK) and not _within_rate(
        service, repo, number, user, command
    ):
        return
    if command == slash_commands.HELP:
        client.comment(repo, number, render.HELP)
        return
    if command == slash_commands.CHECK:
        if is_pull:
            head = client.pull(repo, number)["head"]["sha"]
            review_pull_request(client, service.store, PullRequest(repo, number, head, default_branch, False))
        else:
            client.comment(repo, number, render.HELP)
        return
    pull = client.pull(repo, number) if is_pull else None
    if not _may_change(client, repo, pull, user):
        client.comment(repo, number, render.REFUSED.format(user=user))
        return
    config = load_config(client, service.store, repo, default_branch)
    refresher = _package_managers(service.settings)
    if pull is None:
        outcome = fix_commits.ensure_fix_pull(client, service.store, repo, default_branch, config, True, refresher)
        if outcome.number is None:
            client.comment(repo, number, render.nothing_to_fix(default_branch))
        elif outcome.action == "unchanged":
            client.comment(repo, number, render.FIX_PULL_UNCHANGED.format(number=outcome.number))
        else:
            client.comment(repo, number, render.FIX_PULL_OPENED.format(number=outcome.number))
        return
    result = fix_commits.fix_pull_request(client, service.store, repo, number, config, refresher, pull)
    if result.commit and result.pushed_to:
        reply = render.fixed_reply(
            result.plan, service.settings.github_web_url, result.pushed_to, result.commit, result.branch
        )
        client.comment(repo, number, reply)
    elif result.patch:
        client.comment(repo, number, render.cannot_push_reply(result.plan, result.patch))
        review_pull_request(client, service.store, PullRequest(repo, number, result.head, default_branch, False))
    elif result.plan.notes:
        client.comment(repo, number, render.not_committed_reply(result.plan, result.head[:7]))
    else:
        client.comment(repo, number, render.nothing_to_fix(result.head[:7]))


def _may_change(client: GitHubClient, repo: str, pull: dict | None, user: str) -> bool:
    """Write access, asked now; being the author counts only for a pull request from the author's own fork."""
    head_repo = (pull or {}).get("head", {}).get("repo") or {}
    own_fork = (
        pull is not None
        and pull["user"]["login"] == user
        and head_repo.get("full_name") not in (None, repo)
        and head_repo.get("owner", {}).get("login") == user
    )
    return own_fork or client.permission(repo, user) in WRITERS


def _within_rate(service: Service, repo: str, number: int, user: str, command: str) -> bool:
    """One `/ortfix check` or `help` a minute per person and per pull request; the rest is ignored (and logged)."""
    keys = (f"rate:{command}:user:{user}", f"rate:{command}:pr:{repo}#{number}")
    owners = {key: service.store.acquire(key, COMMAND_INTERVAL) for key in keys}
    if all(owners.values()):
        return True
    for key, owner in owners.items():
        if owner is not None:
            service.store.release(key, owner)
    log.info("command.rate-limited", extra={"user": user})
    return False


def audit_new_job(service: Service, event: events.Event) -> None:
    """A new installation, or repositories added to one: audit those once, right away."""
    payload = event.payload
    added = payload.get("repositories") if event.name == "installation" else payload.get("repositories_added")
    names = [r["full_name"] for r in added or []]
    if names and event.installation_id is not None:
        service.audit_installation(event.installation_id, names)


def fix_pull_job(service: Service, event: events.Event) -> None:
    """After a push to the default branch: keep the fix pull request current, where the config opts in."""
    repo = event.payload["repository"]["full_name"]
    default_branch = event.payload["repository"]["default_branch"]
    client = _client(service, event)
    try:
        config = load_config(client, service.store, repo, default_branch)
        if not config.fix_prs or config.dry_run:
            return
        with service.store.lock(f"fix-pull:{repo}", service.store.lease):
            outcome = fix_commits.ensure_fix_pull(
                client, service.store, repo, default_branch, config, refresher=_package_managers(service.settings)
            )
        log.info("fix-pull.done", extra={"outcome": vars(outcome)})
    finally:
        _record_calls(service, client)


def org_tick_job(service: Service, event: events.Event) -> None:
    """A box ticked in the org-wide audit issue: that repository's fix pull request, if the ticker may write there."""
    user = (event.payload.get("sender") or {}).get("login", "")
    client = _client(service, event)
    try:
        for repo in sorted(routing.newly_ticked(event.payload)):
            if client.permission(repo, user) not in WRITERS:
                log.info("org-tick.refused", extra={"user": user, "target": repo})
                continue
            default_branch = client.repository(repo)["default_branch"]
            config = load_config(client, service.store, repo, default_branch)
            refresher = _package_managers(service.settings)
            outcome = fix_commits.ensure_fix_pull(client, service.store, repo, default_branch, config, True, refresher)
            log.info("org-tick.fix-pull", extra={"target": repo, "outcome": vars(outcome)})
    finally:
        _record_calls(service, client)


HANDLERS: dict[str, Callable[[Service, events.Event], None]] = {
    routing.REVIEW: review_job,
    routing.COMMAND: command_job,
    routing.FIX_PULL: fix_pull_job,
    routing.AUDIT_NEW: audit_new_job,
    routing.ORG_TICK: org_tick_job,
}


def _package_managers(settings: Settings) -> fix_commits.Refresher:
    return fix_commits.package_managers(
        PackageManagers(settings.tools_dir, settings.npm_registry, settings.sandbox_user)
    )
