"""Durable service state: deliveries (so nothing accepted is lost), locks with expiry, counters, small values.

SQLite by default (the ORTFIX_DB file, shared by every process on the
machine); Redis when REDIS_URL is set (shared by every host). Both keep the
same records; the clock is passed in so tests need not sleep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("ortfix.store")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# A job whose lease is not renewed for this long is presumed dead (its worker killed) and is redone. A live job
# renews it (Heartbeat) every third of it, so a long job is never taken from a live worker.
LEASE_SECONDS = 30
# Checkpoints copy the write-ahead log into the database and fsync it: slow. The consumer checkpoints every second
# (checkpoint()), off the request path; a webhook request only starts one past 40 MB of log.
CHECKPOINT_PAGES = 10_000
BUSY_SECONDS = 30  # the longest a write waits for another's lock before it fails


class Busy(Exception):
    """Another job holds this lock; the delivery is retried later."""


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    action: str
    status: str
    attempts: int
    body: bytes


Counts = Iterable[tuple[str, dict[str, str], float]]  # (counter, labels, amount)


class Store(Protocol):
    """The operations both backends offer."""

    clock: Callable[[], float]
    lease: float  # how long a claimed job may run; the locks its job holds last as long

    def accept(self, delivery_id: str, event: str, action: str, body: bytes) -> bool:
        """Record a delivery before it is acknowledged. False: a duplicate.

        A duplicate is a delivery id already recorded and not failed, or a body (by its SHA-256) already
        recorded under another id: GitHub signs the body, not the id, so a captured body replayed under a
        new id passes the signature check. GitHub's own "Redeliver" keeps the id, so a failed one runs again.

        Counts it in `ortfix_deliveries_total` (outcome queued or duplicate) in the same write.
        """
        ...

    def delivery(self, delivery_id: str) -> Delivery | None: ...

    def start(self, delivery_id: str) -> bool:
        """Claim a delivery for a run. False when it is done, or running under a live lease elsewhere."""
        ...

    def renew(self, delivery_id: str) -> None:
        """Extend a running delivery's lease by another `lease` seconds from now (the job's heartbeat)."""
        ...

    def lapse_running(self) -> list[str]:
        """End the lease of every running delivery, and free the job locks (none lasts past a lease), now.

        For a process that knows it is the only consumer: whatever is running was left by its dead predecessor.
        Returns the deliveries, which the sweep then redoes.
        """
        ...

    def finish(self, delivery_id: str, status: str, counts: Counts = ()) -> None:
        """Mark a delivery done or failed, and add `counts` to their counters in the same write."""
        ...

    def orphans(self, queued_grace: float) -> list[str]:
        """Deliveries to queue again: running past their lease, or queued longer than `queued_grace`."""
        ...

    def checkpoint(self) -> None:
        """Housekeeping off the request path (SQLite: fold the write-ahead log into the database)."""
        ...

    def acquire(self, name: str, ttl: float) -> str | None:
        """A lock that frees itself after `ttl` seconds, so a killed holder cannot block forever.

        Returns the holder's random owner token, or None when another holds it.
        """
        ...

    def release(self, name: str, owner: str) -> None:
        """Free the lock if `owner` still holds it (compare-and-delete): never another holder's."""
        ...

    def renew_lock(self, name: str, owner: str, ttl: float) -> bool:
        """Give the lock `ttl` more seconds from now if `owner` still holds it."""
        ...

    def lock(self, name: str, ttl: float) -> AbstractContextManager[str]:
        """`with store.lock(name, ttl):` held for the block, renewed by the job's heartbeat; Busy when refused."""
        ...

    def add(self, counter: str, labels: dict[str, str], amount: float = 1) -> None: ...

    def set_gauge(self, gauge: str, labels: dict[str, str], value: float) -> None: ...

    def series(self) -> list[tuple[str, dict[str, str], float]]:
        """Every counter and gauge: (name, labels, value)."""
        ...

    def put(self, key: str, value: str) -> None: ...

    def get(self, key: str) -> str | None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS ortfix_deliveries (
  id TEXT PRIMARY KEY, event TEXT, action TEXT, status TEXT, attempts INTEGER DEFAULT 0,
  body BLOB, updated REAL, lease REAL DEFAULT 0, swept REAL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ortfix_deliveries_status ON ortfix_deliveries (status, updated);
CREATE TABLE IF NOT EXISTS ortfix_locks (name TEXT PRIMARY KEY, expires REAL, owner TEXT);
CREATE TABLE IF NOT EXISTS ortfix_series (name TEXT, labels TEXT, value REAL, PRIMARY KEY (name, labels));
CREATE TABLE IF NOT EXISTS ortfix_kv (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS ortfix_bodies (sha256 TEXT PRIMARY KEY, delivery TEXT);
"""


def private_file(path: str) -> None:
    """The database readable by its owner only (SQLite gives its -wal and -shm files the same mode)."""
    if path != ":memory:" and not path.startswith("file:"):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)


_HEARTBEAT: ContextVar[Heartbeat | None] = ContextVar("ortfix_heartbeat", default=None)


class Heartbeat:
    """While a job runs: renews its delivery's lease and the locks it takes, every third of a lease.

    So a job longer than the lease keeps it on a live worker, while a SIGKILLed
    worker's job and locks lapse within one lease. `with Heartbeat(store, id):`
    around the job; `store.lock()` inside it registers with it.
    """

    def __init__(self, store: Store, delivery_id: str | None = None) -> None:
        self.store = store
        self.delivery_id = delivery_id
        self.locks: dict[str, tuple[str, float]] = {}  # name: (owner, ttl)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="ortfix-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._token = _HEARTBEAT.set(self)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        _HEARTBEAT.reset(self._token)

    def _beat(self) -> None:
        while not self._stop.wait(self.store.lease / 3):
            try:
                for name, (owner, ttl) in list(self.locks.items()):  # first, so they never outlast the lease
                    self.store.renew_lock(name, owner, ttl)
                if self.delivery_id is not None:
                    self.store.renew(self.delivery_id)
            except Exception:  # the store is briefly away (a Redis restart): the next beat tries again
                log.warning("heartbeat.failed", exc_info=True)


class _Locking:
    """`lock()` on top of a backend's acquire and release."""

    lease: float
    acquire: Callable[[str, float], str | None]  # each backend's own
    release: Callable[[str, str], None]

    @contextmanager
    def lock(self, name: str, ttl: float) -> Iterator[str]:
        owner = self.acquire(name, ttl)
        if owner is None:
            raise Busy(name)
        heartbeat = _HEARTBEAT.get()
        if heartbeat is not None:
            heartbeat.locks[name] = (owner, ttl)
        try:
            yield owner
        finally:
            if heartbeat is not None:
                heartbeat.locks.pop(name, None)
            self.release(name, owner)


def _patient(call: Callable[[], Any]) -> Any:
    """`call()`, again while another connection holds the write lock, in steps of 50 µs to 2 ms.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15… ms, so a webhook that met a lock held for 50 µs
    waited a millisecond or more: most of `ortfix serve`'s p99 acknowledgement (bench/webhook_bench.py).
    """
    deadline = time.monotonic() + BUSY_SECONDS
    pause = 0.00005
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.002)


class _PatientCursor(sqlite3.Cursor):
    def execute(self, *args: Any) -> Any:
        return _patient(lambda: super(_PatientCursor, self).execute(*args))

    def executemany(self, *args: Any) -> Any:
        return _patient(lambda: super(_PatientCursor, self).executemany(*args))

    def executescript(self, *args: Any) -> Any:
        return _patient(lambda: super(_PatientCursor, self).executescript(*args))


class PatientConnection(sqlite3.Connection):
    """A connection whose statements wait for a busy database with _patient, not SQLite's busy handler.

    Open it with `timeout=0`; the store's and huey's connections are both of this kind.
    """

    def cursor(self, factory: Any = _PatientCursor) -> Any:
        return super().cursor(factory)

    def execute(self, *args: Any) -> sqlite3.Cursor:
        return self.cursor().execute(*args)

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        return self.cursor().executemany(*args)

    def executescript(self, *args: Any) -> sqlite3.Cursor:
        return self.cursor().executescript(*args)


class SqliteStore(_Locking):
    def __init__(self, path: str, clock: Callable[[], float] = time.time, lease: float = LEASE_SECONDS) -> None:
        self.path = path
        self.clock = clock
        self.lease = lease
        self._local = threading.local()
        private_file(path)
        with self._db() as db:
            db.executescript(_SCHEMA)
            if "owner" not in {row[1] for row in db.execute("PRAGMA table_info(ortfix_locks)")}:
                db.execute("ALTER TABLE ortfix_locks ADD COLUMN owner TEXT")  # a database from before owners

    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=0, isolation_level=None, factory=PatientConnection)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes; see _SqliteStorage
            connection.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            self._local.connection = connection
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write of several statements as one transaction, taking SQLite's write lock at its start.

        A single statement needs none: in autocommit mode it is its own transaction.
        """
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def accept(self, delivery_id: str, event: str, action: str, body: bytes) -> bool:
        now = self.clock()
        digest = hashlib.sha256(body).hexdigest()
        body = zlib.compress(body, 1)  # a fifth of the bytes through the write-ahead log
        with self._write() as db:  # one write, one lock: the hot path of every webhook
            db.execute("INSERT OR IGNORE INTO ortfix_bodies (sha256, delivery) VALUES (?, ?)", (digest, delivery_id))
            (owner,) = db.execute("SELECT delivery FROM ortfix_bodies WHERE sha256 = ?", (digest,)).fetchone()
            new = owner == delivery_id and (
                db.execute(
                    "INSERT OR IGNORE INTO ortfix_deliveries (id, event, action, status, body, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (delivery_id, event, action, QUEUED, body, now),
                ).rowcount
                or db.execute(
                    # GitHub's "Redeliver" reuses the delivery id: a failed delivery may run again
                    "UPDATE ortfix_deliveries SET status = ?, body = ?, updated = ? WHERE id = ? AND status = ?",
                    (QUEUED, body, now, delivery_id, FAILED),
                ).rowcount
            )
            labels = {"event": event, "outcome": "queued" if new else "duplicate"}
            self._add(db, "ortfix_deliveries_total", labels, 1)
        return bool(new)

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = (
            self._db()
            .execute(
                "SELECT id, event, action, status, attempts, body FROM ortfix_deliveries WHERE id = ?", (delivery_id,)
            )
            .fetchone()
        )
        if not row:
            return None
        delivery_id, event, action, status, attempts, body = row
        return Delivery(delivery_id, event, action, status, attempts, zlib.decompress(body) if body else b"")

    def start(self, delivery_id: str) -> bool:
        now = self.clock()
        claimed = self._db().execute(
            "UPDATE ortfix_deliveries SET status = ?, attempts = attempts + 1, updated = ?, lease = ? "
            "WHERE id = ? AND (status IN (?, ?) OR status = ? AND lease < ?)",
            (RUNNING, now, now + self.lease, delivery_id, QUEUED, FAILED, RUNNING, now),
        )
        return bool(claimed.rowcount)

    def renew(self, delivery_id: str) -> None:
        self._db().execute(
            "UPDATE ortfix_deliveries SET lease = ? WHERE id = ? AND status = ?",
            (self.clock() + self.lease, delivery_id, RUNNING),
        )

    def lapse_running(self) -> list[str]:
        job_length = self.clock() + self.lease  # a job's locks expire within a lease
        with self._write() as db:
            db.execute("DELETE FROM ortfix_locks WHERE expires <= ?", (job_length,))
            rows = db.execute(
                "UPDATE ortfix_deliveries SET lease = 0, swept = 0 WHERE status = ? RETURNING id", (RUNNING,)
            )
            return [row[0] for row in rows]

    def finish(self, delivery_id: str, status: str, counts: Counts = ()) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE ortfix_deliveries SET status = ?, updated = ?, body = CASE WHEN ? = ? THEN x'' ELSE body END "
                "WHERE id = ?",
                (status, self.clock(), status, DONE, delivery_id),
            )
            for counter, labels, amount in counts:
                self._add(db, counter, labels, amount)

    def orphans(self, queued_grace: float) -> list[str]:
        now = self.clock()
        with self._write() as db:  # one sweeper at a time claims them
            rows = db.execute(
                "SELECT id FROM ortfix_deliveries WHERE (status = ? AND lease < ? OR status = ? AND updated < ?) "
                "AND swept < ? ORDER BY updated",
                (RUNNING, now, QUEUED, now - queued_grace, now - queued_grace),
            )
            found = [row[0] for row in rows]
            # claimed: not an orphan again before another grace period has passed
            db.executemany("UPDATE ortfix_deliveries SET swept = ? WHERE id = ?", [(now, i) for i in found])
        return found

    def checkpoint(self) -> None:
        self._db().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def acquire(self, name: str, ttl: float) -> str | None:
        now = self.clock()
        owner = secrets.token_hex(16)
        taken = self._db().execute(
            "INSERT INTO ortfix_locks (name, expires, owner) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET expires = excluded.expires, owner = excluded.owner WHERE expires <= ?",
            (name, now + ttl, owner, now),
        )
        return owner if taken.rowcount else None

    def release(self, name: str, owner: str) -> None:
        self._db().execute("DELETE FROM ortfix_locks WHERE name = ? AND owner = ?", (name, owner))

    def renew_lock(self, name: str, owner: str, ttl: float) -> bool:
        expires = self.clock() + ttl
        renewed = self._db().execute(
            "UPDATE ortfix_locks SET expires = ? WHERE name = ? AND owner = ?", (expires, name, owner)
        )
        return bool(renewed.rowcount)

    def add(self, counter: str, labels: dict[str, str], amount: float = 1) -> None:
        self._add(self._db(), counter, labels, amount)

    @staticmethod
    def _add(db: sqlite3.Connection, counter: str, labels: dict[str, str], amount: float) -> None:
        db.execute(
            "INSERT INTO ortfix_series (name, labels, value) VALUES (?, ?, ?) "
            "ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value",
            (counter, _labels(labels), amount),
        )

    def set_gauge(self, gauge: str, labels: dict[str, str], value: float) -> None:
        self._db().execute(
            "INSERT OR REPLACE INTO ortfix_series (name, labels, value) VALUES (?, ?, ?)",
            (gauge, _labels(labels), value),
        )

    def series(self) -> list[tuple[str, dict[str, str], float]]:
        rows = self._db().execute("SELECT name, labels, value FROM ortfix_series ORDER BY name, labels")
        return [(name, json.loads(labels), value) for name, labels, value in rows]

    def put(self, key: str, value: str) -> None:
        self._db().execute("INSERT OR REPLACE INTO ortfix_kv (key, value) VALUES (?, ?)", (key, value))

    def get(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM ortfix_kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None


class RedisStore(_Locking):
    """The same records in Redis: a hash per delivery, sorted sets by status, SET NX PX locks with owners."""

    _START = """
    local status = redis.call('HGET', KEYS[1], 'status')
    local lease = tonumber(redis.call('HGET', KEYS[1], 'lease') or '0')
    local now = tonumber(ARGV[1])
    if status == 'queued' or status == 'failed' or (status == 'running' and lease < now) then
      redis.call('HSET', KEYS[1], 'status', 'running', 'lease', now + tonumber(ARGV[2]), 'updated', now)
      redis.call('HINCRBY', KEYS[1], 'attempts', 1)
      redis.call('ZREM', KEYS[2], ARGV[3])
      redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[3])
      return 1
    end
    return 0
    """
    # One script, so that a Redis going away mid-way cannot leave a delivery recorded but in no index (never run)
    _ACCEPT = """
    local holder = redis.call('GET', KEYS[4])
    if holder and holder ~= ARGV[5] then  -- the same body under another delivery id
      redis.call('HINCRBYFLOAT', KEYS[3], ARGV[7], 1)
      return 0
    end
    redis.call('SET', KEYS[4], ARGV[5])
    local status = redis.call('HGET', KEYS[1], 'status')
    if status and status ~= 'failed' then
      redis.call('HINCRBYFLOAT', KEYS[3], ARGV[7], 1)
      return 0
    end
    if status then  -- GitHub's "Redeliver" reuses the delivery id: a failed delivery may run again
      redis.call('HSET', KEYS[1], 'status', 'queued', 'body', ARGV[3], 'updated', ARGV[4])
    else
      redis.call('HSET', KEYS[1], 'event', ARGV[1], 'action', ARGV[2], 'status', 'queued', 'attempts', 0,
                 'body', ARGV[3], 'updated', ARGV[4])
    end
    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
    redis.call('HINCRBYFLOAT', KEYS[3], ARGV[6], 1)
    return 1
    """
    _RENEW = """
    if redis.call('HGET', KEYS[1], 'status') == 'running' then
      redis.call('HSET', KEYS[1], 'lease', ARGV[1])
      redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[2])
    end
    """
    _RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
    _RENEW_LOCK = (
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
    )

    def __init__(
        self, url: str, clock: Callable[[], float] = time.time, prefix: str = "ortfix:", lease: float = LEASE_SECONDS
    ) -> None:
        import redis

        self.redis: Any = redis.Redis.from_url(url)
        self.clock = clock
        self.lease = lease
        self.prefix = prefix
        self._accept = self.redis.register_script(self._ACCEPT)
        self._start = self.redis.register_script(self._START)
        self._renew = self.redis.register_script(self._RENEW)
        self._release = self.redis.register_script(self._RELEASE)
        self._renew_lock = self.redis.register_script(self._RENEW_LOCK)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def accept(self, delivery_id: str, event: str, action: str, body: bytes) -> bool:
        keys = [self._key("delivery", delivery_id), self._key("queued"), self._key("series", "ortfix_deliveries_total")]
        keys.append(self._key("body", hashlib.sha256(body).hexdigest()))
        queued, duplicate = ({"event": event, "outcome": outcome} for outcome in ("queued", "duplicate"))
        args: list[str | bytes | float] = [event, action, body, self.clock(), delivery_id]
        args += [_labels(queued), _labels(duplicate)]
        return bool(self._accept(keys=keys, args=args))

    def delivery(self, delivery_id: str) -> Delivery | None:
        raw = self.redis.hgetall(self._key("delivery", delivery_id))
        if not raw:
            return None
        return Delivery(
            delivery_id,
            raw.get(b"event", b"").decode(),
            raw.get(b"action", b"").decode(),
            raw.get(b"status", b"").decode(),
            int(raw.get(b"attempts", b"0")),
            raw.get(b"body", b""),
        )

    def start(self, delivery_id: str) -> bool:
        keys = [self._key("delivery", delivery_id), self._key("queued"), self._key("running")]
        return bool(self._start(keys=keys, args=[self.clock(), self.lease, delivery_id]))

    def renew(self, delivery_id: str) -> None:
        keys = [self._key("delivery", delivery_id), self._key("running")]
        self._renew(keys=keys, args=[self.clock() + self.lease, delivery_id])

    def lapse_running(self) -> list[str]:
        for key in self.redis.scan_iter(self._key("lock", "*")):
            if 0 <= self.redis.pttl(key) <= self.lease * 1000:
                self.redis.delete(key)
        running = [member.decode() for member in self.redis.zrange(self._key("running"), 0, -1)]
        pipe = self.redis.pipeline()
        for delivery_id in running:
            pipe.hset(self._key("delivery", delivery_id), "lease", 0)
            pipe.zadd(self._key("running"), {delivery_id: 0}, xx=True)
        pipe.execute()
        return running

    def finish(self, delivery_id: str, status: str, counts: Counts = ()) -> None:
        key = self._key("delivery", delivery_id)
        pipe = self.redis.pipeline()
        for counter, labels, amount in counts:
            pipe.hincrbyfloat(self._key("series", counter), _labels(labels), amount)
        pipe.hset(key, mapping={"status": status, "updated": self.clock()})
        if status == DONE:
            pipe.hdel(key, "body")
        pipe.zrem(self._key("running"), delivery_id)
        pipe.zrem(self._key("queued"), delivery_id)
        pipe.execute()

    def orphans(self, queued_grace: float) -> list[str]:
        now = self.clock()
        found = []
        for zset, cutoff in (("running", now), ("queued", now - queued_grace)):
            for member in self.redis.zrangebyscore(self._key(zset), "-inf", cutoff):
                # ZADD with a new score claims it for this sweeper; another that read it too gets 0 back
                if self.redis.zadd(self._key(zset), {member: now + queued_grace}, xx=True, ch=True):
                    found.append(member.decode())
        return found

    def checkpoint(self) -> None:
        """Redis persists on its own schedule."""

    def acquire(self, name: str, ttl: float) -> str | None:
        owner = secrets.token_hex(16)
        return owner if self.redis.set(self._key("lock", name), owner, nx=True, px=int(ttl * 1000)) else None

    def release(self, name: str, owner: str) -> None:
        self._release(keys=[self._key("lock", name)], args=[owner])

    def renew_lock(self, name: str, owner: str, ttl: float) -> bool:
        return bool(self._renew_lock(keys=[self._key("lock", name)], args=[owner, int(ttl * 1000)]))

    def add(self, counter: str, labels: dict[str, str], amount: float = 1) -> None:
        self.redis.hincrbyfloat(self._key("series", counter), _labels(labels), amount)

    def set_gauge(self, gauge: str, labels: dict[str, str], value: float) -> None:
        self.redis.hset(self._key("series", gauge), _labels(labels), value)

    def series(self) -> list[tuple[str, dict[str, str], float]]:
        found = []
        for key in sorted(self.redis.scan_iter(self._key("series", "*"))):
            name = key.decode()[len(self._key("series", "")) :]
            for labels, value in sorted(self.redis.hgetall(key).items()):
                found.append((name, json.loads(labels), float(value)))
        return found

    def put(self, key: str, value: str) -> None:
        self.redis.set(self._key("kv", key), value)

    def get(self, key: str) -> str | None:
        value = self.redis.get(self._key("kv", key))
        return value.decode() if value is not None else None


def _labels(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True)


def open_store(redis_url: str | None, db_path: str, lease: float = LEASE_SECONDS) -> Store:
    return RedisStore(redis_url, lease=lease) if redis_url else SqliteStore(db_path, lease=lease)
