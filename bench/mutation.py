"""Mutation score per module: mutmut over the detector, fixer, render, review, store and events.

    nice -n 19 python bench/mutation.py [MODULE ...]     # MODULE: detector fixer render review store events

mutmut copies the tree into ./mutants and runs each mutant against only the fast tests (pyproject.toml's
[tool.mutmut]) that reach the mutated function, two at a time. The modules named (all by default) are run
afresh; the score is killed / total, where a mutant that no test reaches counts as a survivor.
The survivors that remain are equivalent mutants, listed with a reason in docs/mutation.md.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = {
    "detector": "bot.detector.*",
    "fixer": "bot.fixer.*",
    "render": "bot.render.*",
    "review": "bot.review.*",
    "store": "bot.store.*",
    "events": "bot.events.*",
}
TARGET = 90.0
KILLED = {"killed", "timeout", "segfault", "caught by type check"}  # the tests (or the checker) noticed
_RESULT = re.compile(r"^\s*(bot\.\S+?)\.x\S*__mutmut_\d+: (.+)$")


def mutmut(*args: str) -> str:
    """Run mutmut in the repository root, without PYTHONPATH so the tests import the mutated copy."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, "-m", "mutmut", *args]
    return subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def module_of(dotted: str) -> str:
    """`bot.detector.rules` -> detector; `bot.fixer` -> fixer."""
    return dotted.split(".")[1]


def tally(results: str) -> dict[str, Counter]:
    """Per module, the mutants by status, from `mutmut results --all true`."""
    by_module: dict[str, Counter] = {}
    for line in results.splitlines():
        match = _RESULT.match(line)
        if match:
            by_module.setdefault(module_of(match[1].replace("ǁ", ".")), Counter())[match[2]] += 1
    return by_module


def score(counts: Counter) -> tuple[int, int]:
    return sum(n for status, n in counts.items() if status in KILLED), sum(counts.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"any of {', '.join(MODULES)} (default all)")
    parser.add_argument("--cached", action="store_true", help="only report the last results")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    if unknown := set(modules) - set(MODULES):
        parser.error(f"no such module: {', '.join(sorted(unknown))}")
    if not args.cached:
        mutmut("run", "--max-children", str(args.children), *(MODULES[m] for m in modules))
    by_module = tally(mutmut("results", "--all", "true"))
    lowest = 100.0
    print(f"{'module':<10} {'killed':>7} {'total':>6} {'score':>7}  survivors")
    for name in modules:
        counts = by_module.get(name, Counter())
        killed, total = score(counts)
        percent = 100.0 * killed / total if total else 100.0
        lowest = min(lowest, percent)
        rest = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status not in KILLED) or "-"
        print(f"{name:<10} {killed:>7} {total:>6} {percent:>6.1f}%  {rest}")
    killed, total = score(sum((by_module.get(m, Counter()) for m in modules), Counter()))
    verdict = "every module" if lowest >= TARGET else "NOT every module"
    print(f"\nsummary: {killed}/{total} killed ({100.0 * killed / max(total, 1):.1f}%), lowest module {lowest:.1f}%;")
    print(f"{verdict} at the {TARGET:.0f}% target. Survivors: mutmut results; one: mutmut show NAME")
    return 0 if lowest >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
