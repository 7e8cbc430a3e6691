"""Benchmark: the audit of a fake org of 1,000 repositories, served over HTTP by the fake GitHub on 127.0.0.1.

Run by hand: `python bench/audit_bench.py [--repos N]`. Most repositories do not use onnxruntime-web, some do,
a few are large monorepos. Prints API calls per kind of repository, total calls, wall time, and the calls of a
second, unchanged run (each a conditional request answered 304, which GitHub does not count against the limit).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

from bot.adapters.github import GitHubApp  # noqa: E402
from bot.adapters.store import SqliteStore  # noqa: E402
from bot.jobs.audit import RepoInfo, audit_repository  # noqa: E402
from tests.fake_github import FakeGitHub, load_spec  # noqa: E402

ORT = "import * as ort from 'onnxruntime-web';\nort.InferenceSession.create('m', { executionProviders: ['webgpu'] });\n"


def make_org(github: FakeGitHub, repos: int) -> dict[str, str]:
    """Repository → kind: plain (no onnxruntime-web), uses (it does), monorepo (large, uses it in one package)."""
    rng = random.Random(7)
    kinds = {}
    for i in range(repos):
        name = f"org/repo{i:04d}"
        kind = "monorepo" if i % 100 == 0 else "uses" if i % 10 == 0 else "plain"
        files = {"README.md": "# repo\n", "package.json": '{"dependencies": {"react": "^18"}}'}
        files.update({f"src/f{j}.js": f"export const v{j} = {j};\n" for j in range(rng.randint(20, 80))})
        if kind == "uses":
            files["package.json"] = '{"dependencies": {"onnxruntime-web": "^1.22.0"}}'
            files["src/model.js"] = ORT
        if kind == "monorepo":
            for p in range(30):
                files[f"packages/p{p}/package.json"] = f'{{"name": "p{p}"}}'
                files.update({f"packages/p{p}/src/f{j}.js": f"export const v{j} = {j};\n" for j in range(60)})
            files["packages/ml/package.json"] = '{"dependencies": {"onnxruntime-web": "^1.30.0"}}'
            files["packages/ml/src/model.js"] = ORT
        github.set_branch(name, "main", files)
        kinds[name] = kind
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repos", type=int, default=1000)
    args = parser.parse_args()
    from tests.conftest import private_key

    github = FakeGitHub(None, load_spec())
    kinds = make_org(github, args.repos)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, github.wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    app = GitHubApp("1", private_key.__wrapped__(), base, sleep=lambda s: None)
    with tempfile.TemporaryDirectory() as temp:
        store = SqliteStore(f"{temp}/o.db")
        for run in ("first run", "second run, nothing changed"):
            calls: Counter[str] = Counter()
            counted: Counter[str] = Counter()
            github.calls.clear()
            github.not_modified = 0
            started = time.perf_counter()
            for name, kind in kinds.items():
                client = app.installation(42)
                audit_repository(client, store, RepoInfo(name, "main"), "https://github.com")
                calls[kind] += client.calls
                counted[kind] += 1
            wall = time.perf_counter() - started
            total = sum(calls.values())
            print(
                f"{run}: {len(kinds):,} repositories, {total:,} API calls, {wall:.1f} s, {github.not_modified:,} answered 304 (free)"
            )
            for kind in ("plain", "uses", "monorepo"):
                print(f"  {kind:9} {counted[kind]:5} repos  {calls[kind] / max(counted[kind], 1):6.2f} calls each")
            print(f"  rate-limited calls: {total - github.not_modified:,} (an installation may make 5,000 an hour)")
            issues = sum(len(r.issues) for r in github.repos.values())
            print(f"  audit issues open: {issues}")
    server.shutdown()


if __name__ == "__main__":
    main()
