"""package.json: where onnxruntime-web (and the wrappers around it) are declared, on which line, with which range."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import tree_sitter

from bot.core.detector.parsing import json_pairs, json_root, string_content
from bot.core.detector.sources import Load
from bot.core.detector.specifiers import classify
from bot.core.versions import PACKAGE

DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
OVERRIDE_FIELDS = ("overrides", "resolutions")
# conditions a browser bundler resolves package.json "imports" with (never "node")
BROWSER_CONDITIONS = ("browser", "worker", "import", "module", "require", "default")


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
    workspaces: tuple[str, ...] = ()  # npm/yarn/bun workspace globs
    aliases: tuple[Load, ...] = ()  # "imports" entries ("#ort") whose browser target is an onnxruntime-web entry

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
    aliases: tuple[Load, ...] = ()
    # a tracked name anywhere in the file: a dependency's key, an npm: alias's value, an override's selector
    if any(name.encode() in data for name in tracked):
        root = json_root(data)
        if root is not None:
            reader = _Reader(path, data.split(b"\n"), tracked)
            ranges = tuple(reader.ranges(root))
            aliases = tuple(reader.aliases(root))
    return Manifest(path, ranges, dependencies, _workspaces(document.get("workspaces")), aliases)


def _workspaces(field: object) -> tuple[str, ...]:
    """npm, yarn and bun take a list of globs, or (yarn classic) {"packages": [...]}."""
    if isinstance(field, dict):
        field = field.get("packages")
    if not isinstance(field, list):
        return ()
    return tuple(g.removeprefix("./").rstrip("/") for g in field if isinstance(g, str))


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

    def aliases(self, root: tree_sitter.Node) -> Iterator[Load]:
        for field, section in json_pairs(root):
            if field == "imports":
                for key, value in json_pairs(section):
                    target = _browser_target(value) if key.startswith("#") else None
                    load = self._load(target) if target is not None else None
                    if load is not None:
                        yield load

    def _load(self, node: tree_sitter.Node) -> Load | None:
        content = string_content(node)
        target = classify(content[0]) if content else None
        if content is None or target is None or target.is_url:
            return None
        value, row, start, end = content
        line = self.lines[row].removesuffix(b"\r")
        return Load(self.path, row, start, end, line, value, "package-imports", target=target)

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


def _browser_target(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The string an "imports" entry resolves to in a browser build: the first matching condition, nested."""
    while node.type == "object":
        node = next((value for key, value in json_pairs(node) if key in BROWSER_CONDITIONS), None)  # type: ignore[assignment]
        if node is None:
            return None
    return node if node.type == "string" else None


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
