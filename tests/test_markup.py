"""Pages, components and import maps (markup.py), and what decides whether a source is read at all (sources.py)."""

from __future__ import annotations

import pytest

from bot.core.detector import scan_files
from bot.core.detector.sources import links, read_facts

URL = "https://cdn.jsdelivr.net/npm/onnxruntime-web@1.22.0/dist/ort.min.js"
NATIVE_URL = "https://cdn.jsdelivr.net/npm/onnxruntime-web@1.30.0/dist/ort.webgpu.min.js"
IMPORT = b"import * as ort from 'onnxruntime-web';\n"
RUN = b"ort.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] });\n"
USE = b"<script>" + RUN.rstrip() + b"</script>\n"  # a page's own WebGPU request, so that its loads are errors
BOM = b"\xef\xbb\xbf"


def found(files: list[tuple[str, bytes]]) -> list[tuple[str, int, int, str]]:
    return [(f.path, f.line, f.column, f.rule) for f in scan_files(files).findings]


# --- pages and components ---------------------------------------------------------------------------


def test_a_script_src_is_rewritten_in_place_keeping_the_rest_of_its_line() -> None:
    page = f'<p>Demo</p> <script src="{URL}"></script>\n'.encode() + USE
    (finding,) = scan_files([("index.html", page)]).findings
    assert (finding.line, finding.column, finding.rule) == (1, 26, "jsep-cdn")
    assert finding.replacement == f'<p>Demo</p> <script src="{NATIVE_URL}"></script>'


def test_a_script_ends_at_its_end_tag_even_after_a_line_comment() -> None:
    """The page's text after `</script>` is not code, though the script's last line is a `//` comment."""
    page = b"<script>\nconst demo = true; // set by the build</script>\n"
    page += b'Load it with import("onnxruntime-web") in your own code.\n' + USE
    assert found([("index.html", page)]) == []


def test_an_unclosed_import_map_does_not_take_in_the_page_after_it() -> None:
    """A broken import map is read within its script: a mapping the page shows after it is not the map's."""
    page = b'<script type="importmap">\n{ "imports": { "react": "https://esm.sh/react" }\n</script>\n'
    page += f'<p>"imports": {{"onnxruntime-web": "{URL}"}}}}</p>\n'.encode() + USE
    assert found([("index.html", page)]) == []


def test_each_inline_module_is_read_once() -> None:
    page = (
        b'<script type="module">\nconst a = 1;\n</script>\n'
        b'<script type="module">\nimport * as ort from "onnxruntime-web";\n</script>\n' + USE
    )
    assert found([("index.html", page)]) == [("index.html", 5, 23, "jsep-import")]


def test_a_script_with_an_empty_src_does_not_stop_the_page() -> None:
    page = b'<script src=""></script>\n<script type="module">import "onnxruntime-web";</script>\n' + USE
    assert found([("index.html", page)]) == [("index.html", 2, 31, "jsep-import")]


def test_a_tag_whose_name_only_begins_with_script_loads_nothing() -> None:
    """`<script'` is an element of another name to a browser (and its src loads nothing): no finding."""
    assert found([("index.html", f'<script\' src="{URL}"></script>\n'.encode() + USE)]) == []


def test_a_self_closing_tag_with_an_integrity_hash_gets_no_fix() -> None:
    """A hashed `<link … />` keeps its JSEP asset name (the hash covers it); the same link without one is fixed."""
    asset = "https://cdn.jsdelivr.net/npm/onnxruntime-web@1.30.0/dist/ort-wasm-simd-threaded.jsep.wasm"
    code = b'<script type="module">\nimport * as ort from "onnxruntime-web";\n' + RUN + b"</script>\n"
    hashed = f'<link rel="preload" href="{asset}" integrity="sha384-x" />\n'.encode() + code
    plain = f'<link rel="preload" href="{asset}" />\n'.encode() + code
    fixes = {}
    for name, page in (("hashed", hashed), ("plain", plain)):
        findings = scan_files([("index.html", page)]).findings
        fixes[name] = {(f.line, f.rule): f.replacement for f in findings}
    assert fixes["hashed"][(1, "jsep-asset")] is None
    assert fixes["plain"][(1, "jsep-asset")] == f'<link rel="preload" href="{asset}" />'.replace(".jsep.", ".asyncify.")


def test_a_dashes_line_in_an_astro_template_is_not_a_frontmatter_fence() -> None:
    """The frontmatter ends at its first closing `---`: a later `---` in the template leaves the template markup."""
    component = f'---\nconst title = "Demo";\n---\n<script src="{URL}"></script>\n<p>\n---\n</p>\n'.encode()
    assert found([("src/pages/a.astro", component + USE)]) == [("src/pages/a.astro", 4, 14, "jsep-cdn")]


def test_an_astro_component_with_a_byte_order_mark_has_its_frontmatter_read() -> None:
    component = BOM + b"---\n" + IMPORT + RUN + b"---\n<p>Hello</p>\n"
    assert found([("src/pages/a.astro", component)]) == [("src/pages/a.astro", 2, 23, "jsep-import")]


# --- import maps ------------------------------------------------------------------------------------

WEBGPU_FILE = ("use.js", b"export const o = { executionProviders: ['webgpu'] };\n")


def test_an_import_map_with_both_imports_and_scopes_is_read() -> None:
    document = f'{{\n  "imports": {{ "onnxruntime-web": "{URL}" }},\n  "scopes": {{}}\n}}\n'.encode()
    assert found([("importmap.json", document), WEBGPU_FILE]) == [("importmap.json", 2, 36, "jsep-cdn")]


def test_a_mapping_that_is_not_a_string_does_not_hide_the_next() -> None:
    document = f'{{\n  "imports": {{\n    "x": null,\n    "onnxruntime-web": "{URL}"\n  }}\n}}\n'.encode()
    assert found([("importmap.json", document), WEBGPU_FILE]) == [("importmap.json", 4, 25, "jsep-cdn")]


def test_a_json_file_that_is_not_an_object_is_read_without_error() -> None:
    report = scan_files([("list.json", b'["imports", "onnxruntime-web"]\n'), WEBGPU_FILE])
    assert report.findings == [] and report.files_scanned == 2


def test_an_import_map_names_every_package_specifier_it_maps() -> None:
    """Its mapped specifiers are kept for the package and its subpaths, not for other packages."""
    document = (
        f'{{"imports": {{"onnxruntime-web": "{URL}", "onnxruntime-web/webgpu": "{NATIVE_URL}",'
        f' "onnxruntime-webgpu": "x.js", "react": "r.js"}}}}\n'
    ).encode()
    assert read_facts("importmap.json", document).mapped == {"onnxruntime-web", "onnxruntime-web/webgpu"}


# --- which sources are read -------------------------------------------------------------------------


def _padded(size: int) -> bytes:
    """An import and a WebGPU request, then comment lines up to exactly `size` bytes."""
    data = IMPORT + RUN
    while len(data) + 100 <= size:
        data += b"//" + b"-" * 97 + b"\n"
    return data + b"/" * (size - len(data))


@pytest.mark.parametrize(("at", "binary"), [(8191, True), (8192, False)])
def test_only_a_nul_byte_in_the_first_8_kib_makes_a_file_binary(at: int, binary: bool) -> None:
    report = scan_files([("a.js", _padded(at) + b"\0\n")])
    assert report.skipped == ({"binary": 1} if binary else {})
    assert [f.rule for f in report.findings] == ([] if binary else ["jsep-import"])


@pytest.mark.parametrize(("size", "minified"), [(2000, False), (2001, True)])
def test_a_file_is_minified_above_1000_bytes_a_line_on_average(size: int, minified: bool) -> None:
    """Two lines of 2,000 bytes in all are still source; one byte more and the file counts as minified."""
    data = IMPORT + RUN.rstrip(b"\n")
    data += b" " * (size - len(data))
    assert data.count(b"\n") == 1 and len(data) == size
    report = scan_files([("a.js", data)])
    assert report.skipped == ({"minified": 1} if minified else {})
    assert len(report.findings) == (0 if minified else 1)


def test_a_file_marked_ortfix_ignore_file_is_skipped_under_that_reason() -> None:
    report = scan_files([("a.js", b"// ortfix-ignore-file\n" + IMPORT + RUN)])
    assert report.findings == [] and report.skipped == {"ortfix-ignore-file": 1}


def test_a_hand_written_file_that_mentions_a_bundler_word_is_read() -> None:
    """Only the anchored bundler shapes make a file generated: a source map named mid-file does not."""
    data = b"// the build writes //# sourceMappingURL=app.js.map at the end\n" + IMPORT + RUN
    report = scan_files([("a.js", data)])
    assert report.skipped == {} and [f.rule for f in report.findings] == ["jsep-import"]


def test_a_bundle_with_every_bundler_mark_is_generated() -> None:
    data = (
        b"/******/ (() => { // webpackBootstrap\n/******/ var __webpack_require__ = {};\n"
        b"var __toESM = (m) => m;\n" + IMPORT + RUN + b"//# sourceMappingURL=main.js.map\n"
    )
    report = scan_files([("dist/main.js", data)])
    assert report.findings == [] and report.skipped == {"generated": 1}


def test_a_minified_file_that_does_not_name_the_package_is_not_counted_as_skipped() -> None:
    """The mention pre-filter comes first: a bundle that only says "website" is not read, nor counted as skipped."""
    report = scan_files([("site.js", b"var a='website';" * 200)])
    assert report.skipped == {} and report.files_scanned == 1


def test_an_ignore_comment_covers_its_own_line_and_the_next_only() -> None:
    data = b"// ortfix-ignore\n" + IMPORT + b"const a = 1;\n" + b"import { env } from 'onnxruntime-web';\n" + RUN
    assert found([("a.js", data)]) == [("a.js", 4, 22, "jsep-import")]


def test_an_ignore_comment_on_the_last_line_does_not_cover_the_first() -> None:
    assert found([("a.js", IMPORT + RUN + b"// ortfix-ignore")]) == [("a.js", 1, 23, "jsep-import")]


# --- vendored bundles -------------------------------------------------------------------------------

ORT_BODY = b'var ort=(()=>{var e="ort-wasm-simd-threaded.jsep.mjs",t="ort-wasm-simd-threaded.jsep.wasm";return{}})();\n'


def test_a_vendored_bundle_is_pointed_at_its_whole_first_line() -> None:
    """The finding's line is the bundle's first line, without its CRLF, from column 1; its version is the banner's."""
    first = b"/*! ONNX Runtime Web v1.20.1 | (c) Microsoft Corporation | MIT License */"
    (finding,) = scan_files([("vendor/ort.min.js", first + b"\r\n" + ORT_BODY + ORT_BODY)]).findings
    assert (finding.line, finding.column, finding.rule) == (1, 1, "vendored-jsep")
    assert finding.original == first.decode()
    assert "`vendor/ort.min.js` is a committed copy of onnxruntime-web `1.20.1` that loads" in finding.message


def test_a_vendored_bundle_without_a_banner_names_no_version() -> None:
    (finding,) = scan_files([("vendor/ort.js", ORT_BODY)]).findings
    assert "`vendor/ort.js` is a committed copy of onnxruntime-web that loads" in finding.message


@pytest.mark.parametrize(("end", "version"), [(4096, "`1.20.1`"), (4097, None)])
def test_a_vendored_bundle_s_banner_is_read_in_its_first_4_kib(end: int, version: str | None) -> None:
    banner = b"ONNX Runtime Web v1.20.1"
    data = b"/*" + b"*" * (end - len(banner) - 5) + b"*/\n" + banner + b"\n" + ORT_BODY
    assert data.index(banner) + len(banner) == end
    (finding,) = scan_files([("vendor/ort.min.js", data)]).findings
    assert ("onnxruntime-web `1.20.1` that loads" in finding.message) == (version is not None)


# --- links --------------------------------------------------------------------------------------------


def test_a_page_links_its_relative_imports_and_script_sources_even_in_broken_utf8() -> None:
    """Both kinds of local link are kept, an invalid byte decoded as U+FFFD; a URL with a scheme is not local."""
    page = (
        b'<script src="app\xff.js"></script>\n<script type="module">import "./lib\xff.js";</script>\n'
        b'<script src="https://cdn.example/x.js"></script>\n'
    )
    assert links("index.html", page) == ("./lib\ufffd.js", "app\ufffd.js")
