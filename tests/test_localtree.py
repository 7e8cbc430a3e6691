"""Reading a tree from disk: many files over worker processes, unreadable entries, the progress bar."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import localtree
from bot.core.detector import Scanner, scan_files
from tests.conftest import scan_dir

IMPORT = "import * as ort from 'onnxruntime-web';\n"
WEBGPU = "export const o = { executionProviders: ['webgpu'] };\n"


def make_tree(root: Path, files: int) -> list[tuple[str, bytes]]:
    written = []
    for i in range(files):
        path = f"pkg{i % 7}/f{i}.js"
        body = (IMPORT if i % 50 == 0 else "") + f"export const v{i} = {i};\n" + (WEBGPU if i % 3 == 0 else "")
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(body)
        written.append((path, body.encode()))
    return written


def test_a_tree_of_several_batches_gives_the_same_report_as_scanning_in_memory(tmp_path: Path) -> None:
    """Worker processes change nothing: same findings, same counts as the in-memory scan."""
    files = make_tree(tmp_path, localtree.BATCH * 2 + 17)
    on_disk = scan_dir(tmp_path)
    in_memory = scan_files(files)
    assert on_disk.findings == in_memory.findings
    assert len(on_disk.findings) == len([f for f in files if f[1].startswith(IMPORT.encode())])
    assert on_disk.files_scanned == in_memory.files_scanned == len(files)


def test_an_unreadable_entry_is_a_note_not_a_crash(tmp_path: Path) -> None:
    """A dangling symlink named like a source file is reported and the rest is scanned."""
    (tmp_path / "a.js").write_text(IMPORT + WEBGPU)
    (tmp_path / "gone.js").symlink_to(tmp_path / "missing.js")
    report = scan_dir(tmp_path)
    assert [f.path for f in report.findings] == ["a.js"]
    assert report.notes == ["gone.js: not read (No such file or directory)"]


def test_a_file_over_the_cap_is_not_read(tmp_path: Path) -> None:
    """A file over the cap is not scanned, however large; the note gives the size and the cap."""
    (tmp_path / "big.js").write_text(IMPORT + " " * 2000)
    (tmp_path / "huge.js").write_text(IMPORT + " " * 3 * localtree.FIRST_READ)
    report = scan_dir(tmp_path, max_bytes=1000)
    assert report.notes == [
        "big.js: not scanned, 2,040 bytes is over the 1,000-byte cap",
        "huge.js: not scanned, 196,648 bytes is over the 1,000-byte cap",
    ]


def test_a_file_longer_than_one_read_is_read_whole(tmp_path: Path) -> None:
    """The load at the end of a file several reads long is found, as is one in a file of exactly one read."""
    line = "// filler\n"
    (tmp_path / "long.js").write_text(line * (3 * localtree.FIRST_READ // len(line)) + IMPORT + WEBGPU)
    exact = IMPORT + WEBGPU + line * ((localtree.FIRST_READ - len(IMPORT + WEBGPU)) // len(line))
    (tmp_path / "exact.js").write_text(exact + "\n" * (localtree.FIRST_READ - len(exact)))
    assert (tmp_path / "exact.js").stat().st_size == localtree.FIRST_READ
    report = scan_dir(tmp_path)
    assert sorted((f.path, f.line) for f in report.findings) == [("exact.js", 1), ("long.js", 19661)]


def test_the_progress_bar_shows_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal, a large tree draws a bar on stderr that ends at the total."""
    make_tree(tmp_path, 30)
    stderr = io.StringIO()
    stderr.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(localtree.sys, "stderr", stderr)
    monkeypatch.setattr(localtree, "PROGRESS_FROM", 10)
    localtree.scan_root(Scanner(), tmp_path, progress=True)
    assert stderr.getvalue().endswith("] 30/30 files\n")


def test_a_page_found_late_in_the_walk_still_gets_what_the_early_files_import(tmp_path: Path) -> None:
    """Workers start before the walk ends: the imports of files sent before the page are read after, not lost.

    The page (last in walk order) maps onnxruntime-web and loads app.js (first in walk order), which imports
    lib/model.js: mapped, so only the file the page never loads is a finding, as in the in-memory scan.
    """
    files = make_tree(tmp_path / "filler", localtree.BATCH * 2)
    page = (
        '<script type="importmap">{ "imports": { "onnxruntime-web": '
        '"https://cdn.jsdelivr.net/npm/onnxruntime-web@1.30.0/dist/ort.webgpu.bundle.min.mjs" } }</script>\n'
        '<script type="module" src="/app.js"></script>\n'
    )
    written = {
        "app.js": "import { run } from './lib/model.js';\nrun('m.onnx');\n",
        "lib/model.js": IMPORT + WEBGPU,
        "lone.js": IMPORT + WEBGPU,
        "zz/index.html": page,
    }
    for path, body in written.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    in_memory = scan_files(
        [(f"filler/{path}", body) for path, body in files] + [(p, b.encode()) for p, b in written.items()]
    )
    on_disk = scan_dir(tmp_path)
    assert on_disk.findings == in_memory.findings
    assert "lone.js" in {f.path for f in on_disk.findings} and "lib/model.js" not in {f.path for f in on_disk.findings}


def test_a_file_of_exactly_the_cap_is_scanned(tmp_path: Path) -> None:
    """The cap is the largest size read, on disk and in memory."""
    body = IMPORT + WEBGPU
    (tmp_path / "a.js").write_text(body)
    for report in (scan_dir(tmp_path, max_bytes=len(body)), scan_files([("a.js", body.encode())], max_bytes=len(body))):
        assert [f.path for f in report.findings] == ["a.js"]
        assert report.notes == [] and not report.skipped


def test_files_that_hold_nothing_are_counted_and_make_no_package() -> None:
    """A file without onnxruntime-web, or naming it only in a comment, is scanned: no skip, no package, no version."""
    report = scan_files(
        [
            ("package.json", b'{"dependencies": {"onnxruntime-web": "^1.20.0"}}'),
            ("a.js", b"export const x = 1;\n"),
            ("b.js", b"// the model runs on onnxruntime-web, loaded elsewhere\n"),
        ]
    )
    assert report.files_scanned == 2
    assert not report.skipped and report.findings == [] and report.versions == {}


def test_a_package_json_import_alias_alone_makes_a_package() -> None:
    """An "imports" entry loads onnxruntime-web for the package, even with no source file naming it."""
    report = scan_files(
        [("package.json", b'{"imports": {"#ort": "onnxruntime-web"}, "dependencies": {"onnxruntime-web": "^1.20.0"}}')]
    )
    assert {(f.path, f.rule) for f in report.findings} == {
        ("package.json", "jsep-import"),
        ("package.json", "ort-version"),
    }
    assert report.versions == {".": {"range": "^1.20.0", "installed": None}}


@pytest.mark.parametrize("path", ["a/node_modules/x/index.js", "a/b/.git/hooks/x.js", "node_modules/x.js"])
def test_files_below_node_modules_or_git_at_any_depth_are_not_scanned(path: str) -> None:
    report = scan_files([(path, (IMPORT + WEBGPU).encode()), ("node_modules.js", (IMPORT + WEBGPU).encode())])
    assert [f.path for f in report.findings] == ["node_modules.js"]
    assert report.files_scanned == 1


MAP = (
    '<script type="importmap">{ "imports": { "onnxruntime-web": '
    '"https://cdn.jsdelivr.net/npm/onnxruntime-web@1.30.0/dist/ort.webgpu.bundle.min.mjs" } }</script>\n'
)


def page(src: str) -> bytes:
    return (MAP + f'<script type="module" src="{src}"></script>\n').encode()


def test_a_scanner_that_does_not_read_links_takes_them_from_the_caller() -> None:
    """`linking=False`: a page loads nothing until `add_links` says what; then its import map covers app.js."""
    scanner = Scanner(linking=False)
    scanner.add("index.html", page("app.js"))
    scanner.add("app.js", (IMPORT + WEBGPU).encode())
    assert [f.path for f in scanner.finish().findings] == ["app.js"]
    scanner = Scanner(linking=False)
    scanner.add("index.html", page("app.js"))
    scanner.add("app.js", (IMPORT + WEBGPU).encode())
    scanner.add_links("index.html", ["app.js"])
    assert scanner.finish().findings == []


@pytest.mark.parametrize(
    "files",
    [
        # a root-absolute src (here under a folder named like the Xenova models)
        {"index.html": page("/Xenova/app.js"), "Xenova/app.js": IMPORT + WEBGPU},
        # two pages of one package, each with its own import map and script
        {
            "package.json": '{"name": "site"}',
            "a/index.html": page("app.js"),
            "a/app.js": IMPORT + WEBGPU,
            "b/index.html": page("app.js"),
            "b/app.js": IMPORT + WEBGPU,
        },
        # scripts that import each other: each is loaded once, and the walk ends
        {
            "index.html": page("a.js"),
            "a.js": "import './b.js';\n" + IMPORT + WEBGPU,
            "b.js": "import './a.js';\n" + IMPORT,
        },
    ],
)
def test_a_page_s_import_map_covers_every_script_it_loads(files: dict[str, str | bytes]) -> None:
    report = scan_files([(path, body if isinstance(body, bytes) else body.encode()) for path, body in files.items()])
    assert report.findings == []


def test_a_folder_s_loose_files_are_loud_when_a_page_s_script_beside_them_asks_for_webgpu() -> None:
    """lone.js asks for no provider itself; app.js, loaded by the page, asks for WebGPU in the same folder."""
    report = scan_files(
        [
            ("index.html", b'<script type="module" src="app.js"></script>\n'),
            ("app.js", WEBGPU.encode()),
            ("lone.js", IMPORT.encode()),
        ]
    )
    assert [(f.path, f.severity) for f in report.findings] == [("lone.js", "error")]
