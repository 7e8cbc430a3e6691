"""Deliveries through the real queue (huey on SQLite and on Redis) to the review job, and back after a crash."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot.adapters.store import LEASE_SECONDS, RedisStore, SqliteStore
from bot.core import events
from bot.service.queue import adopt_list_queue, build, run_delivery
from bot.service.web import create_app
from tests.conftest import METRICS_AUTH, SECRET, Clock, pull_request_payload
from tests.fake_github import PullRequest as FakePull

REPO = "octo-org/web-app"
MANIFEST = '{"dependencies": {"onnxruntime-web": "^1.30.0"}}\n'
MODEL = "import * as ort from 'onnxruntime-web';\nexport const s = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"


@pytest.fixture(params=["sqlite", "redis"])
def queue_service(request, settings):
    """The service on one backend: its huey queue and its store both there, with a clock the test moves."""
    clock = Clock()
    if request.param == "redis":
        settings = dataclasses.replace(settings, redis_url=request.getfixturevalue("redis_url"))
        store = RedisStore(settings.redis_url, clock=clock)
    else:
        store = SqliteStore(settings.db_path, clock=clock)
    service = build(settings, store=store)
    service.app.sleep = lambda seconds: None
    return service, clock


def deliver(service, delivery: str = "d-1") -> None:
    github_pull = FakePull(
        REPO, 7, base={"package.json": MANIFEST}, head={"package.json": MANIFEST, "src/model.js": MODEL}
    )
    payload = pull_request_payload("opened", REPO, 7, github_pull.head_sha)
    body = json.dumps(payload).encode()
    client = create_app(service.settings, service).test_client()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": events.sign(SECRET, body),
    }
    assert client.post("/api/github/webhooks", data=body, headers=headers).status_code == 202
    return github_pull


def work(service) -> int:
    """What a consumer does: take each task and run it; the number run."""
    ran = 0
    while (task := service.huey.dequeue()) is not None:
        service.huey.execute(task)
        ran += 1
    return ran


def test_a_queued_delivery_becomes_one_review(queue_service, github) -> None:
    """Webhook → store + queue → consumer → one review and a completed check run."""
    service, _ = queue_service
    pull = github.add_pull(deliver(service))
    assert work(service) == 1
    assert len(pull.reviews) == 1 and len(pull.comments) == 1
    assert service.store.delivery("d-1").status == "done"


def test_a_job_killed_mid_run_is_redone_after_its_lease(queue_service, github) -> None:
    """The worker took the task and died (SIGKILL): the sweep queues it again and it completes, once."""
    service, clock = queue_service
    pull = github.add_pull(deliver(service))
    service.huey.dequeue()  # taken off the queue by the worker that then died…
    service.store.start("d-1")  # …after claiming it
    service.sweep()
    assert work(service) == 0  # its lease still runs: nothing to redo yet
    clock.now += LEASE_SECONDS + 1
    service.sweep()
    assert work(service) == 1
    assert len(pull.reviews) == 1 and service.store.delivery("d-1").status == "done"


def test_a_requeued_delivery_runs_before_the_backlog(queue_service, github) -> None:
    """A killed worker's job, queued again by the sweep, is the next task taken, ahead of what queued meanwhile."""
    service, clock = queue_service
    pull = github.add_pull(deliver(service))
    service.huey.dequeue()
    service.store.start("d-1")  # the worker claimed it, then was SIGKILLed
    for number in range(5):  # the backlog that builds while no worker is up
        service.enqueue(f"later-{number}")
    clock.now += LEASE_SECONDS + 1
    service.sweep()
    first = service.huey.dequeue()
    assert first.args == ("d-1",) and service.huey.pending_count() == 5
    service.huey.execute(first)
    assert len(pull.reviews) == 1


def test_tasks_queued_before_priorities_are_kept(redis_url, settings) -> None:
    """An older ortfix queued tasks in a Redis list; the worker moves them, in order, into the priority queue."""
    import redis

    service = build(dataclasses.replace(settings, redis_url=redis_url))
    old_queue = service.huey.storage.queue_key
    for delivery in ("old-1", "old-2"):  # as huey's plain RedisStorage queued them
        task = service.huey.serialize_task(service.enqueue.s(delivery))
        redis.Redis.from_url(redis_url).lpush(old_queue, task)
    assert adopt_list_queue(service.huey) == 2 and adopt_list_queue(service.huey) == 0
    assert [service.huey.dequeue().args for _ in range(2)] == [("old-1",), ("old-2",)]


def test_a_task_lost_before_it_started_is_found_when_the_queue_is_empty(queue_service, github) -> None:
    """Dequeued but never claimed (the worker died in between): queued again after a minute of empty queue."""
    service, clock = queue_service
    pull = github.add_pull(deliver(service))
    service.huey.dequeue()
    clock.now += 61
    service.sweep()
    assert work(service) == 1 and len(pull.reviews) == 1


def test_running_a_delivery_twice_posts_once(queue_service, github) -> None:
    """Idempotent: the same delivery run again after it is done does nothing."""
    service, _ = queue_service
    pull = github.add_pull(deliver(service))
    work(service)
    run_delivery(service, "d-1")
    assert len(pull.reviews) == 1 and github.count("POST", "/reviews$") == 1


@pytest.mark.expects_failure_log
def test_a_failing_job_is_marked_failed_and_retried_by_the_queue(queue_service, github) -> None:
    """GitHub down for the review's first calls: the job fails, huey schedules a retry, the retry succeeds."""
    service, _ = queue_service
    pull = github.add_pull(deliver(service))
    github.fail("GET", r"/pulls/7/files", 500, times=5)  # every attempt of the first run
    work(service)
    assert service.store.delivery("d-1").status == "failed"
    assert service.huey.scheduled_count() == 1  # the retry, after its delay
    (retry,) = service.huey.scheduled()
    service.huey.execute(retry, timestamp=retry.eta)  # its delay has passed
    assert len(pull.reviews) == 1 and service.store.delivery("d-1").status == "done"


def test_job_logs_carry_the_delivery_and_the_call_count(queue_service, github, caplog) -> None:
    """Each line of a job names its delivery, installation, repo and PR; the last one counts the API calls."""
    import logging

    from bot.service.logs import JsonFormatter

    service, _ = queue_service
    github.add_pull(deliver(service))
    with caplog.at_level(logging.INFO, logger="ortfix"):
        work(service)
    done = next(r for r in caplog.records if r.getMessage() == "review.done")
    line = json.loads(JsonFormatter().format(done))
    assert line["delivery"] == "d-1" and line["installation"] == 42 and line["repo"] == REPO and line["pr"] == 7
    assert line["github_calls"] == 10
    assert ("ortfix_github_api_calls_total", {"installation": "42"}, 10.0) in service.store.series()


def test_logs_are_json_lines(capsys) -> None:
    """configure() makes every line one JSON object with the job's context."""
    import logging

    from bot.service.logs import JOB_CONTEXT, configure

    configure("INFO")
    token = JOB_CONTEXT.set({"delivery": "d-9", "repo": REPO})
    logging.getLogger("ortfix.test").info("hello", extra={"n": 1})
    JOB_CONTEXT.reset(token)
    logging.getLogger().handlers.clear()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "hello" and line["delivery"] == "d-9" and line["n"] == 1 and line["level"] == "info"


def test_deliveries_missed_during_an_outage_are_redelivered_once(service, github) -> None:
    """GitHub lists its recent deliveries: ortfix asks again for those that failed and never reached it."""
    from bot.service.queue import redeliver_missed

    def attempt(id_: int, guid: str, code: int) -> dict:
        return {
            "id": id_,
            "guid": guid,
            "delivered_at": "2026-11-26T06:00:00Z",
            "redelivery": False,
            "duration": 0.1,
            "status": "OK" if code < 300 else "failed",
            "status_code": code,
            "event": "pull_request",
            "action": "opened",
            "installation_id": 42,
            "repository_id": 1,
        }

    github.hook_deliveries = [
        attempt(1, "g-down", 502),  # ortfix was down: GitHub got a 502 from the proxy
        attempt(2, "g-retried", 504),
        attempt(3, "g-retried", 202),  # failed once, then went through
        attempt(4, "g-ok", 202),
        attempt(5, "g-known", 500),  # answered 500 but recorded: the sweep redoes it, no redelivery needed
        attempt(6, "g-down2", 0),  # no answer at all
    ]
    service.store.accept("g-known", "pull_request", "opened", b"{}")
    assert redeliver_missed(service) == 2
    assert sorted(github.redelivered) == [1, 6]
    assert redeliver_missed(service) == 0  # asked once only


def test_metrics_show_graphql_points_apart_from_rest_calls(queue_service, github) -> None:
    """After a review, /metrics carries the GraphQL points spent and left, beside the REST call count."""
    service, _ = queue_service
    github.add_pull(deliver(service))
    work(service)
    client = create_app(service.settings, service).test_client()
    text = client.get("/metrics", headers=METRICS_AUTH).get_data(as_text=True)
    assert 'ortfix_github_graphql_points_total{installation="42"} 1.0' in text
    assert 'ortfix_github_graphql_remaining{installation="42"} 4998.0' in text
