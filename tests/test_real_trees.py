"""Trees in the shapes real repositories have (issue 12): what belongs together, what a build made, what installs.

Each tree is scanned for its findings, then fixed with `ortfix scan --fix`:
the fixed tree rescans clean except what needs the package manager, and no
line outside the first scan's findings changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.commands import main
from bot.core.detector import Finding
from bot.core.detector.rules import fold_mixed
from tests.conftest import scan_dir

NEEDS_THE_PACKAGE_MANAGER = {"lockfile-version"}
WEBGPU_RUN = "export const run = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def found(root: Path, **options) -> set[tuple[str, int, str, str]]:
    return {(f.path, f.line, f.rule, f.severity) for f in scan_dir(root, **options).findings}


def fix_round_trip(root: Path, capsys: pytest.CaptureFixture[str]) -> set[tuple[str, int, str, str]]:
    """Fix with the CLI; assert only flagged lines changed; return what a rescan still finds (errors, warnings)."""
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    flagged = {(f.path, f.line) for f in scan_dir(root).findings}
    main(["scan", str(root), "--fix"])
    capsys.readouterr()
    for path, old in before.items():
        old_lines, new_lines = old.split(b"\n"), path.read_bytes().split(b"\n")
        assert len(old_lines) == len(new_lines)
        for number, (old_line, new_line) in enumerate(zip(old_lines, new_lines, strict=True), 1):
            if old_line != new_line:
                assert (path.relative_to(root).as_posix(), number) in flagged
    return {f for f in found(root) if f[3] != "info"}


# --- 1. outside any package.json: a page, or a folder --------------------------------------------------

CDN = "https://cdn.jsdelivr.net/npm/onnxruntime-web"


@pytest.fixture
def demos(tmp_path: Path) -> Path:
    """Independent HTML demos in sibling folders, no package.json anywhere."""
    return write(
        tmp_path / "demos",
        {
            "jsep-demo/index.html": f'<script src="{CDN}@1.20.1/dist/ort.min.js"></script>\n'
            '<script src="main.js"></script>\n',
            "jsep-demo/main.js": "ort.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] });\n",
            "native-demo/index.html": f'<script src="{CDN}@1.30.0/dist/ort.webgpu.min.js"></script>\n'
            "<script>ort.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] });</script>\n",
            "wasm-demo/index.html": f'<script src="{CDN}@1.30.0/dist/ort.min.js"></script>\n'
            "<script>ort.InferenceSession.create('m.onnx', { executionProviders: ['wasm'] });</script>\n",
        },
    )


def test_sibling_demos_are_judged_each_on_its_own(demos: Path) -> None:
    """No mixed-entry across demos, and one demo's WebGPU use does not make another's wasm page an error."""
    assert found(demos) == {
        ("jsep-demo/index.html", 1, "jsep-cdn", "error"),
        ("wasm-demo/index.html", 1, "jsep-cdn", "info"),
    }


def test_sibling_demos_fix_round_trip(demos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The JSEP demo moves to the native bundle; the wasm-only demo is left as it is."""
    assert fix_round_trip(demos, capsys) == set()
    assert "dist/ort.webgpu.min.js" in (demos / "jsep-demo/index.html").read_text()
    assert "dist/ort.min.js" in (demos / "wasm-demo/index.html").read_text()


def test_a_script_the_page_loads_gets_the_webgpu_use_of_the_page(tmp_path: Path) -> None:
    """The WebGPU request in the page's own script makes its CDN load loud (the page is one unit)."""
    root = write(
        tmp_path / "demo",
        {
            "index.html": f'<script src="{CDN}@1.20.1/dist/ort.min.js"></script>\n<script src="app.js"></script>\n',
            "app.js": "ort.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] });\n",
            "other/index.html": f'<script src="{CDN}@1.20.1/dist/ort.min.js"></script>\n',
        },
    )
    assert found(root) == {("index.html", 1, "jsep-cdn", "error"), ("other/index.html", 1, "jsep-cdn", "info")}


def test_loose_scripts_are_judged_by_their_folder(tmp_path: Path) -> None:
    """Scripts no page loads: each folder is a unit, so neither the gate nor mixed-entry crosses folders."""
    root = write(
        tmp_path / "examples",
        {
            "gpu/run.js": "import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN,
            "native/run.js": "import * as ort from 'onnxruntime-web/webgpu';\n" + WEBGPU_RUN,
            "cpu/run.js": "import * as ort from 'onnxruntime-web';\nort.InferenceSession.create('m.onnx');\n",
        },
    )
    assert found(root) == {("gpu/run.js", 1, "jsep-import", "error"), ("cpu/run.js", 1, "jsep-import", "info")}


@pytest.fixture
def mapped_page(tmp_path: Path) -> Path:
    """A page with an import map, its module graph, and an unrelated bundled script in the same folder."""
    return write(
        tmp_path / "site",
        {
            "index.html": '<script type="importmap">\n'
            f'{{ "imports": {{ "onnxruntime-web": "{CDN}@1.30.0/dist/ort.webgpu.bundle.min.mjs" }} }}\n'
            "</script>\n"
            '<script type="module" src="./app.js"></script>\n',
            "app.js": "import { run } from './lib/model';\nrun('m.onnx');\n",
            "lib/model.js": "import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN,
            "standalone.js": "import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN,
        },
    )


def test_an_import_map_covers_only_what_its_page_loads(mapped_page: Path) -> None:
    """The page's module graph (transitively) is mapped; the file the page never loads is judged on its own."""
    assert found(mapped_page) == {("standalone.js", 1, "jsep-import", "error")}  # loose: its folder is its unit


def test_mapped_page_fix_round_trip(mapped_page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the unmapped file's import changes."""
    assert fix_round_trip(mapped_page, capsys) == set()
    assert "'onnxruntime-web/webgpu'" in (mapped_page / "standalone.js").read_text()
    assert "'onnxruntime-web'" in (mapped_page / "lib/model.js").read_text()


def test_an_import_map_inside_a_package_covers_only_its_page(tmp_path: Path) -> None:
    """The scoping holds inside a package too: the other module keeps its finding (and is a second bundle)."""
    root = write(
        tmp_path / "app",
        {
            "package.json": '{ "dependencies": { "onnxruntime-web": "^1.30.0" } }\n',
            "index.html": '<script type="importmap">\n'
            f'{{ "imports": {{ "onnxruntime-web": "{CDN}@1.30.0/dist/ort.webgpu.bundle.min.mjs" }} }}\n'
            '</script>\n<script type="module" src="/src/page.js"></script>\n',
            "src/page.js": "import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN,
            "src/worker.js": "import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN,
        },
    )
    assert found(root) == {("src/worker.js", 1, "jsep-import", "error"), ("index.html", 2, "mixed-entry", "warning")}


# --- 2. package.json "imports" aliases ---------------------------------------------------------------------

LIBRARY_MANIFEST = """{
  "name": "model-lib",
  "imports": {
    "#onnxruntime-webgpu": { "node": "onnxruntime-node", "default": "onnxruntime-web/webgpu" },
    "#onnxruntime-web": { "node": "onnxruntime-web", "browser": { "import": "onnxruntime-web" } }
  },
  "dependencies": {
    "onnxruntime-web": "~1.22.0"
  }
}
"""


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return write(
        tmp_path / "lib",
        {
            "package.json": LIBRARY_MANIFEST,
            "src/backends/onnx.js": "import * as ONNX_WEB from '#onnxruntime-webgpu';\n"
            "import * as ONNX_CPU from '#onnxruntime-web';\n"
            "export const devices = ['wasm', 'webgpu'];\n",
        },
    )


def test_imports_aliases_are_loads_of_their_browser_target(library: Path) -> None:
    """The /webgpu alias makes the old range an ort-version finding; the bare alias is a JSEP load (a second one)."""
    assert found(library) == {
        ("package.json", 4, "mixed-entry", "warning"),
        ("package.json", 5, "jsep-import", "error"),
        ("package.json", 8, "ort-version", "warning"),
    }


def test_the_node_target_of_an_imports_alias_is_no_load(tmp_path: Path) -> None:
    """Only the browser/default target counts: a node-only mapping to onnxruntime-web loads nothing in a page."""
    root = write(
        tmp_path / "lib",
        {
            "package.json": '{\n  "imports": { "#ort": { "node": "onnxruntime-web/webgpu", "default": "./stub.js" } },\n'
            '  "dependencies": { "onnxruntime-web": "~1.22.0" }\n}\n',
            "src/index.js": "import * as ort from '#ort';\nexport const devices = ['webgpu'];\n",
        },
    )
    assert found(root) == set()


def test_library_fix_round_trip(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bare alias target and the range change; the node targets stay."""
    assert fix_round_trip(library, capsys) == set()
    manifest = (library / "package.json").read_text()
    assert '"browser": { "import": "onnxruntime-web/webgpu" }' in manifest
    assert '"node": "onnxruntime-web"' in manifest
    assert '"onnxruntime-web": "~1.22.0"' not in manifest


# --- 4. build output and vendored bundles ------------------------------------------------------------------

JSEP_APP = "import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A package whose build output is ignored by .gitignore files, one of them nested."""
    return write(
        tmp_path / "app",
        {
            ".gitignore": "dist/\n*.log\n",
            "package.json": '{ "dependencies": { "onnxruntime-web": "^1.30.0" } }\n',
            "src/app.js": JSEP_APP,
            "dist/assets/index-3f2a.js": JSEP_APP,
            "packages/viewer/.gitignore": "build/*\n!build/keep.js\n",
            "packages/viewer/build/out.js": JSEP_APP,
            "packages/viewer/build/keep.js": JSEP_APP,
        },
    )


def test_ignored_build_folders_get_no_findings(built: Path) -> None:
    """dist/ and the nested build/ are skipped; a negated file in the nested one is scanned."""
    assert found(built) == {
        ("src/app.js", 1, "jsep-import", "error"),
        ("packages/viewer/build/keep.js", 1, "jsep-import", "error"),
    }


def test_no_ignore_scans_everything(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--no-ignore brings the ignored build output back."""
    main(["scan", str(built), "--no-ignore", "--format", "json"])
    out = capsys.readouterr().out
    assert "dist/assets/index-3f2a.js" in out
    assert "packages/viewer/build/out.js" in out


def test_ignored_build_output_is_never_rewritten(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--fix changes the source and leaves the ignored bundle as it was."""
    assert fix_round_trip(built, capsys) == set()
    assert (built / "dist/assets/index-3f2a.js").read_text() == JSEP_APP
    assert "'onnxruntime-web/webgpu'" in (built / "src/app.js").read_text()


WEBPACK_DEV_BUNDLE = """/*
 * ATTENTION: The "eval" devtool has been used (maybe by default in mode: "development").
 */
/******/ (() => { // webpackBootstrap
/******/ 	var __webpack_modules__ = ({
"./src/app.js": ((module, __webpack_exports__, __webpack_require__) => {
const asset = "ort-wasm-simd-threaded.jsep.wasm";
const ort = import('onnxruntime-web');
ort.then((o) => o.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] }));
})
/******/ 	});
/******/ })()
;
"""
ROLLUP_OUTPUT = JSEP_APP + "//# sourceMappingURL=index.mjs.map\n"


@pytest.fixture
def committed_bundles(tmp_path: Path) -> Path:
    return write(
        tmp_path / "app",
        {
            "package.json": '{ "dependencies": { "onnxruntime-web": "^1.30.0" } }\n',
            "src/app.js": JSEP_APP,
            "public/js/main.js": WEBPACK_DEV_BUNDLE,
            "lib/index.mjs": ROLLUP_OUTPUT,
        },
    )


def test_committed_generated_bundles_get_no_line_findings(committed_bundles: Path) -> None:
    """A webpack development bundle and a file with a source map trailer are a build's: only the source counts."""
    report = scan_dir(committed_bundles)
    assert {(f.path, f.rule) for f in report.findings} == {("src/app.js", "jsep-import")}
    assert report.skipped["generated"] == 2


def test_committed_bundles_are_not_edited(committed_bundles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--fix rewrites the source only."""
    assert fix_round_trip(committed_bundles, capsys) == set()
    assert (committed_bundles / "public/js/main.js").read_text() == WEBPACK_DEV_BUNDLE
    assert (committed_bundles / "lib/index.mjs").read_text() == ROLLUP_OUTPUT


ORT_BANNER = "/*!\n * ONNX Runtime Web v1.20.1\n * Copyright (c) Microsoft Corporation. All rights reserved.\n */\n"
ORT_MINIFIED = (
    'var ort=(()=>{var e="ort-wasm-simd-threaded.jsep.mjs",t="ort-wasm-simd-threaded.jsep.wasm";'
    + "function r(n){return n==='webgpu'?e:t}" * 40
    + "return{InferenceSession:{}}})();\n"
)


@pytest.fixture
def vendored(tmp_path: Path) -> Path:
    """A page that loads a committed copy of onnxruntime-web's bundle, and a second copy without a banner."""
    return write(
        tmp_path / "site",
        {
            "index.html": '<script src="vendor/ort.min.js"></script>\n'
            "<script>ort.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] });</script>\n",
            "vendor/ort.min.js": ORT_BANNER + ORT_MINIFIED,
            "legacy/ort.webgpu.min.mjs": ORT_MINIFIED,
        },
    )


def test_a_vendored_jsep_bundle_is_one_file_level_finding(vendored: Path) -> None:
    """Each copy is a JSEP load, loud where its page asks for WebGPU, with its banner's version when it has one."""
    report = scan_dir(vendored)
    assert {(f.path, f.line, f.rule, f.severity) for f in report.findings} == {
        ("vendor/ort.min.js", 1, "vendored-jsep", "error"),
        ("legacy/ort.webgpu.min.mjs", 1, "vendored-jsep", "info"),
    }
    banner, bare = sorted(report.findings, key=lambda f: f.path, reverse=True)
    assert "`vendor/ort.min.js` is a committed copy of onnxruntime-web `1.20.1` that loads" in banner.message
    assert "`ort.webgpu.min.js`" in banner.message
    assert "`legacy/ort.webgpu.min.mjs` is a committed copy of onnxruntime-web that loads" in bare.message
    assert banner.replacement is None


def test_a_native_bundle_copy_is_not_vendored_jsep(tmp_path: Path) -> None:
    """A copy that names only the `.asyncify.` wasm files is the native backend: nothing to say."""
    root = write(tmp_path / "site", {"ort.webgpu.min.js": ORT_MINIFIED.replace(".jsep.", ".asyncify.")})
    assert found(root) == set()


def test_vendored_bundles_are_not_edited(vendored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No one-line fix exists for a vendored bundle: --fix leaves it, and the finding stays."""
    assert fix_round_trip(vendored, capsys) == {("vendor/ort.min.js", 1, "vendored-jsep", "error")}
    assert (vendored / "vendor/ort.min.js").read_text() == ORT_BANNER + ORT_MINIFIED


# --- 5. what the lockfile really installs ------------------------------------------------------------------

LOCKFILES = {
    "package-lock.json": (
        "npm install",
        5,
        '{\n  "lockfileVersion": 3,\n  "packages": {\n    "": { "dependencies": { "onnxruntime-web": "^1.22.0" } },\n'
        '    "node_modules/onnxruntime-web": {\n      "version": "1.22.0"\n    }\n  }\n}\n',
    ),
    "yarn.lock": ("yarn", 4, '# yarn lockfile v1\n\n\nonnxruntime-web@^1.22.0:\n  version "1.22.0"\n'),
    "pnpm-lock.yaml": (
        "pnpm install",
        13,
        "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      onnxruntime-web:\n"
        "        specifier: ^1.22.0\n        version: 1.22.0\n\npackages:\n\n  onnxruntime-web@1.22.0:\n"
        "    resolution: {integrity: sha512-x}\n",
    ),
    "bun.lock": (
        "bun install",
        7,
        '{\n  "lockfileVersion": 1,\n  "workspaces": { "": { "dependencies": { "onnxruntime-web": "^1.22.0" } } },\n'
        '  "packages": {\n\n\n    "onnxruntime-web": ["onnxruntime-web@1.22.0", "", {}, "sha512-x"],\n  }\n}\n',
    ),
}


@pytest.mark.parametrize("lockfile", sorted(LOCKFILES))
def test_a_raised_range_with_a_stale_lockfile_is_an_error_on_the_lockfile(
    lockfile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The range asks for 1.30, the lockfile still installs 1.22: an error on its line, with its own command."""
    command, line, text = LOCKFILES[lockfile]
    root = write(
        tmp_path / "app",
        {
            "package.json": '{ "dependencies": { "onnxruntime-web": "^1.30.0" } }\n',
            lockfile: text,
            "src/app.js": "import * as ort from 'onnxruntime-web/webgpu';\n" + WEBGPU_RUN,
        },
    )
    (finding,) = scan_dir(root).findings
    assert (finding.path, finding.line, finding.rule, finding.severity) == (lockfile, line, "lockfile-version", "error")
    assert f"Run `{command}`" in finding.message and "`1.22.0`" in finding.message
    assert fix_round_trip(root, capsys) == {(lockfile, line, "lockfile-version", "error")}


def test_a_lockfile_outside_the_range_is_an_error(tmp_path: Path) -> None:
    """A lockfile that no longer satisfies the range is reported even when what it installs is native."""
    root = write(
        tmp_path / "app",
        {
            "package.json": '{ "dependencies": { "onnxruntime-web": "^1.31.0" } }\n',
            "package-lock.json": '{\n  "packages": {\n    "node_modules/onnxruntime-web": { "version": "1.30.0" }\n  }\n}\n',
            "src/app.js": "import * as ort from 'onnxruntime-web/webgpu';\n" + WEBGPU_RUN,
        },
    )
    (finding,) = scan_dir(root).findings
    assert (finding.path, finding.line, finding.rule) == ("package-lock.json", 3, "lockfile-version")
    assert "does not admit" in finding.message


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An npm workspace whose member still has a lockfile of its own from before it joined."""
    return write(
        tmp_path / "mono",
        {
            "package.json": '{ "private": true, "workspaces": ["packages/*"] }\n',
            "package-lock.json": '{\n  "lockfileVersion": 3,\n  "packages": {\n'
            '    "": { "workspaces": ["packages/*"] },\n'
            '    "node_modules/onnxruntime-web": { "version": "1.30.0" }\n  }\n}\n',
            "packages/app/package.json": '{\n  "name": "app",\n  "dependencies": {\n'
            '    "onnxruntime-web": "^1.21.0"\n  }\n}\n',
            "packages/app/package-lock.json": '{\n  "lockfileVersion": 3,\n  "packages": {\n'
            '    "node_modules/onnxruntime-web": { "version": "1.20.1" }\n  }\n}\n',
            "packages/app/src/main.js": JSEP_APP,
        },
    )


def test_the_workspace_root_lockfile_decides(workspace: Path) -> None:
    """The member's stale lockfile is ignored as npm ignores it: no finding on it, its version never quoted."""
    report = scan_dir(workspace)
    assert {(f.path, f.line, f.rule, f.severity) for f in report.findings} == {
        ("packages/app/package.json", 4, "ort-version", "warning"),
        ("packages/app/src/main.js", 1, "jsep-import", "error"),
    }
    assert all("1.20.1" not in f.message for f in report.findings)
    assert "1.30.0" in next(f.message for f in report.findings if f.rule == "ort-version")
    assert report.lockfiles["packages/app"] == "package-lock.json"


def test_a_pnpm_workspace_member_is_found_in_the_root_lockfile(tmp_path: Path) -> None:
    """pnpm keeps its workspace list outside package.json: the root lockfile's importers say who is a member."""
    root = write(
        tmp_path / "mono",
        {
            "package.json": '{ "private": true }\n',
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\n\nimporters:\n\n  .: {}\n\n  packages/app:\n"
            "    dependencies:\n      onnxruntime-web:\n        specifier: ^1.30.0\n        version: 1.30.0\n",
            "packages/app/package.json": '{ "dependencies": { "onnxruntime-web": "^1.30.0" } }\n',
            "packages/app/pnpm-lock.yaml": "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n"
            "      onnxruntime-web:\n        specifier: ^1.21.0\n        version: 1.21.0\n",
            "packages/app/src/main.js": "import * as ort from 'onnxruntime-web/webgpu';\n" + WEBGPU_RUN,
        },
    )
    report = scan_dir(root)
    assert report.findings == []
    assert report.lockfiles["packages/app"] == "pnpm-lock.yaml"


def test_workspace_fix_round_trip(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The member's range and import change; the root lockfile already installs a native release: clean."""
    assert fix_round_trip(workspace, capsys) == set()
    assert "'onnxruntime-web/webgpu'" in (workspace / "packages/app/src/main.js").read_text()


@pytest.fixture
def exact_pin(tmp_path: Path) -> Path:
    return write(
        tmp_path / "app",
        {
            "package.json": '{\n  "dependencies": {\n    "onnxruntime-web": "1.22.0"\n  }\n}\n',
            "src/app.js": JSEP_APP,
        },
    )


def test_an_exact_pin_without_a_lockfile_is_an_error(exact_pin: Path) -> None:
    """Every install of an exact pin gets that version: as certain as a lockfile."""
    report = scan_dir(exact_pin)
    assert {(f.path, f.line, f.rule, f.severity) for f in report.findings} == {
        ("package.json", 3, "ort-version", "error"),
        ("src/app.js", 1, "jsep-import", "error"),
    }
    assert "every install gets" in next(f.message for f in report.findings if f.rule == "ort-version")


def test_a_range_without_a_lockfile_stays_a_warning(tmp_path: Path) -> None:
    """A caret range with no lockfile may install a native release: a warning, as before."""
    root = write(
        tmp_path / "app",
        {"package.json": '{\n  "dependencies": {\n    "onnxruntime-web": "^1.22.0"\n  }\n}\n', "src/app.js": JSEP_APP},
    )
    assert ("package.json", 3, "ort-version", "warning") in found(root)


def test_exact_pin_fix_round_trip(exact_pin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The pin moves to a native release and the import to the native entry: clean."""
    assert fix_round_trip(exact_pin, capsys) == set()
    assert '"onnxruntime-web": "1.22.0"' not in (exact_pin / "package.json").read_text()


def _finding(path: str, line: int, rule: str, because: tuple[str, ...] = ()) -> Finding:
    return Finding(path, line, line, 1, rule, "warning", "m", "x", None, because)


def test_a_mixed_entry_folds_into_the_loads_a_surface_shows() -> None:
    """Fixing the JSEP loads a surface lists removes the second bundle: mixed-entry becomes a count per package."""
    a, b = _finding("src/a.js", 2, "jsep-import"), _finding("src/b.js", 5, "jsep-import")
    mixed = _finding("src/gpu.js", 1, "mixed-entry", ("src/a.js:2", "src/b.js:5"))
    again = _finding("index.html", 3, "mixed-entry", ("src/a.js:2", "src/b.js:5"))  # the same package, seen twice
    assert fold_mixed([a, mixed, b, again]) == ([a, b], (2,))
    assert fold_mixed([a, b, mixed], shown={"src/a.js", "src/b.js"}) == ([a, b], (2,))
    # a load the surface does not show: the finding stays, on its line, if its own file is shown
    assert fold_mixed([a, b, mixed], shown={"src/a.js", "src/gpu.js"}) == ([a, mixed], ())
    assert fold_mixed([a, mixed], shown=None) == ([a, mixed], ())
    assert fold_mixed([_finding("src/gpu.js", 1, "mixed-entry")]) == ([_finding("src/gpu.js", 1, "mixed-entry")], ())


def _lock(version: str) -> str:
    return json.dumps({"lockfileVersion": 3, "packages": {"node_modules/onnxruntime-web": {"version": version}}})


def test_a_workspace_member_in_a_subfolder_installs_from_its_root_s_lockfile(tmp_path: Path) -> None:
    """npm ignores a member's own lockfile: the root's says what is installed; a folder that is no member keeps its own."""
    manifest = '{"dependencies": {"onnxruntime-web": "^1.20.0"}}'
    root = write(
        tmp_path,
        {
            "web/package.json": '{"workspaces": ["packages/*"]}',
            "web/package-lock.json": _lock("1.22.0"),
            "web/packages/app/package.json": manifest,
            "web/packages/app/package-lock.json": _lock("1.20.1"),
            "web/tools/x/package.json": manifest,
            "web/tools/x/package-lock.json": _lock("1.21.0"),
            "web/packages/app/index.js": "import * as ort from 'onnxruntime-web';\n",
            "web/tools/x/index.js": "import * as ort from 'onnxruntime-web';\n",
        },
    )
    versions = scan_dir(root).versions
    assert versions["web/packages/app"]["installed"] == "1.22.0"
    assert versions["web/tools/x"]["installed"] == "1.21.0"


@pytest.mark.parametrize("src", ["./app.js?v=1?x", "app.js#a#b", "/app.js", "./app", "./entry"])
def test_a_page_s_script_is_found_however_its_src_is_written(src: str, tmp_path: Path) -> None:
    """A query or fragment, a root-relative path, a missing extension or a folder's index: the same file."""
    root = write(
        tmp_path / "site",
        {
            "index.html": '<script type="importmap">\n'
            f'{{ "imports": {{ "onnxruntime-web": "{CDN}@1.30.0/dist/ort.webgpu.bundle.min.mjs" }} }}\n'
            f'</script>\n<script type="module" src="{src}"></script>\n',
            "app.js": "import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN,
            "entry/index.js": "import * as ort from 'onnxruntime-web';\n" + WEBGPU_RUN,
        },
    )
    unmapped = "entry/index.js" if src != "./entry" else "app.js"
    assert found(root) == {(unmapped, 1, "jsep-import", "error")}


def _npm_lock(versions: dict[str, str]) -> str:
    packages = {"": {}, **{f"node_modules/{name}": {"version": v} for name, v in versions.items()}}
    return json.dumps({"lockfileVersion": 3, "packages": packages}, indent=2)


def test_a_stale_lockfile_is_pointed_at_on_the_row_that_installs_the_old_release(tmp_path: Path) -> None:
    """The finding names the lockfile below its folder and the entry's own line (without its CRLF)."""
    lock = _npm_lock({"@huggingface/transformers": "4.3.0", "onnxruntime-web": "1.20.1"}).replace("\n", "\r\n")
    root = write(
        tmp_path,
        {
            "web/package.json": '{"dependencies": {"onnxruntime-web": "^1.30.0"}}',
            "web/src/a.js": "import * as ort from 'onnxruntime-web/webgpu';\n" + WEBGPU_RUN,
        },
    )
    (root / "web/package-lock.json").write_bytes(lock.encode())
    (finding,) = scan_dir(root).findings
    assert (finding.path, finding.line, finding.column, finding.rule) == (
        "web/package-lock.json",
        8,
        1,
        "lockfile-version",
    )
    assert finding.original == '    "node_modules/onnxruntime-web": {'
    assert "still installs onnxruntime-web `1.20.1`" in finding.message


@pytest.mark.parametrize(
    ("installed", "severity"), [("4.3.0", "warning"), ("4.0.0", "warning"), ("3.1.0", "error"), (None, "error")]
)
def test_the_wrapper_release_the_lockfile_installs_decides_how_loud_its_range_is(
    installed: str | None, severity: str, tmp_path: Path
) -> None:
    """A range that admits a JSEP release of transformers.js is an error only when that is what gets installed
    (4.0.0 is the first native one); either way the range is raised to 4.3.0, which also works on Safari."""
    files = {
        "web/package.json": '{"dependencies": {"onnxruntime-web": "^1.30.0", "@huggingface/transformers": ">=3.0.0"}}',
        "web/src/a.js": "import { pipeline } from '@huggingface/transformers';\npipeline('x', 'm', { device: 'webgpu' });\n",
    }
    if installed:
        files["web/package-lock.json"] = _npm_lock(
            {"@huggingface/transformers": installed, "onnxruntime-web": "1.30.0"}
        )
    (finding,) = scan_dir(write(tmp_path, files)).findings
    assert (finding.path, finding.line, finding.rule, finding.severity) == (
        "web/package.json",
        1,
        "wrapper-version",
        severity,
    )
    assert finding.replacement == files["web/package.json"].replace(">=3.0.0", ">=4.3.0")
    says = "below 4.0.0 pins a JSEP build" if severity == "error" else "4.0 to 4.2 use the native WebGPU EP"
    assert finding.message.startswith(f"@huggingface/transformers {says}")
    assert finding.message.endswith(" Suggested: 4.3.0 or later.")


def _manifest(dependencies: dict[str, str], **sections: dict[str, str]) -> str:
    """A package.json with one dependency (or override) per line, in the order given."""
    return json.dumps({"dependencies": dependencies, **sections}, indent=2) + "\n"


TRANSFORMERS_WEBGPU = (
    "import { pipeline } from '@huggingface/transformers';\npipeline('x', 'm', { device: 'webgpu' });\n"
)


@pytest.mark.parametrize("transformers", ["latest", "^4.3.0"])
@pytest.mark.parametrize("locked", [True, False])
def test_a_wrapper_range_with_nothing_to_raise_does_not_hide_the_next_wrapper(
    transformers: str, locked: bool, tmp_path: Path
) -> None:
    """A transformers.js range that names no version, or already asks for 4.3, gets no finding; kokoro-js after it
    still gets its own."""
    files = {
        "package.json": _manifest({"@huggingface/transformers": transformers, "kokoro-js": "^1.2.0"}),
        "src/a.js": TRANSFORMERS_WEBGPU,
    }
    if locked:
        files["package-lock.json"] = _npm_lock({"@huggingface/transformers": "3.1.0", "onnxruntime-web": "1.20.1"})
    assert found(write(tmp_path, files)) == {("package.json", 4, "wrapper-version", "warning")}


def test_each_upstream_wrapper_gets_its_own_finding(tmp_path: Path) -> None:
    """Two libraries to report upstream and an old transformers.js range: three findings, one per line."""
    files = {
        "package.json": _manifest(
            {"kokoro-js": "^1.2.0", "@built-in-ai/transformers-js": "^1.0.0", "@huggingface/transformers": "^3.0.0"}
        ),
        "src/a.js": TRANSFORMERS_WEBGPU,
    }
    assert found(write(tmp_path, files)) == {
        ("package.json", 3, "wrapper-version", "warning"),
        ("package.json", 4, "wrapper-version", "warning"),
        ("package.json", 5, "wrapper-version", "error"),
    }


@pytest.mark.parametrize(("installed", "mixed"), [("4.0.0", True), ("3.8.1", False)])
def test_a_jsep_import_next_to_a_native_transformers_release_is_a_second_bundle(
    installed: str, mixed: bool, tmp_path: Path
) -> None:
    """From 4.0.0 on, transformers.js loads `onnxruntime-web/webgpu`: the app's bare import is a second bundle."""
    files = {
        "package.json": _manifest({"@huggingface/transformers": "^3.0.0", "onnxruntime-web": "^1.30.0"}),
        "package-lock.json": _npm_lock({"@huggingface/transformers": installed, "onnxruntime-web": "1.30.0"}),
        "src/a.js": "import * as ort from 'onnxruntime-web';\n" + TRANSFORMERS_WEBGPU,
    }
    seen = [(f.path, f.line, f.severity, f.message) for f in scan_dir(write(tmp_path, files)).findings]
    expected = (
        "src/a.js",
        1,
        "warning",
        f"`onnxruntime-web` loads the JSEP bundle while @huggingface/transformers {installed} loads "
        "`onnxruntime-web/webgpu`: two `ort` instances, two wasm downloads, and `env` settings that reach only "
        "one of them. Import `onnxruntime-web/webgpu` here too.",
    )
    assert (expected in seen) is mixed


def test_a_mixed_entry_names_each_jsep_load_at_its_line(tmp_path: Path) -> None:
    """The native import's finding lists the JSEP loads (sorted, each with its line) and carries them as `because`."""
    root = write(
        tmp_path / "app",
        {
            "package.json": '{ "dependencies": { "onnxruntime-web": "^1.30.0" } }\n',
            "src/gpu.js": "import * as ort from 'onnxruntime-web/webgpu';\n" + WEBGPU_RUN,
            "src/a.js": "// the CPU path\nimport * as ort from 'onnxruntime-web';\n",
            "src/b.js": "import 'x';\nimport 'y';\nconst o = await import('onnxruntime-web/all');\n",
        },
    )
    (mixed,) = [f for f in scan_dir(root).findings if f.rule == "mixed-entry"]
    assert (mixed.path, mixed.line, mixed.severity, mixed.replacement) == ("src/gpu.js", 1, "warning", None)
    assert mixed.because == ("src/a.js:2", "src/b.js:3")
    assert mixed.message == (
        "This package loads both `onnxruntime-web/webgpu` and `onnxruntime-web/all` (`src/b.js:3`), "
        "`onnxruntime-web` (`src/a.js:2`). Each bundle carries its own copy of onnxruntime-common: two `ort` "
        "instances, two wasm downloads, and `env` settings that reach only one of them. "
        "Load one entry: `onnxruntime-web/webgpu`."
    )


def test_an_override_a_wrapper_pins_is_reported_without_a_suggestion(tmp_path: Path) -> None:
    """@imgly/background-removal breaks when its onnxruntime-web is raised: the override gets no fix, the package's
    own range still does."""
    root = write(
        tmp_path / "app",
        {
            "package.json": _manifest(
                {"@imgly/background-removal": "^1.7.0", "onnxruntime-web": "^1.20.0"},
                overrides={"onnxruntime-web": "1.21.0"},
            ),
            "src/a.js": "import * as ort from 'onnxruntime-web/webgpu';\n" + WEBGPU_RUN,
        },
    )
    versions = {f.line: f for f in scan_dir(root).findings if f.rule == "ort-version"}
    assert sorted(versions) == [4, 7]
    own, override = versions[4], versions[7]
    assert own.replacement == '    "onnxruntime-web": "^1.30.0"'
    assert "No suggestion here" not in own.message
    assert override.replacement is None
    assert override.message.startswith("This range admits onnxruntime-web 1.21.0, below 1.23.0, ")
    assert override.message.endswith(
        " No suggestion here: @imgly/background-removal pins its own onnxruntime-web and breaks when this override "
        "raises it (see the wrapper-version finding)."
    )


def test_a_cdn_load_inside_a_package_does_not_depend_on_its_range(tmp_path: Path) -> None:
    """A URL pins its own version: an old range in the package.json around the page is not what the page runs."""
    root = write(
        tmp_path / "app",
        {
            "package.json": '{ "dependencies": { "onnxruntime-web": "^1.20.0" } }\n',
            "index.html": f'<script src="{CDN}@1.26.0/dist/ort.min.js"></script>\n'
            "<script>ort.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] });</script>\n",
        },
    )
    assert found(root) == {("index.html", 1, "jsep-cdn", "error")}
