"""JavaScript and TypeScript: every runtime load of a module, and what the code asks of the GPU."""

from __future__ import annotations

import tree_sitter

from bot.detector.companions import asset_names, ignored_flags, wasm_prefixes
from bot.detector.facts import CodeFacts, Reference
from bot.detector.parsing import captures, parse, string_content, text

# Loads: the string is the first argument or the source of the statement.
_LOADS = """
(import_statement source: (string) @src) @stmt
(export_statement source: (string) @src) @stmt
(call_expression function: [(import) (identifier)] @fn arguments: (arguments (string) @src)) @stmt
"""
_TS_LOADS = _LOADS + "(import_require_clause source: (string) @src) @stmt"  # import x = require('…')
# What the code asks for: 'webgpu' in an array (executionProviders), or as {name|device: 'webgpu'}.
_REQUESTS = """
(array (string) @item)
(pair key: [(property_identifier) (string)] @key value: (string) @value)
"""
_REQUEST_KEYS = {"name", "device", "executionProviders", "backend"}
_CALLS = {"import": "dynamic-import", "require": "require", "importScripts": "import-scripts"}
_TYPE_ONLY_PARENTS = {"type_query", "type_annotation", "literal_type", "generic_type"}
PROVIDERS = ("webgpu", "webgl")


def scan_code(grammar: str, data: bytes, facts: CodeFacts) -> None:
    """Add the loads and provider requests in `data` (parsed with `grammar`) to `facts`."""
    root = parse(grammar, data)
    for _, match in captures(grammar, _LOADS if grammar == "javascript" else _TS_LOADS, root):
        reference = _load(match)
        if reference is not None:
            facts.references.append(reference)
    for _, match in captures(grammar, _REQUESTS, root):
        facts.providers.update(_requested(match))
    facts.companions.extend(asset_names(data, root))
    facts.companions.extend(wasm_prefixes(grammar, root))
    facts.companions.extend(ignored_flags(grammar, root))


def _load(match: dict[str, list[tree_sitter.Node]]) -> Reference | None:
    statement, source = match["stmt"][0], match["src"][0]
    if "fn" in match:
        via = _CALLS.get(text(match["fn"][0]))
        if via is None or _first_argument(source) != source or _in_type(statement):
            return None
    elif statement.type == "import_require_clause":
        via = "require"
    else:
        if _type_only(statement):
            return None  # `import type` / `export type`: erased at compile time
        via = "import" if statement.type == "import_statement" else "export"
    content = string_content(source)
    if content is None:
        return None
    value, row, start, end = content
    return Reference(row, start, end, value, via)


def _type_only(statement: tree_sitter.Node) -> bool:
    if any(child.type == "type" for child in statement.children):
        return True
    clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
    if clause is None or [c.type for c in clause.named_children] != ["named_imports"]:
        return False
    names = [c for c in clause.named_children[0].named_children if c.type == "import_specifier"]
    return bool(names) and all(any(g.type == "type" for g in n.children) for n in names)


def _first_argument(node: tree_sitter.Node) -> tree_sitter.Node | None:
    arguments = node.parent
    if arguments is None:
        return None
    for child in arguments.named_children:
        if child.type != "comment":  # import(/* webpackChunkName: "ort" */ 'onnxruntime-web')
            return child
    return None


def _in_type(node: tree_sitter.Node) -> bool:
    """`typeof import('x')` in a type position loads nothing."""
    parent = node.parent
    while parent is not None:
        if parent.type in _TYPE_ONLY_PARENTS:
            return True
        parent = parent.parent
    return False


def _requested(match: dict[str, list[tree_sitter.Node]]) -> set[str]:
    if "item" in match:
        node = match["item"][0]
    else:
        key = match["key"][0]
        key_text = text(key).strip("'\"")
        if key_text not in _REQUEST_KEYS:
            return set()
        node = match["value"][0]
    content = string_content(node)
    return {content[0]} & set(PROVIDERS) if content else set()
