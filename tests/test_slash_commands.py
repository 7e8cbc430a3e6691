"""The `/ortfix` command parser: on a line of its own, outside quotes and code, with its subcommands."""

from __future__ import annotations

import pytest

from bot.core import slash_commands


@pytest.mark.parametrize(
    ("body", "command"),
    [
        ("/ortfix", "fix"),
        ("/ortfix fix", "fix"),
        ("/ortfix check", "check"),
        ("/ortfix help", "help"),
        ("/ortfix HELP", "help"),
        ("/ortfix bogus", "help"),  # unknown subcommands get the help text
        ("/ortfix fix please, thanks!", "fix"),  # trailing text after the subcommand
        ("Looks good.\n\n/ortfix\n\nThanks", "fix"),
        ("  /ortfix check  ", "check"),
        ("/ortfix\r\n", "fix"),
        ("> /ortfix", None),  # a quote of somebody's command
        (">> nested\n> /ortfix fix", None),
        ("```\n/ortfix\n```", None),  # a code block documenting it
        ("~~~sh\n/ortfix fix\n~~~", None),
        ("````\n```\n/ortfix\n```\n````", None),  # a longer fence holds a shorter one
        ("    /ortfix", None),  # an indented code block
        ("please run /ortfix", None),  # in the middle of a line
        ("/ortfixes are great", None),
        ("`/ortfix`", None),
        ("", None),
        (None, None),
        ("```\ncode\n```\n/ortfix check", "check"),
    ],
)
def test_parse(body: str | None, command: str | None) -> None:
    assert slash_commands.parse(body) == command


@pytest.mark.parametrize(
    ("user", "bot"),
    [
        ({"login": "ortfix[bot]", "type": "Bot"}, True),
        ({"login": "dependabot[bot]", "type": "Bot"}, True),
        ({"login": "someone[bot]"}, True),
        ({"login": "octocat", "type": "User"}, False),
    ],
)
def test_bots_are_never_commanders(user: dict, bot: bool) -> None:
    assert slash_commands.from_bot({"user": user}) is bot
