"""Benchmark: webhook acknowledgement latency of `ortfix serve` as deployed, against a bare 202 app, in one run.

Run by hand: `python bench/webhook_bench.py [--deliveries N] [--clients C] [--rate R] [--rounds K]`.
Three servers in turn, each on gunicorn with the same workers: the floor (a bare WSGI app answering 202),
`ortfix serve` (gunicorn plus its consumer working the queue on SQLite, the one-machine default),
and ortfix's web process alone. They take turns for K rounds (3 by default), each round sending each
a K-th of the deliveries to a fresh store, and each server's latencies are pooled. Open loop: each
client sends on a fixed schedule, and a request's latency runs from its scheduled send time, so a
stall counts for every request it delays. Prints p50/p99/p99.9 for each, the ratio serve/floor (target: p99 within 2x at 300/s), throughput flat out
as a ratio, deliveries lost (acknowledged but not in the store), and the GitHub API calls one PR
review costs (against the suite's fake GitHub). The deliveries are check_suite re-requests for no
pull request: the web side does what it does for any job (verify, record, enqueue), and the consumer's
work per job is the queue's and the store's (claim, read, route, finish, counters), not GitHub's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core import events  # noqa: E402

SECRET = "bench-secret"
EXAMPLE = ROOT.parent / "shared/github/webhook-examples/check_suite/rerequested.payload.json"
EVENT = "check_suite"
ORTFIX = str(Path(sys.executable).with_name("ortfix"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], port: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{command} did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def fire(
    port: int, bodies: list[tuple[str, bytes]], clients: int, rate: float = 0
) -> tuple[list[float], int, list[str]]:
    """Send every (delivery id, body) from `clients` threads, at `rate` per second in all (0: flat out).

    Latencies (s, from each request's scheduled send time), errors, acknowledged ids.
    """
    latencies: list[float] = []
    acknowledged: list[str] = []
    errors = 0
    lock = threading.Lock()
    chunks = [bodies[i::clients] for i in range(clients)]
    began = time.perf_counter()

    def client(index: int, chunk: list[tuple[str, bytes]]) -> None:
        nonlocal errors
        interval = clients / rate if rate else 0.0
        scheduled = began + index * interval / clients  # the clients' schedules interleave
        for delivery, body in chunk:
            if interval:
                time.sleep(max(0.0, scheduled - time.perf_counter()))
            else:
                scheduled = time.perf_counter()
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": EVENT,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": events.sign(SECRET, body),
            }
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("POST", "/api/github/webhooks", body=body, headers=headers)
                status = connection.getresponse().status
                connection.close()
            except OSError:
                status = 0
            elapsed = time.perf_counter() - scheduled
            scheduled += interval
            with lock:
                latencies.append(elapsed)
                if status == 202:
                    acknowledged.append(delivery)
                else:
                    errors += 1

    threads = [threading.Thread(target=client, args=(i, chunk)) for i, chunk in enumerate(chunks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, acknowledged


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[round(p * 10) - 1]


def fake_github_server():
    """The suite's fake GitHub over HTTP on 127.0.0.1 (`ortfix serve` checks GET /app before it starts)."""
    from werkzeug.serving import make_server

    from tests.fake_github import FakeGitHub, load_spec

    server = make_server("127.0.0.1", 0, FakeGitHub(None, load_spec()).wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def review_calls() -> tuple[list[str], list[str], list[str]]:
    """The GitHub API calls of reviews against the suite's fake GitHub: a PR that adds a bare import (42 files);
    one that adds it to a 500-source package whose 'webgpu' request is in a file it leaves alone; a second such PR.
    """
    import re

    import responses

    from bot.adapters.github import GitHubApp
    from bot.adapters.store import SqliteStore
    from bot.jobs.review import PullRequest, review_pull_request
    from tests.conftest import private_key as make_key
    from tests.fake_github import FakeGitHub, load_spec
    from tests.fake_github import PullRequest as FakePull

    key = make_key.__wrapped__()
    manifest = '{"dependencies": {"onnxruntime-web": "^1.30.0"}}\n'
    session = "ort.InferenceSession.create('m', { executionProviders: ['webgpu'] });\n"
    bare = "import * as ort from 'onnxruntime-web';\n"
    docs = {f"docs/page{i}.md": "x\n" for i in range(40)}
    package = {"package.json": manifest, "src/session.js": session}
    package.update({f"src/f{i}.js": f"export const v{i} = {i};\n" for i in range(499)})
    runs = [
        (1, {"package.json": manifest}, {"src/m.js": bare + session, **docs}),
        (2, package, {"src/m.js": bare}),
        (3, package, {"src/n.js": bare}),
    ]
    made = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock, tempfile.TemporaryDirectory() as temp:
        github = FakeGitHub(mock, load_spec())
        app = GitHubApp("1", key, "https://api.github.com", sleep=lambda s: None)
        store = SqliteStore(f"{temp}/s.db")
        for number, base, added in runs:
            pull = github.add_pull(FakePull("o/r", number, base=base, head={**base, **added}, head_ref=f"b{number}"))
            github.calls.clear()
            store.put("config:o/r", "")  # every review reads its config, as the first one of a few minutes does
            pr = PullRequest("o/r", number, pull.head_sha, "main", False)
            review_pull_request(app.installation(1), store, pr)
            made.append(
                [f"{m} {re.sub(r'[0-9a-f]{40}', '{sha}', p)}" for m, p in github.calls if "access_tokens" not in p]
            )
    return made[0], made[1], made[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, the same for every server")
    parser.add_argument("--rate", type=float, default=300, help="deliveries per second in all")
    parser.add_argument("--rounds", type=int, default=3, help="each server runs this many times, taking turns")
    args = parser.parse_args()
    from tests.conftest import private_key as make_key

    payload = json.loads(EXAMPLE.read_text())
    payload["installation"] = {"id": 1}
    payload["check_suite"]["pull_requests"] = []  # the job claims, reads, routes and finishes it: no GitHub call

    def body(number: int) -> bytes:  # one body per delivery: ortfix refuses a body it already has under another id
        return json.dumps({**payload, "number": number}).encode()

    bodies = [(f"bench-{i}", body(i)) for i in range(args.deliveries)]
    saturate = [(f"flat-{i}", body(args.deliveries + i)) for i in range(args.deliveries // 2)]
    results: dict[str, tuple[list[float], int, list[str], float]] = {}
    github = fake_github_server()
    with tempfile.TemporaryDirectory() as temp:
        env = {
            **os.environ,
            "APP_ID": "1",
            "PRIVATE_KEY": make_key.__wrapped__(),
            "WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": f"http://127.0.0.1:{github.server_port}",  # serve's start-up check: GET /app
            "LOG_LEVEL": "ERROR",
        }
        gunicorn = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers)]
        servers = {
            "floor (bare 202)": lambda port: [*gunicorn, "--bind", f"127.0.0.1:{port}", "bench.floor:app"],
            "ortfix serve": lambda port: [ORTFIX, "serve", "--host", "127.0.0.1", "--web-workers", str(args.workers)],
            "ortfix web only": lambda port: [*gunicorn, "--bind", f"127.0.0.1:{port}", "bot.web:wsgi()"],
        }
        latencies: dict[str, list[float]] = {name: [] for name in servers}
        acknowledged: dict[str, list[str]] = {name: [] for name in servers}
        errors = dict.fromkeys(servers, 0)
        flat_out = dict.fromkeys(servers, 0.0)  # seconds the flat-out deliveries took, in all
        for round_ in range(args.rounds):  # every server in turn, round after round: a slower minute slows each alike
            for name, command in servers.items():
                port = free_port()
                # a store of its own each round: no backlog from the last round's flat-out burst in this one's figures
                db = f"{temp}/{name.split()[1]}-{round_}.db"
                server = start(command(port), port, {**env, "PORT": str(port), "ORTFIX_DB": db})
                warm = [(f"warm-{round_}-{i}", body(-1 - round_ * 200 - i)) for i in range(200)]
                try:
                    fire(port, warm, args.clients)
                    measured, failed, taken = fire(port, bodies[round_ :: args.rounds], args.clients, args.rate)
                    started = time.perf_counter()
                    fire(port, saturate[round_ :: args.rounds], args.clients)
                    flat_out[name] += time.perf_counter() - started
                finally:
                    stop(server)
                latencies[name] += measured
                errors[name] += failed
                acknowledged[name] += taken
        for name in servers:
            results[name] = (latencies[name], errors[name], acknowledged[name], len(saturate) / flat_out[name])
        stored = set()
        for round_ in range(args.rounds):
            with sqlite3.connect(f"{temp}/serve-{round_}.db") as db:
                stored |= {row[0] for row in db.execute("SELECT id FROM ortfix_deliveries WHERE id LIKE 'bench-%'")}
    cores = os.cpu_count()
    python = sys.version.split()[0]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{args.deliveries:,} signed {EVENT} deliveries, open loop at {args.rate:.0f}/s over {args.clients} "
        f"connections, in {args.rounds} rounds taking turns; gunicorn --workers {args.workers}; {cores} cores, "
        f"Python {python}; load average {load}"
    )
    for name, (latencies, errors, _, throughput) in results.items():
        ms = [x * 1000 for x in latencies]
        print(
            f"{name:17} p50 {percentile(ms, 50):6.2f} ms  p99 {percentile(ms, 99):6.2f} ms  "
            f"p99.9 {percentile(ms, 99.9):7.2f} ms  flat out {throughput:5.0f} req/s  errors {errors}"
        )
    floor, serve, web = (results[name] for name in servers)
    for name, ours in (("ortfix serve/floor", serve), ("ortfix web only/floor", web)):
        ratios = "  ".join(f"p{p:g} {percentile(ours[0], p) / percentile(floor[0], p):.2f}x" for p in (50, 99, 99.9))
        print(f"ratio {name}: {ratios}  throughput {ours[3] / floor[3]:.2f}x (target p99 <= 2x)")
    lost = set(serve[2]) - stored
    print(f"ortfix serve: acknowledged 202: {len(serve[2]):,}; in the store: {len(stored):,}; lost: {len(lost)}")
    calls, package, cached = review_calls()
    print(f"GitHub API calls for one PR review (a bare import added, 42 files): {len(calls)}")
    for call in calls:
        print(f"  {call}")
    print(
        f"a bare import added to a 500-source package whose 'webgpu' request is in an untouched file: {len(package)} "
        f"calls, {len(package) - len(calls)} extra for the package (budget 3); a second such PR: {len(cached)} calls, "
        f"{len(cached) - len(calls)} extra (budget 0)"
    )


if __name__ == "__main__":
    main()
