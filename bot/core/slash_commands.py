"""Pure: a comment's text → the `/ortfix` command in it, if any.

A command stands on a line of its own, outside quotes (`> /ortfix`) and
code blocks, so quoting or documenting the command does not run it.
"""

from __future__ import annotations

import re

FIX, CHECK, HELP = "fix", "check", "help"
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_COMMAND = re.compile(r"^\s{0,3}/ortfix(?:\s+(\S+))?(?:\s.*)?$")


def parse(body: str | None) -> str | None:
    """`fix`, `check` or `help` for the first command line in `body`; an unknown subcommand gets `help`."""
    fence: str | None = None
    for line in (body or "").splitlines():
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        if line.startswith("    ") or line.lstrip().startswith(">"):
            continue  # an indented code block, or a quote
        match = _COMMAND.match(line.rstrip())
        if match:
            word = (match.group(1) or FIX).lower()
            return word if word in (FIX, CHECK, HELP) else HELP
    return None


def from_bot(comment: dict) -> bool:
    """Comments by apps (ortfix itself included) are never commands: no loops."""
    user = comment.get("user") or {}
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")
