"""Lockfiles: each format answers the onnxruntime-web version a package installs."""

from __future__ import annotations

import json

import pytest

from bot.core.detector import scan_files
from bot.core.detector.lockfiles import covers, resolved_version, resolving_row
from bot.core.versions import PACKAGE

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
@pytest.mark.parametrize(
    "text",
    ["", "{not json", "- [unclosed", "null", "[]", "\x00\x01", "}", "onnxruntime-web@^1.22.0:\n  version\n"],
)
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


@pytest.mark.parametrize(
    ("name", "text", "member", "covered"),
    [
        ("yarn.lock", '"app@workspace:packages/app":\n  version: 0.0.0-use.local\n', "packages/app", True),
        ("yarn.lock", "app@workspace:packages/app:\n  version: 0.0.0-use.local\n", "packages/app", True),
        ("yarn.lock", '"app@workspace:packages/app":\n', "packages/ap", False),
        ("yarn.lock", '"app@workspace:packages/app":\n', "packages", False),
        (
            "pnpm-lock.yaml",
            "importers:\n  .:\n    dependencies: {}\n  packages/app:\n    dependencies: {}\n",
            "packages/app",
            True,
        ),
        ("pnpm-lock.yaml", "importers:\n  'packages/app':\n    dependencies: {}\n", "packages/app", True),
        ("pnpm-lock.yaml", "importers:\n  packages/app:\n", "packages/ap", False),
        ("pnpm-lock.yaml", "importers:\n  .:\n    packages/app:\n", "packages/app", False),
        ("pnpm-lock.yaml", "importers:\n  packages/app: {}\n", "packages/app", False),
        ("package-lock.json", '{"packages": {"": {}, "packages/app": {"name": "app"}}}', "packages/app", True),
        ("package-lock.json", '{"packages": {"": {}, "packages/app": {"name": "app"}}}', "packages/web", False),
        ("bun.lock", '{"workspaces": {"": {}, "packages/app": {"name": "app"}}}', "packages/app", True),
    ],
)
def test_a_lockfile_covers_the_workspaces_it_records(name: str, text: str, member: str, covered: bool) -> None:
    """A member the lockfile records as a workspace installs from it; another directory does not."""
    assert covers(name, text, member) is covered


YARN_SCOPED = """# yarn lockfile v1


"@huggingface/transformers@^3.0.0":
  version "3.1.0"
  dependencies:
    onnxruntime-web "1.22.0-dev.20250409-89f8206ba4"

onnxruntime-common@^1.20.0:
  version "1.20.0"
"""


YARN_BARE = """onnxruntime-web@^1.20.0:
  version "1.20.1"

onnxruntime-web@^1.30.0:
  version "1.30.0"
"""
YARN_BERRY_TWO = """"onnxruntime-web@npm:^1.20.0":
  version: 1.20.1

"onnxruntime-web@npm:^1.30.0":
  version: 1.30.0
"""


@pytest.mark.parametrize(
    ("text", "declared", "package", "version"),
    [
        (YARN_CLASSIC, "^1.20.0", PACKAGE, "1.20.1"),  # the first of two descriptors on one line
        (YARN_CLASSIC, "~1.20.0", PACKAGE, "1.20.1"),  # no such descriptor: the one version in range
        (YARN_CLASSIC, "^1.25.0", PACKAGE, "1.30.0"),
        (YARN_CLASSIC, "^2.0.0", PACKAGE, None),  # no version in range
        (YARN_BERRY, None, PACKAGE, "1.21.1"),  # nothing declared: the one version there is
        (YARN_BERRY, "^1.21.0", PACKAGE, "1.21.1"),
        (YARN_SCOPED, "^3.0.0", "@huggingface/transformers", "3.1.0"),  # a scoped name's own "@"
        (YARN_SCOPED, None, PACKAGE, None),  # onnxruntime-common and a dependency line are not it
        # both versions are in ^1.20.0: the descriptor that is the declared range decides
        (YARN_BARE, "^1.20.0", PACKAGE, "1.20.1"),
        (YARN_BARE.replace("^1.20.0:", "^1.20.0:  "), "^1.20.0", PACKAGE, "1.20.1"),  # trailing blanks
        (YARN_BARE.replace("^1.20.0", "1.X"), "1.X", PACKAGE, "1.20.1"),  # an upper-case X range
        (YARN_BERRY_TWO, "^1.20.0", PACKAGE, "1.20.1"),  # berry's descriptors say npm:
    ],
)
def test_yarn_answers_the_version_of_the_matching_descriptor(
    text: str, declared: str | None, package: str, version: str | None
) -> None:
    assert resolved_version("yarn.lock", text, "", declared, package) == version


@pytest.mark.parametrize(
    ("name", "text", "version"),
    [
        # lockfileVersion 2 keeps v1's "dependencies" beside "packages": either answers
        (
            "package-lock.json",
            '{"packages": {"": {}}, "dependencies": {"onnxruntime-web": {"version": "1.20.1"}}}',
            "1.20.1",
        ),
        (
            "pnpm-lock.yaml",
            "importers:\n  .:\n    devDependencies:\n      onnxruntime-web:\n        version: 1.22.0\n",
            "1.22.0",
        ),
        ("pnpm-lock.yaml", "importers:\n  .:\n    optionalDependencies:\n      onnxruntime-web: 1.21.0\n", "1.21.0"),
        ("bun.lock", '{"packages": {"onnxruntime-web": []}}', None),
        (
            "yarn.lock",
            'onnxruntime-web@^1.20.0:\n  version "1.20.1"\n\nonnxruntime-web@tag:\n  version "latest"\n',
            "1.20.1",
        ),
    ],
)
def test_each_format_s_other_places_for_the_version(name: str, text: str, version: str | None) -> None:
    """Where else a format records the package, or an entry that records no version; "~1.20.0" is declared."""
    assert resolved_version(name, text, "", "~1.20.0" if name == "yarn.lock" else None) == version


def test_bun_answers_a_scoped_package_s_version() -> None:
    bun = '{"packages": {"@huggingface/transformers": ["@huggingface/transformers@3.1.0", "", {}, "sha512-x"]}}'
    assert resolved_version("bun.lock", bun, "", None, "@huggingface/transformers") == "3.1.0"


@pytest.mark.parametrize(
    ("name", "text", "package_dir", "version", "row"),
    [
        ("package-lock.json", NPM_V3, "apps/web", "1.30.0", 5),
        ("package-lock.json", NPM_V3, "apps/docs", "1.22.0", 4),  # hoisted: the root's entry
        ("npm-shrinkwrap.json", NPM_V1, "", "1.20.1", 0),
        ("yarn.lock", YARN_CLASSIC, "", "1.20.1", 3),  # the entry that says 1.20.1, not the first one named
        ("yarn.lock", YARN_CLASSIC, "", "1.30.0", 7),
        ("yarn.lock", YARN_BERRY, "", "1.21.1", 4),
        ("pnpm-lock.yaml", PNPM_V9, "packages/app", "1.30.0", 0),  # v9 lists the package under packages: only
        ("pnpm-lock.yaml", PNPM_V9 + "packages:\n  onnxruntime-web@1.30.0:\n    resolution: {}\n", "", "1.30.0", 13),
        ("bun.lock", BUN, "", "1.22.0", 4),
        ("yarn.lock", "", "", "1.0.0", 0),
        # Windows line endings (a checkout with core.autocrlf): still the entry that says the version
        ("yarn.lock", YARN_CLASSIC.replace("\n", "\r\n"), "", "1.20.1", 3),
        ("yarn.lock", YARN_CLASSIC.replace("\n", "\r\n"), "", "1.30.0", 7),
        # no block says the version: the entry that names the package
        ("yarn.lock", '# yarn lockfile v1\n\nonnxruntime-web@^1.30.0:\n  version "1.30.0"\n', "", "1.31.0", 2),
        ("yarn.lock", '# yarn lockfile v1\n\n"onnxruntime-web@^1.30.0":\n  version "1.30.0"\n', "", "1.31.0", 2),
        # a leading blank line is a row too
        ("yarn.lock", "\n" + YARN_BERRY, "", "1.21.1", 5),
        ("package-lock.json", "\n" + NPM_V3, "apps/web", "1.30.0", 6),
        # pnpm v9 names the version under packages: and again under snapshots: the first is the entry
        (
            "pnpm-lock.yaml",
            PNPM_V9
            + "packages:\n  onnxruntime-web@1.30.0:\n    resolution: {}\nsnapshots:\n  onnxruntime-web@1.30.0: {}\n",
            "",
            "1.30.0",
            13,
        ),
    ],
)
def test_the_row_that_resolves_the_package(name: str, text: str, package_dir: str, version: str, row: int) -> None:
    """A finding on a lockfile points at the entry that installs the version, or the first row when none is seen."""
    assert resolving_row(name, text, package_dir, version) == row


SOURCE = b"import * as ort from 'onnxruntime-web';\nconst o = { executionProviders: ['webgpu'] };\n"
DECLARES = b'{"dependencies": {"onnxruntime-web": "^1.20.0"}}'
LOCKS_1_20_1 = {
    "package-lock.json": '{"packages": {"node_modules/onnxruntime-web": {"version": "1.20.1"}}}',
    "pnpm-lock.yaml": "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      onnxruntime-web:\n"
    "        specifier: ^1.20.0\n        version: 1.20.1\n",
    "yarn.lock": 'onnxruntime-web@^1.20.0:\n  version "1.20.1"\n',
    "bun.lock": '{"packages": {"onnxruntime-web": ["onnxruntime-web@1.20.1", "", {}, "sha512-x"]}}',
}


@pytest.mark.parametrize("directory", ["", "web"])
@pytest.mark.parametrize("name", sorted(LOCKS_1_20_1))
def test_the_report_gives_each_package_s_range_installed_version_and_lockfile(directory: str, name: str) -> None:
    """Keyed by the package.json's folder ("." at the root); the lockfile's path is from the tree's root."""
    prefix = f"{directory}/" if directory else ""
    report = scan_files(
        [
            (f"{prefix}package.json", DECLARES),
            (f"{prefix}{name}", LOCKS_1_20_1[name].encode()),
            (f"{prefix}src/a.js", SOURCE),
        ]
    )
    assert report.versions == {directory or ".": {"range": "^1.20.0", "installed": "1.20.1"}}
    assert report.lockfiles == {directory or ".": f"{prefix}{name}"}


def test_a_lockfile_is_read_up_to_its_own_cap_not_the_sources_one() -> None:
    """Lockfiles are large: `max_bytes` caps sources only."""
    lock = LOCKS_1_20_1["package-lock.json"] + " " * 2000
    report = scan_files(
        [("package.json", DECLARES), ("package-lock.json", lock.encode()), ("a.js", SOURCE)], max_bytes=1000
    )
    assert report.versions == {".": {"range": "^1.20.0", "installed": "1.20.1"}}
    assert report.notes == []
    assert not report.skipped


def test_a_yarn_lock_with_two_versions_installs_the_one_its_declared_range_names() -> None:
    """Both 1.20.1 and 1.30.0 are in ^1.20.0; the entry for the range package.json declares decides."""
    report = scan_files([("package.json", DECLARES), ("yarn.lock", YARN_BARE.encode()), ("a.js", SOURCE)])
    assert report.versions == {".": {"range": "^1.20.0", "installed": "1.20.1"}}


PNPM_WORKSPACE = PNPM_V9.split("  packages/app:")[0] + "  packages/app:\n    dependencies: {member}\n"


@pytest.mark.parametrize(
    ("member", "installed"),
    [
        ("\n      onnxruntime-web:\n        specifier: ^1.30.0\n        version: 1.30.0", "1.30.0"),
        ("{}", None),  # the lockfile predates the dependency: unknown, not the root's 1.22.0
    ],
)
def test_a_pnpm_workspace_member_installs_what_its_own_importer_lists(member: str, installed: str | None) -> None:
    report = scan_files(
        [
            ("pnpm-lock.yaml", PNPM_WORKSPACE.replace("{member}", member).encode()),
            ("packages/app/package.json", b'{"dependencies": {"onnxruntime-web": "^1.30.0"}}'),
            ("packages/app/a.js", SOURCE),
        ]
    )
    assert report.versions == {"packages/app": {"range": "^1.30.0", "installed": installed}}
    assert report.lockfiles == {"packages/app": "pnpm-lock.yaml"}


def test_each_wrapper_a_package_json_declares_is_judged() -> None:
    report = scan_files(
        [
            ("package.json", b'{"dependencies": {"@huggingface/transformers": "^3.0.0", "kokoro-js": "^1.0.0"}}'),
            ("a.js", SOURCE),
        ]
    )
    wrapper_findings = [f for f in report.findings if f.rule == "wrapper-version"]
    assert [f.message.split()[0] for f in wrapper_findings] == ["@huggingface/transformers", "kokoro-js"]


def test_a_wrapper_installs_the_version_of_its_declared_range_s_lockfile_entry() -> None:
    """kokoro-js's own ^3.0.0 entry is 3.1.0; the app's >=3.0.0 is 4.1.0: native, only Safari is left."""
    lock = (
        '"@huggingface/transformers@>=3.0.0":\n  version "4.1.0"\n\n'
        '"@huggingface/transformers@^3.0.0":\n  version "3.1.0"\n\n'
        'onnxruntime-web@^1.30.0:\n  version "1.30.0"\n'
    )
    manifest = b'{"dependencies": {"@huggingface/transformers": ">=3.0.0", "onnxruntime-web": "^1.30.0"}}'
    report = scan_files([("package.json", manifest), ("yarn.lock", lock.encode()), ("a.js", SOURCE)])
    by_rule = {f.rule: f for f in report.findings}
    assert by_rule["wrapper-version"].severity == "warning"
    assert "Safari" in by_rule["wrapper-version"].message
    assert "@huggingface/transformers 4.1.0" in by_rule["mixed-entry"].message


def test_a_wrapper_missing_from_the_lockfile_installs_the_lowest_version_of_its_range() -> None:
    """A stale lockfile that lists onnxruntime-web but not the wrapper: not onnxruntime-web's version."""
    report = scan_files(
        [
            ("package.json", b'{"dependencies": {"@huggingface/transformers": "^4.0.0"}}'),
            ("package-lock.json", LOCKS_1_20_1["package-lock.json"].encode()),
            ("a.js", SOURCE),
        ]
    )
    by_rule = {f.rule: f for f in report.findings}
    assert by_rule["wrapper-version"].severity == "warning"
    assert "@huggingface/transformers 4.0.0" in by_rule["mixed-entry"].message
