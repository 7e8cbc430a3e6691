"""The `ortfix` command: scan a local tree, run the service, audit, refresh the version table.

`main` is the console script's entry point, `bot.cli:main`, kept where installs expect it.
"""

import os
import sys

from bot.cli import commands


def main() -> None:
    code = commands.main()
    if sys.argv[1:2] == ["scan"]:
        # All a scan leaves to do is flush its report: skip tearing the interpreter down, which frees every module
        # and object one by one and takes a tenth of a large scan's time (bench/scan_bench.py).
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            pass  # the reader left (`ortfix scan | head`): nothing to tell it
        except OSError as error:  # a full disk: the report is not whole, so the scan did not succeed
            code = 120  # what Python exits with when its own final flush fails
            os.write(2, f"ortfix: the report could not be written: {error}\n".encode())
        os._exit(code)
    sys.exit(code)


__all__ = ["main"]
