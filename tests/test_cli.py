"""`ortfix scan`: exit codes, the three output formats, --fix, --all, --ignore."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from bot.cli import formats
from bot.cli.commands import _parser, main
from tests.conftest import CORPUS
from tests.paths import ORTFIX

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


@pytest.mark.npm  # the SARIF schema comes from the npm registry on a fresh machine
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


def test_sarif_names_no_made_up_home_page(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ortfix has no public home yet: the SARIF driver and its rules carry no informationUri or helpUri."""
    _, out, _ = run(capsys, "scan", str(project), "--format", "sarif")
    driver = json.loads(out)["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver and driver["rules"]
    assert all("helpUri" not in rule and rule["shortDescription"]["text"] for rule in driver["rules"])


@pytest.mark.npm  # the SARIF schema comes from the npm registry on a fresh machine
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


def ortfix(*args: str, **options) -> subprocess.CompletedProcess:
    """The installed console script, its output block-buffered as when piped (the suite may set PYTHONUNBUFFERED)."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    return subprocess.run([ORTFIX, *args], env=env, timeout=120, **options)


def test_the_console_script_is_installed(project: Path) -> None:
    """`ortfix` on PATH runs the same command (the README's quick start)."""
    result = ortfix("scan", str(project), capture_output=True, text=True)
    assert result.returncode == 1
    assert "jsep-import" in result.stdout


def test_the_console_script_leaves_nothing_unwritten(tmp_path: Path) -> None:
    """`ortfix scan` ends without the interpreter's teardown: its whole report and every fixed file are out first.

    The tree is larger than a batch, so worker processes scan it.
    """
    for i in range(1200):
        source = f"import * as ort from 'onnxruntime-web';\nexport const s{i} = (u) => ort.InferenceSession.create(u, "
        (tmp_path / f"m{i}.js").write_text(source + "{ executionProviders: ['webgpu'] });\n")
    result = ortfix("scan", str(tmp_path), "--format", "json", capture_output=True)
    assert result.returncode == 1
    assert len(json.loads(result.stdout)["findings"]) == 1200
    one = ortfix("scan", str(tmp_path / "m0.js"), capture_output=True, text=True)  # a report smaller than a buffer
    assert one.returncode == 1 and "m0.js:1:" in one.stdout and one.stdout.endswith("\n")
    fixed = ortfix("scan", str(tmp_path), "--fix", capture_output=True, text=True)
    assert fixed.returncode == 0
    assert fixed.stderr.count("fixed") == 1200
    assert all("'onnxruntime-web/webgpu'" in (tmp_path / f"m{i}.js").read_text() for i in range(1200))


def test_a_report_that_cannot_be_written_is_a_failure(tmp_path: Path) -> None:
    """`ortfix scan > /dev/full`: the flush before the quick exit fails, and the exit code says so."""
    (tmp_path / "a.js").write_text("export const a = 1;\n")
    with open("/dev/full", "w") as full:
        result = ortfix("scan", str(tmp_path), stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 120
    assert b"could not be written" in result.stderr


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


def test_scan_help_loads_no_grammar() -> None:
    """`ortfix scan --help` answers without importing a tree-sitter grammar (they load on the first parse)."""
    code = (
        "import sys\nfrom bot.cli.commands import main\nmain(['scan', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('tree_sitter_')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "--fix" in result.stdout
    assert result.stdout.rstrip().endswith("[]")


# --- a careful user's expectations ---------------------------------------------------------------------------

SETPRIV = shutil.which("setpriv")


def run_unprivileged(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`ortfix` in a process that file permissions apply to: as root, without the capabilities that bypass them."""
    command = [sys.executable, "-m", "bot.cli", *args]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        assert SETPRIV, "setpriv (util-linux) is needed to drop root's permission overrides"
        command = [SETPRIV, "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    """`ortfix --version` prints the installed version and exits 0."""
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"ortfix {formats.version()}"


def test_every_option_has_help() -> None:
    """Each argument of each command explains itself in --help, --format included."""
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in commands.choices.items():
        for action in command._actions:
            assert action.help, f"ortfix {name} {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize("value", ["0", "-5"])
def test_max_bytes_must_be_positive(value: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A cap of zero or less would skip every file: it is a usage error."""
    code, _, err = run(capsys, "scan", str(project), "--max-bytes", value)
    assert code == 2 and "positive" in err


def test_several_paths_are_shown_relative_to_the_current_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two roots with the same src/app.ts: each finding names its own, in text and in JSON."""
    for name in ("one", "two"):
        shutil.copytree(CORPUS / "locked-old", tmp_path / name)
    monkeypatch.chdir(tmp_path)
    _, out, _ = run(capsys, "scan", "one", "two", "--format", "json")
    assert [f["path"] for f in json.loads(out)["findings"]] == [
        "one/package.json",
        "one/src/app.ts",
        "two/package.json",
        "two/src/app.ts",
    ]
    _, out, _ = run(capsys, "scan", "one", str(tmp_path / "two"))
    assert [line.split(":")[0] for line in out.splitlines() if ": error: " in line] == [
        "one/package.json",
        "one/src/app.ts",
        "two/package.json",
        "two/src/app.ts",
    ]


def test_a_path_inside_another_counts_its_files_once(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`scan . src src/app.ts`: every file is scanned, reported and counted once."""
    _, whole, _ = run(capsys, "scan", str(project), "--format", "json")
    _, overlapping, _ = run(
        capsys, "scan", str(project), str(project / "src"), str(project / "src/app.ts"), "--format", "json"
    )
    assert len(json.loads(overlapping)["findings"]) == len(json.loads(whole)["findings"]) == 2
    assert json.loads(overlapping)["summary"] == json.loads(whole)["summary"]


def test_pre_commit_file_arguments_report_like_a_directory_scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files passed one by one (as pre-commit does): the package.json finding once, and the same mixed-entry."""
    root = tmp_path / "mixed"
    shutil.copytree(CORPUS / "transformers-4-mixed", root)
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
    _, out, _ = run(capsys, "scan", *files, "--format", "json")
    _, directory, _ = run(capsys, "scan", ".", "--format", "json")
    found = [(f["path"], f["line"], f["rule"]) for f in json.loads(out)["findings"]]
    assert found == [(f["path"], f["line"], f["rule"]) for f in json.loads(directory)["findings"]]
    assert ("package.json", 3, "wrapper-version") in found and ("src/app.js", 2, "mixed-entry") in found


def test_a_malformed_package_json_is_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON error and its line, in the text and in the JSON notes; the exit code stays that of the findings."""
    (tmp_path / "package.json").write_text('{\n  "name": "x"\n  "dependencies": {}\n}\n')
    code, out, _ = run(capsys, "scan", str(tmp_path))
    note = "package.json: not read as a package.json (Expecting ',' delimiter at line 3, column 3)"
    assert code == 0 and f"ortfix: note: {note}" in out.splitlines()
    code, out, _ = run(capsys, "scan", str(tmp_path), "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["notes"] == [note]


def test_an_unreadable_directory_is_a_note(project: Path) -> None:
    """A directory the scan may not list is named in the notes, and the rest is still scanned."""
    locked = project / "vendor"
    locked.mkdir()
    locked.chmod(0)
    try:
        result = run_unprivileged("scan", str(project), "--format", "json", cwd=Path.cwd())
    finally:
        locked.chmod(0o755)
    document = json.loads(result.stdout)
    assert result.returncode == 1 and len(document["findings"]) == 2
    assert document["summary"]["notes"] == ["vendor/: not read (Permission denied)"]


# --- --fix: all or nothing ---------------------------------------------------------------------------------


def test_fix_prints_the_files_it_changed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After the report, on stderr (stdout stays the report), each changed file once, then the command to run.

    What is left is the lockfile, which still installs the old release until the package manager runs.
    """
    _, out, err = run(capsys, "scan", str(project), "--fix", "--format", "json")
    (left,) = json.loads(out)["findings"]
    assert left["rule"] == "lockfile-version"
    changed = [str(Path(os.path.relpath(project / name))) for name in ("package.json", "src/app.ts")]
    assert err.splitlines() == [
        *(f"ortfix: fixed {Path(p).as_posix()}" for p in changed),
        f"ortfix: then run `npm install` beside {left['path']}: the lockfile still installs the old release",
    ]


def test_fix_fixes_two_loads_on_one_line_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The passes of edits.fix_texts: both loads on the line are switched by one --fix."""
    shutil.copytree(CORPUS / "locked-old", tmp_path / "p")
    app = tmp_path / "p/src/two.js"
    app.write_text("import a from 'onnxruntime-web'; import b from 'onnxruntime-web/all';\n")
    run(capsys, "scan", str(tmp_path / "p"), "--fix")
    assert app.read_text() == "import a from 'onnxruntime-web/webgpu'; import b from 'onnxruntime-web/webgpu';\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_read_only_file_leaves_every_file_as_it_was(project: Path) -> None:
    """src/app.ts may not be written: package.json (written first) is put back, exit 2 names the file."""
    (project / "src/app.ts").chmod(0o444)
    before = snapshot(project)
    result = run_unprivileged("scan", str(project), "--fix", cwd=project)
    assert result.returncode == 2
    assert result.stderr.strip() == "ortfix: src/app.ts: not written (the file is read-only); no file was changed"
    assert snapshot(project) == before


def test_a_full_disk_leaves_every_file_as_it_was(project: Path) -> None:
    """A write that fails midway (here: over the file-size limit) undoes the files already written."""
    import resource

    big = project / "src/app.ts"
    big.write_bytes(big.read_bytes() + b"// padding\n" * 150_000)  # 1.6 MB, over the limit below
    before = snapshot(project)

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "scan", ".", "--fix", "--max-bytes", "5000000"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project,
        preexec_fn=limit_file_size,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "ortfix: src/app.ts: not written (File too large); no file was changed"
    assert snapshot(project) == before
