"""package.json: every place that gives onnxruntime-web a range, on its own line."""

from __future__ import annotations

from bot.core.detector.manifests import names_package, parse_manifest

MANIFEST = b"""{
  "dependencies": {
    "onnxruntime-web": "^1.20.1",
    "ort-alias": "npm:onnxruntime-web@1.21.0",
    "onnxruntime-web-foo": "1.0.0"
  },
  "peerDependencies": { "onnxruntime-web": ">=1.18.0 <2" },
  "overrides": {
    "@huggingface/transformers": { "onnxruntime-web": "1.22.0" },
    "onnxruntime-web": { ".": "1.21.1" },
    "other": "$onnxruntime-web"
  },
  "resolutions": { "**/onnxruntime-web": "1.22.0" },
  "pnpm": { "overrides": { "onnxruntime-web@<1.23": "1.30.0" } }
}
"""


def test_every_range_is_found_with_its_line_and_span() -> None:
    """Dependencies, aliases, nested npm overrides, yarn resolutions and pnpm overrides are all read."""
    manifest = parse_manifest("web/package.json", MANIFEST)
    assert manifest is not None
    found = [(r.row + 1, r.field, r.range, r.line[r.start : r.end].decode()) for r in manifest.ranges]
    assert found == [
        (3, "dependencies", "^1.20.1", "^1.20.1"),
        (4, "dependencies", "1.21.0", "1.21.0"),
        (7, "peerDependencies", ">=1.18.0 <2", ">=1.18.0 <2"),
        (9, "overrides", "1.22.0", "1.22.0"),
        (10, "overrides", "1.21.1", "1.21.1"),
        (13, "resolutions", "1.22.0", "1.22.0"),
        (14, "pnpm.overrides", "1.30.0", "1.30.0"),
    ]
    assert [r.range for r in manifest.declared] == ["^1.20.1", "1.21.0", ">=1.18.0 <2"]
    assert manifest.dir == "web"
    assert manifest.dependencies["onnxruntime-web-foo"] == "1.0.0"


def test_a_broken_manifest_is_none() -> None:
    """Malformed JSON or a non-object gives no manifest."""
    assert parse_manifest("package.json", b"{oops") is None
    assert parse_manifest("package.json", b"[1]") is None
    assert parse_manifest("package.json", b"\xff\xfe") is None


def test_override_keys_that_target_the_package() -> None:
    """Selector syntax of npm, yarn and pnpm all name onnxruntime-web; look-alikes do not."""
    assert names_package("onnxruntime-web")
    assert names_package("**/onnxruntime-web")
    assert names_package("@huggingface/transformers/onnxruntime-web")
    assert names_package("parent>onnxruntime-web")
    assert names_package("onnxruntime-web@<1.23")
    assert not names_package("onnxruntime-web-foo")
    assert not names_package("@scope/onnxruntime-web-foo")
