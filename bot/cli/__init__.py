"""The `ortfix` command: scan a local tree, run the service, audit, refresh the version table.

`main` is the console script's entry point, `bot.cli:main`, kept where installs expect it.
"""

from bot.cli.commands import main

__all__ = ["main"]
