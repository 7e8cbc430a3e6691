"""The fixer: pure; a file's text and its findings in, the fixed text out."""

from __future__ import annotations

from collections.abc import Iterable

from bot.detector.findings import Finding


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
