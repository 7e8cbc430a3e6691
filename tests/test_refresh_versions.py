"""`ortfix refresh-versions`: the table re-measured from a recorded packument and synthetic tarballs."""

from __future__ import annotations

import copy
import io
import json
import re
import tarfile
from pathlib import Path

import pytest
import responses

from bot.cli.commands import main
from bot.cli.refresh_versions import REGISTRY_URL, build_eras, classify_bundle, entry_files, refresh, tarball_files
from bot.core.detector import scan_files
from bot.core.versions import JSEP, NATIVE, NONE, in_range, parse_table
from tests.conftest import TESTS

SHIPPED = json.loads((Path(__file__).parents[1] / "bot/data/onnxruntime-web.json").read_text())
RECORDED = json.loads((TESTS / "samples/registry/onnxruntime-web.packument.json").read_text())
FUTURE = "2.0.0"
FUTURE_EXPORTS = {
    ".": {"import": {"default": "./dist/ort.bundle.min.mjs"}, "require": "./dist/ort.min.js"},
    "./jsep": {"import": {"default": "./dist/ort.jsep.bundle.min.mjs"}},
    "./webgpu": {"import": {"default": "./dist/ort.webgpu.bundle.min.mjs"}},
    "./ort-wasm-simd-threaded.jsep.wasm": "./dist/ort-wasm-simd-threaded.jsep.wasm",
    "./package.json": "./package.json",
}
TARBALL = re.compile(re.escape(REGISTRY_URL) + r"/onnxruntime-web/-/onnxruntime-web-(?P<version>.+)\.tgz")


def packument_with_future() -> dict:
    packument = copy.deepcopy(RECORDED)
    packument["versions"][FUTURE] = {
        "name": "onnxruntime-web",
        "version": FUTURE,
        "exports": FUTURE_EXPORTS,
        "dist": {"tarball": f"{REGISTRY_URL}/onnxruntime-web/-/onnxruntime-web-{FUTURE}.tgz"},
    }
    packument["dist-tags"]["latest"] = FUTURE
    return packument


def make_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def bundle_for(version: str, entry: str) -> bytes:
    """What a bundle of that entry loads, per the measured facts (and the planned flip in 2.0.0)."""
    if version == FUTURE:
        wasm = {".": "asyncify", "./jsep": "jsep", "./webgpu": "asyncify"}[entry]
    elif (entry == "." and in_range(version, "<1.21.0-0")) or entry in (
        "./wasm",
        "./webgl",
        "./wasm-core",
        "./training",
    ):
        wasm = ""
    elif (entry == "./webgpu" and in_range(version, ">=1.23.0-0")) or entry == "./jspi":
        wasm = "asyncify"
    else:
        wasm = "jsep"
    name = f"ort-wasm-simd-threaded.{wasm}.mjs" if wasm else "ort-wasm-simd-threaded.mjs"
    return f'var a=1;import("./{name}");export{{a}};'.encode()


def tarball_callback(packument: dict):
    def callback(request):
        version = TARBALL.match(request.url)["version"]
        files = entry_files(packument["versions"][version])
        return 200, {}, make_tarball({file: bundle_for(version, entry) for entry, file in files.items()})

    return callback


def mock_registry(packument: dict) -> None:
    responses.add(responses.GET, f"{REGISTRY_URL}/onnxruntime-web", json=packument)
    responses.add_callback(responses.GET, TARBALL, callback=tarball_callback(packument))


@responses.activate
def test_only_unclassified_versions_are_downloaded() -> None:
    """Versions already in the table cost no tarball; the new ones are fetched once each."""
    packument = packument_with_future()
    mock_registry(packument)
    from bot.cli.refresh_versions import http_fetchers

    table, _ = refresh(SHIPPED, *http_fetchers())
    fetched = [call.request.url for call in responses.calls if call.request.url.endswith(".tgz")]
    expected = [v for v in packument["versions"] if v not in SHIPPED["classified"]]
    assert sorted(TARBALL.match(url)["version"] for url in fetched) == sorted(expected)
    assert set(table["classified"]) == set(packument["versions"])


@responses.activate
def test_the_planned_flip_is_noticed_and_followed() -> None:
    """A future version whose `.` is native and that adds `./jsep`: bare imports stop, `/jsep` imports start."""
    from bot.cli.refresh_versions import http_fetchers

    mock_registry(packument_with_future())
    table, news = refresh(SHIPPED, *http_fetchers())
    assert table["classified"][FUTURE] == {".": NATIVE, "./jsep": JSEP, "./webgpu": NATIVE}
    assert table["eras"][-1]["versions"] == ">=2.0.0"
    assert table["latest"] == FUTURE
    assert any("the bare entry is native" in line and "onnxruntime-web/jsep" in line for line in news)
    future = parse_table(table)
    use = b"export const o = { executionProviders: ['webgpu'] };\n"
    manifest = b'{"dependencies": {"onnxruntime-web": "^2.0.0"}}'
    files = [
        ("package.json", manifest),
        ("a.js", b"import * as ort from 'onnxruntime-web';\n"),
        ("b.js", b"import * as old from 'onnxruntime-web/jsep';\n"),
        ("use.js", use),
    ]
    report = scan_files(files, versions=future)
    assert [(f.path, f.rule, f.replacement) for f in report.findings if f.rule == "jsep-import"] == [
        ("b.js", "jsep-import", "import * as old from 'onnxruntime-web/webgpu';")
    ]


@responses.activate
def test_dev_builds_between_measured_ones_are_classified_from_their_bundles() -> None:
    """A 1.21 dev build, unmeasured before, gets the backends its bundles show."""
    from bot.cli.refresh_versions import http_fetchers

    mock_registry(RECORDED)
    current = copy.deepcopy(SHIPPED)
    del current["classified"]["1.21.0-dev.20241205-d27fecd3d3"]
    table, news = refresh(current, *http_fetchers())
    assert table["classified"]["1.21.0-dev.20241205-d27fecd3d3"]["."] == JSEP
    assert any(line.startswith("1.21.0-dev.20241205-d27fecd3d3: ") for line in news)
    assert parse_table(table).backend(".", "1.21.0-dev.20241205-d27fecd3d3") == JSEP


def test_the_shipped_table_is_what_its_own_classification_gives() -> None:
    """The eras in the data file are exactly those rebuilt from its classified versions."""
    assert SHIPPED["eras"] == build_eras(SHIPPED["classified"])


@pytest.mark.parametrize(
    ("bundle", "backend"),
    [
        (b'import("./ort-wasm-simd-threaded.jsep.mjs")', JSEP),
        (b"Module.jsepInit(", NONE),  # glue alone, no JSEP wasm loaded (1.15)
        (b'new URL("ort-wasm-simd-threaded.asyncify.wasm")', NATIVE),
        (b'"ort-wasm-simd-threaded.jspi.mjs"', NATIVE),
        (b'"ort-wasm-simd-threaded.mjs"', NONE),
    ],
)
def test_a_bundle_is_classified_by_the_wasm_it_loads(bundle: bytes, backend: str) -> None:
    """`.jsep.` means JSEP, `.asyncify.`/`.jspi.` native, neither no WebGPU."""
    assert classify_bundle(bundle) == backend


def test_entry_files_take_the_browser_import_and_skip_assets() -> None:
    """The `import.default` condition wins; wasm and package.json exports are not entries."""
    assert entry_files({"exports": FUTURE_EXPORTS}) == {
        ".": "dist/ort.bundle.min.mjs",
        "./jsep": "dist/ort.jsep.bundle.min.mjs",
        "./webgpu": "dist/ort.webgpu.bundle.min.mjs",
    }
    assert entry_files({"browser": "dist/ort-web.min.js"}) == {".": "dist/ort-web.min.js"}


def test_tarball_files_reads_only_what_is_asked() -> None:
    """Members sit under package/; other files are not returned."""
    tarball = make_tarball({"dist/a.mjs": b"A", "dist/b.mjs": b"B"})
    assert tarball_files(tarball, ["dist/a.mjs"]) == {"dist/a.mjs": b"A"}


@responses.activate
def test_the_command_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ortfix refresh-versions --table F` rewrites F; --dry-run writes nothing."""
    mock_registry(packument_with_future())
    table_file = tmp_path / "table.json"
    table_file.write_text(json.dumps(SHIPPED))
    assert main(["refresh-versions", "--table", str(table_file), "--dry-run"]) == 0
    assert json.loads(table_file.read_text()) == SHIPPED
    assert main(["refresh-versions", "--table", str(table_file), "--limit", "1"]) == 0
    written = json.loads(table_file.read_text())
    assert len(written["classified"]) == len(SHIPPED["classified"]) + 1
    assert "versions classified" in capsys.readouterr().out


@responses.activate
def test_a_registry_error_is_a_clear_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 503 from the registry exits 1 with the reason and leaves the table alone."""
    responses.add(responses.GET, f"{REGISTRY_URL}/onnxruntime-web", status=503)
    table_file = tmp_path / "table.json"
    table_file.write_text(json.dumps(SHIPPED))
    assert main(["refresh-versions", "--table", str(table_file)]) == 1
    assert "the npm registry did not answer" in capsys.readouterr().err
    assert json.loads(table_file.read_text()) == SHIPPED
