"""The corpus: each directory under tests/corpus is a project whose expected findings are written in it.

A source line carrying `ortfix-expect: RULE SEVERITY [RULE SEVERITY]...` must
get exactly those findings; `EXPECTED` lists findings on lines that cannot carry a comment
(package.json, JSON import maps) as `PATH:LINE RULE SEVERITY`. Nothing else
may be found.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.core.edits import apply
from tests.conftest import CORPUS, scan_dir

MARKER = re.compile(r"ortfix-expect:((?: [a-z-]+ (?:error|warning|info))+)")
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def expected(case: Path) -> set[tuple[str, int, str, str]]:
    found = set()
    for file in case.rglob("*"):
        if not file.is_file() or "node_modules" in file.parts:
            continue
        relative = file.relative_to(case).as_posix()
        if file.name == "EXPECTED":
            for line in file.read_text().splitlines():
                where, rule, severity = line.split()
                path, number = where.rsplit(":", 1)
                found.add((path, int(number), rule, severity))
            continue
        for number, line in enumerate(file.read_text(errors="replace").splitlines(), 1):
            match = MARKER.search(line)
            if match:
                words = match[1].split()
                found.update(
                    (relative, number, rule, severity) for rule, severity in zip(words[::2], words[1::2], strict=True)
                )
    return found


@pytest.mark.parametrize("case", CASES)
def test_corpus_findings_are_exactly_the_expected_ones(case: str) -> None:
    """Every marked line is found with its rule and severity, and nothing unmarked is."""
    report = scan_dir(CORPUS / case)
    got = {(f.path, f.line, f.rule, f.severity) for f in report.findings}
    assert got == expected(CORPUS / case)


@pytest.mark.parametrize("case", CASES)
def test_fixing_a_corpus_case_leaves_nothing_fixable_and_touches_nothing_else(case: str, tmp_path: Path) -> None:
    """Fix every finding, rescan: no finding with a fix is left, and only the fixed lines changed."""
    project = tmp_path / case
    shutil.copytree(CORPUS / case, project)
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    for _ in range(3):  # two findings on one line take two passes
        report = scan_dir(project)
        for path in {f.path for f in report.findings}:
            file = project / path
            text = file.read_bytes().decode()
            file.write_bytes(apply(text, [f for f in report.findings if f.path == path]).encode())
    assert [f for f in scan_dir(project).findings if f.replacement is not None] == []
    flagged = {(path, line) for path, line, _, _ in expected(CORPUS / case)}
    for path, old in before.items():
        old_lines, new_lines = old.split(b"\n"), path.read_bytes().split(b"\n")
        assert len(old_lines) == len(new_lines)
        for number, (old_line, new_line) in enumerate(zip(old_lines, new_lines, strict=True), 1):
            if old_line != new_line:
                assert (path.relative_to(project).as_posix(), number) in flagged
                assert old_line.endswith(b"\r") == new_line.endswith(b"\r")
