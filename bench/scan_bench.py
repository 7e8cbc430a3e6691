"""Benchmark: `ortfix scan` against `grep -rlF onnxruntime-web` on the same synthetic tree, same run.

Run by hand: `python bench/scan_bench.py [--files N] [--mb M] [--share S] [--page] [--before DIR]`.
`--page` adds an HTML page to the tree, so the scan also reads every file's relative imports.
Prints files/s, MB/s and the wall-time ratio to grep (target: no worse than 3x), and checks that the
CLI's findings (worker processes, prefilter) are identical to a plain in-process scan of every file:
a digest of each, side by side. `--before DIR` also times an older copy of the code (DIR holds its
`bot/`, e.g. from `git archive REV bot | tar -x -C DIR`) in the same run and compares its findings.
Commands take turns, so a busy machine slows each alike; the best run of each counts. Python runs with
its bytecode cache (in the temporary directory, written by a first untimed run), as an installed ortfix
does: pip compiles it. `--no-bytecode` times every run compiling bot/ from source instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.core.detector import Finding, scan_files

SOURCE = """import {{ helper{i} }} from './helper{i}';
export function compute{i}(values) {{
  let total = 0;
  for (const value of values) {{
    total += helper{i}(value) * {i};
  }}
  return total;
}}
"""
ORT_FILE = """import * as ort from 'onnxruntime-web';
export async function open{i}(url) {{
  return ort.InferenceSession.create(url, {{ executionProviders: ['webgpu', 'wasm'] }});
}}
"""
SUFFIXES = [".js", ".ts", ".tsx", ".vue", ".md", ".css", ".json", ".py"]


PAGE = '<!doctype html>\n<script type="module" src="./pkg0/mod0/file0.js"></script>\n'


def build(root: Path, files: int, megabytes: int, share: float, page: bool = False) -> int:
    rng = random.Random(7)
    per_file = megabytes * 1_000_000 // files
    root.mkdir(parents=True)
    (root / "package.json").write_text('{"dependencies": {"onnxruntime-web": "^1.30.0"}}\n')
    if page:
        (root / "index.html").write_text(PAGE)
    written = 0
    for i in range(files):
        directory = root / f"pkg{i % 40}" / f"mod{i % 500}"
        directory.mkdir(parents=True, exist_ok=True)
        body = (ORT_FILE if rng.random() < share else "").format(i=i)
        chunk = SOURCE.format(i=i)
        body += chunk * max(1, (per_file - len(body)) // len(chunk))
        path = directory / f"file{i}{SUFFIXES[i % len(SUFFIXES)]}"
        path.write_text(body)
        written += len(body)
    return written


FINDING_KEYS = ("path", "line", "column", "rule", "severity", "replacement")  # what a finding is, wording aside


def digest(findings: list[dict]) -> str:
    """A short fingerprint of a list of findings (as `--format json` prints them), order included."""
    found = [[finding[key] for key in FINDING_KEYS] for finding in findings]
    return hashlib.sha256(json.dumps(found).encode()).hexdigest()[:16]


def reference_findings(root: Path) -> list[Finding]:
    """The findings of the simplest code path: every file read here, one by one, into one Scanner."""
    files = ((p.relative_to(root).as_posix(), p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file())
    return scan_files(files).findings


def timed(commands: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, tuple[float, float]]:
    """The best wall time and the least CPU time (user + system, all processes) of each command, taking turns.

    The CPU time tells a busy machine apart: there the wall time is the CPU time over the share of the cores got.
    """
    best = dict.fromkeys(commands, (float("inf"), float("inf")))
    for _ in range(runs):
        for name, (command, env) in commands.items():
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
            wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def findings_of(command: list[str], env: dict[str, str]) -> list[dict]:
    output = subprocess.run(command, capture_output=True, check=False, env=env)
    return json.loads(output.stdout)["findings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--share", type=float, default=0.02, help="share of files that load onnxruntime-web")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page", action="store_true", help="add an HTML page (relative imports are read)")
    parser.add_argument("--before", type=Path, help="a directory holding an older copy of bot/ to time as well")
    parser.add_argument("--no-bytecode", action="store_true", help="no bytecode cache: compile bot/ on every run")
    args = parser.parse_args()
    ortfix = shutil.which("ortfix") or str(Path(sys.executable).with_name("ortfix"))
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "tree"
        size = build(root, args.files, args.mb, args.share, args.page)
        page = ", with a page" if args.page else ""
        print(
            f"tree: {args.files:,} files, {size / 1e6:,.0f} MB, {args.share:.0%} load onnxruntime-web{page}; "
            f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
        )
        scan = [ortfix, "scan", str(root), "--format", "json"]
        python = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        python["PYTHONPYCACHEPREFIX"] = str(Path(temp) / "bytecode")
        if args.no_bytecode:
            python = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        commands = {"grep -rlF": (["grep", "-rlF", "onnxruntime-web", str(root)], dict(os.environ))}
        if args.before:
            commands["ortfix before"] = (scan, {**python, "PYTHONPATH": str(args.before.resolve())})
        commands["ortfix scan"] = (scan, python)
        timed(commands, 1)  # the page cache and the bytecode cache filled
        best = timed(commands, args.runs)
        grep, grep_cpu = best["grep -rlF"]
        for name, (wall, cpu) in best.items():
            ratio = "" if wall is grep else f"  {wall / grep:5.2f}x grep (CPU {cpu / grep_cpu:4.1f}x)"
            print(
                f"{name:14}: {wall:6.2f} s  {args.files / wall:10,.0f} files/s  {size / 1e6 / wall:7,.0f} MB/s"
                f"  CPU {cpu:5.2f} s{ratio}"
            )
        ratio = best["ortfix scan"][0] / grep
        print(f"ratio ortfix/grep: {ratio:.2f}x (target <= 3x); best of {args.runs} runs each; load {os.getloadavg()}")
        cli = findings_of(*commands["ortfix scan"])
        reference = [finding.to_json() for finding in reference_findings(root)]
        same = "identical" if digest(cli) == digest(reference) else "DIFFERENT"
        print(
            f"findings: ortfix scan {len(cli)} ({digest(cli)}), in-process scan {len(reference)} ({digest(reference)}): {same}"
        )
        if args.before:
            before = findings_of(*commands["ortfix before"])
            same = "identical" if digest(cli) == digest(before) else "DIFFERENT"
            print(f"findings: ortfix before {len(before)} ({digest(before)}): {same} to ortfix scan's")


if __name__ == "__main__":
    main()
