"""A scan report as the CLI prints it: compiler-style text, the stable JSON, or SARIF 2.1.0."""

from __future__ import annotations

import json

from bot.core.detector.findings import ERROR, INFO, WARNING, Finding, Report
from bot.core.detector.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVELS = {ERROR: "error", WARNING: "warning", INFO: "note"}


def text(findings: list[Finding], summary: dict) -> str:
    out = []
    for f in findings:
        out.append(f"{f.path}:{f.line}:{f.column}: {f.severity}: {f.rule}: {f.message}")
        out.append(f"    {f.original.strip()}")
        if f.replacement is not None:
            out.append(f"  → {f.replacement.strip()}")
    hidden = f", {summary['hidden']} quiet (--all shows them)" if summary["hidden"] else ""
    out.append(f"ortfix: {len(findings)} finding(s) in {summary['files_scanned']:,} file(s) scanned{hidden}")
    out.extend(f"ortfix: note: {note}" for note in summary["notes"])
    skipped = ", ".join(f"{count} {reason}" for reason, count in summary["skipped"].items())
    if skipped:
        out.append(f"ortfix: skipped: {skipped}")
    return "\n".join(out) + "\n"


def json_document(findings: list[Finding], summary: dict) -> str:
    return json.dumps({"findings": [f.to_json() for f in findings], "summary": summary}, indent=2) + "\n"


def sarif(findings: list[Finding], report: Report) -> str:
    rules = [
        {"id": rule, "shortDescription": {"text": description}}  # no helpUri: ortfix has no public home yet
        for rule, description in RULES.items()
    ]
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": list(RULES).index(f.rule),
            "level": _SARIF_LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line, "startColumn": f.column, "endLine": f.end_line},
                    }
                }
            ],
            "partialFingerprints": {"ortfix/v1": f"{f.rule}:{f.path}:{f.original.strip()}"},
        }
        for f in findings
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ortfix",
                        "version": version(),
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def version() -> str:
    """ortfix's installed version."""
    from importlib import metadata  # 20 ms to import: paid only by SARIF output

    try:
        return metadata.version("ortfix")
    except metadata.PackageNotFoundError:
        return "0+unknown"
