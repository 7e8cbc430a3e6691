"""The edits: pure; a file's text and its findings in, the fixed text out (and the plan of a fix commit)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.core.detector import Scanner
from bot.core.detector.findings import Finding


def apply(text: str, findings: Iterable[Finding]) -> str:
    """`text` with each finding's line replaced, line endings and all other bytes kept.

    A finding whose `original` no longer matches its line is left alone, so
    applying the same findings twice changes nothing the second time (and of
    two findings on one line, the second waits for the next scan).
    """
    lines = text.split("\n")  # the detector counts lines by "\n" alone; "\r" stays with its line
    for finding in findings:
        index = finding.line - 1
        if finding.replacement is None or index >= len(lines):
            continue
        line = lines[index]
        ending = "\r" if line.endswith("\r") else ""
        if line.removesuffix("\r") == finding.original:
            lines[index] = finding.replacement + ending
    return "\n".join(lines)


MAX_PASSES = 3  # two findings on one line take two passes


def fix_texts(
    texts: dict[str, bytes], make_scanner: Callable[[], Scanner], wanted: Callable[[Finding], bool]
) -> tuple[dict[str, bytes], list[Finding]]:
    """Every wanted fix applied to in-memory files, rescanning between passes.

    Returns the changed files' new bytes and the findings that were fixed.
    """
    current = dict(texts)
    fixed: list[Finding] = []
    for _ in range(MAX_PASSES):
        scanner = make_scanner()
        for path, data in current.items():
            scanner.add(path, data)
        findings = [f for f in scanner.finish().findings if f.replacement is not None and wanted(f)]
        changed = False
        for path in sorted({f.path for f in findings}):
            text = current[path].decode("utf-8", "surrogateescape")
            new = apply(text, [f for f in findings if f.path == path])
            if new != text:
                lines = new.split("\n")
                fixed += [
                    f for f in findings if f.path == path and lines[f.line - 1].removesuffix("\r") == f.replacement
                ]
                current[path] = new.encode("utf-8", "surrogateescape")
                changed = True
        if not changed:
            break
    return {p: d for p, d in current.items() if d != texts.get(p)}, fixed


@dataclass
class FixPlan:
    files: dict[str, bytes]  # path → new bytes, lockfiles included
    before: dict[str, bytes]  # the same paths' bytes before
    fixed: list[Finding]
    left: list[Finding]  # findings without a one-line fix
    notes: list[str] = field(default_factory=list)  # what the user must run by hand

    @property
    def key(self) -> str:
        """Stable for the same set of fixes: a human-closed fix PR stays closed until this changes."""
        return hashlib.sha256("".join(sorted(f.fingerprint for f in self.fixed)).encode()).hexdigest()[:16]
