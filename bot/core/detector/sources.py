"""One file in, its facts out: what it loads of onnxruntime-web, what it asks of the GPU.

Cheap checks come first, so that a large tree costs little more than reading
it: a file that mentions neither onnxruntime-web nor a WebGPU/WebGL provider
is never parsed.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from bot.core.detector.companions import JSEP_MARK, names_jsep_asset
from bot.core.detector.facts import CodeFacts, Reference
from bot.core.detector.javascript import scan_code
from bot.core.detector.markup import scan_json, scan_markup
from bot.core.detector.specifiers import Target, classify
from bot.core.versions import PACKAGE

CODE_GRAMMARS = {
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
}
PAGE_SUFFIXES = (".html", ".htm")  # documents a browser opens: what they load shares their import map
MARKUP_SUFFIXES = (*PAGE_SUFFIXES, ".vue", ".svelte", ".astro")
JSON_SUFFIXES = (".json", ".importmap")
SOURCE_SUFFIXES = (*CODE_GRAMMARS, *MARKUP_SUFFIXES, *JSON_SUFFIXES)

IGNORE_LINE = b"ortfix-ignore"
IGNORE_FILE = b"ortfix-ignore-file"
_MENTIONS = (PACKAGE.encode(), b"webg")  # "webg": both providers the rules ask about, in one pass
_BOM = b"\xef\xbb\xbf"
MINIFIED_LINE_LENGTH = 1000  # average bytes per line above which a file is a minified bundle
# what bundlers leave in their output: webpack's bootstrap and runtime, esbuild's helpers, a source map trailer
_GENERATED = re.compile(
    rb"^/\*{6}/|webpackBootstrap|__webpack_require__|^var __toESM = |^//# sourceMappingURL=\S+\s*\Z", re.MULTILINE
)
# a literal from each of _GENERATED's alternatives: substring checks are fast, the anchored pattern is not
_GENERATED_MARKS = (b"/******/", b"webpackBootstrap", b"__webpack_require__", b"__toESM", b"sourceMappingURL=")
# a quoted relative path ('./x', "../y"): what a file imports from its own tree. No `import` keyword is
# required, so that the search keeps its literal prefix (several times faster than matching the statement)
# and `new Worker('./w.js')` counts too; only paths that name a scanned source become edges.
_RELATIVE_PATH = re.compile(rb"""\.\.?/[^"'\n]*["']""")
_SCRIPT_SRC = re.compile(rb"""<script\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")
_ORT_BUNDLE_NAME = re.compile(r"^ort[\w.-]*\.m?js$")
_BANNER_VERSION = re.compile(rb"ONNX Runtime Web v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)")
BANNER_LINE_BYTES = 200  # of a vendored bundle's first line, kept as the finding's line


@dataclass(frozen=True)
class Place:
    """A span of one line of a file: what a finding points at and its fix replaces."""

    path: str
    row: int
    start: int  # byte columns of the span in `line`
    end: int
    line: bytes  # the whole line, without its line ending
    value: str  # the text of the span
    via: str  # how it was found (see Reference.via)
    pinned: bool = field(default=False, kw_only=True)  # see Reference.pinned


@dataclass(frozen=True)
class Load(Place):
    """A place that loads an onnxruntime-web entry."""

    target: Target


@dataclass
class FileFacts:
    path: str
    loads: list[Load] = field(default_factory=list)
    companions: list[Place] = field(default_factory=list)  # assets, wasmPaths prefixes, ignored flags
    providers: set[str] = field(default_factory=set)
    mapped: set[str] = field(default_factory=set)
    bundle: Place | None = None  # a vendored copy of onnxruntime-web's JSEP bundle: its banner's version, or ''


def skip_reason(path: str, data: bytes) -> str | None:
    """Why a source file is not parsed, or None; checked after the mention pre-filter."""
    if b"\0" in data[:8192]:
        return "binary"
    if posixpath.basename(path).count(".min.") or len(data) > MINIFIED_LINE_LENGTH * (data.count(b"\n") + 1):
        return "minified"
    if IGNORE_FILE in data:
        return "ortfix-ignore-file"
    if posixpath.splitext(path)[1].lower() in CODE_GRAMMARS and _generated(data):
        return "generated"  # a bundler's output: the fix belongs in its source
    return None


def _generated(data: bytes) -> bool:
    return any(mark in data for mark in _GENERATED_MARKS) and _GENERATED.search(data) is not None


def vendored_bundle(path: str, data: bytes) -> FileFacts | None:
    """A committed copy of onnxruntime-web's own bundle that carries JSEP (it names the `.jsep.` wasm files).

    Found by name and bytes alone, so that minified copies count too.
    """
    if not _ORT_BUNDLE_NAME.match(posixpath.basename(path)) or not names_jsep_asset(data):
        return None
    banner = _BANNER_VERSION.search(data[:4096])
    version = banner[1].decode() if banner else ""
    first = data.split(b"\n", 1)[0].removesuffix(b"\r")[:BANNER_LINE_BYTES]
    return FileFacts(path, bundle=Place(path, 0, 0, 0, first, version, "bundle"))


def links(path: str, data: bytes) -> tuple[str, ...]:
    """The local files `path` may load, as written: its quoted relative paths, and for a page its `<script src>`."""
    suffix = posixpath.splitext(path)[1].lower()
    if suffix not in CODE_GRAMMARS and suffix not in PAGE_SUFFIXES:
        return ()
    found = [m[:-1].decode("utf-8", "replace") for m in set(_RELATIVE_PATH.findall(data))]
    if suffix in PAGE_SUFFIXES:
        sources = (m.decode("utf-8", "replace") for m in _SCRIPT_SRC.findall(data))
        found += [src for src in sources if not _URL_SCHEME.match(src)]
    return tuple(sorted(set(found)))


def mentions(data: bytes) -> bool:
    # one pass for "web" first: most files have none, and then the longer needles never run
    return (b"web" in data and any(word in data for word in _MENTIONS)) or JSEP_MARK in data


def read_facts(path: str, data: bytes) -> FileFacts:
    """The facts of a source file that passed `mentions` and `skip_reason`."""
    # a BOM blanked to three spaces keeps every position the file's own
    parsed = b"   " + data[3:] if data.startswith(_BOM) else data
    suffix = posixpath.splitext(path)[1].lower()
    code = CodeFacts()
    if suffix in CODE_GRAMMARS:
        scan_code(CODE_GRAMMARS[suffix], parsed, code)
    elif suffix in MARKUP_SUFFIXES:
        scan_markup(suffix, parsed, code)
    elif suffix in JSON_SUFFIXES:
        scan_json(parsed, code)
    facts = FileFacts(path, providers=code.providers, mapped={m for m in code.mapped if _names_package(m)})
    lines = data.split(b"\n") if code.references or code.companions else []
    for reference in code.references:
        target = classify(reference.value)
        if target is not None and not _suppressed(lines, reference.row):
            facts.loads.append(Load(**vars(_place(path, lines, reference)), target=target))
    facts.companions.extend(_place(path, lines, r) for r in code.companions if not _suppressed(lines, r.row))
    return facts


def _place(path: str, lines: list[bytes], reference: Reference) -> Place:
    line = lines[reference.row].removesuffix(b"\r")
    return Place(
        path,
        reference.row,
        reference.start,
        reference.end,
        line,
        reference.value,
        reference.via,
        pinned=reference.pinned,
    )


def _names_package(specifier: str) -> bool:
    return specifier == PACKAGE or specifier.startswith(PACKAGE + "/")


def _suppressed(lines: list[bytes], row: int) -> bool:
    return IGNORE_LINE in lines[row] or (row > 0 and IGNORE_LINE in lines[row - 1])
