"""Soak: thousands of signed deliveries to ortfix as deployed on two hosts, with faults, and nothing lost or done twice.

Run by hand: `python bench/soak.py` (20,000 deliveries over several minutes) or `--quick` (about two
minutes). It starts, on 127.0.0.1: a Redis (Debian's redis-server, append-only), the test GitHub over
HTTP (tests/fake_github.py), two web processes (gunicorn) and two `ortfix worker` processes, separate
processes sharing only Redis, the shape of a multi-host deployment. It sends a mix of pull requests
opened and synchronized (with findings and without), `/ortfix` and `/ortfix help` comments, pushes,
installation events, duplicates (same event, new delivery id) and re-deliveries (same id), open loop.
Faults: GitHub 5xx, secondary rate limits, slow answers and dropped connections at a set rate; one
worker SIGKILLed mid-run, one Redis restart, and a burst while every worker is stopped.

It prints what it counted and ends with one line for tools:
`soak: accepted=A processed=P lost=L duplicated=D p50_ack_ms=X p99_ack_ms=Y p99_e2e_ms=Z peak_rss_mb=M`
(lost and duplicated must be 0). Every process it started is stopped, even when interrupted.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import itertools
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core import events  # noqa: E402
from tests.conftest import example, pull_request_payload  # noqa: E402
from tests.fake_github import FakeGitHub, load_spec  # noqa: E402
from tests.fake_github import PullRequest as FakePull  # noqa: E402

SECRET = "soak-secret"
REPO = "octo-org/web-app"
MANIFEST = '{\n  "dependencies": {\n    "onnxruntime-web": "^1.30.0"\n  }\n}\n'
SESSION = "export const open = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"
MODEL = "import * as ort from 'onnxruntime-web';\n" + SESSION  # a finding: the bare import
CLEAN = "export const add = (a, b) => a + b;\n"
ORTFIX = str(Path(sys.executable).with_name("ortfix"))
CLIENTS = 8


class Processes:
    """Every process the soak starts, each in its own process group, so that stopping one stops its children."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, command: list[str], env: dict, log: Path) -> subprocess.Popen:
        with open(log, "a") as handle:
            process = subprocess.Popen(
                command, env=env, cwd=log.parent, stdout=handle, stderr=handle, start_new_session=True
            )
        self.started.append(process)
        return process

    @staticmethod
    def signal(process: subprocess.Popen, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, number)

    def stop(self, process: subprocess.Popen, timeout: float = 30) -> None:
        self.signal(process, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(process, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                self.stop(process)
            else:
                self.signal(process, signal.SIGKILL)  # a child left behind by a dead leader


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(message)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (a gunicorn master with its workers)."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total


class Delivery:
    __slots__ = ("body", "event", "id", "key", "scheduled", "status")

    def __init__(self, delivery_id: str, event: str, payload: dict, key: tuple | None = None) -> None:
        self.id, self.event, self.key = delivery_id, event, key
        self.body = json.dumps(payload).encode()
        self.scheduled = 0.0
        self.status = 0


def plan(total: int, pulls: list[FakePull], audited: list[str], name: str, first: int, seed: int) -> list[Delivery]:
    """The deliveries, in sending order: every PR opened once, and around them the rest of the mix.

    `name` prefixes the delivery ids; issues and comment ids are numbered from `first`.
    """
    rng = random.Random(seed)
    ids = (f"{name}-{i}" for i in itertools.count())
    deliveries: list[Delivery] = []
    opened = iter(pulls)
    issues = itertools.count(first)
    comments = itertools.count(first)
    fixed = set()

    def comment(number: int, body: str, on_pull: bool) -> dict:
        payload = example("issue_comment/created.on-pull-request.pytorch-test-infra.json")
        payload["repository"].update({"full_name": REPO, "default_branch": "main"})
        payload["issue"].update({"number": number})
        payload["issue"]["user"]["login"] = "author"
        if not on_pull:
            payload["issue"].pop("pull_request", None)
        payload["comment"].update({"body": body, "id": next(comments)})
        payload["comment"]["user"]["login"] = "author"
        payload["installation"] = {"id": 42}
        return payload

    while len(deliveries) < total:
        roll = rng.random()
        seen = [d for d in deliveries[-400:] if d.key is not None]
        if roll < 0.08:
            pull = next(opened, None)
            if pull is not None:
                payload = pull_request_payload("opened", REPO, pull.number, pull.head_sha)
                deliveries.append(Delivery(next(ids), "pull_request", payload, ("opened", pull.number)))
                continue
        if roll < 0.10 and seen:  # a synchronize of an opened PR (same head: nothing new to post)
            number = rng.choice(seen).key[1]
            pull = next(p for p in pulls if p.number == number)
            payload = pull_request_payload("synchronize", REPO, number, pull.head_sha)
            deliveries.append(Delivery(next(ids), "pull_request", payload))
        elif roll < 0.11 and seen:  # `/ortfix` on a PR with findings, once per PR
            number = rng.choice(seen).key[1]
            if number % 2 == 0 and number not in fixed:
                fixed.add(number)
                deliveries.append(Delivery(next(ids), "issue_comment", comment(number, "/ortfix", True)))
        elif roll < 0.13:  # `/ortfix help` on an issue
            deliveries.append(Delivery(next(ids), "issue_comment", comment(next(issues), "/ortfix help", False)))
        elif roll < 0.133:  # the app installed on the audited repositories (again: audited once)
            payload = example("installation/created.payload.json")
            payload["installation"]["id"] = 42
            payload["repositories"] = [{"full_name": name, "name": name.split("/")[1]} for name in audited]
            deliveries.append(Delivery(next(ids), "installation", payload))
        elif roll < 0.15 and deliveries:  # a duplicate: the same event under a new id
            earlier = deliveries[rng.randrange(max(0, len(deliveries) - 400), len(deliveries))]
            twin = Delivery(next(ids), earlier.event, {})
            twin.body = earlier.body
            deliveries.append(twin)
        elif roll < 0.40:  # a push to a feature branch: acknowledged, no job
            payload = example("push/with-installation.payload.json")
            payload["repository"].update({"full_name": REPO, "default_branch": "main"})
            payload["ref"] = f"refs/heads/feature-{rng.randrange(100)}"
            payload["installation"] = {"id": 42}
            deliveries.append(Delivery(next(ids), "push", payload))
        elif roll < 0.60 and seen:  # a PR closed or labelled: acknowledged, no job
            number = rng.choice(seen).key[1]
            pull = next(p for p in pulls if p.number == number)
            action = rng.choice(["closed", "labeled"])
            deliveries.append(
                Delivery(next(ids), "pull_request", pull_request_payload(action, REPO, number, pull.head_sha))
            )
        elif deliveries:  # a re-delivery: the same id again
            deliveries.append(deliveries[rng.randrange(max(0, len(deliveries) - 400), len(deliveries))])
    return deliveries[:total]


def send(delivery: Delivery, port: int) -> int:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": delivery.event,
        "X-GitHub-Delivery": delivery.id,
        "X-Hub-Signature-256": events.sign(SECRET, delivery.body),
    }
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/api/github/webhooks", body=delivery.body, headers=headers)
        status = connection.getresponse().status
        connection.close()
        return status
    except OSError:
        return 0


def fire(deliveries: list[Delivery], ports: list[int], rate: float, acks: list[float], sent: dict) -> None:
    """Open loop: each of CLIENTS threads on its own schedule (rate 0: flat out); latency from the scheduled time."""
    lock = threading.Lock()
    began = time.perf_counter()

    def client(index: int) -> None:
        interval = CLIENTS / rate if rate else 0.0
        scheduled = began + index * interval / CLIENTS
        for delivery in deliveries[index::CLIENTS]:
            if interval:
                time.sleep(max(0.0, scheduled - time.perf_counter()))
            else:
                scheduled = time.perf_counter()
            status = send(delivery, ports[index % len(ports)])
            with lock:
                acks.append(time.perf_counter() - scheduled)
                sent.setdefault(delivery.id, scheduled)
                delivery.status = status if 200 <= status < 300 else delivery.status
            scheduled += interval

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


def duplicated_effects(github: FakeGitHub) -> dict[str, int]:
    """Effects posted twice, read from the test GitHub's state."""
    twice = collections.Counter()
    for pull in github.pulls.values():
        twice["review"] += sum(n - 1 for n in collections.Counter(r["commit_id"] for r in pull.reviews).values())
        twice["review comment"] += sum(
            n - 1 for n in collections.Counter((c["path"], c["line"], c["body"]) for c in pull.comments).values()
        )
    for repo in github.repos.values():
        # each issue and PR got at most one command comment: at most one reply each
        twice["comment"] += sum(n - 1 for n in collections.Counter(c["issue"] for c in repo.issue_comments).values())
        twice["issue"] += max(0, len(repo.issues) - 1)  # one standing audit issue per repository
    ours = [tuple(c.parents) for c in github.commits.values() if c.author != "dev"]
    twice["commit"] += sum(n - 1 for n in collections.Counter(ours).values())
    return dict(twice)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the same run in about two minutes")
    parser.add_argument("--fault-rate", type=float, default=2.0, help="GitHub faults injected per second")
    args = parser.parse_args()
    total, rate, pull_count = (4_000, 50.0, 40) if args.quick else (20_000, 70.0, 200)
    burst = total // 20

    def stop_on_signal(number, frame):
        raise SystemExit(128 + number)

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # dropped connections are the point
    processes = Processes()
    temp = Path(tempfile.mkdtemp(prefix="ortfix-soak-"))
    try:
        run(args, processes, temp, total, rate, pull_count, burst)
    finally:
        processes.stop_all()
        shutil.rmtree(temp, ignore_errors=True)


def run(args, processes: Processes, temp: Path, total: int, rate: float, pull_count: int, burst: int) -> None:
    import redis
    from werkzeug.serving import make_server

    from tests.conftest import private_key as make_key

    # the test GitHub, over HTTP
    github = FakeGitHub(None, load_spec())
    server = make_server("127.0.0.1", 0, github.wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    github.url = f"http://127.0.0.1:{server.server_port}"
    github.repo(REPO).refs["main"] = github.add_commit({"package.json": MANIFEST})
    pulls = []
    for number in range(1, pull_count + 1):
        head = {"package.json": MANIFEST, "src/model.js": MODEL if number % 2 == 0 else CLEAN}
        pulls.append(
            github.add_pull(
                FakePull(
                    REPO, number, base={"package.json": MANIFEST}, head=head, head_ref=f"f-{number}", author="author"
                )
            )
        )
    audited = [f"octo-org/audited-{i}" for i in range(3)]
    for name in audited:
        github.set_branch(name, "main", {"package.json": MANIFEST, "src/model.js": MODEL})
    reviewed_at: dict[int, float] = {}
    original = github._create_review

    def create_review(repo, number, query, body):
        answer = original(repo, number, query, body)
        if 200 <= answer[0] < 300:
            reviewed_at.setdefault(int(number), time.perf_counter())
        return answer

    github.routes = [(m, p, create_review if h == original else h) for m, p, h in github.routes]

    # Redis, the only thing the service's processes share
    redis_port = free_port()
    (temp / "redis").mkdir()
    redis_command = [
        shutil.which("redis-server") or "redis-server",
        "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(temp / "redis"),
        "--appendonly", "yes", "--appendfsync", "always", "--save", "",
    ]  # fmt: skip
    client = redis.Redis(port=redis_port)

    def start_redis() -> subprocess.Popen:
        process = processes.start(redis_command, dict(os.environ), temp / "redis.log")
        wait_for(client.ping, 10, "redis did not start")
        return process

    redis_process = start_redis()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_ID", "PRIVATE_KEY", "WEBHOOK", "ORTFIX_"))}
    env.update(
        APP_ID="12345",
        PRIVATE_KEY=make_key.__wrapped__(),
        WEBHOOK_SECRET=SECRET,
        GITHUB_API_URL=github.url,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        ORTFIX_GITHUB_DELAY="0",
        LOG_LEVEL="ERROR",
    )
    ports = [free_port(), free_port()]
    webs = []
    for index, port in enumerate(ports):
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "bot.web:wsgi()"]
        webs.append(processes.start(command, env, temp / f"web{index}.log"))
    for port in ports:
        wait_for(lambda port=port: send(Delivery("warm", "ping", {"zen": "hi"}), port) == 200, 60, "web did not start")
    workers = [processes.start([ORTFIX, "worker"], env, temp / f"worker{i}.log") for i in range(2)]
    peak = {"web": 0.0, "worker": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak["web"] = max([peak["web"], *(rss_mb(p.pid) for p in webs)])
            peak["worker"] = max([peak["worker"], *(rss_mb(p.pid) for p in workers if p.poll() is None)])

    def faults() -> None:
        kinds = [
            lambda: github.fail("GET", r"/pulls/\d+/files$", 502),
            lambda: github.fail("POST", r"/check-runs$", 500),
            lambda: github.fail("GET", r"/pulls/\d+/reviews$", 403, {"Retry-After": "1"}),  # secondary rate limit
            lambda: github.slow("GET", r"/pulls/\d+/comments$", 2.0),
            lambda: github.drop("GET", r"/pulls/\d+$"),
            lambda: github.drop("POST", r"/graphql$"),
        ]
        rng = random.Random(11)
        injected = 0
        while not done.wait(1 / args.fault_rate):
            if len(github.faults) + len(github.delays) < 2:  # each waits for a matching request: keep a few armed
                rng.choice(kinds)()
                injected += 1
        print(f"GitHub faults injected: {injected}")

    threading.Thread(target=sample, daemon=True).start()
    fault_thread = threading.Thread(target=faults, daemon=True)
    fault_thread.start()

    deliveries = plan(total - burst, pulls, audited, "soak", 10_000, seed=7)
    burst_deliveries = plan(burst, [], audited, "burst", 100_000, seed=13)
    acks: list[float] = []
    sent: dict[str, float] = {}
    chaos: dict[str, float] = {}
    duration = len(deliveries) / rate

    def disrupt() -> None:
        time.sleep(duration * 0.25)
        killed = workers[0]
        in_hand = [m.decode() for m in client.zrange("ortfix:running", 0, -1)]
        processes.signal(killed, signal.SIGKILL)
        killed.wait()
        chaos["killed_jobs"] = len(in_hand)
        workers[0] = processes.start([ORTFIX, "worker"], env, temp / "worker0.log")
        chaos["worker_up"] = time.perf_counter()
        threading.Thread(target=redone, args=(in_hand,), daemon=True).start()
        time.sleep(duration * 0.25)
        redis_process.send_signal(signal.SIGTERM)
        redis_process.wait(timeout=30)
        time.sleep(2)
        chaos["redis"] = 1
        start_redis()
        time.sleep(duration * 0.2)
        for worker in workers:
            processes.stop(worker)
        fire(burst_deliveries, ports, 0, acks, sent)  # a burst with every worker stopped
        for index in range(2):
            workers[index] = processes.start([ORTFIX, "worker"], env, temp / f"worker{index}.log")

    def redone(in_hand: list[str]) -> None:
        deadline = time.perf_counter() + 300
        while time.perf_counter() < deadline:
            statuses = [client.hget(f"ortfix:delivery:{i}", "status") for i in in_hand]
            if all(s == b"done" for s in statuses):
                chaos["redone_s"] = time.perf_counter() - chaos["worker_up"]
                return
            time.sleep(0.2)

    started = time.perf_counter()
    disruption = threading.Thread(target=disrupt)
    disruption.start()
    fire(deliveries, ports, rate, acks, sent)
    disruption.join()
    everything = deliveries + burst_deliveries
    for _ in range(20):  # what was refused (Redis away) GitHub sends again
        refused = list({d.id: d for d in everything if not d.status}.values())
        if not refused:
            break
        time.sleep(1)
        fire(refused, ports, 0, [], {})
    send_seconds = time.perf_counter() - started
    accepted = {d.id for d in everything if d.status}
    drain_deadline = time.perf_counter() + (240 if args.quick else 600)
    queued = [i for i in accepted if client.hget(f"ortfix:delivery:{i}", "status") is not None]
    while time.perf_counter() < drain_deadline:
        pending = [i for i in queued if client.hget(f"ortfix:delivery:{i}", "status") != b"done"]
        if not pending:
            break
        time.sleep(1)
    done.set()
    fault_thread.join()
    statuses = collections.Counter(client.hget(f"ortfix:delivery:{i}", "status") for i in queued)
    processed = len(accepted) - len(queued) + statuses[b"done"]  # acknowledged with no job to run, or run
    lost = len(accepted) - processed
    twice = duplicated_effects(github)
    duplicated = sum(twice.values())
    first_sent = {d.key[1]: sent[d.id] for d in deliveries if d.key and d.id in sent}
    e2e = [reviewed_at[n] - first_sent[n] for n in reviewed_at if n in first_sent]
    acks_ms = [a * 1000 for a in acks]
    e2e_ms = [e * 1000 for e in e2e]
    peak_rss = max(peak.values())
    print(
        f"{len(everything):,} deliveries ({len(accepted):,} distinct ids acknowledged, {len(queued):,} with a job) "
        f"in {send_seconds:.0f} s to 2 web processes and 2 workers sharing only Redis; "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print(f"job outcomes: {dict((k.decode() if k else 'missing', v) for k, v in statuses.items())}")
    print(
        f"worker SIGKILLed with {chaos.get('killed_jobs', 0)} job(s) in hand: redone within "
        f"{chaos.get('redone_s', float('nan')):.1f} s of a new worker being up; Redis restarted once; "
        f"burst of {burst} with every worker stopped"
    )
    print(f"duplicated effects by kind: {twice}")
    print(f"reviews posted: {len(reviewed_at)}; end-to-end p50 {percentile(e2e_ms, 50):.0f} ms")
    print(f"peak RSS: web {peak['web']:.0f} MB, worker {peak['worker']:.0f} MB (each process with its children)")
    print(
        f"soak: accepted={len(accepted)} processed={processed} lost={lost} duplicated={duplicated} "
        f"p50_ack_ms={percentile(acks_ms, 50):.1f} p99_ack_ms={percentile(acks_ms, 99):.1f} "
        f"p99_e2e_ms={percentile(e2e_ms, 99):.0f} peak_rss_mb={peak_rss:.0f}"
    )
    server.shutdown()


if __name__ == "__main__":
    main()
