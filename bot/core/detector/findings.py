"""Findings and the report of a scan: the shapes every surface (CLI, review, audit) consumes."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Finding:
    """One problem at one line; `replacement` is the whole fixed line, or None when no local fix exists."""

    path: str
    line: int
    end_line: int
    column: int
    rule: str
    severity: str
    message: str
    original: str
    replacement: str | None
    because: tuple[str, ...] = field(default=(), compare=False)  # mixed-entry: the JSEP loads ("path:line") it names

    @property
    def fingerprint(self) -> str:
        """Stable across pushes that only move the line: path, rule and the line's text."""
        key = f"{self.path}\0{self.rule}\0{self.original.strip()}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def to_json(self) -> dict:
        data = asdict(self)
        del data["because"]  # said in the message; the JSON shape stays as documented
        return data


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    versions: dict[str, dict[str, str | None]] = field(default_factory=dict)  # package dir → range, installed
    lockfiles: dict[str, str] = field(default_factory=dict)  # package.json dir → the lockfile that installs it

    def shown(self, *, include_info: bool = False) -> list[Finding]:
        """The findings a user sees: errors and warnings, and with `include_info` the quiet ones too."""
        return [f for f in self.findings if include_info or f.severity != INFO]

    def summary(self, *, include_info: bool = False) -> dict:
        shown = self.shown(include_info=include_info)
        by_severity = Counter(f.severity for f in shown)
        return {
            "files_scanned": self.files_scanned,
            "findings": len(shown),
            "errors": by_severity[ERROR],
            "warnings": by_severity[WARNING],
            "info": by_severity[INFO],
            "hidden": len(self.findings) - len(shown),
            "skipped": dict(sorted(self.skipped.items())),
            "notes": list(self.notes),
        }
