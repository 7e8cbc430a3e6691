"""package.json: where onnxruntime-web is declared, on which line, with which range."""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass

import tree_sitter

from bot.backends import PACKAGE
from bot.detector.parsing import json_pairs, json_root, string_content

DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
OVERRIDE_FIELDS = ("overrides", "resolutions")
_ALIAS = f"npm:{PACKAGE}@"


@dataclass(frozen=True)
class RangeLine:
    """One place a package.json gives onnxruntime-web a version range."""

    path: str
    row: int
    start: int  # byte columns of the range inside the line
    end: int
    line: bytes  # the whole line, without its line ending
    field: str
    range: str

    @property
    def is_override(self) -> bool:
        return self.field not in DEPENDENCY_FIELDS


@dataclass(frozen=True)
class Manifest:
    path: str
    ranges: tuple[RangeLine, ...]
    dependencies: dict[str, str]  # every declared dependency name → range, all fields merged

    @property
    def dir(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def declared(self) -> tuple[RangeLine, ...]:
        return tuple(r for r in self.ranges if not r.is_override)


def parse_manifest(path: str, data: bytes) -> Manifest | None:
    """The manifest, or None when `data` is not a JSON object."""
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
    ranges: tuple[RangeLine, ...] = ()
    if PACKAGE.encode() in data:
        root = json_root(data)
        ranges = tuple(_ranges(_Source(path, data.split(b"\n")), root)) if root is not None else ()
    return Manifest(path, ranges, dependencies)


@dataclass(frozen=True)
class _Source:
    path: str
    lines: list[bytes]


def _ranges(source: _Source, root: tree_sitter.Node):
    for field, section in json_pairs(root):
        if field in DEPENDENCY_FIELDS:
            for key, value in json_pairs(section):
                yield from _range_line(source, field, value, targets_package=key == PACKAGE)
        elif field in OVERRIDE_FIELDS:
            yield from _overrides(source, field, section)
        elif field == "pnpm":
            for sub, value in json_pairs(section):
                if sub == "overrides":
                    yield from _overrides(source, "pnpm.overrides", value)


def _overrides(source: _Source, field: str, section: tree_sitter.Node, parent: str = ""):
    for key, value in json_pairs(section):
        if value.type == "object":
            yield from _overrides(source, field, value, parent=key)
        else:
            targets = names_package(key) or (key == "." and names_package(parent))
            yield from _range_line(source, field, value, targets_package=targets)


def _range_line(source: _Source, field: str, value: tree_sitter.Node, *, targets_package: bool):
    content = string_content(value) if value.type == "string" else None
    if content is None:
        return
    text, row, start, end = content
    if text.startswith(_ALIAS):
        start += len(_ALIAS)
        text = text[len(_ALIAS) :]
    elif not targets_package or text.startswith("$"):
        return  # another package, or npm's "$name" reference to the project's own range
    yield RangeLine(source.path, row, start, end, source.lines[row].removesuffix(b"\r"), field, text)


def names_package(key: str) -> bool:
    """Whether an override or resolution key targets onnxruntime-web (`**/x`, `a>x`, `x@<1.23`)."""
    last = key.split(">")[-1].removeprefix("**/")
    name = last.rsplit("/", 1)[-1] if not last.startswith("@") or last.count("/") > 1 else last
    return name == PACKAGE or name.startswith(PACKAGE + "@")
