"""The durable store, on SQLite and on a real Redis: nothing accepted is lost, nothing is done twice."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
import time

import pytest
import redis

from bot.adapters import store as store_module
from bot.adapters.store import (
    DONE,
    FAILED,
    LEASE_SECONDS,
    Busy,
    Delivery,
    Heartbeat,
    RedisStore,
    SqliteStore,
    open_store,
    private_file,
)
from bot.service.queue import make_huey
from tests.conftest import Clock


@pytest.fixture(params=["sqlite", "redis"])
def store_and_clock(request, tmp_path):
    clock = Clock()
    if request.param == "sqlite":
        return SqliteStore(str(tmp_path / "state.db"), clock=clock), clock
    return RedisStore(request.getfixturevalue("redis_url"), clock=clock), clock


def test_a_delivery_is_accepted_once(store_and_clock) -> None:
    """The first accept records it; a duplicate is refused while it is queued, running or done."""
    store, _ = store_and_clock
    assert store.accept("d1", "pull_request", "opened", b"{}")
    assert not store.accept("d1", "pull_request", "opened", b"{}")
    assert store.start("d1")
    assert not store.accept("d1", "pull_request", "opened", b"{}")
    store.finish("d1", DONE)
    assert not store.accept("d1", "pull_request", "opened", b"{}")


def test_a_failed_delivery_can_be_accepted_again(store_and_clock) -> None:
    store, _ = store_and_clock
    store.accept("d1", "pull_request", "opened", b"{}")
    store.start("d1")
    store.finish("d1", FAILED)
    assert store.accept("d1", "pull_request", "opened", b"{2}")
    assert store.delivery("d1").body == b"{2}"


def test_a_body_replayed_under_another_delivery_id_is_a_duplicate(store_and_clock) -> None:
    """GitHub signs the body, not the id: the same body under a new id is refused, counted as a duplicate."""
    store, _ = store_and_clock
    assert store.accept("d1", "pull_request", "opened", b'{"number": 7}')
    assert not store.accept("d2", "pull_request", "opened", b'{"number": 7}')
    assert store.delivery("d2") is None
    assert ("ortfix_deliveries_total", {"event": "pull_request", "outcome": "duplicate"}, 1.0) in store.series()


def test_a_failed_delivery_redelivered_with_its_body_is_accepted(store_and_clock) -> None:
    """GitHub's Redeliver: the same id and the same body; after a failure it runs again."""
    store, _ = store_and_clock
    store.accept("d1", "pull_request", "opened", b'{"number": 7}')
    store.start("d1")
    store.finish("d1", FAILED)
    assert store.accept("d1", "pull_request", "opened", b'{"number": 7}')


def test_start_claims_once(store_and_clock) -> None:
    """Two workers given the same delivery: one runs it; a done delivery never runs again."""
    store, _ = store_and_clock
    store.accept("d1", "pull_request", "opened", b"{}")
    assert store.start("d1")
    assert not store.start("d1")
    store.finish("d1", DONE)
    assert not store.start("d1")
    assert store.delivery("d1").attempts == 1


def test_a_job_whose_worker_died_is_an_orphan_after_its_lease(store_and_clock) -> None:
    """Running past its lease (the worker SIGKILLed): found by the sweep, and startable again."""
    store, clock = store_and_clock
    store.accept("d1", "pull_request", "opened", b"{}")
    store.start("d1")
    assert store.orphans(queued_grace=60) == []
    clock.now += LEASE_SECONDS + 1
    assert store.orphans(queued_grace=60) == ["d1"]
    assert store.orphans(queued_grace=60) == []  # claimed by the first sweep
    assert store.start("d1")
    assert store.delivery("d1").attempts == 2


def test_a_delivery_queued_too_long_is_an_orphan(store_and_clock) -> None:
    """Recorded but never started within the grace (its task lost with a dead worker): queued again."""
    store, clock = store_and_clock
    store.accept("d1", "pull_request", "opened", b'{"n": 1}')
    store.accept("d2", "pull_request", "opened", b'{"n": 2}')
    store.start("d2")
    store.finish("d2", DONE)
    clock.now += 61
    assert store.orphans(queued_grace=60) == ["d1"]


def test_an_orphan_started_between_the_sweep_reading_it_and_claiming_it_stays_started(redis_url, monkeypatch) -> None:
    """A worker starts the delivery after the sweep read the queued set: the sweep must not put it back, nor queue it."""
    clock = Clock()
    store = RedisStore(redis_url, clock=clock)
    store.accept("d1", "pull_request", "opened", b'{"n": 1}')
    clock.now += 61
    read = store.redis.zrangebyscore

    def read_then_started_elsewhere(key, *args, **kwargs):
        members = read(key, *args, **kwargs)
        if members and key.endswith("queued"):
            assert store.start("d1")  # another worker, between the read and the claim
        return members

    monkeypatch.setattr(store.redis, "zrangebyscore", read_then_started_elsewhere)
    assert store.orphans(queued_grace=60) == []
    assert store.redis.zscore(store._key("queued"), "d1") is None


def test_locks_expire(store_and_clock) -> None:
    store, clock = store_and_clock
    owner = store.acquire("pr:a#1", 30)
    assert owner
    assert not store.acquire("pr:a#1", 30)
    store.release("pr:a#1", owner)
    assert store.acquire("pr:a#1", 30)
    if isinstance(store, SqliteStore):
        clock.now += 31  # Redis expires keys on its own clock: test_a_lock_lasts_its_ttl
        assert store.acquire("pr:a#1", 30)


def _wait(store, clock: Clock, seconds: float) -> None:
    """Let `seconds` pass: on the test clock for SQLite, on Redis's own clock (real time) for Redis."""
    if isinstance(store, SqliteStore):
        clock.now += seconds
    else:
        time.sleep(seconds)


def test_a_lock_lasts_its_ttl(store_and_clock) -> None:
    """Still refused one second before its ttl runs out, free one second after."""
    store, clock = store_and_clock
    ttl = 2 if isinstance(store, RedisStore) else 30
    assert store.acquire("pr:a#1", ttl)
    _wait(store, clock, ttl - 1)
    assert store.acquire("pr:a#1", ttl) is None
    _wait(store, clock, 2)
    assert store.acquire("pr:a#1", ttl)


def test_a_release_by_another_owner_leaves_the_lock(store_and_clock) -> None:
    """A job whose lock lapsed and was taken by another cannot free the new holder's lock."""
    store, clock = store_and_clock
    stale = store.acquire("pr:a#1", 1)
    _wait(store, clock, 1.1)
    current = store.acquire("pr:a#1", 30)
    assert current and current != stale
    store.release("pr:a#1", stale)
    assert store.acquire("pr:a#1", 30) is None
    store.release("pr:a#1", current)
    assert store.acquire("pr:a#1", 30)


def test_lock_holds_for_the_block_and_frees_after(store_and_clock) -> None:
    """`with store.lock()`: a second taker gets Busy inside; the lock is free after, even when the block raised."""
    store, _ = store_and_clock
    with pytest.raises(KeyError), store.lock("pr:a#1", 30):
        with pytest.raises(Busy), store.lock("pr:a#1", 30):
            pass
        raise KeyError
    assert store.acquire("pr:a#1", 30)


def test_a_renewed_lock_outlives_its_first_ttl(store_and_clock) -> None:
    """Renewal by its owner extends it; renewal by a stale owner does not."""
    store, clock = store_and_clock
    owner = store.acquire("pr:a#1", 2)
    assert not store.renew_lock("pr:a#1", "someone-else", 2)
    _wait(store, clock, 1.2)
    assert store.renew_lock("pr:a#1", owner, 2)
    _wait(store, clock, 1.2)
    assert store.acquire("pr:a#1", 2) is None
    _wait(store, clock, 1.0)  # past the renewed ttl: free, as a lock whose job died must be
    assert store.acquire("pr:a#1", 2) is not None


def test_a_heartbeat_keeps_a_long_job_and_its_locks(tmp_path) -> None:
    """A job running three leases long on a live worker is never an orphan, nor startable elsewhere; nor is its lock."""
    store = SqliteStore(str(tmp_path / "s.db"), lease=0.3)
    store.accept("d1", "pull_request", "opened", b"{}")
    assert store.start("d1")
    with Heartbeat(store, "d1"), store.lock("pr:a#1", store.lease):
        for _ in range(9):
            time.sleep(0.1)
            assert store.orphans(queued_grace=60) == [] and not store.start("d1")
            assert store.acquire("pr:a#1", 1) is None
    assert store.acquire("pr:a#1", 1)
    time.sleep(0.4)
    assert store.orphans(queued_grace=60) == ["d1"]  # no heartbeat now: its lease lapses


def test_lapse_running_makes_every_running_job_an_orphan_now(store_and_clock) -> None:
    """At start of the single-process service, jobs marked running were left by its dead predecessor."""
    store, _ = store_and_clock
    for delivery in ("d1", "d2", "d3"):
        store.accept(delivery, "pull_request", "opened", b"{}")
    store.start("d1")
    store.start("d2")
    store.finish("d2", DONE)
    assert store.acquire("pr:a#1", store.lease) and store.acquire("audit-week:a:2026-W49", 8 * 24 * 3600)
    assert store.lapse_running() == ["d1"]
    assert store.orphans(queued_grace=60) == ["d1"]
    assert store.start("d1")
    assert store.acquire("pr:a#1", store.lease)  # the dead job's lock is free
    assert store.acquire("audit-week:a:2026-W49", 60) is None  # a week's mark is not a job's lock


def test_counters_gauges_and_values(store_and_clock) -> None:
    store, _ = store_and_clock
    store.add("ortfix_deliveries_total", {"event": "ping", "outcome": "pong"})
    store.add("ortfix_deliveries_total", {"event": "ping", "outcome": "pong"}, 2)
    store.set_gauge("ortfix_github_rate_limit_remaining", {"installation": "1"}, 4999)
    store.set_gauge("ortfix_github_rate_limit_remaining", {"installation": "1"}, 4990)
    assert store.series() == [
        ("ortfix_deliveries_total", {"event": "ping", "outcome": "pong"}, 3.0),
        ("ortfix_github_rate_limit_remaining", {"installation": "1"}, 4990.0),
    ]
    store.put("k", "v")
    assert store.get("k") == "v" and store.get("missing") is None


def test_a_done_delivery_drops_its_body(store_and_clock) -> None:
    """Bodies of finished deliveries are not kept (payloads can be 25 MB)."""
    store, _ = store_and_clock
    store.accept("d1", "pull_request", "opened", b"x" * 1000)
    store.start("d1")
    store.finish("d1", DONE)
    assert store.delivery("d1").body == b""


def test_finish_adds_the_jobs_counts(store_and_clock) -> None:
    """The job's counters are written with its outcome, in one write."""
    store, _ = store_and_clock
    store.accept("d1", "pull_request", "opened", b"{}")
    store.start("d1")
    counts = [("ortfix_jobs_total", {"job": "review", "outcome": DONE}, 1), ("ortfix_job_seconds_total", {}, 2.5)]
    store.finish("d1", DONE, counts)
    assert store.delivery("d1").status == DONE
    series = store.series()
    assert ("ortfix_jobs_total", {"job": "review", "outcome": DONE}, 1.0) in series
    assert ("ortfix_job_seconds_total", {}, 2.5) in series


class _DiesAfterOneCommand:
    """A Redis connection that answers one command, then is refused (Redis restarted under the web process)."""

    def __init__(self, real) -> None:
        self.real, self.calls = real, 0

    def __getattr__(self, name: str):
        attribute = getattr(self.real, name)
        if not callable(attribute) or name in ("register_script", "pipeline"):
            return attribute

        def call(*args, **kwargs):
            self.calls += 1
            if self.calls > 1:
                raise redis.ConnectionError("Connection refused")
            return attribute(*args, **kwargs)

        return call


def test_an_accept_cut_short_by_redis_leaves_nothing_unrunnable(redis_url) -> None:
    """Redis gone mid-accept: the 500 makes GitHub send it again, and the delivery is then queued or in the sweep."""
    clock = Clock()
    store = RedisStore(redis_url, clock=clock)
    real = store.redis
    store.redis = _DiesAfterOneCommand(real)
    with contextlib.suppress(redis.ConnectionError):
        store.accept("d1", "pull_request", "opened", b"{}")
    store.redis = real
    again = store.accept("d1", "pull_request", "opened", b"{}")
    clock.now += 61
    assert again or store.orphans(queued_grace=60) == ["d1"]


def test_a_delivery_reads_back_as_it_was_accepted(store_and_clock) -> None:
    store, _ = store_and_clock
    store.accept("d1", "pull_request", "synchronize", b'{"n": 1}')
    assert store.delivery("d1") == Delivery("d1", "pull_request", "synchronize", "queued", 0, b'{"n": 1}')
    assert store.delivery("d2") is None
    store.start("d1")
    store.finish("d1", FAILED)
    assert store.delivery("d1") == Delivery("d1", "pull_request", "synchronize", FAILED, 1, b'{"n": 1}')


def test_a_checkpoint_moves_the_log_into_the_database_file(tmp_path) -> None:
    """What was written reaches the main file (a copy of it alone holds the data) without closing anything."""
    path = tmp_path / "s.db"
    store = SqliteStore(str(path))
    store.put("k", "v" * 10_000)
    store.checkpoint()
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())
    assert SqliteStore(str(copy)).get("k") == "v" * 10_000


def test_a_renewed_lease_keeps_a_running_delivery_from_the_sweep(store_and_clock) -> None:
    """The heartbeat's renew counts from now: past the first lease the job is still live, past the renewed one not."""
    store, clock = store_and_clock
    store.accept("d1", "pull_request", "opened", b"{}")
    store.start("d1")
    clock.now += LEASE_SECONDS - 1
    store.renew("d1")
    clock.now += 2
    assert store.orphans(queued_grace=60) == []
    clock.now += LEASE_SECONDS
    assert store.orphans(queued_grace=60) == ["d1"]


def test_lapse_running_ends_every_running_job_and_only_job_length_locks(store_and_clock) -> None:
    store, _ = store_and_clock
    for delivery in ("d1", "d2", "d3"):
        store.accept(delivery, "pull_request", "opened", delivery.encode())
        store.start(delivery)
    assert store.acquire("job", store.lease) and store.acquire("longer", store.lease + 5)
    assert sorted(store.lapse_running()) == ["d1", "d2", "d3"]
    assert sorted(store.orphans(queued_grace=60)) == ["d1", "d2", "d3"]
    assert store.acquire("job", 1) and store.acquire("longer", 1) is None


def test_a_queued_delivery_is_no_orphan_within_its_grace(store_and_clock) -> None:
    store, clock = store_and_clock
    store.accept("d1", "pull_request", "opened", b"{}")
    clock.now += 59
    assert store.orphans(queued_grace=60) == []


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_open_store_picks_redis_when_a_url_is_set(backend: str, request, tmp_path) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    store = open_store(url, str(tmp_path / "s.db"), lease=7)
    assert isinstance(store, RedisStore if url else SqliteStore) and store.lease == 7
    assert store.accept("d1", "ping", "", b"{}") and store.delivery("d1") is not None


def test_an_accepted_delivery_is_counted_as_queued(store_and_clock) -> None:
    store, _ = store_and_clock
    store.accept("d1", "push", "", b"{}")
    assert store.series() == [("ortfix_deliveries_total", {"event": "push", "outcome": "queued"}, 1.0)]


def test_a_heartbeat_that_cannot_reach_the_store_logs_and_beats_again(tmp_path, caplog) -> None:
    """A store briefly away (a Redis restart) costs one beat, logged with its traceback, not the heartbeat."""
    store = SqliteStore(str(tmp_path / "s.db"), lease=0.15)
    renewals = []

    def renew(delivery_id: str) -> None:
        renewals.append(delivery_id)
        if len(renewals) == 1:
            raise redis.ConnectionError("Connection refused")

    store.renew = renew  # type: ignore[method-assign]
    with caplog.at_level("WARNING", logger="ortfix.store"), Heartbeat(store, "d1"):
        time.sleep(0.4)
    assert len(renewals) >= 2
    (record,) = [r for r in caplog.records if r.getMessage() == "heartbeat.failed"]
    assert record.exc_info and isinstance(record.exc_info[1], redis.ConnectionError)


def test_the_database_file_is_private_and_a_memory_database_makes_none(tmp_path, monkeypatch) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    SqliteStore(str(path))
    assert path.stat().st_mode & 0o777 == 0o600
    monkeypatch.chdir(tmp_path)
    private_file(":memory:")
    private_file("file:shared.db?mode=memory&cache=shared")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("s.db")] == []


def test_a_database_from_before_lock_owners_is_upgraded(tmp_path) -> None:
    import sqlite3

    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE ortfix_locks (name TEXT PRIMARY KEY, expires REAL)")
    store = SqliteStore(path)
    owner = store.acquire("pr:a#1", 30)
    assert owner and store.acquire("pr:a#1", 30) is None
    store.release("pr:a#1", owner)
    assert store.acquire("pr:a#1", 30)


def test_labels_are_one_series_whatever_their_order(store_and_clock) -> None:
    store, _ = store_and_clock
    store.add("c", {"b": "1", "a": "2"})
    store.add("c", {"a": "2", "b": "1"})
    assert store.series() == [("c", {"a": "2", "b": "1"}, 2.0)]


def test_a_delivery_finished_without_running_is_no_orphan(store_and_clock) -> None:
    store, clock = store_and_clock
    store.accept("d1", "ping", "", b"{}")
    store.finish("d1", DONE)
    clock.now += 3600
    assert store.orphans(queued_grace=60) == []


def test_redis_records_keep_their_names_under_the_prefix(redis_url) -> None:
    """Hosts on different versions share these keys during a rolling deploy: their names are a format."""
    store = RedisStore(redis_url, clock=Clock())
    body = b'{"n": 1}'
    store.accept("d1", "push", "", body)
    assert store.redis.exists("ortfix:delivery:d1", f"ortfix:body:{hashlib.sha256(body).hexdigest()}") == 2


def test_a_claimed_orphan_still_not_done_is_offered_again_after_the_grace(store_and_clock) -> None:
    """A sweep that claimed it and then died must not hide it for ever."""
    store, clock = store_and_clock
    store.accept("d1", "pull_request", "opened", b"{}")
    store.start("d1")
    clock.now += LEASE_SECONDS + 1
    assert store.orphans(queued_grace=60) == ["d1"]
    clock.now += 30
    assert store.orphans(queued_grace=60) == []
    clock.now += 31
    assert store.orphans(queued_grace=60) == ["d1"]


def _hold_write_lock(path: str, release: threading.Event) -> threading.Thread:
    """Another connection takes SQLite's write lock and keeps it until `release`; returns once it holds it."""
    held = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(10)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    return thread


def _recorded_pauses(monkeypatch, release_after: int) -> tuple[list[float], threading.Event]:
    """The store's pauses while it waits for a lock; the lock is let go after `release_after` of them."""
    pauses: list[float] = []
    release = threading.Event()
    sleep = time.sleep

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == release_after:
            release.set()
        sleep(seconds)

    monkeypatch.setattr(store_module.time, "sleep", pause)
    return pauses, release


def test_a_write_waits_out_a_held_lock_in_steps_far_below_a_millisecond(tmp_path, monkeypatch) -> None:
    """SQLite's own busy handler waits 1, 2, 5, 10… ms; a webhook must not pay those for a lock held briefly."""
    store = SqliteStore(str(tmp_path / "state.db"))
    pauses, release = _recorded_pauses(monkeypatch, release_after=12)
    holder = _hold_write_lock(store.path, release)
    assert store.accept("d1", "pull_request", "opened", b"{}")
    holder.join()
    assert store.delivery("d1").status == "queued"
    assert len(pauses) >= 12
    assert pauses[0] <= 0.0001 and max(pauses) == 0.002  # growing, up to a cap of 2 ms
    assert pauses == sorted(pauses) and pauses[1] > pauses[0]


def test_the_queue_waits_out_a_held_lock_too(settings, monkeypatch) -> None:
    """huey's connections are patient as well: an enqueue meeting the store's lock is delayed, not refused."""
    huey = make_huey(settings)
    pauses, release = _recorded_pauses(monkeypatch, release_after=3)
    holder = _hold_write_lock(settings.db_path, release)
    huey.storage.enqueue(b"job")
    holder.join()
    assert len(pauses) >= 3
    assert huey.storage.dequeue() == b"job"


def test_a_lock_held_past_the_busy_limit_fails_the_write(tmp_path, monkeypatch) -> None:
    """Waiting is bounded: past BUSY_SECONDS the write fails loudly rather than hang (and is retried by its caller)."""
    monkeypatch.setattr(store_module, "BUSY_SECONDS", 0.02)
    store = SqliteStore(str(tmp_path / "state.db"))
    release = threading.Event()
    holder = _hold_write_lock(store.path, release)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.put("k", "v")
    release.set()
    holder.join()
    store.put("k", "v")
    assert store.get("k") == "v"
