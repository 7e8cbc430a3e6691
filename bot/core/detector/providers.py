"""What the code asks of the GPU: the providers a file requests, computed lists and conditional values included.

A provider string counts only where it reaches a request: an
`executionProviders` list, a `device`/`backend` value, a `{ name }` entry, or
a list made of provider names alone. Names and spreads are followed to their
`const`/`let`/`var` values and assignments in the same file, a few levels deep;
`console.log('webgpu')` or `backend === 'webgpu'` reaches nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import tree_sitter

from bot.core.detector.parsing import string_content, text

PROVIDERS = ("webgpu", "webgl")
EP_NAMES = frozenset({"webgpu", "webgl", "wasm", "cpu", "webnn", "xnnpack"})
REQUEST_KEYS = frozenset({"name", "device", "executionProviders", "backend"})
MAX_DEPTH = 4  # identifiers followed through at most this many bindings
# Patterns for the one query pass over JS/TS (javascript.py); request pairs and assignments come from its pair and
# assignment patterns. A binding is kept only when its value is of a kind `_values` can read (no numbers, calls or
# functions: most bindings in a file).
BOUND_VALUES = (
    "string",
    "template_string",
    "array",
    "ternary_expression",
    "binary_expression",
    "parenthesized_expression",
    "object",
    "identifier",
)
QUERY = f"""
(array) @list
(shorthand_property_identifier) @shorthand
(variable_declarator name: (identifier) @bound value: [{" ".join(f"({kind})" for kind in BOUND_VALUES)}] @bound_value)
"""
# What a provider list may hold: no functions, no nested lists, no strings other than provider names.
_LIST_ITEMS = frozenset(
    {
        "string",
        "template_string",
        "identifier",
        "spread_element",
        "ternary_expression",
        "parenthesized_expression",
        "binary_expression",
        "object",
        "comment",
    }
)
_EITHER = frozenset({"||", "??", "&&"})


@dataclass
class Requests:
    """The request sites and name bindings of one file, resolved once the whole file has been seen."""

    bindings: dict[str, list[tree_sitter.Node]] = field(default_factory=lambda: defaultdict(list))
    requests: list[tree_sitter.Node] = field(default_factory=list)  # values given to a request key
    lists: list[tree_sitter.Node] = field(default_factory=list)  # array literals that may be provider lists

    def bind(self, name: tree_sitter.Node, value: tree_sitter.Node) -> None:
        self.bindings[text(name)].append(value)

    def request(self, key: tree_sitter.Node, value: tree_sitter.Node) -> None:
        """`value` given to `key` (a pair, a member assignment, or a shorthand property when both are one node)."""
        if text(key).strip("'\"") in REQUEST_KEYS:
            self.requests.append(value)

    def providers(self) -> set[str]:
        found: set[str] = set()
        for node in self.requests:
            found |= self._values(node, MAX_DEPTH)
        for node in self.lists:
            if all(item.type in _LIST_ITEMS for item in node.named_children):
                values = self._values(node, MAX_DEPTH)
                if values and values <= EP_NAMES:
                    found |= values
        return found & set(PROVIDERS)

    def _values(self, node: tree_sitter.Node, depth: int) -> set[str]:
        """The strings `node` can evaluate to, as far as literals, branches, spreads and names show."""
        kind = node.type
        if kind == "string":
            content = string_content(node)
            return {content[0]} if content else set()
        if kind == "template_string":
            plain = not any(c.type == "template_substitution" for c in node.named_children)
            return {text(node)[1:-1]} if plain else set()
        if kind in ("identifier", "shorthand_property_identifier"):
            if depth == 0:
                return set()
            return set().union(*(self._values(v, depth - 1) for v in self.bindings.get(text(node), ())))
        parts: list[tree_sitter.Node | None]
        if kind == "ternary_expression":
            parts = [node.child_by_field_name("consequence"), node.child_by_field_name("alternative")]
        elif kind == "binary_expression":
            operator = node.child_by_field_name("operator")
            either = operator is not None and text(operator) in _EITHER
            parts = [node.child_by_field_name("left"), node.child_by_field_name("right")] if either else []
        elif kind in ("array", "parenthesized_expression", "spread_element", "await_expression"):
            parts = list(node.named_children)
        elif kind == "object":
            parts = [_name_value(pair) for pair in node.named_children if pair.type == "pair"]
        else:
            parts = []
        return set().union(*(self._values(p, depth) for p in parts if p is not None))


def _name_value(pair: tree_sitter.Node) -> tree_sitter.Node | None:
    """The value of a `name:` pair (`{ name: 'webgpu', … }` in a provider list)."""
    key = pair.child_by_field_name("key")
    return pair.child_by_field_name("value") if key is not None and text(key).strip("'\"") == "name" else None
