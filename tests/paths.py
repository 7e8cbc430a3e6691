"""Where the tests find ../shared (beside the checkout, or beside the tree a copy of the checkout sits in), and ortfix.

mutmut runs the tests from its copy in ./mutants, one level further down.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve()
SHARED = next((p / "shared" for p in _HERE.parents if (p / "shared" / "github").is_dir()), _HERE.parents[2] / "shared")
ORTFIX = str(Path(sys.executable).with_name("ortfix"))  # the installed console script
