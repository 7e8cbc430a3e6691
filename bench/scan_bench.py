"""Benchmark: `ortfix scan` against `grep -rlF onnxruntime-web` on the same synthetic tree, same run.

Run by hand: `python bench/scan_bench.py [--files N] [--mb M] [--share S]`.
Prints files/s, MB/s and the wall-time ratio to grep (target: no worse than 3x), and checks that the
CLI's findings (worker processes, streamed walk, prefilter) are identical to a plain in-process scan of
every file: a digest of each, side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.detector import scan_files

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


def build(root: Path, files: int, megabytes: int, share: float) -> int:
    rng = random.Random(7)
    per_file = megabytes * 1_000_000 // files
    root.mkdir(parents=True)
    (root / "package.json").write_text('{"dependencies": {"onnxruntime-web": "^1.30.0"}}\n')
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


def digest(findings: list[dict]) -> str:
    """A short fingerprint of a list of findings (as `--format json` prints them), order included."""
    return hashlib.sha256(json.dumps(findings, sort_keys=True).encode()).hexdigest()[:16]


def reference_findings(root: Path) -> list[dict]:
    """The findings of the simplest code path: every file read here, one by one, into one Scanner."""
    files = ((p.relative_to(root).as_posix(), p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file())
    return [f.to_json() for f in scan_files(files).findings]


def timed(command: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--share", type=float, default=0.02, help="share of files that load onnxruntime-web")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ortfix = shutil.which("ortfix") or str(Path(sys.executable).with_name("ortfix"))
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "tree"
        size = build(root, args.files, args.mb, args.share)
        print(
            f"tree: {args.files:,} files, {size / 1e6:,.0f} MB, {args.share:.0%} load onnxruntime-web; "
            f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
        )
        timed(["cat", "/dev/null"], 1)
        grep = timed(["grep", "-rlF", "onnxruntime-web", str(root)], args.runs)
        scan = timed([ortfix, "scan", str(root), "--format", "json"], args.runs)
        print(f"grep -rlF     : {grep:6.2f} s  {args.files / grep:10,.0f} files/s  {size / 1e6 / grep:7,.0f} MB/s")
        print(f"ortfix scan   : {scan:6.2f} s  {args.files / scan:10,.0f} files/s  {size / 1e6 / scan:7,.0f} MB/s")
        print(f"ratio ortfix/grep: {scan / grep:.2f}x (target <= 3x); best of {args.runs} warm runs each")
        output = subprocess.run([ortfix, "scan", str(root), "--format", "json"], capture_output=True, check=False)
        cli = json.loads(output.stdout)["findings"]
        reference = reference_findings(root)
        same = "identical" if cli == reference else "DIFFERENT"
        print(
            f"findings: ortfix scan {len(cli)} ({digest(cli)}), in-process scan {len(reference)} ({digest(reference)}): {same}"
        )


if __name__ == "__main__":
    main()
