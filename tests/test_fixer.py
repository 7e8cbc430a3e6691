"""The fixer: byte-for-byte outside the fixed span, idempotent, safe on stale findings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.detector import scan_files
from bot.fixer import apply

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
