"""The version table and npm-semver helpers."""

from __future__ import annotations

import pytest

from bot.core.versions import JSEP, NATIVE, NONE, admits_below, min_version, parse_table, raise_floor, table

T = table()


@pytest.mark.parametrize(
    ("entry", "version", "backend"),
    [
        (".", "1.20.1", NONE),
        (".", "1.21.0", JSEP),
        (".", "1.30.0", JSEP),
        ("./webgpu", "1.22.0", JSEP),
        ("./webgpu", "1.22.0-dev.20250409-89f8206ba4", JSEP),
        ("./webgpu", "1.23.0-dev.20250821-75f848097e", NATIVE),
        ("./webgpu", "1.23.0", NATIVE),
        ("./all", "1.30.0", JSEP),
        ("./wasm", "1.30.0", NONE),
        ("./jspi", "1.24.1", NATIVE),
        ("./jspi", "1.23.2", None),
        ("./webgpu", None, NATIVE),  # unknown version: what a fresh install gets today
    ],
)
def test_backend_of_an_entry_follows_the_measured_table(entry: str, version: str | None, backend: str | None) -> None:
    """Each entry carries the backend the tarballs showed, with `/webgpu` native iff >= 1.23.0-0."""
    assert T.backend(entry, version) == backend


def test_a_future_table_with_a_native_bare_entry_changes_the_answer() -> None:
    """The facts are data: a table where `.` became native answers native for it."""
    raw = {
        "latest": "2.0.0",
        "native_from": "1.23.0-0",
        "native_entry": "./webgpu",
        "replaceable_entries": ["./jsep"],
        "webgl_entries": [],
        "eras": [{"versions": ">=2.0.0-0", "backends": {".": "native", "./jsep": "jsep", "./webgpu": "native"}}],
        "published": ["2.0.0"],
    }
    assert parse_table(raw).backend(".", "2.0.0") == NATIVE


@pytest.mark.parametrize(
    ("text", "lowest"),
    [
        ("^1.20.1", "1.20.1"),
        (">=1.18.0 <2", "1.18.0"),
        (">1.20.0", "1.20.1"),
        ("*", "0.0.0"),
        ("latest", None),
        ("~1.22", "1.22.0"),
    ],
)
def test_min_version_is_node_semvers(text: str, lowest: str | None) -> None:
    """The lowest admitted version, as node-semver's minVersion gives it."""
    assert min_version(text) == lowest


@pytest.mark.parametrize(
    ("text", "raised"),
    [
        ("^1.20.1", "^1.30.0"),
        (">=1.18.0 <2", ">=1.30.0 <2"),
        ("~1.22.0", "~1.30.0"),
        ("1.22.0", "1.30.0"),
        ("1.22.x", "1.30.x"),
        ("1.22", "1.30"),
        ("^1.18.0 || ^1.22.0", "^1.30.0"),
        ("1.22.0-dev.20250409-89f8206ba4", "1.30.0"),
        ("1.18.0 - 1.22.0", None),  # no single edit reaches 1.23
        (">1.20", None),  # >1.30 would shut out 1.30.x itself
    ],
)
def test_raise_floor_keeps_the_operator(text: str, raised: str | None) -> None:
    """The floor goes to the latest version; the operator and the rest of the range stay."""
    assert raise_floor(text, "1.30.0", "1.23.0-0") == raised


def test_admits_below_counts_prereleases() -> None:
    """A range starting at a 1.22 dev build admits a JSEP build; one at 1.23.0-0 does not."""
    assert admits_below("1.22.0-dev.20250409-89f8206ba4", "1.23.0-0")
    assert not admits_below(">=1.23.0-dev.20250821-75f848097e", "1.23.0-0")
