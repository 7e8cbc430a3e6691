"""`python -m bot.cli`: how `ortfix serve` starts its worker."""

import sys

from bot.cli.main import main

sys.exit(main())
