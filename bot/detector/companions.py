"""What must change with the import: JSEP wasm asset names, wasmPaths prefixes, env.webgpu flags."""

from __future__ import annotations

import re

import tree_sitter

from bot.detector.facts import Reference
from bot.detector.parsing import captures, string_content, text

JSEP_MARK = b".jsep."
# ort-wasm-simd-threaded.jsep.wasm / .jsep.mjs (and the older ort-wasm-simd.jsep.wasm)
_ASSET = re.compile(rb"ort-wasm[A-Za-z0-9_-]*(\.jsep\.)(?:wasm|mjs|\*)")
_STRING_NODES = {"string_fragment", "string", "template_string", "string_content", "attribute_value"}
_WASM_PATHS = """
(assignment_expression left: (member_expression property: (property_identifier) @key) right: (string) @value)
(pair key: [(property_identifier) (string)] @key value: (string) @value)
"""
_FLAGS = """
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


def asset_names(data: bytes, root: tree_sitter.Node) -> list[Reference]:
    """Each `.jsep.` of a JSEP wasm asset name inside a string or attribute value (not a comment)."""
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


def wasm_prefixes(grammar: str, root: tree_sitter.Node) -> list[Reference]:
    """String values given to `wasmPaths` (a URL prefix for the wasm files)."""
    found = []
    for _, match in captures(grammar, _WASM_PATHS, root):
        if text(match["key"][0]).strip("'\"") != "wasmPaths":
            continue
        content = string_content(match["value"][0])
        if content:
            value, row, start, end = content
            found.append(Reference(row, start, end, value, "wasm-prefix"))
    return found


def ignored_flags(grammar: str, root: tree_sitter.Node) -> list[Reference]:
    """`….env.webgpu.<flag>` for the flags the native backend ignores (set or read)."""
    found = []
    for _, match in captures(grammar, _FLAGS, root):
        env, webgpu, flag = match["env"][0], match["webgpu"][0], match["flag"][0]
        env_name = text(env).rsplit(".", 1)[-1]
        if text(webgpu) != "webgpu" or env_name != "env" or text(flag) not in IGNORED_FLAGS:
            continue
        row, column = flag.start_point
        found.append(Reference(row, column, flag.end_point.column, text(flag), "flag"))
    return found
