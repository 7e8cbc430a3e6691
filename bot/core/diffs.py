"""Pure: a pull request file's patch → the lines of the new file that the pull request adds.

GitHub accepts a review comment only on a line inside the diff; ortfix
anchors only on added lines, so that every suggestion applies to code the
author just wrote.
"""

from __future__ import annotations

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError


def added_lines(patch: str | None) -> set[int]:
    """Line numbers (in the new file) of the `+` lines of a GitHub `patch` (hunks only, no file headers)."""
    if not patch:
        return set()
    try:
        patch_set = PatchSet(f"--- a/file\n+++ b/file\n{patch}\n")
    except UnidiffParseError:
        return set()
    return {line.target_line_no for hunk in patch_set[0] for line in hunk if line.is_added and line.target_line_no}
