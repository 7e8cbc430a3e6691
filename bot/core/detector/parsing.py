"""Tree-sitter grammars, and the one trick that keeps embedded code at its real position.

Embedded blocks (a ``<script>`` in HTML, Vue, Svelte; Astro's frontmatter; an
import map) are parsed from a copy of the whole file in which every byte
outside the block is blanked to a space (newlines kept). Rows and columns
reported by tree-sitter are then the file's own, with no offset arithmetic.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import cache

import tree_sitter

# grammar → (module, function): imported on first use, so a command that parses nothing never loads one
_GRAMMARS = {
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "html": ("tree_sitter_html", "language"),
    "json": ("tree_sitter_json", "language"),
}

_BLANK = bytes(b if b == 0x0A else 0x20 for b in range(256))


@cache
def language(name: str) -> tree_sitter.Language:
    module, function = _GRAMMARS[name]
    return tree_sitter.Language(getattr(importlib.import_module(module), function)())


@cache
def query(grammar: str, source: str) -> tree_sitter.Query:
    """Compiled on first use, in each worker process: a scan in which no file passes the pre-filter compiles none."""
    return tree_sitter.Query(language(grammar), source)


def parse(grammar: str, data: bytes) -> tree_sitter.Node:
    return tree_sitter.Parser(language(grammar)).parse(data).root_node


def captures(
    grammar: str, source: str, node: tree_sitter.Node
) -> Iterator[tuple[int, dict[str, list[tree_sitter.Node]]]]:
    yield from tree_sitter.QueryCursor(query(grammar, source)).matches(node)


def blank_outside(data: bytes, start: int, end: int) -> bytes:
    """`data` with every byte outside [start, end) turned into a space, newlines kept."""
    return data[:start].translate(_BLANK) + data[start:end] + data[end:].translate(_BLANK)


def text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def string_content(node: tree_sitter.Node) -> tuple[str, int, int, int] | None:
    """(value, row, start byte column, end byte column) of a one-line string literal, quotes excluded."""
    if node.start_point.row != node.end_point.row:
        return None
    raw = text(node)
    if len(raw) < 2 or raw[0] not in "'\"" or raw[-1] != raw[0]:
        return None
    return raw[1:-1], node.start_point.row, node.start_point.column + 1, node.end_point.column - 1


def json_pairs(node: tree_sitter.Node) -> Iterator[tuple[str, tree_sitter.Node]]:
    """(key, value node) for each member of a tree-sitter-json object node."""
    if node.type != "object":
        return
    for pair in node.named_children:
        key, value = pair.child_by_field_name("key"), pair.child_by_field_name("value")
        if pair.type == "pair" and key is not None and value is not None:
            content = string_content(key)
            if content:
                yield content[0], value


def json_root(data: bytes) -> tree_sitter.Node | None:
    root = parse("json", data)
    for child in root.named_children:
        if child.type == "object":
            return child
    return None
