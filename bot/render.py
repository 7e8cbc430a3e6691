"""Pure: every text ortfix posts on GitHub (review comments and bodies, check run output), and its hidden markers.

A hidden fingerprint per finding (path, rule and the line's text, not its
number) lets ortfix recognise its own earlier comments without any state.
"""

from __future__ import annotations

import hashlib
import re

from bot.detector import ERROR, WARNING, Finding

CHECK_NAME = "ortfix"
FINGERPRINT = "<!-- ortfix:fp={} -->"
_FINGERPRINTS = re.compile(r"<!-- ortfix:fp=([0-9a-f]{16}) -->")
REVIEW_MARKER = "<!-- ortfix:review={} -->"
SEVERITY_WORDS = {ERROR: "error", WARNING: "warning"}

COMMENT = "**ortfix** · `{rule}` · {severity}\n\n{message}\n{suggestion}\n{marker}"
REVIEW_HEADER = (
    "**ortfix** found places that load onnxruntime-web's deprecated JSEP WebGPU backend. "
    "Each inline comment has a suggestion you can commit in one click; comment `/ortfix` to have them all committed."
)
REVIEW_ELSEWHERE = "\n\n**Also in this pull request's packages** (lines this pull request does not add):\n"
REVIEW_ITEM = "- `{path}` line {line} · `{rule}`: {message}{fix}\n  {marker}"
REVIEW_ITEM_FIX = "\n  Suggested: `{replacement}`"
CHECK_TITLE_CLEAN = "No JSEP loads of onnxruntime-web"
CHECK_TITLE = "{errors} error(s), {warnings} warning(s): onnxruntime-web's JSEP WebGPU backend"
CHECK_SUMMARY = (
    "{counts}\n\nThe bare `onnxruntime-web` import (and `/all`) loads JSEP, the deprecated JavaScript WebGPU backend, "
    "with known wrong results on quantized models (microsoft/onnxruntime#32578) that headless CI never shows. "
    "The fix is to load `onnxruntime-web/webgpu` (native from 1.23.0), with the wasm asset names that go with it. "
    "Commit the suggestions from the review, or comment `/ortfix` on the pull request."
)
CHECK_SUMMARY_CLEAN = "ortfix looked at {files} file(s) of this pull request and found nothing to change."
CHECK_CONFIG_ERRORS = "\n\n**The repository's ortfix config has problems; the defaults were used:**\n{errors}"
ANNOTATION_LEVELS = {ERROR: "failure", WARNING: "warning"}


def fingerprint(finding: Finding) -> str:
    """Stable across pushes that only move the line: path, rule and the line's text."""
    key = f"{finding.path}\0{finding.rule}\0{finding.original.strip()}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def fingerprints_in(text: str) -> set[str]:
    return set(_FINGERPRINTS.findall(text))


def comment_body(finding: Finding) -> str:
    suggestion = ""
    if finding.replacement is not None:
        fence = _fence(finding.replacement)
        suggestion = f"\n{fence}suggestion\n{finding.replacement}\n{fence}\n"
    return COMMENT.format(
        rule=finding.rule,
        severity=SEVERITY_WORDS.get(finding.severity, finding.severity),
        message=finding.message,
        suggestion=suggestion,
        marker=FINGERPRINT.format(fingerprint(finding)),
    )


def review_body(elsewhere: list[Finding], review_key: str) -> str:
    body = REVIEW_HEADER
    if elsewhere:
        body += REVIEW_ELSEWHERE + "\n".join(_item(f) for f in elsewhere)
    return body + "\n" + REVIEW_MARKER.format(review_key)


def _item(finding: Finding) -> str:
    fix = REVIEW_ITEM_FIX.format(replacement=finding.replacement.strip()) if finding.replacement else ""
    return REVIEW_ITEM.format(
        path=finding.path,
        line=finding.line,
        rule=finding.rule,
        message=finding.message,
        fix=fix,
        marker=FINGERPRINT.format(fingerprint(finding)),
    )


def check_output(findings: list[Finding], files: int, config_errors: tuple[str, ...]) -> dict[str, str]:
    errors = sum(f.severity == ERROR for f in findings)
    warnings = sum(f.severity == WARNING for f in findings)
    if findings:
        counts = "\n".join(f"- `{f.path}` line {f.line}: `{f.rule}`" for f in findings[:50])
        if len(findings) > 50:
            counts += f"\n- … and {len(findings) - 50} more (see the annotations)"
        title, summary = CHECK_TITLE.format(errors=errors, warnings=warnings), CHECK_SUMMARY.format(counts=counts)
    else:
        title, summary = CHECK_TITLE_CLEAN, CHECK_SUMMARY_CLEAN.format(files=files)
    if config_errors:
        summary += CHECK_CONFIG_ERRORS.format(errors="\n".join(f"- {e}" for e in config_errors))
    return {"title": title, "summary": summary}


def check_annotations(findings: list[Finding]) -> list[dict]:
    return [
        {
            "path": f.path,
            "start_line": f.line,
            "end_line": f.end_line,
            "annotation_level": ANNOTATION_LEVELS.get(f.severity, "notice"),
            "title": f.rule,
            "message": f.message,
            **({"raw_details": f"Suggested line:\n{f.replacement}"} if f.replacement else {}),
        }
        for f in findings
    ]


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text`."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)
