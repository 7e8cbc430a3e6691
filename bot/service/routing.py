"""Pure: which job a webhook event starts. One table shows everything ortfix reacts to."""

from __future__ import annotations

from bot.core import render, slash_commands
from bot.core.events import Event

REVIEW = "review"
COMMAND = "command"
FIX_PULL = "fix-pull"
AUDIT_NEW = "audit-new"
ORG_TICK = "org-tick"

ROUTES: dict[tuple[str, str], str] = {
    ("pull_request", "opened"): REVIEW,
    ("pull_request", "reopened"): REVIEW,
    ("pull_request", "synchronize"): REVIEW,
    ("pull_request", "ready_for_review"): REVIEW,
    ("check_run", "rerequested"): REVIEW,  # "Re-run" on ortfix's check run
    ("check_suite", "rerequested"): REVIEW,
    ("issue_comment", "created"): COMMAND,
    ("issue_comment", "edited"): COMMAND,
    ("push", ""): FIX_PULL,  # only for the default branch, and only where the config opts in
    ("installation", "created"): AUDIT_NEW,  # audit new repositories once, right away
    ("installation_repositories", "added"): AUDIT_NEW,
    ("issues", "edited"): ORG_TICK,  # a box ticked in the org-wide audit issue
}


def route(event: Event) -> str | None:
    """The job for `event`, or None when ortfix has nothing to do with it."""
    job = ROUTES.get((event.name, event.action))
    if job is None or event.installation_id is None:
        return None
    payload = event.payload
    if event.name == "pull_request" and payload.get("pull_request", {}).get("draft"):
        return None  # drafts wait for ready_for_review
    if job == COMMAND and not _new_command(payload):
        return None
    if job == FIX_PULL and not _default_branch_moved(payload):
        return None
    if job == ORG_TICK and not newly_ticked(payload):
        return None
    return job


def newly_ticked(payload: dict) -> set[str]:
    """Repositories whose box in ortfix's org issue was just ticked."""
    body = (payload.get("issue") or {}).get("body") or ""
    if render.ORG_MARKER not in body or slash_commands.from_bot({"user": payload.get("sender") or {}}):
        return set()
    before = ((payload.get("changes") or {}).get("body") or {}).get("from") or ""
    return render.ticked(body) - render.ticked(before)


def _new_command(payload: dict) -> bool:
    """A `/ortfix` command by a person, that an edit did not merely carry over."""
    comment = payload.get("comment") or {}
    command = slash_commands.parse(comment.get("body"))
    if command is None or slash_commands.from_bot(comment):
        return False
    before = ((payload.get("changes") or {}).get("body") or {}).get("from")
    return before is None or slash_commands.parse(before) != command


def _default_branch_moved(payload: dict) -> bool:
    default = (payload.get("repository") or {}).get("default_branch")
    return payload.get("ref") == f"refs/heads/{default}" and not payload.get("deleted")
