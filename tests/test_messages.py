"""Messages agree with suggestions: every claim a message makes is checked against the line it suggests.

The claims are found by pattern in every finding the corpus produces; each
pattern comes with the check that makes it true (a version named equals the
one in the replacement, a version said to be installed is the lockfile's, a
URL called JSEP really is one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from bot.core.detector import scan_files
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


def _cdn_message(version: str) -> str:
    url = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{version}/dist/ort.min.js"
    (finding,) = scan_files([("index.html", f'<script src="{url}"></script>\n'.encode())]).findings
    return finding.message


def test_a_url_below_the_native_release_says_its_fix_pins_the_latest() -> None:
    """The fixed URL is shown once, as code (not code inside code); a URL already on a native release says nothing."""
    native_url = f"`https://cdn.jsdelivr.net/npm/onnxruntime-web@{table().latest}/dist/ort.webgpu.min.js`"
    assert _cdn_message("1.22.0").endswith(
        f" No onnxruntime-web release before 1.23.0 has the native WebGPU EP, so {native_url} is the native URL: "
        f"it pins {table().latest}."
    )
    assert "No onnxruntime-web release before" not in _cdn_message("1.26.0")


def test_every_message_is_filled_in() -> None:
    """No value missing (shown as None), no placeholder left unfilled, no code span quoted twice."""
    broken = [
        (case, finding.path, finding.line, finding.message)
        for case, finding, _ in FINDINGS
        if re.search(r"\bNone\b|\{[a-z_]+\}|``", finding.message)
    ]
    assert broken == []


def _package(range_: str, locked: str | None, source: bytes = b"import * as ort from 'onnxruntime-web/webgpu';\n"):
    files = [("package.json", json.dumps({"dependencies": {"onnxruntime-web": range_}}).encode()), ("src/a.js", source)]
    if locked:
        lock = {"lockfileVersion": 3, "packages": {"": {}, "node_modules/onnxruntime-web": {"version": locked}}}
        files.append(("package-lock.json", json.dumps(lock).encode()))
    return scan_files(files).findings


@pytest.mark.parametrize(
    ("range_", "locked", "severity", "says"),
    [
        ("^1.16.0", None, "warning", "There is no lockfile, so an install can get a JSEP build."),
        ("1.20.1", None, "error", "The range pins `1.20.1` exactly and there is no lockfile"),
        ("^1.20.0", "1.20.1", "error", "The lockfile installs 1.20.1: this package runs JSEP (or no WebGPU) today."),
        ("^1.22.0", "1.23.0", "warning", "The lockfile already installs 1.23.0, but a fresh or downstream install"),
    ],
)
def test_a_range_below_the_native_release_says_what_gets_installed(
    range_: str, locked: str | None, severity: str, says: str
) -> None:
    """How loud the range is follows what installs: a pin or an old lockfile now, a new lockfile or none maybe."""
    (finding,) = _package(range_, locked)
    assert (finding.rule, finding.severity) == ("ort-version", severity)
    lowest = range_.lstrip("^")
    assert finding.message.startswith(
        f"This range admits onnxruntime-web {lowest}, below 1.23.0, where `onnxruntime-web/webgpu` is still the JSEP backend"
    )
    no_webgpu = " and the bare `onnxruntime-web` entry has no WebGPU at all. "
    assert (no_webgpu in finding.message) is (lowest != "1.22.0")  # the bare entry has JSEP WebGPU from 1.21
    assert f" {says}" in finding.message
    assert f"Raise the floor to {table().latest}, then refresh the lockfile" in finding.message


def test_a_lockfile_outside_the_range_says_a_frozen_install_fails() -> None:
    (finding,) = _package("~1.30.0", "1.31.0")
    assert (finding.path, finding.rule, finding.severity) == ("package-lock.json", "lockfile-version", "error")
    assert finding.message.startswith(
        "`package-lock.json` locks onnxruntime-web `1.31.0`, which the range `~1.30.0` does not admit: "
    )
    assert finding.message.endswith("Run `npm install` and commit the refreshed lockfile.")


def test_a_lockfile_is_not_judged_against_a_range_that_is_not_one() -> None:
    assert _package("latest", "1.20.0") == []


def test_a_stale_lockfile_under_a_native_import_is_an_error_without_a_webgpu_request() -> None:
    """Importing `onnxruntime-web/webgpu` says WebGPU is wanted, so the JSEP build the lockfile installs matters."""
    (finding,) = _package("^1.30.0", "1.20.0")
    assert (finding.rule, finding.severity) == ("lockfile-version", "error")
