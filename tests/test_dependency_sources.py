"""The allow-list that stands between a pull request's manifests and a package manager."""

from __future__ import annotations

import json

import pytest

from bot.core.dependency_sources import allowed_spec, outside_registry

REFUSED_SPECS = [
    "github:attacker/x",
    "attacker/x",
    "attacker/x#main",
    "git://example.com/x.git",
    "git+https://example.com/x.git",
    "git+ssh://git@github.com/attacker/x.git",
    "git+file:///srv/x",
    "https://example.com/x.tgz",
    "http://example.com/x",
    "file:../x",
    "../x",
    "./x.tgz",
    "x.tgz",
    "link:../x",
    "portal:../x",
    "exec:./make.js",
    "npm:x@github:attacker/x",
    "patch:x@github%3Aattacker/x#~builtin<compat/x>",
    "patch:x@npm%3A1.0.0#./patches/x.patch",
    "workspace:../../etc",
    "catalog:",
]
ALLOWED_SPECS = [
    "^1.22.0",
    "~1.2 || >=2.0.0 <3",
    "1.x",
    "*",
    "",
    "latest",
    "next-2",
    "npm:onnxruntime-web@^1.30.0",
    "npm:@scope/pkg@1.0.0",
    "workspace:*",
    "workspace:^",
    "patch:typescript@npm%3A^5.0.0#~builtin<compat/typescript>",
    "$onnxruntime-web",
]


@pytest.mark.parametrize("spec", REFUSED_SPECS)
def test_non_registry_specs_are_refused(spec: str) -> None:
    """git, GitHub shorthands, URLs, paths, link/portal/exec, and patches or aliases wrapping them."""
    assert not allowed_spec(spec)


@pytest.mark.parametrize("spec", ALLOWED_SPECS)
def test_registry_specs_are_allowed(spec: str) -> None:
    """Ranges, dist-tags, npm: aliases, workspace ranges, yarn's built-in patches, npm's `$name` overrides."""
    assert allowed_spec(spec)


def manifest(**fields) -> bytes:
    return json.dumps({"name": "app", "version": "1.0.0", **fields}).encode()


def test_every_dependency_field_and_override_of_every_manifest_is_read() -> None:
    """dependencies of every kind, npm overrides (nested), yarn resolutions and pnpm.overrides, in any manifest."""
    files = {
        "package.json": manifest(
            dependencies={"onnxruntime-web": "^1.30.0", "a": "github:attacker/a"},
            devDependencies={"b": "file:../b"},
            optionalDependencies={"c": "https://example.com/c.tgz"},
            peerDependencies={"d": "link:../d"},
            overrides={"e": {".": "git+https://example.com/e.git", "f": "1.0.0"}},
            resolutions={"**/g": "portal:../g"},
            pnpm={"overrides": {"h": "exec:./h.js"}},
        ),
        "packages/lib/package.json": manifest(dependencies={"i": "attacker/i"}),
    }
    found = outside_registry(files)
    for name in "abcdeghi":
        assert any(line.split(" (")[0].endswith(name) for line in found), name
    assert not any("onnxruntime-web" in line or ": f (" in line for line in found)
    assert any(line.startswith("packages/lib/package.json: i ") for line in found)


def test_a_clean_manifest_and_lockfile_pass() -> None:
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "dependencies": {"onnxruntime-web": "^1.30.0", "lib": "workspace:*"}},
            "node_modules/onnxruntime-web": {
                "version": "1.30.0",
                "resolved": "https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-1.30.0.tgz",
            },
            "node_modules/lib": {"resolved": "packages/lib", "link": True},
        },
    }
    files = {
        "package.json": manifest(dependencies={"onnxruntime-web": "^1.30.0"}),
        "package-lock.json": json.dumps(lock).encode(),
    }
    assert outside_registry(files) == []


def test_package_lock_sources_outside_the_registry() -> None:
    """`resolved` git and tarball URLs, links out of the tree, v1 git versions; another registry configured."""
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "node_modules/x": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/attacker/x.git#abc"},
            "node_modules/y": {"version": "1.0.0", "resolved": "https://evil.example/y-1.0.0.tgz"},
            "node_modules/z": {"resolved": "../../outside", "link": True},
            "node_modules/ok": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/ok/-/ok-1.0.0.tgz"},
        },
        "dependencies": {"w": {"version": "git+file:///srv/w#abc"}},
    }
    found = outside_registry({"package-lock.json": json.dumps(lock).encode()})
    assert sorted(line.split(" (")[0] for line in found) == [f"package-lock.json: {n}" for n in "wxyz"]
    assert len(outside_registry({"package-lock.json": json.dumps(lock).encode()}, "https://npm.internal/")) == 5


YARN_V1 = """# yarn lockfile v1


onnxruntime-web@^1.30.0:
  version "1.30.0"
  resolved "https://registry.yarnpkg.com/onnxruntime-web/-/onnxruntime-web-1.30.0.tgz#abc"

"x@github:attacker/x":
  version "1.0.0"
  resolved "https://codeload.github.com/attacker/x/tar.gz/abc"

"y@file:../y":
  version "1.0.0"
"""

YARN_BERRY = """__metadata:
  version: 8
  cacheKey: 10c0

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  languageName: unknown
  linkType: soft

"onnxruntime-web@npm:^1.30.0":
  version: 1.30.0
  resolution: "onnxruntime-web@npm:1.30.0"
  linkType: hard

"typescript@patch:typescript@npm%3A^5.0.0#optional!builtin<compat/typescript>":
  version: 5.4.0
  resolution: "typescript@patch:typescript@npm%3A5.4.0#optional!builtin<compat/typescript>::version=5.4.0&hash=5adc0c"
  linkType: hard

"x@git+https://example.com/x.git":
  version: 1.0.0
  resolution: "x@git+https://example.com/x.git#commit=abc"
  linkType: hard
"""

PNPM = """lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      onnxruntime-web:
        specifier: ^1.30.0
        version: 1.30.0
      lib:
        specifier: workspace:*
        version: link:packages/lib
      x:
        specifier: github:attacker/x
        version: https://codeload.github.com/attacker/x/tar.gz/abc

packages:

  onnxruntime-web@1.30.0:
    resolution: {integrity: sha512-AAAA}

  t@1.0.0:
    resolution: {tarball: https://evil.example/t-1.0.0.tgz}

  g@git+https://example.com/g.git#abc:
    resolution: {commit: abc, repo: https://example.com/g.git, type: git}

  d@file:../d:
    resolution: {directory: ../d, type: directory}
"""

BUN = """{
  "lockfileVersion": 1,
  "workspaces": {
    "": {
      "name": "app",
      "dependencies": {
        "onnxruntime-web": "^1.30.0",
        "x": "github:attacker/x",
      },
    },
  },
  "packages": {
    "onnxruntime-web": ["onnxruntime-web@1.30.0", "", {}, "sha512-AAAA"],
    "x": ["x@github:attacker/x#abc", {}, "attacker-x-abc"],
  }
}
"""


@pytest.mark.parametrize(
    ("lockfile", "text", "names"),
    [
        ("yarn.lock", YARN_V1, ["x", "x", "y"]),
        ("yarn.lock", YARN_BERRY, ["x", "x"]),
        ("pnpm-lock.yaml", PNPM, ["d", "g", "t", "x"]),
        ("bun.lock", BUN, ["x", "x"]),
    ],
)
def test_lockfile_sources_outside_the_registry(lockfile: str, text: str, names: list[str]) -> None:
    """yarn v1 `resolved`, berry `resolution`, pnpm `resolution`/`specifier`, bun: registry and workspaces pass."""
    found = outside_registry({lockfile: text.encode()})
    assert sorted(line.split(": ", 1)[1].split(" (")[0] for line in found) == names
