"""`ortfix scan`: exit codes, the three output formats, --fix, --all, --ignore."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from bot.cli import main
from tests.conftest import CORPUS

JSON_KEYS = {"path", "line", "end_line", "column", "rule", "severity", "message", "original", "replacement"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(CORPUS / "locked-old", root)
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_is_compiler_style_and_exits_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each finding reads path:line:col: severity: rule: message, then the line and its fix."""
    code, out, _ = run(capsys, "scan", str(project))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("package.json:4:25: error: ort-version: ")
    assert lines[2] == '  → "onnxruntime-web": "~1.30.0"'
    assert lines[3].startswith("src/app.ts:1:35: error: jsep-import: ")
    assert lines[-1] == "ortfix: 2 finding(s) in 1 file(s) scanned"


def test_json_output_has_the_stable_shape(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON interface other tools rely on: exact keys, relative paths, whole lines."""
    code, out, _ = run(capsys, "scan", str(project), "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert {tuple(sorted(f)) for f in document["findings"]} == {tuple(sorted(JSON_KEYS))}
    first = document["findings"][1]
    assert first["path"] == "src/app.ts"
    assert (
        first["original"] == "import { InferenceSession } from 'onnxruntime-web'; // ortfix-expect: jsep-import error"
    )
    assert first["replacement"] == first["original"].replace("'onnxruntime-web'", "'onnxruntime-web/webgpu'")
    assert document["summary"]["errors"] == 2


def test_sarif_output_validates_against_the_sarif_schema(
    project: Path, capsys: pytest.CaptureFixture[str], sarif_schema: dict
) -> None:
    """The SARIF log is valid 2.1.0 and carries each finding's rule and region."""
    code, out, _ = run(capsys, "scan", str(project), "--format", "sarif")
    log = json.loads(out)
    jsonschema.validators.validator_for(sarif_schema)(sarif_schema).validate(log)
    results = log["runs"][0]["results"]
    assert code == 1
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        ("ort-version", 4),
        ("jsep-import", 1),
    ]


def test_sarif_with_no_findings_is_still_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sarif_schema: dict
) -> None:
    """A clean tree gives an empty, valid run and exit 0."""
    code, out, _ = run(capsys, "scan", str(tmp_path), "--format", "sarif")
    jsonschema.validators.validator_for(sarif_schema)(sarif_schema).validate(json.loads(out))
    assert code == 0


def test_fix_rewrites_the_project_and_leaves_only_the_lockfile(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--fix applies the import and the range together; the rescan it prints names the stale lockfile and its command."""
    code, out, _ = run(capsys, "scan", str(project), "--fix")
    assert code == 1
    assert out.startswith("package-lock.json:7:1: error: lockfile-version: ")
    assert "Run `npm install`" in out
    assert "1 finding(s)" in out
    assert "'onnxruntime-web/webgpu'" in (project / "src/app.ts").read_text()
    assert '"onnxruntime-web": "~1.30.0"' in (project / "package.json").read_text()


def test_quiet_findings_show_only_with_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without WebGPU use the bare import is a note: hidden (exit 0) unless --all."""
    shutil.copytree(CORPUS / "cpu-only", tmp_path / "cpu")
    code, out, _ = run(capsys, "scan", str(tmp_path / "cpu"))
    assert code == 0 and "2 quiet (--all shows them)" in out
    code, out, _ = run(capsys, "scan", str(tmp_path / "cpu"), "--all", "--format", "json")
    assert code == 1 and {f["severity"] for f in json.loads(out)["findings"]} == {"info"}


def test_ignore_glob_drops_matching_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--ignore takes globs; an ignored source file no longer contributes findings."""
    code, out, _ = run(capsys, "scan", str(project), "--ignore", "src/*", "--format", "json")
    assert [f["path"] for f in json.loads(out)["findings"]] == []
    assert code == 0


def test_a_single_file_is_scanned_with_its_package_context(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file PATH still sees its package.json and lockfile: the locked 1.22 makes the message say so."""
    (project / ".git").mkdir()
    code, out, _ = run(capsys, "scan", str(project / "src/app.ts"), "--format", "json")
    messages = [f["message"] for f in json.loads(out)["findings"]]
    assert code == 1
    assert any("At onnxruntime-web 1.22.0" in m for m in messages)


@pytest.mark.parametrize("args", [[], ["scan"], ["scan", "--format", "xml", "."], ["scan", "/no/such/dir"], ["bogus"]])
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad arguments and missing paths exit 2 with a message on stderr."""
    code, _, err = run(capsys, *args)
    assert code == 2 and err


def test_the_console_script_is_installed(project: Path) -> None:
    """`ortfix` on PATH runs the same command (the README's quick start)."""
    script = Path(sys.executable).with_name("ortfix")
    result = subprocess.run([str(script), "scan", str(project)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "jsep-import" in result.stdout


def test_fix_switches_imports_and_assets_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One --fix changes the import, the asset names, the copy config and the wasmPaths prefix."""
    root = tmp_path / "assets"
    shutil.copytree(CORPUS / "assets", root)
    code, _, _ = run(capsys, "scan", str(root), "--fix")
    assert code == 0
    assert "from 'onnxruntime-web/webgpu'" in (root / "src/ort-setup.ts").read_text()
    assert ".jsep." not in (root / "public/sw.js").read_text()
    assert "ort-wasm-simd-threaded.asyncify.*" in (root / "vite.config.js").read_text()
    assert "onnxruntime-web@1.30.0/dist/" in (root / "src/cdn-paths.js").read_text()
    assert "/wasm/ort-wasm-simd-threaded.asyncify.wasm" in (root / "index.html").read_text()


@pytest.mark.parametrize("case", ["assets-webgl", "assets-old-pin"])
def test_fix_never_half_switches(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Where the import cannot move (WebGL) or the version cannot be raised in one edit, the assets stay too."""
    root = tmp_path / case
    shutil.copytree(CORPUS / case, root)
    run(capsys, "scan", str(root), "--fix", "--all")
    assert "ort-wasm-simd-threaded.jsep.wasm" in (root / "src/app.js").read_text()
