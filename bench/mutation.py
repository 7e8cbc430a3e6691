"""Mutation score per module: mutmut over the detector, the fixer (edits), render, review, store and events.

    nice -n 19 python bench/mutation.py [MODULE ...]   # any of: detector fixer render review store events

Each module is mutated on its own, against its own fast tests (SUITES), in mutants/MODULE/: mutmut copies
the tree there and runs each mutant against the tests of the suite that reach the mutated function, two at
a time. The modules named (all by default) are run afresh; with --survivors, only the mutants that are new or
were not killed last time (after adding tests); with --cached, not at all. The score is killed / total,
where a mutant that no test reaches counts as a survivor. The survivors that remain are equivalent mutants,
listed with a reason in docs/mutation.md. To look at one: cd mutants/MODULE && mutmut show NAME.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAST = ["tests/test_edits.py"]
SUITES = {  # module → (the files mutated, the tests that judge them)
    "detector": (
        ["bot/core/detector/*"],
        [
            "tests/test_corpus.py",
            "tests/test_specifiers.py",
            "tests/test_lockfiles.py",
            "tests/test_manifests.py",
            "tests/test_markup.py",
            "tests/test_shapes.py",
            "tests/test_messages.py",
            "tests/test_robustness.py",
            "tests/test_localtree.py",
            "tests/test_real_trees.py",
            *FAST,
        ],
    ),
    "fixer": (["bot/core/edits.py"], FAST),
    "render": (["bot/core/render.py"], ["tests/test_render.py", "tests/test_posted_markdown.py", *FAST]),
    "review": (["bot/jobs/review.py"], ["tests/test_review.py"]),
    "store": (["bot/adapters/store.py"], ["tests/test_store.py"]),
    "events": (["bot/core/events.py"], ["tests/test_events.py", "tests/test_routing.py", "tests/test_webhooks.py"]),
}
TARGET = 90.0
KILLED = {"killed", "timeout", "segfault", "caught by type check"}  # the tests (or the checker) noticed
_RESULT = re.compile(r"^\s*(bot\.\S+__mutmut_\d+): (.+)$")


def workdir(module: str) -> Path:
    """mutants/MODULE: the tree (linked) with [tool.mutmut] narrowed to the module and its suite."""
    work = ROOT / "mutants" / module
    work.mkdir(parents=True, exist_ok=True)
    for name in ("bot", "tests"):
        if not (work / name).is_symlink():
            (work / name).symlink_to(ROOT / name)
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    mutate, tests = SUITES[module]
    table = {
        **tomllib.loads(text)["tool"]["mutmut"],
        "only_mutate": mutate,
        "pytest_add_cli_args_test_selection": tests,
    }
    start = text.index("[tool.mutmut]")
    end = text.index("\n[", start) + 1
    section = "[tool.mutmut]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items()) + "\n"
    (work / "pyproject.toml").write_text(text[:start] + section + text[end:], "utf-8")
    return work


def mutmut(work: Path, *args: str) -> str:
    """mutmut in `work`, without PYTHONPATH so that the tests import the mutated copy."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, "-m", "mutmut", *args]
    return subprocess.run(command, cwd=work, env=env, check=True, capture_output=True, text=True).stdout


def statuses(work: Path) -> dict[str, str]:
    """Each mutant's status, from `mutmut results --all true`."""
    results = mutmut(work, "results", "--all", "true")
    return {match[1]: match[2] for match in map(_RESULT.match, results.splitlines()) if match}


def score(counts: Counter) -> tuple[int, int]:
    return sum(n for status, n in counts.items() if status in KILLED), sum(counts.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"any of {', '.join(SUITES)} (default all)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--survivors", action="store_true", help="run only the mutants new or not killed last time")
    how.add_argument("--cached", action="store_true", help="report the last run's results, run nothing")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    args = parser.parse_args(argv)
    modules = args.modules or list(SUITES)
    if unknown := set(modules) - set(SUITES):
        parser.error(f"no such module: {', '.join(sorted(unknown))}")
    print(f"{'module':<10} {'killed':>7} {'total':>6} {'score':>7}  not killed", flush=True)
    total: Counter[str] = Counter()
    lowest = 100.0
    for module in modules:
        work = workdir(module)
        run = ["run", "--max-children", str(args.children)]
        if args.survivors:
            mutmut(work, *run)  # the mutants not yet checked
            if again := [name for name, status in statuses(work).items() if status not in KILLED]:
                mutmut(work, *run, *again)
        elif not args.cached:
            mutmut(work, *run, "bot.*")
        counts = Counter(statuses(work).values())
        killed, mutants = score(counts)
        percent = 100.0 * killed / mutants if mutants else 0.0
        lowest = min(lowest, percent)
        total += counts
        rest = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status not in KILLED) or "-"
        print(f"{module:<10} {killed:>7} {mutants:>6} {percent:>6.1f}%  {rest}", flush=True)
    killed, mutants = score(total)
    reached = "every module reaches" if lowest >= TARGET else "NOT every module reaches"
    print(
        f"\nsummary: {killed}/{mutants} killed ({100.0 * killed / max(mutants, 1):.1f}%), lowest module {lowest:.1f}%:"
    )
    print(f"{reached} the {TARGET:.0f}% target")
    return 0 if lowest >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
