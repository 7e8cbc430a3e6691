"""What the extractors report: strings at their places, and what the code asks of the GPU."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reference:
    """A string or name at its place in a file: what code loads, or what must change along with it."""

    row: int
    start: int  # byte columns of the string's content (quotes excluded)
    end: int
    value: str
    via: str  # import | export | require | dynamic-import | import-scripts | script-src | importmap | asset | wasm-prefix | flag
    pinned: bool = False  # inside an HTML tag whose `integrity` hash covers the file it names


@dataclass
class CodeFacts:
    references: list[Reference] = field(default_factory=list)
    providers: set[str] = field(default_factory=set)  # execution providers or devices the code asks for
    mapped: set[str] = field(default_factory=set)  # specifiers an import map resolves
    companions: list[Reference] = field(default_factory=list)  # assets, wasmPaths prefixes, ignored flags
