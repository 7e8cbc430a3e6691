"""JavaScript and TypeScript: every runtime load of a module, and what the code asks of the GPU."""

from __future__ import annotations

import tree_sitter

from bot.core.detector.companions import QUERY as COMPANIONS_QUERY
from bot.core.detector.companions import asset_names, ignored_flag, wasm_prefix
from bot.core.detector.facts import CodeFacts, Reference
from bot.core.detector.parsing import captures, parse, string_content, text
from bot.core.detector.providers import BOUND_VALUES, Requests
from bot.core.detector.providers import QUERY as PROVIDERS_QUERY
from bot.core.versions import PACKAGE

# Loads: the string is the first argument or the source of the statement. Only a string naming the package can
# load it (specifiers.classify), so tree-sitter drops every other import before Python sees it.
_NAMES_PACKAGE = f'(#match? @src "{PACKAGE}")'
_LOADS = f"""
(import_statement source: (string) @src {_NAMES_PACKAGE}) @stmt
(export_statement source: (string) @src {_NAMES_PACKAGE}) @stmt
(call_expression function: [(import) (identifier)] @fn arguments: (arguments (string) @src {_NAMES_PACKAGE})) @stmt
"""
_TS_LOADS = _LOADS + f"(import_require_clause source: (string) @src {_NAMES_PACKAGE}) @stmt"  # import x = require('…')
# A `key: value` pair: a provider request (executionProviders, device, name) or a `wasmPaths: '…'` prefix.
_PAIRS = "(pair key: [(property_identifier) (string)] @key value: (_) @value)"
# `name = value` (a binding) or `x.key = value` (like a pair). One bare pattern, sorted out in Python: with field
# patterns, compiling the query took twice as long, and every worker process of a scan compiles it.
_ASSIGNMENTS = "(assignment_expression) @assignment"
_CALLS = {"import": "dynamic-import", "require": "require", "importScripts": "import-scripts"}
_TYPE_ONLY_PARENTS = {"type_query", "type_annotation", "literal_type", "generic_type"}


def scan_code(grammar: str, data: bytes, facts: CodeFacts) -> None:
    """Add the loads, provider requests and companions in `data` (parsed with `grammar`) to `facts`, in one pass."""
    root = parse(grammar, data)
    requests = Requests()
    for _, match in captures(grammar, query_for(grammar), root):
        if "stmt" in match:
            reference = _load(match)
        elif "list" in match:
            requests.lists.append(match["list"][0])
            continue
        elif "shorthand" in match:
            requests.request(match["shorthand"][0], match["shorthand"][0])
            continue
        elif "bound" in match:
            requests.bind(match["bound"][0], match["bound_value"][0])
            continue
        elif "key" in match:
            _pair(match["key"][0], match["value"][0], requests, facts)
            continue
        elif "assignment" in match:
            _assignment(match["assignment"][0], requests, facts)
            continue
        else:
            reference = ignored_flag(match["env"][0], match["webgpu"][0], match["flag"][0])
            if reference is not None:
                facts.companions.append(reference)
            continue
        if reference is not None:
            facts.references.append(reference)
    facts.providers.update(requests.providers())
    facts.companions.extend(asset_names(data, root))


def query_for(grammar: str) -> str:
    loads = _LOADS if grammar == "javascript" else _TS_LOADS
    return loads + _PAIRS + _ASSIGNMENTS + COMPANIONS_QUERY + PROVIDERS_QUERY


def _pair(key: tree_sitter.Node, value: tree_sitter.Node, requests: Requests, facts: CodeFacts) -> None:
    requests.request(key, value)
    reference = wasm_prefix(key, value) if value.type == "string" else None
    if reference is not None:
        facts.companions.append(reference)


def _assignment(node: tree_sitter.Node, requests: Requests, facts: CodeFacts) -> None:
    left, value = node.child_by_field_name("left"), node.child_by_field_name("right")
    if left is None or value is None:
        return
    if left.type == "identifier":
        if value.type in BOUND_VALUES:
            requests.bind(left, value)
    elif left.type == "member_expression":
        key = left.child_by_field_name("property")
        if key is not None and key.type == "property_identifier":
            _pair(key, value, requests, facts)


def _load(match: dict[str, list[tree_sitter.Node]]) -> Reference | None:
    statement, source = match["stmt"][0], match["src"][0]
    if "fn" in match:
        via = _CALLS.get(text(match["fn"][0]))
        if via is None or _first_argument(source) != source or _in_type(statement):
            return None
    elif statement.type == "import_require_clause":
        if statement.parent is not None and _type_only(statement.parent):
            return None  # `import type x = require('…')` (TypeScript 4.2): erased at compile time
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
