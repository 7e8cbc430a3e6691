"""package.json: every place that gives onnxruntime-web a range, on its own line."""

from __future__ import annotations

import pytest

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


def test_override_keys_that_name_another_package() -> None:
    """A scoped package of the same last name, or one under a glob, is another package."""
    assert names_package("parent/onnxruntime-web")  # yarn's resolution under a parent
    assert not names_package("@scope/onnxruntime-web")
    assert not names_package("**/@scope/onnxruntime-web")


SCOPED = b"""{
  "overrides": { "@huggingface/transformers": { "onnxruntime-web": "1.22.0" } },
  "resolutions": {
    "**/onnxruntime-web": "1.22.1",
    "@huggingface/transformers/onnxruntime-web": "1.22.2",
    "**/parent/onnxruntime-web": "1.22.3",
    "@x/onnxruntime-web-helper/onnxruntime-web": "1.22.4",
    "**/**/deep/onnxruntime-web": "1.22.7"
  },
  "pnpm": { "overrides": { "a>onnxruntime-web": "1.22.5", "a>b>onnxruntime-web": "1.22.6" } }
}
"""


def test_an_override_is_scoped_to_the_package_it_names() -> None:
    """Each selector syntax says under which package the override applies ('' for everywhere)."""
    manifest = parse_manifest("package.json", SCOPED)
    assert manifest is not None
    assert [(r.range, r.parent) for r in manifest.ranges] == [
        ("1.22.0", "@huggingface/transformers"),
        ("1.22.1", ""),
        ("1.22.2", "@huggingface/transformers"),
        ("1.22.3", "parent"),
        ("1.22.4", "@x/onnxruntime-web-helper"),
        ("1.22.7", "deep"),
        ("1.22.5", "a"),
        ("1.22.6", "b"),
    ]


def test_an_imports_alias_loads_what_a_browser_build_resolves() -> None:
    """The first browser condition, nested or not, is the entry; a node-only alias loads nothing in a browser."""
    manifest = parse_manifest(
        "package.json",
        b'{\r\n  "imports": {\r\n'
        b'    "#ort": { "node": "onnxruntime-node", "browser": { "import": "onnxruntime-web" } },\r\n'
        b'    "#server": { "node": "onnxruntime-web" },\r\n'
        b'    "#n": { "browser": 5 },\r\n'
        b'    "ort": "onnxruntime-web"\r\n'
        b"  },\r\n"
        b'  "overrides": { "react": { ".": "18.0.0" } }\r\n}\r\n',
    )
    assert manifest is not None
    assert [(a.row, a.value, a.line.decode()) for a in manifest.aliases] == [
        (
            2,
            "onnxruntime-web",
            '    "#ort": { "node": "onnxruntime-node", "browser": { "import": "onnxruntime-web" } },',
        )
    ]
    assert manifest.ranges == ()  # "." under another package overrides that package, not onnxruntime-web


def test_a_manifest_without_the_package_has_no_ranges_and_no_aliases() -> None:
    manifest = parse_manifest("package.json", b'{"dependencies": {"react": "^18.0.0"}}')
    assert manifest is not None
    assert (manifest.ranges, manifest.aliases, manifest.dependencies) == ((), (), {"react": "^18.0.0"})


@pytest.mark.parametrize(
    "workspaces",
    [
        '["./packages/*/", "apps/ProjectX", 7]',
        '{"packages": ["./packages/*/", "apps/ProjectX"], "nohoist": ["**/x"]}',
    ],
    ids=["npm list", "yarn classic object"],
)
def test_workspace_globs_are_read_without_their_dot_slash_and_trailing_slash(workspaces: str) -> None:
    manifest = parse_manifest("package.json", f'{{"workspaces": {workspaces}}}'.encode())
    assert manifest is not None and manifest.workspaces == ("packages/*", "apps/ProjectX")


CRLF_MANIFEST = (
    b'{\r\n  "dependencies": {\r\n'
    b'    "onnxruntime-web": "^1.20.1",\r\n'
    b'    "tf": "npm:@huggingface/transformers@3.0.0"\r\n'
    b"  },\r\n"
    b'  "overrides": { "onnxruntime-web": "$onnxruntime-web" }\r\n}\r\n'
)


def test_a_crlf_manifest_s_ranges_keep_their_line_without_its_cr() -> None:
    """A scoped npm: alias names its real package; npm's `$onnxruntime-web` reference is not a range of its own."""
    manifest = parse_manifest("package.json", CRLF_MANIFEST, wrappers=("@huggingface/transformers",))
    assert manifest is not None
    found = [(r.row, r.name, r.range, r.line[r.start : r.end], r.line, r.parent) for r in manifest.ranges]
    assert found == [
        (2, "onnxruntime-web", "^1.20.1", b"^1.20.1", b'    "onnxruntime-web": "^1.20.1",', ""),
        (
            3,
            "@huggingface/transformers",
            "3.0.0",
            b"3.0.0",
            b'    "tf": "npm:@huggingface/transformers@3.0.0"',
            "",
        ),
    ]


def test_an_npm_alias_of_a_wrapper_is_tracked_in_a_manifest_that_never_names_onnxruntime_web() -> None:
    """Only the alias's value names the wrapper: the manifest is still read for its range."""
    manifest = parse_manifest(
        "package.json", b'{"dependencies": {"tts": "npm:kokoro-js@^1.2.0"}}', wrappers=("kokoro-js",)
    )
    assert manifest is not None
    assert [(r.name, r.range) for r in manifest.ranges] == [("kokoro-js", "^1.2.0")]
