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
from bot.core.detector.messages import SOURCES
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


@pytest.fixture
def corpus() -> list[tuple[str, Finding, Report]]:
    """Scanned in each test, not once at import: a test then judges the detector as it is while it runs."""
    return corpus_findings()


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_renders_in_the_corpus(rule: str, corpus: list[tuple[str, Finding, Report]]) -> None:
    """Each rule's message is rendered by at least one corpus case, so the claim checks see it."""
    assert any(finding.rule == rule for _, finding, _ in corpus)


def _claim_id(pattern: str) -> str:
    """The claim's words without its regex syntax: a test id that a command line can name (mutmut does)."""
    return re.sub(r"[^A-Za-z]+", "-", pattern).strip("-")


@pytest.mark.parametrize(("pattern", "check"), CLAIMS, ids=[_claim_id(pattern) for pattern, _ in CLAIMS])
def test_each_claim_agrees_with_the_suggested_line(
    pattern: str, check: Check, corpus: list[tuple[str, Finding, Report]]
) -> None:
    """Wherever a message makes this claim (at least once), it holds for the replacement and the lockfile."""
    assert any(re.search(pattern, finding.message) for _, finding, _ in corpus), "the claim occurs"
    checked = [
        (case, finding.path, finding.line, match[1])
        for case, finding, report in corpus
        for match in re.finditer(pattern, finding.message)
        if not check(match[1], finding, report)
    ]
    assert checked == []


def _lock(version: str) -> bytes:
    """An npm lockfile that installs onnxruntime-web `version`."""
    packages = {"": {}, "node_modules/onnxruntime-web": {"version": version}}
    return json.dumps({"lockfileVersion": 3, "packages": packages}).encode()


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


CDN = "https://cdn.jsdelivr.net/npm/onnxruntime-web"
JSEP_TAIL = "Switching is not a promise that a given model's output changes. Sources: " + SOURCES + "."
WEBGPU_RUN = b"ort.InferenceSession.create('m', { executionProviders: ['webgpu'] });\n"


@pytest.mark.parametrize(
    ("files", "replacement", "ends"),
    [
        (  # a URL with no WebGPU at all: nothing to raise, so no ort-version finding is named
            [("index.html", f'<script src="{CDN}@1.20.1/dist/ort.min.js"></script>\n'.encode())],
            f'<script src="{CDN}@{table().latest}/dist/ort.webgpu.min.js"></script>',
            " with onnxruntime-web 1.23.0 or later for the native WebGPU EP. Sources: " + SOURCES + ".",
        ),
        (  # an import with no WebGPU at the locked version: the range is raised in the same change
            [
                ("package.json", b'{"dependencies": {"onnxruntime-web": "^1.20.0"}}'),
                ("package-lock.json", _lock("1.20.1")),
                ("src/a.js", b"import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN),
            ],
            "import * as ort from 'onnxruntime-web/webgpu';",
            " for the native WebGPU EP (see the ort-version finding). Sources: " + SOURCES + ".",
        ),
        (  # a URL on a native release: the fix keeps its version, and the message adds nothing about versions
            [("index.html", f'<script src="{CDN}@1.26.0/dist/ort.min.js"></script>\n'.encode())],
            f'<script src="{CDN}@1.26.0/dist/ort.webgpu.min.js"></script>',
            JSEP_TAIL,
        ),
        (  # a URL without a version: the fix pins none either
            [("index.html", f'<script src="{CDN}/dist/ort.min.js"></script>\n'.encode())],
            f'<script src="{CDN}/dist/ort.webgpu.min.js"></script>',
            JSEP_TAIL,
        ),
        (  # the native entry at a release before it was native: the fix pins the latest release
            [("index.html", f'<script src="{CDN}@1.22.0/dist/ort.webgpu.min.js"></script>\n'.encode())],
            f'<script src="{CDN}@{table().latest}/dist/ort.webgpu.min.js"></script>',
            f"{JSEP_TAIL} No onnxruntime-web release before 1.23.0 has the native WebGPU EP, so "
            f"`{CDN}@{table().latest}/dist/ort.webgpu.min.js` is the native URL: it pins {table().latest}.",
        ),
    ],
    ids=["url-without-webgpu", "import-without-webgpu", "url-native-release", "url-unversioned", "native-url-old"],
)
def test_a_load_s_message_ends_with_what_its_version_needs(
    files: list[tuple[str, bytes]], replacement: str, ends: str
) -> None:
    """What a load's message adds after the backend it names depends on the URL or the installed version."""
    (finding,) = [f for f in scan_files(files).findings if f.rule in ("jsep-cdn", "jsep-import")]
    assert finding.replacement == replacement
    assert finding.message.endswith(ends)


def test_every_message_is_filled_in(corpus: list[tuple[str, Finding, Report]]) -> None:
    """No value missing (shown as None), no placeholder left unfilled, no code span quoted twice."""
    broken = [
        (case, finding.path, finding.line, finding.message)
        for case, finding, _ in corpus
        if re.search(r"\bNone\b|\{[a-z_]+\}|``", finding.message)
    ]
    assert broken == []


def _package(range_: str, locked: str | None, source: bytes = b"import * as ort from 'onnxruntime-web/webgpu';\n"):
    files = [("package.json", json.dumps({"dependencies": {"onnxruntime-web": range_}}).encode()), ("src/a.js", source)]
    if locked:
        files.append(("package-lock.json", _lock(locked)))
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
    no_webgpu = " and the bare `onnxruntime-web` entry has no WebGPU at all" if lowest != "1.22.0" else ""
    assert f"is still the JSEP backend{no_webgpu}. {says}" in finding.message  # the bare entry has JSEP from 1.21
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


def test_a_line_that_is_not_utf8_is_shown_and_fixed_with_its_bad_bytes_replaced() -> None:
    """A Latin-1 comment on the import line: the finding still has its line, its original and its fix."""
    source = b"import * as ort from 'onnxruntime-web'; // caf\xe9\n" + WEBGPU_RUN
    (finding,) = scan_files([("src/a.js", source)]).findings
    assert (finding.line, finding.end_line, finding.column) == (1, 1, 23)
    assert finding.original == "import * as ort from 'onnxruntime-web'; // caf\ufffd"
    assert finding.replacement == "import * as ort from 'onnxruntime-web/webgpu'; // caf\ufffd"


def test_a_finding_without_a_webgpu_request_is_a_note_that_says_so() -> None:
    """The same import is an error with a WebGPU request and a note (prefixed with why) without one."""
    source = b"\nimport * as ort from 'onnxruntime-web';\n"
    (loud,) = scan_files([("src/a.js", source + WEBGPU_RUN)]).findings
    (quiet,) = scan_files([("src/a.js", source)]).findings
    assert (loud.severity, quiet.severity) == ("error", "info")
    assert (loud.line, loud.end_line) == (quiet.line, quiet.end_line) == (2, 2)
    assert loud.message.startswith("`onnxruntime-web` loads the JSEP WebGPU backend")
    assert quiet.message == (
        "No WebGPU use seen in this package (no 'webgpu' execution provider or device), so this is only a note: "
        + loud.message
    )


ASSET_AND_PREFIX = (
    b"import * as ort from 'onnxruntime-web';\n"
    b"const wasm = 'ort-wasm-simd-threaded.jsep.wasm';\n"
    b"ort.env.wasm.wasmPaths = 'https://cdn.jsdelivr.net/npm/onnxruntime-web@1.20.1/dist/';\n"
    b"ort.env.webgpu.powerPreference = 'high-performance';\n"
) + WEBGPU_RUN


def _companions(findings: list[Finding]) -> list[Finding]:
    """The asset, wasm prefix and flag findings, in line order."""
    return sorted((f for f in findings if f.rule in ("jsep-asset", "native-ignored-flag")), key=lambda f: f.line)


def test_assets_move_with_the_import_and_the_raised_range_of_an_old_lockfile() -> None:
    """The lockfile installs 1.20.1, the range is raised: the asset, the wasm prefix (to the latest release) and the
    flag are findings with the import, loud as it is."""
    latest = table().latest
    asset, prefix, flag = _companions(_package("^1.20.0", "1.20.1", ASSET_AND_PREFIX))
    assert (asset.line, asset.severity) == (2, "error")
    assert asset.replacement == "const wasm = 'ort-wasm-simd-threaded.asyncify.wasm';"
    assert (prefix.line, prefix.severity) == (3, "error")
    assert prefix.message.startswith(
        f"`wasmPaths` points at onnxruntime-web 1.20.1, but this package moves to {latest}. "
    )
    assert prefix.message.endswith(f" Use {latest}.")
    assert prefix.replacement == (
        f"ort.env.wasm.wasmPaths = 'https://cdn.jsdelivr.net/npm/onnxruntime-web@{latest}/dist/';"
    )
    assert (flag.line, flag.severity, flag.replacement) == (4, "info", None)
    assert flag.message.startswith("`env.webgpu.powerPreference` is ignored by the native WebGPU EP")


def test_a_wasm_prefix_follows_the_release_the_lockfile_installs_when_the_range_stays() -> None:
    """A native release is installed and the range is fine: the prefix moves to that release, not to the latest."""
    source = b"import * as ort from 'onnxruntime-web/webgpu';\n" + ASSET_AND_PREFIX.split(b"\n", 2)[2]
    source = source.replace(b"@1.20.1/", b"@1.25.0/")
    prefix, _flag = _companions(_package("^1.26.0", "1.26.0", source))
    assert prefix.message.startswith("`wasmPaths` points at onnxruntime-web 1.25.0, but this package installs 1.26.0. ")
    assert prefix.message.endswith(" Use 1.26.0.")
    assert "@1.26.0/dist/" in prefix.replacement


@pytest.mark.parametrize(("request_", "severity"), [(WEBGPU_RUN, "error"), (b"", "info")])
def test_a_stale_lockfile_keeps_the_assets_until_the_package_manager_runs(request_: bytes, severity: str) -> None:
    """The range already asks for a native release but the lockfile installs 1.20.1: the import moves, the assets
    stay (they match what installs until `npm install`), and the lockfile is as loud as the WebGPU request."""
    source = ASSET_AND_PREFIX.replace(WEBGPU_RUN, b"") + request_
    findings = _package("^1.30.0", "1.20.1", source)
    assert {(f.path, f.line, f.rule, f.severity) for f in findings} == {
        ("package-lock.json", 1, "lockfile-version", severity),
        ("src/a.js", 1, "jsep-import", severity),
    }


def test_a_native_import_on_an_old_lockfile_gets_its_assets_with_the_raised_range() -> None:
    """`onnxruntime-web/webgpu` at 1.20.1 is JSEP; the raised range makes it native, so the `.jsep.` asset changes in
    the same fix (left alone, it would 404 once the package manager installs the raised range)."""
    source = b"import * as ort from 'onnxruntime-web/webgpu';\nconst wasm = 'ort-wasm-simd-threaded.jsep.wasm';\n"
    findings = _package("^1.20.0", "1.20.1", source)
    assert {(f.path, f.line, f.rule, f.severity) for f in findings} == {
        ("package.json", 1, "ort-version", "error"),
        ("src/a.js", 2, "jsep-asset", "error"),
    }
    assert all(f.replacement is not None for f in findings)
