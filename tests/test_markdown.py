"""The Markdown helpers: code spans that hold any text, escaped plain text, encoded links."""

from __future__ import annotations

import pytest

from bot.core import markdown


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("onnxruntime-web", "`onnxruntime-web`"),
        ("a`b", "``a`b``"),
        ("`x`", "`` `x` ``"),
        ("a``b", "```a``b```"),
        ("", "` `"),
        ("two\nlines", "`two lines`"),
    ],
)
def test_code_span_is_longer_than_any_backtick_run(text: str, span: str) -> None:
    """No backtick inside the value can close the span early."""
    assert markdown.code(text) == span


def test_cell_escapes_pipes_and_shortens() -> None:
    """A table cell keeps its row: pipes escaped, long lines cut with an ellipsis."""
    assert markdown.cell("a | b") == "`a \\| b`"
    assert markdown.cell("x" * 200, limit=10) == "`" + "x" * 9 + "…`"


def test_plain_breaks_mentions_and_escapes_syntax() -> None:
    """Outside code, `@team` does not notify and `[x](y)` is no link."""
    text = markdown.plain("@org/team [x](https://evil.example) <img>")
    assert "@" + markdown.ZERO_WIDTH_SPACE + "org" in text
    assert "\\[x\\]\\(https://evil.example\\)" in text
    assert "\\<img\\>" in text


def test_block_fence_outlasts_backticks() -> None:
    """A fenced block of text that holds ``` still ends where ortfix ends it."""
    assert markdown.block("a\n```\nb") == "````\na\n```\nb\n````"


def test_path_url_encodes_each_segment() -> None:
    """Each path segment is encoded on its own; the separators stay."""
    url = markdown.path_url("https://ghe.example/", "o/r", "blob", "abc", "src/a b#c?.js")
    assert url == "https://ghe.example/o/r/blob/abc/src/a%20b%23c%3F.js"
