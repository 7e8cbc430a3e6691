"""Benchmark: webhook acknowledgement latency through real gunicorn, against a bare 202 app on the same server.

Run by hand: `python bench/webhook_bench.py [--deliveries N] [--clients C]`. Prints p50/p99
latency for ortfix (verify, record, enqueue, answer) and for the floor, their ratio (target:
p99 within 2x), errors, deliveries lost (sent and acknowledged but not in the store), and the
GitHub API calls one PR review costs (against the suite's fake GitHub).
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

from bot import events  # noqa: E402

SECRET = "bench-secret"
EXAMPLE = ROOT.parent / "shared/github/webhook-examples/pull_request/opened.payload.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(app: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers), app]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{app} did not start")


def fire(
    port: int, bodies: list[tuple[str, bytes]], clients: int, rate: float = 0
) -> tuple[list[float], int, list[str]]:
    """Send every (delivery id, body) from `clients` threads, at `rate` per second in all (0: flat out).

    Latencies (s), errors, acknowledged ids.
    """
    latencies: list[float] = []
    acknowledged: list[str] = []
    errors = 0
    lock = threading.Lock()
    chunks = [bodies[i::clients] for i in range(clients)]

    def client(chunk: list[tuple[str, bytes]]) -> None:
        nonlocal errors
        interval = clients / rate if rate else 0.0
        next_send = time.perf_counter()
        for delivery, body in chunk:
            if interval:
                next_send += interval
                time.sleep(max(0.0, next_send - time.perf_counter()))
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": events.sign(SECRET, body),
            }
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("POST", "/api/github/webhooks", body=body, headers=headers)
                status = connection.getresponse().status
                connection.close()
            except OSError:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status == 202:
                    acknowledged.append(delivery)
                else:
                    errors += 1

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, acknowledged


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


def review_calls() -> list[str]:
    """The GitHub API calls of one review of a PR that adds a bare import, against the suite's fake GitHub."""
    import re

    import responses

    from bot.github_client import GitHubApp
    from bot.review import PullRequest, review_pull_request
    from bot.store import SqliteStore
    from tests.conftest import private_key as make_key
    from tests.fake_github import FakeGitHub, load_spec
    from tests.fake_github import PullRequest as FakePull

    key = make_key.__wrapped__()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock, tempfile.TemporaryDirectory() as temp:
        github = FakeGitHub(mock, load_spec())
        manifest = '{"dependencies": {"onnxruntime-web": "^1.30.0"}}\n'
        model = "import * as ort from 'onnxruntime-web';\nort.InferenceSession.create('m', { executionProviders: ['webgpu'] });\n"
        files = {f"docs/page{i}.md": "x\n" for i in range(40)}
        pull = github.add_pull(
            FakePull(
                "o/r", 1, base={"package.json": manifest}, head={"package.json": manifest, "src/m.js": model, **files}
            )
        )
        client = GitHubApp("1", key, "https://api.github.com", sleep=lambda s: None).installation(1)
        review_pull_request(client, SqliteStore(f"{temp}/s.db"), PullRequest("o/r", 1, pull.head_sha, "main", False))
        return [f"{m} {re.sub(r'[0-9a-f]{40}', '{sha}', p)}" for m, p in github.calls if "access_tokens" not in p]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, the same for both servers")
    parser.add_argument(
        "--rate", type=float, default=300, help="deliveries per second in all (0: as fast as the clients can send)"
    )
    args = parser.parse_args()
    payload = json.loads(EXAMPLE.read_text())
    payload["installation"] = {"id": 1}

    def body(number: int) -> bytes:  # one body per delivery: ortfix refuses a body it already has under another id
        return json.dumps({**payload, "number": number}).encode()

    bodies = [(f"bench-{i}", body(i)) for i in range(args.deliveries)]
    runs = [(f"bench-{i}-run", body(args.deliveries + i)) for i in range(args.deliveries)]
    with tempfile.TemporaryDirectory() as temp:
        env = {
            **os.environ,
            "APP_ID": "1",
            "PRIVATE_KEY": "unused",
            "WEBHOOK_SECRET": SECRET,
            "ORTFIX_DB": f"{temp}/o.db",
            "LOG_LEVEL": "ERROR",
        }
        results = {}
        for name, app in (("floor (bare 202)", "bench.floor:app"), ("ortfix", "bot.web:wsgi()")):
            port = free_port()
            server = start(app, port, env, args.workers)
            try:
                fire(port, bodies[:200], args.clients)  # warm-up, also fills the duplicate path for ortfix
                started = time.perf_counter()
                latencies, errors, acknowledged = fire(port, runs, args.clients, args.rate)
                wall = time.perf_counter() - started
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
            results[name] = (latencies, errors, acknowledged, wall)
        with sqlite3.connect(f"{temp}/o.db") as db:
            stored = {row[0] for row in db.execute("SELECT id FROM ortfix_deliveries WHERE id LIKE '%-run'")}
    pace = f"{args.rate:.0f}/s" if args.rate else "flat out"
    print(
        f"{args.deliveries:,} signed pull_request deliveries at {pace}, {args.clients} clients, "
        f"gunicorn --workers {args.workers}, {os.cpu_count()} cores"
    )
    for name, (latencies, errors, _, wall) in results.items():
        ms = [x * 1000 for x in latencies]
        print(
            f"{name:18} p50 {percentile(ms, 50):6.2f} ms  p99 {percentile(ms, 99):6.2f} ms  {len(ms) / wall:7.0f} req/s  errors {errors}"
        )
    floor, ours = results["floor (bare 202)"][0], results["ortfix"][0]
    print(
        f"ratio ortfix/floor: p50 {percentile(ours, 50) / percentile(floor, 50):.2f}x  p99 {percentile(ours, 99) / percentile(floor, 99):.2f}x (target p99 <= 2x)"
    )
    lost = set(results["ortfix"][2]) - stored
    print(
        f"deliveries acknowledged 202: {len(results['ortfix'][2]):,}; in the store: {len(stored):,}; lost: {len(lost)}"
    )
    calls = review_calls()
    print(f"GitHub API calls for one PR review (a bare import added, 42 files): {len(calls)}")
    for call in calls:
        print(f"  {call}")


if __name__ == "__main__":
    main()
