"""Pure: every text ortfix posts on GitHub (review comments and bodies, check run output), and its hidden markers.

A hidden fingerprint per finding (path, rule and the line's text, not its
number) lets ortfix recognise its own earlier comments without any state.
Every string from a repository (paths, lines, versions, branch names, config
errors) goes in through `bot.core.markdown`; every link is built on `web_url`, the
GitHub (or Enterprise Server) web address the caller passes in.
"""

from __future__ import annotations

import difflib
import re
import textwrap

from bot.core import markdown
from bot.core.detector import ERROR, WARNING, Finding
from bot.core.edits import FixPlan

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
REVIEW_ITEM = "- {path} line {line} · `{rule}`: {message}{fix}\n  {marker}"
REVIEW_ITEM_FIX = "\n  Suggested: {replacement}"
MIXED_FOLDED = (
    "\n\nThis package also loads `onnxruntime-web/webgpu`: fixing the {n} load{s} above also removes the second "
    "`ort` instance (two bundles mean two wasm downloads and `env` settings that reach only one of them)."
)
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


def fingerprints_in(text: str) -> set[str]:
    return set(_FINGERPRINTS.findall(text))


def comment_body(finding: Finding) -> str:
    suggestion = ""
    if finding.replacement is not None:
        suggestion = "\n" + markdown.block(finding.replacement, "suggestion") + "\n"
    return COMMENT.format(
        rule=finding.rule,
        severity=SEVERITY_WORDS.get(finding.severity, finding.severity),
        message=finding.message,
        suggestion=suggestion,
        marker=FINGERPRINT.format(finding.fingerprint),
    )


def review_body(elsewhere: list[Finding], review_key: str, folded: tuple[int, ...] = ()) -> str:
    """`folded`: per package, how many JSEP loads also end a mixed-entry (see rules.fold_mixed)."""
    body = REVIEW_HEADER
    if elsewhere:
        body += REVIEW_ELSEWHERE + "\n".join(_item(f) for f in elsewhere)
    return body + mixed_sentences(folded) + "\n" + REVIEW_MARKER.format(review_key)


def mixed_sentences(folded: tuple[int, ...]) -> str:
    """Once per package whose second `ort` instance goes away with the loads listed: mixed-entry as a consequence."""
    return "".join(MIXED_FOLDED.format(n=n, s="" if n == 1 else "s") for n in folded)


def _item(finding: Finding) -> str:
    fix = REVIEW_ITEM_FIX.format(replacement=markdown.code(finding.replacement.strip())) if finding.replacement else ""
    return REVIEW_ITEM.format(
        path=markdown.code(finding.path),
        line=finding.line,
        rule=finding.rule,
        message=finding.message,
        fix=fix,
        marker=FINGERPRINT.format(finding.fingerprint),
    )


def check_output(
    findings: list[Finding], files: int, config_errors: tuple[str, ...], folded: tuple[int, ...] = ()
) -> dict[str, str]:
    errors = sum(f.severity == ERROR for f in findings)
    warnings = sum(f.severity == WARNING for f in findings)
    if findings:
        counts = "\n".join(f"- {markdown.code(f.path)} line {f.line}: `{f.rule}`" for f in findings[:50])
        if len(findings) > 50:
            counts += f"\n- … and {len(findings) - 50} more (see the annotations)"
        title, summary = CHECK_TITLE.format(errors=errors, warnings=warnings), CHECK_SUMMARY.format(counts=counts)
        summary += mixed_sentences(folded)
    else:
        title, summary = CHECK_TITLE_CLEAN, CHECK_SUMMARY_CLEAN.format(files=files)
    if config_errors:
        summary += CHECK_CONFIG_ERRORS.format(errors="\n".join(f"- {markdown.plain(e)}" for e in config_errors))
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


# --- fixes: commits, fix pull requests, command replies ------------------------------------------------------

COMMIT_TRAILER = "Generated-by: ortfix"
COMMIT_TITLE = "Load onnxruntime-web's native WebGPU backend"
COMMIT_BODY = (
    "The bare `onnxruntime-web` import (and `/all`) loads JSEP, the JavaScript WebGPU backend that the\n"
    "maintainers deprecated in 1.29 and that computes wrong results for some quantized models\n"
    "(microsoft/onnxruntime#32578); `onnxruntime-web/webgpu` loads the native WebGPU EP from 1.23.0 on.\n\n"
    "{changes}\n\n" + COMMIT_TRAILER
)
CHANGE_LINES = {
    "jsep-import": "switch {n} import(s) to onnxruntime-web/webgpu",
    "jsep-cdn": "point {n} CDN URL(s) at the native bundle",
    "ort-version": "raise {n} onnxruntime-web range(s) to a release with the native backend",
    "jsep-asset": "rename {n} wasm asset reference(s) from .jsep. to .asyncify. (or match the wasmPaths version)",
    "wrapper-version": "raise {n} wrapper range(s) to a release on the native backend",
}
LOCKFILE_NOTE = (
    "The range in {manifest} was left as it is: ortfix did not regenerate the lockfile ({reason}). "
    "Raise it and run {command} yourself, then commit the lockfile."
)
FIX_PR_MARKER = "<!-- ortfix:fix-pr base={base} key={key} -->"
FIX_PR_TITLE = "Load onnxruntime-web's native WebGPU backend ({n} change(s))"
FIX_PR_BODY = """ortfix found code that loads **JSEP**, the JavaScript WebGPU backend of onnxruntime-web. The maintainers \
deprecated it in 1.29, and it computes wrong results for some quantized models (`DequantizeLinear` on per-tensor \
int8/uint8, microsoft/onnxruntime#32578). You only see this on a real GPU: headless CI has no GPU adapter and \
silently falls back to WASM. From 1.23.0 on, `onnxruntime-web/webgpu` loads the native WebGPU EP, which the \
maintainers are moving to (microsoft/onnxruntime#24856).

**What this pull request changes** (one commit):
{changes}

**How to verify**: run your model in a browser with a GPU, once with `executionProviders: ['webgpu']` and once with \
`['wasm']`, and compare the outputs; check Safari as well as Chrome. The native EP has bugs of its own \
(microsoft/onnxruntime#25195, #32730), so this is a move to the maintained backend, not a promise that a given \
model's output changes. The download is not smaller: the wasm is 23–27 MB either way.
{left}{notes}
ortfix keeps this pull request up to date with the default branch and closes it when it is no longer needed. If \
you push to its branch, ortfix stops rewriting it. Close it to say no: ortfix will not reopen it unless the \
findings change.

{marker}"""
FIX_PR_LEFT = "\n**Left for you** (no one-line fix):\n{items}\n"
FIX_PR_NOTES = "\n**To do by hand**:\n{items}\n"
FIX_PR_OBSOLETE = "The default branch no longer has anything for ortfix to fix, so this pull request is closed."

HELP = """**ortfix** commands, each on a line of its own:

- `/ortfix` or `/ortfix fix`: commit every fix to this pull request's branch, in one commit (on an issue: open a fix pull request)
- `/ortfix check`: run the review and the check run again
- `/ortfix help`: this text

Only the pull request's author and people with write access can make ortfix change code."""
REFUSED = (
    "Sorry @{user}, only people with write access to the repository, and the author of a pull request from their "
    "own fork, can ask ortfix to change code. `/ortfix check` and `/ortfix help` work for everyone."
)
NOTHING_TO_FIX = "ortfix found nothing to fix at {ref}."
NOT_COMMITTED = "ortfix committed nothing at {sha}.{notes}"
FIXED = "ortfix committed [{sha}]({url}) to {branch}:\n{changes}{left}{notes}"
CANNOT_PUSH = (
    "ortfix cannot push to this branch (it is in a fork that is owned by an organization, or that does not allow "
    "edits from maintainers). Here is the change; the review has one-click suggestions for the lines in this pull "
    "request.\n\n{patch}{notes}"
)
FIX_PULL_OPENED = "ortfix opened #{number} with the fix."
FIX_PULL_UNCHANGED = "#{number} already has every fix ortfix can make."
FAILED = "ortfix could not finish this: {reason}. The details are in ortfix's logs (delivery {delivery})."


def _changes(fixed: list[Finding]) -> str:
    counts: dict[str, int] = {}
    for finding in fixed:
        counts[finding.rule] = counts.get(finding.rule, 0) + 1
    return "\n".join(f"- {CHANGE_LINES.get(rule, rule).format(n=n)}" for rule, n in sorted(counts.items()))


def commit_message(plan: FixPlan) -> str:
    return f"{COMMIT_TITLE}\n\n" + COMMIT_BODY.format(changes=_changes(plan.fixed))


def fix_pull_title(plan: FixPlan) -> str:
    return FIX_PR_TITLE.format(n=len(plan.fixed))


def lockfile_note(manifest: str, command: str, reason: str, detail: str = "") -> str:
    """`reason` is one of package_managers' fixed texts; the package manager's own words only in a code block."""
    note = LOCKFILE_NOTE.format(manifest=markdown.code(manifest), command=markdown.code(command), reason=reason)
    return note + ("\n\n" + textwrap.indent(markdown.block(detail), "  ", lambda _: True) if detail else "")


def _left_and_notes(plan: FixPlan) -> tuple[str, str]:
    left = FIX_PR_LEFT.format(items="\n".join(_item(f) for f in plan.left)) if plan.left else ""
    notes = FIX_PR_NOTES.format(items="\n".join(f"- {n}" for n in plan.notes)) if plan.notes else ""
    return left, notes


def fix_pull_body(plan: FixPlan, marker: str) -> str:
    left, notes = _left_and_notes(plan)
    return FIX_PR_BODY.format(changes=_changes(plan.fixed), left=left, notes=notes, marker=marker)


def fixed_reply(plan: FixPlan, web_url: str, repo: str, commit: str, branch: str) -> str:
    """The reply to `/ortfix` after a push: the commit (linked on `repo`, where it was pushed) and what it changed."""
    left, notes = _left_and_notes(plan)
    return FIXED.format(
        sha=markdown.code(commit[:7]),
        url=markdown.path_url(web_url, repo, "commit", commit),
        branch=markdown.code(branch),
        changes=_changes(plan.fixed),
        left=left,
        notes=notes,
    )


def not_committed_reply(plan: FixPlan, sha: str) -> str:
    """Every fix was held back (a range whose lockfile was not regenerated): why, and what to run."""
    _, notes = _left_and_notes(plan)
    return NOT_COMMITTED.format(sha=sha, notes=notes)


def cannot_push_reply(plan: FixPlan, patch: str) -> str:
    _, notes = _left_and_notes(plan)
    return CANNOT_PUSH.format(patch=markdown.block(patch, "diff"), notes=notes)


def nothing_to_fix(ref: str) -> str:
    """The reply to `/ortfix` when the commit or branch `ref` has nothing left to fix."""
    return NOTHING_TO_FIX.format(ref=markdown.code(ref))


def unified_patch(before: dict[str, bytes], after: dict[str, bytes]) -> str:
    """The change as `git diff` shows it, for the author to apply (`git apply`)."""
    parts = []
    for path in sorted(after):
        old = before.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = after[path].decode("utf-8", "replace").splitlines(keepends=True)
        parts.append(f"diff --git a/{path} b/{path}\n")
        parts.extend(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
    return "".join(parts).rstrip("\n")


# --- the audit issue ---------------------------------------------------------------------------------

AUDIT_MARKER = "<!-- ortfix:audit -->"
AUDIT_TITLE = "onnxruntime-web loads the JSEP WebGPU backend in {n} place{s}"
AUDIT_BODY = """{marker}
ortfix audits the default branch every week. At {sha_link}, this repository loads **JSEP**, the JavaScript \
WebGPU backend of onnxruntime-web that the maintainers deprecated in 1.29 and that computes wrong results for some \
quantized models (microsoft/onnxruntime#32578), in the places below. `onnxruntime-web/webgpu` loads the native \
WebGPU EP from 1.23.0 on.

**To fix it all in one pull request, comment `/ortfix` on this issue.**

| where | rule | now | suggested |
|---|---|---|---|
{rows}{mixed}

**onnxruntime-web in use**: {versions}

This issue is updated in place each week and closed when nothing is left. Turn the audit off with `audit: off` in \
`.github/ortfix.yml`."""
AUDIT_ROW = "| [{where}]({url}) | `{rule}` ({severity}) | {now} | {suggested} |"
AUDIT_CLEAN = (
    "The audit of {sha} found nothing left to change. Closing; ortfix reopens this issue if a finding returns."
)
AUDIT_NO_VERSIONS = "no package.json declares it (CDN or vendored use only)"


def audit_title(findings: list[Finding]) -> str:
    return AUDIT_TITLE.format(n=len(findings), s="" if len(findings) == 1 else "s")


def audit_body(
    repo: str,
    sha: str,
    findings: list[Finding],
    versions: dict[str, dict[str, str | None]],
    web_url: str,
    folded: tuple[int, ...] = (),
) -> str:
    rows = "\n".join(
        AUDIT_ROW.format(
            where=markdown.plain(f"{f.path}:{f.line}"),
            url=markdown.path_url(web_url, repo, "blob", sha, f.path) + f"#L{f.line}",
            rule=f.rule,
            severity=f.severity,
            now=markdown.cell(f.original.strip()),
            suggested=markdown.cell(f.replacement.strip()) if f.replacement else "no one-line fix: see the rule",
        )
        for f in findings
    )
    return AUDIT_BODY.format(
        marker=AUDIT_MARKER,
        sha_link=f"[{markdown.code(sha[:7])}]({markdown.path_url(web_url, repo, 'tree', sha)})",
        rows=rows,
        mixed=mixed_sentences(folded),
        versions=_versions(versions),
    )


def _versions(versions: dict[str, dict[str, str | None]]) -> str:
    if not versions:
        return AUDIT_NO_VERSIONS
    parts = []
    for directory, found in sorted(versions.items()):
        installed = f", lockfile {markdown.code(found['installed'])}" if found.get("installed") else ""
        parts.append(f"{markdown.code(directory)}: {markdown.code(found['range'])}{installed}")
    return "; ".join(parts)


def audit_summary(findings: list[Finding], versions: dict[str, dict[str, str | None]]) -> dict:
    """What the org-wide view shows of a repository: findings by rule, and versions in use."""
    by_rule: dict[str, int] = {}
    for finding in findings:
        by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
    return {"by_rule": by_rule, "versions": _versions(versions) if versions else ""}


AUDIT_TABLE_HEAD = "| repository | outcome | findings | by rule | onnxruntime-web in use |\n|---|---|---|---|---|\n"
AUDIT_TABLE_FOOT = "\n{n} repositories, {affected} with findings. {wrote}\n"


def audit_table(rows: list, wrote: bool) -> str:
    """`ortfix audit` output: a row per repository (also the org-wide view's table)."""
    lines = []
    for repo, outcome in rows:
        summary = outcome.summary or {}
        rules = ", ".join(f"{rule} ×{n}" for rule, n in sorted(summary.get("by_rule", {}).items())) or "–"
        lines.append(f"| {repo} | {outcome.action} | {outcome.findings} | {rules} | {summary.get('versions') or '–'} |")
    affected = sum(1 for _, o in rows if o.findings)
    note = "Issues were written." if wrote else "Nothing was written (add --write to open or update the issues)."
    return AUDIT_TABLE_HEAD + "\n".join(lines) + AUDIT_TABLE_FOOT.format(n=len(rows), affected=affected, wrote=note)


# --- the org-wide view -------------------------------------------------------------------------------

ORG_MARKER = "<!-- ortfix:org-audit -->"
ORG_TITLE = "onnxruntime-web's JSEP WebGPU backend across {org}: {n} repositor{ies}"
ORG_BODY = """{marker}
The weekly ortfix audit found repositories of **{org}** that load **JSEP**, onnxruntime-web's deprecated \\
JavaScript WebGPU backend (microsoft/onnxruntime#32578). **Tick a box to have ortfix open that repository's fix \\
pull request.**

{rows}

Updated in place after each weekly audit."""
ORG_ROW = "- [{tick}] **{name}**: {findings} finding(s) ({rules}); onnxruntime-web {versions}; {issue} <!-- ortfix:repo={repo} -->"
_ORG_ROW = re.compile(r"^- \[([ xX])\] .*<!-- ortfix:repo=([^ ]+) -->$", re.MULTILINE)


def org_body(org: str, rows: dict[str, dict], web_url: str) -> tuple[str, str]:
    """Title and body of the org issue; `rows`: repository → its audit state (findings, summary, issue)."""
    lines = []
    for repo, state in sorted(rows.items()):
        summary = state.get("summary") or {}
        rules = ", ".join(f"{rule} ×{n}" for rule, n in sorted(summary.get("by_rule", {}).items()))
        issue = "no issue"
        if state.get("issue"):
            issue = f"[audit issue]({markdown.path_url(web_url, repo, 'issues', str(state['issue']))})"
        lines.append(
            ORG_ROW.format(
                tick=" ",
                name=markdown.plain(repo),
                repo=repo,
                findings=state.get("findings", 0),
                rules=rules,
                versions=summary.get("versions") or "not declared",
                issue=issue,
            )
        )
    title = ORG_TITLE.format(org=org, n=len(rows), ies="y" if len(rows) == 1 else "ies")
    return title, ORG_BODY.format(marker=ORG_MARKER, org=markdown.plain(org), rows="\n".join(lines))


def ticked(body: str) -> set[str]:
    """The repositories whose box is ticked in an org issue body."""
    return {repo for mark, repo in _ORG_ROW.findall(body or "") if mark in "xX"}
