"""The fixer: byte-for-byte outside the fixed span, idempotent, safe on stale findings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import render
from bot.core.detector import Scanner, scan_files
from bot.core.edits import FixPlan, apply, fix_texts

WEBGPU = b"export const o = { executionProviders: ['webgpu'] };\n"


def fix_once(path: str, data: bytes) -> str:
    report = scan_files([(path, data), ("use.js", WEBGPU)])
    return apply(data.decode(), [f for f in report.findings if f.path == path])


def test_crlf_tabs_and_quotes_are_kept() -> None:
    """Only the specifier changes: quote style, tabs and CRLF endings stay."""
    source = b"\timport  *  as ort  from\t\"onnxruntime-web\" ;\r\nconst x = require( 'onnxruntime-web' );\r\n"
    assert fix_once("a.js", source) == (
        "\timport  *  as ort  from\t\"onnxruntime-web/webgpu\" ;\r\nconst x = require( 'onnxruntime-web/webgpu' );\r\n"
    )


def test_a_bom_survives_the_fix() -> None:
    """A UTF-8 BOM before the first import is kept, and the import is still found."""
    source = "\ufeffimport * as ort from 'onnxruntime-web';\n".encode()
    assert fix_once("a.ts", source) == "\ufeffimport * as ort from 'onnxruntime-web/webgpu';\n"


def test_applying_twice_changes_nothing_the_second_time() -> None:
    """The second application finds every original line already replaced."""
    source = b"import * as ort from 'onnxruntime-web';\n"
    report = scan_files([("a.js", source), ("use.js", WEBGPU)])
    once = apply(source.decode(), report.findings)
    assert apply(once, report.findings) == once


def test_a_stale_finding_is_not_applied() -> None:
    """If the line changed since the scan, the fixer leaves it alone."""
    report = scan_files([("a.js", b"import * as ort from 'onnxruntime-web';\n"), ("use.js", WEBGPU)])
    assert apply("import * as other from 'onnxruntime-web';\n", report.findings) == (
        "import * as other from 'onnxruntime-web';\n"
    )


def test_two_loads_on_one_line_are_fixed_over_two_passes() -> None:
    """Each finding carries a whole line; the second applies after a rescan."""
    source = b"import a from 'onnxruntime-web'; import b from 'onnxruntime-web/all';\n"
    once = fix_once("a.js", source)
    twice = fix_once("a.js", once.encode())
    assert twice == "import a from 'onnxruntime-web/webgpu'; import b from 'onnxruntime-web/webgpu';\n"


TWO_ON_ONE_LINE = b"import a from 'onnxruntime-web'; import b from 'onnxruntime-web/all';\n"


def fix_all(texts: dict[str, bytes]):
    return fix_texts({**texts, "use.js": WEBGPU}, Scanner, lambda finding: True)


def test_fix_texts_fixes_two_findings_on_one_line() -> None:
    """The second load on a line is fixed by a later pass of the same call."""
    files, _ = fix_all({"a.js": TWO_ON_ONE_LINE})
    assert files == {"a.js": b"import a from 'onnxruntime-web/webgpu'; import b from 'onnxruntime-web/webgpu';\n"}


def test_fix_texts_reports_each_applied_fix_once() -> None:
    """Two loads on one line, one in another file: three fixed findings, each once, none unapplied."""
    _, fixed = fix_all({"a.js": TWO_ON_ONE_LINE, "b.js": b"const o = require('onnxruntime-web');\n"})
    assert sorted((f.path, f.line, f.rule) for f in fixed) == [
        ("a.js", 1, "jsep-import"),
        ("a.js", 1, "jsep-import"),
        ("b.js", 1, "jsep-import"),
    ]


def test_fix_texts_leaves_unwanted_findings_out_of_files_and_counts() -> None:
    """A finding the caller does not want is neither applied nor reported as fixed."""
    texts = {"a.js": b"import * as ort from 'onnxruntime-web';\n", "b.js": b"import 'onnxruntime-web/all';\n"}
    files, fixed = fix_texts({**texts, "use.js": WEBGPU}, Scanner, lambda finding: finding.path == "b.js")
    assert list(files) == ["b.js"] and [f.path for f in fixed] == ["b.js"]


def test_the_commit_message_counts_what_fix_texts_fixed() -> None:
    """Three imports fixed (two of them on one line) and a range raised: the message says 3 and 1."""
    manifest = b'{\n  "dependencies": {\n    "onnxruntime-web": "^1.22.0"\n  }\n}\n'
    texts = {"package.json": manifest, "a.js": TWO_ON_ONE_LINE, "b.js": b"import 'onnxruntime-web';\n"}
    files, fixed = fix_all(texts)
    message = render.commit_message(FixPlan(files, texts, fixed, []))
    assert "- switch 3 import(s) to onnxruntime-web/webgpu" in message
    assert "- raise 1 onnxruntime-web range(s)" in message


def test_a_stale_finding_past_the_end_of_the_file_is_ignored() -> None:
    """The file shrank since the scan: a finding on the line after its last is skipped, not an IndexError."""
    report = scan_files([("a.js", b"let x = 1;\nimport * as ort from 'onnxruntime-web';\n"), ("use.js", WEBGPU)])
    (finding,) = [f for f in report.findings if f.path == "a.js"]
    assert finding.line == 2
    assert apply("let x = 1;", [finding]) == "let x = 1;"


_line = st.sampled_from(
    [
        "import * as ort from 'onnxruntime-web';",
        'const o = require("onnxruntime-web/all");',
        "export * from 'onnxruntime-web';",
        "const n = await import('onnxruntime-web');",
        "// import 'onnxruntime-web'",
        "const s = 'onnxruntime-web';",
        "let x = 1;",
        "\t",
        "",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_line, max_size=8), st.sampled_from(["\n", "\r\n"]))
def test_fixing_is_idempotent_and_leaves_nothing_fixable(lines: list[str], ending: str) -> None:
    """For any mix of loads and noise: after fixing, a rescan finds nothing fixable and refixing is a no-op."""
    text = ending.join(lines) + ending
    fixed = text
    for _ in range(3):
        fixed = fix_once("a.js", fixed.encode())
    report = scan_files([("a.js", fixed.encode()), ("use.js", WEBGPU)])
    assert [f for f in report.findings if f.replacement] == []
    assert apply(fixed, report.findings) == fixed
    assert fixed.count(ending) == text.count(ending)


def test_fix_texts_keeps_bytes_that_are_not_utf8() -> None:
    """A Latin-1 byte in a comment neither stops the fix nor changes: only the specifier does."""
    source = b"// caf\xe9\nimport * as ort from 'onnxruntime-web';\n"
    files, fixed = fix_all({"a.js": source})
    assert files == {"a.js": b"// caf\xe9\nimport * as ort from 'onnxruntime-web/webgpu';\n"}
    assert [(f.path, f.line) for f in fixed] == [("a.js", 2)]


def test_fix_texts_reports_fixes_on_crlf_lines() -> None:
    """A fixed CRLF line counts as fixed: its "\\r" is not part of the replacement the finding carries."""
    files, fixed = fix_all({"a.js": b"let x = 1;\r\nimport * as ort from 'onnxruntime-web';\r\n"})
    assert files == {"a.js": b"let x = 1;\r\nimport * as ort from 'onnxruntime-web/webgpu';\r\n"}
    assert [(f.path, f.line, f.rule) for f in fixed] == [("a.js", 2, "jsep-import")]


def test_fix_texts_stops_rescanning_once_a_pass_changes_nothing() -> None:
    """One fix: one pass applies it, the next finds nothing to do, and there is no third scan."""
    scans = []

    def counting_scanner() -> Scanner:
        scans.append(1)
        return Scanner()

    fix_texts({"a.js": b"import 'onnxruntime-web';\n", "use.js": WEBGPU}, counting_scanner, lambda finding: True)
    assert len(scans) == 2
