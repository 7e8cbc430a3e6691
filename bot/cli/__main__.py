"""`python -m bot.cli`: how `ortfix serve` starts its worker."""

import sys

from bot.cli.commands import main

sys.exit(main())
