"""Pure: which job a webhook event starts. One table shows everything ortfix reacts to."""

from __future__ import annotations

from bot.events import Event

REVIEW = "review"

ROUTES: dict[tuple[str, str], str] = {
    ("pull_request", "opened"): REVIEW,
    ("pull_request", "reopened"): REVIEW,
    ("pull_request", "synchronize"): REVIEW,
    ("pull_request", "ready_for_review"): REVIEW,
    ("check_run", "rerequested"): REVIEW,  # "Re-run" on ortfix's check run
    ("check_suite", "rerequested"): REVIEW,
}


def route(event: Event) -> str | None:
    """The job for `event`, or None when ortfix has nothing to do with it."""
    job = ROUTES.get((event.name, event.action))
    if job is None or event.installation_id is None:
        return None
    if event.name == "pull_request" and event.payload.get("pull_request", {}).get("draft"):
        return None  # drafts wait for ready_for_review
    return job
