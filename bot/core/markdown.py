"""Pure: repository-derived text made safe for GitHub Markdown.

Everything a pull request, a comment or a repository can choose (paths, source
lines, versions, package-manager output, config errors) reaches a posted body
through these helpers only: inside a code span that no backtick in it can close,
or as plain text whose Markdown is escaped and whose `@` mentions are broken.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_BACKTICKS = re.compile(r"`+")
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
ZERO_WIDTH_SPACE = "\u200b"  # between `@` and a name: GitHub neither links nor notifies


def code(text: object) -> str:
    """`text` as one inline code span, fenced by more backticks than its longest run."""
    value = " ".join(str(text).splitlines())  # a span is one line here; a newline would end a table row
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end of a span, so pad when an end is a backtick or a space
    pad = " " if value[:1] in ("`", " ") or value[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{value or ' '}{pad}{fence}"


def cell(text: object, limit: int = 120) -> str:
    """A code span inside a table cell: shortened, and with the pipes that would end the cell escaped."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return code(value).replace("|", "\\|")


def plain(text: object) -> str:
    """Text outside code: Markdown syntax escaped, mentions broken, one line."""
    value = " ".join(str(text).splitlines())
    return _MENTION.sub("@" + ZERO_WIDTH_SPACE, _SPECIAL.sub(r"\\\1", value))


def block(text: object, language: str = "") -> str:
    """A fenced code block longer than any backtick run in `text`."""
    value = str(text)
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{value}\n{fence}"


def path_url(base: str, *segments: str) -> str:
    """`base` joined with path segments, each URL-encoded on its own (a `/` inside a path stays a separator)."""
    parts = [quote(part, safe="") for segment in segments for part in str(segment).split("/") if part != ""]
    return base.rstrip("/") + "/" + "/".join(parts)
