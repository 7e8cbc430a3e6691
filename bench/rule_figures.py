"""Figures per rule: findings on the test corpus, and precision/recall against the corpus's own expectations.

Run by hand from the repository root: `python bench/rule_figures.py`. Each
directory under tests/corpus is scanned as `ortfix scan` scans it; a finding
is a true positive when its file, line and rule are marked expected there
(`ortfix-expect:` comments and EXPECTED files, as tests/test_corpus.py reads
them). Prints a Markdown table for the README's "What it finds" section.
"""

from __future__ import annotations

from collections import Counter

from bot.core.detector.rules import RULES
from tests.conftest import CORPUS, scan_dir
from tests.test_corpus import expected

HEADER = "| Rule | Findings | Errors / warnings / notes | Cases | Precision | Recall |\n|---|---|---|---|---|---|"


def figures() -> dict[str, Counter[str]]:
    """rule → counts of found, each severity, cases, true positives and expected findings."""
    counts: dict[str, Counter[str]] = {rule: Counter() for rule in RULES}
    for case in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        wanted = {(path, line, rule) for path, line, rule, _ in expected(case)}
        found = {(f.path, f.line, f.rule): f.severity for f in scan_dir(case).findings}
        for (path, line, rule), severity in found.items():
            counts.setdefault(rule, Counter()).update(
                {"found": 1, severity: 1, "true": int((path, line, rule) in wanted)}
            )
        for rule in {rule for _, _, rule in found}:
            counts[rule]["cases"] += 1
        for _, _, rule in wanted:
            counts.setdefault(rule, Counter())["expected"] += 1
    return counts


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "n/a"


def main() -> None:
    counts = figures()
    cases = sum(1 for p in CORPUS.iterdir() if p.is_dir())
    print(f"{cases} corpus cases (tests/corpus), {sum(c['found'] for c in counts.values())} findings\n")
    print(HEADER)
    for rule, c in counts.items():
        severities = f"{c['error']} / {c['warning']} / {c['info']}"
        row = [f"`{rule}`", str(c["found"]), severities, str(c["cases"])]
        row += [ratio(c["true"], c["found"]), ratio(c["true"], c["expected"])]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
