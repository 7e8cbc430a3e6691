"""Specifiers and CDN URLs: which entry they load, and their native rewrite."""

from __future__ import annotations

import nodesemver
import pytest

from bot.core.detector.specifiers import Target, classify, prefix_version, rewrite

JSD = "https://cdn.jsdelivr.net/npm/onnxruntime-web"


@pytest.mark.parametrize(
    ("spec", "entry", "version", "native"),
    [
        ("onnxruntime-web", ".", None, "onnxruntime-web/webgpu"),
        ("onnxruntime-web/all", "./all", None, "onnxruntime-web/webgpu"),
        ("onnxruntime-web/experimental", "./experimental", None, "onnxruntime-web/webgpu"),
        (f"{JSD}@1.20.1/dist/ort.min.js", ".", "1.20.1", f"{JSD}@1.30.0/dist/ort.webgpu.min.js"),
        (f"{JSD}/dist/ort.all.min.js", "./all", None, f"{JSD}/dist/ort.webgpu.min.js"),
        (
            f"{JSD}@1.26.0/dist/ort.all.bundle.min.mjs",
            "./all",
            "1.26.0",
            f"{JSD}@1.26.0/dist/ort.webgpu.bundle.min.mjs",
        ),
        (f"{JSD}@1.26.0/dist/ort.min.mjs", ".", "1.26.0", f"{JSD}@1.26.0/dist/ort.webgpu.min.mjs"),
        (f"{JSD}@1.26.0/dist/ort.js", ".", "1.26.0", f"{JSD}@1.26.0/dist/ort.webgpu.js"),
        (f"{JSD}@1.22.0", ".", "1.22.0", f"{JSD}@1.30.0/dist/ort.webgpu.min.js"),
        (f"{JSD}@1.9.0/dist/ort.min.js", ".", "1.9.0", f"{JSD}@1.30.0/dist/ort.webgpu.min.js"),  # 1.9 < 1.23
        (f"{JSD}@1.26.0/+esm", ".", "1.26.0", f"{JSD}@1.26.0/dist/ort.webgpu.bundle.min.mjs"),
        (f"{JSD}@1.18.0/dist/esm/ort.min.js", ".", "1.18.0", f"{JSD}@1.30.0/dist/ort.webgpu.min.mjs"),
        ("https://unpkg.com/onnxruntime-web", ".", None, "https://unpkg.com/onnxruntime-web/dist/ort.webgpu.min.js"),
        (
            "https://esm.sh/onnxruntime-web@1.26.0?bundle",
            ".",
            "1.26.0",
            "https://esm.sh/onnxruntime-web@1.26.0/webgpu?bundle",
        ),
        ("https://cdn.skypack.dev/onnxruntime-web", ".", None, "https://cdn.skypack.dev/onnxruntime-web/webgpu"),
        (
            "https://cdnjs.cloudflare.com/ajax/libs/onnxruntime-web/1.20.1/ort.min.js",
            ".",
            "1.20.1",
            "https://cdnjs.cloudflare.com/ajax/libs/onnxruntime-web/1.30.0/ort.webgpu.min.js",
        ),
        (f"{JSD}@1.26.0/all/+esm", "./all", "1.26.0", f"{JSD}@1.26.0/dist/ort.webgpu.bundle.min.mjs"),
        (f"{JSD}@1.26.0/all", "./all", "1.26.0", f"{JSD}@1.26.0/dist/ort.webgpu.min.js"),
        (
            "https://esm.sh/onnxruntime-web@1.26.0/all",
            "./all",
            "1.26.0",
            "https://esm.sh/onnxruntime-web@1.26.0/webgpu",
        ),
        (
            "/node_modules/onnxruntime-web/dist/ort.bundle.min.mjs",
            ".",
            None,
            "/node_modules/onnxruntime-web/dist/ort.webgpu.bundle.min.mjs",
        ),
    ],
)
def test_jsep_entries_are_classified_and_rewritten(spec: str, entry: str, version: str | None, native: str) -> None:
    """The entry and pinned version are read; the rewrite loads ./webgpu and raises a pre-1.23 pin."""
    target = classify(spec)
    assert target is not None
    assert target == Target(entry, spec.startswith(("http", "/")), version)
    old = version is not None and nodesemver.lt(version, "1.23.0", loose=False)
    assert rewrite(spec, "./webgpu", "1.30.0" if old else None) == native


@pytest.mark.parametrize(
    "spec",
    [
        "onnxruntime-web-foo",
        "onnxruntime-webgpu",
        "onnxruntime-node",
        "onnxruntime-common",
        "onnxruntime-web/dist/ort.min.js",
        f"{JSD}-extra@1.0.0/dist/ort.min.js",
        f"{JSD}@1.22.0/dist/ort-wasm-simd-threaded.jsep.wasm",
        "https://example.com/ort.min.js",
        "./local.js",
        "../node_modules/onnxruntime-web",  # a folder, not a file that loads
    ],
)
def test_other_specifiers_are_not_onnxruntime_web_entries(spec: str) -> None:
    """Look-alikes, sibling packages, wasm assets and unrelated URLs load no entry."""
    assert classify(spec) is None


@pytest.mark.parametrize("sub", ["wasm", "webgl", "webgpu", "jspi"])
def test_subpath_entries_keep_their_name(sub: str) -> None:
    """Every documented subpath is recognised as itself."""
    target = classify(f"onnxruntime-web/{sub}")
    assert target == Target(f"./{sub}", is_url=False)


def test_a_specifier_is_rewritten_back_to_the_bare_entry() -> None:
    assert rewrite("onnxruntime-web/webgpu", ".") == "onnxruntime-web"
    assert rewrite("onnxruntime-web", "./all") == "onnxruntime-web/all"


@pytest.mark.parametrize(
    "spec", ["ort", "./local.js", "onnxruntime-web-foo/dist/ort.min.js", "https://example.com/ort.min.js"]
)
def test_a_spec_that_names_no_entry_has_no_rewrite(spec: str) -> None:
    """Another package, a local file or an unrelated URL: nothing to point at onnxruntime-web's native entry."""
    assert rewrite(spec, "./webgpu") is None


def test_a_wasm_paths_prefix_pins_the_version_it_names() -> None:
    assert prefix_version(f"{JSD}@1.22.0/dist/") == "1.22.0"
    assert prefix_version(f"{JSD}/dist/") is None
    assert prefix_version("https://example.com/wasm/") is None
