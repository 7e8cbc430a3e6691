"""Lockfiles: each format answers the onnxruntime-web version a package installs."""

from __future__ import annotations

import json

import pytest

from bot.core.detector import scan_files
from bot.core.detector.lockfiles import resolved_version

NPM_V3 = """{
  "lockfileVersion": 3,
  "packages": {
    "": {"workspaces": ["apps/*"]},
    "node_modules/onnxruntime-web": {"version": "1.22.0"},
    "apps/web/node_modules/onnxruntime-web": {"version": "1.30.0"},
    "node_modules/@huggingface/transformers/node_modules/onnxruntime-web": {"version": "1.22.0-dev.20250409-89f8206ba4"}
  }
}"""
NPM_V1 = '{"lockfileVersion": 1, "dependencies": {"onnxruntime-web": {"version": "1.20.1"}}}'
YARN_CLASSIC = """# yarn lockfile v1


"onnxruntime-web@^1.20.0", onnxruntime-web@~1.20.1:
  version "1.20.1"
  resolved "https://registry.yarnpkg.com/onnxruntime-web/-/onnxruntime-web-1.20.1.tgz"

onnxruntime-web@^1.30.0:
  version "1.30.0"
"""
YARN_BERRY = """__metadata:
  version: 8
  cacheKey: 10c0

"onnxruntime-web@npm:^1.21.0":
  version: 1.21.1
  resolution: "onnxruntime-web@npm:1.21.1"
"""
PNPM_V9 = """lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      onnxruntime-web:
        specifier: ^1.22.0
        version: 1.22.0
  packages/app:
    dependencies:
      onnxruntime-web:
        specifier: ^1.30.0
        version: 1.30.0(typescript@5.4.0)
"""
PNPM_V5 = """lockfileVersion: 5.4
specifiers:
  onnxruntime-web: ^1.21.0
dependencies:
  onnxruntime-web: 1.21.1
"""
BUN = """{
  "lockfileVersion": 1,
  "workspaces": { "": { "dependencies": { "onnxruntime-web": "^1.22.0", }, }, },
  "packages": {
    "onnxruntime-web": ["onnxruntime-web@1.22.0", "", { "dependencies": {} }, "sha512-x"],
  },
}"""


@pytest.mark.parametrize(
    ("name", "text", "package_dir", "declared", "version"),
    [
        ("package-lock.json", NPM_V3, "", "^1.22.0", "1.22.0"),
        ("package-lock.json", NPM_V3, "apps/web", "^1.30.0", "1.30.0"),
        ("package-lock.json", NPM_V3, "apps/docs", "^1.22.0", "1.22.0"),  # hoisted to the root
        ("npm-shrinkwrap.json", NPM_V1, "", "^1.20.0", "1.20.1"),
        ("yarn.lock", YARN_CLASSIC, "", "~1.20.1", "1.20.1"),
        ("yarn.lock", YARN_CLASSIC, "", "^1.30.0", "1.30.0"),
        ("yarn.lock", YARN_BERRY, "", "^1.21.0", "1.21.1"),
        ("pnpm-lock.yaml", PNPM_V9, "", "^1.22.0", "1.22.0"),
        ("pnpm-lock.yaml", PNPM_V9, "packages/app", "^1.30.0", "1.30.0"),
        ("pnpm-lock.yaml", PNPM_V5, "", "^1.21.0", "1.21.1"),
        ("bun.lock", BUN, "", "^1.22.0", "1.22.0"),
    ],
)
def test_each_lockfile_format_resolves_the_installed_version(
    name: str, text: str, package_dir: str, declared: str, version: str
) -> None:
    """The version the lockfile installs for that package directory."""
    assert resolved_version(name, text, package_dir, declared) == version


@pytest.mark.parametrize("name", ["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock"])
@pytest.mark.parametrize("text", ["", "{not json", "- [unclosed", "null", "[]", "\x00\x01"])
def test_a_broken_lockfile_answers_none(name: str, text: str) -> None:
    """A lockfile that cannot be read gives no version and no exception."""
    assert resolved_version(name, text, "", "^1.22.0") is None


def test_yarn_with_two_versions_and_no_matching_descriptor_is_unknown() -> None:
    """Two candidate versions and no exact descriptor: no guess."""
    assert resolved_version("yarn.lock", YARN_CLASSIC, "", "*") is None


@pytest.mark.parametrize("version", ["1.20`x", "@org/team", "latest", "1.22", "", "1.22.0 <script>"])
def test_a_version_that_is_not_semver_says_nothing(version: str) -> None:
    """A lockfile is repository text: a version that is not semver is no version, and the scan goes on."""
    lock = json.dumps({"packages": {"node_modules/onnxruntime-web": {"version": version}}})
    assert resolved_version("package-lock.json", lock, "", "^1.20.0") is None
    report = scan_files(
        [
            ("package.json", b'{"dependencies": {"onnxruntime-web": "^1.20.0"}}'),
            ("package-lock.json", lock.encode()),
            ("src/a.js", b"import * as ort from 'onnxruntime-web';\nort.env.x = ['webgpu'];\n"),
        ]
    )
    assert "jsep-import" in {f.rule for f in report.findings}
