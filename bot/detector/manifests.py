"""package.json: where onnxruntime-web (and the wrappers around it) are declared, on which line, with which range."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import tree_sitter

from bot.backends import PACKAGE
from bot.detector.parsing import json_pairs, json_root, string_content

DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
OVERRIDE_FIELDS = ("overrides", "resolutions")


@dataclass(frozen=True)
class RangeLine:
    """One place a package.json gives a tracked package a version range."""

    path: str
    row: int
    start: int  # byte columns of the range inside the line
    end: int
    line: bytes  # the whole line, without its line ending
    field: str
    name: str  # the package the range is for (an npm: alias's real name)
    range: str
    parent: str = ""  # for a nested npm override: the package it is scoped to

    @property
    def value(self) -> str:
        return self.range

    @property
    def is_override(self) -> bool:
        return self.field not in DEPENDENCY_FIELDS


@dataclass(frozen=True)
class Manifest:
    path: str
    ranges: tuple[RangeLine, ...]  # onnxruntime-web's and the tracked wrappers'
    dependencies: dict[str, str]  # every declared dependency name → range, all fields merged

    @property
    def dir(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def declared(self) -> tuple[RangeLine, ...]:
        """onnxruntime-web's own dependency lines (not overrides)."""
        return tuple(r for r in self.ranges if r.name == PACKAGE and not r.is_override)

    @property
    def overrides(self) -> tuple[RangeLine, ...]:
        return tuple(r for r in self.ranges if r.name == PACKAGE and r.is_override)

    def wrapper(self, name: str) -> RangeLine | None:
        return next((r for r in self.ranges if r.name == name and not r.is_override), None)


def parse_manifest(path: str, data: bytes, wrappers: Collection[str] = ()) -> Manifest | None:
    """The manifest, or None when `data` is not a JSON object. `wrappers`: more package names to track."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    dependencies: dict[str, str] = {}
    for field in DEPENDENCY_FIELDS:
        section = document.get(field)
        if isinstance(section, dict):
            dependencies.update({k: v for k, v in section.items() if isinstance(v, str)})
    tracked = {PACKAGE, *wrappers}
    ranges: tuple[RangeLine, ...] = ()
    if any(name in dependencies for name in tracked) or PACKAGE.encode() in data:
        root = json_root(data)
        if root is not None:
            ranges = tuple(_Reader(path, data.split(b"\n"), tracked).ranges(root))
    return Manifest(path, ranges, dependencies)


@dataclass(frozen=True)
class _Reader:
    path: str
    lines: list[bytes]
    tracked: set[str]

    def ranges(self, root: tree_sitter.Node) -> Iterator[RangeLine]:
        for field, section in json_pairs(root):
            if field in DEPENDENCY_FIELDS:
                for key, value in json_pairs(section):
                    yield from self._line(field, value, key)
            elif field in OVERRIDE_FIELDS:
                yield from self._overrides(field, section)
            elif field == "pnpm":
                for sub, value in json_pairs(section):
                    if sub == "overrides":
                        yield from self._overrides("pnpm.overrides", value)

    def _overrides(self, field: str, section: tree_sitter.Node, parent: str = "") -> Iterator[RangeLine]:
        for key, value in json_pairs(section):
            if value.type == "object":
                yield from self._overrides(field, value, parent=key)
            elif names_package(key):
                yield from self._line(field, value, PACKAGE, scope=_scope(key, parent))
            elif key == "." and names_package(parent):
                yield from self._line(field, value, PACKAGE)

    def _line(self, field: str, value: tree_sitter.Node, key: str, scope: str = "") -> Iterator[RangeLine]:
        content = string_content(value) if value.type == "string" else None
        if content is None:
            return
        text, row, start, end = content
        name = key
        if text.startswith("npm:"):
            alias, _, alias_range = text[4:].rpartition("@")
            if alias:
                name, start, text = alias, start + len(text) - len(alias_range), alias_range
        if name not in self.tracked or text.startswith("$"):
            return  # untracked, or npm's "$name" reference to the project's own range
        line = self.lines[row].removesuffix(b"\r")
        yield RangeLine(self.path, row, start, end, line, field, name, text, parent=scope)


def _scope(key: str, parent: str) -> str:
    """The package an override of onnxruntime-web is scoped to ('' for everywhere)."""
    selectors = key.split(">")
    if len(selectors) > 1:
        return selectors[-2]  # pnpm: "parent>onnxruntime-web"
    path = key.removeprefix("**/")
    if "/" + PACKAGE in path:
        return path[: path.rindex("/" + PACKAGE)].removeprefix("**/")  # yarn: "parent/onnxruntime-web"
    return parent


def names_package(key: str) -> bool:
    """Whether an override or resolution key targets onnxruntime-web (`**/x`, `a>x`, `a/x`, `x@<1.23`)."""
    last = key.split(">")[-1].removeprefix("**/")
    name = last.rsplit("/", 1)[-1] if not last.startswith("@") or last.count("/") > 1 else last
    return name == PACKAGE or name.startswith(PACKAGE + "@")
