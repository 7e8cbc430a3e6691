"""Bad input: binary, huge, minified, odd encodings, random text. A clear note, never a crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.detector import Scanner, scan_files
from bot.core.detector.scanner import MAX_LOCKFILE_BYTES, MAX_SOURCE_BYTES

IMPORT = b"import * as ort from 'onnxruntime-web';\n"
WEBGPU = b"export const o = { executionProviders: ['webgpu'] };\n"


def test_a_binary_file_is_skipped_and_counted() -> None:
    """A NUL byte marks a binary file: not parsed, counted under skipped."""
    report = scan_files([("a.js", b"\x00\x01onnxruntime-web\x02")])
    assert report.findings == [] and report.skipped["binary"] == 1


def test_a_file_over_the_cap_is_skipped_with_a_note() -> None:
    """An oversized file is not read as source; the note names it and the cap."""
    report = scan_files([("big.js", IMPORT + b" " * MAX_SOURCE_BYTES)])
    assert report.findings == []
    assert report.skipped["too-large"] == 1
    assert report.notes[0].startswith("big.js: not scanned")


def test_a_five_megabyte_minified_bundle_is_skipped_not_parsed() -> None:
    """A one-line 5 MB bundle (under a raised cap) counts as minified and yields nothing."""
    bundle = b"var a=0;" * 655_360 + b"import('onnxruntime-web');"
    report = scan_files([("dist/app.js", bundle), ("use.js", WEBGPU)], max_bytes=10_000_000)
    assert report.findings == [] and report.skipped["minified"] == 1


def test_files_under_node_modules_and_ignore_globs_are_not_scanned() -> None:
    """node_modules/ is never read; --ignore globs work at any depth and for directories."""
    files = [
        ("node_modules/x/a.js", IMPORT),
        ("vendor/b.js", IMPORT),
        ("src/c.test.js", IMPORT),
        ("src/d.js", IMPORT),
        ("use.js", WEBGPU),
    ]
    report = scan_files(files, ignore=["vendor/", "*.test.js"])
    assert [f.path for f in report.findings] == ["src/d.js"]


def test_ignore_globs_match_below_a_folder_at_any_depth_and_by_file_name() -> None:
    """`dir/` anywhere in the path, `**/name` also at the top, a bare name in any folder."""
    files = [
        ("packages/app/vendor/b.js", IMPORT),
        ("gen.js", IMPORT),
        ("src/generated.js", IMPORT),
        ("src/d.js", IMPORT),
        ("use.js", WEBGPU),
    ]
    report = scan_files(files, ignore=["vendor/", "**/gen.js", " generated.js "])
    assert [f.path for f in report.findings] == ["src/d.js"]


def test_a_file_too_large_to_read_is_noted_with_the_cap_of_its_kind() -> None:
    """A lockfile's cap is its own, larger one; anything else has the source cap."""
    scanner = Scanner()
    scanner.too_large("web/package-lock.json", MAX_LOCKFILE_BYTES + 1)
    scanner.too_large("dist/app.js", MAX_SOURCE_BYTES + 1)
    report = scanner.finish()
    assert report.skipped["too-large"] == 2
    assert report.notes == [
        f"web/package-lock.json: not scanned, {MAX_LOCKFILE_BYTES + 1:,} bytes is over the {MAX_LOCKFILE_BYTES:,}-byte cap",
        f"dist/app.js: not scanned, {MAX_SOURCE_BYTES + 1:,} bytes is over the {MAX_SOURCE_BYTES:,}-byte cap",
    ]


def test_a_file_without_the_package_name_is_not_parsed() -> None:
    """The byte pre-filter: no mention, no parse, still counted as scanned."""
    report = scan_files([("a.js", b"syntax error ((((\n")])
    assert report.files_scanned == 1 and report.findings == []


def test_a_syntax_error_elsewhere_does_not_hide_the_import() -> None:
    """tree-sitter recovers: a broken statement later in the file leaves the import found."""
    report = scan_files([("a.js", IMPORT + b"function (((( {\n"), ("use.js", WEBGPU)])
    assert [f.rule for f in report.findings] == ["jsep-import"]


def test_invalid_utf8_is_survived() -> None:
    """Bytes that are not UTF-8 around the import do not stop the scan."""
    report = scan_files([("a.js", b"const s = '\xff\xfe';\n" + IMPORT), ("use.js", WEBGPU)])
    assert [f.line for f in report.findings] == [2]


def test_invalid_utf8_inside_a_request_is_survived() -> None:
    """A provider value that is not UTF-8 is read as no provider, and the import is still found."""
    report = scan_files([("a.js", IMPORT + b"export const o = { device: '\xff' };\n")])
    assert [(f.line, f.severity) for f in report.findings] == [(1, "info")]


def test_a_string_continued_over_two_lines_in_a_request_is_survived() -> None:
    """A multi-line literal is no provider name; the scan reads on past it."""
    report = scan_files([("a.js", IMPORT + b"export const o = { name: 'first \\\nsecond' };\n"), ("use.js", WEBGPU)])
    assert [(f.line, f.severity) for f in report.findings] == [(1, "error")]


def test_a_name_assigned_from_itself_is_followed_without_looping() -> None:
    """`device = device ?? 'webgpu'` refers to itself: it is followed a few levels and found, never forever."""
    code = b"let device = saved;\ndevice = device ?? 'webgpu';\npipeline('t', 'm', { device });\n"
    report = scan_files([("a.js", IMPORT + code)])
    assert [(f.line, f.severity) for f in report.findings] == [(1, "error")]


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=400) | st.text(max_size=400).map(str.encode),
    st.sampled_from(["a.js", "a.ts", "a.tsx", "a.vue", "a.html", "a.astro", "map.json", "package.json", "yarn.lock"]),
)
def test_random_input_never_crashes(data: bytes, path: str) -> None:
    """Any bytes under any source name give a report."""
    salted = data[: len(data) // 2] + b"onnxruntime-web webgpu" + data[len(data) // 2 :]
    report = scan_files([(path, salted), ("package.json", b'{"dependencies":{"onnxruntime-web":"^1.20.1"}}')])
    assert report.files_scanned == (0 if path in ("package.json", "yarn.lock") else 1)
    for finding in report.findings:
        assert finding.line >= 1 and finding.column >= 1


def test_the_summary_counts_what_a_user_sees_and_what_is_hidden() -> None:
    """Quiet (info) findings are hidden unless asked for, and counted either way."""
    report = scan_files(
        [
            ("cpu/a.js", IMPORT),
            ("gpu/b.js", IMPORT + WEBGPU),
            ("gpu/c.js", IMPORT + WEBGPU),
            ("x.js", b"\x00onnxruntime-web"),
        ]
    )
    assert report.summary() == {
        "files_scanned": 4,  # a skipped file was looked at too
        "findings": 2,
        "errors": 2,
        "warnings": 0,
        "info": 0,
        "hidden": 1,
        "skipped": {"binary": 1},
        "notes": [],
    }
    shown = report.summary(include_info=True)
    assert (shown["findings"], shown["info"], shown["hidden"]) == (3, 1, 0)
    assert [f.path for f in report.shown()] == ["gpu/b.js", "gpu/c.js"]
