"""Messages agree with suggestions: every claim a message makes is checked against the line it suggests.

The claims are found by pattern in every finding the corpus produces; each
pattern comes with the check that makes it true (a version named equals the
one in the replacement, a version said to be installed is the lockfile's, a
URL called JSEP really is one).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from bot.core.detector.findings import Finding, Report
from bot.core.detector.rules import RULES
from bot.core.detector.specifiers import classify
from bot.core.versions import compare, table
from tests.conftest import CORPUS, scan_dir

NATIVE = table().native_from


def _suggested(value: str, finding: Finding) -> bool:
    return finding.replacement is None or value in finding.replacement


def _jsep_url(value: str, finding: Finding) -> bool:
    target = classify(value)
    return not target or not target.is_url or (target.version is not None and compare(target.version, NATIVE) < 0)


def _locked(value: str, report: Report) -> bool:
    installed = {v["installed"] for v in report.versions.values() if v["installed"]}
    return not installed or value in installed


# (claim pattern, what must hold for its first group): checked wherever the pattern occurs
Check = Callable[[str, Finding, Report], bool]
CLAIMS: list[tuple[str, Check]] = [
    (r"`([^`]+)` loads the maintained native WebGPU EP", lambda v, f, r: _suggested(v, f)),
    (r"`([^`]+)` is JSEP as well", lambda v, f, r: _jsep_url(v, f)),
    (r"At onnxruntime-web ([0-9][^ ,]*),", lambda v, f, r: _locked(v, r)),
    (r"The lockfile (?:already )?installs ([0-9][^ :,]*)", lambda v, f, r: _locked(v, r)),
    (r"this package installs ([0-9][^ .]*(?:\.[0-9]+)*)", lambda v, f, r: _locked(v, r)),
    (r"Raise the floor to ([0-9][^ ,]*),", lambda v, f, r: _suggested(v, f)),
    (r"Suggested: ([0-9][^ ]*) or later", lambda v, f, r: _suggested(v, f)),
    (r"loads `([^`]+)` instead", lambda v, f, r: _suggested(v, f)),
    (r"Use ([0-9][0-9.]*[0-9])\.", lambda v, f, r: _suggested(f"@{v}/", f)),
    (r"is the native URL: it pins ([0-9][0-9.]*[0-9])\.", lambda v, f, r: _suggested(f"@{v}/", f)),
]


def corpus_findings() -> list[tuple[str, Finding, Report]]:
    found = []
    for case in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        report = scan_dir(case)
        found += [(case.name, finding, report) for finding in report.findings]
    return found


FINDINGS = corpus_findings()


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_renders_in_the_corpus(rule: str) -> None:
    """Each rule's message is rendered by at least one corpus case, so the claim checks see it."""
    assert any(finding.rule == rule for _, finding, _ in FINDINGS)


@pytest.mark.parametrize(("pattern", "check"), CLAIMS, ids=[pattern for pattern, _ in CLAIMS])
def test_each_claim_agrees_with_the_suggested_line(pattern: str, check: Check) -> None:
    """Wherever a message makes this claim (at least once), it holds for the replacement and the lockfile."""
    assert any(re.search(pattern, finding.message) for _, finding, _ in FINDINGS), "the claim occurs"
    checked = [
        (case, finding.path, finding.line, match[1])
        for case, finding, report in FINDINGS
        for match in re.finditer(pattern, finding.message)
        if not check(match[1], finding, report)
    ]
    assert checked == []
