"""HTML, Vue, Svelte and Astro: the script blocks, `<script src>` URLs and import maps inside them."""

from __future__ import annotations

import dataclasses

import tree_sitter

from bot.core.detector.companions import JSEP_MARK, asset_names
from bot.core.detector.facts import CodeFacts, Reference
from bot.core.detector.javascript import scan_code
from bot.core.detector.parsing import blank_outside, json_pairs, parse, string_content, text

_CODE_TYPES = {"", "module", "text/javascript", "application/javascript", "text/babel", "module/javascript"}
_IMPORT_MAP_KEYS = (b'"imports"', b'"scopes"')
_LANG_GRAMMARS = {"ts": "typescript", "typescript": "typescript", "tsx": "tsx", "jsx": "javascript", "js": "javascript"}


def scan_markup(suffix: str, data: bytes, facts: CodeFacts) -> None:
    default_grammar = "javascript"
    if suffix == ".astro":
        default_grammar = "typescript"  # Astro compiles its scripts as TypeScript
        fence = _astro_frontmatter(data)
        if fence is not None:
            scan_code("typescript", blank_outside(data, *fence), facts)
            data = blank_outside(data, fence[1], len(data))
    root = parse("html", data)
    facts.companions.extend(asset_names(data, root))  # in attribute values: preload links, CSP
    _scan_scripts(root, data, default_grammar, facts)
    hashed = list(_hashed_tags(root))
    if hashed:
        facts.references[:] = [_pin(r, hashed) for r in facts.references]
        facts.companions[:] = [_pin(r, hashed) for r in facts.companions]


def _scan_scripts(root: tree_sitter.Node, data: bytes, default_grammar: str, facts: CodeFacts) -> None:
    for script in _script_elements(root):
        attributes = _attributes(script)
        src = attributes.get("src")
        if src is not None:
            value_node = src
            facts.references.append(
                Reference(
                    value_node.start_point.row,
                    value_node.start_point.column,
                    value_node.end_point.column,
                    text(value_node),
                    "script-src",
                )
            )
        body = next((c for c in script.named_children if c.type == "raw_text"), None)
        if body is None:
            continue
        kind = text(attributes["type"]).strip().lower() if "type" in attributes else ""
        if kind == "importmap":
            scan_json(blank_outside(data, body.start_byte, body.end_byte), facts)
        elif kind in _CODE_TYPES:
            lang = text(attributes["lang"]).strip().lower() if "lang" in attributes else ""
            grammar = _LANG_GRAMMARS.get(lang, default_grammar)
            scan_code(grammar, blank_outside(data, body.start_byte, body.end_byte), facts)


def scan_json(data: bytes, facts: CodeFacts) -> None:
    """A JSON document: its JSEP asset names, and if it is an import map, its mappings."""
    if JSEP_MARK not in data and not any(key in data for key in _IMPORT_MAP_KEYS):
        return  # neither names an asset nor maps imports (most JSON that mentions the package): no parse
    document = parse("json", data)
    facts.companions.extend(asset_names(data, document))
    root = next((c for c in document.named_children if c.type == "object"), None)
    if root is None:
        return
    for section, value in json_pairs(root):
        if section == "imports":
            _mappings(value, facts)
        elif section == "scopes":
            for _, scope in json_pairs(value):
                _mappings(scope, facts)


def _mappings(node: tree_sitter.Node, facts: CodeFacts) -> None:
    for key, value in json_pairs(node):
        content = string_content(value) if value.type == "string" else None
        if content is None:
            continue
        url, row, start, end = content
        facts.mapped.add(key)
        facts.references.append(Reference(row, start, end, url, "importmap"))


def _hashed_tags(root: tree_sitter.Node):
    """The (start, end) points of every start tag with an `integrity` attribute: its hash covers the URL's file."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("start_tag", "self_closing_tag"):
            names = (text(a.named_children[0]).lower() for a in node.named_children if a.type == "attribute")
            if "integrity" in names:
                yield node.start_point, node.end_point
        elif node.type not in ("raw_text", "text", "comment"):
            stack.extend(node.named_children)


def _pin(reference: Reference, hashed: list[tuple[tuple[int, int], tuple[int, int]]]) -> Reference:
    """`reference`, marked pinned when it sits inside a tag that carries an `integrity` hash."""
    at = (reference.row, reference.start)
    if any(start <= at < end for start, end in hashed):
        return dataclasses.replace(reference, pinned=True)
    return reference


def _script_elements(root: tree_sitter.Node):
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "script_element":
            yield node
        elif node.type not in ("style_element", "raw_text", "text", "comment"):
            stack.extend(reversed(node.named_children))


def _attributes(script: tree_sitter.Node) -> dict[str, tree_sitter.Node]:
    """attribute name → its value node (the unquoted value), for the script's start tag."""
    found: dict[str, tree_sitter.Node] = {}
    start_tag = script.named_children[0] if script.named_children else None
    if start_tag is None or start_tag.type != "start_tag":
        return found
    for attribute in start_tag.named_children:
        if attribute.type != "attribute" or not attribute.named_children:
            continue
        name = text(attribute.named_children[0]).lower()
        value = attribute.named_children[1] if len(attribute.named_children) > 1 else None
        if value is not None and value.type == "quoted_attribute_value":
            value = value.named_children[0] if value.named_children else None
        if value is not None and value.start_point.row == value.end_point.row:
            found[name] = value
    return found


def _astro_frontmatter(data: bytes) -> tuple[int, int] | None:
    """Byte range of the code between Astro's leading `---` fences."""
    stripped = data.lstrip()
    if not stripped.startswith(b"---"):
        return None
    start = data.index(b"---") + 3
    end = data.find(b"\n---", start)
    return (start, end) if end != -1 else None
