"""What must change with the import: JSEP wasm asset names, wasmPaths prefixes, env.webgpu flags."""

from __future__ import annotations

import re

import tree_sitter

from bot.core.detector.facts import Reference
from bot.core.detector.parsing import string_content, text

JSEP_MARK = b".jsep"
# ort-wasm-simd-threaded.jsep.wasm / .jsep.mjs (and the older ort-wasm-simd.jsep.wasm), or the base name alone
# at the end of a string (`'ort-wasm-simd-threaded.jsep'`, later joined with an extension)
_ASSET = re.compile(rb"ort-wasm[A-Za-z0-9_-]*(\.jsep)(?:\.(?:wasm|mjs|\*)|(?=[\"'`]))")
NATIVE_MARK = ".asyncify"
_STRING_NODES = {"string_fragment", "string", "template_string", "string_content", "attribute_value"}
# The pattern for the one query pass over JS/TS (javascript.py); `wasmPaths: "…"` pairs and assignments come from
# its pair and assignment patterns.
QUERY = """
(member_expression
  object: (member_expression object: (_) @env property: (property_identifier) @webgpu)
  property: (property_identifier) @flag)
"""
IGNORED_FLAGS = (
    "powerPreference",
    "forceFallbackAdapter",
    "adapter",
    "profiling",
    "profilingMode",
    "validateInputContent",
)


def names_jsep_asset(data: bytes) -> bool:
    return JSEP_MARK in data and _ASSET.search(data) is not None


def asset_names(data: bytes, root: tree_sitter.Node) -> list[Reference]:
    """Each `.jsep` of a JSEP wasm asset name inside a string or attribute value (not a comment)."""
    if JSEP_MARK not in data:
        return []
    found = []
    for match in _ASSET.finditer(data):
        start, end = match.span(1)
        node = root.descendant_for_byte_range(start, end)
        if node is None or node.type not in _STRING_NODES:
            continue
        line_start = data.rfind(b"\n", 0, start) + 1
        row = data.count(b"\n", 0, start)
        found.append(Reference(row, start - line_start, end - line_start, match.group(0).decode(), "asset"))
    return found


def wasm_prefix(key: tree_sitter.Node, value: tree_sitter.Node) -> Reference | None:
    """A string value given to `wasmPaths` (a URL prefix for the wasm files)."""
    if text(key).strip("'\"") != "wasmPaths":
        return None
    content = string_content(value)
    if content is None:
        return None
    found, row, start, end = content
    return Reference(row, start, end, found, "wasm-prefix")


def ignored_flag(env: tree_sitter.Node, webgpu: tree_sitter.Node, flag: tree_sitter.Node) -> Reference | None:
    """`….env.webgpu.<flag>` for a flag the native backend ignores (set or read)."""
    if text(webgpu) != "webgpu" or text(env).rsplit(".", 1)[-1] != "env" or text(flag) not in IGNORED_FLAGS:
        return None
    row, column = flag.start_point
    return Reference(row, column, flag.end_point.column, text(flag), "flag")
